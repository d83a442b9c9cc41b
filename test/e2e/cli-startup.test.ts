import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CERTKEEPER_BIN, collect, parseEvents } from './cli.js';

/**
 * Start-up loads what the command uses and nothing else (issue 15): what a process loaded is read from a
 * loader hook's trace (module-trace.mjs), never from how long it took.
 */

const dir = mkdtempSync(join(tmpdir(), 'certkeeper-startup-'));
const TRACE_HOOK = fileURLToPath(new URL('./module-trace.mjs', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const noAws = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' };

/** Runs the CLI with the module trace on; returns its result and the packages (node_modules names) it loaded. */
async function traced(args: string[], env: NodeJS.ProcessEnv = {}) {
  const trace = join(dir, `trace-${Math.random().toString(36).slice(2)}`);
  writeFileSync(trace, '');
  const child = spawn(process.execPath, ['--import', TRACE_HOOK, CERTKEEPER_BIN, ...args], {
    env: { ...process.env, ...env, CERTKEEPER_MODULE_TRACE: trace },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result = await collect(child);
  const urls = readFileSync(trace, 'utf8').split('\n').filter(Boolean);
  const packages = new Set(urls.flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []));
  return { ...result, urls, packages };
}

describe('start-up', () => {
  it('--version and -V print the version of package.json alone and exit 0', async () => {
    for (const flag of ['--version', '-V']) {
      const run = await traced([flag]);
      expect(run).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  it('--help and --version load commander only: no config loader, agent, ACME client, AWS SDK or logger library', async () => {
    for (const flag of ['--help', '--version']) {
      const run = await traced([flag]);
      expect(run.code).toBe(0);
      // The trace works: the CLI's own modules and commander are in it.
      expect(run.urls.some((url) => url.endsWith('/dist/cli/main.js'))).toBe(true);
      expect([...run.packages]).toEqual(['commander']);
    }
  });

  it('a command loads no SDK of a service its config does not use (file store, key in stateDir, no notifications, no CloudFront)', async () => {
    const config = join(dir, 'plain.config.mjs');
    writeFileSync(
      config,
      `export default ${JSON.stringify({
        acme: { directoryUrl: 'https://127.0.0.1:9/dir', email: 'ops@example.com', termsOfServiceAgreed: true },
        stateDir: join(dir, 'state'),
        aws: { region: 'us-east-1', requestTimeoutSeconds: 1 },
        certificates: [{ name: 'api', domains: ['api.example.com'], acm: [{ region: 'us-east-1' }] }],
      })};`,
      { mode: 0o600 },
    );
    // AWS is unreachable: status fails (exit 1) after it has built everything a pass builds and tried AWS.
    const run = await traced(['status', '--json', '--config', config], noAws);
    expect(run.code).toBe(1);
    expect(run.packages).toContain('@aws-sdk/client-acm');
    for (const unused of ['cloudfront', 'dynamodb', 'secrets-manager', 'ssm', 'sns', 'iam']) expect(run.packages).not.toContain(`@aws-sdk/client-${unused}`);
    expect(run.packages).not.toContain('winston');
  });

  it('a line logged just before process.exit is written', async () => {
    const logger = new URL('../../dist/telemetry/logger.js', import.meta.url).href;
    const script = `const { createLogger } = await import(${JSON.stringify(logger)}); const log = createLogger().child({ runId: 'r' }); for (let i = 0; i < 2000; i++) log.info('test.line', { i, padding: 'x'.repeat(200) }); log.error('test.last', { why: 'exit next' }); process.exit(3);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const { code, stderr } = await collect(child);
    expect(code).toBe(3);
    const events = parseEvents(stderr);
    expect(events).toHaveLength(2001);
    expect(events.at(-1)).toMatchObject({ level: 'error', event: 'test.last', runId: 'r', why: 'exit next' });
  });
});
