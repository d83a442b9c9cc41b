import type { ResolvedConfig } from '../config/schema.js';
import type { LeftConfigCertificate } from '../observe/left-config.js';
import type { UnmanagedCertificate } from '../observe/discover.js';
import type { ChallengeSolver } from '../ports/challenge-solver.js';
import type { Deployer } from '../ports/deployer.js';
import type { Issuer } from '../ports/issuer.js';
import type { IamSimulator } from '../preflight/iam-simulation.js';
import type { CertificateRecords } from '../store/certificate-records.js';
import type { IssuedCertificates } from '../store/issued-certificates.js';
import type { RateLimitRecords } from '../store/rate-limit-records.js';
import type { StateStore } from '../store/state-store.js';
import type { AuditLogger } from '../telemetry/logger.js';

/**
 * What the agent is given to work with (cert-manager's controllers take their clock and gatherers the
 * same way): a composition root (cli/wiring.ts) builds the real ones; unit tests build fakes
 * (test/unit/pass.test.ts). The agent itself makes no client and reads no clock of its own.
 */
export interface AgentPorts {
  /** The certificates and the knobs (concurrency, deadlines, renewal rules): plain data. */
  readonly config: ResolvedConfig;
  readonly log: AuditLogger;
  readonly clock: Clock;
  readonly store: AgentStore;
  /** Publishes DNS-01 values (Route 53). */
  readonly solver: ChallengeSolver;
  /** Where certificates go (ACM with its listeners and CloudFront distributions), in order. */
  readonly deployers: Deployer[];
  /** The CA. */
  readonly issuer: Issuer;
  /** IAM's policy simulation for the preflight; absent, permissions are not simulated. */
  readonly iamSimulator?: IamSimulator;
  /** The daemon's daily look at certificates outside the config; absent, it is skipped. */
  readonly inventory?: Inventory;
}

/** Time, as the agent reads it: the system's, or a test's. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** The agent's state (a file store or DynamoDB underneath), in the documents it reads and writes. */
export interface AgentStore {
  /** Leases and raw documents. */
  readonly state: StateStore;
  readonly records: CertificateRecords;
  readonly rateLimits: RateLimitRecords;
  /** Issued certificates not deployed yet, with their keys. */
  readonly issued: IssuedCertificates;
}

/** Certificates certkeeper does not manage, for warnings. */
export interface Inventory {
  /** ACM certificates outside the config that expire within `withinDays`. */
  unmanaged(regions: string[], withinDays: number): Promise<UnmanagedCertificate[]>;
  /** certkeeper's own certificates that the config no longer has. */
  leftConfig(regions: string[]): Promise<LeftConfigCertificate[]>;
}
