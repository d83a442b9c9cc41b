import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessExit } from './exit-hooks.js';

/** Set CERTKEEPER_STACK_KEEP_LOGS=1 to keep every server's temp dir (config, certificates, log) after stop(). */
export const keepStackLogs = (): boolean => process.env.CERTKEEPER_STACK_KEEP_LOGS === '1';

const live = new Set<string>();

/** A fresh private temp dir for one server's config, certificates and log; removed at exit if still there. */
export async function makeStackDir(server: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `certkeeper-${server}-`));
  live.add(dir);
  onProcessExit(removeLiveDirs); // a Set: registering again is a no-op
  return dir;
}

/** Removes it after a clean stop, unless logs are to be kept. */
export async function removeStackDir(dir: string): Promise<void> {
  live.delete(dir);
  if (!keepStackLogs()) await rm(dir, { recursive: true, force: true });
}

/** Leaves it for a human: its log explains a failed start. */
export function keepStackDir(dir: string): void {
  live.delete(dir);
}

function removeLiveDirs(): void {
  if (keepStackLogs()) return;
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
  live.clear();
}
