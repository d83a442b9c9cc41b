import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unsafeConfigPathProblem } from '../../src/config/file-permissions.js';

/** Issue 13, item 3: a config others could change is code others could run as certkeeper's user. */

const root = mkdtempSync(join(tmpdir(), 'certkeeper-perms-'));
let count = 0;

/** A fresh folder (0700, ours) under the test's own mkdtemp folder. */
function folder(mode = 0o700): string {
  const dir = join(root, `d${count++}`);
  mkdirSync(dir);
  chmodSync(dir, mode);
  return dir;
}

function config(dir: string, mode = 0o600): string {
  const file = join(dir, 'renewal.config.ts');
  writeFileSync(file, 'export default {};\n');
  chmodSync(file, mode);
  return file;
}

describe('a config file is loaded only when no one else can change it', () => {
  it('accepts a file of ours, read-only to others, in folders of ours (even below a sticky /tmp)', () => {
    expect(unsafeConfigPathProblem(config(folder(), 0o600))).toBeUndefined();
    expect(unsafeConfigPathProblem(config(folder(0o755), 0o644))).toBeUndefined();
  });

  it('refuses a file others can write, group or world, naming the fix', () => {
    for (const mode of [0o666, 0o620, 0o602]) {
      const file = config(folder(), mode);
      expect(unsafeConfigPathProblem(file)).toBe(
        `the file ${file} is writable by others (mode 0${mode.toString(8)}), so they could run code as this user; fix: chmod go-w ${file}`,
      );
    }
  });

  it('refuses a file under a folder others can write, however high up', () => {
    const open = folder(0o777);
    const deep = join(open, 'a', 'b');
    mkdirSync(deep, { recursive: true, mode: 0o700 });
    expect(unsafeConfigPathProblem(config(deep))).toBe(
      `the directory ${open} is writable by others (mode 0777), so they could run code as this user; fix: chmod go-w ${open}, or move the config to a directory only you can write`,
    );
    const groupOpen = folder(0o770);
    expect(unsafeConfigPathProblem(config(groupOpen))).toMatch(/^the directory .* is writable by others \(mode 0770\)/);
  });

  it('a sticky shared folder may hold a folder of ours, but not the config itself', () => {
    const shared = folder(0o1777);
    const ours = join(shared, 'mine');
    mkdirSync(ours, { mode: 0o700 });
    expect(unsafeConfigPathProblem(config(ours))).toBeUndefined();
    expect(unsafeConfigPathProblem(config(shared))).toBe(
      `the directory ${shared} is writable by others (mode 01777, shared like /tmp), so another user could have planted this file name; fix: move the config to a directory only you can write`,
    );
  });

  it('follows symlinks: both the path as written and the file it leads to are checked', () => {
    const open = folder(0o777);
    const target = config(open);
    const viaSafe = join(folder(), 'link.config.ts');
    symlinkSync(target, viaSafe);
    expect(unsafeConfigPathProblem(viaSafe)).toMatch(new RegExp(`^the directory ${open} is writable by others`));
    const safeTarget = config(folder());
    const linkDir = folder(0o777);
    const viaOpen = join(linkDir, 'link.config.ts');
    symlinkSync(safeTarget, viaOpen);
    expect(unsafeConfigPathProblem(viaOpen)).toMatch(new RegExp(`^the directory ${linkDir} is writable by others`));
  });
});
