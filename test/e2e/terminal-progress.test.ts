import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import xterm from '@xterm/headless';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures } from '../stack/aws-fixtures.js';
import { startStack, type Stack } from '../stack/stack.js';
import { CERTKEEPER_BIN, eventsNamed, runCli } from './cli.js';
import { writeConfigFile } from './config-file.js';

/**
 * What a person at a terminal sees: certkeeper runs under a real pseudo-terminal (util-linux `script`),
 * its raw output (escape codes and all) is fed to a terminal emulator (xterm.js, headless), and the
 * assertions read the screen as rendered, the way the person would.
 */

const COLUMNS = 160;
const ROWS = 60;

let stack: Stack;
let env: NodeJS.ProcessEnv;
let configPath: string;

beforeAll(async () => {
  // The ARI test double in front of Pebble: `status` then logs each certificate's `ari.window`.
  stack = await startStack({ preloadEc2: true, acmeProxy: true });
  const aws = awsFixtures(stack.motoEndpoint);
  const [, listener] = await Promise.all([aws.createHostedZone('progress.example'), aws.createHttpsListener({ name: 'alb-progress' })]);
  const workDir = mkdtempSync(join(tmpdir(), 'certkeeper-progress-'));
  configPath = writeConfigFile(join(workDir, 'progress.config.mjs'), stack.directoryUrl, {
    // The dry run's staging CA: Pebble itself, beside the ARI double the renewals go through.
    acme: { stagingDirectoryUrl: stack.pebble.directoryUrl },
    stateDir: join(workDir, 'state'),
    certificates: [
      { name: 'www', domains: ['www.progress.example'], acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn }] }] },
      { name: 'api', domains: ['api.progress.example'], acm: [{ region: 'us-east-1' }] },
      { name: 'idle', domains: ['idle.progress.example'], acm: [{ region: 'us-east-1' }] },
    ],
  });
  env = { ...stack.env, TERM: 'xterm-256color' };
});

afterAll(async () => {
  await stack?.stop();
});

/** The CLI in a pseudo-terminal of COLUMNS × ROWS; resolves with everything it wrote there, raw. */
function inTerminal(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; raw: string }> {
  const command = [CERTKEEPER_BIN, ...args].map((arg) => `'${arg}'`).join(' ');
  const child = spawn('script', ['-q', '-e', '-c', `stty cols ${COLUMNS} rows ${ROWS}; exec ${command}`, '/dev/null'], {
    env: { ...process.env, ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let raw = '';
  child.stdout.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, raw }));
  });
}

/**
 * The screen (with its scrollback) after the terminal emulator has interpreted `raw`: one string per line
 * (a line the terminal wrapped is joined again), trailing blanks cut.
 */
async function rendered(raw: string): Promise<string[]> {
  const terminal = new xterm.Terminal({ cols: COLUMNS, rows: ROWS, scrollback: 1000, allowProposedApi: true });
  await new Promise<void>((resolve) => terminal.write(raw, resolve));
  const buffer = terminal.buffer.active;
  const lines: string[] = [];
  for (let row = 0; row < buffer.length; row++) {
    const line = buffer.getLine(row);
    const text = line?.translateToString(true) ?? '';
    if (line?.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
    else lines.push(text);
  }
  terminal.dispose();
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const LOG_LINE = /^\d\d:\d\d:\d\d (info |warn |error|debug) [a-z0-9_]+\.[a-z0-9_.]+( \[[a-z]+\])?( |$)/;
const ESC = '\x1b';
/** An escape sequence, or what is left of one a terminal did not interpret (`[2A`, `[J`, `[33m`). */
const escapeLeft = (line: string) => line.includes(ESC) || /\[\d*[ABJKm]/.test(line);
// Select Graphic Rendition: colours.
const COLOUR_CODE = new RegExp(`${ESC}\\[\\d+(;\\d+)*m`);

describe('renewing at a terminal', () => {
  it('piped: no escape codes anywhere, the audit log in JSON lines', async () => {
    const run = await runCli(['renew', '--config', configPath, 'idle'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`idle: renewed and deployed: us-east-1 ${eventsNamed(run.events, 'acm.imported', 'idle')[0]!.certificateArn as string}\n`);
    expect(run.stdout + run.stderr).not.toContain(ESC);
    expect(eventsNamed(run.events, 'renewal.succeeded', 'idle')).toHaveLength(1);
  });

  it('one live line per renewing certificate, ending in ✓ and its time; the log above it intact; a certificate not due has no line', async () => {
    const run = await inTerminal(['renew', '--config', configPath]);
    const screen = await rendered(run.raw);
    expect(run.code, screen.join('\n')).toBe(0);
    // Drawn in place: the raw output moved the cursor up and cleared, in colour (NO_COLOR unset).
    expect(run.raw).toContain('\r\x1b[2A\x1b[J');
    expect(run.raw).toContain('\x1b[32m✓\x1b[0m');

    const progress = screen.filter((line) => /^[›✓✗] /.test(line));
    expect(progress.sort()).toEqual([expect.stringMatching(/^✓ api {2}renewed in \d+\.\d s$/), expect.stringMatching(/^✓ www {2}renewed in \d+\.\d s$/)]);
    // Every other line is a whole log line or the command's summary: nothing garbled, no escape code left raw.
    const others = screen.filter((line) => line !== '' && !progress.includes(line));
    for (const line of others) expect(line).toMatch(/^(www|api|idle): /.test(line) ? /^(www: renewed and deployed|api: renewed and deployed|idle: nothing to do): / : LOG_LINE);
    expect(screen.filter(escapeLeft)).toEqual([]);
    expect(
      others.some((line) => /^\d\d:\d\d:\d\d info {2}listener\.updated \[www\] listenerArn=listener\/app\/alb-progress\/[0-9a-f]{8}…\/[0-9a-f]{8}… mode=default /.test(line)),
    ).toBe(true);
    expect(others).toContainEqual(expect.stringMatching(/^idle: nothing to do: /));
  });

  it('--force NAME under NO_COLOR: the same live line without colour; --log-format json keeps the log JSON and the block off that terminal', async () => {
    // Two certificates, two processes at once (each takes its own certificate's lock): half the wait.
    const [run, json] = await Promise.all([
      inTerminal(['renew', '--force', '--config', configPath, 'www'], { NO_COLOR: '1' }),
      inTerminal(['renew', '--force', '--log-format', 'json', '--config', configPath, 'api']),
    ]);
    const screen = await rendered(run.raw);
    expect(run.code, screen.join('\n')).toBe(0);
    expect(run.raw).not.toMatch(COLOUR_CODE);
    expect(screen.filter((line) => /^[›✓✗] /.test(line))).toEqual([expect.stringMatching(/^✓ www {2}renewed in \d+\.\d s$/)]);

    expect(json.code).toBe(0);
    expect(json.raw).not.toContain(ESC);
    // Read raw: a JSON line wider than the terminal is wrapped on screen.
    const lines = json.raw.split('\r\n').filter((line) => line !== '');
    expect(lines.pop()).toMatch(/^api: renewed and deployed: us-east-1 arn:aws:acm:/);
    for (const line of lines) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
  });

  it('status at a terminal: its table first, the ari.window info lines only in the JSON log', async () => {
    // www and api were just renewed: the first look at each asks the CA for its window and logs ari.window.
    // One of each at once (each certificate's first look happens in one of them): piped for api, at a terminal for www.
    const [piped, run] = await Promise.all([runCli(['status', '--config', configPath, 'api'], env), inTerminal(['status', '--config', configPath, 'www'])]);
    expect(piped.code, piped.stderr).toBe(0);
    expect(eventsNamed(piped.events, 'ari.window').map((event) => event.certificate)).toEqual(['api']);
    const screen = await rendered(run.raw);
    expect(run.code, screen.join('\n')).toBe(0);
    expect(screen[0]).toMatch(/^NAME +DOMAINS +SERIAL +NOT AFTER +DAYS LEFT +ACTION$/);
    expect(screen.filter((line) => LOG_LINE.test(line))).toEqual([]);
  });

  it('renew --dry-run at a terminal: the same live line, ending in ✓ dry run passed, then the summary', async () => {
    const run = await inTerminal(['renew', '--dry-run', '--config', configPath, 'idle']);
    const screen = await rendered(run.raw);
    expect(run.code, screen.join('\n')).toBe(0);
    expect(screen.filter((line) => /^[›✓✗] /.test(line))).toEqual([expect.stringMatching(/^✓ idle {2}dry run passed in \d+\.\d s$/)]);
    expect(screen).toContainEqual(expect.stringMatching(/^idle: dry run passed: /));
    expect(screen.filter(escapeLeft)).toEqual([]);
  });
});
