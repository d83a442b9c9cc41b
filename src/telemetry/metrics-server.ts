import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthTracker } from './health.js';
import { registry, reportReadiness } from './metrics.js';

export interface MetricsServer {
  /** The bound address and port (the port is the real one when 0 was asked for). */
  address: AddressInfo;
  close(): Promise<void>;
}

/** The status page as `run` serves it: the HTML and the Content-Security-Policy it is written for. */
export interface StatusPageSource {
  render(): Promise<string>;
  contentSecurityPolicy: string;
}

/**
 * `GET /metrics` (Prometheus text format), `GET /healthz` (liveness) and `GET /readyz` (readiness), the
 * last two 200 or 503 with a small JSON body saying why, and `GET /status` (the status page) when given
 * one. Nothing else is served; the process's own work never waits on a scrape.
 */
export async function startMetricsServer(options: { port: number; host?: string; health: HealthTracker; statusPage?: StatusPageSource }): Promise<MetricsServer> {
  const { statusPage } = options;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
      );
      return;
    }
    if (path === '/healthz') {
      const report = options.health.report();
      response.writeHead(report.healthy ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(report)}\n`);
      return;
    }
    if (path === '/readyz') {
      const report = options.health.readiness.report();
      response.writeHead(report.ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(report)}\n`);
      return;
    }
    if (path === '/status' && statusPage) {
      statusPage.render().then(
        (page) =>
          response
            .writeHead(200, {
              'content-type': 'text/html; charset=utf-8',
              'cache-control': 'no-store',
              'content-security-policy': statusPage.contentSecurityPolicy,
              'x-content-type-options': 'nosniff',
            })
            .end(page),
        (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot render the status page: ${error.message}\n`),
      );
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: try /metrics, /healthz${statusPage ? ', /readyz or /status' : ' or /readyz'}\n`);
  });
  // Keep-alive connections from a scraper would hold shutdown up.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`cannot serve metrics on ${options.host ?? 'every interface'} port ${options.port}: ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.message}`)),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const stopReporting = reportReadiness(() => options.health.readiness.conditions());
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        stopReporting();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
