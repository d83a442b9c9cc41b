import { writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Pebble } from './pebble.js';
import { makeStackDir, removeStackDir } from './stack-dirs.js';
import { writeLocalhostTls, writeTestCa } from './tls.js';

/** Let's Encrypt's production ACME directory, as certkeeper's config names it. */
export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';
const LETS_ENCRYPT_HOST = new URL(LETS_ENCRYPT_DIRECTORY).hostname;
const PRELOAD = fileURLToPath(new URL('./letsencrypt-double-preload.mjs', import.meta.url));

export interface LetsEncryptDouble {
  directoryUrl: string;
  /** Merge into a certkeeper child's environment: the preload, its target, and trust in both test CAs. */
  env: Record<string, string>;
  /** Every request the double received (method and path), to prove the child talked to it. */
  requests: { method: string; path: string }[];
  stop(): Promise<void>;
}

/**
 * A faithful stand-in for Let's Encrypt's production host: certkeeper is configured with the real
 * directory URL, and a preload in the child (letsencrypt-double-preload.mjs) sends that host's DNS
 * lookups and port-443 connections to this local TLS server, which presents a certificate for the
 * name from a test CA the child trusts and forwards everything to the real Pebble (the directory
 * path mapped from /directory to Pebble's /dir). Host is kept, so Pebble builds its URLs on the Let's
 * Encrypt name and the whole flow runs against it. certkeeper's code is untouched.
 */
export async function startLetsEncryptDouble(pebble: Pebble): Promise<LetsEncryptDouble> {
  const dir = await makeStackDir('letsencrypt-double');
  const ca = await writeTestCa(dir);
  const tls = await writeLocalhostTls(dir, ca, [LETS_ENCRYPT_HOST]);
  // NODE_EXTRA_CA_CERTS takes one file: Pebble's HTTPS CA (for the stack's other uses) and this one.
  const trust = join(dir, 'trust.pem');
  await writeFile(trust, `${readFileSync(pebble.caCertPath, 'utf8')}${ca.caCertificatePem}`);
  const pebbleUrl = new URL(pebble.directoryUrl);
  const pebbleCa = readFileSync(pebble.caCertPath);
  const requests: LetsEncryptDouble['requests'] = [];

  const server: Server = createServer({ cert: readFileSync(tls.serverCertPath), key: readFileSync(tls.serverKeyPath) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? 'GET', path: req.url ?? '/' });
      const path = req.url === '/directory' ? pebbleUrl.pathname : (req.url ?? '/');
      // servername: Pebble's certificate is for localhost, whatever Host says.
      const upstream = request(
        { host: pebbleUrl.hostname, port: pebbleUrl.port, method: req.method, path, headers: req.headers, ca: pebbleCa, servername: 'localhost', agent: false },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => body.push(chunk));
          answer.on('end', () => {
            const headers = { ...answer.headers };
            delete headers['transfer-encoding'];
            headers['content-length'] = String(Buffer.concat(body).length);
            res.writeHead(answer.statusCode ?? 502, headers).end(Buffer.concat(body));
          });
        },
      );
      upstream.on('error', (error) => res.writeHead(502, { 'content-type': 'text/plain' }).end(error.message));
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    directoryUrl: LETS_ENCRYPT_DIRECTORY,
    env: {
      NODE_OPTIONS: `--import=${pathToFileURL(PRELOAD).href}`,
      CERTKEEPER_TEST_LETSENCRYPT_HOST: LETS_ENCRYPT_HOST,
      CERTKEEPER_TEST_LETSENCRYPT_PROXY: `127.0.0.1:${port}`,
      NODE_EXTRA_CA_CERTS: trust,
    },
    requests,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await removeStackDir(dir);
    },
  };
}
