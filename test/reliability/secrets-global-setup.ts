import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { findKeyMaterial } from './key-material.js';

let dir: string;

/** Hands every test file the folder for its output (output-log.ts); scans it all when the suite ends. */
export function setup(project: TestProject): void {
  dir = mkdtempSync(join(tmpdir(), 'certkeeper-reliability-'));
  project.provide('reliabilityOutputDir', dir);
}

export function teardown(): void {
  const needlesPath = join(dir, 'needles.txt');
  const needles = existsSync(needlesPath)
    ? readFileSync(needlesPath, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as string)
    : [];
  const outputs = existsSync(join(dir, 'output')) ? readdirSync(join(dir, 'output')) : [];
  const leaks = outputs.flatMap((file) => findKeyMaterial(readFileSync(join(dir, 'output', file), 'utf8'), needles).map((what) => `${file}: ${what}`));
  const summary = `secrets scan: ${outputs.length} outputs of the suite scanned for ${needles.length} known private keys and any PEM private key`;
  if (leaks.length > 0) {
    // Kept for inspection.
    throw new Error(`${summary}: key material found in ${leaks.length}:\n${leaks.slice(0, 20).join('\n')}\n(outputs kept in ${dir})`);
  }
  console.log(`${summary}: none found`);
  // A scan of nothing proves nothing (a single file without keys, e.g. the config fuzzing, only has the PEM check).
  if (outputs.length === 0) throw new Error(`${summary}: nothing to scan, the scan proves nothing`);
  rmSync(dir, { recursive: true, force: true });
}
