import { createHash } from 'node:crypto';
import type { CertificateFacts } from '../pki/certificate.js';
import type { FileStore } from './file-store.js';

/**
 * What certkeeper read from an ACM certificate's PEM (serial, ARI ID, usages…), kept by ARN and by
 * the listing's fingerprint of the certificate at that ARN (validity and import time). ListCertificates
 * gives the fingerprint for a whole page; only a certificate whose fingerprint changed (re-imported,
 * new) is fetched again with GetCertificate. So a pass over a fleet costs AWS calls per page, not
 * per certificate. Public facts only: no key material is ever stored here.
 */
export class CertificateFactsCache {
  constructor(private readonly store: FileStore) {}

  get(certificateArn: string, fingerprint: string): CertificateFacts | undefined {
    const entry = this.store.read<StoredFacts>(this.path(certificateArn));
    if (!entry || entry.certificateArn !== certificateArn || entry.fingerprint !== fingerprint) return undefined;
    return { ...entry.facts, notBefore: new Date(entry.facts.notBefore), notAfter: new Date(entry.facts.notAfter) };
  }

  set(certificateArn: string, fingerprint: string, facts: CertificateFacts): void {
    const stored: StoredFacts = { certificateArn, fingerprint, facts: { ...facts, notBefore: facts.notBefore.toISOString(), notAfter: facts.notAfter.toISOString() } };
    this.store.write(this.path(certificateArn), stored);
  }

  private path(certificateArn: string): string {
    // ARNs hold ':' and '/': one file per ARN, named by its hash.
    return `acm-facts/${createHash('sha256').update(certificateArn).digest('hex').slice(0, 32)}.json`;
  }
}

interface StoredFacts {
  certificateArn: string;
  fingerprint: string;
  facts: Omit<CertificateFacts, 'notBefore' | 'notAfter'> & { notBefore: string; notAfter: string };
}
