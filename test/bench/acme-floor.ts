import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPebble } from '../stack/pebble.js';
import type { BenchCertificate } from './fleet.js';
import { lastLines, runProcess } from './run-process.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface FloorMeasurement {
  certificates: number;
  /** Wall time of the orders, back to back, account registration excluded. */
  wallSeconds: number;
  peakMemoryMB: number;
}

/**
 * The ACME floor: a Pebble of its own with PEBBLE_VA_ALWAYS_VALID=1 (every challenge valid without a
 * DNS query) and no authorization reuse, and acme-client ordering the same certificates one after the
 * other (same names, same key type). What no DNS-01 client on this CA can beat.
 */
export async function measureFloor(dnsPort: number, certificates: BenchCertificate[]): Promise<FloorMeasurement> {
  process.stdout.write(`  ACME floor (${certificates.length}, validation skipped)… `);
  const pebble = await startPebble({ dnsPort, env: { PEBBLE_VA_ALWAYS_VALID: '1', PEBBLE_AUTHZREUSE: '0' } });
  try {
    const result = await runProcess(
      process.execPath,
      [join(here, 'acme-floor-orders.mjs'), pebble.directoryUrl, JSON.stringify(certificates.map((certificate) => certificate.domains))],
      { ...process.env, NODE_EXTRA_CA_CERTS: pebble.caCertPath, NODE_OPTIONS: '' },
    );
    if (result.code !== 0) throw new Error(`the ACME floor's orders failed (exit ${result.code}):\n${lastLines(result.stderr, 10)}`);
    const answer = JSON.parse(result.stdout.trim().split('\n').pop()!) as { seconds: number; certificates: number; maxRssKB: number };
    process.stdout.write(`${answer.seconds.toFixed(2)} s\n`);
    return { certificates: answer.certificates, wallSeconds: answer.seconds, peakMemoryMB: Math.round(answer.maxRssKB / 1024) };
  } finally {
    await pebble.stop();
  }
}
