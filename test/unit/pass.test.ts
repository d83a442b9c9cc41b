import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentPorts, Clock } from '../../src/agent/ports.js';
import { runPass } from '../../src/agent/pass.js';
import { validateConfig } from '../../src/config/load.js';
import type { CertificateSpec } from '../../src/config/schema.js';
import { readCertificate } from '../../src/pki/certificate.js';
import type { IssuedCertificate } from '../../src/pki/issued-certificate.js';
import type { ChallengeParticipant, ChallengeSession, ChallengeSolver } from '../../src/ports/challenge-solver.js';
import type { Deployer, DeployerPass, Observation } from '../../src/ports/deployer.js';
import type { Issuer, IssueRequest } from '../../src/ports/issuer.js';
import { CertificateRecords } from '../../src/store/certificate-records.js';
import { FileStateStore } from '../../src/store/file-state-store.js';
import { IssuedCertificates } from '../../src/store/issued-certificates.js';
import { RateLimitRecords } from '../../src/store/rate-limit-records.js';
import type { Lease, StateStore } from '../../src/store/state-store.js';
import { recordingLogger } from '../store/recording-logger.js';
import { selfSignedCertificate } from '../stack/tls.js';

/**
 * A whole pass of the agent with its ports faked (no CA, no DNS, no AWS): the clock is fixed, the CA
 * signs at once, "ACM" is a map. The state store is the real file store in a temporary directory.
 * The same pass runs end to end on the local stack in test/e2e; here, the agent's own decisions.
 */
// Whole seconds (certificate times are), near the real time: leases in the real store are stamped by it.
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const DAY_MS = 86_400_000;
const DIRECTORY_URL = 'https://ca.test/directory';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** What "ACM" holds for each certificate: its facts, by name. */
type Deployed = Map<string, { arn: string; facts: ReturnType<typeof readCertificate> }>;

function fakeDeployer(deployed: Deployed, options: { failDeploy?: string } = {}): Deployer & { deploys: string[] } {
  const deploys: string[] = [];
  const observe = (spec: CertificateSpec): Observation => {
    const now = deployed.get(spec.name);
    return {
      regions: spec.acm.map((target) => ({ region: target.region, alsoTagged: [], ...(now && { certificateArn: now.arn, facts: now.facts, foundBy: 'record' as const }) })),
    };
  };
  const nothingToRetire = { pending: [], retire: () => Promise.resolve(), keep: () => undefined };
  const pass: DeployerPass = {
    observe: (spec) => Promise.resolve(observe(spec)),
    preflight: () => Promise.resolve([]),
    deploy: async (spec, issued, _observation, hooks) => {
      if (options.failDeploy === spec.name) throw new Error(`ImportCertificate refused ${spec.name}`);
      const arn = `arn:aws:acm:us-east-1:123456789012:certificate/${spec.name}`;
      await hooks.onImported('us-east-1', arn);
      deployed.set(spec.name, { arn, facts: issued.facts });
      deploys.push(spec.name);
      return { deployments: [{ region: 'us-east-1', certificateArn: arn }], retirement: nothingToRetire };
    },
    redeploy: (spec) => Promise.resolve({ deployments: [], retirement: nothingToRetire, ...observe(spec) }),
  };
  return { forPass: () => pass, deploys };
}

/** Publishes nothing anywhere: every renewal presents and removes at once. */
function fakeSolver(): ChallengeSolver & { presented: string[] } {
  const presented: string[] = [];
  const participant: ChallengeParticipant = {
    prepare: () => Promise.resolve(),
    present: (challenges) => {
      presented.push(...challenges.map((challenge) => challenge.identifier));
      return Promise.resolve({ startRemoval: () => undefined, removed: () => Promise.resolve() });
    },
    presentsNothing: () => undefined,
  };
  const session: Omit<ChallengeSession, 'takePart'> = {
    check: () => Promise.resolve([]),
    cleanUpOrphans: () => Promise.resolve(),
    close: () => undefined,
  };
  // Like the real session, a pass's renewals work in its slots (at most `concurrency` at once).
  return { openSession: (pass) => ({ ...session, takePart: (work) => (pass ? pass.slots.run(() => work(participant)) : work(participant)) }), presented };
}

/** A CA that signs at once for 90 days from the clock; `during` runs inside an order (to cancel, to lose a lease). */
function fakeIssuer(clock: Clock, during?: (spec: CertificateSpec, request: IssueRequest) => void): Issuer & { orders: string[] } {
  const orders: string[] = [];
  return {
    orders,
    issue: async (spec, request) => {
      orders.push(spec.name);
      await request.challenges.prepare({ spec, log: request.log, signal: request.signal });
      const presented = await request.challenges.present(
        spec.domains.map((domain) => ({ identifier: domain.replace(/^\*\./, ''), value: 'v' })),
        { spec, log: request.log },
      );
      during?.(spec, request);
      request.signal.throwIfAborted();
      const notBefore = clock.now();
      const pair = await selfSignedCertificate(spec.domains[0]!, spec.domains, { notBefore, notAfter: new Date(notBefore.getTime() + 90 * DAY_MS) });
      const issued: IssuedCertificate = {
        leafPem: pair.certificatePem,
        chainPem: '',
        privateKeyPem: pair.privateKeyPem,
        facts: readCertificate(pair.certificatePem),
        orderUrl: `https://ca.test/order/${orders.length}`,
      };
      await request.onIssued(issued);
      await presented.removed();
      return issued;
    },
    renewalInfo: () => Promise.resolve(undefined),
    check: () => Promise.resolve({ check: 'ca', ok: true, detail: 'fake CA' }),
  };
}

interface World {
  ports: AgentPorts;
  deployed: Deployed;
  deployer: ReturnType<typeof fakeDeployer>;
  issuer: ReturnType<typeof fakeIssuer>;
  solver: ReturnType<typeof fakeSolver>;
  log: ReturnType<typeof recordingLogger>;
  records: CertificateRecords;
}

function world(
  names: string[],
  options: { failDeploy?: string; during?: Parameters<typeof fakeIssuer>[1]; state?: (state: StateStore) => StateStore; deployed?: Deployed; now?: Date } = {},
): World {
  const stateDir = mkdtempSync(join(tmpdir(), 'certkeeper-pass-'));
  roots.push(stateDir);
  const config = validateConfig(
    {
      acme: { directoryUrl: DIRECTORY_URL, email: 'ops@example.com', termsOfServiceAgreed: true },
      stateDir,
      aws: { region: 'us-east-1' },
      certificates: names.map((name) => ({ name, domains: [`${name}.example.com`], acm: [{ region: 'us-east-1' }] })),
    },
    join(stateDir, 'renewal.config.ts'),
  );
  const clock: Clock = { now: () => new Date(options.now ?? NOW) };
  const file = new FileStateStore(stateDir);
  const state = options.state ? options.state(file) : file;
  const records = new CertificateRecords(state);
  const log = recordingLogger();
  const deployed = options.deployed ?? new Map();
  const deployer = fakeDeployer(deployed, options);
  const issuer = fakeIssuer(clock, options.during);
  const solver = fakeSolver();
  const ports: AgentPorts = {
    config,
    log,
    clock,
    store: { state, records, rateLimits: new RateLimitRecords(state, DIRECTORY_URL), issued: new IssuedCertificates(stateDir, state) },
    solver,
    deployers: [deployer],
    issuer,
  };
  return { ports, deployed, deployer, issuer, solver, log, records };
}

/** A certificate already in "ACM", issued `ageDays` ago for 90 days. */
async function alreadyDeployed(deployed: Deployed, name: string, ageDays: number): Promise<void> {
  const notBefore = new Date(NOW.getTime() - ageDays * DAY_MS);
  const pair = await selfSignedCertificate(`${name}.example.com`, [`${name}.example.com`], { notBefore, notAfter: new Date(notBefore.getTime() + 90 * DAY_MS) });
  deployed.set(name, { arn: `arn:aws:acm:us-east-1:123456789012:certificate/${name}-old`, facts: readCertificate(pair.certificatePem) });
}

const events = (log: World['log'], event: string) => log.events.filter((line) => line.event === event);

describe('a pass with fake ports', () => {
  it('renews what is due, leaves what is not, and plans the next look from the clock', async () => {
    const deployed: Deployed = new Map();
    await alreadyDeployed(deployed, 'fresh', 10);
    await alreadyDeployed(deployed, 'old', 85);
    const { ports, issuer, deployer, solver, records, log } = world(['fresh', 'old', 'missing'], { deployed });

    const outcomes = await runPass(ports);

    expect(Object.fromEntries(outcomes.map((outcome) => [outcome.name, outcome.result]))).toEqual({ fresh: 'unchanged', old: 'renewed', missing: 'renewed' });
    expect(issuer.orders.sort()).toEqual(['missing', 'old']);
    expect(deployer.deploys.sort()).toEqual(['missing', 'old']);
    expect(solver.presented.sort()).toEqual(['missing.example.com', 'old.example.com']);
    expect(deployed.get('old')!.facts.notBefore.getTime()).toBe(NOW.getTime());
    const renewed = outcomes.find((outcome) => outcome.name === 'old')!;
    // Two thirds of 90 days from the clock's now (the backstop rule), not from the machine's.
    expect(renewed.nextAssessmentAt!.getTime()).toBeGreaterThan(NOW.getTime() + 55 * DAY_MS);
    expect(renewed.nextAssessmentAt!.getTime()).toBeLessThan(NOW.getTime() + 65 * DAY_MS);
    expect((await records.get('old'))?.lastSuccess?.at).toBe(NOW.toISOString());
    expect((await records.get('old'))?.acm).toEqual({ 'us-east-1': 'arn:aws:acm:us-east-1:123456789012:certificate/old' });
    expect(events(log, 'renewal.decided').find((line) => line.certificate === 'fresh')?.checks).toEqual(['UpToDate']);
  });

  it('a failing deployer fails its certificate only, keeps what the CA issued, and the next pass deploys it with no new order', async () => {
    const deployed: Deployed = new Map();
    const first = world(['a', 'b'], { failDeploy: 'b', deployed });

    const outcomes = await runPass(first.ports);

    expect(outcomes.map((outcome) => [outcome.name, outcome.result])).toEqual([
      ['a', 'renewed'],
      ['b', 'failed'],
    ]);
    const failed = outcomes[1]!;
    expect(failed.result === 'failed' && failed.error).toContain('ImportCertificate refused b');
    expect((await first.records.get('b'))?.consecutiveFailures).toBe(1);
    expect(
      events(first.log, 'renewal.issued_kept')
        .map((line) => line.certificate)
        .sort(),
    ).toEqual(['a', 'b']);

    // The same state, a day later (past the backoff), a deployer that works again: b's kept certificate is
    // deployed, nothing is ordered.
    const second = world(['a', 'b'], { deployed, now: new Date(NOW.getTime() + DAY_MS) });
    Object.assign(second.ports, { store: first.ports.store, config: first.ports.config });
    const again = await runPass(second.ports);

    expect(again.map((outcome) => [outcome.name, outcome.result])).toEqual([
      ['a', 'unchanged'],
      ['b', 'renewed'],
    ]);
    expect(second.issuer.orders).toEqual([]);
    expect(events(second.log, 'renewal.resumed_issued').map((line) => line.certificate)).toEqual(['b']);
    expect((await first.records.get('b'))?.consecutiveFailures).toBe(0);
  });

  it('a cancelled pass orders nothing more and says cancelled, not failed', async () => {
    const controller = new AbortController();
    const { ports, issuer, records } = world(['a', 'b'], { during: () => controller.abort(new Error('SIGTERM')) });
    Object.assign(ports.config, { concurrency: 1 });

    const outcomes = await runPass(ports, { signal: controller.signal });

    expect(outcomes.map((outcome) => outcome.result)).toEqual(['cancelled', 'cancelled']);
    expect(issuer.orders).toEqual(['a']);
    // Cancelled is not a failure of the certificate: no failure counted.
    expect((await records.get('a'))?.consecutiveFailures ?? 0).toBe(0);
  });

  it('a lease lost during the renewal stops it: nothing is deployed by a process that no longer holds the lock', async () => {
    let lose: (() => void) | undefined;
    const losingLeases = (state: StateStore): StateStore =>
      Object.assign(Object.create(state) as StateStore, {
        tryLease: async (name: string, log: Parameters<StateStore['tryLease']>[1]): Promise<Lease | undefined> => {
          const lease = await state.tryLease(name, log);
          if (!lease) return undefined;
          const lost = new AbortController();
          lose = () => lost.abort(new Error(`the lock of ${name} was taken over`));
          return { certificate: lease.certificate, holder: lease.holder, signal: AbortSignal.any([lease.signal, lost.signal]), release: () => lease.release() };
        },
      });
    const { ports, deployer, records, log } = world(['a'], { state: losingLeases, during: () => lose?.() });

    const [outcome] = await runPass(ports);

    expect(outcome!.result).toBe('failed');
    expect(outcome!.result === 'failed' && outcome!.error).toContain('the lock of a was taken over');
    expect(deployer.deploys).toEqual([]);
    expect((await records.get('a'))?.consecutiveFailures).toBe(1);
    expect(events(log, 'renewal.failed')).toHaveLength(1);
  });

  it('a certificate another process holds is busy, not ordered', async () => {
    const { ports, issuer } = world(['a']);
    const other = new FileStateStore(ports.config.stateDir);
    const held = await other.tryLease('a', recordingLogger());
    expect(held).toBeDefined();
    try {
      const [outcome] = await runPass(ports);
      expect(outcome).toMatchObject({ result: 'busy' });
      expect(issuer.orders).toEqual([]);
    } finally {
      await held!.release();
      other.close();
    }
  });
});
