import { connect } from 'node:tls';
import { normaliseSerial } from '../pki/certificate.js';
import { sleep } from '../util/sleep.js';

export interface Endpoint {
  host: string;
  port: number;
  /** Server name sent in the handshake (default: host). */
  sni?: string;
}

export interface ServedCertificate {
  serial: string;
  notAfter: Date;
}

/**
 * What an endpoint serves: one TLS handshake with SNI, reading the leaf. The chain is not judged here
 * (a load balancer may be reached by IP, or be behind a private CA): the serial is compared with the
 * deployed one, and the handshake itself proves the server holds that certificate's key.
 */
export function probeServedCertificate(endpoint: Endpoint, timeoutMs = 10_000): Promise<ServedCertificate> {
  return new Promise((resolve, reject) => {
    // A deadline for the whole probe (name lookup, connect, handshake), not an idle timeout: a server
    // that trickles bytes must not hold the check either.
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)), timeoutMs);
    const socket = connect({ host: endpoint.host, port: endpoint.port, servername: endpoint.sni ?? endpoint.host, rejectUnauthorized: false }, () => {
      clearTimeout(timer);
      const peer = socket.getPeerCertificate();
      socket.end();
      if (!peer?.serialNumber) return reject(new Error('the server presented no certificate'));
      resolve({ serial: normaliseSerial(peer.serialNumber), notAfter: new Date(peer.valid_to) });
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/**
 * Waits until every endpoint serves `expected` (load balancers take a while to pick up a new
 * certificate), retrying with backoff up to `timeoutMs`; then says which endpoint serves what.
 */
export async function waitUntilServed(endpoints: Endpoint[], expected: ServedCertificate, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(endpoints);
  let delay = 1_000;
  let last = new Map<Endpoint, string>();
  for (;;) {
    last = new Map();
    // All at once, each probe within what is left of the wait: endpoints that hang do not add up.
    const probeMs = Math.max(1_000, Math.min(10_000, deadline - Date.now()));
    await Promise.all(
      [...pending].map(async (endpoint) => {
        try {
          const served = await probeServedCertificate(endpoint, probeMs);
          if (served.serial === expected.serial) pending.delete(endpoint);
          else last.set(endpoint, `serves serial ${served.serial} (valid until ${served.notAfter.toISOString()})`);
        } catch (error) {
          last.set(endpoint, (error as Error).message);
        }
      }),
    );
    signal?.throwIfAborted();
    if (pending.size === 0) return;
    if (Date.now() + delay > deadline) {
      const details = [...last].map(([endpoint, what]) => `${describeEndpoint(endpoint)} ${what}`).join('; ');
      throw new Error(`deployed but not served: after ${Math.round(timeoutMs / 1000)} s, ${details}; expected serial ${expected.serial}`);
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 30_000);
  }
}

export function describeEndpoint(endpoint: Endpoint): string {
  return `${endpoint.host}:${endpoint.port}${endpoint.sni && endpoint.sni !== endpoint.host ? ` (SNI ${endpoint.sni})` : ''}`;
}
