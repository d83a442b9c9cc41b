import type { CertificateSpec } from '../config/schema.js';
import type { CertificateFacts } from '../pki/certificate.js';
import type { IssuedCertificate } from '../pki/issued-certificate.js';
import type { AuditLogger } from '../telemetry/logger.js';
import type { PreflightCheck } from './preflight-check.js';

/**
 * The Deployer port: where certificates are installed and served (certbot's `Installer`). certkeeper
 * has one today, ACM + ELBv2 listeners + CloudFront distributions (src/targets/acm-deployer.ts). The
 * agent sees only this: it never calls AWS itself.
 *
 * What the caller may rely on:
 * - `observe` reads only. Within one `DeployerPass` it may cache what it lists (a region's
 *   certificates, a listener's or a distribution's configuration); a pass opened with view `single`
 *   answers about the truth now (the second look after taking the certificate's lease).
 * - `deploy` and `redeploy` leave the certificate that was serving still serving if they fail at any
 *   step: the old one is replaced only by a re-import into its ARN, or by moving a place to a new
 *   certificate that is already imported. They are idempotent: a place that already serves the
 *   certificate is left alone, so a retry after a crash finishes what was left.
 * - Nothing is deleted by `deploy` or `redeploy`. What the new certificate replaced comes back as a
 *   `Retirement`; the caller retires it only once every `verify` endpoint serves the new one, else keeps it.
 *
 * What an implementation must guarantee: private keys go to the target only (never to a log line, an
 * error message or a file); every change it makes is an audit event; an old certificate is retired only
 * when no configured place uses it and nothing else does.
 */
export interface Deployer {
  /** A view for one pass (or one look): caches live as long as it does. */
  forPass(view: 'fleet' | 'single'): DeployerPass;
}

export interface DeployerPass {
  /** What is deployed for `spec` now, found by config, then by `recorded` (what this agent deployed last), then by tags. */
  observe(spec: CertificateSpec, recorded: RecordedDeployments | undefined): Promise<Observation>;
  /** The checks about targets that can be made before an order (they exist, can serve, are in the right region). Reads only. */
  preflight(spec: CertificateSpec, at: string): Promise<PreflightCheck[]>;
  /**
   * Installs `issued` everywhere `spec` says, as `observation` (from this deployer) saw it. `onImported`
   * is awaited as soon as a certificate is placed in a region, before any place moves to it, so that a
   * crash from then on finds it again (`recorded`).
   */
  deploy(spec: CertificateSpec, issued: IssuedCertificate, observation: Observation, hooks: DeployHooks): Promise<Deployed>;
  /** Puts the deployed certificate back where it is no longer used (drift); no import. Leftovers come back for retirement. */
  redeploy(spec: CertificateSpec, observation: Observation, log: AuditLogger): Promise<Deployed>;
}

/** The certificate ARN this agent deployed last, by region (the record's `acm`). */
export type RecordedDeployments = Record<string, string>;

export interface DeployHooks {
  log: AuditLogger;
  signal: AbortSignal;
  /** Told of each step as it begins (for a renewal that runs out of time). */
  onStep: (step: string) => void;
  onImported: (region: string, certificateArn: string) => Promise<void>;
}

export interface Deployment {
  region: string;
  certificateArn: string;
}

export interface Deployed {
  deployments: Deployment[];
  /** What the new certificate replaced (and leftovers of interrupted runs): to retire once it is served. */
  retirement: Retirement;
}

/** Certificates that a deployment replaced. Exactly one of the two methods is called. */
export interface Retirement {
  /** The ARNs to retire (none: nothing waits on the `verify` endpoints for their sake). */
  readonly pending: string[];
  /** Deletes them, each only when nothing but the configured places used it. Call only once the new certificate is served. */
  retire(log: AuditLogger): Promise<void>;
  /** The new certificate is not served: they stay, and the log says why. */
  keep(why: string, log: AuditLogger): void;
}

/** What is deployed for a certificate, by region: what `status --json`, policy/decide.ts and the agent read. */
export interface Observation {
  regions: RegionObservation[];
}

/** What ACM holds for one region the certificate deploys to, how it was found, and where it is used. */
export interface RegionObservation {
  region: string;
  certificateArn?: string;
  facts?: CertificateFacts;
  /** `config`: the configured ARN; `record`: the ARN this agent imported last; `tags`: found by certkeeper's tags. */
  foundBy?: 'config' | 'record' | 'tags';
  /** Other ARNs tagged with this name (e.g. left by an interrupted run); not deployed, reported. */
  alsoTagged: string[];
  /** Those of `alsoTagged` that nothing but the configured places uses: safe to retire once they serve `certificateArn`. */
  leftovers?: string[];
  /** The configured listeners and whether each serves `certificateArn` in its configured role. */
  listeners?: ListenerObservation[];
  /** The other configured places that should use `certificateArn` (e.g. CloudFront distributions), and whether each does. */
  attachments?: AttachmentObservation[];
}

export interface ListenerObservation {
  arn: string;
  mode: 'default' | 'sni';
  carries: boolean;
  /** Why it could not be read (e.g. the listener was deleted). */
  error?: string;
}

export interface AttachmentObservation {
  /** What kind of place, in words: "CloudFront distribution". */
  kind: string;
  id: string;
  carries: boolean;
  error?: string;
}
