import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync, constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { AuditLogger } from '../telemetry/logger.js';
import { describeParseError, shapeProblem, type DocumentKind } from './document-shapes.js';

/**
 * The agent's local records in `stateDir`: directory 0700, files 0600, every write atomic and durable
 * (temp file, fsync, rename, fsync of the directory) so neither a crash nor a power loss leaves half a
 * file. Nothing here is the truth about what is deployed (AWS is); losing a file costs an AWS lookup,
 * an empty rate-limit ledger or a new ACME account, never a certificate. So a file that cannot be read,
 * parsed, or does not have its kind's shape is moved aside (`NAME.corrupt-<UTC time>`, kept for a person
 * to look at), reported once as `store.file.corrupt`, and read as absent: one damaged file never stops
 * the fleet.
 */
export class FileStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    ensurePrivateDir(dir);
  }

  read<T>(relativePath: string): T | undefined {
    return this.readDocument<T>(relativePath)?.value;
  }

  /** The document and its exact text (the lock compares texts to know it replaces what it judged). */
  readDocument<T>(relativePath: string): { value: T; text: string } | undefined {
    const path = join(this.dir, relativePath);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      // EISDIR, EACCES, EIO: unusable where it is. Moved aside it is simply absent; if it cannot even be
      // moved, the error stays with the certificate (or the step) that needed this file.
      const why = `cannot be read (${code ?? (error as Error).message})`;
      if (this.moveAside(relativePath, undefined, why)) return undefined;
      throw new Error(`cannot read ${path}: ${(error as Error).message}; move or delete it (certkeeper rebuilds it)`, { cause: error });
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      this.moveAside(relativePath, text, describeParseError(error));
      return undefined;
    }
    const kind = kindOfPath(relativePath);
    const problem = kind && shapeProblem(kind, value);
    if (problem) {
      this.moveAside(relativePath, text, problem);
      return undefined;
    }
    return { value: value as T, text };
  }

  /**
   * `durable: false` for a cache AWS can rebuild: still atomic (a reader sees the old file or the new one),
   * but without the two fsyncs, which a cold pass over a fleet would otherwise pay per certificate.
   */
  write(relativePath: string, value: unknown, { durable = true }: { durable?: boolean } = {}): void {
    const target = join(this.dir, relativePath);
    ensurePrivateDir(dirname(target));
    const temp = this.writeTemp(target, `${JSON.stringify(value, null, 2)}\n`, durable);
    this.renameIntoPlace(relativePath, temp, target);
    if (durable) fsyncDir(dirname(target));
  }

  /** Renames the written temp file to its name; a directory where the file belongs (EISDIR/ENOTEMPTY) is moved aside like any damaged file first. */
  private renameIntoPlace(relativePath: string, temp: string, target: string): void {
    try {
      renameSync(temp, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST') || !this.moveAside(relativePath, undefined, `is not a file (${code})`)) {
        rmSync(temp, { force: true });
        throw error;
      }
      renameSync(temp, target);
    }
  }

  /**
   * `write`, durable as well, with the writes and fsyncs done by libuv's thread pool: a pass that writes a
   * record per certificate keeps computing meanwhile, and concurrent syncs share the file system's commits.
   */
  async writeAsync(relativePath: string, value: unknown): Promise<void> {
    const target = join(this.dir, relativePath);
    ensurePrivateDir(dirname(target));
    const temp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    const file = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await file.writeFile(`${JSON.stringify(value, null, 2)}\n`);
      await file.sync();
    } catch (error) {
      await file.close();
      rmSync(temp, { force: true });
      throw error;
    }
    await file.close();
    // A rename costs no wait worth a thread: only the syncs go to the pool.
    this.renameIntoPlace(relativePath, temp, target);
    await fsyncDirAsync(dirname(target));
  }

  /**
   * Creates the file only if none is there, with its whole content at once and durably: written and synced
   * under a temporary name first, then hard-linked to its name (which fails with EEXIST when taken), so no
   * reader and no power loss ever sees it empty or half written. Returns false when the name was taken.
   */
  createExclusive(relativePath: string, value: unknown): boolean {
    const target = join(this.dir, relativePath);
    ensurePrivateDir(dirname(target));
    const temp = this.writeTemp(target, `${JSON.stringify(value, null, 2)}\n`);
    try {
      linkSync(temp, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      unlinkSync(temp);
    }
    fsyncDir(dirname(target));
    return true;
  }

  /**
   * Removes the file if it still holds exactly `text`: moved away first (atomic), compared, then deleted;
   * if another process rewrote it in between, its version is put back. Returns whether it was removed.
   */
  removeIfUnchanged(relativePath: string, text: string): boolean {
    const target = join(this.dir, relativePath);
    const away = `${target}.${randomBytes(4).toString('hex')}.removing`;
    try {
      renameSync(target, away);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    let same: boolean;
    try {
      same = readFileSync(away, 'utf8') === text;
      if (!same) {
        try {
          linkSync(away, target);
        } catch {
          // A newer file already took the name: it is the current one.
        }
      }
    } finally {
      rmSync(away, { force: true });
    }
    fsyncDir(dirname(target));
    return same;
  }

  remove(relativePath: string): void {
    rmSync(join(this.dir, relativePath), { force: true });
  }

  /** A private (0700) directory under stateDir. */
  ensureDir(relativePath: string): void {
    ensurePrivateDir(join(this.dir, relativePath));
  }

  /**
   * Renames a damaged file (or whatever is in its place) to `NAME.corrupt-<UTC time>`, 0600, and reports it.
   * `seen`: the text judged damaged; when the file no longer holds it (rewritten meanwhile), the new
   * version is put back instead. Returns false when nothing could be moved.
   */
  private moveAside(relativePath: string, seen: string | undefined, error: string): boolean {
    const target = join(this.dir, relativePath);
    const movedTo = `${target}.corrupt-${new Date().toISOString().replace(/[-:]/g, '')}`;
    try {
      renameSync(target, movedTo);
    } catch (renameError) {
      // Gone already: another process moved it aside (and reported it).
      return (renameError as NodeJS.ErrnoException).code === 'ENOENT';
    }
    if (seen !== undefined && readOrUndefined(movedTo) !== seen) {
      // Rewritten between the read and the move: what moved is not the damaged version. Put it back
      // (unless an even newer one took the name meanwhile): the damaged one is gone either way.
      try {
        linkSync(movedTo, target);
      } catch {
        // The newer file in place is the current one.
      }
      rmSync(movedTo, { force: true });
      return true;
    }
    try {
      if (lstatSync(movedTo).isFile()) chmodSync(movedTo, 0o600);
    } catch {
      // Best effort: the move is what matters.
    }
    fsyncDir(dirname(target));
    reportDamaged(this.dir, { file: target, movedTo, error });
    return true;
  }

  private writeTemp(target: string, content: string, durable = true): string {
    const temp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeSync(fd, content);
      if (durable) fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      rmSync(temp, { force: true });
      throw error;
    }
    closeSync(fd);
    return temp;
  }
}

/** Where damaged files of a stateDir are reported: the logger of the store opened on it (see open-store.ts). */
const reporters = new Map<string, AuditLogger>();

export function reportDamagedFilesTo(dir: string, log: AuditLogger): void {
  reporters.set(resolve(dir), log);
}

function reportDamaged(dir: string, fields: { file: string; movedTo: string; error: string }): void {
  reporters.get(resolve(dir))?.error('store.file.corrupt', { store: 'file', ...fields });
}

/** The kind of document a stateDir path holds, by its folder (the layout of file-state-store.ts). */
function kindOfPath(relativePath: string): DocumentKind | undefined {
  const folders: Record<string, DocumentKind> = {
    certificates: 'cert',
    ratelimits: 'ratelimits',
    challenges: 'journal',
    accounts: 'account',
    notices: 'notices',
    'acm-facts': 'facts',
    locks: 'lock',
    issued: 'issued',
  };
  return folders[relativePath.split('/')[0]!];
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A rename or link is durable only once its directory is synced. */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory (EINVAL): the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

async function fsyncDirAsync(dir: string): Promise<void> {
  try {
    const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // As fsyncDir: the rename itself is still atomic.
  }
}

function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // An existing directory may have been created looser (e.g. by hand): tighten it.
  if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
}
