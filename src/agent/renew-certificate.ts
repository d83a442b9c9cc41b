import { issueCertificate } from '../acme/issuer.js';
import type { CertificateSpec } from '../config/schema.js';
import type { Observation } from '../observe/deployed.js';
import { bindListener } from '../targets/listeners.js';
import type { AuditLogger } from '../telemetry/logger.js';
import type { AgentContext, PassScope } from './context.js';

export interface Deployment {
  region: string;
  certificateArn: string;
}

/**
 * One renewal: order over ACME (DNS-01 on Route 53), import into ACM in every configured region, and
 * bind the listeners. The certificate already deployed is replaced only by a re-import or a listener
 * swap to a certificate that is already imported, so a failure at any step leaves it serving.
 */
export async function renewCertificate(
  spec: CertificateSpec,
  observation: Observation,
  ctx: AgentContext,
  scope: PassScope,
  log: AuditLogger,
  runId: string,
  signal?: AbortSignal,
): Promise<{ deployments: Deployment[]; serial: string; notAfter: Date }> {
  const client = await ctx.acmeClient(log);
  const issued = await issueCertificate(spec, { client, zones: scope.zones, solver: ctx.solver, journal: ctx.journal, log, runId, signal });
  signal?.throwIfAborted();

  const deployments: Deployment[] = [];
  for (const target of spec.acm) {
    const observed = observation.regions.find((entry) => entry.region === target.region);
    const acm = scope.acm(target.region);
    // ACM refuses a re-import that changes the key algorithm: then import a new one and move listeners.
    const compatible = !observed?.facts || observed.facts.keyType === spec.keyType;
    const reimportArn = target.certificateArn ?? (observed?.facts && compatible ? observed.certificateArn : undefined);
    const certificateArn = await acm.import(issued, spec.name, reimportArn, log);
    ctx.records.update(spec.name, (record) => ({ ...record, acm: { ...record.acm, [target.region]: certificateArn } }));

    const replaced = [observed?.certificateArn, ...(observed?.alsoTagged ?? [])].filter((arn): arn is string => Boolean(arn) && arn !== certificateArn);
    for (const listener of target.listeners) {
      await bindListener(ctx.aws.elbv2(target.region), listener, certificateArn, replaced, log);
    }
    if (observed?.certificateArn && observed.certificateArn !== certificateArn) {
      log.info('acm.previous_kept', {
        region: target.region,
        certificateArn: observed.certificateArn,
        replacedBy: certificateArn,
        why: compatible ? 'a new certificate was imported' : `key type changed from ${observed.facts?.keyType} to ${spec.keyType}; ACM cannot re-import across key types`,
      });
    }
    deployments.push({ region: target.region, certificateArn });
  }
  return { deployments, serial: issued.facts.serial, notAfter: issued.facts.notAfter };
}
