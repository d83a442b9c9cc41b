import { describe, expect, it } from 'vitest';
import type { ServedSample } from '../stack/served-sampler.js';
import type { SoakCa } from './soak-ca.js';
import type { RunEvent, SoakDaemon } from './soak-daemon.js';
import type { CaTick, HttpProbe } from './soak-observer.js';
import { judgeCa, spans } from './soak-verdict.js';

/** The soak's judge on made-up seconds: what it counts as expired, missing, and readiness that lied. */

const START = Date.parse('2030-01-01T00:00:00Z');
const ca = { label: 'x', ari: true, lifetimeS: 60, certificates: [{ name: 'web', domains: ['web.x.example'], probe: 'web.x.example', port: 1 }] } as unknown as SoakCa;
const served = (notAfterS: number, names = ['web.x.example']): ServedSample => ({ ok: true, serial: 'AB', notBefore: START, notAfter: START + notAfterS * 1000, names });
const ready = (status: number): HttpProbe => ({ status });
const tick = (atS: number, sample: ServedSample, before = 200, after = before): CaTick => ({
  at: START + atS * 1000,
  readyBefore: ready(before),
  readyAfter: ready(after),
  health: ready(200),
  served: { web: sample },
});
const daemon = (events: Partial<RunEvent>[] = []) => ({ events: events as RunEvent[], notJson: [] }) as unknown as SoakDaemon;

describe('judgeCa', () => {
  it('counts a second served past notAfter as expired, and readiness as lying only when both answers around it were 200', () => {
    const verdict = judgeCa(ca, daemon(), [tick(10, served(30)), tick(31, served(30)), tick(32, served(30), 200, 503), tick(33, served(30), 503, 200)], START);
    const [web] = verdict.certificates;
    expect(web!.expired.map((sample) => [sample.at, sample.readyTrue])).toEqual([
      [31, true],
      [32, false],
      [33, false],
    ]);
    expect(web!.leastLeftS).toBe(-3);
    expect(spans(web!.expired)).toBe('31–33 s (3)');
  });

  it('counts nothing served, or another certificate, as missing only after the first issuance', () => {
    const failed: ServedSample = { ok: false, error: 'ECONNREFUSED' };
    const verdict = judgeCa(
      ca,
      daemon(),
      [tick(1, failed), tick(2, served(60, ['not-yet-deployed.invalid'])), tick(3, served(60)), tick(4, failed), tick(5, served(60, ['other.x.example']))],
      START,
    );
    const [web] = verdict.certificates;
    expect(web!.firstServedAt).toBe(3);
    expect(web!.missing.map((sample) => [sample.at, sample.what])).toEqual([
      [4, 'ECONNREFUSED'],
      [5, 'served other.x.example'],
    ]);
  });

  it('flags ARI renewals sooner than half a lifetime apart, and orders without replaces unless the CA refused them', () => {
    const events: Partial<RunEvent>[] = [
      { event: 'renewal.succeeded', certificate: 'web', notAfter: '2030-01-01T00:01:00Z' },
      { event: 'renewal.succeeded', certificate: 'web', notAfter: '2030-01-01T00:01:20Z' },
      { event: 'acme.order.created', certificate: 'web', runId: 'a', replaces: null, time: '2030-01-01T00:00:00Z' },
      { event: 'acme.order.created', certificate: 'web', runId: 'b', replaces: 'id', time: '2030-01-01T00:00:30Z' },
      { event: 'acme.order.replaces_refused', certificate: 'web', runId: 'c' },
      { event: 'acme.order.created', certificate: 'web', runId: 'c', replaces: null, time: '2030-01-01T00:00:40Z' },
      { event: 'acme.order.created', certificate: 'web', runId: 'd', replaces: null, time: '2030-01-01T00:00:50Z', run: 1 },
    ];
    const verdict = judgeCa(ca, daemon(events), [], START);
    expect(verdict.tooSoon).toEqual(['web: issuance 1 only 20.0 s after the previous one']);
    expect(verdict.withoutReplaces).toEqual(['web: order at 50 s (run #1) names no certificate it replaces']);
  });
});
