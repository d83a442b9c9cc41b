import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CERTKEEPER_BIN, collect, eventsNamed, runCli, type CliResult } from './cli.js';

/**
 * Usage and config errors: exit code 2, one clear message on stderr, nothing on stdout, no AWS or CA
 * contacted. stderr is not a terminal here, so the message is one JSON event (every line stays JSON).
 */

/** The one event on stderr, and its message. */
function onlyEvent(run: CliResult, event: string): string {
  expect(run.events.map((e) => e.event)).toEqual([event]);
  return String(eventsNamed(run.events, event)[0]!.error);
}

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
      expect(onlyEvent(run, 'config.error')).toBe(
        `invalid config ${bad}:\n  - aws.region: "eu-middle-3" is not an AWS region known to certkeeper; expected a region code such as "us-east-1" or "eu-west-1"`,
      );
      expect(run.events[0]).toMatchObject({ level: 'error', file: bad });
    }
  });

  it('for a missing config file', async () => {
    const run = await runCli(['status', '--config', join(dir, 'absent.ts')], noAws);
    expect(run.code).toBe(2);
    expect(onlyEvent(run, 'config.error')).toContain(`config file not found: ${join(dir, 'absent.ts')}`);
  });

  it('for an unknown option or command, as one JSON event', async () => {
    const option = await runCli(['renew', '--forcee']);
    expect(option.code).toBe(2);
    expect(onlyEvent(option, 'cli.usage_error')).toBe("unknown option '--forcee'\n(Did you mean --force?)\n(run certkeeper --help for usage)");
    const command = await runCli(['renwe']);
    expect(command.code).toBe(2);
    expect(onlyEvent(command, 'cli.usage_error')).toMatch(/^unknown command 'renwe'/);
  });

  it('for a certificate name the config does not have', async () => {
    const good = configFile('good.config.mjs', `export default ${JSON.stringify(valid)};`);
    const run = await runCli(['renew', '--force', 'apii', '--config', good], noAws);
    expect(run.code).toBe(2);
    expect(onlyEvent(run, 'cli.usage_error')).toBe('unknown certificate "apii"; the config has: api');
  });

  it('for a config that never finishes loading (a top-level await that never settles): exit 2 naming the file, never a silent 0', async () => {
    // One awaits nothing at all; the other keeps a timer going, so the process would never end by itself.
    const idle = configFile('idle.config.mjs', `await new Promise(() => {});\nexport default ${JSON.stringify(valid)};\n`);
    const busy = configFile('busy.config.mjs', `await new Promise(() => setInterval(() => {}, 1_000));\nexport default ${JSON.stringify(valid)};\n`);
    const runs = await Promise.all([runCli(['run', '--config', idle], noAws), runCli(['status', '--config', busy], noAws)]);
    for (const [run, file] of [
      [runs[0], idle],
      [runs[1], busy],
    ] as const) {
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(onlyEvent(run, 'config.error')).toMatch(/^cannot load .*\.config\.mjs: it did not finish loading within 10 s/);
      expect(run.events[0]).toMatchObject({ file });
    }
  }, 40_000);

  it('a Node process warning is a JSON event too', async () => {
    const warns = configFile(
      'warns.config.mjs',
      `process.emitWarning('configs should not do this', 'ExperimentalWarning');\nexport default ${JSON.stringify({ ...valid, aws: {} })};\n`,
    );
    const run = await runCli(['status', '--config', warns], noAws);
    expect(run.code).toBe(2);
    // Every stderr line parsed as JSON (runCli fails on any other line): the warning and the config error.
    expect(run.events.map((event) => event.event).sort()).toEqual(['config.error', 'process.warning']);
    expect(eventsNamed(run.events, 'process.warning')[0]).toMatchObject({ level: 'warn', name: 'ExperimentalWarning', error: 'configs should not do this' });
  });

  it('at a terminal, in words', async () => {
    // A pseudo-terminal (script) shows what a person sees: stderr is a TTY there.
    const run = await collect(spawn('script', ['-qec', `${CERTKEEPER_BIN} renew --forcee`, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(run.code).toBe(2);
    expect(run.stdout).toContain("error: unknown option '--forcee'");
    expect(run.stdout).not.toContain('{');
  });

  it('for a config that others can write, or that sits in a directory others can write: refused, naming the fix', async () => {
    const worldWritable = configFile('world-writable.config.mjs', `export default ${JSON.stringify(valid)};`);
    chmodSync(worldWritable, 0o666);
    const groupWritable = configFile('group-writable.config.mjs', `export default ${JSON.stringify(valid)};`);
    chmodSync(groupWritable, 0o664);
    const openDir = join(dir, 'open');
    mkdirSync(openDir);
    chmodSync(openDir, 0o777);
    const inOpenDir = configFile('open/renewal.config.mjs', `export default ${JSON.stringify(valid)};`);
    const runs = await Promise.all([worldWritable, groupWritable, inOpenDir].map((file) => runCli(['status', '--config', file], noAws)));
    for (const run of runs) {
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
    }
    expect(onlyEvent(runs[0]!, 'config.error')).toBe(
      `refusing to load ${worldWritable}: the file ${worldWritable} is writable by others (mode 0666), so they could run code as this user; fix: chmod go-w ${worldWritable}`,
    );
    expect(onlyEvent(runs[1]!, 'config.error')).toContain(`the file ${groupWritable} is writable by others (mode 0664)`);
    expect(onlyEvent(runs[2]!, 'config.error')).toBe(
      `refusing to load ${inOpenDir}: the directory ${openDir} is writable by others (mode 0777), so they could run code as this user; fix: chmod go-w ${openDir}, or move the config to a directory only you can write`,
    );
  }, 40_000);

  it('for garbage in a config: exit 2 and one line naming the file, what was expected and what came', async () => {
    const files = {
      nullExport: configFile('null.config.ts', 'export default null;\n'),
      syntax: configFile('syntax.config.ts', 'const region: string = "us-east-1";\nconst broken: number = ;\nexport default {};\n'),
      getter: configFile('getter.config.ts', `const config = ${JSON.stringify(valid)};\nexport default { ...config, get aws() { throw new Error('no region today'); } };\n`),
      throws: configFile('throws.config.ts', `const region = 'us-east-1';\nthrow new Error('not today');\n`),
      noDefault: configFile('no-default.config.ts', `export const config = ${JSON.stringify(valid)};\n`),
    };
    const runs = await Promise.all(Object.values(files).map((file) => runCli(['status', '--config', file], noAws)));
    const messages = runs.map((run) => {
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      return onlyEvent(run, 'config.error');
    });
    // Each on one line, but for the getter: a problem of a key, listed under the file as validation problems are.
    expect(messages).toEqual([
      `invalid config ${files.nullExport}: the config's default export is null; expected an object (defineConfig({...}))`,
      `cannot load ${files.syntax}:2:24: ParseError: Unexpected token`,
      `invalid config ${files.getter}:\n  - aws: threw "no region today" when read; expected plain data, not a getter that throws`,
      `cannot load ${files.throws}:2:7: not today`,
      `invalid config ${files.noDefault}: it has no default export; expected export default defineConfig({...})`,
    ]);
  }, 40_000);

  it('help exits 0', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: certkeeper');
  });
});
