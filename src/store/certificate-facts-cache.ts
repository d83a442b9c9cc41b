import { createHash } from 'node:crypto';
import type { CertificateFacts } from '../pki/certificate.js';
import type { StateStore, StoreKey } from './state-store.js';

/**
 * What certkeeper read from an ACM certificate's PEM (serial, ARI ID, usages…), kept by ARN and by
 * the listing's fingerprint of the certificate at that ARN (validity and import time). ListCertificates
 * gives the fingerprint for a whole page; only a certificate whose fingerprint changed (re-imported,
 * new) is fetched again with GetCertificate. So a pass over a fleet costs AWS calls per page, not
 * per certificate. Public facts only: no key material is ever stored here.
 *
 * Certificates certkeeper imported carry these facts in a tag (targets/acm-facts-tag.ts): this cache is
 * for the others (imported by hand, or before the tag existed) and for a tag that no longer matches.
 *
 * Kept in the state store: files in stateDir (`acm-facts/`, read one by one, written atomically but
 * without fsync: a cache AWS can rebuild), or the shared DynamoDB
 * table, read whole in one paged Scan per process, so a scheduled task without a disk (and every agent
 * sharing the table) pays GetCertificate once per certificate, not on every run.
 */
export class CertificateFactsCache {
  private shared?: Promise<Map<string, StoredFacts>>;

  constructor(private readonly store: StateStore) {}

  async get(certificateArn: string, fingerprint: string): Promise<CertificateFacts | undefined> {
    const entry = this.store.type === 'dynamodb' ? (await this.sharedEntries()).get(certificateArn) : await this.store.get<StoredFacts>(keyOf(certificateArn));
    if (!entry || entry.certificateArn !== certificateArn || entry.fingerprint !== fingerprint) return undefined;
    return { ...entry.facts, notBefore: new Date(entry.facts.notBefore), notAfter: new Date(entry.facts.notAfter) };
  }

  async set(certificateArn: string, fingerprint: string, facts: CertificateFacts): Promise<void> {
    const stored: StoredFacts = { certificateArn, fingerprint, facts: { ...facts, notBefore: facts.notBefore.toISOString(), notAfter: facts.notAfter.toISOString() } };
    if (this.store.type === 'dynamodb') (await this.sharedEntries()).set(certificateArn, stored);
    await this.store.put<StoredFacts>(keyOf(certificateArn), stored);
  }

  private sharedEntries(): Promise<Map<string, StoredFacts>> {
    this.shared ??= this.store.list<StoredFacts>('facts#').then(
      (entries) => new Map(entries.map(({ value }) => [value.certificateArn, value])),
      (error: unknown) => {
        this.shared = undefined;
        throw error;
      },
    );
    return this.shared;
  }
}

function keyOf(certificateArn: string): StoreKey {
  // ARNs hold ':' and '/': keyed (and, in stateDir, named) by a hash of the ARN.
  return `facts#${createHash('sha256').update(certificateArn).digest('hex').slice(0, 32)}`;
}

interface StoredFacts {
  certificateArn: string;
  fingerprint: string;
  facts: Omit<CertificateFacts, 'notBefore' | 'notAfter'> & { notBefore: string; notAfter: string };
}
