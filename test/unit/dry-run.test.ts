import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AcmeIssuer } from '../../src/acme/acme-issuer.js';
import { runDryRun } from '../../src/agent/dry-run.js';
import { STAGING_SETTING_NAMES, stagingConfig } from '../../src/config/staging-directory.js';
import type { AgentPorts } from '../../src/agent/ports.js';
import { validateConfig } from '../../src/config/load.js';
import { readCertificate } from '../../src/pki/certificate.js';
import type { ChallengeParticipant, ChallengeSolver } from '../../src/ports/challenge-solver.js';
import type { Deployer } from '../../src/ports/deployer.js';
import type { Issuer } from '../../src/ports/issuer.js';
import { CertificateRecords } from '../../src/store/certificate-records.js';
import { FileStateStore } from '../../src/store/file-state-store.js';
import { IssuedCertificates } from '../../src/store/issued-certificates.js';
import { emptyLedger } from '../../src/store/rate-limit-ledger.js';
import { RateLimitRecords } from '../../src/store/rate-limit-records.js';
import { recordingLogger } from '../store/recording-logger.js';
import { selfSignedCertificate } from '../stack/tls.js';

/**
 * The dry run with fake ports (no CA, no DNS, no AWS) and the real file store: what it orders from, and
 * what it must never do (deploy, record, order from production). test/e2e/dry-run.test.ts runs it on the local stack.
 */

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

const participant: ChallengeParticipant = {
  prepare: () => Promise.resolve(),
  present: () => Promise.resolve({ startRemoval: () => undefined, removed: () => Promise.resolve() }),
  presentsNothing: () => undefined,
};
const solver: ChallengeSolver = {
  openSession: () => ({ check: () => Promise.resolve([]), cleanUpOrphans: () => Promise.resolve(), close: () => undefined, takePart: (work) => work(participant) }),
};
const neverDeploys: Deployer = {
  forPass: () => ({
    observe: () => Promise.reject(new Error('a dry run observed to decide')),
    preflight: () => Promise.resolve([{ check: 'target', ok: true, detail: 'fake target' }]),
    deploy: () => Promise.reject(new Error('a dry run deployed')),
    redeploy: () => Promise.reject(new Error('a dry run redeployed')),
  }),
};

function caThat(issue: Issuer['issue']): Issuer & { orders: string[] } {
  const orders: string[] = [];
  return {
    orders,
    issue: (spec, request) => (orders.push(spec.name), issue(spec, request)),
    renewalInfo: () => Promise.resolve(undefined),
    check: () => Promise.resolve({ check: 'ca', ok: true, detail: 'fake CA' }),
  };
}

const production = caThat(() => Promise.reject(new Error('a dry run ordered from production')));
const signsAtOnce = () =>
  caThat(async (spec, request) => {
    const pair = await selfSignedCertificate(spec.domains[0]!, spec.domains, { notBefore: new Date(), notAfter: new Date(Date.now() + 86_400_000) });
    const issued = {
      leafPem: pair.certificatePem,
      chainPem: '',
      privateKeyPem: pair.privateKeyPem,
      facts: readCertificate(pair.certificatePem),
      orderUrl: `https://staging.test/order/${spec.name}`,
    };
    await request.onIssued(issued);
    return issued;
  });

function world(names: string[]) {
  const stateDir = mkdtempSync(join(tmpdir(), 'certkeeper-dry-run-'));
  roots.push(stateDir);
  const config = validateConfig(
    {
      acme: { directoryUrl: 'https://ca.test/directory', stagingDirectoryUrl: 'https://staging.test/directory', email: 'ops@example.com', termsOfServiceAgreed: true },
      stateDir,
      aws: { region: 'us-east-1' },
      certificates: names.map((name) => ({ name, domains: [`${name}.example.com`], acm: [{ region: 'us-east-1' }] })),
    },
    join(stateDir, 'renewal.config.ts'),
  );
  const state = new FileStateStore(stateDir);
  const log = recordingLogger();
  const ports: AgentPorts = {
    config,
    log,
    clock: { now: () => new Date() },
    store: { state, records: new CertificateRecords(state), rateLimits: new RateLimitRecords(state, config.acme.directoryUrl), issued: new IssuedCertificates(stateDir, state) },
    solver,
    deployers: [neverDeploys],
    issuer: production,
  };
  /** Nothing a renewal records: no record, no ledger entry, no kept certificate. */
  const expectNothingRecorded = async () => {
    for (const name of names) expect(await ports.store.records.get(name)).toBeUndefined();
    expect(await ports.store.rateLimits.get()).toEqual(emptyLedger());
    expect(existsSync(join(stateDir, 'issued'))).toBe(false);
  };
  return { ports, log, stateDir, expectNothingRecorded };
}

describe('a dry run with fake ports', () => {
  it('orders every named certificate from the staging CA, deploys none and records nothing', async () => {
    const { ports, log, expectNothingRecorded } = world(['a', 'b', 'c']);
    const staging = signsAtOnce();

    const outcomes = await runDryRun(ports, staging, { names: ['a', 'c'] });

    expect(outcomes.map((outcome) => [outcome.name, outcome.result])).toEqual([
      ['a', 'succeeded'],
      ['c', 'succeeded'],
    ]);
    expect(outcomes[0]).toMatchObject({ orderUrl: 'https://staging.test/order/a' });
    expect(staging.orders.sort()).toEqual(['a', 'c']);
    await expectNothingRecorded();
    expect(log.events.filter((line) => line.event === 'renewal.dry_run_succeeded').map((line) => [line.certificate, line.directoryUrl])).toEqual(
      expect.arrayContaining([
        ['a', 'https://staging.test/directory'],
        ['c', 'https://staging.test/directory'],
      ]),
    );
    expect(log.events.every((line) => line.dryRun === true)).toBe(true);
  });

  it('reports a failed order with its reason, as a dry-run event, and records no failure', async () => {
    const { ports, log, expectNothingRecorded } = world(['a']);
    const staging = caThat(() => Promise.reject(new Error('dns-01 challenge for a.example.com failed: NXDOMAIN')));

    const [outcome] = await runDryRun(ports, staging);

    expect(outcome).toEqual({ name: 'a', result: 'failed', error: 'dns-01 challenge for a.example.com failed: NXDOMAIN' });
    expect(log.events.filter((line) => line.event === 'renewal.dry_run_failed')).toMatchObject([{ certificate: 'a', step: 'ordering from the staging CA' }]);
    expect(log.events.filter((line) => line.event === 'renewal.failed')).toEqual([]);
    await expectNothingRecorded();
  });

  it('does not race a renewal another process is making of the same certificate', async () => {
    const { ports, stateDir, expectNothingRecorded } = world(['a']);
    const other = new FileStateStore(stateDir);
    const held = await other.tryLease('a', recordingLogger());
    const staging = signsAtOnce();
    try {
      const [outcome] = await runDryRun(ports, staging);
      expect(outcome).toMatchObject({ result: 'failed', error: expect.stringMatching(/^another certkeeper process is renewing this certificate/) });
      expect(staging.orders).toEqual([]);
      await expectNothingRecorded();
    } finally {
      await held!.release();
      other.close();
    }
  });
});

describe("the staging CA's problems", () => {
  it('name the staging keys, not the production ones', async () => {
    const { ports } = world(['a']);
    // A server with no ACME directory: the staging CA answers 404.
    const server = createServer((_request, response) => response.writeHead(404).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const stagingDirectoryUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/directory`;
    try {
      const config = { ...ports.config, acme: { ...ports.config.acme, stagingDirectoryUrl } };
      const staging = new AcmeIssuer(stagingConfig(config), ports.store.state, { update: async () => {} }, ports.log, STAGING_SETTING_NAMES);
      const check = await staging.check(ports.log, { account: false });
      expect(check).toMatchObject({ check: 'ca', ok: false, detail: expect.stringContaining(stagingDirectoryUrl) });
      expect(check.fix).toMatch(/^check acme\.stagingDirectoryUrl, .* \(acme\.email, acme\.stagingEab\)/);
    } finally {
      server.close();
    }
  });
});
