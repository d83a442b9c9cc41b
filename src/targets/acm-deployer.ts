import type { ACMClient } from '@aws-sdk/client-acm';
import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { AcmTargetSpec, CertificateSpec, KeyType } from '../config/schema.js';
import type { IssuedCertificate } from '../pki/issued-certificate.js';
import { reimportProblems, type Usages } from '../pki/usages.js';
import type { Deployed, Deployer, DeployerPass, DeployHooks, Deployment, Observation, RecordedDeployments, RegionObservation, Retirement } from '../ports/deployer.js';
import type { PreflightCheck } from '../ports/preflight-check.js';
import type { CertificateFactsCache } from '../store/certificate-facts-cache.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import { AcmRegion } from './acm.js';
import { memoByKey } from '../util/memo-by-key.js';
import type { Place, PlaceFinder, PlaceKind } from './places.js';

export interface AcmClients {
  acm(region: string): ACMClient;
  tagging(region: string): ResourceGroupsTaggingAPIClient;
}

/**
 * The Deployer for ACM: one import per configured region (re-import keeping the ARN, or a new tagged
 * certificate), then every place in that region that should serve it (ELBv2 listeners; CloudFront
 * distributions in us-east-1) is moved to it. A new kind of place is a `PlaceKind`, not a new deployer:
 * places share the region's single import, which is what CloudFront's implied us-east-1 entry needs.
 */
export class AcmDeployer implements Deployer {
  constructor(
    private readonly clients: AcmClients,
    /** PEM facts by ARN and listing fingerprint (see AcmRegion). */
    private readonly factsCache: CertificateFactsCache,
    private readonly kinds: PlaceKind[],
  ) {}

  forPass(view: 'fleet' | 'single'): AcmDeployerPass {
    const acmIn = memoByKey((region: string) => new AcmRegion(this.clients.acm(region), region, this.clients.tagging(region), this.factsCache, view));
    return new AcmDeployerPass(
      acmIn,
      this.kinds.map((kind) => kind.forPass()),
    );
  }
}

/** A certificate to delete from ACM once another is served in its place. */
interface Retiring {
  acm: AcmRegion;
  certificateArn: string;
  /** The configured places of its region: what they are named in InUseBy does not keep it. */
  places: Place[];
}

export class AcmDeployerPass implements DeployerPass {
  constructor(
    /** ACM in one region for this pass (its listings read once); also what `discover` and left-config reports read. */
    readonly acm: (region: string) => AcmRegion,
    /** The places of each kind, their reads cached for this pass. */
    private readonly finders: PlaceFinder[],
  ) {}

  private placesIn(spec: CertificateSpec, region: string, certificateAt = 'certificates[?]'): Place[] {
    return this.finders.flatMap((find) => find(spec, region, certificateAt));
  }

  /**
   * Reads what is really deployed in ACM for a certificate: the configured ARN, else the one recorded
   * last time (if it still exists), else the newest certificate carrying certkeeper's tags for this
   * name. A fresh machine with an empty state directory therefore finds what an earlier one imported.
   */
  async observe(spec: CertificateSpec, recorded: RecordedDeployments | undefined): Promise<Observation> {
    const regions = await Promise.all(spec.acm.map((target) => this.findInRegion(spec, target, recorded?.[target.region])));
    // Where a certificate is deployed, do its places still use it (nobody changed them by hand)?
    await Promise.all(regions.map((observed) => this.observePlaces(spec, observed)));
    // Extra certificates of this name that only the configured places use can go (after a redeploy); others stay.
    await Promise.all(regions.map((observed) => this.findLeftovers(spec, observed)));
    return { regions };
  }

  private async findInRegion(spec: CertificateSpec, target: AcmTargetSpec, recorded: string | undefined): Promise<RegionObservation> {
    const acm = this.acm(target.region);
    if (target.certificateArn) {
      const found = await acm.get(target.certificateArn, spec.domains);
      return { region: target.region, certificateArn: target.certificateArn, facts: found?.facts, foundBy: 'config', alsoTagged: [] };
    }
    if (recorded) {
      const found = await acm.get(recorded, spec.domains);
      // A run killed after importing a new ARN recorded it; the certificate it replaces is still tagged.
      if (found)
        return {
          region: target.region,
          certificateArn: recorded,
          facts: found.facts,
          foundBy: 'record',
          alsoTagged: (await acm.findByName(spec.name)).filter((arn) => arn !== recorded),
        };
    }
    const tagged = (await Promise.all((await acm.findByName(spec.name)).map((arn) => acm.get(arn, spec.domains)))).filter((found) => found !== undefined);
    const newest = tagged.sort((a, b) => b.facts.notAfter.getTime() - a.facts.notAfter.getTime())[0];
    if (!newest) return { region: target.region, alsoTagged: [] };
    return {
      region: target.region,
      certificateArn: newest.certificateArn,
      facts: newest.facts,
      foundBy: 'tags',
      alsoTagged: tagged.filter((other) => other !== newest).map((other) => other.certificateArn),
    };
  }

  private async observePlaces(spec: CertificateSpec, observed: RegionObservation): Promise<void> {
    const arn = observed.certificateArn;
    if (!observed.facts || !arn) return;
    const places = this.placesIn(spec, observed.region);
    const seen = await Promise.all(
      places.map(async (place) => {
        try {
          return { place, carries: await place.carries(arn) };
        } catch (error) {
          return { place, carries: false, error: (error as Error).message };
        }
      }),
    );
    observed.listeners = seen
      .filter(({ place }) => place.mode !== undefined)
      .map(({ place, carries, error }) => ({ arn: place.id, mode: place.mode!, carries, ...(error !== undefined && { error }) }));
    const others = seen.filter(({ place }) => place.mode === undefined);
    if (others.length > 0) observed.attachments = others.map(({ place, carries, error }) => ({ kind: place.kind, id: place.id, carries, ...(error !== undefined && { error }) }));
  }

  /**
   * ACM's InUseBy names a load balancer, not a listener: a certificate in use on a load balancer of ours
   * counts as ours only while one of our places carries it; otherwise another listener there uses it
   * (and deleting it would fail on every pass).
   */
  private async findLeftovers(spec: CertificateSpec, observed: RegionObservation): Promise<void> {
    if (!observed.certificateArn || observed.alsoTagged.length === 0) return;
    const places = this.placesIn(spec, observed.region);
    const carriedByOurs = async (arn: string) => (await Promise.all(places.map((place) => place.carries(arn).catch(() => false)))).some(Boolean);
    const onlyOurs = async (arn: string) => {
      const users = await this.acm(observed.region).inUseBy(arn);
      if (users === undefined) return false;
      const claims = users.map((user) => places.map((place) => place.claims(user)).find(Boolean));
      if (claims.some((claim) => claim === undefined)) return false;
      return !claims.includes('shared') || (await carriedByOurs(arn));
    };
    const leftovers = await Promise.all(observed.alsoTagged.map(async (arn) => ((await onlyOurs(arn)) ? [arn] : [])));
    observed.leftovers = leftovers.flat();
  }

  /** A configured certificateArn exists and can be re-imported; each place exists and can serve it. */
  async preflight(spec: CertificateSpec, at: string): Promise<PreflightCheck[]> {
    const checks = spec.acm.flatMap((target, index) => {
      const places = this.placesIn(spec, target.region, at).map((place) => place.preflight());
      return target.certificateArn ? [this.checkCertificateArn(spec, target.certificateArn, target.region, at, `${at}.acm[${index}].certificateArn`), ...places] : places;
    });
    return Promise.all(checks);
  }

  private async checkCertificateArn(spec: CertificateSpec, arn: string, region: string, certificateAt: string, at: string): Promise<PreflightCheck> {
    let found: Awaited<ReturnType<AcmRegion['get']>>;
    try {
      found = await this.acm(region).get(arn, spec.domains);
    } catch (error) {
      return {
        check: 'certificateArn',
        ok: false,
        detail: `ACM certificate ${arn} cannot be read: ${describeError(error)}`,
        fix: 'allow acm:GetCertificate (see `certkeeper iam-policy`)',
      };
    }
    if (!found) {
      return {
        check: 'certificateArn',
        ok: false,
        detail: `ACM certificate ${arn} not found in ${region}`,
        fix: `check ${at}, or remove it to let certkeeper import (and tag) a certificate of its own`,
      };
    }
    const problems = reimportProblems(found.facts, { keyType: spec.keyType, usages: orderedUsages(spec.keyType) });
    if (problems.length > 0) {
      return {
        check: 'certificateArn',
        ok: false,
        detail: `ACM certificate ${arn} cannot be re-imported: ${problems.join('; ')}`,
        fix: `set ${certificateAt}.keyType to match it${found.facts.keyType === 'other' ? '' : ` ("${found.facts.keyType}")`}, or remove ${at} to import a new certificate`,
      };
    }
    return { check: 'certificateArn', ok: true, detail: `ACM certificate ${arn} exists in ${region} and can be re-imported (${spec.keyType})` };
  }

  async deploy(spec: CertificateSpec, issued: IssuedCertificate, observation: Observation, { log, signal, onStep, onImported }: DeployHooks): Promise<Deployed> {
    const deployments: Deployment[] = [];
    const replacedByNewArn: Retiring[] = [];
    for (const target of spec.acm) {
      signal.throwIfAborted();
      onStep(`deploying to ACM in ${target.region}`);
      const observed = observation.regions.find((entry) => entry.region === target.region);
      const acm = this.acm(target.region);
      // ACM refuses a re-import that changes the key algorithm or drops usages: then import a new one and move the places.
      const incompatible = observed?.facts ? reimportProblems(observed.facts, issued.facts) : [];
      const reimportArn = target.certificateArn ?? (observed?.facts && incompatible.length === 0 ? observed.certificateArn : undefined);
      if (incompatible.length > 0) {
        log.info('acm.reimport_incompatible', {
          region: target.region,
          certificateArn: observed?.certificateArn,
          why: incompatible,
          action: target.certificateArn ? 're-import into the configured ARN anyway' : 'import a new certificate',
        });
      }
      const certificateArn = await acm.import(issued, spec.name, reimportArn, log);
      await onImported(target.region, certificateArn);

      const replaced = [observed?.certificateArn, ...(observed?.alsoTagged ?? [])].filter((arn): arn is string => Boolean(arn) && arn !== certificateArn);
      const places = this.placesIn(spec, target.region);
      for (const place of places) await place.bind(certificateArn, replaced, log);
      // The certificate replaced, and any left by an interrupted run (`alsoTagged`), go once the new one is served.
      if (observed && observed.foundBy !== 'config') {
        for (const old of replaced) replacedByNewArn.push({ acm, certificateArn: old, places });
      }
      deployments.push({ region: target.region, certificateArn });
    }
    return { deployments, retirement: retirementOf(replacedByNewArn) };
  }

  /**
   * Puts the deployed certificate back on places that no longer use it (drift): no order, no import.
   * SNI listeners also lose other certificates of this name (`alsoTagged`), as after a renewal.
   */
  async redeploy(spec: CertificateSpec, observation: Observation, log: AuditLogger): Promise<Deployed> {
    const deployments: Deployment[] = [];
    const leftovers: Retiring[] = [];
    for (const target of spec.acm) {
      const observed = observation.regions.find((entry) => entry.region === target.region);
      if (!observed?.certificateArn) continue;
      const places = this.placesIn(spec, target.region);
      const carried = new Set([
        ...(observed.listeners ?? []).filter((entry) => entry.carries).map((entry) => entry.arn),
        ...(observed.attachments ?? []).filter((entry) => entry.carries).map((entry) => entry.id),
      ]);
      for (const place of places) {
        if (carried.has(place.id)) continue;
        await place.bind(observed.certificateArn, observed.alsoTagged, log);
      }
      for (const arn of observed.leftovers ?? []) leftovers.push({ acm: this.acm(target.region), certificateArn: arn, places });
      deployments.push({ region: target.region, certificateArn: observed.certificateArn });
    }
    return { deployments, retirement: retirementOf(leftovers) };
  }
}

function retirementOf(olds: Retiring[]): Retirement {
  return {
    pending: olds.map((old) => old.certificateArn),
    async retire(log) {
      for (const old of olds) await old.acm.retire(old.certificateArn, (user) => old.places.some((place) => place.claims(user) !== undefined), log);
    },
    keep(why, log) {
      for (const old of olds) log.info('acm.previous_kept', { region: old.acm.region, certificateArn: old.certificateArn, why });
    },
  };
}

/** What a public CA puts in a server certificate (Let's Encrypt: keyEncipherment only for RSA; serverAuth only). */
function orderedUsages(keyType: KeyType): Usages {
  return { keyUsages: ['digitalSignature', ...(keyType.startsWith('rsa') ? ['keyEncipherment'] : [])].sort(), extendedKeyUsages: ['serverAuth'] };
}
