import type { CertificateSpec } from '../config/schema.js';
import type { CertificateFacts } from '../pki/certificate.js';
import { loadBalancerOf, type AcmRegion } from '../targets/acm.js';
import type { ListenerReader } from '../targets/listeners.js';
import type { CertificateRecord } from '../store/certificate-records.js';

/** What ACM holds for one configured region, and how it was found. */
export interface RegionObservation {
  region: string;
  certificateArn?: string;
  facts?: CertificateFacts;
  /** `config`: the configured ARN; `record`: the ARN this agent imported last; `tags`: found by certkeeper's tags. */
  foundBy?: 'config' | 'record' | 'tags';
  /** Other ARNs tagged with this name (e.g. left by an interrupted run); not deployed, reported. */
  alsoTagged: string[];
  /** Those of `alsoTagged` that nothing but the configured listeners uses: safe to retire once they serve `certificateArn`. */
  leftovers?: string[];
  /** The configured listeners and whether each serves `certificateArn` in its configured role. */
  listeners?: ListenerObservation[];
}

export interface ListenerObservation {
  arn: string;
  mode: 'default' | 'sni';
  carries: boolean;
  /** Why it could not be read (e.g. the listener was deleted). */
  error?: string;
}

export interface Observation {
  regions: RegionObservation[];
}

/**
 * Reads what is really deployed in ACM for a certificate: the configured ARN, else the one recorded
 * last time (if it still exists), else the newest certificate carrying certkeeper's tags for this
 * name. A fresh machine with an empty state directory therefore finds what an earlier one imported.
 */
export async function observeCertificate(
  spec: CertificateSpec,
  record: CertificateRecord | undefined,
  acmFor: (region: string) => AcmRegion,
  listenersIn: (region: string) => ListenerReader,
): Promise<Observation> {
  const regions = await Promise.all(
    spec.acm.map(async (target): Promise<RegionObservation> => {
      const acm = acmFor(target.region);
      if (target.certificateArn) {
        const found = await acm.get(target.certificateArn);
        return { region: target.region, certificateArn: target.certificateArn, facts: found?.facts, foundBy: 'config', alsoTagged: [] };
      }
      const recorded = record?.acm?.[target.region];
      if (recorded) {
        const found = await acm.get(recorded);
        // A run killed after importing a new ARN recorded it; the certificate it replaces is still tagged.
        if (found) return { region: target.region, certificateArn: recorded, facts: found.facts, foundBy: 'record', alsoTagged: (await acm.findByName(spec.name)).filter((arn) => arn !== recorded) };
      }
      const tagged = (await Promise.all((await acm.findByName(spec.name)).map((arn) => acm.get(arn)))).filter((found) => found !== undefined);
      const newest = tagged.sort((a, b) => b.facts.notAfter.getTime() - a.facts.notAfter.getTime())[0];
      if (!newest) return { region: target.region, alsoTagged: [] };
      return {
        region: target.region,
        certificateArn: newest.certificateArn,
        facts: newest.facts,
        foundBy: 'tags',
        alsoTagged: tagged.filter((other) => other !== newest).map((other) => other.certificateArn),
      };
    }),
  );
  // Where a certificate is deployed, do its listeners still serve it (nobody changed them by hand)?
  await Promise.all(
    regions.map(async (observed) => {
      const target = spec.acm.find((entry) => entry.region === observed.region)!;
      const arn = observed.certificateArn;
      if (!observed.facts || !arn) return;
      observed.listeners = await Promise.all(
        target.listeners.map(async (listener): Promise<ListenerObservation> => {
          try {
            return { arn: listener.arn, mode: listener.mode, carries: await listenersIn(observed.region).carries(listener, arn) };
          } catch (error) {
            return { arn: listener.arn, mode: listener.mode, carries: false, error: (error as Error).message };
          }
        }),
      );
    }),
  );
  // Extra certificates of this name that only the configured listeners use can go (after a redeploy); others stay.
  // ACM names a load balancer, not a listener, as a user: a certificate in use on a load balancer of ours
  // counts as ours only while one of our listeners carries it; otherwise another listener there uses it
  // (and deleting it would fail on every pass).
  await Promise.all(
    regions.map(async (observed) => {
      if (!observed.certificateArn || observed.alsoTagged.length === 0) return;
      const listeners = spec.acm.find((entry) => entry.region === observed.region)!.listeners;
      const ourListeners = new Set(listeners.map((listener) => listener.arn));
      const ourLoadBalancers = new Set(listeners.map((listener) => loadBalancerOf(listener.arn)));
      const carriedByOurs = async (arn: string) =>
        (await Promise.all(listeners.map((listener) => listenersIn(observed.region).carries(listener, arn).catch(() => false)))).some(Boolean);
      const onlyOurs = async (arn: string) => {
        const users = await acmFor(observed.region).inUseBy(arn);
        if (users === undefined || !users.every((user) => ourListeners.has(user) || ourLoadBalancers.has(user))) return false;
        return !users.some((user) => ourLoadBalancers.has(user)) || (await carriedByOurs(arn));
      };
      const leftovers = await Promise.all(observed.alsoTagged.map(async (arn) => ((await onlyOurs(arn)) ? [arn] : [])));
      observed.leftovers = leftovers.flat();
    }),
  );
  return { regions };
}
