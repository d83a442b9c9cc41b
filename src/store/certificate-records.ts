import type { AuditLogger } from '../telemetry/logger.js';
import type { Lease, StateStore } from './state-store.js';

/**
 * What the agent remembers about one certificate between runs. Hints and history only: the
 * deployed truth is re-read from AWS on every pass.
 */
export interface CertificateRecord {
  /** ARN imported last, per region: spares a tag search over the whole region. */
  acm?: Record<string, string>;
  lastSuccess?: { at: string; serial: string; notAfter: string };
  lastFailure?: { at: string; error: string };
  consecutiveFailures?: number;
  /** The CA's renewal information for the deployed certificate (RFC 9773), and the moment picked in its window. */
  ari?: {
    certId: string;
    start: string;
    end: string;
    chosenAt: string;
    explanationURL?: string;
    checkedAt: string;
    nextCheckAt: string;
  };
  /** Why the last ARI check failed (the backstop rule applies meanwhile), and when to ask again. */
  ariUnavailable?: { certId: string; error: string; at: string; nextCheckAt: string };
}

export class CertificateRecords {
  constructor(private readonly store: StateStore) {}

  get(name: string): Promise<CertificateRecord | undefined> {
    return this.store.get<CertificateRecord>(`cert#${name}`);
  }

  update(name: string, change: (record: CertificateRecord) => CertificateRecord): Promise<CertificateRecord> {
    return this.store.update<CertificateRecord>(`cert#${name}`, (current) => change(current ?? {}));
  }

  /** One process at a time acts on a certificate (orders it, imports it, touches its listeners). */
  tryLease(name: string, log: AuditLogger): Promise<Lease | undefined> {
    return this.store.tryLease(name, log);
  }
}
