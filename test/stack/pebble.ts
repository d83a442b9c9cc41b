import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startChildProcess, type ManagedProcess } from './child-processes.js';
import { httpsGet } from './https-get.js';
import { freePort, waitFor } from './ports.js';
import { keepStackDir, makeStackDir, removeStackDir } from './stack-dirs.js';
import { writeLocalhostTls } from './tls.js';

export const PEBBLE_BINARY = process.env.PEBBLE_BINARY ?? 'pebble';

export interface PebbleOptions {
  /** Port on 127.0.0.1 of the DNS server Pebble asks for `_acme-challenge` TXT records. */
  dnsPort: number;
  /**
   * Lifetime of issued certificates in seconds (default 90 days; Pebble's own default is 5 years).
   * Pebble 2.4.0 honours it exactly: notAfter = notBefore + validitySeconds - 1 s. Short values
   * (e.g. 120) give certificates that are already "due" for renewal.
   */
  validitySeconds?: number;
  /** External account binding keys, kid → base64url HMAC key; when given, EAB becomes required. */
  eab?: Record<string, string>;
  /** Extra environment for Pebble, overriding the defaults below (e.g. PEBBLE_WFE_NONCEREJECT: '50'). */
  env?: Record<string, string>;
}

export interface Pebble {
  /** ACME directory, e.g. https://127.0.0.1:PORT/dir */
  directoryUrl: string;
  /** Management interface: /roots/0, /intermediates/0, /cert-status-by-serial/HEX */
  managementUrl: string;
  /** PEM of the CA that signed Pebble's HTTPS certificate: trust it, never turn verification off. */
  caCertPath: string;
  /** Pebble's own HTTPS certificate and key (localhost, 127.0.0.1), for servers that stand in front of it. */
  serverCertPath: string;
  serverKeyPath: string;
  /** Pebble's stdout and stderr; look here when an order fails. */
  logPath: string;
  /** Of the Pebble process now running (a restart makes a new one). */
  readonly pid: number;
  readonly process: ManagedProcess;
  /** The root that signs issued certificates; Pebble makes a new one at every start. */
  issuingRootPem(): Promise<string>;
  /**
   * Stops Pebble and starts it again on the same ports with the same HTTPS certificate, as a CA that
   * lost its state: every account, order and authorization is forgotten, and the issuing CA is new.
   */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const DEFAULT_ENV = {
  PEBBLE_VA_NOSLEEP: '1', // else a random 0-5 s sleep before every validation
  PEBBLE_WFE_NONCEREJECT: '0', // else 5 % of nonces are rejected as badNonce at random
};

/**
 * Starts Pebble on free loopback ports and resolves once its directory answers over trusted HTTPS.
 *
 * Pebble 2.4.0 DNS-01, as observed here: it sends 3 TXT queries (UDP) for `_acme-challenge.NAME` per
 * challenge (for `*.NAME` the same name as for NAME, so both values must be in one record set), reads
 * TXT records from the answer section (so a CNAME answer carrying the target's TXT works), and judges
 * at once, with no retry: NXDOMAIN / REFUSED / SERVFAIL make the authorization invalid within ~0.1 s
 * ("DNS lookup for … returned an unsuccessful response: '\x03'" for NXDOMAIN, '\x05' for REFUSED; a
 * wrong value: "Correct value not found for DNS challenge"), and an invalid authorization fails its
 * order for good. Names under made-up TLDs (`x.example`, `*.example.com`) are accepted. With the default
 * PEBBLE_AUTHZREUSE (50 %) a new order by the same account may come back with authorizations already
 * valid: pass env { PEBBLE_AUTHZREUSE: '0' } to make every order validate.
 */
export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const dir = await makeStackDir('pebble');
  // The run-wide CA when a global setup made one (so NODE_EXTRA_CA_CERTS already trusts it), else a new one.
  const tls = await writeLocalhostTls(dir);
  const logPath = join(dir, 'pebble.log');

  // A free port can be taken between the probe and Pebble's bind: try again with new ports.
  for (let attempt = 1; ; attempt++) {
    const [listenPort, managementPort, httpPort, tlsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const configPath = join(dir, 'pebble-config.json');
    const eab = options.eab ?? {};
    await writeFile(
      configPath,
      JSON.stringify(
        {
          pebble: {
            listenAddress: `127.0.0.1:${listenPort}`,
            managementListenAddress: `127.0.0.1:${managementPort}`,
            certificate: tls.serverCertPath,
            privateKey: tls.serverKeyPath,
            // Ports Pebble's VA would dial for HTTP-01 / TLS-ALPN-01; nothing listens there.
            httpPort,
            tlsPort,
            ocspResponderURL: '',
            externalAccountBindingRequired: Object.keys(eab).length > 0,
            externalAccountMACKeys: eab,
            certificateValidityPeriod: options.validitySeconds ?? 90 * 86_400,
          },
        },
        null,
        2,
      ),
    );

    const directoryUrl = `https://127.0.0.1:${listenPort}/dir`;
    const managementUrl = `https://127.0.0.1:${managementPort}`;
    const launch = async () => {
      const started = await startChildProcess({
        label: 'pebble',
        command: PEBBLE_BINARY,
        args: ['-config', configPath, '-dnsserver', `127.0.0.1:${options.dnsPort}`],
        logPath,
        env: { ...process.env, ...DEFAULT_ENV, ...options.env },
        cwd: dir,
      }).catch((error: Error) => {
        throw new Error(`${error.message}\nInstall Pebble with: apt-get install -y pebble (Debian/Ubuntu), or set PEBBLE_BINARY.`);
      });
      try {
        await waitFor(async () => (await httpsGet(directoryUrl, tls.caCertPath, 1_000)).status === 200, {
          label: `Pebble at ${directoryUrl}`,
          timeoutMs: 10_000,
          abortIf: () => (started.exitStatus ? new Error(`Pebble exited (${started.exitStatus})`) : undefined),
        });
      } catch (error) {
        await started.stop();
        throw error;
      }
      return started;
    };
    let child: ManagedProcess;
    try {
      child = await launch();
    } catch (error) {
      const log = logTailOf(logPath);
      const portTaken = /address already in use/i.test(log);
      if (portTaken && attempt < 3) continue;
      keepStackDir(dir);
      throw new Error(`${(error as Error).message}\n--- ${logPath} (kept) ---\n${log}`, { cause: error });
    }

    return {
      directoryUrl,
      managementUrl,
      caCertPath: tls.caCertPath,
      serverCertPath: tls.serverCertPath,
      serverKeyPath: tls.serverKeyPath,
      logPath,
      get pid() {
        return child.pid;
      },
      get process() {
        return child;
      },
      async restart() {
        await child.stop();
        // Same config, so the same ports: a client that knew Pebble finds it where it was.
        child = await launch();
      },
      async issuingRootPem() {
        const answer = await httpsGet(`${managementUrl}/roots/0`, tls.caCertPath);
        if (answer.status !== 200) throw new Error(`GET ${managementUrl}/roots/0: HTTP ${answer.status}`);
        return answer.body;
      },
      async stop() {
        await child.stop();
        await removeStackDir(dir);
      },
    };
  }
}

function logTailOf(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
