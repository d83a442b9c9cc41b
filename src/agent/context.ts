import type acme from 'acme-client';
import { openAccount } from '../acme/account.js';
import { AwsClients, snsClient } from '../aws/clients.js';
import type { ResolvedConfig } from '../config/schema.js';
import { ChallengeJournal } from '../dns/challenge-journal.js';
import { HostedZoneFinder } from '../dns/hosted-zones.js';
import { PropagationCheck } from '../dns/propagation-check.js';
import { Route53Accounts } from '../dns/route53-accounts.js';
import { Route53ChallengeSolver } from '../dns/route53-challenge-solver.js';
import { Route53Solver, type SolverOptions } from '../dns/route53-solver.js';
import type { ChallengeSession, ChallengeSolver, PassOfSession } from '../ports/challenge-solver.js';
import { CertificateRecords } from '../store/certificate-records.js';
import { openStore } from '../store/open-store.js';
import type { StateStore } from '../store/state-store.js';
import { RateLimitRecords } from '../store/rate-limit-records.js';
import { configureCaHttp } from '../acme/ca-http.js';
import type { AcmRegion } from '../targets/acm.js';
import { AcmDeployer } from '../targets/acm-deployer.js';
import { cloudFrontPlaces } from '../targets/cloudfront-distributions.js';
import { listenerPlaces } from '../targets/listeners.js';
import type { DeployerPass } from '../ports/deployer.js';
import { CertificateFactsCache } from '../store/certificate-facts-cache.js';
import { IssuedCertificates } from '../store/issued-certificates.js';
import { keptKeySecrets } from '../store/kept-key-secrets.js';
import { IamSimulator } from '../preflight/iam-simulation.js';
import type { AuditLogger } from '../telemetry/logger.js';
import { configuredArns, discoverUnmanaged } from '../observe/discover.js';
import { notifierFromConfig } from '../telemetry/notification-channels.js';

// Shutdown must stay well inside the stop timeouts of process managers (Docker: 10 s, systemd: 90 s).
const NOTIFICATION_FLUSH_MS = 5_000;

/**
 * Everything one agent process shares between passes: config, state (the file or DynamoDB store),
 * AWS clients, the ACME account.
 * Caches of AWS listings (zones, ACM certificates and tags, listeners) live for one pass only, via `forPass()`.
 */
export class AgentContext {
  readonly store: StateStore;
  readonly records: CertificateRecords;
  readonly journal: ChallengeJournal;
  readonly aws: AwsClients;
  /** DNS-01: Route 53 behind the ChallengeSolver port. */
  readonly solver: ChallengeSolver;
  /** Route 53 gateways: one token bucket per AWS account, shared by every renewal and zone lookup. */
  readonly route53: Route53Accounts;
  readonly rateLimits: RateLimitRecords;
  readonly certificateFacts: CertificateFactsCache;
  /** Issued certificates not deployed yet, with their keys: in stateDir, or the key where the account key is (never in DynamoDB). */
  readonly issued: IssuedCertificates;
  /** Where certificates are deployed: ACM, with the places that serve its certificates (listeners, CloudFront distributions). */
  readonly acmDeployer: AcmDeployer;
  /** The preflight's permission check: remembers for the process when IAM cannot simulate. */
  readonly iamSimulator: IamSimulator;
  private account?: Promise<acme.Client>;
  /** What `account` resolved to: the client a renewal may report as forgotten by the CA. */
  private accountInUse?: acme.Client;
  /** Sends `notifications` (SNS, webhook) for the audit events that need a person; absent when none is configured. */
  private readonly notifications?: ReturnType<typeof notifierFromConfig>;

  constructor(
    readonly config: ResolvedConfig,
    readonly log: AuditLogger,
    solverOptions: SolverOptions = {},
  ) {
    configureCaHttp(config.acme.caCertificates, config.acme.requestTimeoutSeconds);
    this.store = openStore(config, log);
    this.rateLimits = new RateLimitRecords(this.store, config.acme.directoryUrl);
    this.records = new CertificateRecords(this.store);
    this.journal = new ChallengeJournal(this.store);
    // Public facts only; losing them costs GetCertificate calls, nothing else.
    this.certificateFacts = new CertificateFactsCache(this.store);
    this.issued = new IssuedCertificates(config.stateDir, this.store, keptKeySecrets(config));
    this.aws = new AwsClients(config.aws.region, config.aws.requestTimeoutSeconds);
    this.iamSimulator = new IamSimulator(this.aws);
    this.acmDeployer = new AcmDeployer(this.aws, this.certificateFacts, [listenerPlaces((region) => this.aws.elbv2(region)), cloudFrontPlaces(() => this.aws.cloudfront())]);
    const { requestsPerSecond, insyncTimeoutSeconds, propagation } = config.route53;
    this.route53 = new Route53Accounts(this.aws, requestsPerSecond);
    const changes = new Route53Solver(this.route53, {
      insyncTimeoutMs: insyncTimeoutSeconds * 1000,
      ...(propagation.check && { propagation: new PropagationCheck(this.route53, propagation) }),
      ...solverOptions,
    });
    this.solver = new Route53ChallengeSolver(changes, this.journal, () => new HostedZoneFinder(this.route53, this.config.route53));
    this.notifications = notifierFromConfig(config, log, (region) => snsClient(region, config.aws.requestTimeoutSeconds));
  }

  /** ACM certificates outside the config that expire within `withinDays` (`discover`, the daemon's daily warning). */
  discoverUnmanaged(regions: string[], withinDays: number): ReturnType<typeof discoverUnmanaged> {
    return discoverUnmanaged((region) => this.aws.acm(region), regions, withinDays, configuredArns(this.config));
  }

  /** Before exit: what notifications are still queued get until the deadline, then are logged as not sent. */
  async flushNotifications(deadlineMs = NOTIFICATION_FLUSH_MS): Promise<void> {
    await this.notifications?.notifier.flush(deadlineMs);
  }

  /** The ACME client, registered on first use; a failure is retried on the next call. */
  acmeClient(log: AuditLogger = this.log): Promise<acme.Client> {
    this.account ??= this.register(openAccount(this.config, this.store, log));
    return this.account;
  }

  /**
   * The CA no longer knows the account `forgotten` uses (it lost its state, or the account was
   * deactivated): registers the same key again, once for every renewal that found out at the same time.
   */
  reregisterAcmeAccount(forgotten: acme.Client, log: AuditLogger): Promise<acme.Client> {
    // Decided synchronously: renewals that fail together must not register one after the other.
    if (!this.account || this.accountInUse === forgotten) {
      this.account = this.register(openAccount(this.config, this.store, log, { previousAccountUrl: forgotten.getAccountUrl() }));
    }
    return this.account;
  }

  private register(opening: Promise<acme.Client>): Promise<acme.Client> {
    this.accountInUse = undefined;
    const account: Promise<acme.Client> = opening.then(
      (client) => {
        if (this.account === account) this.accountInUse = client;
        return client;
      },
      (error: unknown) => {
        if (this.account === account) this.account = undefined;
        throw error;
      },
    );
    return account;
  }

  /**
   * Caches for one pass. `fleet` reads each region's ACM listing once for every certificate; `single`
   * asks ACM about one certificate directly: the second look after a lock, which must see the truth now.
   * A pass gives `pass` (its ID, logger and work slots), so its renewals can take part in its challenge session.
   */
  forPass(mode: 'fleet' | 'single' = 'fleet', pass?: PassOfSession): PassScope {
    const acm = this.acmDeployer.forPass(mode);
    return {
      challenges: this.solver.openSession(pass),
      deployers: [acm],
      acm: (region) => acm.acm(region),
    };
  }

  close(): void {
    this.notifications?.close();
    this.aws.destroy();
    this.store.close();
  }
}

export interface PassScope {
  /** The pass's DNS-01 session: name checks (zone lookups cached for the pass) and the renewals' shared changes. */
  challenges: ChallengeSession;
  /** Where certificates are deployed, each with its reads cached for the pass. */
  deployers: DeployerPass[];
  /** ACM's listings of the pass (shared with the deployer), for `discover` and the left-config report. */
  acm: (region: string) => AcmRegion;
}
