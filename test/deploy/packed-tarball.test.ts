import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What `npm publish` would ship: `npm pack` of this checkout (dist/ built by test:deploy's `npm run build`),
 * installed into an empty directory as a user would, then run there through `npx`. Proves `files`, `bin`
 * and the dependencies are enough, and that nothing else (tests, sources, docs, stray builds) ships.
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const work = mkdtempSync(join(tmpdir(), 'certkeeper-pack-'));
const app = join(work, 'app');
let files: string[] = [];

/** How long each step took, printed for the report (speed is not asserted). */
const timings: Record<string, number> = {};
async function timed<T>(step: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    timings[step] = Date.now() - started;
  }
}

beforeAll(async () => {
  // --ignore-scripts: dist/ is already built, and a rebuild here would rewrite it under other tests' feet.
  const packed = await timed('npm pack', () => run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT }));
  const [result] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = result!.files.map((file) => file.path).sort();
  mkdirSync(app);
  // An empty directory and the tarball alone: dependencies come from the registry (the npm cache first).
  await timed('npm install', () => run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, result!.filename)], { cwd: app }));
});

afterAll(() => {
  process.stdout.write(
    `packed tarball: ${Object.entries(timings)
      .map(([step, ms]) => `${step} ${(ms / 1000).toFixed(1)} s`)
      .join(', ')}\n`,
  );
  rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the launcher, the compiled code, README, LICENSE and package.json, and nothing else', () => {
    const outside = files.filter((path) => !path.startsWith('dist/'));
    expect(outside).toEqual(['LICENSE', 'README.md', 'bin/certkeeper', 'package.json']);
    expect(files).toContain('dist/cli/bin.js');
    expect(files).toContain('dist/index.d.ts');
    // Every compiled file comes from a source file of today's tree: no test/ build, no leftover of a removed module.
    const stray = files
      .filter((path) => path.startsWith('dist/'))
      .map((path) => path.replace(/^dist\//, 'src/').replace(/\.(js|d\.ts)(\.map)?$/, '.ts'))
      .filter((source) => !existsSync(join(ROOT, source)));
    expect(stray, 'dist/ holds files no source makes: rm -rf dist && npm run build').toEqual([]);
  });

  it('installs into an empty directory and runs: npx certkeeper --help, --version', async () => {
    const help = await run('npx', ['--no', '--', 'certkeeper', '--help'], { cwd: app });
    expect(help.stdout).toMatch(/^Usage: certkeeper \[options\] \[command\]/);
    for (const command of ['init', 'renew', 'status', 'plan', 'doctor', 'discover', 'run', 'iam-policy']) expect(help.stdout).toContain(`  ${command}`);
    const version = await run('npx', ['--no', '--', 'certkeeper', '--version'], { cwd: app });
    expect(version.stdout).toBe(`${VERSION}\n`);
  });

  it('writes a config with init and loads it (import from "certkeeper" resolves to the installed package)', async () => {
    const written = await run('npx', ['--no', '--', 'certkeeper', 'init', 'renewal.config.ts'], { cwd: app });
    expect(written.stdout).toContain('wrote renewal.config.ts');
    // --offline: the policy comes from the config alone, so no AWS is needed to prove the config loads.
    const policy = await run('npx', ['--no', '--', 'certkeeper', 'iam-policy', '--offline'], { cwd: app, env: { ...process.env, AWS_REGION: 'us-east-1' } });
    expect((JSON.parse(policy.stdout) as { Version: string }).Version).toBe('2012-10-17');
  });
});
