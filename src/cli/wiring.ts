import { AcmeIssuer } from '../acme/acme-issuer.js';
import { configureCaHttp } from '../acme/ca-http.js';
import { systemClock, type AgentPorts, type AgentStore, type Inventory } from '../agent/ports.js';
import type { PassScope } from '../agent/pass-scope.js';
import { AwsClients } from '../aws/clients.js';
import type { ResolvedConfig } from '../config/schema.js';
import { STAGING_SETTING_NAMES, stagingConfig } from '../config/staging-directory.js';
import { ChallengeJournal } from '../dns/challenge-journal.js';
import { HostedZoneFinder } from '../dns/hosted-zones.js';
import { PropagationCheck } from '../dns/propagation-check.js';
import { Route53Accounts } from '../dns/route53-accounts.js';
import { Route53ChallengeSolver } from '../dns/route53-challenge-solver.js';
import { Route53Solver, type SolverOptions } from '../dns/route53-solver.js';
import { configuredArns, discoverUnmanaged } from '../observe/discover.js';
import { findLeftConfig } from '../observe/left-config.js';
import { IamSimulator } from '../preflight/iam-simulation.js';
import { CertificateFactsCache } from '../store/certificate-facts-cache.js';
import { CertificateRecords } from '../store/certificate-records.js';
import { IssuedCertificates } from '../store/issued-certificates.js';
import type { KeptKeySecrets } from '../store/kept-key-secrets.js';
import { openStore } from '../store/open-store.js';
import { RateLimitRecords } from '../store/rate-limit-records.js';
import type { StateStore } from '../store/state-store.js';
import type { AcmRegion } from '../targets/acm.js';
import { AcmDeployer } from '../targets/acm-deployer.js';
import { cloudFrontPlaces } from '../targets/cloudfront-distributions.js';
import { listenerPlaces } from '../targets/listeners.js';
import type { AuditLogger } from '../telemetry/logger.js';
import { notifierFromConfig } from '../telemetry/notification-channels.js';

// Shutdown must stay well inside the stop timeouts of process managers (Docker: 10 s, systemd: 90 s).
const NOTIFICATION_FLUSH_MS = 5_000;

/**
 * The composition root: builds the real ports of one agent process from the config (the state store, the
 * AWS clients, the Route 53 solver, the ACM deployer with its places, the ACME issuer, notifications) and
 * hands them to the agent. The only place that knows which implementation stands behind each port.
 */
export class AgentContext implements AgentPorts {
  readonly clock = systemClock;
  readonly store: AgentStore;
  readonly solver: Route53ChallengeSolver;
  readonly deployers: AcmDeployer[];
  readonly issuer: AcmeIssuer;
  readonly iamSimulator: IamSimulator;
  readonly inventory: Inventory;
  private readonly aws: AwsClients;
  private readonly acmDeployer: AcmDeployer;
  private readonly route53: Route53Accounts;
  /** Sends `notifications` (SNS, webhook) for the audit events that need a person; absent when none is configured. */
  private readonly notifications?: ReturnType<typeof notifierFromConfig>;

  /**
   * The context of `config`: the store and where kept keys go are imported as the config names them (no
   * DynamoDB, Secrets Manager or SSM code loads unless configured).
   */
  static async open(config: ResolvedConfig, log: AuditLogger, solverOptions: SolverOptions = {}): Promise<AgentContext> {
    const state = await openStore(config, log);
    const keptKeys = config.acme.accountKey ? (await import('../store/kept-key-secrets.js')).keptKeySecrets(config) : undefined;
    return new AgentContext(config, log, { state, keptKeys }, solverOptions);
  }

  private constructor(
    readonly config: ResolvedConfig,
    readonly log: AuditLogger,
    { state, keptKeys }: { state: StateStore; keptKeys: KeptKeySecrets | undefined },
    solverOptions: SolverOptions,
  ) {
    configureCaHttp(config.acme.caCertificates, config.acme.requestTimeoutSeconds);
    const rateLimits = new RateLimitRecords(state, config.acme.directoryUrl);
    this.store = {
      state,
      records: new CertificateRecords(state),
      rateLimits,
      issued: new IssuedCertificates(config.stateDir, state, keptKeys),
    };
    this.aws = new AwsClients(config.aws.region, config.aws.requestTimeoutSeconds, config.aws.requestRates);
    this.iamSimulator = new IamSimulator(this.aws);
    // Public facts only; losing them costs GetCertificate calls, nothing else.
    const certificateFacts = new CertificateFactsCache(state);
    this.acmDeployer = new AcmDeployer(this.aws, certificateFacts, [listenerPlaces((region) => this.aws.elbv2(region)), cloudFrontPlaces(() => this.aws.cloudfront())]);
    this.deployers = [this.acmDeployer];
    const { requestsPerSecond, insyncTimeoutSeconds, propagation } = config.route53;
    this.route53 = new Route53Accounts(this.aws, requestsPerSecond);
    const changes = new Route53Solver(this.route53, {
      insyncTimeoutMs: insyncTimeoutSeconds * 1000,
      ...(propagation.check && { propagation: new PropagationCheck(this.route53, propagation) }),
      ...solverOptions,
    });
    this.solver = new Route53ChallengeSolver(changes, new ChallengeJournal(state), () => new HostedZoneFinder(this.route53, this.config.route53));
    this.issuer = new AcmeIssuer(config, state, rateLimits, log);
    this.inventory = {
      unmanaged: (regions, withinDays) => discoverUnmanaged((region) => this.aws.acm(region), regions, withinDays, configuredArns(this.config)),
      leftConfig: (regions) => findLeftConfig(this.forPass().acm, regions, this.config),
    };
    this.notifications = notifierFromConfig(config, log, async (region) => (await import('../aws/sns-client.js')).snsClient(region, config.aws.requestTimeoutSeconds));
  }

  /**
   * The CA's staging directory, for `renew --dry-run`: its own ACME account (see config/staging-directory.ts),
   * and what it would note in the rate-limit ledger is dropped: a dry run records nothing.
   */
  stagingIssuer(): AcmeIssuer {
    return new AcmeIssuer(stagingConfig(this.config), this.store.state, { update: async () => {} }, this.log, STAGING_SETTING_NAMES);
  }

  /** Before exit: what notifications are still queued get until the deadline, then are logged as not sent. */
  async flushNotifications(deadlineMs = NOTIFICATION_FLUSH_MS): Promise<void> {
    await this.notifications?.notifier.flush(deadlineMs);
  }

  /**
   * A read-only scope for the commands (`status`, `doctor`, `discover`), plus ACM's listings of that scope
   * (shared with the deployer) for what lies beyond the config (the left-config list, unmanaged certificates).
   */
  forPass(): PassScope & { acm: (region: string) => AcmRegion } {
    const acm = this.acmDeployer.forPass('fleet');
    return { challenges: this.solver.openSession(), deployers: [acm], acm: (region) => acm.acm(region) };
  }

  close(): void {
    this.notifications?.close();
    this.aws.destroy();
    this.store.state.close();
  }
}
