import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditEntry, AuditLogger } from './logger.js';
import { packageVersion } from './package-version.js';

/**
 * Prometheus metrics, named in the style of cert-manager's. One registry per process: the counters of
 * ACME and AWS requests are fed where those requests are made (ca-http.ts, aws-request-metrics.ts);
 * everything about certificates and passes follows the audit trail (`followAuditEvents`), so the
 * numbers and the log can never tell different stories.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const registers = [registry];

export const certificateExpiration = new Gauge({
  name: 'certkeeper_certificate_expiration_timestamp_seconds',
  help: 'notAfter of the deployed certificate (the earliest-expiring region), as a Unix timestamp',
  labelNames: ['name'] as const,
  registers,
});

export const certificateRenewal = new Gauge({
  name: 'certkeeper_certificate_renewal_timestamp_seconds',
  help: 'When certkeeper plans to renew the certificate next (ARI window or backstop), as a Unix timestamp',
  labelNames: ['name'] as const,
  registers,
});

export const certificateConsecutiveFailures = new Gauge({
  name: 'certkeeper_certificate_consecutive_failures',
  help: 'Failed renewal attempts in a row (0 after a success)',
  labelNames: ['name'] as const,
  registers,
});

export const certificateLastSuccess = new Gauge({
  name: 'certkeeper_certificate_last_success_timestamp_seconds',
  help: 'When the certificate was last renewed and deployed successfully, as a Unix timestamp',
  labelNames: ['name'] as const,
  registers,
});

/** Where the ready condition of each certificate comes from at scrape time (see reportReadiness). */
let readinessSource: (() => { name: string; ready: boolean }[]) | undefined;

export const certificateReadyStatus = new Gauge({
  name: 'certkeeper_certificate_ready_status',
  help: 'Whether the certificate is ready (valid now, served, not held or failing past its emergency point), as cert-manager does: the series of the current condition is 1, the other 0',
  labelNames: ['name', 'condition'] as const,
  registers,
  // Judged at each scrape against the clock: a certificate that expires while nothing happens turns False.
  collect() {
    if (!readinessSource) return;
    this.reset();
    for (const { name, ready } of readinessSource()) {
      this.set({ name, condition: 'True' }, ready ? 1 : 0);
      this.set({ name, condition: 'False' }, ready ? 0 : 1);
    }
  },
});

/** `certkeeper_certificate_ready_status` follows `source` (the readiness tracker) until the returned function is called. */
export function reportReadiness(source: () => { name: string; ready: boolean }[]): () => void {
  readinessSource = source;
  return () => {
    if (readinessSource === source) readinessSource = undefined;
    certificateReadyStatus.reset();
  };
}

export const renewalsTotal = new Counter({
  name: 'certkeeper_renewals_total',
  help: 'Renewal attempts by result (success, failure)',
  labelNames: ['name', 'result'] as const,
  registers,
});

export const acmeRequestsTotal = new Counter({
  name: 'certkeeper_acme_requests_total',
  help: 'HTTP requests to the ACME CA by method, endpoint (path without IDs) and outcome (success, rate_limited, error, network_error)',
  labelNames: ['method', 'endpoint', 'outcome'] as const,
  registers,
});

export const awsRequestsTotal = new Counter({
  name: 'certkeeper_aws_requests_total',
  help: 'AWS API requests (every attempt, retries included) by service, operation and outcome (success, throttled, error)',
  labelNames: ['service', 'operation', 'outcome'] as const,
  registers,
});

export const passDuration = new Histogram({
  name: 'certkeeper_pass_duration_seconds',
  help: 'How long a pass (observe, decide, renew, verify every certificate) took',
  // A pass with nothing to do takes seconds; one that renews waits for DNS and validation: minutes.
  buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800],
  registers,
});

/** Which certkeeper is running: always 1, its `version` label says what `certkeeper --version` says. */
export const buildInfo = new Gauge({
  name: 'certkeeper_build_info',
  help: 'The version of certkeeper running (value always 1)',
  labelNames: ['version'] as const,
  registers,
});
buildInfo.set({ version: packageVersion() }, 1);

export const passLastTimestamp = new Gauge({
  name: 'certkeeper_pass_last_timestamp_seconds',
  help: 'When the last pass finished, as a Unix timestamp',
  registers,
});

/** Keeps the certificate and pass metrics in step with the audit events that `log` and its children write. */
export function followAuditEvents(log: AuditLogger): () => void {
  return log.subscribe(updateFromEvent);
}

export function updateFromEvent({ event, fields }: AuditEntry): void {
  const name = typeof fields.certificate === 'string' ? fields.certificate : undefined;
  switch (event) {
    case 'renewal.decided':
      if (!name) return;
      setTimestamp(certificateExpiration, name, fields.notAfter);
      setTimestamp(certificateRenewal, name, fields.renewAt);
      setTimestamp(certificateLastSuccess, name, fields.lastSuccessAt);
      if (typeof fields.consecutiveFailures === 'number') certificateConsecutiveFailures.set({ name }, fields.consecutiveFailures);
      return;
    case 'renewal.succeeded':
      if (!name) return;
      renewalsTotal.inc({ name, result: 'success' });
      setTimestamp(certificateExpiration, name, fields.notAfter);
      certificateLastSuccess.set({ name }, Date.now() / 1000);
      certificateConsecutiveFailures.set({ name }, 0);
      // The plan was for the old certificate; the next pass plans for the new one.
      certificateRenewal.remove({ name });
      return;
    case 'renewal.failed':
      if (!name) return;
      renewalsTotal.inc({ name, result: 'failure' });
      if (typeof fields.consecutiveFailures === 'number') certificateConsecutiveFailures.set({ name }, fields.consecutiveFailures);
      return;
    case 'deploy.not_served':
      // A pass's look that finds it not served counts as a failure of the certificate.
      if (name && typeof fields.consecutiveFailures === 'number') certificateConsecutiveFailures.set({ name }, fields.consecutiveFailures);
      return;
    case 'pass.finished':
      if (typeof fields.durationMs === 'number') passDuration.observe(fields.durationMs / 1000);
      passLastTimestamp.set(Date.now() / 1000);
      return;
  }
}

/** An ISO time as a Unix timestamp; null (nothing deployed, nothing planned) removes the series rather than lying with 0. */
function setTimestamp(gauge: Gauge<'name'>, name: string, value: unknown): void {
  if (value === undefined) return;
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) gauge.remove({ name });
  else gauge.set({ name }, ms / 1000);
}
