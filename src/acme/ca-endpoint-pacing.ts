import { TokenBucket } from '../util/adaptive-token-bucket.js';

/**
 * Let's Encrypt's published "overall requests" limits per IP and endpoint (requests per second, burst),
 * applied to any CA: they are generous, and a CA that allows less says so with 503 + Retry-After
 * (acme-client waits it out) or a 429 (recorded and handed back: see ca-http.ts).
 */
export const CA_ENDPOINT_RATES = {
  newNonce: { ratePerSecond: 20, burst: 10 },
  newAccount: { ratePerSecond: 5, burst: 15 },
  newOrder: { ratePerSecond: 300, burst: 200 },
  revokeCert: { ratePerSecond: 10, burst: 100 },
  renewalInfo: { ratePerSecond: 1000, burst: 100 },
  directory: { ratePerSecond: 40, burst: 40 },
  /** Every other ACME URL (authorizations, challenges, orders, finalize, certificates): /acme/*. */
  other: { ratePerSecond: 250, burst: 125 },
} as const;

export type CaEndpointClass = keyof typeof CA_ENDPOINT_RATES;

// The directory's fields (RFC 8555 §7.1.1, RFC 9773 for renewalInfo) that name a paced endpoint.
const DIRECTORY_FIELDS: Partial<Record<string, CaEndpointClass>> = {
  newNonce: 'newNonce',
  newAccount: 'newAccount',
  newOrder: 'newOrder',
  revokeCert: 'revokeCert',
  renewalInfo: 'renewalInfo',
};

/**
 * One token bucket per CA (origin) and endpoint class. Endpoints are told apart by the URLs the CA's own
 * directory names (Pebble's "/nonce-plz" is a new-nonce like Let's Encrypt's "/acme/new-nonce"), learnt
 * from every directory answer that passes by.
 */
export class CaEndpointPacing {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly classes = new Map<string, CaEndpointClass>();

  /** Remembers what the directory at `url` names (`body`: its JSON, as received). */
  learnDirectory(url: string, body: unknown): void {
    const directory = typeof body === 'string' ? safeJson(body) : body;
    if (!directory || typeof directory !== 'object' || !('newNonce' in directory)) return;
    this.classes.set(withoutQuery(url), 'directory');
    for (const [field, klass] of Object.entries(DIRECTORY_FIELDS)) {
      const endpoint = (directory as Record<string, unknown>)[field];
      if (typeof endpoint === 'string' && klass) this.classes.set(withoutQuery(endpoint), klass);
    }
  }

  /** The class of a request to `url`; renewal-info URLs carry the certificate ID after the endpoint. */
  classOf(url: string): CaEndpointClass {
    const plain = withoutQuery(url);
    const known = this.classes.get(plain);
    if (known) return known;
    for (const [endpoint, klass] of this.classes) if (klass === 'renewalInfo' && plain.startsWith(`${endpoint}/`)) return klass;
    return 'other';
  }

  /** Resolves when a request to `url` may go (the bucket of its CA and class has a token). */
  take(url: string, signal?: AbortSignal): Promise<void> {
    return this.bucketOf(url).take(signal);
  }

  bucketOf(url: string): TokenBucket {
    const klass = this.classOf(url);
    const key = `${origin(url)} ${klass}`;
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(CA_ENDPOINT_RATES[klass].ratePerSecond, CA_ENDPOINT_RATES[klass].burst)));
    return bucket;
  }
}

function withoutQuery(url: string): string {
  const cut = url.search(/[?#]/);
  return cut < 0 ? url : url.slice(0, cut);
}

function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'unknown';
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
