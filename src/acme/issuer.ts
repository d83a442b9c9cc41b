import { X509Certificate } from 'node:crypto';
import type acme from 'acme-client';
import type { Authorization } from 'acme-client';
import type { CertificateSpec } from '../config/schema.js';
import type { ChallengeJournal } from '../dns/challenge-journal.js';
import type { ChallengeTarget, HostedZoneFinder } from '../dns/hosted-zones.js';
import type { Route53Solver, TxtRecord } from '../dns/route53-solver.js';
import { challengeBaseName } from '../config/domains.js';
import { checkChain, checkIssuedCertificate, readCertificate, splitPemChain, type CertificateFacts } from '../pki/certificate.js';
import { createCertificateKey, createCsr } from '../pki/keys.js';
import type { IssuedCertificate } from '../pki/issued-certificate.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import { CLOCK_TOLERANCE_MS, identifierSetKey } from '../policy/rate-limits.js';
import type { RateLimitRecords } from '../store/rate-limit-records.js';
import { sleep } from '../util/sleep.js';
import type { Turn } from '../util/work-slots.js';
import { cancellableCaWork, untilAborted, type CaProblem } from './ca-http.js';

export interface IssueContext {
  client: acme.Client;
  zones: HostedZoneFinder;
  solver: Route53Solver;
  journal: ChallengeJournal;
  log: AuditLogger;
  runId: string;
  /** Aborts the renewal (SIGTERM, deadline, lease lost): waiting stops, requests to the CA are aborted, records go. */
  signal?: AbortSignal;
  /** Told of each step as it begins, so a renewal that runs out of time can say where it was. */
  onStep?: (step: string) => void;
  /** RFC 9773 ID of the certificate this one replaces (exempts it from the CA's duplicate limit). */
  replaces?: string;
  /** ACME profile, already checked against the CA's directory. */
  profile?: string;
  preferredChain?: string;
  rateLimits: RateLimitRecords;
  /** The CA's error answers during this renewal (see ca-http.ts). */
  problems: CaProblem[];
  /** How this renewal shares Route 53 changes with the others of its pass. */
  sharing: ChallengeSharing;
  /** Told of the certificate as soon as the CA has issued it and it is checked, before the challenge clean-up is awaited. Never throws. */
  onIssued?: (issued: IssuedCertificate) => Promise<void>;
}

/** How a renewal takes part in its pass's shared Route 53 changes (see agent/pass.ts). */
export interface ChallengeSharing {
  /** Tells the Route 53 batchers this renewal has presented (or will not): see dns/present-rendezvous.ts. */
  arrived: () => void;
  /** Its work slot, given up while it only waits on Route 53, so the others of the pass can reach the same change. */
  turn: Turn;
}

/**
 * Gets a certificate for the spec over ACME with DNS-01 on Route 53: zones are resolved before the
 * CA is contacted (a missing zone costs no order), every TXT value is removed again whatever happens,
 * and what the CA returns is checked against the order before anyone deploys it.
 */
export async function issueCertificate(spec: CertificateSpec, ctx: IssueContext): Promise<IssuedCertificate> {
  const { client, log, signal } = ctx;
  const ca = caSteps(ctx);
  ctx.onStep?.('resolving the Route 53 zones');
  // Where each challenge's TXT values go: its zone, or where its CNAME delegates it.
  const targetByBaseName = new Map<string, ChallengeTarget>();
  for (const domain of spec.domains) {
    const base = challengeBaseName(domain);
    if (!targetByBaseName.has(base)) {
      const target = await ctx.zones.challengeTarget(base, spec.route53, log);
      if (target.chain.length > 1) log.info('dns.challenge.delegated', { name: target.chain[0], chain: target.chain, hostedZoneId: target.zone.id, zone: target.zone.name });
      targetByBaseName.set(base, target);
    }
  }
  signal?.throwIfAborted();
  // No order while Route 53 refuses a change in one of its zones (shared with other tools): wait it out first.
  await ctx.solver.untilZonesAccept([...targetByBaseName.values()].map((target) => target.zone), signal);
  signal?.throwIfAborted();

  const order = await createOrder(spec, ctx);

  const authorizations = await ca('reading the authorizations', () => client.getAuthorizations(order));
  const pending: { authz: Authorization; challenge: Authorization['challenges'][number]; record: TxtRecord }[] = [];
  for (const authz of authorizations) {
    if (authz.status === 'valid') continue;
    const challenge = authz.challenges.find((candidate) => candidate.type === 'dns-01');
    if (!challenge) throw new Error(`the CA offers no dns-01 challenge for ${authz.identifier.value}`);
    const target = targetByBaseName.get(authz.identifier.value);
    if (!target) throw new Error(`the CA asked to validate ${authz.identifier.value}, which was not ordered`);
    const value = await client.getChallengeKeyAuthorization(challenge);
    const { zone } = target;
    pending.push({
      authz,
      challenge,
      record: {
        zoneId: zone.id,
        zoneName: zone.name,
        name: target.name,
        value,
        ...(zone.role && { roleArn: zone.role.roleArn, ...(zone.role.externalId && { externalId: zone.role.externalId }) }),
        ...(zone.recordSetCount !== undefined && { zoneRecordSetCount: zone.recordSetCount }),
      },
    });
  }

  // Nothing to present (the CA reuses valid authorizations): the batchers need not wait for this renewal.
  if (pending.length === 0) {
    ctx.sharing.arrived();
    signal?.throwIfAborted();
    return finalizeAndHandOver(spec, ctx, order);
  }
  const records = pending.map((item) => item.record);
  const forget = await ctx.journal.note(ctx.runId, spec.name, records);
  const waitOnRoute53 = ctx.sharing.turn.outside;
  // Clean-up failing must not hide why the renewal failed; the journal keeps the records for the next pass.
  const cleanUp = async () => {
    try {
      await ctx.solver.cleanup(records, log);
      await forget();
    } catch (error) {
      log.error('dns.challenge.cleanup_failed', { error: describeError(error), records: records.map((r) => r.name) });
    }
  };
  try {
    ctx.onStep?.('presenting the challenge records');
    await waitOnRoute53(() => ctx.solver.present(records, log, signal, ctx.sharing.arrived, ctx.runId));
    signal?.throwIfAborted();
    await ca('answering the challenges', () => Promise.all(pending.map(({ challenge }) => client.completeChallenge(challenge))));
    await ca('waiting for the CA to validate the challenges', () => waitForValidations(ctx, pending));
    log.info('acme.challenges.valid', { identifiers: pending.map((item) => item.authz.identifier.value) });
  } catch (error) {
    await waitOnRoute53(() => cleanUpWithin(cleanUp(), ctx, records));
    throw error;
  }
  // Valid: the records go (with the clean-ups of the others of the pass, see route53-solver.ts) while the
  // order is finalized; the renewal ends only once they are gone.
  const cleanedUp = cleanUp();
  try {
    signal?.throwIfAborted();
    return await finalizeAndHandOver(spec, ctx, order);
  } finally {
    await waitOnRoute53(() => cleanUpWithin(cleanedUp, ctx, records));
  }
}

// A cancelled renewal's clean-up gets this long; what is still up then stays in the journal for the next
// pass (SIGTERM must end the process within its bound, and a lock must not wait on Route 53 for long).
const CLEANUP_AFTER_CANCEL_MS = 10_000;

/** Waits for the clean-up; once the renewal is cancelled, for CLEANUP_AFTER_CANCEL_MS more at most. */
async function cleanUpWithin(cleanedUp: Promise<void>, ctx: IssueContext, records: TxtRecord[]): Promise<void> {
  ctx.onStep?.('removing the challenge records');
  const { signal } = ctx;
  if (!signal) return cleanedUp;
  try {
    await untilAborted(cleanedUp, signal);
    return;
  } catch {
    // cancelled while cleaning up: a short grace below
  }
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'gave up'>((resolve) => (timer = setTimeout(() => resolve('gave up'), CLEANUP_AFTER_CANCEL_MS)));
  const outcome = await Promise.race([cleanedUp, gaveUp]);
  clearTimeout(timer); // a pending timer would keep a stopping process alive
  if (outcome === 'gave up') {
    ctx.log.error('dns.challenge.cleanup_failed', {
      error: `the clean-up did not finish within ${CLEANUP_AFTER_CANCEL_MS / 1000} s of the renewal being cancelled`,
      records: records.map((r) => r.name),
      why: 'kept in the challenge journal: the next pass removes them',
    });
  }
}

// How long the CA may take to validate the challenges, and to issue once finalized, when no deadline
// stops the renewal earlier (the renewal's deadline normally does: see agent/deadlines.ts).
const MAX_POLL_MS = 300_000;
// A CA validates and issues in about a second (Let's Encrypt) or less: ask early, then less and less often.
const FIRST_POLL_MS = 250;
const MAX_POLL_INTERVAL_MS = 10_000;

/**
 * Polls the authorizations (RFC 8555 §7.5.1) from 250 ms, doubling up to 10 s, until every one is valid or
 * one is invalid. Not acme-client's waitForValidStatus: it retries any error, a request that timed out
 * included, 12 times; here a request that fails ends the wait, and the renewal's signal stops it.
 */
async function waitForValidations(ctx: IssueContext, pending: { authz: Authorization }[]): Promise<void> {
  const { client, signal } = ctx;
  let waiting = pending.map((item) => item.authz);
  const started = Date.now();
  for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 2, MAX_POLL_INTERVAL_MS)) {
    await sleep(delay, signal);
    // acme-client reads only `authorizations` of the order it is given: these are the ones still pending.
    const current = await client.getAuthorizations({ authorizations: waiting.map((authz) => authz.url) } as acme.Order);
    const invalid = current.find((authz) => authz.status !== 'valid' && authz.status !== 'pending');
    if (invalid) {
      await ctx.rateLimits.update((ledger) => ledger.failedValidations.push({ at: new Date().toISOString(), identifier: invalid.identifier.value }));
      const problem = invalid.challenges.find((challenge) => challenge.type === 'dns-01')?.error as { type?: string; detail?: string } | undefined;
      const why = problem ? `${problem.detail ?? 'no detail'} (${problem.type ?? 'no type'})` : `the authorization is ${invalid.status}`;
      throw new Error(`dns-01 challenge for ${invalid.identifier.value} failed: ${why}`);
    }
    waiting = current.filter((authz) => authz.status !== 'valid');
    if (waiting.length === 0) return;
    if (Date.now() - started > MAX_POLL_MS) {
      throw new Error(`the CA has not validated ${waiting.map((authz) => authz.identifier.value).join(', ')} after ${MAX_POLL_MS / 1000} s (authorizations still pending)`);
    }
  }
}

/** Polls the order until the CA has issued the certificate (RFC 8555 §7.4): from 250 ms, doubling up to 10 s. */
async function waitForIssuance(ctx: IssueContext, order: acme.Order): Promise<acme.Order> {
  const started = Date.now();
  let current = order;
  for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 2, MAX_POLL_INTERVAL_MS)) {
    if (current.status === 'valid') return current;
    if (current.status === 'invalid') {
      const problem = (current as { error?: { type?: string; detail?: string } }).error;
      throw new Error(`the CA refused to issue the certificate of order ${order.url}${problem ? `: ${problem.detail ?? ''} (${problem.type ?? 'no type'})` : ''}`);
    }
    if (Date.now() - started > MAX_POLL_MS) throw new Error(`the CA has not issued the certificate of order ${order.url} after ${MAX_POLL_MS / 1000} s (status ${current.status})`);
    await sleep(delay, ctx.signal);
    current = await ctx.client.getOrder(current);
  }
}

/**
 * Runs one step of the conversation with the CA: names it for a renewal that runs out of time, aborts
 * its requests when the renewal is cancelled and stops waiting at that moment (acme-client takes no signal).
 */
function caSteps(ctx: IssueContext) {
  return <T>(step: string, work: () => Promise<T>): Promise<T> => {
    ctx.onStep?.(step);
    return cancellableCaWork(ctx.signal, work);
  };
}

/**
 * Finalizes, then hands the certificate over at once (`onIssued`: the renewal keeps it), not after the clean-up:
 * a run killed while its pass's records go (Route 53 can take minutes) must not lose what the CA issued.
 */
async function finalizeAndHandOver(spec: CertificateSpec, ctx: IssueContext, order: acme.Order & { replaces?: string }): Promise<IssuedCertificate> {
  const issued = await finalize(spec, ctx, order);
  await ctx.onIssued?.(issued);
  return issued;
}

/** Finalizes the order with a fresh key and checks what the CA returns against the order. */
async function finalize(spec: CertificateSpec, ctx: IssueContext, order: acme.Order & { replaces?: string }): Promise<IssuedCertificate> {
  const { client, log } = ctx;
  const ca = caSteps(ctx);
  const privateKey = await createCertificateKey(spec.keyType);
  const csr = await createCsr(spec.domains, privateKey);
  const finalized = await ca('finalizing the order', () => client.finalizeOrder(order, csr));
  const issued = await ca('waiting for the CA to issue the certificate', () => waitForIssuance(ctx, finalized));
  const fullchain = await ca('downloading the certificate', () => client.getCertificate(issued, ctx.preferredChain));
  const [leafPem, ...intermediates] = splitPemChain(fullchain);
  if (!leafPem) throw new Error('the CA returned no certificate');
  // Issued, whatever becomes of it here: the CA counts it (deployed or not).
  await ctx.rateLimits.update((ledger) =>
    ledger.issuances.push({ at: new Date().toISOString(), identifiers: identifierSetKey(spec.domains), replaced: Boolean(order.replaces) }),
  );
  await refuseIfClockDisagrees(spec, leafPem, ctx);
  const facts = checkIssuedCertificate(leafPem, privateKey.toString(), spec.domains);
  checkChain(leafPem, intermediates);
  const chain = intermediates.filter((pem) => !isSelfSigned(pem));
  const top = chain[chain.length - 1];
  log.info('acme.order.finalized', {
    orderUrl: order.url,
    serial: facts.serial,
    notAfter: facts.notAfter.toISOString(),
    issuer: facts.issuer,
    // The root the imported chain leads to: what acme.preferredChain chooses.
    chainRoot: top ? new X509Certificate(top).issuer.replace(/\n/g, ', ') : facts.issuer,
  });
  return {
    leafPem,
    chainPem: chain.join(''),
    privateKeyPem: privateKey.toString(),
    facts,
    orderUrl: order.url,
  };
}

/**
 * newOrder with every domain, the profile and (when known) `replaces`. A CA that refuses `replaces`
 * (the certificate is not its own, or was already replaced) gets the order again without it.
 */
async function createOrder(spec: CertificateSpec, ctx: IssueContext): Promise<acme.Order & { replaces?: string }> {
  const identifiers = spec.domains.map((value) => ({ type: 'dns' as const, value }));
  const request = async (replaces: string | undefined) => {
    // acme-client passes extra newOrder fields through; its type lacks `replaces` and `profile`.
    const order = await caSteps(ctx)('placing the order', () =>
      ctx.client.createOrder({ identifiers, ...(replaces && { replaces }), ...(ctx.profile && { profile: ctx.profile }) } as Parameters<acme.Client['createOrder']>[0]),
    );
    // Counted once the CA has accepted it: a newOrder the CA refused is no order for the CA either.
    await ctx.rateLimits.update((ledger) => ledger.orders.push(new Date().toISOString()));
    return order;
  };
  let replaces = ctx.replaces;
  let order: acme.Order;
  try {
    order = await request(replaces);
  } catch (error) {
    const refused = replaces && ctx.problems.some((p) => p.type?.endsWith(':alreadyReplaced') || (p.type?.endsWith(':malformed') && /replace/i.test(p.detail ?? '')));
    if (!refused) throw error;
    ctx.log.warn('acme.order.replaces_refused', { replaces, error: describeError(error) });
    replaces = undefined;
    order = await request(undefined);
  }
  ctx.log.info('acme.order.created', { orderUrl: order.url, domains: spec.domains, replaces: replaces ?? null, profile: ctx.profile ?? null });
  return Object.assign(order, { replaces });
}

/**
 * A certificate that is already expired, or not valid for a while yet, by this machine's clock: the CA
 * and this clock disagree, and ordering again would get the same answer. Recorded (the ledger then
 * holds further orders for these names while the clock still disagrees, see policy/rate-limits.ts) and
 * reported as a clock problem, never deployed.
 */
async function refuseIfClockDisagrees(spec: CertificateSpec, leafPem: string, ctx: IssueContext): Promise<void> {
  let facts: CertificateFacts;
  try {
    facts = readCertificate(leafPem);
  } catch {
    return; // unparsable: checkIssuedCertificate says so
  }
  const now = new Date();
  const expired = facts.notAfter <= now;
  if (!expired && facts.notBefore.getTime() <= now.getTime() + CLOCK_TOLERANCE_MS) return;
  const validity = { notBefore: facts.notBefore.toISOString(), notAfter: facts.notAfter.toISOString() };
  await ctx.rateLimits.update((ledger) => ledger.clockSkews.push({ identifiers: identifierSetKey(spec.domains), at: now.toISOString(), serial: facts.serial, ...validity }));
  const why = expired
    ? `the certificate the CA just issued is already expired by this machine's clock (${now.toISOString()}): the clock is probably ahead`
    : `the certificate the CA just issued is not valid yet by this machine's clock (${now.toISOString()}): the clock is probably behind`;
  ctx.log.error('clock.skew', { localTime: now.toISOString(), serial: facts.serial, ...validity, why });
  throw new Error(`clock problem: ${why}; the certificate (serial ${facts.serial}, valid ${validity.notBefore} to ${validity.notAfter}) is not deployed; set the clock right (NTP)`);
}

function isSelfSigned(pem: string): boolean {
  try {
    const certificate = new X509Certificate(pem);
    return certificate.subject === certificate.issuer && certificate.verify(certificate.publicKey);
  } catch {
    return false;
  }
}
