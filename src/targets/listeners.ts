import {
  AddListenerCertificatesCommand,
  DescribeListenerCertificatesCommand,
  DescribeListenersCommand,
  ModifyListenerCommand,
  RemoveListenerCertificatesCommand,
  type ElasticLoadBalancingV2Client,
  type Listener,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CertificateSpec, ListenerSpec } from '../config/schema.js';
import type { PreflightCheck } from '../ports/preflight-check.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import { memoByKey } from '../util/memo-by-key.js';
import type { Place, PlaceKind } from './places.js';

/**
 * Makes a load-balancer listener serve `certificateArn`. Idempotent: a listener that already does is
 * left alone. In SNI mode the new certificate is added before the one it replaces is removed, so the
 * listener is never without this certificate.
 */
export async function bindListener(elb: ElasticLoadBalancingV2Client, listener: ListenerSpec, certificateArn: string, replacedArns: string[], log: AuditLogger): Promise<void> {
  try {
    await bind(elb, listener, certificateArn, replacedArns, log);
  } catch (error) {
    // AWS's own message ("The specified listener does not exist.") does not say which of several listeners.
    throw new Error(`listener ${listener.arn}: cannot make it serve ${certificateArn}: ${(error as Error).message}`, { cause: error });
  }
}

async function bind(elb: ElasticLoadBalancingV2Client, listener: ListenerSpec, certificateArn: string, replacedArns: string[], log: AuditLogger): Promise<void> {
  if (listener.mode === 'default') {
    const current = defaultCertificateOf(listener.arn, await describeListener(elb, listener.arn));
    if (current === certificateArn) return;
    await elb.send(new ModifyListenerCommand({ ListenerArn: listener.arn, Certificates: [{ CertificateArn: certificateArn }] }));
    log.info('listener.updated', { listenerArn: listener.arn, mode: 'default', previousCertificateArn: current ?? null, certificateArn });
    return;
  }

  const sni = await sniCertificates(elb, listener.arn);
  if (!sni.includes(certificateArn)) {
    await elb.send(new AddListenerCertificatesCommand({ ListenerArn: listener.arn, Certificates: [{ CertificateArn: certificateArn }] }));
    log.info('listener.updated', { listenerArn: listener.arn, mode: 'sni', action: 'added', certificateArn });
  }
  const stale = replacedArns.filter((arn) => arn !== certificateArn && sni.includes(arn));
  if (stale.length > 0) {
    await elb.send(new RemoveListenerCertificatesCommand({ ListenerArn: listener.arn, Certificates: stale.map((arn) => ({ CertificateArn: arn })) }));
    log.info('listener.updated', { listenerArn: listener.arn, mode: 'sni', action: 'removed', certificateArns: stale, replacedBy: certificateArn });
  }
}

/**
 * What listeners carry, read once per listener for one pass: many certificates share a listener (SNI),
 * so a fleet costs one read per listener, not one per certificate. A pass that acts looks again with a
 * fresh reader after taking its lock, so a change made earlier in the pass is never acted on stale.
 */
export class ListenerReader {
  private readonly described = new Map<string, Promise<Listener | undefined>>();
  private readonly sni = new Map<string, Promise<string[]>>();

  constructor(private readonly elb: ElasticLoadBalancingV2Client) {}

  async carries(listener: ListenerSpec, certificateArn: string): Promise<boolean> {
    if (listener.mode === 'sni') return (await this.once(this.sni, listener.arn, sniCertificates)).includes(certificateArn);
    return defaultCertificateOf(listener.arn, await this.describe(listener.arn)) === certificateArn;
  }

  /** The listener as DescribeListeners gives it (protocol, port, default certificate), asked once per pass. */
  describe(listenerArn: string): Promise<Listener | undefined> {
    return this.once(this.described, listenerArn, describeListener);
  }

  private once<T>(cache: Map<string, Promise<T>>, listenerArn: string, read: (elb: ElasticLoadBalancingV2Client, arn: string) => Promise<T>): Promise<T> {
    let answer = cache.get(listenerArn);
    if (!answer) cache.set(listenerArn, (answer = read(this.elb, listenerArn)));
    return answer;
  }
}

async function describeListener(elb: ElasticLoadBalancingV2Client, listenerArn: string): Promise<Listener | undefined> {
  return (await elb.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] }))).Listeners?.[0];
}

function defaultCertificateOf(listenerArn: string, found: Listener | undefined): string | undefined {
  if (!found) throw new Error(`listener ${listenerArn} not found`);
  return found.Certificates?.[0]?.CertificateArn;
}

/** Additional (non-default) certificates, all pages. */
async function sniCertificates(elb: ElasticLoadBalancingV2Client, listenerArn: string): Promise<string[]> {
  const arns: string[] = [];
  let marker: string | undefined;
  do {
    const page = await elb.send(new DescribeListenerCertificatesCommand({ ListenerArn: listenerArn, Marker: marker }));
    for (const certificate of page.Certificates ?? []) if (!certificate.IsDefault) arns.push(certificate.CertificateArn!);
    marker = page.NextMarker;
  } while (marker);
  return arns;
}

/** The load-balancer listeners of a certificate's `acm` entries, as places of the ACM deployer. */
export function listenerPlaces(elbv2: (region: string) => ElasticLoadBalancingV2Client): PlaceKind {
  return {
    forPass() {
      const readerIn = memoByKey((region: string) => new ListenerReader(elbv2(region)));
      return (spec: CertificateSpec, region: string, certificateAt: string) => {
        const index = spec.acm.findIndex((target) => target.region === region);
        if (index < 0) return [];
        return spec.acm[index]!.listeners.map((listener, position): Place => ({
          kind: 'listener',
          id: listener.arn,
          mode: listener.mode,
          carries: (certificateArn) => readerIn(region).carries(listener, certificateArn),
          bind: (certificateArn, replaced, log) => bindListener(elbv2(region), listener, certificateArn, replaced, log),
          // ACM names a load balancer, not a listener, as a user: another listener there may be the one using it.
          claims: (user) => (user === listener.arn ? 'own' : user === loadBalancerOf(listener.arn) ? 'shared' : undefined),
          preflight: () => checkListener(listener.arn, region, `${certificateAt}.acm[${index}].listeners[${position}]`, readerIn(region)),
        }));
      };
    },
  };
}

/** arn:…:listener/app/NAME/LB/LISTENER → arn:…:loadbalancer/app/NAME/LB (real ACM lists load balancers in InUseBy). */
export function loadBalancerOf(listenerArn: string): string {
  return listenerArn.replace(':listener/', ':loadbalancer/').replace(/\/[0-9a-f]+$/, '');
}

/** The listener exists, is HTTPS or TLS, and is in the region of its `acm` entry. */
async function checkListener(arn: string, region: string, at: string, reader: ListenerReader): Promise<PreflightCheck> {
  const arnRegion = arn.split(':')[3];
  if (arnRegion !== region) {
    return { check: 'listener', ok: false, detail: `listener ${arn} is in ${arnRegion}, not in ${region}`, fix: `check ${at}: put it under an acm entry for ${arnRegion}` };
  }
  let found: Listener | undefined;
  try {
    found = await reader.describe(arn);
  } catch (error) {
    if (!/^ListenerNotFound/.test((error as Error).name)) {
      return {
        check: 'listener',
        ok: false,
        detail: `listener ${arn} cannot be read in ${region}: ${describeError(error)}`,
        fix: 'allow elasticloadbalancing:DescribeListeners (see `certkeeper iam-policy`)',
      };
    }
  }
  if (!found) {
    return {
      check: 'listener',
      ok: false,
      detail: `listener ${arn} not found in ${region}`,
      fix: `check ${at}: the ARN of an existing listener, in the region of its load balancer`,
    };
  }
  if (found.Protocol !== 'HTTPS' && found.Protocol !== 'TLS') {
    return {
      check: 'listener',
      ok: false,
      detail: `listener ${arn} is ${found.Protocol ?? 'of no protocol'} on port ${found.Port ?? '?'}, not HTTPS or TLS: it cannot serve a certificate`,
      fix: `check ${at}: name the load balancer's HTTPS (ALB) or TLS (NLB) listener`,
    };
  }
  return { check: 'listener', ok: true, detail: `listener ${arn} exists in ${region} and is ${found.Protocol} on port ${found.Port}` };
}
