import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { waitFor } from '../stack/ports.js';
import { startSoakCa, type SoakCa } from './soak-ca.js';
import { SoakDaemon } from './soak-daemon.js';
import { caOutage, caRestart, killAndRestart, route53PriorRequestNotComplete, route53Throttling, runFaultTrack, type InjectedFault } from './soak-faults.js';
import { SoakObserver } from './soak-observer.js';
import { judgeCa, spans, summarize } from './soak-verdict.js';

/**
 * The soak that tests "never lapses" (issue 12): two CAs side by side, one advertising ARI (through the
 * test double) and one without, each issuing 60-second certificates for five certificates on load
 * balancers whose endpoints serve what ELBv2 names. `certkeeper run` keeps them with a sparse cron (once
 * a year), so only the daemon's own wake-ups renew anything, through CA outages (the ARI CA refusing
 * connections; the other one stopped and restarted with no memory of accounts), Route 53
 * PriorRequestNotComplete and Throttling, and SIGKILLs at chosen steps (the ARI CA's daemon runs as PID 1
 * of a new PID namespace each time, as in a container without an init). Each second, every endpoint is
 * asked what it serves and each daemon's /readyz and /healthz are read.
 * Proves: no endpoint ever serves an expired certificate, or nothing, after its first issuance; /readyz
 * is false whenever one does; challenge records are cleaned; the audit log stays JSON; ARI renewals keep
 * to the CA's window. `CERTKEEPER_SOAK_SECONDS` sets the length (default: 11 lifetimes).
 */

const LIFETIME_S = 60;
const SOAK_S = Number(process.env.CERTKEEPER_SOAK_SECONDS ?? 11 * LIFETIME_S);

let workDir: string;
let cas: SoakCa[] = [];
const daemons: SoakDaemon[] = [];
/** Keep the evidence (samples, faults, every run's stderr) unless the soak passed. */
let keepEvidence = true;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-soak-'));
  cas = await Promise.all([startSoakCa({ label: 'ari', ari: true, lifetimeS: LIFETIME_S, workDir }), startSoakCa({ label: 'plain', ari: false, lifetimeS: LIFETIME_S, workDir })]);
}, 120_000);

afterAll(async () => {
  await Promise.all(daemons.map((daemon) => daemon.stop(5_000).catch(() => undefined)));
  await Promise.all(cas.map((ca) => ca.stop()));
  if (keepEvidence) console.log(`soak: evidence kept in ${workDir} (soak-evidence.json, each run's stderr)`);
  else rmSync(workDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`soak: ${SOAK_S} s of ${LIFETIME_S}-second certificates from two CAs, with faults`, () => {
  it(
    'never serves an expired certificate, and /readyz says so whenever one is',
    async () => {
      keepEvidence = false;
      onTestFailed(() => {
        keepEvidence = true;
      });
      const [ari] = cas as [SoakCa, SoakCa];
      for (const ca of cas) {
        daemons.push(new SoakDaemon(ca.label, { configPath: ca.configPath, metricsPort: ca.metricsPort, env: ca.env, dir: workDir, pidNamespace: ca === ari }));
      }
      const watched = cas.map((ca, index) => ({ ca, daemon: daemons[index]! }));
      const observer = new SoakObserver(watched);
      await Promise.all(daemons.map((daemon) => daemon.start()));
      observer.start();
      // The soak starts once every certificate is served (or after 2 minutes: one never served is a finding, below).
      await waitFor(() => observer.allServed(), { label: 'every certificate issued and served once', timeoutMs: 120_000, intervalMs: 500 }).catch(() => undefined);

      const soak = { start: Date.now(), seconds: SOAK_S };
      const faults: InjectedFault[] = [];
      // An orchestrator restarts a daemon that exits on its own; the soak does too, and logs it.
      let sampling = true;
      const restarts = (async () => {
        while (sampling) {
          for (const daemon of daemons) {
            const exited = await daemon.restartIfExited();
            if (exited) faults.push({ ca: daemon.label, kind: 'daemon exited on its own', at: exited.endedAt!, detail: `run #${exited.index}: ${exited.ended}` });
          }
          await sleep(500);
        }
      })();
      // Two tracks, one per CA: faults of one CA never overlap, those of the two do.
      const tracks = Promise.all([
        runFaultTrack(
          { ...watched[0]!, observer },
          [
            { at: 0.1, name: 'kill mid-renewal, TXT records up', step: killAndRestart('dns.challenge.presented') },
            { at: 0.26, name: 'PriorRequestNotComplete', step: route53PriorRequestNotComplete(4) },
            { at: 0.42, name: 'CA outage', step: caOutage(20) },
            { at: 0.58, name: 'kill between finalize and deploy', step: killAndRestart('acme.order.finalized') },
            { at: 0.72, name: 'Throttling', step: route53Throttling(15) },
            { at: 0.86, name: 'kill while idle', step: killAndRestart('idle') },
          ],
          soak,
          faults,
        ),
        runFaultTrack(
          { ...watched[1]!, observer },
          [
            { at: 0.06, name: 'kill right after an order', step: killAndRestart('acme.order.created') },
            { at: 0.2, name: 'CA down and restarted', step: caRestart(22) },
            { at: 0.38, name: 'Throttling', step: route53Throttling(15) },
            { at: 0.52, name: 'kill while idle', step: killAndRestart('idle') },
            { at: 0.66, name: 'PriorRequestNotComplete', step: route53PriorRequestNotComplete(4) },
            { at: 0.8, name: 'kill mid-renewal, TXT records up', step: killAndRestart('dns.challenge.presented') },
          ],
          soak,
          faults,
        ),
      ]);
      await sleep(soak.start + SOAK_S * 1000 - Date.now());
      await tracks;
      sampling = false;
      await restarts;
      await observer.stop();
      const stopped = await Promise.all(daemons.map(async (daemon) => `${daemon.label}: ${await daemon.stop(30_000)}`));
      const leftRecords = await Promise.all(
        cas.map(async (ca) => (await ca.aws.listAcmeChallengeRecords()).map((set) => `${ca.label}: ${set.name} (${set.values.length} values)`)),
      );

      const verdicts = watched.map(({ ca, daemon }) => judgeCa(ca, daemon, observer.ticks.get(ca.label)!, soak.start));
      const summary = summarize(verdicts, faults, daemons, soak.start, SOAK_S);
      console.log(summary);
      writeFileSync(join(workDir, 'soak-evidence.json'), JSON.stringify({ summary, verdicts, faults, ticks: Object.fromEntries(observer.ticks) }, null, 1));

      const certificates = verdicts.flatMap((verdict) => verdict.certificates);
      expect
        .soft(
          certificates.filter((c) => c.firstServedAt === undefined).map((c) => c.name),
          'certificates never served',
        )
        .toEqual([]);
      // The promise: zero seconds of an expired certificate served, and never nothing once issued.
      expect
        .soft(
          certificates.filter((c) => c.expired.length > 0).map((c) => `${c.name}: expired ${spans(c.expired)}`),
          'served an expired certificate',
        )
        .toEqual([]);
      expect
        .soft(
          certificates.filter((c) => c.missing.length > 0).map((c) => `${c.name}: ${spans(c.missing)}: ${c.missing[0]!.what}`),
          'served nothing or the wrong certificate',
        )
        .toEqual([]);
      // Readiness tells the truth at those moments, and is a real signal the rest of the time.
      expect
        .soft(
          certificates.flatMap((c) => [...c.expired, ...c.missing].filter((sample) => sample.readyTrue).map((sample) => `${c.name} at ${sample.at} s: ${sample.what}`)),
          '/readyz answered 200 while a served certificate was expired or missing',
        )
        .toEqual([]);
      for (const verdict of verdicts) expect.soft(verdict.readyOk / verdict.ticks, `${verdict.label}: share of seconds /readyz answered 200`).toBeGreaterThan(0.5);
      // Each certificate kept being renewed, every lifetime: the daemon forgot none.
      for (const c of certificates) expect.soft(c.issuances, `${c.name}: issuances`).toBeGreaterThanOrEqual(Math.floor(SOAK_S / LIFETIME_S));
      for (const verdict of verdicts.filter((v) => v.ari)) {
        expect.soft(verdict.tooSoon, `${verdict.label}: renewals sooner than the CA's window allows`).toEqual([]);
        expect.soft(verdict.withoutReplaces, `${verdict.label}: ARI renewals that name no replaced certificate`).toEqual([]);
      }
      expect.soft(leftRecords.flat(), '_acme-challenge records left at the end').toEqual([]);
      expect
        .soft(
          verdicts.flatMap((v) => v.notJson.map((entry) => `${v.label} run #${entry.run}: ${entry.line.slice(0, 200)}`)),
          'stderr lines that are not JSON',
        )
        .toEqual([]);
      expect.soft(stopped, 'each daemon stops on SIGTERM within 30 s').toEqual(daemons.map((daemon) => `${daemon.label}: exit code 0 after SIGTERM`));
      expect
        .soft(faults.filter((fault) => fault.kind === 'harness error' || fault.kind === 'daemon exited on its own').map((fault) => `${fault.ca}: ${fault.kind}: ${fault.detail}`))
        .toEqual([]);
      // The full soak injects every fault it plans; a shortened one (CERTKEEPER_SOAK_SECONDS) may not reach them all.
      if (SOAK_S >= 10 * LIFETIME_S) expect.soft(faults.filter((fault) => fault.kind === 'not injected').map((fault) => `${fault.ca}: ${fault.detail}`)).toEqual([]);
    },
    (SOAK_S + 420) * 1000,
  );
});
