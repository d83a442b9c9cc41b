/**
 * The names of the decision's checks. They are a contract: the audit log (`renewal.decided` `checks`),
 * `status --json`/`plan --json` `checks`, docs/renewal-rules.md and the tests read them, so a name never changes;
 * code compares against these constants, never against string literals.
 */
export const Check = {
  // Triggers: why a certificate should be renewed (policy/triggers.ts).
  Forced: 'Forced',
  NotDeployed: 'NotDeployed',
  DomainsDiffer: 'DomainsDiffer',
  KeyTypeDiffers: 'KeyTypeDiffers',
  RegionsOutOfStep: 'RegionsOutOfStep',
  Expired: 'Expired',
  Emergency: 'Emergency',
  AriWindowOpen: 'AriWindowOpen',
  InRenewalWindow: 'InRenewalWindow',
  IssuedNotDeployed: 'IssuedNotDeployed',
  // Guards: why not yet (policy/guards.ts; the rate-limit ones are computed in policy/rate-limits.ts).
  Backoff: 'Backoff',
  DuplicateCertificateLimit: 'DuplicateCertificateLimit',
  NewOrderLimit: 'NewOrderLimit',
  FailedValidationLimit: 'FailedValidationLimit',
  CaRateLimited: 'CaRateLimited',
  ClockSkew: 'ClockSkew',
  // How the guards weigh against the emergency point (policy/decide.ts).
  EmergencyOverride: 'EmergencyOverride',
  HeldPastEmergency: 'HeldPastEmergency',
  // Drift: the certificate is fine but what is deployed around it is not (policy/drift.ts).
  ListenerDrift: 'ListenerDrift',
  LeftoverCertificate: 'LeftoverCertificate',
  // Readiness: nothing to do, and is it served (policy/readiness.ts).
  UpToDate: 'UpToDate',
  NotServed: 'NotServed',
  // Not a policy check: `status` could not observe the certificate at all.
  ObservationFailed: 'ObservationFailed',
} as const;

export type CheckName = (typeof Check)[keyof typeof Check];

/** What one check found, in words (cert-manager's reason and message). */
export interface Finding {
  check: CheckName;
  message: string;
}

/** Whether any of `findings` comes from one of `checks`. */
export function found(findings: readonly Finding[], ...checks: CheckName[]): boolean {
  return findings.some((finding) => checks.includes(finding.check));
}

/**
 * Findings as the contracts show them (`renewal.decided`, `status --json`, `plan --json`, `renew
 * --json`): parallel `checks` and `reasons`, in order. The one place they are derived.
 */
export function checksAndReasons(findings: readonly Finding[]): { checks: CheckName[]; reasons: string[] } {
  return { checks: findings.map((finding) => finding.check), reasons: findings.map((finding) => finding.message) };
}
