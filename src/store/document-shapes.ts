import { z } from 'zod';

/**
 * The shape of every document the store keeps, by kind (the prefix of its key; `lock` for the file
 * store's lock files). A document that does not parse or does not fit is damaged: the store moves it aside
 * and reads it as absent, and what it held is rebuilt from AWS and the CA (see file-store.ts).
 *
 * Shapes are loose on purpose: fields they do not name pass (a newer certkeeper may add some), and they
 * check only what the code relies on, so a document a newer or older version wrote is never thrown away
 * for a detail.
 */
export type DocumentKind = 'cert' | 'ratelimits' | 'journal' | 'account' | 'notices' | 'facts' | 'lock' | 'issued';

const isoTime = z.string();

export const holderShape = z.looseObject({
  id: z.string(),
  pid: z.number().int(),
  host: z.string(),
  bootId: z.string().optional(),
  startTime: z.string().optional(),
});

const certificateRecord = z.looseObject({
  acm: z.record(z.string(), z.string()).optional(),
  lastSuccess: z.looseObject({ at: isoTime, serial: z.string(), notAfter: isoTime }).optional(),
  lastFailure: z.looseObject({ at: isoTime, error: z.string() }).optional(),
  consecutiveFailures: z.number().optional(),
  ari: z.looseObject({ certId: z.string(), start: isoTime, end: isoTime, chosenAt: isoTime, checkedAt: isoTime, nextCheckAt: isoTime }).optional(),
  ariUnavailable: z.looseObject({ certId: z.string(), error: z.string(), at: isoTime, nextCheckAt: isoTime }).optional(),
});

// The ledger's entries are the rate-limit policy's business (src/policy/rate-limits.ts): only its lists are checked.
const rateLimitLedger = z.looseObject({
  orders: z.array(z.unknown()).optional(),
  issuances: z.array(z.unknown()).optional(),
  failedValidations: z.array(z.unknown()).optional(),
  caLimits: z.array(z.unknown()).optional(),
});

const journalEntry = z.looseObject({
  holder: holderShape.optional(),
  pid: z.number().int(),
  runId: z.string(),
  certificate: z.string(),
  records: z.array(z.looseObject({ zoneId: z.string(), name: z.string(), value: z.string() })),
  at: isoTime,
});

const account = z.looseObject({
  directoryUrl: z.string(),
  email: z.string().optional(),
  accountUrl: z.string().optional(),
  accountKey: z.string().optional(),
  createdAt: isoTime,
});

// notices#emergency maps certificate names to serials; other notices may map names to other facts.
const notices = z.record(z.string(), z.unknown());

const facts = z.looseObject({
  certificateArn: z.string(),
  fingerprint: z.string(),
  facts: z.looseObject({ notBefore: isoTime, notAfter: isoTime }),
});

/** An issued certificate kept until it is deployed; its key is here only in stateDir (else in the secret store). */
const issued = z.looseObject({
  certificate: z.string(),
  directoryUrl: z.string(),
  leafPem: z.string(),
  chainPem: z.string(),
  privateKeyPem: z.string().optional(),
  orderUrl: z.string(),
  keptAt: isoTime,
});

/** A lock file: { holder, since, heartbeatAt, expiresAt }, or the older { pid, since, holder? } (no heartbeat). */
export const lockShape = z.union([
  z.looseObject({ holder: holderShape, since: isoTime, heartbeatAt: isoTime, expiresAt: isoTime }),
  z.looseObject({ pid: z.number().int(), since: isoTime, holder: holderShape.optional() }),
]);

const SHAPES: Record<DocumentKind, z.ZodType> = { cert: certificateRecord, ratelimits: rateLimitLedger, journal: journalEntry, account, notices, facts, lock: lockShape, issued };

/** Why a document is damaged, or undefined when it fits its kind. Never quotes the document (it may hold a key). */
export function shapeProblem(kind: DocumentKind, value: unknown): string | undefined {
  const checked = SHAPES[kind].safeParse(value);
  if (checked.success) return undefined;
  const issue = checked.error.issues[0]!;
  return `wrong shape for ${describeKind(kind)}: ${issue.path.length ? issue.path.join('.') : 'the document'}: ${issue.message}`;
}

/** A parse error without the snippet of the input some engines put in it (it may be key material). */
export function describeParseError(error: unknown): string {
  const message = (error as Error).message ?? String(error);
  return `not valid JSON (${/"[\s\S]*" is not valid JSON/.test(message) ? 'unexpected content' : message})`;
}

/** The kind of a store key (`cert#NAME` → cert). */
export function kindOfKey(key: string): DocumentKind | undefined {
  const kind = key.split('#')[0];
  return kind && kind in SHAPES && kind !== 'lock' ? (kind as DocumentKind) : undefined;
}

function describeKind(kind: DocumentKind): string {
  const names: Record<DocumentKind, string> = {
    cert: 'a certificate record',
    ratelimits: 'a rate-limit ledger',
    journal: 'a challenge journal entry',
    account: 'an ACME account file',
    notices: 'a notices document',
    facts: 'cached ACM certificate facts',
    lock: 'a lock',
    issued: 'a kept issued certificate',
  };
  return names[kind];
}
