import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures, type AwsFixtures } from '../stack/aws-fixtures.js';
import { startStack, type Stack } from '../stack/stack.js';
import { writeConfigFile } from '../e2e/config-file.js';
import { eventsNamed, runCli, watchCli } from './output-log.js';

/**
 * The daemon never forgets a certificate (issue 12, item 2): four 60-second certificates issued
 * 8 seconds apart, under `certkeeper run` with a schedule that fires once a year, so every pass but the
 * first is a planned wake-up. What ACM holds for each is sampled every second for two and a half
 * lifetimes: not one sample may be expired. (Before the wake-up plan, the daemon woke only for the
 * certificate due first and then forgot the other three until the next cron tick.)
 */

const LIFETIME_S = 60;
const STAGGER_S = 8;
const WATCH_S = 150;
const NAMES = ['one', 'two', 'three', 'four'];
let stack: Stack;
let aws: AwsFixtures;
let workDir: string;

beforeAll(async () => {
  stack = await startStack({ pebble: { validitySeconds: LIFETIME_S } });
  aws = awsFixtures(stack.motoEndpoint);
  await aws.createHostedZone('stagger.example');
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-stagger-'));
});

afterAll(async () => {
  await stack?.stop();
});

interface Sample {
  name: string;
  at: number;
  notAfter: number;
}

describe('staggered short-lived certificates and a sparse cron', () => {
  it(`keeps all ${NAMES.length} valid over ${WATCH_S / LIFETIME_S} lifetimes: the next look of every certificate is kept`, async () => {
    const path = writeConfigFile(join(workDir, 'stagger.config.mjs'), stack.directoryUrl, {
      stateDir: join(workDir, 'state'),
      // New Year's midnight only.
      schedule: { cron: '0 0 1 1 *', jitterSeconds: 0 },
      certificates: NAMES.map((name) => ({ name, domains: [`${name}.stagger.example`], acm: [{ region: 'us-east-1' }] })),
    });

    // Issued one after the other, STAGGER_S apart: their renewals come due at different moments.
    const arns = new Map<string, string>();
    for (const name of NAMES) {
      const started = Date.now();
      const run = await runCli(['renew', name, '--config', path], stack.env);
      expect(run.code, run.stderr.slice(-2000)).toBe(0);
      arns.set(name, eventsNamed(run.events, 'acm.imported', name)[0]!.certificateArn as string);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + STAGGER_S * 1000 - Date.now())));
    }

    const daemon = watchCli(['run', '--config', path], stack.env);
    const samples: Sample[] = [];
    const until = Date.now() + WATCH_S * 1000;
    while (Date.now() < until) {
      // Re-imports keep the ARN: what ACM holds under it is what a load balancer would serve.
      await Promise.all(
        NAMES.map(async (name) => {
          const described = await aws.describeAcm(arns.get(name)!);
          samples.push({ name, at: Date.now(), notAfter: described.NotAfter!.getTime() });
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    daemon.child.kill('SIGTERM');
    const { code, events, stderr } = await daemon.done;
    expect(code, stderr.slice(-2000)).toBe(0);

    const expired = samples.filter((sample) => sample.notAfter <= sample.at);
    const summary = NAMES.map((name) => `${name}: ${eventsNamed(events, 'renewal.succeeded', name).length} renewals`).join(', ');
    const lapses = NAMES.flatMap((name) => {
      const mine = expired.filter((sample) => sample.name === name);
      return mine.length ? [`${name}: ${mine.length} samples expired, up to ${Math.round(Math.max(...mine.map((s) => s.at - s.notAfter)) / 1000)} s after notAfter`] : [];
    });
    expect(lapses, summary).toEqual([]);
    expect(samples.length).toBeGreaterThan((WATCH_S * NAMES.length) / 2);
    for (const name of NAMES) {
      // Renewed at about half its lifetime, every time: at least once per half lifetime watched, minus one.
      expect(eventsNamed(events, 'renewal.succeeded', name).length, summary).toBeGreaterThanOrEqual(Math.floor(WATCH_S / (LIFETIME_S / 2)) - 1);
    }
    expect(eventsNamed(events, 'renewal.failed')).toEqual([]);
    // One pass at start; every other pass was a planned wake-up (the cron never fired).
    expect(eventsNamed(events, 'pass.started').length).toBeGreaterThan(NAMES.length);
  });
});
