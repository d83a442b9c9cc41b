import { accessSync, constants, lstatSync, realpathSync, type Stats } from 'node:fs';
import { join, parse, sep } from 'node:path';

/**
 * A config is code that certkeeper runs as its user (often root), so anyone who can change the file, or
 * swap it through a directory on its path, can run code as that user. As ssh's StrictModes does, the
 * file and every directory above it must be owned by this user or root and writable by no one else.
 * One exception, which ssh does not make: a sticky directory writable by all (/tmp) may hold a directory
 * of ours or root's (a mkdtemp folder), since the sticky bit stops others from renaming or deleting it.
 * The config file itself directly in such a directory is refused, as ssh does: another user could have
 * planted that name first (a hard link to a root-owned file of their choosing, say).
 */
export function unsafeConfigPathProblem(configPath: string): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined; // No POSIX owners (Windows): nothing to check.
  // The path as written (its symlinks' owners and the directories holding them), then where it leads.
  const real = realpathSync(configPath);
  return chainProblem(configPath, uid) ?? (real === configPath ? undefined : chainProblem(real, uid));
}

const WRITABLE_BY_OTHERS = 0o022;
const STICKY = 0o1000;

function chainProblem(file: string, uid: number): string | undefined {
  const entries = ancestry(file);
  for (const [index, entry] of entries.entries()) {
    const stats = lstatSync(entry);
    const isFile = index === entries.length - 1;
    if (stats.uid !== uid && stats.uid !== 0 && !(isFile && onReadOnlyMount(entry))) {
      return `${describe(entry, file)} is owned by uid ${stats.uid}, not by this user (uid ${uid}) or root; fix: chown ${uid} ${entry}, or move the config somewhere only you can write`;
    }
    if (stats.isSymbolicLink()) continue; // A symlink's own mode means nothing; its target is checked on the real path.
    if ((stats.mode & WRITABLE_BY_OTHERS) === 0) continue;
    // The next entry's owner is checked on the next round: in a sticky directory, only it can replace that entry.
    const holdsTheFile = index === entries.length - 2;
    if (!isFile && !holdsTheFile && stats.isDirectory() && (stats.mode & STICKY) !== 0) continue;
    if ((stats.mode & STICKY) !== 0) {
      return `the directory ${entry} is writable by others (mode ${octal(stats)}, shared like /tmp), so another user could have planted this file name; fix: move the config to a directory only you can write`;
    }
    return `${describe(entry, file)} is writable by others (mode ${octal(stats)}), so they could run code as this user; fix: chmod go-w ${entry}${isFile ? '' : ', or move the config to a directory only you can write'}`;
  }
  return undefined;
}

/**
 * A file no one can write here: a read-only mount, such as a container's `-v config:/etc/…:ro`, where the
 * file keeps the uid of the host user who wrote it. Its mode bits are still checked.
 */
function onReadOnlyMount(file: string): boolean {
  try {
    accessSync(file, constants.W_OK);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EROFS';
  }
}

/** `/`, `/etc`, `/etc/certkeeper`, `/etc/certkeeper/renewal.config.ts` for an absolute path. */
function ancestry(file: string): string[] {
  const { root } = parse(file);
  const parts = file.slice(root.length).split(sep).filter(Boolean);
  const entries = [root];
  for (const part of parts) entries.push(join(entries[entries.length - 1]!, part));
  return entries;
}

function describe(entry: string, file: string): string {
  return entry === file ? `the file ${entry}` : `the directory ${entry}`;
}

function octal(stats: Stats): string {
  return `0${(stats.mode & 0o7777).toString(8)}`;
}
