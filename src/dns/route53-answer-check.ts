import type { Route53Client } from '@aws-sdk/client-route-53';

// How much of an unexpected body goes into the message: enough to recognise a proxy's error page.
const SHOWN_CHARACTERS = 80;
const MIDDLEWARE_NAME = 'certkeeperRoute53AnswerCheck';

/**
 * Route 53 answers XML, always. Anything else (a load balancer's or proxy's HTML 502, an empty 200) is
 * not Route 53 speaking, and the SDK would make of it an `UnknownError`, or an empty answer that fails
 * later with `Cannot read properties of undefined (reading 'Id')`. This error says, in one line, which
 * server answered, what was expected and what came; it is retried like a 5xx (see route53-gateway.ts).
 */
export class UnexpectedRoute53Answer extends Error {
  override readonly name = 'UnexpectedRoute53Answer';
  readonly $metadata: { httpStatusCode: number };
  /** A 5xx or a 200 that is not XML is a server or proxy problem: worth another try. A 4xx is not. */
  readonly $retryable?: object;

  constructor(endpoint: string, command: string, status: number, contentType: string, body: string) {
    const shown = body.replace(/\s+/g, ' ').trim().slice(0, SHOWN_CHARACTERS);
    super(
      `Route 53 (${endpoint}): expected an XML answer to ${command}, got HTTP ${status}, ${contentType.split(';')[0]!.trim() || 'no content type'}: ${shown || '(empty body)'}; ` +
        `if it lasts, check what sits between certkeeper and Route 53 (a proxy, AWS_ENDPOINT_URL_ROUTE_53) and the AWS Health Dashboard`,
    );
    this.$metadata = { httpStatusCode: status };
    if (status >= 500 || status < 400) this.$retryable = {};
  }
}

/** Adds the check to a Route 53 client, once: between the HTTP answer and the SDK's XML parser. */
export function checkRoute53Answers(client: Route53Client): void {
  if (client.middlewareStack.identify().some((entry) => entry.startsWith(MIDDLEWARE_NAME))) return;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const response = result.response as { statusCode?: number; headers?: Record<string, string>; body?: AsyncIterable<Uint8Array> };
      const contentType = headerOf(response.headers, 'content-type');
      const status = response.statusCode ?? 0;
      if (/xml/i.test(contentType)) return result;
      // No content type on a success: nothing says it is not Route 53's XML; the SDK's parser decides.
      if (!contentType && status >= 200 && status < 300) return result;
      const body = await readSome(response.body);
      const request = args.request as { protocol?: string; hostname?: string; port?: number; path?: string };
      const endpoint = `${request.protocol ?? 'https:'}//${request.hostname ?? 'route53.amazonaws.com'}${request.port ? `:${request.port}` : ''}`;
      throw new UnexpectedRoute53Answer(endpoint, String(context.commandName ?? 'a Route 53 request').replace(/Command$/, ''), status, contentType, body);
    },
    // Low priority within the deserialize step: called by the SDK's parser, so this sees the answer first.
    { step: 'deserialize', name: MIDDLEWARE_NAME, priority: 'low' },
  );
}

function headerOf(headers: Record<string, string> | undefined, name: string): string {
  const key = Object.keys(headers ?? {}).find((candidate) => candidate.toLowerCase() === name);
  return key ? (headers![key] ?? '') : '';
}

/** The first few kilobytes of a body, as text; the rest is drained so the connection can be reused. */
async function readSome(body: AsyncIterable<Uint8Array> | undefined): Promise<string> {
  if (!body || typeof body[Symbol.asyncIterator] !== 'function') return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < 4096) chunks.push(Buffer.from(chunk));
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}
