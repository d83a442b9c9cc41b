import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import acme from 'acme-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CA_ENDPOINT_RATES, CaEndpointPacing } from '../../src/acme/ca-endpoint-pacing.js';
import { configureCaHttp, takeRetryAfterMs } from '../../src/acme/ca-http.js';
import { nextPollMs } from '../../src/acme/issuer.js';
import { NoncePool } from '../../src/acme/nonce-pool.js';

describe("the CA's endpoint buckets (acme/ca-endpoint-pacing.ts)", () => {
  it("tells endpoints apart by what the CA's directory names them, whatever their paths", () => {
    const pacing = new CaEndpointPacing();
    const base = 'https://127.0.0.1:14000';
    expect(pacing.classOf(`${base}/nonce-plz`)).toBe('other');
    pacing.learnDirectory(`${base}/dir`, {
      newNonce: `${base}/nonce-plz`,
      newAccount: `${base}/sign-me-up`,
      newOrder: `${base}/order-plz`,
      revokeCert: `${base}/revoke-cert`,
      renewalInfo: `${base}/draft-ietf-acme-ari-03/renewalInfo`,
    });
    expect(pacing.classOf(`${base}/dir`)).toBe('directory');
    expect(pacing.classOf(`${base}/nonce-plz`)).toBe('newNonce');
    expect(pacing.classOf(`${base}/sign-me-up`)).toBe('newAccount');
    expect(pacing.classOf(`${base}/order-plz`)).toBe('newOrder');
    expect(pacing.classOf(`${base}/draft-ietf-acme-ari-03/renewalInfo/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE`)).toBe('renewalInfo');
    expect(pacing.classOf(`${base}/authZ/abc`)).toBe('other');
    // Let's Encrypt's published per-IP limits, one bucket per CA and class.
    expect(pacing.bucketOf(`${base}/nonce-plz`).ratePerSecond).toBe(CA_ENDPOINT_RATES.newNonce.ratePerSecond);
    expect(pacing.bucketOf(`${base}/nonce-plz`)).toBe(pacing.bucketOf(`${base}/nonce-plz`));
    expect(pacing.bucketOf('https://other.example/nonce-plz')).not.toBe(pacing.bucketOf(`${base}/nonce-plz`));
  });

  it('ignores answers that are not a directory', () => {
    const pacing = new CaEndpointPacing();
    pacing.learnDirectory('https://ca.example/acme/order/1', { status: 'pending', authorizations: [] });
    pacing.learnDirectory('https://ca.example/acme/x', 'not json');
    expect(pacing.classOf('https://ca.example/acme/order/1')).toBe('other');
  });
});

describe("polling waits the CA's Retry-After when it gives one", () => {
  it('takes the Retry-After over the backoff, shorter or longer, capped at the poll maximum (10 s)', () => {
    expect(nextPollMs(250, undefined)).toBe(250);
    expect(nextPollMs(4000, 1000)).toBe(1000);
    expect(nextPollMs(250, 3000)).toBe(3000);
    expect(nextPollMs(250, 120_000)).toBe(10_000);
  });

  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (request.url === '/order/slow') headers['retry-after'] = '3';
      response.writeHead(200, headers);
      response.end(JSON.stringify({ status: 'processing' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    configureCaHttp(undefined);
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("keeps a poll answer's Retry-After for the poller, once", async () => {
    await acme.axios.get(`${base}/order/slow`);
    await acme.axios.get(`${base}/order/quick`);
    expect(takeRetryAfterMs([`${base}/order/quick`])).toBeUndefined();
    expect(takeRetryAfterMs([`${base}/order/quick`, `${base}/order/slow`])).toBe(3000);
    expect(takeRetryAfterMs([`${base}/order/slow`])).toBeUndefined();
  });
});

describe('the nonce pool (acme/nonce-pool.ts)', () => {
  it('hands out each kept nonce once, newest first, per CA, and none older than 30 s', () => {
    let now = 0;
    const pool = new NoncePool(() => now);
    pool.keep('https://ca.example/acme/order/1', 'n1');
    pool.keep('https://ca.example/acme/authz/2', 'n2');
    pool.keep('https://other.example/acme/x', 'o1');
    pool.keep('https://ca.example/acme/x', undefined);
    expect(pool.take('https://ca.example/acme/new-nonce')).toBe('n2');
    expect(pool.take('https://ca.example/acme/new-nonce')).toBe('n1');
    expect(pool.take('https://ca.example/acme/new-nonce')).toBeUndefined();
    pool.keep('https://ca.example/acme/order/1', 'n3');
    now += 30_001;
    expect(pool.take('https://ca.example/acme/new-nonce')).toBeUndefined();
    expect(pool.take('https://other.example/acme/new-nonce')).toBeUndefined();
  });
});
