import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * deploy/systemd/certkeeper.service checked by systemd's own tool, as installed: a temporary root laid out as
 * deploy/systemd/README.md installs certkeeper (/opt/certkeeper with an executable launcher, /etc/certkeeper,
 * the unit in /etc/systemd/system) next to this machine's own systemd units (the targets the unit names), and
 * `systemd-analyze verify --root` on it. Needs systemd-analyze (Debian package systemd; .ci/run installs it).
 */

const repo = fileURLToPath(new URL('../../', import.meta.url));
const UNIT = '/etc/systemd/system/certkeeper.service';
const SYSTEM_UNITS = '/usr/lib/systemd/system';

interface Result {
  code: number;
  output: string;
}

function systemdAnalyze(args: string[]): Promise<Result> {
  return new Promise((resolve, reject) =>
    execFile('systemd-analyze', args, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(new Error(`systemd-analyze did not run: ${error.message}`, { cause: error }));
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, output: `${stdout}${stderr}`.trim() });
    }),
  );
}

/** A machine's root with certkeeper installed as the README says; `unit` replaces the shipped unit's text. */
function installInto(root: string, options: { unit?: string; executable?: boolean } = {}): void {
  mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
  cpSync(SYSTEM_UNITS, join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  const opt = join(root, 'opt/certkeeper');
  mkdirSync(opt, { recursive: true });
  for (const path of ['bin', 'dist', 'package.json', 'package-lock.json', 'README.md']) cpSync(join(repo, path), join(opt, path), { recursive: true });
  // `npm ci --omit=dev` in the README; here the checkout's modules stand in for them (the launcher is what the unit runs).
  symlinkSync(join(repo, 'node_modules'), join(opt, 'node_modules'));
  chmodSync(join(opt, 'bin/certkeeper'), options.executable === false ? 0o644 : 0o755);
  mkdirSync(join(root, 'etc/certkeeper'), { recursive: true });
  copyFileSync(join(repo, 'deploy/aws/renewal.config.ts'), join(root, 'etc/certkeeper/renewal.config.ts'));
  writeFileSync(join(root, 'etc/certkeeper/certkeeper.env'), '', { mode: 0o600 });
  mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
  writeFileSync(join(root, UNIT), options.unit ?? readFileSync(join(repo, 'deploy/systemd/certkeeper.service'), 'utf8'));
}

describe('deploy/systemd/certkeeper.service, installed under a temporary root', () => {
  const roots: string[] = [];
  const newRoot = (options?: Parameters<typeof installInto>[1]) => {
    const root = mkdtempSync(join(tmpdir(), 'certkeeper-systemd-'));
    roots.push(root);
    installInto(root, options);
    return root;
  };
  let installed: string;

  beforeAll(() => {
    installed = newRoot();
  });
  afterAll(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  it('passes systemd-analyze verify with nothing to say', async () => {
    const verify = await systemdAnalyze(['verify', `--root=${installed}`, UNIT]);
    expect(verify).toEqual({ code: 0, output: '' });
  });

  it('rates an exposure of at most 1.4 in systemd-analyze security (the hardening of the README)', async () => {
    // --threshold is in tenths: exit 1 above 1.4.
    const security = await systemdAnalyze(['security', '--offline=yes', `--root=${installed}`, '--threshold=14', UNIT]);
    expect(security.output).toMatch(/Overall exposure level for certkeeper\.service: 1\.[0-4] OK/);
    expect(security.code).toBe(0);
  });

  it("starts the installed launcher with ExecStart's command line (its help: the flags parse)", async () => {
    const execStart = /^ExecStart=(\S+) (.*)$/m.exec(readFileSync(join(installed, UNIT), 'utf8'))!;
    expect(execStart[1]).toBe('/opt/certkeeper/bin/certkeeper');
    const args = execStart[2]!.split(' ');
    const help = await new Promise<string>((resolve, reject) =>
      execFile(join(installed, execStart[1]!), [...args, '--help'], (error, stdout) => (error ? reject(new Error(error.message, { cause: error })) : resolve(stdout))),
    );
    expect(help).toMatch(/^Usage: certkeeper run \[options\]/);
    expect(help).toContain('CERTKEEPER_METRICS_PORT');
  });

  // The checks above would pass on a tool that says nothing: these show that verify does see what breaks a unit.
  it('is sensitive: a launcher that is not executable fails verify, a misspelt setting is reported', async () => {
    const notExecutable = await systemdAnalyze(['verify', `--root=${newRoot({ executable: false })}`, UNIT]);
    expect(notExecutable.code).not.toBe(0);
    expect(notExecutable.output).toContain('/opt/certkeeper/bin/certkeeper is not executable');

    const shipped = readFileSync(join(repo, 'deploy/systemd/certkeeper.service'), 'utf8');
    const misspelt = await systemdAnalyze(['verify', `--root=${newRoot({ unit: shipped.replace('ProtectClock=', 'ProtectClok=') })}`, UNIT]);
    expect(misspelt.output).toMatch(/Unknown key 'ProtectClok' in section \[Service\]/);
  });
});
