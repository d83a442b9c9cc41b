// A nonce older than this is not handed out: CAs expire unused nonces (Boulder after a while, Pebble on
// restart); one that has expired costs a badNonce answer, which acme-client re-signs with a fresh one.
const MAX_AGE_MS = 30_000;
// Per CA: more than the requests a pass has in flight at once is never needed.
const MAX_KEPT = 256;

/**
 * The Replay-Nonce of every CA answer, kept for the next signed request (RFC 8555 §7.2: each answer
 * carries a fresh nonce the client may use). acme-client asks the new-nonce endpoint before every POST
 * and ignores the nonce each answer brings: half of its requests fetch nonces, and Let's Encrypt allows
 * 20 of those per second and IP, against 250 for the rest. Each nonce is handed out once, newest first.
 */
export class NoncePool {
  private readonly kept = new Map<string, { nonce: string; at: number }[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Keeps the nonce an answer from the CA at `url` carried (not one that a caller will use itself). */
  keep(url: string, nonce: unknown): void {
    if (typeof nonce !== 'string' || nonce === '') return;
    const key = origin(url);
    const pool = this.kept.get(key) ?? [];
    pool.push({ nonce, at: this.now() });
    if (pool.length > MAX_KEPT) pool.shift();
    this.kept.set(key, pool);
  }

  /** A fresh nonce of the CA at `url` nobody has used, or undefined (then ask the CA for one). */
  take(url: string): string | undefined {
    const pool = this.kept.get(origin(url));
    const oldest = this.now() - MAX_AGE_MS;
    while (pool?.length) {
      const { nonce, at } = pool.pop()!;
      if (at >= oldest) return nonce;
      pool.length = 0; // the rest are older still
    }
    return undefined;
  }
}

function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
