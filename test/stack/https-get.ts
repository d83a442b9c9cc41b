import { readFileSync } from 'node:fs';
import { request } from 'node:https';

export interface HttpsGetResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * GET over HTTPS trusting exactly the CA in `caCertPath` (TLS verification stays on). No keep-alive,
 * so nothing lingers after the answer.
 */
export function httpsGet(url: string, caCertPath: string, timeoutMs = 5_000): Promise<HttpsGetResult> {
  const ca = readFileSync(caCertPath);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', ca, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
