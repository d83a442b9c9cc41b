import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { exitWithin, runCli, watchCli, type WatchedCli } from '../e2e/cli.js';
import { freePort } from '../stack/ports.js';

/**
 * The container's HEALTHCHECK and `certkeeper run` read one setting, CERTKEEPER_METRICS_PORT (set once by the
 * image's ENV). No container engine here: the check's own command, taken from the Dockerfile, is run against
 * the real daemon (built: `npm run test:deploy` builds first), with the environment the image gives both.
 */

const dockerfile = readFileSync(fileURLToPath(new URL('../../deploy/container/Dockerfile', import.meta.url)), 'utf8').replace(/\\\n/g, ' ');
const healthcheck = JSON.parse(/^HEALTHCHECK .*?\bCMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
const imagePort = /^ENV .*\bCERTKEEPER_METRICS_PORT=(\S*)/m.exec(dockerfile)?.[1];

const dir = mkdtempSync(join(tmpdir(), 'certkeeper-healthcheck-'));
// Nothing answers on 127.0.0.1:9: the passes fail fast, which is no reason for the liveness check to fail.
const noAws = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' };
const daemons: WatchedCli[] = [];

function configWithMetricsPort(port: number): string {
  const path = join(dir, `metrics-${port}.config.mjs`);
  const config = {
    acme: { directoryUrl: 'https://127.0.0.1:9/dir', email: 'ops@example.com', termsOfServiceAgreed: true },
    stateDir: join(dir, `state-${port}`),
    aws: { region: 'us-east-1' },
    metrics: { port, host: '127.0.0.1' },
    certificates: [{ name: 'api', domains: ['api.example.com'], acm: [{ region: 'us-east-1' }] }],
  };
  writeFileSync(path, `export default ${JSON.stringify(config)};`, { mode: 0o600 });
  return path;
}

/** Starts `certkeeper run`; resolves with the port it says it listens on. */
async function startRun(args: string[], env: Record<string, string>): Promise<number> {
  const daemon = watchCli(['run', ...args], { ...noAws, ...env });
  daemons.push(daemon);
  try {
    return Number((await daemon.waitFor('metrics.listening', 1, 30_000)).port);
  } catch (error) {
    throw new Error(`${String(error)}: ${daemon.events.map((event) => JSON.stringify(event)).join('\n')}`, { cause: error });
  }
}

function runHealthcheck(env: Record<string, string>): Promise<number> {
  const [command, ...args] = healthcheck;
  return new Promise((resolve) => execFile(command!, args, { env: { PATH: process.env.PATH, ...env }, timeout: 10_000 }, (error) => resolve(error ? Number(error.code ?? 1) : 0)));
}

afterAll(async () => {
  for (const daemon of daemons) {
    daemon.child.kill('SIGTERM');
    await exitWithin(daemon, 30_000);
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('CERTKEEPER_METRICS_PORT: the one setting of the daemon and of the container health check', () => {
  it('the image sets it once and its HEALTHCHECK (the only one) reads it', () => {
    expect(imagePort).toBe('9464');
    expect(dockerfile.match(/^HEALTHCHECK /gm)).toHaveLength(1);
    expect(healthcheck[0]).toBe('node');
    expect(healthcheck.join(' ')).toContain('process.env.CERTKEEPER_METRICS_PORT');
  });

  it('run serves on it (over metrics.port of the config, under --metrics-port), and the health check asks that port', async () => {
    const [envPort, configPort, flagPort, closedPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const config = configWithMetricsPort(configPort);

    expect(await startRun(['--config', config], { CERTKEEPER_METRICS_PORT: String(envPort) })).toBe(envPort);
    expect(await startRun(['--config', config, '--metrics-port', String(flagPort)], { CERTKEEPER_METRICS_PORT: String(envPort) })).toBe(flagPort);
    // Empty is unset: the config's port.
    expect(await startRun(['--config', config], { CERTKEEPER_METRICS_PORT: '' })).toBe(configPort);

    expect(await runHealthcheck({ CERTKEEPER_METRICS_PORT: String(envPort) })).toBe(0);
    // A port where nothing listens: the check fails (it does ask).
    expect(await runHealthcheck({ CERTKEEPER_METRICS_PORT: String(closedPort) })).toBe(1);
    // No port set: nothing to ask, the check passes.
    expect(await runHealthcheck({ CERTKEEPER_METRICS_PORT: '' })).toBe(0);
  });

  it('a value that is no port is a config error (exit 2) naming the variable', async () => {
    const run = await runCli(['run', '--config', configWithMetricsPort(await freePort())], { ...noAws, CERTKEEPER_METRICS_PORT: '94640' });
    expect(run.code).toBe(2);
    expect(run.events.map((event) => [event.event, event.error])).toEqual([
      ['config.error', 'CERTKEEPER_METRICS_PORT is "94640": expected a TCP port from 1 to 65535, such as 9464, or empty for none'],
    ]);
  });
});
