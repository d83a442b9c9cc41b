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
    this.aws = new AwsClients(config.aws.region, config.aws.requestTimeoutSeconds);
    this.solver = new Route53Solver(this.aws.route53, solverOptions);
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
    this.aws.destroy();
  }
}

export interface PassScope {
  zones: HostedZoneFinder;
  acm: (region: string) => AcmRegion;
}
