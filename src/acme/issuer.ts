import { X509Certificate } from 'node:crypto';
import type acme from 'acme-client';
import type { Authorization } from 'acme-client';
import type { CertificateSpec } from '../config/schema.js';
import type { ChallengeParticipant, ChallengeRequest } from '../ports/challenge-solver.js';
import { challengeBaseName } from '../config/domains.js';
import { checkChain, checkIssuedCertificate, readCertificate, splitPemChain, type CertificateFacts } from '../pki/certificate.js';
import { createCertificateKey, createCsr } from '../pki/keys.js';
import type { IssuedCertificate } from '../pki/issued-certificate.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import { CLOCK_TOLERANCE_MS, identifierSetKey } from '../policy/rate-limits.js';
import type { RateLimitNotes } from '../store/rate-limit-records.js';
import { sleep } from '../util/sleep.js';
import { cancellableCaWork, takeRetryAfterMs, type CaProblem } from './ca-http.js';

export interface IssueContext {
  client: acme.Client;
  /** Publishes the DNS-01 values and removes them again: this renewal's part in its pass's challenge session. */
  challenges: ChallengeParticipant;
  log: AuditLogger;
  /** Aborts the renewal (SIGTERM, deadline, lease lost): waiting stops, requests to the CA are aborted, records go. */
  signal?: AbortSignal;
  /** Told of each step as it begins, so a renewal that runs out of time can say where it was. */
  onStep?: (step: string) => void;
  /** RFC 9773 ID of the certificate this one replaces (exempts it from the CA's duplicate limit). */
  replaces?: string;
  /** ACME profile, already checked against the CA's directory. */
  profile?: string;
  preferredChain?: string;
  rateLimits: RateLimitNotes;
  /** The CA's error answers during this renewal (see ca-http.ts). */
  problems: CaProblem[];
  /** Told of the certificate as soon as the CA has issued it and it is checked, before the challenge clean-up is awaited. Never throws. */
  onIssued?: (issued: IssuedCertificate) => Promise<void>;
}

/**
 * Gets a certificate for the spec over ACME with DNS-01: the challenge names are prepared before the
 * CA is contacted (a missing zone costs no order), every value presented is removed again whatever
 * happens (the solver guarantees it), and what the CA returns is checked against the order before anyone
 * deploys it.
 */
export async function issueCertificate(spec: CertificateSpec, ctx: IssueContext): Promise<IssuedCertificate> {
  const { client, log, signal } = ctx;
  const ca = caSteps(ctx);
  const request: ChallengeRequest = { spec, log, ...(signal && { signal }) };
  ctx.onStep?.('preparing the DNS challenges');
  await ctx.challenges.prepare(request);
  signal?.throwIfAborted();

  const order = await createOrder(spec, ctx);

  const ordered = new Set(spec.domains.map(challengeBaseName));
  const authorizations = await ca('reading the authorizations', () => client.getAuthorizations(order));
  const pending: { authz: Authorization; challenge: Authorization['challenges'][number]; value: string }[] = [];
  for (const authz of authorizations) {
    if (authz.status === 'valid') continue;
    const challenge = authz.challenges.find((candidate) => candidate.type === 'dns-01');
    if (!challenge) throw new Error(`the CA offers no dns-01 challenge for ${authz.identifier.value}`);
    if (!ordered.has(authz.identifier.value)) throw new Error(`the CA asked to validate ${authz.identifier.value}, which was not ordered`);
    pending.push({ authz, challenge, value: await client.getChallengeKeyAuthorization(challenge) });
  }

  // Nothing to present (the CA reuses valid authorizations): the others of the pass need not wait for this renewal.
  if (pending.length === 0) {
    ctx.challenges.presentsNothing();
    signal?.throwIfAborted();
    return finalizeAndHandOver(spec, ctx, order);
  }
  ctx.onStep?.('presenting the challenge records');
  // Removed by the solver itself when presenting fails.
  const presented = await ctx.challenges.present(
    pending.map(({ authz, value }) => ({ identifier: authz.identifier.value, value })),
    request,
  );
  const removed = () => {
    ctx.onStep?.('removing the challenge records');
    return presented.removed();
  };
  try {
    signal?.throwIfAborted();
    await ca('answering the challenges', () => Promise.all(pending.map(({ challenge }) => client.completeChallenge(challenge))));
    await ca('waiting for the CA to validate the challenges', () => waitForValidations(ctx, pending));
    log.info('acme.challenges.valid', { identifiers: pending.map((item) => item.authz.identifier.value) });
  } catch (error) {
    await removed();
    throw error;
  }
  // Valid: the values go (with the clean-ups of the others of the pass) while the order is finalized; the
  // renewal ends only once they are gone.
  presented.startRemoval();
  try {
    signal?.throwIfAborted();
    return await finalizeAndHandOver(spec, ctx, order);
  } finally {
    await removed();
  }
}

// How long the CA may take to validate the challenges, and to issue once finalized, when no deadline
// stops the renewal earlier (the renewal's deadline normally does: see agent/deadlines.ts).
const MAX_POLL_MS = 300_000;
// A CA validates and issues in about a second (Let's Encrypt) or less: ask early, then less and less often.
const FIRST_POLL_MS = 250;
const MAX_POLL_INTERVAL_MS = 10_000;

/**
 * The wait before the next poll: the backoff's `delay`, or the CA's Retry-After when it gave one (RFC 8555
 * §7.4), whether shorter or longer, but never beyond the poll maximum.
 */
export function nextPollMs(delay: number, retryAfterMs: number | undefined): number {
  return retryAfterMs === undefined ? delay : Math.min(retryAfterMs, MAX_POLL_INTERVAL_MS);
}

/**
 * Polls the authorizations (RFC 8555 §7.5.1) from 250 ms, doubling up to 10 s (or at the CA's Retry-After), until every one is valid or
 * one is invalid. Not acme-client's waitForValidStatus: it retries any error, a request that timed out
 * included, 12 times; here a request that fails ends the wait, and the renewal's signal stops it.
 */
async function waitForValidations(ctx: IssueContext, pending: { authz: Authorization }[]): Promise<void> {
  const { client, signal } = ctx;
  let waiting = pending.map((item) => item.authz);
  const started = Date.now();
  let hint: number | undefined;
  for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 2, MAX_POLL_INTERVAL_MS)) {
    await sleep(nextPollMs(delay, hint), signal);
    // acme-client reads only `authorizations` of the order it is given: these are the ones still pending.
    const current = await client.getAuthorizations({ authorizations: waiting.map((authz) => authz.url) } as acme.Order);
    hint = takeRetryAfterMs(waiting.map((authz) => authz.url));
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

/** Polls the order until the CA has issued the certificate (RFC 8555 §7.4): from 250 ms, doubling up to 10 s, or at the CA's Retry-After. */
async function waitForIssuance(ctx: IssueContext, order: acme.Order): Promise<acme.Order> {
  const started = Date.now();
  let current = order;
  let hint = takeRetryAfterMs([order.url]);
  for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 2, MAX_POLL_INTERVAL_MS)) {
    if (current.status === 'valid') return current;
    if (current.status === 'invalid') {
      const problem = (current as { error?: { type?: string; detail?: string } }).error;
      throw new Error(`the CA refused to issue the certificate of order ${order.url}${problem ? `: ${problem.detail ?? ''} (${problem.type ?? 'no type'})` : ''}`);
    }
    if (Date.now() - started > MAX_POLL_MS) throw new Error(`the CA has not issued the certificate of order ${order.url} after ${MAX_POLL_MS / 1000} s (status ${current.status})`);
    await sleep(nextPollMs(delay, hint), ctx.signal);
    current = await ctx.client.getOrder(current);
    hint = takeRetryAfterMs([current.url]);
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
  await ctx.rateLimits.update((ledger) => ledger.issuances.push({ at: new Date().toISOString(), identifiers: identifierSetKey(spec.domains), replaced: Boolean(order.replaces) }));
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
      ctx.client.createOrder({ identifiers, ...(replaces && { replaces }), ...(ctx.profile && { profile: ctx.profile }) }),
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
  throw new Error(
    `clock problem: ${why}; the certificate (serial ${facts.serial}, valid ${validity.notBefore} to ${validity.notAfter}) is not deployed; set the clock right (NTP)`,
  );
}

function isSelfSigned(pem: string): boolean {
  try {
    const certificate = new X509Certificate(pem);
    return certificate.subject === certificate.issuer && certificate.verify(certificate.publicKey);
  } catch {
    return false;
  }
}
