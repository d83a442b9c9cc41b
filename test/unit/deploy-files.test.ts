import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { buildIamPolicy } from '../../src/aws/iam-policy.js';

/** Offline checks of deploy/: no container engine or AWS account here (see the READMEs in deploy/). */

const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');

describe('deploy/container/Dockerfile', () => {
  const lines = read('deploy/container/Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages: { from: string; name?: string; lines: string[] }[] = [];
  for (const line of lines) {
    const from = line.match(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i);
    if (from) stages.push({ from: from[1]!, name: from[2], lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  const final = stages.at(-1)!;

  it('builds in stages, the final one from the Node LTS image', () => {
    expect(stages.map((stage) => stage.name)).toEqual(['build', 'deps', 'runtime']);
    expect(lines[0]).toMatch(/^ARG NODE_IMAGE=node:(22|24)-/);
    expect(final.from).toBe('${NODE_IMAGE}');
    expect(stages[0]!.lines).toContain('RUN npm run build');
  });

  it('ships production dependencies only, and no sources or compiler in the final stage', () => {
    expect(stages[1]!.lines.some((line) => /npm ci --omit=dev/.test(line))).toBe(true);
    const copies = final.lines.filter((line) => line.startsWith('COPY'));
    expect(copies).toContain('COPY --from=deps /deps/node_modules ./node_modules');
    expect(copies).toContain('COPY --from=build /build/dist ./dist');
    expect(copies.some((line) => /--from=build \S*node_modules/.test(line) || /\bsrc\b/.test(line))).toBe(false);
    expect(final.lines.some((line) => /npm (ci|install)(?!.*--omit=dev)/.test(line))).toBe(false);
  });

  it('runs as a non-root user with a state volume, a health check on /healthz and certkeeper run', () => {
    const user = final.lines.find((line) => line.startsWith('USER'));
    expect(user).toBeDefined();
    expect(user).not.toMatch(/USER\s+(root|0)(:|$)/);
    expect(final.lines).toContain('VOLUME ["/var/lib/certkeeper"]');
    expect(final.lines.find((line) => line.startsWith('HEALTHCHECK'))).toContain('/healthz');
    expect(final.lines).toContain('ENTRYPOINT ["tini", "--", "certkeeper"]');
    expect(final.lines).toContain('CMD ["run", "--config", "/etc/certkeeper/renewal.config.ts"]');
  });

  it('runs node under an init (tini from the Debian packages), so node is not PID 1; the stop timeout is documented', () => {
    const install = final.lines.find((line) => /apt-get install/.test(line));
    expect(install?.replace(/\s+/g, ' ')).toMatch(/apt-get update && apt-get install -y --no-install-recommends tini && rm -rf \/var\/lib\/apt\/lists\/\*/);
    // Installed before the switch to the unprivileged user (apt needs root).
    expect(final.lines.indexOf(install!)).toBeLessThan(final.lines.findIndex((line) => line.startsWith('USER')));
    expect(final.lines).toContain('STOPSIGNAL SIGTERM');
    const dockerfile = read('deploy/container/Dockerfile');
    expect(dockerfile).toMatch(/--stop-timeout 30/);
    const readme = read('deploy/container/README.md');
    expect(readme).toMatch(/--stop-timeout 30/);
    expect(readme).toMatch(/stop_grace_period: 30s/);
    expect(readme).toMatch(/--init/);
  });
});

describe('deploy/systemd/certkeeper.service', () => {
  const unit = read('deploy/systemd/certkeeper.service');
  const settings = new Map<string, string[]>();
  for (const line of unit.split('\n')) {
    const match = line.match(/^([A-Za-z]+)=(.*)$/);
    if (match) settings.set(match[1]!, [...(settings.get(match[1]!) ?? []), match[2]!]);
  }

  it('runs certkeeper run with the hardening the brief asks for, and without MemoryDenyWriteExecute (Node JIT)', () => {
    expect(settings.get('ExecStart')?.[0]).toMatch(/certkeeper run --config \S+/);
    for (const [key, value] of Object.entries({
      DynamicUser: 'yes',
      StateDirectory: 'certkeeper',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      NoNewPrivileges: 'yes',
      CapabilityBoundingSet: '',
    })) {
      expect(settings.get(key), key).toEqual([value]);
    }
    expect(settings.get('RestrictAddressFamilies')).toEqual(['AF_INET AF_INET6 AF_UNIX']);
    expect(settings.get('SystemCallFilter')?.[0]).toBe('@system-service');
    expect(settings.has('MemoryDenyWriteExecute')).toBe(false);
    expect(unit).toMatch(/MemoryDenyWriteExecute.*NOT set[\s\S]*JIT/);
  });

  it('gives SIGTERM at least 30 s, as the container does (the daemon stops within 20 s)', () => {
    expect(settings.get('KillSignal')).toEqual(['SIGTERM']);
    const [timeout] = settings.get('TimeoutStopSec') ?? [];
    const seconds = Number(/^(\d+)s?$/.exec(timeout ?? '')?.[1] ?? /^(\d+)min$/.exec(timeout ?? '')?.[1] ?? NaN) * (timeout?.endsWith('min') ? 60 : 1);
    expect(seconds).toBeGreaterThanOrEqual(30);
  });
});

describe('deploy/aws', () => {
  const committedPolicy = JSON.parse(read('deploy/aws/iam-policy.json'));
  const template = JSON.parse(read('deploy/aws/certkeeper.template.json')) as {
    Parameters: Record<string, unknown>;
    Resources: Record<string, { Type: string; Properties: any }>;
  };

  it('iam-policy.json is what iam-policy prints for the example config', async () => {
    const config = await loadConfig(fileURLToPath(new URL('../../deploy/aws/renewal.config.ts', import.meta.url)));
    expect(committedPolicy).toEqual(buildIamPolicy(config).policy);
  });

  it('the template has every resource, every reference resolves, and the task runs certkeeper renew', () => {
    const types = Object.fromEntries(Object.entries(template.Resources).map(([name, resource]) => [name, resource.Type]));
    expect(types).toMatchObject({
      StoreTable: 'AWS::DynamoDB::Table',
      AccountKeySecret: 'AWS::SecretsManager::Secret',
      AlertsTopic: 'AWS::SNS::Topic',
      LogGroup: 'AWS::Logs::LogGroup',
      Cluster: 'AWS::ECS::Cluster',
      TaskRole: 'AWS::IAM::Role',
      TaskDefinition: 'AWS::ECS::TaskDefinition',
      RenewSchedule: 'AWS::Scheduler::Schedule',
    });
    const known = new Set([...Object.keys(template.Resources), ...Object.keys(template.Parameters), 'AWS::Region', 'AWS::AccountId', 'AWS::Partition']);
    const references: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (!node || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node)) {
        if (key === 'Ref') references.push(value as string);
        else if (key === 'Fn::GetAtt') references.push((value as string[])[0]!);
        else if (key === 'Fn::Sub') references.push(...[...String(value).matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1]!));
        else walk(value);
      }
    };
    walk(template.Resources);
    expect(references.length).toBeGreaterThan(10);
    expect(references.filter((name) => !known.has(name))).toEqual([]);

    const container = template.Resources.TaskDefinition!.Properties.ContainerDefinitions[0];
    expect(container.Command).toEqual(['renew', '--config', '/etc/certkeeper/renewal.config.ts']);
    expect(template.Resources.StoreTable!.Properties.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(template.Resources.StoreTable!.Properties.AttributeDefinitions).toEqual([{ AttributeName: 'pk', AttributeType: 'S' }]);
    expect(template.Resources.RenewSchedule!.Properties.Target.EcsParameters.TaskDefinitionArn).toEqual({ Ref: 'TaskDefinition' });
  });

  it("the task role's policy is iam-policy's output, for resources named as the template makes them", async () => {
    const config = await loadConfig(fileURLToPath(new URL('../../deploy/aws/renewal.config.ts', import.meta.url)));
    expect(template.Resources.TaskRole!.Properties.Policies[0].PolicyDocument).toEqual(buildIamPolicy(config).policy);
    expect(config.store).toEqual({ type: 'dynamodb', tableName: template.Resources.StoreTable!.Properties.TableName });
    expect(config.acme.accountKey).toEqual({ secretsManager: { secretId: template.Resources.AccountKeySecret!.Properties.Name } });
    expect(config.notifications?.snsTopicArn?.split(':').pop()).toBe(template.Resources.AlertsTopic!.Properties.TopicName);
  });
});
