import { CLOCK_TOLERANCE_MS } from './clock-tolerance.js';

/**
 * The rate-limit ledger as the store keeps it: its shape, and what of it can be believed and must be kept.
 * The guards that read it are policy/rate-limits.ts.
 */

const DAY = 86_400_000;

/** The longest window a limit may have (Let's Encrypt's longest): the ledger keeps entries that long. */
export const MAX_LIMIT_WINDOW_MS = 7 * DAY;

/**
 * What the CA counted for this ACME account (one per directory), and what it said: kept in the store,
 * shared by every agent using it.
 */
export interface RateLimitLedger {
  /** newOrder requests the CA accepted (a refused one is no order), ISO times. */
  orders: string[];
  /** Certificates the CA issued (deployed or not), per identifier set (sorted, comma-joined); `replaced`: ordered with ARI `replaces`. */
  issuances: { at: string; identifiers: string; replaced: boolean }[];
  /** Failed DNS-01 validations, per identifier. */
  failedValidations: { at: string; identifier: string }[];
  /** The CA answered `rateLimited`: nothing for these identifiers until `until`; `at`: when it said so (absent in older ledgers). */
  caLimits: { identifiers: string; until: string; detail: string; at?: string }[];
  /** A certificate the CA issued was not valid by this machine's clock when it arrived (see clockSkewBlocks in policy/rate-limits.ts). */
  clockSkews: { identifiers: string; at: string; serial: string; notBefore: string; notAfter: string }[];
}

/** The longest wait a CA's Retry-After is honoured for; a stored `until` beyond now + this is an impossible future. */
export const MAX_CA_RETRY_AFTER_MS = 7 * DAY;

export function emptyLedger(): RateLimitLedger {
  return { orders: [], issuances: [], failedValidations: [], caLimits: [], clockSkews: [] };
}

/** This machine's clock finds the CA's certificate not yet valid (beyond the tolerance) or already expired. */
export function clockDisagrees(entry: RateLimitLedger['clockSkews'][number], now: Date): boolean {
  return now.getTime() < new Date(entry.notBefore).getTime() - CLOCK_TOLERANCE_MS || now >= new Date(entry.notAfter);
}

/**
 * What of a stored ledger can be believed now: entries recorded in the future (a clock that ran ahead,
 * since corrected) and CA limits reaching beyond the longest Retry-After from now are discarded, so a
 * clock's mistake cannot hold a certificate for a year.
 */
export function usableLedger(ledger: RateLimitLedger, now: Date): RateLimitLedger {
  const full = { ...emptyLedger(), ...ledger };
  const latest = now.getTime() + CLOCK_TOLERANCE_MS;
  const past = (at: string) => new Date(at).getTime() <= latest;
  return {
    orders: full.orders.filter(past),
    issuances: full.issuances.filter((entry) => past(entry.at)),
    failedValidations: full.failedValidations.filter((entry) => past(entry.at)),
    caLimits: full.caLimits.filter((entry) => (entry.at === undefined || past(entry.at)) && new Date(entry.until).getTime() <= now.getTime() + MAX_CA_RETRY_AFTER_MS),
    clockSkews: full.clockSkews.filter((entry) => past(entry.at)),
  };
}

/** Drops what no guard needs any more (and what cannot be believed), so the ledger stays small. */
export function pruneLedger(ledger: RateLimitLedger, now: Date): RateLimitLedger {
  const usable = usableLedger(ledger, now);
  const recent = (at: string) => now.getTime() - new Date(at).getTime() < MAX_LIMIT_WINDOW_MS;
  return {
    orders: usable.orders.filter(recent),
    issuances: usable.issuances.filter((entry) => recent(entry.at)),
    failedValidations: usable.failedValidations.filter((entry) => recent(entry.at)),
    caLimits: usable.caLimits.filter((entry) => new Date(entry.until) > now),
    clockSkews: usable.clockSkews.filter((entry) => clockDisagrees(entry, now)),
  };
}
