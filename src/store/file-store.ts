import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync, constants } from 'node:fs';
import { join } from 'node:path';

/**
 * The agent's local records in `stateDir`: directory 0700, files 0600, every write atomic
 * (temp file, fsync, rename) so a crash never leaves half a file. Nothing here is the truth about
 * what is deployed (AWS is); losing it costs an ACME account lookup, not a certificate.
 */
export class FileStore {
  constructor(readonly dir: string) {
    ensurePrivateDir(dir);
  }

  read<T>(relativePath: string): T | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, relativePath), 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read ${join(this.dir, relativePath)}: ${(error as Error).message}`);
    }
  }

  write(relativePath: string, value: unknown): void {
    const target = join(this.dir, relativePath);
    ensurePrivateDir(join(target, '..'));
    const temp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  }

  remove(relativePath: string): void {
    rmSync(join(this.dir, relativePath), { force: true });
  }

  /** A private (0700) directory under stateDir. */
  ensureDir(relativePath: string): void {
    ensurePrivateDir(join(this.dir, relativePath));
  }
}

function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // An existing directory may have been created looser (e.g. by hand): tighten it.
  if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
