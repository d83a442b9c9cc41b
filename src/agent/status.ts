import { observeCertificate } from '../observe/deployed.js';
import { daysLeft } from '../pki/certificate.js';
import { describeError } from '../telemetry/logger.js';
import type { AgentContext } from './context.js';
import { decideFor, selectCertificates } from './pass.js';

/** One row of `certkeeper status`; the JSON field names are a contract. */
export interface StatusRow {
  name: string;
  domains: string[];
  serial: string | null;
  notAfter: string | null;
  daysLeft: number | null;
  acm: { region: string; certificateArn: string | null }[];
  action: 'renew' | 'none';
  reasons: string[];
  renewAt?: string;
  /** Set when AWS could not be read for this certificate: nothing can be decided or done until it can. */
  error?: string;
}

/** What is deployed and what the agent would do now, read from AWS; changes nothing. */
export async function collectStatus(ctx: AgentContext, names: string[] = [], now = new Date()): Promise<StatusRow[]> {
  const scope = ctx.forPass();
  return Promise.all(
    selectCertificates(ctx.config.certificates, names).map(async (spec): Promise<StatusRow> => {
      const base = { name: spec.name, domains: spec.domains };
      try {
        const observation = await observeCertificate(spec, ctx.records.get(spec.name), scope.acm);
        const decision = decideFor(spec, observation, now);
        const soonest = observation.regions
          .flatMap((region) => (region.facts ? [region.facts] : []))
          .sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime())[0];
        return {
          ...base,
          serial: soonest?.serial ?? null,
          notAfter: soonest?.notAfter.toISOString() ?? null,
          daysLeft: soonest ? Math.floor(daysLeft(soonest.notAfter, now) * 10) / 10 : null,
          acm: observation.regions.map((region) => ({ region: region.region, certificateArn: region.certificateArn ?? null })),
          action: decision.action,
          reasons: decision.reasons,
          ...(decision.action === 'none' ? { renewAt: decision.renewAt.toISOString() } : {}),
        };
      } catch (error) {
        return {
          ...base,
          serial: null,
          notAfter: null,
          daysLeft: null,
          acm: spec.acm.map((target) => ({ region: target.region, certificateArn: target.certificateArn ?? null })),
          action: 'none',
          error: describeError(error),
          reasons: [`cannot read what is deployed, so nothing can be done: ${describeError(error)}`],
        };
      }
    }),
  );
}
