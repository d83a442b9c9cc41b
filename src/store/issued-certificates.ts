import type { IssuedCertificate } from '../pki/issued-certificate.js';
import { readCertificate } from '../pki/certificate.js';
import { join } from 'node:path';
import { FileStore } from './file-store.js';
import type { KeptKeySecrets } from './kept-key-secrets.js';
import type { StateStore } from './state-store.js';

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
  /** PEM; only in the 0600 file (or, without it, in the account key's secret store), never in a log line or DynamoDB. */
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
 * Where issued certificates wait until they are deployed, their key protected exactly as the ACME account key:
 * - by default the whole document, key included, in `stateDir/issued/NAME.json`: a 0600 file in a 0700
 *   directory, written atomically and durably, whatever the store (a private key never goes to DynamoDB);
 * - with `acme.accountKey` in Secrets Manager or SSM, the key goes there (see kept-key-secrets.ts) and the
 *   rest, public, to the store (`issued#NAME`: the file store's same file, or the DynamoDB table), so agents
 *   without a shared disk deploy what another issued.
 * A damaged document is moved aside (`store.file.corrupt`) and read as absent: the renewal then orders as it
 * would have anyway.
 */
export class IssuedCertificates {
  private filesInStateDir?: FileStore;

  constructor(
    private readonly stateDir: string,
    private readonly store?: StateStore,
    private readonly secrets?: KeptKeySecrets,
  ) {}

  /** Where a certificate's kept key is, for people (never the key). */
  where(name: string): string {
    return this.secrets && this.store ? this.secrets.where(name) : join(this.stateDir, pathOf(name));
  }

  /** stateDir, made (0700) only when something is kept there: with the key elsewhere, it is never needed. */
  private get files(): FileStore {
    this.filesInStateDir ??= new FileStore(this.stateDir);
    return this.filesInStateDir;
  }

  async keep(name: string, issued: IssuedCertificate, context: { directoryUrl: string; runId: string }): Promise<void> {
    const { privateKeyPem, ...rest } = {
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
    } satisfies KeptIssuedDocument;
    if (this.secrets && this.store) {
      // The key first: a document without its key is discarded at the next read, a key without its document never read.
      await this.secrets.put(name, privateKeyPem);
      await this.store.put<Omit<KeptIssuedDocument, 'privateKeyPem'>>(`issued#${name}`, rest);
      return;
    }
    this.files.write(pathOf(name), { ...rest, privateKeyPem });
  }

  /** The kept certificate, or undefined when there is none (or its document was damaged and moved aside). */
  async read(name: string): Promise<KeptIssued | undefined> {
    const remote = this.secrets && this.store;
    const document = remote ? await this.store.get<Partial<KeptIssuedDocument>>(`issued#${name}`) : this.files.read<Partial<KeptIssuedDocument>>(pathOf(name));
    if (!document) return undefined;
    const privateKeyPem = remote ? await this.secrets.get(name) : document.privateKeyPem;
    let facts;
    try {
      if (!privateKeyPem) throw new Error('no private key');
      facts = readCertificate(document.leafPem!);
    } catch {
      // Fits the shape but holds no certificate, or its key is gone: useless, and never to be deployed.
      await this.discard(name);
      return undefined;
    }
    const issued: IssuedCertificate = { leafPem: document.leafPem!, chainPem: document.chainPem!, privateKeyPem, facts, orderUrl: document.orderUrl! };
    return { issued, directoryUrl: document.directoryUrl!, keptAt: document.keptAt! };
  }

  async discard(name: string): Promise<void> {
    if (this.secrets && this.store) {
      // The key first: a crash in between leaves a document that the next read discards.
      await this.secrets.delete(name);
      await this.store.delete(`issued#${name}`);
      return;
    }
    this.files.remove(pathOf(name));
  }
}

function pathOf(name: string): string {
  return `issued/${name}.json`;
}
