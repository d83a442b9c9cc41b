import type acme from 'acme-client';
import { openAccount } from '../acme/account.js';
import { AwsClients } from '../aws/clients.js';
import type { ResolvedConfig } from '../config/schema.js';
import { ChallengeJournal } from '../dns/challenge-journal.js';
import { HostedZoneFinder } from '../dns/hosted-zones.js';
import { Route53Solver, type SolverOptions } from '../dns/route53-solver.js';
import { CertificateRecords } from '../store/certificate-records.js';
import { FileStore } from '../store/file-store.js';
import { RateLimitRecords } from '../store/rate-limit-records.js';
import { configureCaHttp } from '../acme/ca-http.js';
import { AcmRegion } from '../targets/acm.js';
import type { AuditLogger } from '../telemetry/logger.js';
import { notifierFromConfig } from '../telemetry/notification-channels.js';

// Shutdown must stay well inside the stop timeouts of process managers (Docker: 10 s, systemd: 90 s).
const NOTIFICATION_FLUSH_MS = 5_000;

/**
 * Everything one agent process shares between passes: config, state, AWS clients, the ACME account.
 * Caches of AWS listings (zones, tagged certificates) live for one pass only, via `forPass()`.
 */
export class AgentContext {
  readonly store: FileStore;
  readonly records: CertificateRecords;
  readonly journal: ChallengeJournal;
  readonly aws: AwsClients;
  readonly solver: Route53Solver;
  readonly rateLimits: RateLimitRecords;
  private account?: Promise<acme.Client>;
  /** Sends `notifications` (SNS, webhook) for the audit events that need a person; absent when none is configured. */
  private readonly notifications?: ReturnType<typeof notifierFromConfig>;

  constructor(
    readonly config: ResolvedConfig,
    readonly log: AuditLogger,
    solverOptions: SolverOptions = {},
  ) {
    configureCaHttp(config.acme.caCertificates);
    this.store = new FileStore(config.stateDir);
    this.rateLimits = new RateLimitRecords(this.store, config.acme.directoryUrl);
    this.records = new CertificateRecords(this.store);
    this.journal = new ChallengeJournal(this.store);
    this.aws = new AwsClients(config.aws.region);
    this.solver = new Route53Solver(this.aws.route53, solverOptions);
    this.notifications = notifierFromConfig(config, log);
  }

  /** Before exit: what notifications are still queued get until the deadline, then are logged as not sent. */
  async flushNotifications(deadlineMs = NOTIFICATION_FLUSH_MS): Promise<void> {
    await this.notifications?.notifier.flush(deadlineMs);
  }

  /** The ACME client, registered on first use; a failure is retried on the next call. */
  acmeClient(log: AuditLogger = this.log): Promise<acme.Client> {
    this.account ??= openAccount(this.config, this.store, log).catch((error: unknown) => {
      this.account = undefined;
      throw error;
    });
    return this.account;
  }

  forPass(): PassScope {
    const acmRegions = new Map<string, AcmRegion>();
    return {
      zones: new HostedZoneFinder(this.aws.route53),
      acm: (region) => {
        let acm = acmRegions.get(region);
        if (!acm) acmRegions.set(region, (acm = new AcmRegion(this.aws.acm(region), region)));
        return acm;
      },
    };
  }

  close(): void {
    this.notifications?.close();
    this.aws.destroy();
  }
}

export interface PassScope {
  zones: HostedZoneFinder;
  acm: (region: string) => AcmRegion;
}
