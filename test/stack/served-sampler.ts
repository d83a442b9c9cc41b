import { connect } from 'node:tls';

/**
 * What a TLS endpoint serves for one server name, read by a handshake as a browser would start one (SNI),
 * without trusting it: the point is to read the certificate, not to judge the chain. The socket sends no data.
 */
export type ServedSample = { ok: true; serial: string; notBefore: number; notAfter: number; names: string[] } | { ok: false; error: string };

export function sampleServed(port: number, servername: string, timeoutMs = 2_000, host = '127.0.0.1'): Promise<ServedSample> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, servername, rejectUnauthorized: false });
    const finish = (sample: ServedSample) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(sample);
    };
    const timer = setTimeout(() => finish({ ok: false, error: `no handshake within ${timeoutMs} ms` }), timeoutMs);
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      if (!peer || !peer.valid_to) return finish({ ok: false, error: 'no certificate served' });
      finish({
        ok: true,
        serial: peer.serialNumber.toUpperCase().replace(/^0+/, ''),
        notBefore: Date.parse(peer.valid_from),
        notAfter: Date.parse(peer.valid_to),
        names: (peer.subjectaltname ?? '').split(', ').flatMap((entry) => (entry.startsWith('DNS:') ? [entry.slice(4).toLowerCase()] : [])),
      });
    });
    socket.once('error', (error) => finish({ ok: false, error: error.message }));
  });
}
