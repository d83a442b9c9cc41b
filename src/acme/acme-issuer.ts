import type acme from 'acme-client';
import type { ResolvedConfig } from '../config/schema.js';
import type { CertificateSpec } from '../config/schema.js';
import type { IssuedCertificate } from '../pki/issued-certificate.js';
import type { Issuer, IssueRequest, SuggestedWindow } from '../ports/issuer.js';
import type { PreflightCheck } from '../ports/preflight-check.js';
import { identifierSetKey, MAX_CA_RETRY_AFTER_MS } from '../policy/rate-limits.js';
import type { RateLimitNotes } from '../store/rate-limit-records.js';
import type { StateStore } from '../store/state-store.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import { accountForgotten, openAccount, PRODUCTION_SETTING_NAMES, type AccountSettingNames } from './account.js';
import { cancellableCaWork, collectCaProblems, type CaProblem } from './ca-http.js';
import { acmeDirectory } from './directory.js';
import { issueCertificate } from './issuer.js';
import { fetchRenewalInfo } from './renewal-info.js';

/**
 * The Issuer over ACME: one account per process (registered on first use, registered again when the CA
 * forgot it), the order flow of issuer.ts, ARI, and the CA's own rate limits noted in the ledger.
 */
export class AcmeIssuer implements Issuer {
  private account?: Promise<acme.Client>;
  /** What `account` resolved to: the client a renewal may report as forgotten by the CA. */
  private accountInUse?: acme.Client;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly store: StateStore,
    private readonly rateLimits: RateLimitNotes,
    private readonly log: AuditLogger,
    /** The config keys its errors name: the staging ones for a dry run's issuer. */
    private readonly settings: AccountSettingNames = PRODUCTION_SETTING_NAMES,
  ) {}

  async issue(spec: CertificateSpec, request: IssueRequest): Promise<IssuedCertificate> {
    return collectCaProblems(async (problems) => {
      try {
        return await this.issueWithAccount(spec, request, problems);
      } catch (error) {
        await this.noteRateLimit(spec, problems, request.log);
        throw error;
      }
    });
  }

  async renewalInfo(certId: string): Promise<SuggestedWindow | undefined> {
    const renewalInfoUrl = (await acmeDirectory(this.config.acme.directoryUrl)).renewalInfo;
    return renewalInfoUrl ? fetchRenewalInfo(renewalInfoUrl, certId) : undefined;
  }

  /** The CA answers (its directory) and knows the account (registered, or found again by its key). */
  async check(log: AuditLogger, { account }: { account: boolean }): Promise<PreflightCheck> {
    const url = this.config.acme.directoryUrl;
    try {
      await acmeDirectory(url);
      if (!account) return { check: 'ca', ok: true, detail: `the CA at ${url} answers (its directory; the ACME account is checked before each order)` };
      const client = await this.client(log);
      return { check: 'ca', ok: true, detail: `the CA at ${url} answers and the ACME account ${client.getAccountUrl()} is valid` };
    } catch (error) {
      return {
        check: 'ca',
        ok: false,
        // Most causes name the URL already ("cannot read the ACME directory URL: …"): once is enough.
        detail: describeError(error).includes(url) ? describeError(error) : `the CA at ${url} cannot be used: ${describeError(error)}`,
        fix: `check ${this.settings.directoryUrl}, that this machine reaches it over HTTPS (proxy, firewall, acme.caCertificates), and the account settings (acme.email, ${this.settings.eab}); or wait until the CA is back`,
      };
    }
  }

  private async issueWithAccount(spec: CertificateSpec, request: IssueRequest, problems: CaProblem[]): Promise<IssuedCertificate> {
    const { log, signal, onStep } = request;
    const issue = async (client: acme.Client) =>
      issueCertificate(spec, {
        client,
        challenges: request.challenges,
        log,
        signal,
        onStep,
        replaces: request.replaces,
        profile: await cancellableCaWork(signal, () => this.orderProfile(log)),
        preferredChain: this.config.acme.preferredChain,
        rateLimits: this.rateLimits,
        problems,
        onIssued: request.onIssued,
      });
    onStep('registering the ACME account');
    const client = await cancellableCaWork(signal, () => this.client(log));
    const answersBefore = problems.length;
    try {
      return await issue(client);
    } catch (error) {
      // The CA lost the account (its state, a deactivation, a key rotated elsewhere): register the same key
      // again and renew once more, in this pass, rather than fail every renewal until a restart.
      if (signal.aborted || !accountForgotten(problems.slice(answersBefore))) throw error;
      log.warn('acme.account.forgotten', { accountUrl: client.getAccountUrl(), error: describeError(error) });
      onStep('registering the ACME account again');
      return await issue(await cancellableCaWork(signal, () => this.reregister(client, log)));
    }
  }

  /** The ACME client, registered on first use; a failure is retried on the next call. */
  private client(log: AuditLogger = this.log): Promise<acme.Client> {
    this.account ??= this.register(openAccount(this.config, this.store, log, undefined, this.settings));
    return this.account;
  }

  /**
   * The CA no longer knows the account `forgotten` uses (it lost its state, or the account was
   * deactivated): registers the same key again, once for every renewal that found out at the same time.
   */
  private reregister(forgotten: acme.Client, log: AuditLogger): Promise<acme.Client> {
    // Decided synchronously: renewals that fail together must not register one after the other.
    if (!this.account || this.accountInUse === forgotten) {
      this.account = this.register(openAccount(this.config, this.store, log, { previousAccountUrl: forgotten.getAccountUrl() }, this.settings));
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
   * The configured ACME profile, if the CA offers profiles: a name it does not offer is an error that
   * says which it does; a CA without profiles gets no profile field (and a warning).
   */
  private async orderProfile(log: AuditLogger): Promise<string | undefined> {
    const wanted = this.config.acme.profile;
    if (!wanted) return undefined;
    const offered = (await acmeDirectory(this.config.acme.directoryUrl)).profiles;
    if (!offered) {
      log.warn('acme.profile.not_offered', { profile: wanted, why: 'the CA advertises no profiles; ordering without one' });
      return undefined;
    }
    if (!(wanted in offered)) {
      throw new Error(`acme.profile "${wanted}" is not offered by the CA; it offers: ${Object.keys(offered).join(', ')}`);
    }
    return wanted;
  }

  /** The CA said `rateLimited` (HTTP 429): nothing more for these names until its Retry-After (an hour when it gave none). */
  private async noteRateLimit(spec: CertificateSpec, problems: CaProblem[], log: AuditLogger): Promise<void> {
    const limited = problems.find((problem) => problem.status === 429 || problem.type?.endsWith(':rateLimited'));
    if (!limited) return;
    const now = Date.now();
    // Never longer than the longest Retry-After believed (a stored block beyond it would be discarded anyway).
    const until = new Date(now + Math.min(MAX_CA_RETRY_AFTER_MS, (limited.retryAfterSeconds ?? 3600) * 1000)).toISOString();
    const detail = limited.detail ?? `HTTP ${limited.status}`;
    await this.rateLimits.update((ledger) => ledger.caLimits.push({ identifiers: identifierSetKey(spec.domains), until, detail, at: new Date(now).toISOString() }));
    log.warn('acme.rate_limited', { until, detail, retryAfterSeconds: limited.retryAfterSeconds ?? null });
  }
}
