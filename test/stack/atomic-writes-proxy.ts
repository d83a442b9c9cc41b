import { createServer } from 'node:http';
import { forwardRequest, sendBadGateway, sendForwarded } from './forward-request.js';

export interface AtomicWritesProxy {
  /** http://127.0.0.1:PORT: AWS_ENDPOINT_URL_DYNAMODB (and _SECRETS_MANAGER, _SSM) for the processes under test. */
  endpoint: string;
  /** The AWS_ENDPOINT_URL_* variables that send DynamoDB, Secrets Manager and SSM through this proxy. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * moto server answers requests on parallel threads without locking its data, so two conditional
 * writes to one item (or two CreateSecret calls for one name) can both pass their check: something
 * real DynamoDB, Secrets Manager and SSM never allow. This proxy in front of moto adds only that
 * guarantee: it forwards one request at a time, so each check-and-write happens as one step.
 */
export async function startAtomicWritesProxy(motoEndpoint: string): Promise<AtomicWritesProxy> {
  const upstream = new URL(motoEndpoint);
  let queue: Promise<unknown> = Promise.resolve();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const forwarded = queue.then(() => forwardRequest(upstream, req.method ?? 'POST', req.url ?? '/', req.headers, body));
      queue = forwarded.catch(() => undefined);
      forwarded.then(
        (answer) => sendForwarded(res, answer),
        (error: Error) => sendBadGateway(res, error),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    endpoint,
    env: { AWS_ENDPOINT_URL_DYNAMODB: endpoint, AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint, AWS_ENDPOINT_URL_SSM: endpoint },
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
