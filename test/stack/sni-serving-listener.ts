import { X509Certificate } from 'node:crypto';
import { createServer } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import { DescribeListenerCertificatesCommand, type ElasticLoadBalancingV2Client, type Certificate } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AcmKeyVault } from './load-balancer-double.js';
import { selfSignedCertificate } from './tls.js';
import { listenOnLoopback } from './ports.js';

/**
 * A load-balancer listener that serves by SNI, as an ALB does (load-balancer-double.ts serves only the
 * default certificate): on every handshake it reads the listener's certificate list (default and SNI)
 * from ELBv2, and serves the certificate whose names cover the client's server name, the newest when
 * several do, the default one when none does. ALB's rule: "If the hostname provided by a client matches
 * a single certificate in the certificate list, the load balancer selects this certificate… Otherwise,
 * the default certificate." Certificates whose key the ACM key vault did not see (the placeholder) are
 * served as a self-signed `not-yet-deployed.invalid`, as load-balancer-double.ts does. A client that
 * sends no server name gets no certificate (every handshake of the soak sends one).
 */
export interface SniServingListener {
  port: number;
  stop(): Promise<void>;
}

interface Loaded {
  context: SecureContext;
  names: string[];
  notAfter: number;
}

export async function startSniServingListener(elb: ElasticLoadBalancingV2Client, listenerArn: string, vault: AcmKeyVault): Promise<SniServingListener> {
  const fallback = await selfSignedCertificate('not-yet-deployed.invalid');
  // By PEM: an ACM re-import keeps the ARN and changes the material.
  const loaded = new Map<string, Loaded>();
  const load = (arn: string | undefined): Loaded | undefined => {
    const material = arn ? vault.material(arn) : undefined;
    if (!material) return undefined;
    let entry = loaded.get(material.certificatePem);
    if (!entry) {
      const certificate = new X509Certificate(material.certificatePem);
      entry = {
        context: createSecureContext({ cert: material.certificatePem, key: material.privateKeyPem }),
        names: (certificate.subjectAltName ?? '').split(', ').flatMap((entry) => (entry.startsWith('DNS:') ? [entry.slice(4).toLowerCase()] : [])),
        notAfter: Date.parse(certificate.validTo),
      };
      loaded.set(material.certificatePem, entry);
    }
    return entry;
  };

  const fallbackContext = createSecureContext({ cert: fallback.certificatePem, key: fallback.privateKeyPem });
  // No certificate of the server's own: with an ECDSA one there, a handshake whose SNICallback handed over
  // an RSA context was still answered with the ECDSA certificate (Node 20 / OpenSSL 3). Every context is the callback's.
  const server = createServer({
    SNICallback: (servername, done) => {
      listenerCertificates(elb, listenerArn).then(
        (certificates) => {
          const candidates = certificates.flatMap((certificate) => {
            const entry = load(certificate.CertificateArn);
            return entry && entry.names.some((name) => covers(name, servername.toLowerCase())) ? [entry] : [];
          });
          const chosen = candidates.sort((a, b) => b.notAfter - a.notAfter)[0] ?? load(certificates.find((certificate) => certificate.IsDefault)?.CertificateArn);
          done(null, chosen?.context ?? fallbackContext);
        },
        (error: Error) => done(error),
      );
    },
  });
  return listenOnLoopback(server);
}

async function listenerCertificates(elb: ElasticLoadBalancingV2Client, listenerArn: string): Promise<Certificate[]> {
  const certificates: Certificate[] = [];
  let marker: string | undefined;
  do {
    const page = await elb.send(new DescribeListenerCertificatesCommand({ ListenerArn: listenerArn, Marker: marker }));
    certificates.push(...(page.Certificates ?? []));
    marker = page.NextMarker;
  } while (marker);
  return certificates;
}

/** A certificate name (possibly `*.example.com`) covers a host name as TLS clients match them: one label for the star. */
export function covers(certificateName: string, host: string): boolean {
  if (!certificateName.startsWith('*.')) return certificateName === host;
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot + 1) === certificateName.slice(2);
}
