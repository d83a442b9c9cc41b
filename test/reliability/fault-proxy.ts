import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { forwardRequest, type ForwardedAnswer } from '../stack/forward-request.js';

/**
 * A fault-injecting test double in front of a real server (moto, Pebble): it forwards every request
 * unchanged (Host included, so Pebble builds its URLs against the proxy) and only adds the faults a
 * test arms: hold a call (to kill the client *at* a step), answer an error, drop the connection, delay,
 * rewrite the real answer, or refuse connections altogether (the server is down).
 */
export interface ProxiedCall {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** AWS: the API action (ImportCertificate, ModifyListener, GetChange…); ACME: the first path segment. */
  action: string;
  /** AWS: the region of the SigV4 credential scope. */
  region?: string;
  text: string;
}

export type Fault =
  /** Never answer until released (or the client dies); the request does not reach the server. */
  | { hold: true }
  | { status: number; headers?: Record<string, string>; body?: string }
  | { drop: true }
  | { delayMs: number }
  | { rewrite: (answer: ForwardedAnswer, call: ProxiedCall) => ForwardedAnswer | Promise<ForwardedAnswer> };

export interface FaultRule {
  match: (call: ProxiedCall) => boolean;
  /** The fault, or a function of the call giving it (e.g. an error in the call's protocol). */
  fault: Fault | ((call: ProxiedCall) => Fault);
  /** How many matching calls get the fault (default: all). */
  times?: number;
  /** Runs before the call is forwarded (e.g. to check an invariant at that very moment). */
  before?: (call: ProxiedCall) => Promise<void> | void;
}

export interface CallRecord {
  action: string;
  region?: string;
  method: string;
  path: string;
  /** The answer's status; 0 when held, dropped or the client went away. */
  status: number;
  at: number;
  fault?: string;
  /** Query-protocol parameters (ELBv2), parsed JSON (ACM), for checks on what was asked. */
  params: Record<string, unknown>;
}

export interface FaultProxy {
  /** http(s)://127.0.0.1:PORT */
  url: string;
  readonly calls: CallRecord[];
  /** Adds a rule; the function returned removes it (a rule whose call never came must not catch a later one). */
  add(rule: FaultRule): () => void;
  clear(): void;
  /** Resolves with the first held call of this action (any, when omitted). */
  held(action?: string, timeoutMs?: number): Promise<ProxiedCall>;
  /** Held calls are dropped (the client that sent them is gone). */
  dropHeld(): void;
  /** Held calls go on to the server now, and their answers back to the client. */
  releaseHeld(): void;
  /** Stop accepting connections (ECONNREFUSED) until `up()`. */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

export interface FaultProxyOptions {
  upstream: string;
  /** Serve HTTPS with this certificate (Pebble's own) and trust `ca` upstream. */
  tls?: { certPath: string; keyPath: string; caPath: string };
  /** Sees every call as it arrives (e.g. to remember the private keys sent to ImportCertificate). */
  onCall?: (call: ProxiedCall) => void;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  const ca = options.tls ? readFileSync(options.tls.caPath) : undefined;
  const rules: (FaultRule & { used: number })[] = [];
  const calls: CallRecord[] = [];
  const heldCalls: { call: ProxiedCall; res: ServerResponse; release: () => void }[] = [];
  const heldWaiters: { action?: string; resolve: (call: ProxiedCall) => void }[] = [];

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => void handle(req, res, Buffer.concat(chunks)));
  };

  async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const call = describeCall(req.method ?? 'GET', req.url ?? '/', req.headers, body, Boolean(options.tls));
    const record: CallRecord = { action: call.action, region: call.region, method: call.method, path: call.path, status: 0, at: Date.now(), params: paramsOf(call) };
    calls.push(record);
    options.onCall?.(call);
    // The rule added last wins: a test arms a one-off fault over the file's standing rules.
    const rule = rules.findLast((candidate) => candidate.used < (candidate.times ?? Infinity) && candidate.match(call));
    if (rule) rule.used += 1;
    try {
      await rule?.before?.(call);
    } catch (error) {
      record.fault = `before: ${(error as Error).message}`;
    }
    const fault = typeof rule?.fault === 'function' ? rule.fault(call) : rule?.fault;
    if (fault && 'hold' in fault) {
      record.fault = 'hold';
      heldCalls.push({ call, res, release: () => void forward(req, res, call, body, record, undefined) });
      for (const waiter of heldWaiters.splice(0)) {
        if (!waiter.action || waiter.action === call.action) waiter.resolve(call);
        else heldWaiters.push(waiter);
      }
      return;
    }
    if (fault && 'drop' in fault) {
      record.fault = 'drop';
      req.socket.destroy();
      return;
    }
    if (fault && 'status' in fault) {
      record.fault = `status ${fault.status}`;
      record.status = fault.status;
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(fault.body ?? '');
      return;
    }
    if (fault && 'delayMs' in fault) {
      record.fault = `delay ${fault.delayMs}`;
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (req.socket.destroyed) return;
    }
    await forward(req, res, call, body, record, fault);
  }

  async function forward(req: IncomingMessage, res: ServerResponse, call: ProxiedCall, body: Buffer, record: CallRecord, fault: Fault | undefined): Promise<void> {
    try {
      let answer = await forwardRequest(upstream, call.method, call.path, req.headers, body, ca);
      if (fault && 'rewrite' in fault) {
        record.fault = 'rewrite';
        answer = await fault.rewrite(answer, call);
      }
      record.status = answer.status;
      const headers = { ...answer.headers };
      delete headers['content-length'];
      delete headers['transfer-encoding'];
      res.writeHead(answer.status, headers);
      res.end(answer.body);
    } catch (error) {
      record.status = 502;
      res.writeHead(502);
      res.end((error as Error).message);
    }
  }

  const server: Server = options.tls ? createHttpsServer({ cert: readFileSync(options.tls.certPath), key: readFileSync(options.tls.keyPath) }, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    url: options.tls ? `https://127.0.0.1:${port}` : `http://127.0.0.1:${port}`,
    calls,
    add: (rule) => {
      const entry = { ...rule, used: 0 };
      rules.push(entry);
      return () => {
        if (rules.includes(entry)) rules.splice(rules.indexOf(entry), 1);
      };
    },
    clear: () => rules.splice(0),
    held(action, timeoutMs = 60_000) {
      const already = heldCalls.find((entry) => !action || entry.call.action === action);
      if (already) return Promise.resolve(already.call);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${action ?? ''} call held within ${timeoutMs} ms`)), timeoutMs);
        heldWaiters.push({ action, resolve: (call) => (clearTimeout(timer), resolve(call)) });
      });
    },
    dropHeld() {
      for (const { res } of heldCalls.splice(0)) res.socket?.destroy();
    },
    releaseHeld() {
      for (const { release } of heldCalls.splice(0)) release();
    },
    async down() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    async up() {
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    async stop() {
      for (const { res } of heldCalls.splice(0)) res.socket?.destroy();
      if (!server.listening) return;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function describeCall(method: string, path: string, headers: IncomingHttpHeaders, body: Buffer, acme: boolean): ProxiedCall {
  const text = body.toString('utf8');
  if (acme) return { method, path, headers, body, text, action: path.split('/')[1] ?? '' };
  const region = /Credential=[^/]+\/\d+\/([^/]+)\//.exec(String(headers.authorization ?? ''))?.[1];
  // Query protocol (ELBv2, EC2): Action=… in the body; JSON protocol (ACM): X-Amz-Target; Route 53: REST paths.
  const target = String(headers['x-amz-target'] ?? '')
    .split('.')
    .pop();
  const query = text.startsWith('Action=') || text.includes('&Action=') ? new URLSearchParams(text).get('Action') : null;
  return { method, path, headers, body, text, region, action: query ?? (target || route53Action(method, path)) };
}

function route53Action(method: string, path: string): string {
  if (/\/hostedzone\/[^/]+\/rrset/.test(path)) return method === 'POST' ? 'ChangeResourceRecordSets' : 'ListResourceRecordSets';
  if (/\/change\//.test(path)) return 'GetChange';
  if (/\/hostedzone/.test(path)) return method === 'POST' ? 'CreateHostedZone' : 'ListHostedZones';
  return `${method} ${path}`;
}

function paramsOf(call: ProxiedCall): Record<string, unknown> {
  if (call.text.includes('Action=')) return Object.fromEntries(new URLSearchParams(call.text));
  if (call.headers['x-amz-target']) {
    try {
      const parsed = JSON.parse(call.text) as Record<string, unknown>;
      // Never keep key material in the record (the suite scans its own output for it).
      delete parsed.PrivateKey;
      return parsed;
    } catch {
      return {};
    }
  }
  return {};
}

/** An AWS error answer in the protocol of the call (JSON for ACM, XML for ELBv2 and Route 53). */
export function awsError(call: ProxiedCall, status: number, code: string, message: string): { status: number; headers: Record<string, string>; body: string } {
  if (call.headers['x-amz-target']) {
    return { status, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': code }, body: JSON.stringify({ __type: code, message }) };
  }
  return {
    status,
    headers: { 'content-type': 'text/xml' },
    body: `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`,
  };
}
