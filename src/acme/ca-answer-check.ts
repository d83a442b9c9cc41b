/**
 * Checks each successful answer of the CA against what its step of RFC 8555 needs, before acme-client
 * reads it: a CA (or a proxy in front of it) answering garbage otherwise surfaces as acme-client's
 * TypeErrors ("Cannot create property 'url' on string …"), which name neither the server nor the fault.
 *
 * What each URL is for is learnt from the answers themselves: the directory (registered by whoever
 * creates a client) names newNonce, newAccount and newOrder; an order names its authorizations, its
 * finalize and certificate URLs; an authorization names its challenges. URLs certkeeper never learnt
 * (renewalInfo, alternate chains) are not checked here.
 */

export type CaAnswerKind = 'directory' | 'nonce' | 'account' | 'newOrder' | 'order' | 'finalize' | 'authorization' | 'challenge' | 'certificate';

/** A 2xx answer of the CA that is not what its step needs: one line, the URL, what was expected, what came. */
export class CaAnswerMalformed extends Error {
  override name = 'CaAnswerMalformed';
}

interface Expectation {
  what: string;
  /** Undefined when the answer fits. */
  fault: (answer: CaAnswer) => string | undefined;
}

export interface CaAnswer {
  status: number;
  headers: Record<string, unknown>;
  /** The body as the HTTP adapter hands it over: raw text (axios parses JSON only after the adapter). */
  data: unknown;
}

const isObject = (data: unknown): data is Record<string, unknown> => typeof data === 'object' && data !== null && !Array.isArray(data);
const isStringArray = (value: unknown) => Array.isArray(value) && value.every((item) => typeof item === 'string');

/** An object with these string fields (and these arrays), or the first thing missing. */
function jsonObject(strings: string[], arrays: string[] = []): (answer: CaAnswer) => string | undefined {
  return ({ data }) => {
    if (!isObject(data)) return 'not a JSON object';
    const missing = [...strings.filter((field) => typeof data[field] !== 'string'), ...arrays.filter((field) => !Array.isArray(data[field]))];
    return missing.length > 0 ? `no ${missing.join(', ')}` : undefined;
  };
}

const EXPECTATIONS: Record<CaAnswerKind, Expectation> = {
  directory: { what: 'a JSON directory object (newNonce, newAccount, newOrder)', fault: jsonObject(['newNonce', 'newAccount', 'newOrder']) },
  nonce: { what: 'a Replay-Nonce header', fault: ({ headers }) => (typeof headers['replay-nonce'] === 'string' && headers['replay-nonce'] !== '' ? undefined : 'no Replay-Nonce') },
  account: { what: 'a JSON account object (status)', fault: jsonObject(['status']) },
  newOrder: {
    what: 'a JSON order object (status, authorizations, finalize) and a Location header',
    fault: (answer) =>
      jsonObject(['status', 'finalize'], ['authorizations'])(answer) ??
      (isStringArray((answer.data as Record<string, unknown>).authorizations) ? undefined : 'authorizations are not URLs') ??
      (typeof answer.headers.location === 'string' ? undefined : 'no Location'),
  },
  order: { what: 'a JSON order object (status)', fault: jsonObject(['status']) },
  finalize: { what: 'a JSON order object (status)', fault: jsonObject(['status']) },
  authorization: {
    what: 'a JSON authorization object (status, identifier, challenges)',
    fault: (answer) => jsonObject(['status'], ['challenges'])(answer) ?? (isObject((answer.data as Record<string, unknown>).identifier) ? undefined : 'no identifier'),
  },
  challenge: { what: 'a JSON challenge object (status)', fault: jsonObject(['status']) },
  certificate: {
    what: 'a PEM certificate chain',
    fault: ({ data }) => (typeof data === 'string' && data.includes('-----BEGIN CERTIFICATE-----') ? undefined : 'no certificate'),
  },
};

// Learnt URLs, oldest first; bounded so a daemon that runs for months does not keep every order it made.
const kinds = new Map<string, CaAnswerKind>();
const MAX_REMEMBERED = 10_000;

/** From now on, answers from `url` must be a `kind` answer. */
export function expectCaAnswer(url: unknown, kind: CaAnswerKind): void {
  if (typeof url !== 'string' || url === '') return;
  kinds.delete(url);
  kinds.set(url, kind);
  if (kinds.size > MAX_REMEMBERED) kinds.delete(kinds.keys().next().value!);
}

/**
 * Throws CaAnswerMalformed when a 2xx answer from a known URL does not fit its step; otherwise learns
 * the URLs it names. Error answers (4xx, 5xx) are acme-client's and the problem collection's business.
 */
export function checkCaAnswer(method: string, url: string, answer: CaAnswer): void {
  if (answer.status < 200 || answer.status >= 300) return;
  const kind = kinds.get(url);
  if (!kind) return;
  const text = bodyText(answer.data);
  const parsed = { ...answer, data: parseJson(text) ?? text };
  const expected = EXPECTATIONS[kind];
  const fault = expected.fault(parsed);
  if (fault) {
    throw new CaAnswerMalformed(
      `the ACME server answered ${method.toUpperCase()} ${url}: expected ${expected.what}, came ${describeAnswer(answer.status, answer.headers, text, fault)}`,
    );
  }
  learnFrom(kind, parsed);
}

function learnFrom(kind: CaAnswerKind, { data, headers }: CaAnswer): void {
  const body = data as Record<string, unknown>;
  if (kind === 'directory') {
    expectCaAnswer(body.newNonce, 'nonce');
    expectCaAnswer(body.newAccount, 'account');
    expectCaAnswer(body.newOrder, 'newOrder');
  } else if (kind === 'account' && typeof headers.location === 'string') {
    expectCaAnswer(headers.location, 'account');
  } else if (kind === 'newOrder' || kind === 'order' || kind === 'finalize') {
    if (kind === 'newOrder') expectCaAnswer(headers.location, 'order');
    if (Array.isArray(body.authorizations)) for (const url of body.authorizations) expectCaAnswer(url, 'authorization');
    expectCaAnswer(body.finalize, 'finalize');
    expectCaAnswer(body.certificate, 'certificate');
  } else if (kind === 'authorization' && Array.isArray(body.challenges)) {
    for (const challenge of body.challenges) if (isObject(challenge)) expectCaAnswer(challenge.url, 'challenge');
  }
}

const EXCERPT_CHARS = 60;

function bodyText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return data === undefined || data === null ? '' : JSON.stringify(data);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `HTTP 200, application/json, not a JSON object: "{\"status\": 5…`: the body as on the wire, on one line. */
function describeAnswer(status: number, headers: Record<string, unknown>, text: string, fault: string): string {
  const type = typeof headers['content-type'] === 'string' ? headers['content-type'].split(';')[0]!.trim() : 'no Content-Type';
  // eslint-disable-next-line no-control-regex -- control characters are stripped on purpose: the excerpt goes on one log line
  const oneLine = text.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
  if (oneLine === '') return `HTTP ${status}, ${type}, ${fault}: an empty body`;
  return `HTTP ${status}, ${type}, ${fault}: ${oneLine.length > EXCERPT_CHARS ? `${oneLine.slice(0, EXCERPT_CHARS)}…` : oneLine}`;
}
