import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { CERTKEEPER_BIN, eventsNamed, runCli } from './cli.js';

/**
 * `certkeeper init` through the real CLI: off a terminal it asks nothing and writes a config that the loader
 * accepts; at a terminal (a pseudo-terminal from `script`) it asks, and Enter keeps the default; it never
 * overwrites. No AWS or CA is involved.
 */

const dir = mkdtempSync(join(tmpdir(), 'certkeeper-init-'));
const LISTENER = 'arn:aws:elasticloadbalancing:eu-west-1:210987654321:listener/app/shop/0123456789abcdef/fedcba9876543210';

describe('certkeeper init', () => {
  it('off a terminal asks nothing, writes a loadable config with marked placeholders, and options fill them', async () => {
    const file = join(dir, 'placeholders.config.ts');
    const run = await runCli(['init', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`wrote ${file}\n  placeholders to edit (comments starting CHANGE ME): email, domains, region, listenerArn\n`);
    expect(run.stderr).toBe('');
    expect(statSync(file).mode & 0o777).toBe(0o644);
    const text = readFileSync(file, 'utf8');
    expect(text.match(/CHANGE ME:/g)).toHaveLength(4);
    const config = await loadConfig(file);
    expect(config.acme.directoryUrl).toBe('https://acme-staging-v02.api.letsencrypt.org/directory');
    expect(config.certificates[0]!.domains).toEqual(['example.com', '*.example.com']);

    const filledFile = join(dir, 'filled.config.ts');
    const filled = await runCli([
      'init',
      filledFile,
      '--email',
      'tls@shop.example.net',
      '--domain',
      'shop.example.net',
      '--domain',
      'www.shop.example.net',
      '--region',
      'eu-west-1',
      '--listener-arn',
      LISTENER,
    ]);
    expect(filled.code).toBe(0);
    expect(filled.stdout).not.toContain('placeholders');
    expect(readFileSync(filledFile, 'utf8')).not.toContain('CHANGE ME:');
    const loaded = await loadConfig(filledFile);
    expect(loaded.acme.email).toBe('tls@shop.example.net');
    expect(loaded.aws.region).toBe('eu-west-1');
    expect(loaded.certificates[0]).toMatchObject({ name: 'shop-example-net', domains: ['shop.example.net', 'www.shop.example.net'] });
    expect(loaded.certificates[0]!.acm[0]).toMatchObject({ region: 'eu-west-1', listeners: [{ arn: LISTENER }] });
  });

  it('refuses to overwrite a file, and writes nothing for an answer the config would refuse (exit 2)', async () => {
    const file = join(dir, 'existing.config.ts');
    writeFileSync(file, 'export default {};\n');
    const run = await runCli(['init', file]);
    expect(run.code).toBe(2);
    expect(String(eventsNamed(run.events, 'cli.usage_error')[0]?.error)).toBe(
      `${file} already exists: init never overwrites a config; remove it, or pass another path (certkeeper init FILE)`,
    );
    expect(readFileSync(file, 'utf8')).toBe('export default {};\n');

    const bad = join(dir, 'bad.config.ts');
    const refused = await runCli(['init', bad, '--region', 'eu-west-1', '--listener-arn', LISTENER.replace('eu-west-1', 'us-east-2')]);
    expect(refused.code).toBe(2);
    expect(String(eventsNamed(refused.events, 'cli.usage_error')[0]?.error)).toMatch(/certificates\[0\]\.acm\[0\]\.listeners\[0\]\.arn: is in region us-east-2/);
    expect(existsSync(bad)).toBe(false);
  });

  it('at a terminal asks each question; Enter keeps the default shown', async () => {
    const file = join(dir, 'asked.config.ts');
    const { child, shown, exited, screen } = onTerminal(`${CERTKEEPER_BIN} init ${file}`);

    await shown('E-mail for the ACME account (expiry and account notices) [ops@example.com]: ');
    child.stdin.write('tls@shop.example.net\r');
    await shown('Domains of the certificate, comma-separated [example.com, *.example.com]: ');
    child.stdin.write('shop.example.net, *.shop.example.net\r');
    await shown('AWS region of the certificate in ACM [us-east-1]: ');
    child.stdin.write('\r');
    await shown('Listener ARN to serve it on, or an ACM certificate ARN to re-import into [arn:aws:elasticloadbalancing:us-east-1:');
    const certificateArn = 'arn:aws:acm:us-east-1:210987654321:certificate/0b8e5b2c-1f6a-4c3e-9d7a-2e4f6a8b0c1d';
    child.stdin.write(`${certificateArn}\r`);
    expect(await exited).toBe(0);
    expect(screen()).toContain(`wrote ${file}`);

    const config = await loadConfig(file);
    expect(config.acme.email).toBe('tls@shop.example.net');
    expect(config.aws.region).toBe('us-east-1');
    expect(config.certificates[0]!.domains).toEqual(['shop.example.net', '*.shop.example.net']);
    expect(config.certificates[0]!.acm[0]).toMatchObject({ region: 'us-east-1', certificateArn, listeners: [] });
  });

  it('at a terminal, Ctrl-C cancels and writes nothing', async () => {
    const file = join(dir, 'cancelled.config.ts');
    const { child, shown, exited, screen } = onTerminal(`${CERTKEEPER_BIN} init ${file}`);
    await shown('[ops@example.com]: ');
    child.stdin.write('\x03');
    expect(await exited).toBe(2);
    expect(screen()).toContain('init cancelled (Ctrl-C): nothing written');
    expect(existsSync(file)).toBe(false);
  });
});

/** Runs a command on a pseudo-terminal (`script`): its stdin is a TTY, as for a person at a shell. */
function onTerminal(command: string) {
  const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  child.stdout.on('data', (chunk: Buffer) => {
    screen += chunk.toString();
    for (const waiter of waiters.filter((w) => screen.includes(w.text))) waiter.resolve();
  });
  const shown = (text: string) => new Promise<void>((resolve) => (screen.includes(text) ? resolve() : waiters.push({ text, resolve })));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, shown, exited, screen: () => screen };
}
