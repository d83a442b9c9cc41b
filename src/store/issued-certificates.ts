import type { IssuedCertificate } from '../acme/issuer.js';
import { readCertificate } from '../pki/certificate.js';
import { FileStore } from './file-store.js';

/**
 * A certificate the CA issued that is not deployed yet, with its private key: what a crash between
 * finalize and the end of the deployment would otherwise throw away (and order again). One per
 * certificate name.
 */
export interface KeptIssuedDocument {
  certificate: string;
  /** The CA it came from: a config that points at another CA does not deploy it. */
  directoryUrl: string;
  leafPem: string;
  chainPem: string;
  /** PEM; only in this 0600 file, like the ACME account key, never in a log line or the shared store. */
  privateKeyPem: string;
  orderUrl: string;
  /** For people looking at the file; the certificate itself is the truth (`read` re-derives its facts). */
  serial: string;
  notAfter: string;
  keptAt: string;
  runId: string;
}

export interface KeptIssued {
  issued: IssuedCertificate;
  directoryUrl: string;
  keptAt: string;
}

/**
 * Where issued certificates wait until they are deployed: `stateDir/issued/NAME.json`, a 0600 file in a
 * 0700 directory, written atomically and durably, exactly as the ACME account key is kept. Always in
 * stateDir, also with the DynamoDB store: a private key never goes to DynamoDB. A damaged file is moved
 * aside (`store.file.corrupt`) and read as absent: the renewal then orders as it would have anyway.
 */
export class IssuedCertificates {
  private readonly files: FileStore;

  constructor(stateDir: string) {
    this.files = new FileStore(stateDir);
  }

  keep(name: string, issued: IssuedCertificate, context: { directoryUrl: string; runId: string }): void {
    const document: KeptIssuedDocument = {
      certificate: name,
      directoryUrl: context.directoryUrl,
      leafPem: issued.leafPem,
      chainPem: issued.chainPem,
      privateKeyPem: issued.privateKeyPem,
      orderUrl: issued.orderUrl,
      serial: issued.facts.serial,
      notAfter: issued.facts.notAfter.toISOString(),
      keptAt: new Date().toISOString(),
      runId: context.runId,
    };
    this.files.write(pathOf(name), document);
  }

  /** The kept certificate, or undefined when there is none (or its file was damaged and moved aside). */
  read(name: string): KeptIssued | undefined {
    const document = this.files.read<KeptIssuedDocument>(pathOf(name));
    if (!document) return undefined;
    let facts;
    try {
      facts = readCertificate(document.leafPem);
    } catch {
      // Fits the shape but holds no certificate: as damaged as an unparsable file, and as useless.
      this.discard(name);
      return undefined;
    }
    const issued: IssuedCertificate = { leafPem: document.leafPem, chainPem: document.chainPem, privateKeyPem: document.privateKeyPem, facts, orderUrl: document.orderUrl };
    return { issued, directoryUrl: document.directoryUrl, keptAt: document.keptAt };
  }

  discard(name: string): void {
    this.files.remove(pathOf(name));
  }
}

function pathOf(name: string): string {
  return `issued/${name}.json`;
}
