import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forwardRequest } from '../stack/forward-request.js';

/**
 * A minimal stand-in, with the same API, for test/stack/route53-faithful.ts (built on branch dns):
 * in front of moto's Route 53 it adds PENDING changes with distinct IDs, the requests-per-second limit
 * answered with `Throttling`, and injected `PriorRequestNotComplete`. The bench switches to the real
 * one when that lands; this file then goes.
 */
export interface Route53FaithfulOptions {
  insyncAfterMs?: number | [number, number];
  requestsPerSecond?: number;
  priorRequestNotComplete?: number;
}

export interface Route53Faithful {
  url: string;
  calls: { action: string; at: number; throttled: boolean }[];
  configure(options: Route53FaithfulOptions): void;
  stop(): Promise<void>;
}

const XMLNS = 'https://route53.amazonaws.com/doc/2013-04-01/';

export async function startRoute53Faithful(motoUrl: string, options: Route53FaithfulOptions = {}): Promise<Route53Faithful> {
  const upstream = new URL(motoUrl);
  let settings: Required<Route53FaithfulOptions> = { insyncAfterMs: 0, requestsPerSecond: 5, priorRequestNotComplete: 0, ...options };
  let tokens = settings.requestsPerSecond;
  let refilledAt = Date.now();
  const changes = new Map<string, { submittedAt: Date; insyncAt: number }>();
  const calls: Route53Faithful['calls'] = [];

  const takeToken = () => {
    const now = Date.now();
    tokens = Math.min(settings.requestsPerSecond, tokens + ((now - refilledAt) / 1000) * settings.requestsPerSecond);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
  const insyncDelay = () => {
    const delay = settings.insyncAfterMs;
    return Array.isArray(delay) ? delay[0] + Math.random() * (delay[1] - delay[0]) : delay;
  };
  const error = (code: string, message: string) =>
    `<?xml version="1.0"?>\n<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomBytes(8).toString('hex')}</RequestId></ErrorResponse>`;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const action = actionOf(req.method ?? 'GET', path);
      const throttled = !takeToken();
      calls.push({ action, at: Date.now(), throttled });
      const reply = (status: number, body: string) => {
        res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (throttled) return reply(400, error('Throttling', 'Rate exceeded'));
      if (action === 'ChangeResourceRecordSets' && settings.priorRequestNotComplete > 0) {
        settings.priorRequestNotComplete--;
        return reply(400, error('PriorRequestNotComplete', 'The request was rejected because Route 53 was still processing a prior request.'));
      }
      const changeId = /\/change\/([^/?]+)/.exec(path)?.[1];
      if (action === 'GetChange' && changeId && changes.has(changeId)) {
        const change = changes.get(changeId)!;
        const status = Date.now() >= change.insyncAt ? 'INSYNC' : 'PENDING';
        return reply(200, `<?xml version="1.0"?>\n<GetChangeResponse xmlns="${XMLNS}"><ChangeInfo><Id>/change/${changeId}</Id><Status>${status}</Status><SubmittedAt>${change.submittedAt.toISOString()}</SubmittedAt></ChangeInfo></GetChangeResponse>`);
      }
      forwardRequest(upstream, req.method ?? 'GET', path, req.headers, Buffer.concat(chunks)).then(
        (answer) => {
          let body = answer.body.toString('utf8');
          if (action === 'ChangeResourceRecordSets' && answer.status === 200) {
            const id = `C${randomBytes(10).toString('hex').toUpperCase()}`;
            changes.set(id, { submittedAt: new Date(), insyncAt: Date.now() + insyncDelay() });
            body = body.replace(/<Id>[^<]*<\/Id>/, `<Id>/change/${id}</Id>`).replace(/<Status>INSYNC<\/Status>/, '<Status>PENDING</Status>');
          }
          const headers = { ...answer.headers, 'content-length': String(Buffer.byteLength(body)) };
          delete headers['transfer-encoding'];
          res.writeHead(answer.status, headers);
          res.end(body);
        },
        (failure: Error) => reply(502, error('InternalFailure', failure.message)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    configure(next) {
      settings = { ...settings, ...next };
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function actionOf(method: string, path: string): string {
  const p = path.split('?')[0]!;
  if (/\/change\/[^/]+$/.test(p)) return 'GetChange';
  if (/\/hostedzone\/[^/]+\/rrset\/?$/.test(p)) return method === 'POST' ? 'ChangeResourceRecordSets' : 'ListResourceRecordSets';
  if (/\/hostedzone\/[^/]+$/.test(p)) return 'GetHostedZone';
  if (/\/hostedzone\/?$/.test(p)) return method === 'POST' ? 'CreateHostedZone' : 'ListHostedZones';
  if (/\/hostedzonesbyname/.test(p)) return 'ListHostedZonesByName';
  return `${method} ${p}`;
}
