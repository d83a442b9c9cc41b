import {
  AddTagsToCertificateCommand,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  GetCertificateCommand,
  ImportCertificateCommand,
  ListTagsForCertificateCommand,
  paginateListCertificates,
  type ACMClient,
  type CertificateDetail,
  type CertificateSummary,
  type KeyAlgorithm,
} from '@aws-sdk/client-acm';
import { paginateGetResources, type ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { CertificateFactsCache } from '../store/certificate-facts-cache.js';
import { FACTS_TAG, factsFromTag, factsTag } from './acm-facts-tag.js';
import { readCertificate, type CertificateFacts } from '../pki/certificate.js';
import type { IssuedCertificate } from '../pki/issued-certificate.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';

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

/**
 * ACM in one region: read what is there, import or re-import (keeping the ARN), keep the tags on.
 * One instance lives for one pass: the region's certificate listing and the owner tags are read once
 * (paged), so observing a fleet costs AWS calls per page, not per certificate.
 */
export class AcmRegion {
  private taggedByName?: Promise<Map<string, string[]>>;
  /** The facts tag of each certificate found by the tag search (see acm-facts-tag.ts). */
  private factsTags = new Map<string, string>();
  private listing?: Promise<Map<string, CertificateSummary>>;

  constructor(
    private readonly acm: ACMClient,
    readonly region: string,
    /** Finds certkeeper's certificates by tag in a few paged calls (where allowed; else one ListTags per certificate). */
    private readonly tagging: ResourceGroupsTaggingAPIClient,
    /** PEM facts by ARN and listing fingerprint: a fleet costs GetCertificate calls only for what changed. */
    private readonly factsCache: CertificateFactsCache,
    /**
     * `fleet`: list the whole region once and answer every certificate from it (a pass over many);
     * `single`: ask about one certificate directly (the second look after taking a lock).
     */
    private readonly mode: 'fleet' | 'single',
  ) {}

  /**
   * The certificate at this ARN, or undefined when it does not exist (deleted by hand, other account).
   * In a fleet, from the listing and the facts tag when it is this certificate's and about `expectedDomains`;
   * else from the facts cache; else its PEM.
   */
  async get(certificateArn: string, expectedDomains?: string[]): Promise<AcmCertificate | undefined> {
    if (this.mode === 'single') return this.fetch(certificateArn);
    const summary = (await this.summaries()).get(certificateArn);
    const tagged = summary && expectedDomains && (await this.factsTagOf(certificateArn));
    const fromTag = tagged && summary.NotBefore && summary.NotAfter && factsFromTag(tagged, { notBefore: summary.NotBefore, notAfter: summary.NotAfter }, expectedDomains);
    if (fromTag && sameKeyType(fromTag.keyType, summary.KeyAlgorithm)) return { certificateArn, facts: fromTag };
    const fingerprint = summary && fingerprintOf(summary);
    const cached = fingerprint ? await this.factsCache.get(certificateArn, fingerprint) : undefined;
    if (cached) return { certificateArn, facts: cached };
    // Not in the listing (imported since, or listed by another account) or not cached: ask for the PEM.
    const found = await this.fetch(certificateArn);
    if (found && fingerprint) await this.factsCache.set(certificateArn, fingerprint, found.facts);
    return found;
  }

  /** The facts tag the region's tag search found on this certificate; none when the search cannot be made. */
  private async factsTagOf(certificateArn: string): Promise<string | undefined> {
    try {
      await this.namedCertificates();
    } catch {
      return undefined;
    }
    return this.factsTags.get(certificateArn);
  }

  private async fetch(certificateArn: string): Promise<AcmCertificate | undefined> {
    try {
      const answer = await this.acm.send(new GetCertificateCommand({ CertificateArn: certificateArn }));
      if (!answer.Certificate) return undefined;
      return { certificateArn, facts: readCertificate(answer.Certificate) };
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  }

  /** Every certificate of the region by ARN (all key types, all pages), once per pass. */
  private summaries(): Promise<Map<string, CertificateSummary>> {
    this.listing ??= (async () => {
      const byArn = new Map<string, CertificateSummary>();
      for await (const page of paginateListCertificates({ client: this.acm, pageSize: 1000 }, { Includes: { keyTypes: ALL_KEY_TYPES } })) {
        for (const summary of page.CertificateSummaryList ?? []) if (summary.CertificateArn) byArn.set(summary.CertificateArn, summary);
      }
      return byArn;
    })().catch((error: unknown) => {
      this.listing = undefined;
      throw error;
    });
    return this.listing;
  }

  /** ARNs tagged as certkeeper's certificate NAME; the region is listed once per pass, then cached. */
  async findByName(name: string): Promise<string[]> {
    if (this.mode === 'single') {
      const found = await this.taggedWith(name).catch((error: unknown) => (isAccessDenied(error) ? undefined : Promise.reject(error)));
      if (found) return found.map(([arn]) => arn);
    }
    return (await this.namedCertificates()).get(name) ?? [];
  }

  /** Every certificate of the region tagged as certkeeper's, by the name it carries (read once per pass, as findByName). */
  async namedCertificates(): Promise<ReadonlyMap<string, string[]>> {
    this.taggedByName ??= this.listManaged().catch((error: unknown) => {
      this.taggedByName = undefined;
      throw error;
    });
    return this.taggedByName;
  }

  private async listManaged(): Promise<Map<string, string[]>> {
    const summaries = await this.summaries();
    const byName = new Map<string, string[]>();
    for (const [arn, tags] of await this.managedTags(summaries)) {
      const type = summaries.get(arn)?.Type;
      if (type && type !== 'IMPORTED') continue;
      const facts = tags.get(FACTS_TAG);
      if (facts) this.factsTags.set(arn, facts);
      const name = tags.get(NAME_TAG);
      if (name && tags.get(MANAGED_BY_TAG) === MANAGED_BY_VALUE) byName.set(name, [...(byName.get(name) ?? []), arn]);
    }
    return byName;
  }

  /** certkeeper's certificates in the region (only those of `name` when given), with their tags, by the tagging API. */
  private async taggedWith(name?: string): Promise<[string, Map<string, string>][]> {
    const found: [string, Map<string, string>][] = [];
    const filters = [{ Key: MANAGED_BY_TAG, Values: [MANAGED_BY_VALUE] }, ...(name ? [{ Key: NAME_TAG, Values: [name] }] : [])];
    // 'acm' (the service) rather than 'acm:certificate': both are valid, and moto understands only the first.
    for await (const page of paginateGetResources({ client: this.tagging }, { ResourceTypeFilters: ['acm'], TagFilters: filters, ResourcesPerPage: 100 })) {
      for (const resource of page.ResourceTagMappingList ?? []) {
        if (!resource.ResourceARN?.includes(':certificate/')) continue;
        found.push([resource.ResourceARN, new Map((resource.Tags ?? []).map((tag) => [tag.Key!, tag.Value ?? '']))]);
      }
    }
    return found;
  }

  /**
   * Tags of certkeeper's certificates: through the Resource Groups Tagging API (a page holds 100);
   * where that is not allowed (no tag:GetResources permission), by asking ACM per listed certificate.
   */
  private async managedTags(summaries: Map<string, CertificateSummary>): Promise<[string, Map<string, string>][]> {
    try {
      return await this.taggedWith();
    } catch (error) {
      if (!isAccessDenied(error)) throw error;
    }
    const found: [string, Map<string, string>][] = [];
    for (const [arn, summary] of summaries) {
      if (summary.Type && summary.Type !== 'IMPORTED') continue;
      found.push([arn, await this.tags(arn)]);
    }
    return found;
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
        Tags: certificateArn ? undefined : [...ownershipTags(name), ...factsTags(issued.facts)],
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
    if (certificateArn) await this.ensureTags(arn, name, issued.facts, log);
    await this.noteImported(arn, name);
    return arn;
  }

  /**
   * Keeps this pass's listings true after an import without listing the region again: the ARN's
   * listed facts are stale (it is read directly next time) and a new ARN belongs to `name`.
   */
  private async noteImported(certificateArn: string, name: string): Promise<void> {
    const [listing, tagged] = await Promise.all([this.listing?.catch(() => undefined), this.taggedByName?.catch(() => undefined)]);
    listing?.delete(certificateArn);
    const arns = tagged?.get(name) ?? [];
    if (tagged && !arns.includes(certificateArn)) tagged.set(name, [...arns, certificateArn]);
  }

  private async noteDeleted(certificateArn: string): Promise<void> {
    const [listing, tagged] = await Promise.all([this.listing?.catch(() => undefined), this.taggedByName?.catch(() => undefined)]);
    listing?.delete(certificateArn);
    for (const [name, arns] of tagged ?? [])
      tagged!.set(
        name,
        arns.filter((arn) => arn !== certificateArn),
      );
  }

  /**
   * Retires a certificate certkeeper replaced with a new ARN (after every place moved): deleted when
   * nothing but `isOurs` (the configured places) uses it, otherwise kept, and the log says what still uses it. ACM itself refuses to
   * delete a certificate in use, which is the last word.
   */
  async retire(certificateArn: string, isOurs: (user: string) => boolean, log: AuditLogger): Promise<void> {
    const described = await this.acm.send(new DescribeCertificateCommand({ CertificateArn: certificateArn }));
    const users = (described.Certificate?.InUseBy ?? []).filter((user) => !isOurs(user));
    if (users.length > 0) {
      log.info('acm.previous_kept', { region: this.region, certificateArn, why: `still in use by ${users.join(', ')}` });
      return;
    }
    try {
      await this.acm.send(new DeleteCertificateCommand({ CertificateArn: certificateArn }));
      await this.noteDeleted(certificateArn);
      log.info('acm.deleted', { region: this.region, certificateArn, why: 'replaced by a new certificate on every configured listener' });
    } catch (error) {
      if ((error as Error).name !== 'ResourceInUseException') throw error;
      log.info('acm.previous_kept', { region: this.region, certificateArn, why: `ACM says it is still in use: ${(error as Error).message}` });
    }
  }

  /** What ACM says of the certificate (names, expiry, what uses it), or undefined when it no longer exists. */
  async describe(certificateArn: string): Promise<CertificateDetail | undefined> {
    try {
      return (await this.acm.send(new DescribeCertificateCommand({ CertificateArn: certificateArn }))).Certificate;
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') return undefined;
      throw error;
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

  /**
   * After a re-import: the ownership tags (a certificate named by ARN may lack them) and the new facts
   * (the old ones no longer match the listing, so until this call the next pass reads the PEM).
   */
  private async ensureTags(certificateArn: string, name: string, facts: CertificateFacts, log: AuditLogger): Promise<void> {
    const tags = await this.tags(certificateArn);
    const missing = ownershipTags(name).filter((tag) => tags.get(tag.Key) !== tag.Value);
    const stale = factsTags(facts).filter((tag) => tags.get(tag.Key) !== tag.Value);
    if (missing.length > 0) {
      await this.acm.send(new AddTagsToCertificateCommand({ CertificateArn: certificateArn, Tags: [...missing, ...stale] }));
      // The facts tag is a cache of the PEM: only ownership is worth an audit line.
      log.info('acm.tagged', { region: this.region, certificateArn, tags: Object.fromEntries(missing.map((tag) => [tag.Key, tag.Value])) });
      return;
    }
    if (stale.length === 0) return;
    // A cache the next pass can do without (it reads the PEM then): a refusal, e.g. a policy made before the
    // tag existed, must not fail a renewal whose certificate is already re-imported.
    await this.acm
      .send(new AddTagsToCertificateCommand({ CertificateArn: certificateArn, Tags: stale }))
      .catch((error: unknown) => log.warn('acm.facts_tag_skipped', { region: this.region, certificateArn, error: describeError(error) }));
  }

  private async tags(certificateArn: string): Promise<Map<string, string>> {
    const answer = await this.acm.send(new ListTagsForCertificateCommand({ CertificateArn: certificateArn }));
    return new Map((answer.Tags ?? []).map((tag) => [tag.Key!, tag.Value ?? '']));
  }
}

function isAccessDenied(error: unknown): boolean {
  return /AccessDenied|UnauthorizedOperation|not authorized/i.test(`${(error as Error).name} ${(error as Error).message}`);
}

/**
 * What identifies the certificate now at an ARN without fetching it: its validity and when it was
 * imported (a re-import changes ImportedAt). Undefined (fetch, do not cache) when the listing lacks them.
 */
function fingerprintOf(summary: CertificateSummary): string | undefined {
  const placedAt = summary.ImportedAt ?? summary.CreatedAt;
  if (!summary.NotBefore || !summary.NotAfter || !placedAt) return undefined;
  return [summary.NotBefore.toISOString(), summary.NotAfter.toISOString(), placedAt.toISOString()].join('|');
}

function factsTags(facts: CertificateFacts): { Key: string; Value: string }[] {
  const tag = factsTag(facts);
  return tag ? [tag] : [];
}

/** The listing's key algorithm, when it gives one, agrees with the tag's key type. */
function sameKeyType(keyType: string, algorithm: KeyAlgorithm | undefined): boolean {
  if (!algorithm) return true;
  const known: Partial<Record<KeyAlgorithm, string>> = {
    EC_prime256v1: 'ecdsa-p256',
    EC_secp384r1: 'ecdsa-p384',
    RSA_2048: 'rsa-2048',
    RSA_3072: 'rsa-3072',
    RSA_4096: 'rsa-4096',
  };
  return (known[algorithm] ?? 'other') === keyType;
}

function ownershipTags(name: string): { Key: string; Value: string }[] {
  return [
    { Key: NAME_TAG, Value: name },
    { Key: MANAGED_BY_TAG, Value: MANAGED_BY_VALUE },
  ];
}
