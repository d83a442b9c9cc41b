import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { AuthorityKeyIdentifierExtension, X509Certificate } from '@peculiar/x509';
import { forwardRequest } from './forward-request.js';
import type { Pebble } from './pebble.js';

/**
 * A test double of the CA's side of ACME Renewal Information (RFC 9773) and ACME profiles
 * (draft-aaron-acme-profiles), which Pebble 2.4.0 lacks, standing in front of the real Pebble.
 *
 * Every request is forwarded to Pebble unchanged, with the proxy's Host header, so Pebble builds every
 * URL it returns (and checks every JWS `url`) against the proxy: orders, challenges and certificates
 * stay Pebble's own. The proxy adds `renewalInfo` (and `meta.profiles`) to the directory, answers
 * `GET /renewal-info/{certID}` for the certificates it has seen downloaded, inspects newOrder
 * (`replaces`, `profile`) the way a CA does, and can answer newOrder with a rate-limit error.
 */
export interface AriProxy {
  directoryUrl: string;
  /** Every newOrder seen, in order, with what the client asked for. */
  readonly orders: { identifiers: string[]; replaces?: string; profile?: string; answered: number; at: Date }[];
  readonly renewalInfoRequests: { certId: string; status: number; at: Date }[];
  /** A window for one certificate (by cert ID) or for every certificate ('*'); null reverts to the default. */
  setWindow(certId: string, window: { start: Date; end: Date; explanationURL?: string } | null): void;
  setRetryAfter(seconds: number): void;
  /** Make renewal-info fail: an HTTP status, or 'drop' to close the connection; null to answer again. */
  setRenewalInfoFailure(failure: number | 'drop' | null): void;
  /** Take renewalInfo out of the directory (a CA without ARI); `true` puts it back. */
  setAriOffered(offered: boolean): void;
  /** Answer the next `count` newOrders with this problem instead of forwarding them. */
  failNextNewOrders(count: number, problem: { status: number; type: string; detail: string; retryAfterSeconds?: number }): void;
  stop(): Promise<void>;
}

export interface AriProxyOptions {
  /** Profiles to advertise in the directory's meta (name → description); none when absent. */
  profiles?: Record<string, string>;
}

interface KnownCertificate {
  notBefore: Date;
  notAfter: Date;
}

const PROBLEM = 'urn:ietf:params:acme:error:';

/** RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(serial INTEGER content bytes). */
export function certIdOf(pem: string): string {
  const certificate = new X509Certificate(pem);
  const aki = certificate.getExtension(AuthorityKeyIdentifierExtension);
  if (!aki?.keyId) throw new Error('certificate has no Authority Key Identifier');
  return `${Buffer.from(aki.keyId, 'hex').toString('base64url')}.${Buffer.from(certificate.serialNumber, 'hex').toString('base64url')}`;
}

export async function startAriProxy(pebble: Pebble, options: AriProxyOptions = {}): Promise<AriProxy> {
  const upstream = new URL(pebble.directoryUrl);
  const ca = readFileSync(pebble.caCertPath);
  const known = new Map<string, KnownCertificate>();
  const windows = new Map<string, { start: Date; end: Date; explanationURL?: string }>();
  const replaced = new Set<string>();
  const orders: AriProxy['orders'] = [];
  const renewalInfoRequests: AriProxy['renewalInfoRequests'] = [];
  let retryAfter = 21_600;
  let renewalInfoFailure: number | 'drop' | null = null;
  let ariOffered = true;
  let newOrderFailures: { count: number; problem: Parameters<AriProxy['failNextNewOrders']>[1] } = { count: 0, problem: { status: 0, type: '', detail: '' } };
  let newOrderPath = '/order-plz';
  let newNoncePath = '/nonce-plz';

  const forward = (method: string, path: string, headers: IncomingHttpHeaders, body: Buffer) => forwardRequest(upstream, method, path, headers, body, ca);

  const freshNonce = async (host: string) => (await forward('HEAD', newNoncePath, { host }, Buffer.alloc(0))).headers['replay-nonce'] as string | undefined;

  const server: Server = createServer({ cert: readFileSync(pebble.serverCertPath), key: readFileSync(pebble.serverKeyPath) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void handle(req.method ?? 'GET', req.url ?? '/', req.headers, Buffer.concat(chunks)).then(
        (answer) => {
          if (answer === 'drop') return req.socket.destroy();
          res.writeHead(answer.status, answer.headers);
          res.end(answer.body);
        },
        (error: Error) => {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(error.message);
        },
      );
    });
  });

  type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer } | 'drop';

  async function problem(host: string, status: number, type: string, detail: string, extra: Record<string, string> = {}): Promise<Answer> {
    const nonce = await freshNonce(host);
    return {
      status,
      headers: { 'content-type': 'application/problem+json', ...(nonce && { 'replay-nonce': nonce }), ...extra },
      body: Buffer.from(JSON.stringify({ type: `${PROBLEM}${type}`, detail, status })),
    };
  }

  async function handle(method: string, path: string, headers: IncomingHttpHeaders, body: Buffer): Promise<Answer> {
    const host = headers.host ?? `${upstream.hostname}:${upstream.port}`;
    if (method === 'GET' && path.startsWith('/renewal-info/')) return renewalInfo(path.slice('/renewal-info/'.length), host);

    if (method === 'POST' && path === newOrderPath) {
      const payload = jwsPayload(body);
      const order = {
        identifiers: ((payload.identifiers as { value: string }[] | undefined) ?? []).map((id) => id.value),
        replaces: typeof payload.replaces === 'string' ? payload.replaces : undefined,
        profile: typeof payload.profile === 'string' ? payload.profile : undefined,
        answered: 0,
        at: new Date(),
      };
      orders.push(order);
      const refusal = await refuseOrder(order, host);
      if (refusal) {
        order.answered = refusal === 'drop' ? 0 : refusal.status;
        return refusal;
      }
      const answer = await forward(method, path, headers, body);
      order.answered = answer.status;
      if (answer.status === 201 && order.replaces) replaced.add(order.replaces);
      return answer;
    }

    const answer = await forward(method, path, headers, body);
    if (method === 'GET' && path === upstream.pathname && answer.status === 200) return directory(answer, host);
    if (String(answer.headers['content-type'] ?? '').startsWith('application/pem-certificate-chain')) remember(answer.body.toString('utf8'));
    return answer;
  }

  async function refuseOrder(order: AriProxy['orders'][number], host: string): Promise<Answer | undefined> {
    if (newOrderFailures.count > 0) {
      newOrderFailures.count--;
      const { status, type, detail, retryAfterSeconds } = newOrderFailures.problem;
      return problem(host, status, type.replace(PROBLEM, ''), detail, retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) });
    }
    if (order.profile !== undefined && options.profiles && !(order.profile in options.profiles)) {
      return problem(host, 400, 'invalidProfile', `profile "${order.profile}" is not offered`);
    }
    if (order.replaces !== undefined) {
      if (!known.has(order.replaces)) return problem(host, 400, 'malformed', `replaces: unknown certificate ${order.replaces}`);
      if (replaced.has(order.replaces)) return problem(host, 409, 'alreadyReplaced', `certificate ${order.replaces} was already replaced`);
    }
    return undefined;
  }

  async function renewalInfo(certId: string, host: string): Promise<Answer> {
    const record = (status: number) => renewalInfoRequests.push({ certId, status, at: new Date() });
    if (renewalInfoFailure === 'drop') {
      record(0);
      return 'drop';
    }
    if (renewalInfoFailure !== null) {
      record(renewalInfoFailure);
      return problem(host, renewalInfoFailure, 'serverInternal', 'renewal information is unavailable');
    }
    const certificate = known.get(certId);
    if (!certificate) {
      record(404);
      return problem(host, 404, 'malformed', `no certificate with ID ${certId}`);
    }
    record(200);
    const lifetime = certificate.notAfter.getTime() - certificate.notBefore.getTime();
    const suggested = windows.get(certId) ??
      windows.get('*') ?? {
        // Like Let's Encrypt: a window ending two thirds into the lifetime.
        start: new Date(certificate.notBefore.getTime() + (2 * lifetime) / 3 - lifetime / 9),
        end: new Date(certificate.notBefore.getTime() + (2 * lifetime) / 3),
      };
    return {
      status: 200,
      headers: { 'content-type': 'application/json', 'retry-after': String(retryAfter) },
      body: Buffer.from(
        JSON.stringify({
          suggestedWindow: { start: suggested.start.toISOString(), end: suggested.end.toISOString() },
          ...(suggested.explanationURL && { explanationURL: suggested.explanationURL }),
        }),
      ),
    };
  }

  function directory(answer: { status: number; headers: IncomingHttpHeaders; body: Buffer }, host: string): Answer {
    const dir = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown> & { meta?: Record<string, unknown> };
    if (typeof dir.newOrder === 'string') newOrderPath = new URL(dir.newOrder).pathname;
    if (typeof dir.newNonce === 'string') newNoncePath = new URL(dir.newNonce).pathname;
    if (ariOffered) dir.renewalInfo = `https://${host}/renewal-info`;
    if (options.profiles) dir.meta = { ...dir.meta, profiles: options.profiles };
    const body = Buffer.from(JSON.stringify(dir));
    return { status: 200, headers: { ...answer.headers, 'content-length': String(body.length) }, body };
  }

  function remember(chainPem: string): void {
    const leaf = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
    if (!leaf) return;
    const certificate = new X509Certificate(leaf);
    known.set(certIdOf(leaf), { notBefore: certificate.notBefore, notAfter: certificate.notAfter });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };

  return {
    directoryUrl: `https://127.0.0.1:${port}${upstream.pathname}`,
    orders,
    renewalInfoRequests,
    setWindow: (certId, window) => (window ? windows.set(certId, window) : windows.delete(certId)),
    setRetryAfter: (seconds) => (retryAfter = seconds),
    setRenewalInfoFailure: (failure) => (renewalInfoFailure = failure),
    setAriOffered: (offered) => (ariOffered = offered),
    failNextNewOrders: (count, problemDocument) => (newOrderFailures = { count, problem: problemDocument }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The decoded payload of a flattened JWS (RFC 7515 §7.2.2), as ACME clients send it. */
function jwsPayload(body: Buffer): Record<string, unknown> {
  try {
    const jws = JSON.parse(body.toString('utf8')) as { payload?: string };
    return jws.payload ? (JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
