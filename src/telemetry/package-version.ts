import { readFileSync } from 'node:fs';

let version: string | undefined;

/**
 * certkeeper's version, from its package.json (two folders up from this file, in src/ and in dist/
 * alike): read once, when first asked, so that `--version`, the build_info metric and `daemon.started`
 * say the same.
 */
export function packageVersion(): string {
  if (version === undefined) {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    version = typeof manifest.version === 'string' ? manifest.version : 'unknown';
  }
  return version;
}
