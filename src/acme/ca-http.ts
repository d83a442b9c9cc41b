import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';
import axios from 'axios';
import { checkCaAnswer } from './ca-answer-check.js';
import { acmeRequestsTotal } from '../telemetry/metrics.js';
import { sleep } from '../util/sleep.js';
import { CaEndpointPacing } from './ca-endpoint-pacing.js';
import { NoncePool } from './nonce-pool.js';
import type { TokenBucket } from '../util/adaptive-token-bucket.js';

/** An error answer of the CA (RFC 7807 problem document), as seen on the wire. */
export interface CaProblem {
  url: string;
  status: number;
  type?: string;
  detail?: string;
  /** Seconds, from the Retry-After header. */
  retryAfterSeconds?: number;
}

const problemScope = new AsyncLocalStorage<CaProblem[]>();
/** The signal of the renewal (or pass) a request to the CA is made for: see `cancellableCaWork`. */
const cancellationScope = new AsyncLocalStorage<AbortSignal>();
let installedBundle: string | undefined | null = null;
let requestTimeoutMs = 30_000;
// A CA that does not answer at all (connections refused or reset): asked again every second for 30 s.
const UNREACHABLE_RETRY_MS = 30_000;
const UNREACHABLE_RETRY_EVERY_MS = 1_000;
/** The CA's request rates per endpoint: every attempt of the process takes a token first. */
const caPacing = new CaEndpointPacing();
/** Nonces the CA's answers brought, for the next signed requests. */
const nonces = new NoncePool();
/** Retry-After of the CA's latest answer to a URL that is polled (an authorization, an order): see `takeRetryAfterMs`. */
const retryAfterHints = new Map<string, number>();
// Hints nobody polled again are dropped past this many (a renewal that ended between two polls).
const MAX_RETRY_AFTER_HINTS = 10_000;

/** A request to the CA that got no answer within `acme.requestTimeoutSeconds`. */
export class CaRequestTimeout extends Error {
  override name = 'CaRequestTimeout';
  constructor(
    readonly method: string,
    readonly url: string,
    readonly timeoutSeconds: number,
  ) {
    super(`the ACME server did not answer ${method} ${url} within ${timeoutSeconds} s (acme.requestTimeoutSeconds)`);
  }
}

/**
 * How certkeeper talks HTTP to the CA, set once per process on acme-client's axios instance:
 * - trust: the system roots plus `acme.caCertificates` (private CAs); verification is never off;
 * - problems: every error answer is recorded for the renewal that caused it (see `collectCaProblems`),
 *   so `rateLimited`, `alreadyReplaced` or `invalidProfile` can be told apart from other failures;
 * - 429: acme-client would wait out Retry-After (hours at Let's Encrypt) up to 5 times, hammering and
 *   blocking the pass; certkeeper records the limit and stops until then, so a 429 is handed back at once;
 * - pace: every attempt first takes a token of its CA endpoint's bucket (ca-endpoint-pacing.ts: Let's
 *   Encrypt's per-IP limits), so a pass whose renewals all validate and finalize at once stays within them;
 *   a 503 slows that bucket (acme-client waits out its Retry-After); a poll answer's Retry-After is kept for
 *   the poller (`takeRetryAfterMs`); the nonce every answer brings is kept and serves acme-client's next
 *   new-nonce request instead of the CA (nonce-pool.ts);
 * - time: every attempt gets `requestTimeoutSeconds` (axios waits forever by default, and a CA that accepts
 *   the connection but never answers held a renewal, its lock and the daemon's passes for good). A timeout
 *   is not retried: acme-client would re-send a signed POST whose nonce the CA may already have used, and
 *   the next pass asks again. A CA that does not answer at all (refused, reset) is asked again every second
 *   for 30 s, so a renewal resumes within a second of an outage's end (acme-client waits 2, 4, … 10 s).
 */
export function configureCaHttp(caCertificates: string | undefined, requestTimeoutSeconds = 30): void {
  requestTimeoutMs = requestTimeoutSeconds * 1000;
  if (installedBundle === (caCertificates ?? undefined)) return;
  if (caCertificates) {
    let pem: string;
    try {
      pem = readFileSync(caCertificates, 'utf8');
    } catch (error) {
      throw new Error(`acme.caCertificates: cannot read ${caCertificates}: ${(error as Error).message}`, { cause: error });
    }
    acme.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, pem], keepAlive: true });
  }
  if (installedBundle === null) {
    // 5xx without Retry-After: retried after 2, 4, 6… s instead of 5, 10, 15… s.
    (acme.axios.defaults as unknown as { acmeSettings: { retryDefaultDelay: number } }).acmeSettings.retryDefaultDelay = 2;
    const wrapped = new WeakSet<object>();
    acme.axios.interceptors.request.use((config) => {
      const send = config.adapter ?? 'http';
      if (typeof send === 'function' && wrapped.has(send)) return config; // a retry of a request already wrapped
      const adapter = async (request: Parameters<ReturnType<typeof axios.getAdapter>>[0]) => {
        // Errors thrown here carry no axios `config`, so acme-client's interceptor hands them back unretried.
        const cancelled = cancellationScope.getStore();
        cancelled?.throwIfAborted();
        const url = String(request.url);
        const asksForNonce = caPacing.classOf(url) === 'newNonce';
        // A nonce an earlier answer brought serves instead of a request to new-nonce (see nonce-pool.ts).
        const kept = asksForNonce ? nonces.take(url) : undefined;
        if (kept) return { data: '', status: 200, statusText: 'OK', headers: { 'replay-nonce': kept }, config: request, request: undefined };
        // acme-client makes every answer a rejection (validateStatus false) and sorts them out in its interceptor.
        const firstFailureAt = Date.now();
        for (let attempts = 1; ; attempts++) {
          const bucket = caPacing.bucketOf(String(request.url));
          await bucket.take(cancelled);
          const timeout = AbortSignal.timeout(requestTimeoutMs);
          // The signal goes on a copy: axios turns any failure of a request whose own config.signal has aborted
          // into a CanceledError, which acme-client retries; and a retry re-sends the config it is handed back.
          const attempt = { ...request, signal: cancelled ? AbortSignal.any([timeout, cancelled]) : timeout };
          try {
            const answer = await axios.getAdapter(send)(attempt);
            answer.config = request;
            countAcmeRequest(request.method, request.url, answer.status);
            answered(bucket, url, answer, !asksForNonce);
            checkCaAnswer(request.method ?? 'get', String(request.url), { status: answer.status, headers: answer.headers, data: answer.data });
            return answer;
          } catch (error) {
            const failure = error as { config?: unknown; response?: { status: number; data: unknown; headers: Record<string, unknown>; config?: unknown } };
            if (failure.config === attempt) failure.config = request;
            if (failure.response?.config === attempt) failure.response.config = request;
            const response = failure.response;
            countAcmeRequest(request.method, request.url, response?.status);
            if (!response && cancelled?.aborted) throw cancelled.reason;
            if (!response && timeout.aborted) throw new CaRequestTimeout((request.method ?? 'get').toUpperCase(), String(request.url), requestTimeoutMs / 1000);
            if (response) {
              // Every answer arrives here (acme-client validates no status in axios): a 2xx is checked for its step first.
              checkCaAnswer(request.method ?? 'get', String(request.url), response);
              answered(bucket, url, response, !asksForNonce);
              if (response.status >= 400) {
                recordProblem(String(request.url), response.status, response.data, response.headers['retry-after']);
                // Handed back as a plain client error: acme-client retries 429s, certkeeper must not.
                if (response.status === 429) response.status = 400;
              }
              throw error;
            }
            const code = (error as { code?: string }).code ?? '';
            // An untrusted certificate is not transient: say so now instead of retrying for half a minute.
            if (TLS_TRUST_ERRORS.has(code)) {
              throw new Error(
                `the ACME server at ${String(request.url)} presented a TLS certificate that is not trusted (${code}: ${(error as Error).message}); for a private CA set acme.caCertificates`,
                { cause: error },
              );
            }
            // No answer at all (refused, reset, unreachable): tried again every second for a while, so a
            // renewal resumes within a second of the CA coming back. Nothing was answered, so nothing is lost
            // by asking again; a nonce the CA did see comes back as badNonce, which acme-client re-signs.
            // Thrown without `config`, acme-client's interceptor hands the final error back unretried (it
            // would read the missing response and fail with "Cannot read properties of undefined").
            if (Date.now() - firstFailureAt >= UNREACHABLE_RETRY_MS) {
              throw new Error(
                `cannot reach the ACME server at ${String(request.url)}: ${code || (error as Error).message} (after ${attempts} attempts over ${Math.round((Date.now() - firstFailureAt) / 1000)} s)`,
                { cause: error },
              );
            }
            await sleep(UNREACHABLE_RETRY_EVERY_MS, cancelled);
          }
        }
      };
      wrapped.add(adapter);
      config.adapter = adapter;
      return config;
    });
  }
  installedBundle = caCertificates ?? undefined;
}

/**
 * What the pacing learns from an answer: the CA is answering; a 503 slows its endpoint; its nonce (unless
 * the caller uses it: a new-nonce answer, a badNonce answer acme-client retries with); the directory; a
 * poll's Retry-After.
 */
function answered(bucket: TokenBucket, url: string, answer: { status: number; data: unknown; headers: Record<string, unknown> }, nonceIsSpare: boolean): void {
  if (answer.status === 503) bucket.throttled();
  else bucket.succeeded();
  if (nonceIsSpare && !isBadNonce(answer.data)) nonces.keep(url, answer.headers['replay-nonce']);
  if (answer.status >= 300) return;
  caPacing.learnDirectory(url, answer.data);
  const seconds = parseRetryAfter(answer.headers['retry-after']);
  if (seconds === undefined) return;
  if (retryAfterHints.size >= MAX_RETRY_AFTER_HINTS) retryAfterHints.clear();
  retryAfterHints.set(url, seconds * 1000);
}

/**
 * The shortest Retry-After (ms) the CA gave in its latest answers to `urls` (RFC 8555 §7.4: a pending
 * order or authorization may say when to poll again), or undefined when it gave none; each is used once.
 */
export function takeRetryAfterMs(urls: string[]): number | undefined {
  let shortest: number | undefined;
  for (const url of urls) {
    const ms = retryAfterHints.get(url);
    retryAfterHints.delete(url);
    if (ms !== undefined) shortest = Math.min(shortest ?? Infinity, ms);
  }
  return shortest;
}

/** `certkeeper_acme_requests_total`: every HTTP request to the CA, retries included. */
function countAcmeRequest(method: string | undefined, url: string | undefined, status: number | undefined): void {
  const outcome = status === undefined ? 'network_error' : status === 429 ? 'rate_limited' : status >= 400 ? 'error' : 'success';
  acmeRequestsTotal.inc({ method: (method ?? 'get').toUpperCase(), endpoint: acmeEndpoint(url ?? ''), outcome });
}

/**
 * The path of an ACME URL without its IDs, so the label stays small: "/acme/authz/v3/123456789" and
 * Pebble's "/authZ/Xy…" become "/acme/authz/v3" and "/authZ". An ID is a segment with a digit that is
 * longer than 8 characters, or any segment of 20 or more.
 */
export function acmeEndpoint(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return 'unknown';
  }
  const kept: string[] = [];
  for (const segment of path.split('/').filter(Boolean)) {
    if (segment.length >= 20 || (segment.length > 8 && /\d/.test(segment))) break;
    kept.push(segment);
  }
  return `/${kept.join('/')}`;
}

const TLS_TRUST_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function recordProblem(url: string, status: number, data: unknown, retryAfter: unknown): void {
  const problems = problemScope.getStore();
  if (!problems) return;
  const body = typeof data === 'string' ? safeJson(data) : (data as Record<string, unknown> | undefined);
  problems.push({
    url,
    status,
    type: typeof body?.type === 'string' ? body.type : undefined,
    detail: typeof body?.detail === 'string' ? body.detail : undefined,
    retryAfterSeconds: parseRetryAfter(retryAfter),
  });
}

/**
 * Runs `work` so that its requests to the CA are aborted when `signal` aborts, and stops waiting for it
 * at that moment: acme-client takes no AbortSignal and sleeps between its own retries, so the work itself
 * may only notice at its next request (which is then refused at once).
 */
export function cancellableCaWork<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  if (!signal) return work();
  return cancellationScope.run(signal, () => untilAborted(work(), signal));
}

/** `work`, or its rejection with the signal's reason as soon as the signal aborts. */
export function untilAborted<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => {}); // nobody waits for it any more
    return Promise.reject(signal.reason);
  }
  let onAbort!: () => void;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** Runs `work` and gives it the list that fills with the CA's error answers to the requests it makes. */
export async function collectCaProblems<T>(work: (problems: CaProblem[]) => Promise<T>): Promise<T> {
  const problems: CaProblem[] = [];
  const enclosing = problemScope.getStore();
  try {
    return await problemScope.run(problems, () => work(problems));
  } finally {
    enclosing?.push(...problems); // a nested scope's answers belong to the outer one too
  }
}

export function parseRetryAfter(header: unknown): number | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds));
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.round((date - Date.now()) / 1000));
}

function isBadNonce(data: unknown): boolean {
  const body = typeof data === 'string' ? safeJson(data) : (data as Record<string, unknown> | undefined);
  return body?.type === 'urn:ietf:params:acme:error:badNonce';
}

function safeJson(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
