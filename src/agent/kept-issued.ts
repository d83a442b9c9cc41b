import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { IssuedCertificate } from '../pki/issued-certificate.js';
import type { CertificateSpec } from '../config/schema.js';
import type { ObservedRegion } from '../policy/decide.js';
import type { IssuedCertificates, KeptIssued } from '../store/issued-certificates.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';

/**
 * What to do with a certificate an earlier run had issued and kept (see store/issued-certificates.ts):
 * `deploy` it instead of ordering; it is `deployed` already (in ACM in every region: its key is there,
 * the local copy can go); or it is `unusable` (expired, other names or key type, another CA, older than
 * what is deployed), to be deleted with the reason.
 */
export type KeptVerdict = { verdict: 'deploy' } | { verdict: 'deployed' } | { verdict: 'unusable'; why: string };

export function judgeKept(spec: Pick<CertificateSpec, 'domains' | 'keyType' | 'acm'>, kept: KeptIssued, observed: ObservedRegion[], directoryUrl: string, now: Date): KeptVerdict {
  const { facts } = kept.issued;
  if (kept.directoryUrl !== directoryUrl) return { verdict: 'unusable', why: `issued by another CA (${kept.directoryUrl}); the config now uses ${directoryUrl}` };
  if (facts.notAfter <= now) return { verdict: 'unusable', why: `expired on ${facts.notAfter.toISOString()}` };
  const wanted = [...new Set(spec.domains.map((domain) => domain.toLowerCase()))].sort();
  if (wanted.join(',') !== facts.domains.join(','))
    return { verdict: 'unusable', why: `its names (${facts.domains.join(', ')}) are not the configured ones (${wanted.join(', ')})` };
  if (facts.keyType !== spec.keyType) return { verdict: 'unusable', why: `its key type ${facts.keyType} is not the configured ${spec.keyType}` };
  if (!keyMatches(kept.issued)) return { verdict: 'unusable', why: 'its private key does not match the certificate' };
  const inRegion = (region: string) => observed.find((entry) => entry.region === region)?.facts;
  if (spec.acm.every((target) => inRegion(target.region)?.serial === facts.serial)) return { verdict: 'deployed' };
  const newer = observed.find((entry) => entry.facts && entry.facts.serial !== facts.serial && entry.facts.notAfter >= facts.notAfter);
  if (newer?.facts) {
    return { verdict: 'unusable', why: `${newer.facts.serial} deployed in ${newer.region} is valid until ${newer.facts.notAfter.toISOString()}, as long or longer` };
  }
  return { verdict: 'deploy' };
}

/**
 * The kept certificate to deploy instead of ordering, if there is one that may be. One already in ACM
 * everywhere is deleted (`renewal.issued_discarded`) whoever looks; one that may not be deployed is
 * deleted with its reason only by the renewal (`discardUnusable`), which holds the certificate's lease.
 * A kept certificate that cannot be read or deleted is said (`renewal.issued_store_failed`), and the renewal orders as it would have.
 */
export async function keptToDeploy(
  spec: CertificateSpec,
  observed: ObservedRegion[],
  issued: IssuedCertificates,
  directoryUrl: string,
  log: AuditLogger,
  options: { discardUnusable: boolean; now?: Date },
): Promise<KeptIssued | undefined> {
  let kept: KeptIssued | undefined;
  try {
    kept = await issued.read(spec.name);
  } catch (error) {
    log.error('renewal.issued_store_failed', { action: 'read', where: issued.where(spec.name), error: describeError(error) });
    return undefined;
  }
  if (!kept) return undefined;
  const judged = judgeKept(spec, kept, observed, directoryUrl, options.now ?? new Date());
  if (judged.verdict === 'deploy') return kept;
  if (judged.verdict === 'unusable' && !options.discardUnusable) return undefined;
  try {
    await issued.discard(spec.name);
  } catch (error) {
    log.error('renewal.issued_store_failed', { action: 'delete', where: issued.where(spec.name), error: describeError(error) });
  }
  log.info('renewal.issued_discarded', {
    serial: kept.issued.facts.serial,
    notAfter: kept.issued.facts.notAfter.toISOString(),
    keptAt: kept.keptAt,
    why: judged.verdict === 'deployed' ? 'it is in ACM in every configured region (ACM holds its key)' : judged.why,
  });
  return undefined;
}

function keyMatches(issued: IssuedCertificate): boolean {
  try {
    return new X509Certificate(issued.leafPem).checkPrivateKey(createPrivateKey(issued.privateKeyPem));
  } catch {
    return false;
  }
}
