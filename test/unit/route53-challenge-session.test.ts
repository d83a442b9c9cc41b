import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CertificateSpec } from '../../src/config/schema.js';
import type { ChallengeJournal } from '../../src/dns/challenge-journal.js';
import type { ChallengeTarget, HostedZoneFinder } from '../../src/dns/hosted-zones.js';
import { Route53ChallengeSession } from '../../src/dns/route53-challenge-solver.js';
import type { Route53Solver, TxtRecord } from '../../src/dns/route53-solver.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { WorkSlots } from '../../src/util/work-slots.js';

/**
 * The Route 53 session's side of the port, with the Route 53 changes, zones and journal faked: each renewal
 * holds the batchers open until it presents or says it will not (or ends), gives its work slot up while it
 * waits on Route 53, notes its values in the journal and removes exactly them.
 */

const log = createLogger({ stream: new PassThrough(), level: 'debug' });
const spec = (name: string, domains: string[]) => ({ name, domains, route53: {} }) as unknown as CertificateSpec;

function fakes(options: { presentFails?: boolean } = {}) {
  const events: string[] = [];
  let onTheWay = 0;
  const changes = {
    expectPresent: () => {
      onTheWay++;
      let done = false;
      return () => {
        if (!done) onTheWay--;
        done = true;
      };
    },
    untilZonesAccept: async () => void events.push('zones accept'),
    present: async (records: TxtRecord[], _log: unknown, { arrived }: { arrived?: () => void } = {}) => {
      events.push(`present ${records.map((record) => `${record.zoneId}:${record.name}=${record.value}`).join(' ')}`);
      arrived?.();
      if (options.presentFails) throw new Error('INSYNC timeout');
    },
    cleanup: async (records: TxtRecord[]) => void events.push(`cleanup ${records.map((record) => record.value).join(' ')}`),
  } as unknown as Route53Solver;
  const journal = {
    runStarted: () => () => events.push('run ended'),
    note: async (_runId: string, certificate: string) => {
      events.push(`journal ${certificate}`);
      return async () => void events.push(`journal forgets ${certificate}`);
    },
  } as unknown as ChallengeJournal;
  const zones = {
    challengeTarget: async (base: string): Promise<ChallengeTarget> => ({
      name: `_acme-challenge.${base}`,
      zone: { id: 'Z1', name: 'example.org' },
      chain: [`_acme-challenge.${base}`],
    }),
  } as unknown as HostedZoneFinder;
  const slots = new WorkSlots(1);
  const session = new Route53ChallengeSession(changes, journal, zones, { runId: 'run-1', log, slots });
  return { session, events, onTheWay: () => onTheWay };
}

describe('Route53ChallengeSession', () => {
  it('holds the batchers open for every renewal of a wave until each presents, says it will not, or ends', async () => {
    const { session, onTheWay } = fakes();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const seen: number[] = [];
    const wave = [
      session.takePart(async (part) => {
        seen.push(onTheWay());
        part.presentsNothing();
        seen.push(onTheWay());
        await held;
      }),
      session.takePart(async () => {
        throw new Error('failed before presenting');
      }),
    ];
    // Both expected at once, although one slot lets only one work.
    expect(onTheWay()).toBe(2);
    await Promise.resolve();
    release();
    await Promise.allSettled(wave);
    expect(seen).toEqual([2, 1]);
    expect(onTheWay()).toBe(0);
  });

  it('lets another renewal work while one waits on Route 53, journals the values, and removes exactly them', async () => {
    const { session, events } = fakes();
    const request = { spec: spec('a', ['a.example.org']), log };
    await session.takePart(async (part) => {
      await part.prepare(request);
      const presented = await part.present([{ identifier: 'a.example.org', value: 'v1' }], request);
      presented.startRemoval();
      await presented.removed();
      await presented.removed();
    });
    expect(events).toEqual(['zones accept', 'journal a', 'present Z1:_acme-challenge.a.example.org=v1', 'cleanup v1', 'journal forgets a']);
  });

  it('removes what it presented when presenting fails, and the caller sees the failure', async () => {
    const { session, events } = fakes({ presentFails: true });
    const request = { spec: spec('b', ['*.b.example.org']), log };
    await expect(session.takePart((part) => part.present([{ identifier: 'b.example.org', value: 'v2' }], request))).rejects.toThrow('INSYNC timeout');
    expect(events).toEqual(['journal b', 'present Z1:_acme-challenge.b.example.org=v2', 'cleanup v2', 'journal forgets b']);
  });

  it('gives the work slot up while presenting: a second renewal orders meanwhile', async () => {
    const { session, events } = fakes();
    let presenting!: () => void;
    const reached = new Promise<void>((resolve) => (presenting = resolve));
    const first = session.takePart(async (part) => {
      const request = { spec: spec('c', ['c.example.org']), log };
      const presented = await part.present([{ identifier: 'c.example.org', value: 'v3' }], request);
      await reached;
      await presented.removed();
    });
    const second = session.takePart(async () => {
      events.push('second works');
      presenting();
    });
    await Promise.all([first, second]);
    expect(events.indexOf('second works')).toBeLessThan(events.indexOf('cleanup v3'));
  });

  it('checks names with a fix naming where the certificate is in the config, and ends its run on close', async () => {
    const { session, events } = fakes();
    const [check] = await session.check(spec('d', ['d.example.org']), log, { configPath: 'certificates[3]' });
    expect(check).toMatchObject({ name: '_acme-challenge.d.example.org', ok: true, destination: { recordName: '_acme-challenge.d.example.org', zoneId: 'Z1' } });
    session.close();
    expect(events).toEqual(['run ended']);
  });
});
