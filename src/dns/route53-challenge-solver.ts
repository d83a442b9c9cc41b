import { challengeBaseName } from '../config/domains.js';
import type {
  ChallengeNameCheck,
  ChallengeParticipant,
  ChallengeRequest,
  ChallengeSession,
  ChallengeSolver,
  Dns01Challenge,
  NameCheckOptions,
  PartOptions,
  PassOfSession,
  PresentedChallenges,
} from '../ports/challenge-solver.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import type { Turn } from '../util/work-slots.js';
import type { ChallengeJournal } from './challenge-journal.js';
import type { ChallengeTarget, HostedZoneFinder } from './hosted-zones.js';
import { untilAborted, type Route53Solver, type TxtRecord } from './route53-solver.js';

/**
 * DNS-01 on Route 53 behind the ChallengeSolver port: zone lookup (longest public zone, route53.zones,
 * certificate roles), CNAME delegation, the TXT record shape, the crash journal, and the pass's shared
 * changes (`Route53Solver`: one change per zone to present, one to clean up).
 */
export class Route53ChallengeSolver implements ChallengeSolver {
  constructor(
    /** The process's Route 53 changes: batchers and INSYNC polls shared by every pass. */
    private readonly changes: Route53Solver,
    private readonly journal: ChallengeJournal,
    /** A fresh zone finder: its listings are cached for one session (one pass). */
    private readonly zoneFinder: () => HostedZoneFinder,
  ) {}

  openSession(pass?: PassOfSession): Route53ChallengeSession {
    return new Route53ChallengeSession(this.changes, this.journal, this.zoneFinder(), pass);
  }
}

export class Route53ChallengeSession implements ChallengeSession {
  private readonly ended?: () => void;

  constructor(
    readonly changes: Route53Solver,
    readonly journal: ChallengeJournal,
    /** The session's zone lookups (the pass's Route 53 listings, read once). */
    readonly zones: HostedZoneFinder,
    readonly pass?: PassOfSession,
  ) {
    this.ended = pass && journal.runStarted(pass.runId);
  }

  async check(spec: ChallengeRequest['spec'], log: AuditLogger, { configPath = 'the certificate', quick = false }: NameCheckOptions = {}): Promise<ChallengeNameCheck[]> {
    const bases = [...new Set(spec.domains.map(challengeBaseName))];
    return Promise.all(
      bases.map(async (base): Promise<ChallengeNameCheck> => {
        const name = `_acme-challenge.${base}`;
        try {
          if (quick) {
            // The zone listing only (read once per session): no CNAME lookup per name.
            const zone = await this.zones.zoneFor(name, spec.route53, log);
            return { name, ok: true, detail: `${name} is in hosted zone ${zone.id} (${zone.name})` };
          }
          const target = await this.zones.challengeTarget(base, spec.route53, log);
          const via = target.chain.length > 1 ? ` (through ${target.chain.join(' → ')})` : '';
          const { role } = target.zone;
          return {
            name,
            ok: true,
            detail: `${name} goes in hosted zone ${target.zone.id} (${target.zone.name})${via}, which is readable`,
            destination: { recordName: target.name, zoneId: target.zone.id, ...(role && { roleArn: role.roleArn, externalId: role.externalId }) },
          };
        } catch (error) {
          // The message names the challenge name and what to do (create the zone, mend a CNAME): the fix says where in the config.
          return { name, ok: false, detail: describeError(error), fix: `check ${configPath}.domains and ${configPath}.route53 (hostedZoneId, roleArn)` };
        }
      }),
    );
  }

  /** Records left by a run that died mid-renewal (SIGKILL, crash): removed before anything else. */
  async cleanUpOrphans(): Promise<void> {
    const log = this.passOrThrow().log;
    let orphans: Awaited<ReturnType<ChallengeJournal['orphans']>>;
    try {
      orphans = await this.journal.orphans();
    } catch (error) {
      log.error('dns.challenge.cleanup_failed', { error: describeError(error), why: 'cannot read the challenge journal' });
      return;
    }
    for (const { entry, forget } of orphans) {
      try {
        await this.changes.cleanup(entry.records, log.child({ certificate: entry.certificate }));
        await forget();
        log.info('dns.challenge.orphans_cleaned', { certificate: entry.certificate, previousRunId: entry.runId, records: entry.records.map((r) => r.name) });
      } catch (error) {
        log.error('dns.challenge.cleanup_failed', { certificate: entry.certificate, previousRunId: entry.runId, error: describeError(error) });
      }
    }
  }

  takePart<T>(work: (participant: ChallengeParticipant) => Promise<T>, options: PartOptions = {}): Promise<T> {
    const pass = this.passOrThrow();
    // Until it knows whether it presents, the renewal holds the Route 53 batchers open (present-rendezvous.ts).
    const arrived = this.changes.expectPresent();
    return pass.slots.run((turn) => work(new Route53Participant(this, pass, arrived, turn, options.servedUntil))).finally(arrived);
  }

  close(): void {
    this.ended?.();
  }

  private passOrThrow(): PassOfSession {
    if (!this.pass) throw new Error('this challenge session was opened for reads only (no pass)');
    return this.pass;
  }
}

/** One renewal of the pass: its challenge targets, its journal entry, its share of the changes. */
class Route53Participant implements ChallengeParticipant {
  private readonly targets = new Map<string, ChallengeTarget>();

  constructor(
    private readonly session: Route53ChallengeSession,
    private readonly pass: PassOfSession,
    /** Tells the batchers this renewal has presented (or will not). */
    private readonly arrived: () => void,
    /** Its work slot, given up while it only waits on Route 53, so the others of the pass reach the same change. */
    private readonly turn: Turn,
    /** When what is served now expires: how long its change may wait for others (zone-change-batcher.ts). */
    private readonly servedUntil?: Date,
  ) {}

  async prepare({ spec, log, signal }: ChallengeRequest): Promise<void> {
    for (const base of new Set(spec.domains.map(challengeBaseName))) await this.targetFor(base, { spec, log });
    signal?.throwIfAborted();
    // No order while Route 53 refuses a change in one of its zones (shared with other tools): wait it out first.
    await this.session.changes.untilZonesAccept(
      [...this.targets.values()].map((target) => target.zone),
      signal,
    );
  }

  async present(challenges: Dns01Challenge[], request: ChallengeRequest): Promise<PresentedChallenges> {
    const { spec, log, signal } = request;
    const records: TxtRecord[] = [];
    for (const { identifier, value } of challenges) {
      const { zone, name } = await this.targetFor(identifier, request);
      records.push({
        zoneId: zone.id,
        zoneName: zone.name,
        name,
        value,
        ...(zone.role && { roleArn: zone.role.roleArn, ...(zone.role.externalId && { externalId: zone.role.externalId }) }),
        ...(zone.recordSetCount !== undefined && { zoneRecordSetCount: zone.recordSetCount }),
      });
    }
    const forget = await this.session.journal.note(this.pass.runId, spec.name, records);
    const removal = new Route53Removal(this.session.changes, records, forget, log, this.turn, signal);
    try {
      await this.turn.outside(() => this.session.changes.present(records, log, { signal, arrived: this.arrived, runId: this.pass.runId, servedUntil: this.servedUntil }));
    } catch (error) {
      await removal.removed();
      throw error;
    }
    return removal;
  }

  presentsNothing(): void {
    this.arrived();
  }

  /** Where `identifier`'s values go: its zone, or where its CNAME delegates it (looked up once per renewal). */
  private async targetFor(identifier: string, { spec, log }: Pick<ChallengeRequest, 'spec' | 'log'>): Promise<ChallengeTarget> {
    let target = this.targets.get(identifier);
    if (!target) {
      target = await this.session.zones.challengeTarget(identifier, spec.route53, log);
      if (target.chain.length > 1) log.info('dns.challenge.delegated', { name: target.chain[0], chain: target.chain, hostedZoneId: target.zone.id, zone: target.zone.name });
      this.targets.set(identifier, target);
    }
    return target;
  }
}

// A cancelled renewal's clean-up gets this long; what is still up then stays in the journal for the next
// pass (SIGTERM must end the process within its bound, and a lock must not wait on Route 53 for long).
const CLEANUP_AFTER_CANCEL_MS = 10_000;

/** Exactly the values one renewal presented: removed with the pass's other clean-ups, then forgotten by the journal. */
class Route53Removal implements PresentedChallenges {
  private started?: Promise<void>;

  constructor(
    private readonly changes: Route53Solver,
    private readonly records: TxtRecord[],
    private readonly forget: () => Promise<void>,
    private readonly log: AuditLogger,
    private readonly turn: Turn,
    private readonly signal?: AbortSignal,
  ) {}

  startRemoval(): void {
    this.started ??= this.cleanUp();
  }

  removed(): Promise<void> {
    this.startRemoval();
    return this.turn.outside(() => this.within(this.started!));
  }

  // Clean-up failing must not hide why the renewal failed; the journal keeps the records for the next pass.
  private async cleanUp(): Promise<void> {
    try {
      await this.changes.cleanup(this.records, this.log);
      await this.forget();
    } catch (error) {
      this.log.error('dns.challenge.cleanup_failed', { error: describeError(error), records: this.records.map((r) => r.name) });
    }
  }

  /** Waits for the clean-up; once the renewal is cancelled, for CLEANUP_AFTER_CANCEL_MS more at most. */
  private async within(cleanedUp: Promise<void>): Promise<void> {
    const { signal } = this;
    if (!signal) return cleanedUp;
    try {
      await untilAborted(cleanedUp, signal);
      return;
    } catch {
      // cancelled while cleaning up: a short grace below
    }
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'gave up'>((resolve) => (timer = setTimeout(() => resolve('gave up'), CLEANUP_AFTER_CANCEL_MS)));
    const outcome = await Promise.race([cleanedUp, gaveUp]);
    clearTimeout(timer); // a pending timer would keep a stopping process alive
    if (outcome === 'gave up') {
      this.log.error('dns.challenge.cleanup_failed', {
        error: `the clean-up did not finish within ${CLEANUP_AFTER_CANCEL_MS / 1000} s of the renewal being cancelled`,
        records: this.records.map((r) => r.name),
        why: 'kept in the challenge journal: the next pass removes them',
      });
    }
  }
}
