import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { forwardRequest, type ForwardedAnswer } from './forward-request.js';

/*
 * Real Route 53 where moto is not (moto 5.2.1: every change INSYNC at once, one change ID for all,
 * no rate limit). A test double in front of moto's Route 53 REST/XML API (paths /2013-04-01/...):
 * every request is forwarded to moto unchanged, and only these behaviours are added:
 * - each ChangeResourceRecordSets answer gets a change ID of its own, PENDING until `insyncAfterMs`
 *   has passed (a random time in the range when given one), then INSYNC; GetChange answers for those IDs;
 * - a token bucket per account (the request's access key ID: the default credentials, or one assumed
 *   role session) of `requestsPerSecond`: over it, HTTP 400 `Throttling` "Rate exceeded", as AWS
 *   answers (ErrorResponse/Error/{Type,Code,Message} and RequestId);
 * - the next N ChangeResourceRecordSets answer HTTP 400 `PriorRequestNotComplete`, or each one with a
 *   given probability (other tools' changes still in progress in the same zones);
 * - the next N requests of one action answer HTTP 502 with an HTML page, as a load balancer or proxy does;
 * - a batch that creates a TXT set at one given name answers 400 `InvalidChangeBatch`, as Route 53 does
 *   for a value it refuses (one certificate's bad value in a batch shared by several);
 * - a change batch is all-or-nothing as in Route 53: a CREATE of a record set that exists, or a DELETE
 *   whose TTL and values are not exactly the current ones, fails the whole batch with 400
 *   `InvalidChangeBatch` (moto 5.2.1 creates a second set of the same name, and deletes by name). Batches
 *   of one zone are checked and applied one at a time, and reads of the zone wait their turn, so none
 *   sees a batch half applied.
 * Point certkeeper at it with AWS_ENDPOINT_URL_ROUTE_53 (other services keep AWS_ENDPOINT_URL).
 */

export interface Route53FaithfulOptions {
  /** PENDING for this long (random in range) before INSYNC. */
  insyncAfterMs?: number | [number, number];
  /** Token bucket per account: over it, 400 Throttling "Rate exceeded". */
  requestsPerSecond?: number;
  /** The next N ChangeResourceRecordSets answer 400 PriorRequestNotComplete. */
  priorRequestNotComplete?: number;
  /** Each ChangeResourceRecordSets answers 400 PriorRequestNotComplete with this probability (0 to 1). */
  priorRequestNotCompleteRate?: number;
  /** The next `count` requests of `action` (e.g. ChangeResourceRecordSets, ListHostedZones) answer an HTML 502. */
  badGateway?: { action: string; count: number };
  /** A batch that creates or upserts a record set of this name (lower case, no trailing dot) is refused as invalid. */
  rejectName?: string;
}

export interface Route53Faithful {
  url: string;
  /** Every call; a change that Route 53 took also says its zone and whether it added values, removed them, or both. */
  calls: { action: string; at: number; throttled: boolean; zone?: string; change?: ChangeKind }[];
  configure(options: Route53FaithfulOptions): void;
  stop(): Promise<void>;
}

const XMLNS = 'https://route53.amazonaws.com/doc/2013-04-01/';

export async function startRoute53Faithful(motoUrl: string, options: Route53FaithfulOptions = {}): Promise<Route53Faithful> {
  const upstream = new URL(motoUrl);
  let settings: Route53FaithfulOptions = { ...options };
  const calls: Route53Faithful['calls'] = [];
  const changes = new Map<string, { submittedAt: Date; insyncAt: number }>();
  const buckets = new Map<string, { tokens: number; at: number }>();
  let changeCounter = 0;
  const zoneQueues = new Map<string, Promise<unknown>>();

  /** One token for this account, or false: refilled continuously at requestsPerSecond, burst of one second's worth. */
  function takeToken(account: string): boolean {
    const rate = settings.requestsPerSecond;
    if (!rate) return true;
    const now = Date.now();
    const burst = Math.max(1, Math.floor(rate));
    const bucket = buckets.get(account) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    buckets.set(account, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const action = actionOf(req.method ?? 'GET', path);
    const account = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? 'anonymous';

    if (!takeToken(account)) {
      calls.push({ action, at: Date.now(), throttled: true });
      return sendError(res, 'Throttling', 'Rate exceeded');
    }
    const call: Route53Faithful['calls'][number] = { action, at: Date.now(), throttled: false };
    calls.push(call);

    if (settings.badGateway && settings.badGateway.action === action && settings.badGateway.count > 0) {
      settings = { ...settings, badGateway: { action, count: settings.badGateway.count - 1 } };
      return sendBadGateway(res);
    }

    if (action === 'ChangeResourceRecordSets' && (settings.priorRequestNotComplete ?? 0) > 0) {
      settings = { ...settings, priorRequestNotComplete: settings.priorRequestNotComplete! - 1 };
      return sendError(res, 'PriorRequestNotComplete', 'The request was rejected because Route 53 was still processing a prior request.');
    }
    if (action === 'ChangeResourceRecordSets' && Math.random() < (settings.priorRequestNotCompleteRate ?? 0)) {
      return sendError(res, 'PriorRequestNotComplete', 'The request was rejected because Route 53 was still processing a prior request.');
    }
    if (action === 'ChangeResourceRecordSets' && settings.rejectName) {
      const refused = [...body.toString('utf8').matchAll(/<Change>([\s\S]*?)<\/Change>/g)]
        .map((match) => ({ action: tag(match[1]!, 'Action'), set: recordSetOf(match[1]!) }))
        .find((change) => change.action !== 'DELETE' && change.set.name === settings.rejectName);
      if (refused) {
        return sendError(
          res,
          'InvalidChangeBatch',
          `[Invalid Resource Record: 'FATAL problem: InvalidCharacterString (Value contains unsupported characters) encountered with '${refused.set.values[0] ?? ''}'']`,
        );
      }
    }

    const own = /^\/2013-04-01\/change\/(FAITHFUL\w+)$/.exec(path);
    if (action === 'GetChange' && own) {
      const change = changes.get(own[1]!);
      if (!change) return sendError(res, 'NoSuchChange', `A change with the specified change ID does not exist.`, 404);
      const status = Date.now() >= change.insyncAt ? 'INSYNC' : 'PENDING';
      return sendXml(res, 200, `<GetChangeResponse xmlns="${XMLNS}">${changeInfo(own[1]!, status, change.submittedAt)}</GetChangeResponse>`);
    }

    const forward = () => forwardRequest(upstream, req.method ?? 'GET', req.url ?? '/', { ...req.headers, host: upstream.host }, body);
    const zonePath = path.replace(/\/rrset\/?$/, '');
    // moto applies a batch change by change, with no lock: a read in between sees half of it (a DELETE
    // done, its CREATE not yet), and two writers can interleave. Route 53 applies a batch atomically, so
    // a zone's reads and changes take turns here.
    const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
      const turn = (zoneQueues.get(zonePath) ?? Promise.resolve()).then(work);
      zoneQueues.set(
        zonePath,
        turn.catch(() => undefined),
      );
      return turn;
    };
    if (action === 'ChangeResourceRecordSets') {
      const outcome = await inTurn(async () => {
        const problem = await batchProblem(upstream, zonePath, req.headers, body.toString('utf8'));
        return problem ? { problem } : { answer: await forward() };
      });
      if (outcome.problem) return sendError(res, 'InvalidChangeBatch', outcome.problem);
      if (outcome.answer!.status === 200) Object.assign(call, { zone: zonePath.split('/').pop(), change: changeKind(body.toString('utf8')) });
      return answerChange(res, outcome.answer!);
    }
    if (action === 'ListResourceRecordSets') return relay(res, await inTurn(forward));
    return relay(res, await forward());
  }

  function answerChange(res: ServerResponse, answer: ForwardedAnswer): void {
    if (answer.status === 200) {
      const id = `FAITHFUL${String(++changeCounter).padStart(6, '0')}`;
      const submittedAt = new Date();
      const insyncAt = submittedAt.getTime() + pendingMs(settings.insyncAfterMs);
      changes.set(id, { submittedAt, insyncAt });
      const status = Date.now() >= insyncAt ? 'INSYNC' : 'PENDING';
      const xml = answer.body.toString('utf8').replace(/<ChangeInfo>[\s\S]*<\/ChangeInfo>/, changeInfo(id, status, submittedAt));
      return sendXml(res, 200, xml.replace(/^<\?xml[^>]*>\s*/, ''));
    }
    relay(res, answer);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 'InternalFailure', `route53-faithful: ${(error as Error).message}`, 500);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    configure(next) {
      settings = { ...settings, ...next };
    },
    stop() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function relay(res: ServerResponse, answer: ForwardedAnswer): void {
  const headers = { ...answer.headers };
  delete headers['transfer-encoding'];
  headers['content-length'] = String(answer.body.length);
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}

/** What a change batch did to the TXT values: `present` only added, `cleanup` only removed, `mixed` both. */
export type ChangeKind = 'present' | 'cleanup' | 'mixed';

function changeKind(xml: string): ChangeKind {
  // certkeeper replaces a set by DELETE (old values) then CREATE (new values): compare the two per name.
  const counts = new Map<string, number>();
  for (const match of xml.matchAll(/<Change>([\s\S]*?)<\/Change>/g)) {
    const set = recordSetOf(match[1]!);
    const sign = tag(match[1]!, 'Action') === 'DELETE' ? -1 : 1;
    counts.set(set.name, (counts.get(set.name) ?? 0) + sign * set.values.length);
  }
  const deltas = [...counts.values()];
  if (deltas.every((delta) => delta >= 0)) return 'present';
  if (deltas.every((delta) => delta <= 0)) return 'cleanup';
  return 'mixed';
}

interface XmlRecordSet {
  name: string;
  type: string;
  ttl?: string;
  values: string[];
}

/** Route 53's check of a change batch against the zone as it is: the first problem, or undefined. */
async function batchProblem(upstream: URL, zonePath: string, headers: IncomingHttpHeaders, xml: string): Promise<string | undefined> {
  const changes = [...xml.matchAll(/<Change>([\s\S]*?)<\/Change>/g)].map((match) => ({
    action: tag(match[1]!, 'Action') ?? '',
    set: recordSetOf(match[1]!),
  }));
  // Within a batch, later changes see earlier ones (DELETE then CREATE of one name is how sets are replaced).
  const state = new Map<string, XmlRecordSet | undefined>();
  for (const { action, set } of changes) {
    const key = `${set.name}|${set.type}`;
    if (!state.has(key)) state.set(key, await currentSet(upstream, zonePath, headers, set));
    const existing = state.get(key);
    const label = `[name='${set.name}.', type='${set.type}']`;
    if (action === 'CREATE') {
      if (existing) return `[Tried to create resource record set ${label} but it already exists]`;
      state.set(key, set);
    } else if (action === 'DELETE') {
      if (!existing) return `[Tried to delete resource record set ${label} but it was not found]`;
      const same = existing.ttl === set.ttl && existing.values.length === set.values.length && existing.values.every((value) => set.values.includes(value));
      if (!same) return `[Tried to delete resource record set ${label} but the values provided do not match the current values]`;
      state.set(key, undefined);
    } else {
      state.set(key, set);
    }
  }
  return undefined;
}

/** The record set of this name and type in moto now, asked with the caller's own credentials (moto keeps accounts apart). */
async function currentSet(upstream: URL, zonePath: string, headers: IncomingHttpHeaders, wanted: XmlRecordSet): Promise<XmlRecordSet | undefined> {
  const query = `?name=${encodeURIComponent(wanted.name)}&type=${wanted.type}&maxitems=1`;
  const { 'content-length': _length, 'content-type': _type, ...getHeaders } = headers;
  const answer = await forwardRequest(upstream, 'GET', `${zonePath}/rrset${query}`, { ...getHeaders, host: upstream.host }, Buffer.alloc(0));
  const first = /<ResourceRecordSet>([\s\S]*?)<\/ResourceRecordSet>/.exec(answer.body.toString('utf8'));
  if (!first) return undefined;
  const set = recordSetOf(first[1]!);
  return set.name === wanted.name && set.type === wanted.type ? set : undefined;
}

function recordSetOf(xml: string): XmlRecordSet {
  return {
    name: (tag(xml, 'Name') ?? '').replace(/\.$/, '').toLowerCase(),
    type: tag(xml, 'Type') ?? '',
    ttl: tag(xml, 'TTL'),
    values: [...xml.matchAll(/<Value>([\s\S]*?)<\/Value>/g)].map((match) => decodeXml(match[1]!)),
  };
}

function tag(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return match ? decodeXml(match[1]!) : undefined;
}

function decodeXml(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function pendingMs(insyncAfterMs: Route53FaithfulOptions['insyncAfterMs']): number {
  if (insyncAfterMs === undefined) return 0;
  if (typeof insyncAfterMs === 'number') return insyncAfterMs;
  const [low, high] = insyncAfterMs;
  return low + Math.random() * (high - low);
}

function changeInfo(id: string, status: string, submittedAt: Date): string {
  return `<ChangeInfo><Id>/change/${id}</Id><Status>${status}</Status><SubmittedAt>${submittedAt.toISOString()}</SubmittedAt></ChangeInfo>`;
}

/** The Route 53 action of a REST path (the ones certkeeper and the fixtures use; others by method and path). */
export function actionOf(method: string, path: string): string {
  const rest = path.replace(/^\/2013-04-01/, '');
  if (/^\/hostedzone\/[^/]+\/rrset\/?$/.test(rest)) return method === 'POST' ? 'ChangeResourceRecordSets' : 'ListResourceRecordSets';
  if (/^\/hostedzone\/?$/.test(rest)) return method === 'POST' ? 'CreateHostedZone' : 'ListHostedZones';
  if (/^\/hostedzone\/[^/]+$/.test(rest)) return method === 'DELETE' ? 'DeleteHostedZone' : 'GetHostedZone';
  if (/^\/change\/[^/]+$/.test(rest)) return 'GetChange';
  if (/^\/hostedzonesbyname/.test(rest)) return 'ListHostedZonesByName';
  return `${method} ${rest}`;
}

function sendXml(res: ServerResponse, status: number, xml: string): void {
  const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
  res.writeHead(status, { 'content-type': 'text/xml', 'content-length': String(body.length), 'x-amzn-requestid': randomUUID() });
  res.end(body);
}

/** What a load balancer or proxy in front of an API answers when its upstream fails: HTML, not XML. */
function sendBadGateway(res: ServerResponse): void {
  const body = Buffer.from('<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n');
  res.writeHead(502, { 'content-type': 'text/html', 'content-length': String(body.length) });
  res.end(body);
}

/** Route 53's error body: HTTP 400 with ErrorResponse/Error/{Type, Code, Message} and RequestId. */
function sendError(res: ServerResponse, code: string, message: string, status = 400): void {
  const requestId = randomUUID();
  sendXml(
    res,
    status,
    `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  );
}
