import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

/** Usage and config errors: exit code 2, one clear message on stderr, nothing on stdout, no AWS or CA contacted. */

const dir = mkdtempSync(join(tmpdir(), 'certkeeper-cli-'));
const noAws = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' };

function configFile(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

const valid = {
  acme: { directoryUrl: 'https://127.0.0.1:9/dir', email: 'ops@example.com', termsOfServiceAgreed: true },
  stateDir: join(dir, 'state'),
  aws: { region: 'us-east-1' },
  certificates: [{ name: 'api', domains: ['api.example.com'], acm: [{ region: 'us-east-1' }] }],
};

describe('command line errors exit 2', () => {
  it('for a config that does not validate, naming the key', async () => {
    const bad = configFile('bad.config.mjs', `export default ${JSON.stringify({ ...valid, aws: { region: 'eu-middle-3' } })};`);
    for (const command of [['renew'], ['status', '--json'], ['run']]) {
      const run = await runCli([...command, '--config', bad], noAws);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(
        `certkeeper: invalid config ${bad}:\n  - aws.region: "eu-middle-3" is not an AWS region known to certkeeper; expected a region code such as "us-east-1" or "eu-west-1"\n`,
      );
    }
  });

  it('for a missing config file', async () => {
    const run = await runCli(['status', '--config', join(dir, 'absent.ts')], noAws);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`config file not found: ${join(dir, 'absent.ts')}`);
  });

  it('for an unknown option or command', async () => {
    expect((await runCli(['renew', '--forcee'])).code).toBe(2);
    expect((await runCli(['renwe'])).code).toBe(2);
  });

  it('for a certificate name the config does not have', async () => {
    const good = configFile('good.config.mjs', `export default ${JSON.stringify(valid)};`);
    const run = await runCli(['renew', '--force', 'apii', '--config', good], noAws);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('certkeeper: unknown certificate "apii"; the config has: api\n');
  });

  it('help exits 0', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: certkeeper');
  });
});
