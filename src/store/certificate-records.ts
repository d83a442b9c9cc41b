import type { FileStore } from './file-store.js';

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
  constructor(private readonly store: FileStore) {}

  get(name: string): CertificateRecord | undefined {
    return this.store.read<CertificateRecord>(this.path(name));
  }

  update(name: string, change: (record: CertificateRecord) => CertificateRecord): CertificateRecord {
    const next = change(this.get(name) ?? {});
    this.store.write(this.path(name), next);
    return next;
  }

  /** One renewal at a time per certificate, across processes sharing this state directory. */
  tryLock(name: string): (() => void) | undefined {
    return this.store.tryLock(`locks/${name}.lock`);
  }

  private path(name: string): string {
    return `certificates/${name}.json`;
  }
}
