import type { CertificateSpec } from '../config/schema.js';
import { Check, checksAndReasons, found } from '../policy/checks.js';
import { earliestExpiring } from '../policy/decide.js';
import { emergencyPoint } from '../policy/renewal-time.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import type { Assessment } from './assess.js';
import type { AgentPorts } from './ports.js';

// certificate name → serial whose emergency was announced; kept in the store so a restart (or another agent) does not repeat it.
const ANNOUNCED = 'notices#emergency';

/**
 * Logs `certificate.emergency` when a deployed certificate has entered its emergency period (less than
 * 1/20 of its lifetime left, or expired): once per certificate and deployed serial, not on every pass,
 * so the notification it triggers is sent once per period.
 */
export async function announceEmergency(spec: CertificateSpec, assessment: Assessment, ctx: AgentPorts, log: AuditLogger): Promise<void> {
  const { findings } = assessment.decision;
  if (!found(findings, Check.Emergency, Check.Expired)) return;
  const deployed = earliestExpiring(assessment.observation.regions);
  if (!deployed) return;
  // What was announced is only there to avoid repeats: when it cannot be read or written, the emergency
  // is announced (again) rather than not at all, and the certificate's renewal goes on.
  let announced: Record<string, unknown> = {};
  let noticesError: string | undefined;
  try {
    announced = (await ctx.store.state.get<Record<string, unknown>>(ANNOUNCED)) ?? {};
  } catch (error) {
    noticesError = `cannot read which emergencies were announced: ${describeError(error)}`;
  }
  if (announced[spec.name] === deployed.serial) return;
  log.warn('certificate.emergency', {
    serial: deployed.serial,
    notAfter: deployed.notAfter.toISOString(),
    emergencyAt: emergencyPoint(deployed).toISOString(),
    expired: found(findings, Check.Expired),
    reasons: checksAndReasons(findings).reasons,
    ...(noticesError && { noticesError }),
  });
  try {
    await ctx.store.state.update<Record<string, unknown>>(ANNOUNCED, (current) => ({ ...current, [spec.name]: deployed.serial }));
  } catch {
    // Not marked: the next pass announces it again, a repeat rather than silence.
  }
}
