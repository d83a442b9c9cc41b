import type { CertificateSpec } from '../config/schema.js';
import type { PreflightCheck } from '../ports/preflight-check.js';
import type { AuditLogger } from '../telemetry/logger.js';

/**
 * One configured place that serves a region's ACM certificate: an ELBv2 listener, a CloudFront
 * distribution. The ACM deployer imports once per region and hands the ARN to every place there, so a
 * new kind of place is one file with a `PlaceKind` and its config entry.
 */
export interface Place {
  /** In words, for observations and logs: "listener", "CloudFront distribution". */
  kind: string;
  /** The listener ARN, the distribution ID. */
  id: string;
  /** Listeners only: the role the certificate has there (observed as `listeners`, the others as `attachments`). */
  mode?: 'default' | 'sni';
  /** Whether it serves `certificateArn` now; may be answered from what this pass read already. */
  carries(certificateArn: string): Promise<boolean>;
  /**
   * Makes it serve `certificateArn`, reading it fresh; idempotent. `replaced`: other certificates of this
   * name it should stop carrying (SNI) once it carries the new one, never before.
   */
  bind(certificateArn: string, replaced: string[], log: AuditLogger): Promise<void>;
  /** How ACM's InUseBy names it: `own` for the place itself, `shared` for what it is part of with others (its load balancer). */
  claims(user: string): 'own' | 'shared' | undefined;
  /** It exists and can serve a certificate of this region. Reads only. */
  preflight(): Promise<PreflightCheck>;
}

/** Where the places of `spec` in `region` are; `certificateAt` is the certificate's path in the config ("certificates[2]"). */
export type PlaceFinder = (spec: CertificateSpec, region: string, certificateAt: string) => Place[];

/** A kind of place: `forPass` opens the reads it caches for one pass. */
export interface PlaceKind {
  forPass(): PlaceFinder;
}
