import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ForwardedAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Sends one buffered request on to `upstream` (http or https) and buffers the answer: the core of the test doubles that stand in front of a server. */
export function forwardRequest(upstream: URL, method: string, path: string, headers: IncomingHttpHeaders, body: Buffer, ca?: Buffer): Promise<ForwardedAnswer> {
  const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send({ host: upstream.hostname, port: upstream.port, method, path, headers, ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Writes a buffered answer back to the client: whole, so with its length and without chunked encoding. */
export function sendForwarded(res: ServerResponse, answer: ForwardedAnswer): void {
  const headers = { ...answer.headers };
  delete headers['transfer-encoding'];
  headers['content-length'] = String(answer.body.length);
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}

/** The server behind could not be reached or answered nonsense: 502 with the reason, as a gateway says. */
export function sendBadGateway(res: ServerResponse, error: unknown): void {
  res.writeHead(502, { 'content-type': 'text/plain' });
  res.end((error as Error).message);
}

/**
 * A request handler that reads the whole body first, then runs `handle`; a failure is answered 502
 * (an 'end' listener's return is ignored, so the handler answers every failure itself).
 */
export function withBody(handle: (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void>): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => void handle(req, res, Buffer.concat(chunks)).catch((error: unknown) => sendBadGateway(res, error)));
  };
}
