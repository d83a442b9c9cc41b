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
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import { CLOCK_TOLERANCE_MS, identifierSetKey } from '../policy/rate-limits.js';
import type { RateLimitRecords } from '../store/rate-limit-records.js';
import type { Turn } from '../util/work-slots.js';
import type { CaProblem } from './ca-http.js';

export interface IssuedCertificate {
  leafPem: string;
  /** Intermediates only; the root is not sent (ACM expects it so). */
  chainPem: string;
  /** Kept in memory only for the import; never logged, never written outside the 0600 state files. */
  privateKeyPem: string;
  facts: CertificateFacts;
  orderUrl: string;
}

export interface IssueContext {
  client: acme.Client;
  zones: HostedZoneFinder;
  solver: Route53Solver;
  journal: ChallengeJournal;
  log: AuditLogger;
  runId: string;
  signal?: AbortSignal;
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

  const order = await createOrder(spec, ctx);

  const authorizations = await client.getAuthorizations(order);
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
    return finalize(spec, ctx, order);
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
    await waitOnRoute53(() => ctx.solver.present(records, log, signal, ctx.sharing.arrived));
    signal?.throwIfAborted();
    await Promise.all(pending.map(({ challenge }) => client.completeChallenge(challenge)));
    await Promise.all(
      pending.map(async ({ authz, challenge }) => {
        try {
          await client.waitForValidStatus(challenge);
        } catch (error) {
          await ctx.rateLimits.update((ledger) => ledger.failedValidations.push({ at: new Date().toISOString(), identifier: authz.identifier.value }));
          throw new Error(`dns-01 challenge for ${authz.identifier.value} failed: ${describeError(error)}`);
        }
      }),
    );
    log.info('acme.challenges.valid', { identifiers: pending.map((item) => item.authz.identifier.value) });
  } catch (error) {
    await waitOnRoute53(cleanUp);
    throw error;
  }
  // Valid: the records go (with the clean-ups of the others of the pass, see route53-solver.ts) while the
  // order is finalized; the renewal ends only once they are gone.
  const cleanedUp = cleanUp();
  try {
    signal?.throwIfAborted();
    return await finalize(spec, ctx, order);
  } finally {
    await waitOnRoute53(() => cleanedUp);
  }
}

/** Finalizes the order with a fresh key and checks what the CA returns against the order. */
async function finalize(spec: CertificateSpec, ctx: IssueContext, order: acme.Order & { replaces?: string }): Promise<IssuedCertificate> {
  const { client, log } = ctx;
  const privateKey = await createCertificateKey(spec.keyType);
  const csr = await createCsr(spec.domains, privateKey);
  const finalized = await client.finalizeOrder(order, csr);
  const fullchain = await client.getCertificate(finalized, ctx.preferredChain);
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
    const order = await ctx.client.createOrder({ identifiers, ...(replaces && { replaces }), ...(ctx.profile && { profile: ctx.profile }) } as Parameters<acme.Client['createOrder']>[0]);
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
