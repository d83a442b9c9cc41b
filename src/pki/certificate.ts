import { X509Certificate, createPrivateKey } from 'node:crypto';
import { X509Certificate as ParsedExtensions } from '@peculiar/x509';
import type { KeyType } from '../config/schema.js';
import { ariCertId } from './ari-cert-id.js';
import { readUsages, type Usages } from './usages.js';

/** The facts certkeeper needs about a certificate, read from its PEM (never from a config file). */
export interface CertificateFacts {
  /** Lower-case hex without separators, as ACME and `openssl x509 -serial` print it. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** DNS subject alternative names, sorted. */
  domains: string[];
  keyType: KeyType | 'other';
  /** The issuer's DN; absent when the facts come from the certificate's ACM tag rather than its PEM (see targets/acm-facts-tag.ts). */
  issuer?: string;
  /** RFC 9773 certificate ID, to ask the CA for renewal information and to name it in `replaces`. */
  ariCertId?: string;
  /** Key Usage and Extended Key Usage: ACM refuses re-imports that drop some of them. */
  usages: Usages;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function splitPemChain(pem: string): string[] {
  return (pem.match(PEM_BLOCK) ?? []).map((block) => `${block}\n`);
}

export function readCertificate(pem: string): CertificateFacts {
  const certificate = new X509Certificate(pem);
  // node:crypto reads neither the AKI nor the usages: one @peculiar/x509 parse serves both (it is the costly one).
  const extensions = new ParsedExtensions(pem);
  return {
    serial: normaliseSerial(certificate.serialNumber),
    notBefore: new Date(certificate.validFrom),
    notAfter: new Date(certificate.validTo),
    domains: dnsNames(certificate),
    keyType: keyTypeOf(certificate),
    issuer: certificate.issuer.replace(/\n/g, ', '),
    ariCertId: ariCertId(extensions),
    usages: readUsages(extensions),
  };
}

/** ACM prints serials as "0a:1b:…"; Node as "0A1B…": compare them in one form. */
export function normaliseSerial(serial: string): string {
  return serial
    .replace(/:/g, '')
    .toLowerCase()
    .replace(/^0+(?=.)/, '');
}

function dnsNames(certificate: X509Certificate): string[] {
  const names = (certificate.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
  return [...new Set(names)].sort();
}

function keyTypeOf(certificate: X509Certificate): KeyType | 'other' {
  const key = certificate.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    if (details.namedCurve === 'prime256v1') return 'ecdsa-p256';
    if (details.namedCurve === 'secp384r1') return 'ecdsa-p384';
  }
  if (key.asymmetricKeyType === 'rsa' && [2048, 3072, 4096].includes(details.modulusLength ?? 0)) {
    return `rsa-${details.modulusLength}` as KeyType;
  }
  return 'other';
}

/**
 * Refuses what the CA sent when it is not what was ordered, before anything reaches ACM:
 * other names, a key that is not ours, or a certificate that is already expired.
 */
export function checkIssuedCertificate(leafPem: string, privateKeyPem: string, orderedDomains: string[], now = new Date()): CertificateFacts {
  let facts: CertificateFacts;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(leafPem);
    facts = readCertificate(leafPem);
  } catch (error) {
    throw new Error(`the CA returned a certificate that cannot be parsed: ${(error as Error).message}`, { cause: error });
  }
  const wanted = [...new Set(orderedDomains.map((d) => d.toLowerCase()))].sort();
  if (wanted.join(',') !== facts.domains.join(',')) {
    throw new Error(`the CA returned a certificate for ${facts.domains.join(', ')} but ${wanted.join(', ')} was ordered`);
  }
  if (!certificate.checkPrivateKey(createPrivateKey(privateKeyPem))) {
    throw new Error('the CA returned a certificate whose public key does not match the key of the request');
  }
  if (facts.notAfter <= now) throw new Error(`the CA returned a certificate that expired on ${facts.notAfter.toISOString()}`);
  return facts;
}

/** The days (fractional) from `now` to `notAfter`. */
export function daysLeft(notAfter: Date, now: Date): number {
  return (notAfter.getTime() - now.getTime()) / 86_400_000;
}

/**
 * The chain the CA sent must lead from the leaf upwards, each certificate issued and signed by the next:
 * ACM would otherwise serve a leaf with someone else's intermediate, which clients cannot verify.
 */
export function checkChain(leafPem: string, chainPems: string[]): void {
  if (chainPems.length === 0) throw new Error('the CA returned a certificate without its issuing chain');
  const certificates = [leafPem, ...chainPems].map((pem, index) => {
    try {
      return new X509Certificate(pem);
    } catch (error) {
      throw new Error(`the CA returned a chain whose certificate ${index} cannot be parsed: ${(error as Error).message}`, { cause: error });
    }
  });
  for (let index = 0; index + 1 < certificates.length; index++) {
    const [child, parent] = [certificates[index]!, certificates[index + 1]!];
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      throw new Error(
        `the CA returned a chain that does not lead to its issuer: "${child.subject.replace(/\n/g, ', ')}" is not signed by "${parent.subject.replace(/\n/g, ', ')}"`,
      );
    }
  }
}
