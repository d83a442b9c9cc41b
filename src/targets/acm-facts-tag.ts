import { createHash } from 'node:crypto';
import type { KeyType } from '../config/schema.js';
import type { CertificateFacts } from '../pki/certificate.js';

/**
 * What only the PEM says of a certificate certkeeper imported (serial, ARI certificate ID, key type,
 * usages), kept with the certificate as an ACM tag, so a pass over a fleet reads it from the paged
 * tag search it already makes instead of one GetCertificate per certificate (ACM allows 10 a second
 * per account and region: 100 s for a thousand). Public facts only.
 *
 * Value: `1 <notBefore> <notAfter> <serial> <ariCertId|-> <keyType> <names digest> <key usages|-> <extended key usages|->`,
 * times in epoch seconds, lists joined by `/`: ACM tag values are ≤ 256 characters of letters, digits,
 * spaces and `_ . : / = + - @`. The SANs are too long (and `*` is not allowed), so only a digest of them
 * is kept: the tag answers for the names a caller expects, or not at all.
 */
export const FACTS_TAG = 'certkeeper:facts';

const VERSION = '1';
const MAX_VALUE = 256;
const ALLOWED = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** The tag for a certificate's facts, or undefined when they do not fit in a tag value (then GetCertificate reads them). */
export function factsTag(facts: CertificateFacts): { Key: string; Value: string } | undefined {
  const value = [
    VERSION,
    seconds(facts.notBefore),
    seconds(facts.notAfter),
    facts.serial,
    facts.ariCertId ?? '-',
    facts.keyType,
    namesDigest(facts.domains),
    list(facts.usages.keyUsages),
    list(facts.usages.extendedKeyUsages),
  ].join(' ');
  return value.length <= MAX_VALUE && ALLOWED.test(value) ? { Key: FACTS_TAG, Value: value } : undefined;
}

/**
 * The facts a tag gives, trusted only when the tag belongs to the certificate now at the ARN (its validity
 * is the listing's: a tag left from before a re-import is not) and to the names expected; otherwise undefined.
 */
export function factsFromTag(value: string, listed: { notBefore: Date; notAfter: Date }, expectedDomains: string[]): CertificateFacts | undefined {
  const fields = value.split(' ');
  if (fields.length !== 9 || fields[0] !== VERSION) return undefined;
  const [, notBefore, notAfter, serial, ariCertId, keyType, digest, keyUsages, extendedKeyUsages] = fields as [string, ...string[]];
  if (notBefore !== seconds(listed.notBefore) || notAfter !== seconds(listed.notAfter)) return undefined;
  const domains = [...new Set(expectedDomains.map((domain) => domain.toLowerCase()))].sort();
  if (digest !== namesDigest(domains) || !/^[0-9a-f]+$/.test(serial!)) return undefined;
  return {
    serial: serial!,
    notBefore: new Date(Number(notBefore) * 1000),
    notAfter: new Date(Number(notAfter) * 1000),
    domains,
    keyType: keyType as KeyType | 'other',
    ...(ariCertId !== '-' && { ariCertId }),
    usages: { keyUsages: unlist(keyUsages!), extendedKeyUsages: unlist(extendedKeyUsages!) },
  };
}

function seconds(at: Date): string {
  return String(Math.floor(at.getTime() / 1000));
}

/** 128 bits of SHA-256 over the sorted names: which names, without spelling them out. */
function namesDigest(sortedDomains: string[]): string {
  return createHash('sha256').update(sortedDomains.join(',')).digest().subarray(0, 16).toString('base64url');
}

function list(items: string[]): string {
  return items.length === 0 ? '-' : items.join('/');
}

function unlist(field: string): string[] {
  return field === '-' ? [] : field.split('/');
}
