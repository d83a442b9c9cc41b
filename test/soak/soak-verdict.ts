import { describeError } from '../../src/telemetry/logger.js';
import { covers } from '../stack/sni-serving-listener.js';
import type { SoakCa } from './soak-ca.js';
import type { RunEvent, SoakDaemon } from './soak-daemon.js';
import type { InjectedFault } from './soak-faults.js';
import type { CaTick } from './soak-observer.js';

/**
 * What the soak saw, reduced to the facts its assertions and its summary are about: per certificate,
 * the seconds it was served expired or not served at all (after its first issuance), whether /readyz
 * said so at those moments, how often it was issued and how little validity was ever left; per CA,
 * the renewal cadence against the CA's window. Times are seconds since the soak started.
 */
export interface BadSample {
  at: number;
  what: string;
  /** /readyz answered 200 just before and just after the handshake. */
  readyTrue: boolean;
  healthTrue: boolean;
}

export interface CertificateVerdict {
  name: string;
  samples: number;
  /** When it was first served (soak time; negative: before the soak started); undefined: never. */
  firstServedAt?: number;
  expired: BadSample[];
  missing: BadSample[];
  leastLeftS: number;
  issuances: number;
  orders: number;
}

export interface CaVerdict {
  label: string;
  ari: boolean;
  lifetimeS: number;
  ticks: number;
  readyOk: number;
  healthOk: number;
  certificates: CertificateVerdict[];
  /** ARI: a renewal sooner after the previous issuance than the CA's window allows. */
  tooSoon: string[];
  /** ARI: a renewal order that did not name the certificate it replaces (and was not refused doing so). */
  withoutReplaces: string[];
  notJson: { run: number; line: string }[];
  /** Counts of warning and error events by name, for the summary. */
  trouble: Record<string, number>;
  /** A few distinct messages of renewal.failed / renewal.skipped / pass.failed, for the summary. */
  samplesOfTrouble: string[];
  readyReasons: string[];
}

export function judgeCa(ca: SoakCa, daemon: SoakDaemon, ticks: CaTick[], soakStart: number): CaVerdict {
  const rel = (ms: number) => Math.round((ms - soakStart) / 100) / 10;
  const events = daemon.events;
  const certificates = ca.certificates.map((certificate): CertificateVerdict => {
    const expired: BadSample[] = [];
    const missing: BadSample[] = [];
    let firstServedAt: number | undefined;
    let leastLeftS = Infinity;
    for (const tick of ticks) {
      const sample = tick.served[certificate.name];
      if (!sample) continue;
      const readyTrue = tick.readyBefore.status === 200 && tick.readyAfter.status === 200;
      const healthTrue = tick.health.status === 200;
      const coversName = sample.ok && sample.names.some((name) => covers(name, certificate.probe));
      if (sample.ok && coversName) {
        firstServedAt ??= rel(tick.at);
        leastLeftS = Math.min(leastLeftS, (sample.notAfter - tick.at) / 1000);
        if (tick.at > sample.notAfter)
          expired.push({ at: rel(tick.at), what: `serial ${sample.serial} expired ${((tick.at - sample.notAfter) / 1000).toFixed(1)} s ago`, readyTrue, healthTrue });
      } else if (firstServedAt !== undefined) {
        missing.push({ at: rel(tick.at), what: sample.ok ? `served ${sample.names.join(',') || 'a certificate without names'}` : sample.error, readyTrue, healthTrue });
      }
    }
    return {
      name: certificate.name,
      samples: ticks.length,
      firstServedAt,
      expired,
      missing,
      leastLeftS,
      issuances: events.filter((event) => event.event === 'renewal.succeeded' && event.certificate === certificate.name).length,
      orders: events.filter((event) => event.event === 'acme.order.created' && event.certificate === certificate.name).length,
    };
  });

  const tooSoon: string[] = [];
  const withoutReplaces: string[] = [];
  if (ca.ari) {
    for (const certificate of ca.certificates) {
      // The CA's window opens at 5/9 of the lifetime (ari-proxy.ts); half of it is the least gap a renewal may follow the previous issuance by.
      const issued = events.filter((event) => event.event === 'renewal.succeeded' && event.certificate === certificate.name).map((event) => Date.parse(event.notAfter as string));
      for (let i = 1; i < issued.length; i++) {
        const gapS = (issued[i]! - issued[i - 1]!) / 1000;
        if (gapS < ca.lifetimeS / 2) tooSoon.push(`${certificate.name}: issuance ${i} only ${gapS.toFixed(1)} s after the previous one`);
      }
      const orders = events.filter((event) => event.event === 'acme.order.created' && event.certificate === certificate.name);
      for (const order of orders.slice(1)) {
        const refused = events.some((event) => event.event === 'acme.order.replaces_refused' && event.runId === order.runId && event.certificate === certificate.name);
        if (typeof order.replaces !== 'string' && !refused)
          withoutReplaces.push(`${certificate.name}: order at ${rel(Date.parse(order.time))} s (run #${order.run}) names no certificate it replaces`);
      }
    }
  }

  const trouble: Record<string, number> = {};
  for (const event of events) if (event.level === 'warn' || event.level === 'error') trouble[event.event] = (trouble[event.event] ?? 0) + 1;
  const samplesOfTrouble = distinct(
    events
      .filter((event) => ['renewal.failed', 'renewal.skipped', 'pass.failed', 'acme.rate_limited', 'pass.skipped'].includes(event.event))
      .map((event: RunEvent) => `${event.event} ${event.certificate ?? ''} (run #${event.run}): ${describeError(event.error ?? event.why ?? event.reason ?? '').slice(0, 220)}`),
    6,
  );
  const readyReasons = distinct(
    ticks.flatMap((tick) => (tick.readyAfter.status !== 200 ? [`${tick.readyAfter.status || 'no answer'} ${tick.readyAfter.body?.trim() ?? ''}`.slice(0, 220)] : [])),
    4,
  );
  return {
    label: ca.label,
    ari: ca.ari,
    lifetimeS: ca.lifetimeS,
    ticks: ticks.length,
    readyOk: ticks.filter((tick) => tick.readyAfter.status === 200).length,
    healthOk: ticks.filter((tick) => tick.health.status === 200).length,
    certificates,
    tooSoon,
    withoutReplaces,
    notJson: daemon.notJson,
    trouble,
    samplesOfTrouble,
    readyReasons,
  };
}

/** Consecutive bad seconds as spans: "12.0–47.3 s (36)". */
export function spans(samples: BadSample[]): string {
  const out: string[] = [];
  let first: BadSample | undefined;
  let last: BadSample | undefined;
  let count = 0;
  const flush = () => first && out.push(`${first.at}–${last!.at} s (${count})`);
  for (const sample of samples) {
    if (last && sample.at - last.at <= 2.5) {
      last = sample;
      count++;
      continue;
    }
    flush();
    first = last = sample;
    count = 1;
  }
  flush();
  return out.join(', ');
}

export function summarize(verdicts: CaVerdict[], faults: InjectedFault[], daemons: SoakDaemon[], soakStart: number, soakSeconds: number): string {
  const rel = (ms: number) => ((ms - soakStart) / 1000).toFixed(1);
  const lines = [`soak: ${soakSeconds} s sampled once a second; t = seconds since the soak started`];
  for (const verdict of verdicts) {
    lines.push(
      `CA ${verdict.label} (${verdict.ari ? 'ARI' : 'no ARI'}, ${verdict.lifetimeS}-second certificates): ${verdict.ticks} seconds sampled, /readyz 200 in ${verdict.readyOk}, /healthz 200 in ${verdict.healthOk}`,
    );
    for (const certificate of verdict.certificates) {
      const bad = [...certificate.expired, ...certificate.missing];
      lines.push(
        `  ${certificate.name}: ${certificate.firstServedAt === undefined ? 'NEVER SERVED; ' : ''}${certificate.issuances} issuances (${certificate.orders} orders), least validity left on what was served ${Number.isFinite(certificate.leastLeftS) ? certificate.leastLeftS.toFixed(1) : '-'} s` +
          (certificate.expired.length ? `; served EXPIRED ${certificate.expired.length} s: ${spans(certificate.expired)}` : '') +
          (certificate.missing.length ? `; served nothing/wrong ${certificate.missing.length} s: ${spans(certificate.missing)} (${certificate.missing[0]!.what})` : '') +
          (bad.length ? `; /readyz 200 in ${bad.filter((sample) => sample.readyTrue).length} of those, /healthz 200 in ${bad.filter((sample) => sample.healthTrue).length}` : ''),
      );
    }
    if (verdict.tooSoon.length) lines.push(`  renewed sooner than the CA's window: ${verdict.tooSoon.join('; ')}`);
    if (verdict.withoutReplaces.length) lines.push(`  ARI orders without replaces: ${verdict.withoutReplaces.join('; ')}`);
    if (verdict.notJson.length) lines.push(`  stderr lines that are not JSON: ${verdict.notJson.length}, first: ${verdict.notJson[0]!.line.slice(0, 200)}`);
    lines.push(
      `  warnings/errors: ${
        Object.entries(verdict.trouble)
          .map(([name, count]) => `${name} ${count}`)
          .join(', ') || 'none'
      }`,
    );
    for (const message of verdict.samplesOfTrouble) lines.push(`    ${message}`);
    for (const reason of verdict.readyReasons) lines.push(`  /readyz: ${reason}`);
  }
  lines.push('faults:');
  for (const fault of [...faults].sort((a, b) => a.at - b.at)) {
    lines.push(`  t=${rel(fault.at)}${fault.endedAt ? `–${rel(fault.endedAt)}` : ''} ${fault.ca}: ${fault.kind}: ${fault.detail}`);
  }
  lines.push('daemon runs:');
  for (const daemon of daemons) {
    for (const run of daemon.runs) {
      lines.push(
        `  ${daemon.label} #${run.index} pid ${run.pidInside}${run.pidInside === 1 ? ' (PID 1 of a new PID namespace)' : ''}: t=${rel(run.startedAt)}–${run.endedAt ? rel(run.endedAt) : '?'} ${run.ended ?? ''}`,
      );
    }
  }
  return lines.join('\n');
}

function distinct(values: string[], max: number): string[] {
  return [...new Set(values)].slice(0, max);
}
