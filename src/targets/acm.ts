import {
  AddTagsToCertificateCommand,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  GetCertificateCommand,
  ImportCertificateCommand,
  ListTagsForCertificateCommand,
  paginateListCertificates,
  type ACMClient,
  type KeyAlgorithm,
} from '@aws-sdk/client-acm';
import { readCertificate, type CertificateFacts } from '../pki/certificate.js';
import type { IssuedCertificate } from '../acme/issuer.js';
import type { AuditLogger } from '../telemetry/logger.js';

/** Ownership is by tags, never by guessing from SANs. */
export const NAME_TAG = 'certkeeper:name';
export const MANAGED_BY_TAG = 'managed-by';
export const MANAGED_BY_VALUE = 'certkeeper';

// Real ACM lists only RSA_1024/RSA_2048 certificates unless asked for the other key types.
export const ALL_KEY_TYPES: KeyAlgorithm[] = ['RSA_1024', 'RSA_2048', 'RSA_3072', 'RSA_4096', 'EC_prime256v1', 'EC_secp384r1', 'EC_secp521r1'];

export interface AcmCertificate {
  certificateArn: string;
  facts: CertificateFacts;
}

/** ACM in one region: read what is there, import or re-import (keeping the ARN), keep the tags on. */
export class AcmRegion {
  private taggedByName?: Promise<Map<string, string[]>>;

  constructor(
    private readonly acm: ACMClient,
    readonly region: string,
  ) {}

  /** The certificate at this ARN, or undefined when it does not exist (deleted by hand, other account). */
  async get(certificateArn: string): Promise<AcmCertificate | undefined> {
    try {
      const answer = await this.acm.send(new GetCertificateCommand({ CertificateArn: certificateArn }));
      if (!answer.Certificate) return undefined;
      return { certificateArn, facts: readCertificate(answer.Certificate) };
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  }

  /** ARNs tagged as certkeeper's certificate NAME; the region is listed once per pass, then cached. */
  async findByName(name: string): Promise<string[]> {
    this.taggedByName ??= this.listManaged();
    return (await this.taggedByName).get(name) ?? [];
  }

  private async listManaged(): Promise<Map<string, string[]>> {
    const byName = new Map<string, string[]>();
    for await (const page of paginateListCertificates({ client: this.acm }, { Includes: { keyTypes: ALL_KEY_TYPES } })) {
      for (const summary of page.CertificateSummaryList ?? []) {
        if (summary.Type && summary.Type !== 'IMPORTED') continue;
        const tags = await this.tags(summary.CertificateArn!);
        const name = tags.get(NAME_TAG);
        if (name && tags.get(MANAGED_BY_TAG) === MANAGED_BY_VALUE) byName.set(name, [...(byName.get(name) ?? []), summary.CertificateArn!]);
      }
    }
    return byName;
  }

  /**
   * Imports the certificate: into `certificateArn` when given (the ARN, and everything attached to it,
   * stays), otherwise as a new certificate tagged with its name so the next run finds it again.
   */
  async import(issued: IssuedCertificate, name: string, certificateArn: string | undefined, log: AuditLogger): Promise<string> {
    const answer = await this.acm.send(
      new ImportCertificateCommand({
        CertificateArn: certificateArn,
        Certificate: Buffer.from(issued.leafPem),
        CertificateChain: issued.chainPem ? Buffer.from(issued.chainPem) : undefined,
        PrivateKey: Buffer.from(issued.privateKeyPem),
        // Tags cannot be set in a re-import (AWS rejects it); they are checked just after.
        Tags: certificateArn ? undefined : ownershipTags(name),
      }),
    );
    const arn = answer.CertificateArn!;
    log.info('acm.imported', {
      region: this.region,
      certificateArn: arn,
      reimport: Boolean(certificateArn),
      serial: issued.facts.serial,
      notAfter: issued.facts.notAfter.toISOString(),
    });
    if (certificateArn) await this.ensureTags(arn, name, log);
    this.taggedByName = undefined;
    return arn;
  }

  /**
   * Retires a certificate certkeeper replaced with a new ARN (after every listener moved): deleted when
   * nothing else uses it, otherwise kept, and the log says what still uses it. ACM itself refuses to
   * delete a certificate in use, which is the last word.
   */
  async retire(certificateArn: string, movedListeners: string[], log: AuditLogger): Promise<void> {
    const ours = new Set([...movedListeners, ...movedListeners.map(loadBalancerOf)]);
    const described = await this.acm.send(new DescribeCertificateCommand({ CertificateArn: certificateArn }));
    const users = (described.Certificate?.InUseBy ?? []).filter((user) => !ours.has(user));
    if (users.length > 0) {
      log.info('acm.previous_kept', { region: this.region, certificateArn, why: `still in use by ${users.join(', ')}` });
      return;
    }
    try {
      await this.acm.send(new DeleteCertificateCommand({ CertificateArn: certificateArn }));
      log.info('acm.deleted', { region: this.region, certificateArn, why: 'replaced by a new certificate on every configured listener' });
    } catch (error) {
      if ((error as Error).name !== 'ResourceInUseException') throw error;
      log.info('acm.previous_kept', { region: this.region, certificateArn, why: `ACM says it is still in use: ${(error as Error).message}` });
    }
  }

  /** What uses the certificate (ACM's InUseBy), or undefined when it no longer exists. */
  async inUseBy(certificateArn: string): Promise<string[] | undefined> {
    try {
      const described = await this.acm.send(new DescribeCertificateCommand({ CertificateArn: certificateArn }));
      return described.Certificate?.InUseBy ?? [];
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  }

  private async ensureTags(certificateArn: string, name: string, log: AuditLogger): Promise<void> {
    const tags = await this.tags(certificateArn);
    const missing = ownershipTags(name).filter((tag) => tags.get(tag.Key) !== tag.Value);
    if (missing.length === 0) return;
    await this.acm.send(new AddTagsToCertificateCommand({ CertificateArn: certificateArn, Tags: missing }));
    log.info('acm.tagged', { region: this.region, certificateArn, tags: Object.fromEntries(missing.map((tag) => [tag.Key, tag.Value])) });
  }

  private async tags(certificateArn: string): Promise<Map<string, string>> {
    const answer = await this.acm.send(new ListTagsForCertificateCommand({ CertificateArn: certificateArn }));
    return new Map((answer.Tags ?? []).map((tag) => [tag.Key!, tag.Value ?? '']));
  }
}

/** arn:…:listener/app/NAME/LB/LISTENER → arn:…:loadbalancer/app/NAME/LB (real ACM lists load balancers in InUseBy). */
export function loadBalancerOf(listenerArn: string): string {
  return listenerArn.replace(':listener/', ':loadbalancer/').replace(/\/[0-9a-f]+$/, '');
}

function ownershipTags(name: string): { Key: string; Value: string }[] {
  return [
    { Key: NAME_TAG, Value: name },
    { Key: MANAGED_BY_TAG, Value: MANAGED_BY_VALUE },
  ];
}
