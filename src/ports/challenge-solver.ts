import type { CertificateSpec } from '../config/schema.js';
import type { AuditLogger } from '../telemetry/logger.js';
import type { Turn } from '../util/work-slots.js';

/**
 * The contract between the ACME issuer (and the agent) and whatever publishes DNS-01 challenge values:
 * Route 53 today (dns/route53-challenge-solver.ts). In the spirit of lego's `challenge.Provider`
 * (Present/CleanUp) and certmagic's `DNSProvider`: the issuer speaks of identifiers and values only;
 * zones, record names, accounts, delegation, batching and crash recovery are the provider's.
 */

/** One DNS-01 value to publish: `identifier` is the name validated (`example.com` for `*.example.com`). */
export interface Dns01Challenge {
  identifier: string;
  /** The key authorization digest the CA expects in the TXT record. */
  value: string;
}

/** Where the values of one challenge name go, as the provider resolved them: for permission checks. */
export interface ChallengeDestination {
  /** The record name written (after following any delegation). */
  recordName: string;
  /** The provider's zone ID (Route 53: the hosted zone ID). */
  zoneId: string;
  /** The role the zone's account is reached through, if any. */
  roleArn?: string;
  externalId?: string;
}

/** One challenge name checked before any order: usable, or what is wrong and where to fix it. */
export interface ChallengeNameCheck {
  /** The challenge name checked (`_acme-challenge.example.com`). */
  name: string;
  ok: boolean;
  /** What was found, or the problem, in words (ends without the fix). */
  detail: string;
  /** When not ok: what to change. */
  fix?: string;
  /** When ok: where its values will go. */
  destination?: ChallengeDestination;
}

export interface NameCheckOptions {
  /** Where the certificate sits in the config (`certificates[2]`), for the fix. */
  configPath?: string;
  /**
   * Only that each name has a zone: no delegation lookups, no `destination`. What `status` over a fleet
   * can afford (a delegation lookup may cost a provider request per name).
   */
  quick?: boolean;
}

/** The work slots of a pass (util/work-slots.ts): at most `concurrency` renewals work at once (all when unset). */
export interface PassSlots {
  run<T>(work: (turn: Turn) => Promise<T>): Promise<T>;
}

/** What a session needs of its pass. */
export interface PassOfSession {
  /** The pass's ID: journal entries of a pass under way are no orphans. */
  runId: string;
  /** The pass's logger. */
  log: AuditLogger;
  /** The renewals' slots: a renewal gives its slot up while it only waits on the provider. */
  slots: PassSlots;
}

/**
 * A DNS-01 provider for the whole process. Implementations are safe for concurrent passes (the daemon may
 * run several at once, never two on one certificate).
 */
export interface ChallengeSolver {
  /**
   * Opens the session of one pass (or, without `pass`, a session for reads only: `status`, `plan`, `doctor`,
   * where `check` works and `takePart` throws). Cheap: lookups are cached for the session's life.
   */
  openSession(pass?: PassOfSession): ChallengeSession;
}

/**
 * One pass's dealings with the provider. The caller may rely on:
 * - every renewal that takes part shares one change per zone to present and one to clean up (and one
 *   wait for it to be live) with the other renewals of the pass still on their way, as long as each says
 *   when it presents nothing (`presentsNothing`, or simply returning from `takePart`);
 * - values presented are removed whatever happens (success, failure, abort); values a crash left up are
 *   noted in a durable journal and removed by a later session's `cleanUpOrphans`.
 */
export interface ChallengeSession {
  /**
   * Checks a certificate's names before any order: for each challenge name, its zone is found and
   * readable, delegation followed. Never throws: a problem is a failed check with a fix.
   */
  check(spec: CertificateSpec, log: AuditLogger, options?: NameCheckOptions): Promise<ChallengeNameCheck[]>;

  /**
   * Removes the values of earlier runs that died mid-renewal (journal entries whose run is over). Called
   * once at the start of a pass; never throws (a failure is logged as `dns.challenge.cleanup_failed`).
   */
  cleanUpOrphans(): Promise<void>;

  /**
   * Runs one renewal of the pass in one of its work slots. Call it for every renewal of a wave at once (the
   * provider then waits for all of them before sending a change); the renewal's participation ends when
   * `work` settles, whether it presented or not.
   */
  takePart<T>(work: (participant: ChallengeParticipant) => Promise<T>, options?: PartOptions): Promise<T>;

  /** The pass is over: its journal entries left from now on are orphans for the next pass. Idempotent. */
  close(): void;
}

/** What the session is told of a renewal as it takes part. */
export interface PartOptions {
  /**
   * When the certificate served now expires (absent: nothing served yet). Sharing a change with the
   * others gives way as this comes close: a renewal near it waits for no straggler (its values go in a
   * change of their own if need be), so waiting to save a change never costs an expiry.
   */
  servedUntil?: Date;
}

/** One renewal's part in its pass's session (given by `takePart`). */
export interface ChallengeParticipant {
  /**
   * Before the order: finds where each name's values go and waits until the provider accepts changes
   * there (a refused change must not cost an order). Throws, with the fix, when a name cannot be served.
   */
  prepare(request: ChallengeRequest): Promise<void>;

  /**
   * Publishes the values and resolves once they are live (the CA may validate). Notes them in the journal
   * first. Gives the renewal's work slot up while it waits. On failure or abort, what was published is
   * removed (the caller need not call `remove`). Call at most once.
   */
  present(challenges: Dns01Challenge[], request: ChallengeRequest): Promise<PresentedChallenges>;

  /**
   * This renewal will present nothing (a kept issued certificate, authorizations the CA reused, a
   * redeploy): the others of the pass need not wait for it. Harmless to call more than once.
   */
  presentsNothing(): void;
}

/** The renewal asking: its certificate (for provider settings), its logger and its abort signal. */
export interface ChallengeRequest {
  spec: CertificateSpec;
  log: AuditLogger;
  /** Aborts waiting; values already published are still removed. */
  signal?: AbortSignal;
}

/** The handle to exactly the values `present` published: others at the same names are never touched. */
export interface PresentedChallenges {
  /**
   * Asks for the removal now (sharing the pass's clean-up change) without waiting for it: the caller
   * goes on (finalizing the order) while it happens. Harmless to call more than once.
   */
  startRemoval(): void;

  /**
   * Starts the removal if not started and resolves once the values are gone, giving the renewal's work
   * slot up meanwhile. Never throws: a failure is logged (`dns.challenge.cleanup_failed`) and the values
   * stay in the journal for the next pass. Once the request's signal has aborted, resolves within 10 s.
   */
  removed(): Promise<void>;
}
