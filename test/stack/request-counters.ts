import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { forwardRequest, sendBadGateway, sendForwarded } from './forward-request.js';

/** A forwarder that counts what passes through it, by a key the caller derives from each request. */
export interface CountingForwarder {
  url: string;
  /** key → requests since the last reset. */
  counts(): Record<string, number>;
  reset(): void;
  stop(): Promise<void>;
}

/**
 * Counts AWS calls by service and action in front of moto: the service from the SigV4 credential
 * scope, the action from X-Amz-Target (JSON protocols), the form's Action (query protocols) or the path.
 */
export function startAwsCounter(motoUrl: string): Promise<CountingForwarder> {
  return startForwarder(new URL(motoUrl), undefined, (req, body) => {
    const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? 'unknown';
    const target = String(req.headers['x-amz-target'] ?? '')
      .split('.')
      .pop();
    const action = target || /(?:^|&)Action=([^&]+)/.exec(body.toString('utf8'))?.[1] || `${req.method} ${(req.url ?? '').split('?')[0]}`;
    return `${service} ${action}`;
  });
}

/**
 * Counts ACME requests (by the first path segment: directory, nonce, order, authz, challenge,
 * finalize, certificate, renewal-info) in front of the CA. The Host header is passed on unchanged, so
 * the CA (and the ARI double behind it) builds every URL it returns against this counter.
 */
export function startAcmeCounter(directoryUrl: string, tls: { certPath: string; keyPath: string; caPath: string }): Promise<CountingForwarder> {
  const upstream = new URL(directoryUrl);
  return startForwarder(upstream, tls, (req) => (req.url ?? '/').split('?')[0]!.split('/')[1] || '/', upstream.pathname);
}

async function startForwarder(
  upstream: URL,
  tls: { certPath: string; keyPath: string; caPath: string } | undefined,
  keyOf: (req: IncomingMessage, body: Buffer) => string,
  directoryPath = '',
): Promise<CountingForwarder & { directoryUrl?: string }> {
  let counts: Record<string, number> = {};
  const ca = tls && readFileSync(tls.caPath);
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const key = keyOf(req, body);
      counts[key] = (counts[key] ?? 0) + 1;
      forwardRequest(upstream, req.method ?? 'GET', req.url ?? '/', req.headers, body, ca).then(
        (answer) => sendForwarded(res, answer),
        (error: Error) => sendBadGateway(res, error),
      );
    });
  };
  const server = tls ? createHttpsServer({ cert: readFileSync(tls.certPath), key: readFileSync(tls.keyPath) }, handle) : createHttpServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}${directoryPath}`,
    counts: () => ({ ...counts }),
    reset() {
      counts = {};
    },
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
