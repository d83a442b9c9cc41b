import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';

/**
 * Offline checks of deploy/: no container engine or AWS account here (see the READMEs in deploy/). The tools'
 * own checks (systemd-analyze, cfn-lint, the health check against the daemon) are in test/deploy (CI).
 */

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

  it('passes the dockerfile-utils linter with nothing to say (and the linter does see a second HEALTHCHECK)', () => {
    const dockerfile = read('deploy/container/Dockerfile');
    expect(validate(dockerfile)).toEqual([]);
    const twice = validate(`${dockerfile}\nHEALTHCHECK CMD true\n`).map((diagnostic) => diagnostic.message);
    expect(twice).toContain('There can only be one HEALTHCHECK instruction in a Dockerfile or build stage. Only the last one will have an effect.');
  });

  it('builds in stages from the Node LTS image pinned by digest, the final one too', () => {
    expect(stages.map((stage) => stage.name)).toEqual(['build', 'deps', 'runtime']);
    expect(lines[0]).toMatch(/^ARG NODE_IMAGE=node:(22|24)-bookworm-slim@sha256:[0-9a-f]{64}$/);
    expect(stages.every((stage) => stage.from === '${NODE_IMAGE}')).toBe(true);
    expect(read('deploy/container/README.md')).toMatch(/## Updating the base image[\s\S]*docker buildx imagetools inspect node:22-bookworm-slim/);
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
    const healthchecks = final.lines.filter((line) => line.startsWith('HEALTHCHECK'));
    expect(healthchecks).toHaveLength(1);
    expect(healthchecks[0]).toContain('/healthz');
    // One setting of the port, read by certkeeper run and by the health check (test/deploy/container-healthcheck.test.ts runs both).
    expect(healthchecks[0]).toContain('process.env.CERTKEEPER_METRICS_PORT');
    expect(final.lines.find((line) => line.startsWith('ENV') && line.includes('CERTKEEPER_METRICS_PORT'))).toMatch(/\bCERTKEEPER_METRICS_PORT=9464\b/);
    expect(final.lines).toContain('EXPOSE 9464');
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
