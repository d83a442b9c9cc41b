import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import { DescribeListenersCommand, type ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { forwardRequest, sendBadGateway, sendForwarded } from './forward-request.js';
import { selfSignedCertificate } from './tls.js';

/**
 * moto's load balancers serve no TLS. These two pieces stand in for what AWS does with an imported
 * certificate: ACM keeps the private key (`startAcmKeyVault`, an HTTP proxy in front of moto that keeps
 * what ImportCertificate sends), and the load balancer serves the certificate its listener names
 * (`startServingListener`, a loopback TLS server that looks the listener up on every handshake).
 */
export interface AcmKeyVault {
  /** Point certkeeper's AWS_ENDPOINT_URL here instead of at moto. */
  endpoint: string;
  material(certificateArn: string): { certificatePem: string; privateKeyPem: string } | undefined;
  /** Hold every request for this AWS action (e.g. 'ModifyListener') this long before forwarding; null to stop. */
  slowDown(action: string | null, ms?: number): void;
  stop(): Promise<void>;
}

export async function startAcmKeyVault(motoEndpoint: string): Promise<AcmKeyVault> {
  const upstream = new URL(motoEndpoint);
  const vault = new Map<string, { certificatePem: string; privateKeyPem: string }>();
  let slow: { action: string; ms: number } | undefined;
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    // An 'end' listener's return is ignored: the handler answers every failure itself.
    req.on(
      'end',
      () =>
        void (async () => {
          const body = Buffer.concat(chunks);
          // Query protocol (ELBv2, EC2): Action=… in the body; JSON protocol (ACM, Route 53 is REST): X-Amz-Target.
          const action =
            new URLSearchParams(body.toString('utf8')).get('Action') ??
            String(req.headers['x-amz-target'] ?? '')
              .split('.')
              .pop();
          if (slow && action === slow.action) await new Promise((resolve) => setTimeout(resolve, slow!.ms));
          forwardRequest(upstream, req.method ?? 'POST', req.url ?? '/', req.headers, body).then(
            (answer) => {
              if (String(req.headers['x-amz-target'] ?? '').endsWith('.ImportCertificate') && answer.status === 200) {
                const sent = JSON.parse(body.toString('utf8')) as { Certificate: string; PrivateKey: string };
                const { CertificateArn } = JSON.parse(answer.body.toString('utf8')) as { CertificateArn: string };
                vault.set(CertificateArn, {
                  certificatePem: Buffer.from(sent.Certificate, 'base64').toString('utf8'),
                  privateKeyPem: Buffer.from(sent.PrivateKey, 'base64').toString('utf8'),
                });
              }
              sendForwarded(res, answer);
            },
            (error: Error) => sendBadGateway(res, error),
          );
        })(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    material: (arn) => vault.get(arn),
    slowDown: (action, ms = 0) => (slow = action ? { action, ms } : undefined),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface ServingListener {
  port: number;
  /** Keep serving what is served now, whatever the listener says: a load balancer that lags. */
  freeze(): void;
  unfreeze(): void;
  stop(): Promise<void>;
}

/** Serves, on every handshake, the default certificate that the listener currently names in ELBv2. */
export async function startServingListener(elb: ElasticLoadBalancingV2Client, listenerArn: string, vault: AcmKeyVault): Promise<ServingListener> {
  let frozen: SecureContext | undefined;
  let last: SecureContext | undefined;
  const fallback = await selfSignedCertificate('not-yet-deployed.invalid');
  const server = createHttpsServer({
    cert: fallback.certificatePem,
    key: fallback.privateKeyPem,
    SNICallback: (_servername, done) => {
      if (frozen) return done(null, frozen);
      elb.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] })).then(
        (answer) => {
          const material = vault.material(answer.Listeners?.[0]?.Certificates?.[0]?.CertificateArn ?? '');
          last = material ? createSecureContext({ cert: material.certificatePem, key: material.privateKeyPem }) : undefined;
          done(null, last);
        },
        (error: Error) => done(error),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    freeze: () => (frozen = last),
    unfreeze: () => (frozen = undefined),
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
