import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Set CERTKEEPER_STACK_KEEP_LOGS=1 to keep every server's temp dir (config, certificates, log) after stop(). */
export const keepStackLogs = (): boolean => process.env.CERTKEEPER_STACK_KEEP_LOGS === '1';

/** A fresh private temp dir for one server's config, certificates and log. */
export function makeStackDir(server: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `certkeeper-${server}-`));
}

/** Removes it after a clean stop, unless logs are to be kept. */
export async function removeStackDir(dir: string): Promise<void> {
  if (!keepStackLogs()) await rm(dir, { recursive: true, force: true });
}
