import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The status answered (undefined while a request is held without answer). */
  answered?: number;
}

/** How the receiver answers a path: `ok`, `fail-then-ok` (500 the first `failures` times), or `hang` (never answers). */
export type ReceiverBehaviour = { kind: 'ok' } | { kind: 'fail-then-ok'; failures: number } | { kind: 'hang' };

export interface NotificationReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** The requests to one path, in arrival order. */
  to(path: string): ReceivedRequest[];
  behave(path: string, behaviour: ReceiverBehaviour): void;
  stop(): Promise<void>;
}

/**
 * A loopback HTTP receiver for webhook notifications and for SNS's HTTP deliveries (moto posts each
 * message published to a topic to its `http` subscribers): records every request, answers as told.
 */
export async function startNotificationReceiver(): Promise<NotificationReceiver> {
  const requests: ReceivedRequest[] = [];
  const behaviours = new Map<string, ReceiverBehaviour>();
  const held: ServerResponse[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += String(chunk)));
    request.on('end', () => {
      const path = request.url ?? '/';
      const entry: ReceivedRequest = { path, headers: request.headers, body };
      requests.push(entry);
      const behaviour = behaviours.get(path) ?? { kind: 'ok' };
      if (behaviour.kind === 'hang') {
        held.push(response);
        return;
      }
      const earlier = requests.filter((r) => r.path === path).length - 1;
      entry.answered = behaviour.kind === 'fail-then-ok' && earlier < behaviour.failures ? 500 : 200;
      response.writeHead(entry.answered, { 'content-type': 'text/plain' }).end(entry.answered === 200 ? 'ok' : 'failing on purpose');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    to: (path) => requests.filter((r) => r.path === path),
    behave: (path, behaviour) => void behaviours.set(path, behaviour),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const response of held) response.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
