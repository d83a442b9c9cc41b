import type { CertificateSpec } from '../config/schema.js';
import type { IssuedCertificate } from '../pki/issued-certificate.js';
import type { Deployed, DeployerPass, DeployHooks, Observation, RecordedDeployments } from '../ports/deployer.js';
import type { AuditLogger } from '../telemetry/logger.js';

/**
 * What every deployer observed for a certificate: their `regions` together (what policy, status and
 * the kept-certificate check read), and each deployer's own part, in the order of the deployers, which
 * is what that deployer deploys from.
 */
export interface DeployedNow extends Observation {
  parts: Observation[];
}

export async function observeDeployments(deployers: DeployerPass[], spec: CertificateSpec, recorded: RecordedDeployments | undefined): Promise<DeployedNow> {
  const parts = await Promise.all(deployers.map((deployer) => deployer.observe(spec, recorded)));
  return { regions: parts.flatMap((part) => part.regions), parts };
}

/** Every deployer in turn; the first failure stops the rest (what is deployed so far stays serving). */
export async function deployEverywhere(
  deployers: DeployerPass[],
  spec: CertificateSpec,
  issued: IssuedCertificate,
  observation: DeployedNow,
  hooks: DeployHooks,
): Promise<Deployed[]> {
  const done: Deployed[] = [];
  for (const [index, deployer] of deployers.entries()) done.push(await deployer.deploy(spec, issued, observation.parts[index] ?? { regions: [] }, hooks));
  return done;
}

export async function redeployEverywhere(deployers: DeployerPass[], spec: CertificateSpec, observation: DeployedNow, log: AuditLogger): Promise<Deployed[]> {
  const done: Deployed[] = [];
  for (const [index, deployer] of deployers.entries()) done.push(await deployer.redeploy(spec, observation.parts[index] ?? { regions: [] }, log));
  return done;
}
