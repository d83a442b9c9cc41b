import { createServer } from 'node:http';
import {
  DescribeListenerCertificatesCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { cloudFrontClient, distributionsUsing } from './cloudfront-double.js';
import { forwardRequest, sendForwarded, withBody } from './forward-request.js';
import { listenOnLoopback } from './ports.js';

/**
 * moto sets an imported certificate's InUseBy only at CreateListener (ModifyListener and
 * AddListenerCertificates leave it stale). This proxy in front of moto answers DescribeCertificate's
 * InUseBy as real ACM does: the ARN of every load balancer with a listener that serves the certificate,
 * as its default or an SNI certificate, read from moto's ELBv2 at each call, and in us-east-1 every
 * CloudFront distribution whose viewer certificate it is. Everything else passes through.
 */
export interface AcmInUseByDouble {
  /** Point certkeeper's AWS_ENDPOINT_URL here instead of at moto. */
  endpoint: string;
  stop(): Promise<void>;
}

export async function startAcmInUseBy(motoEndpoint: string): Promise<AcmInUseByDouble> {
  const upstream = new URL(motoEndpoint);
  const elbv2 = new Map<string, ElasticLoadBalancingV2Client>();
  const elbIn = (region: string) => {
    let client = elbv2.get(region);
    if (!client)
      elbv2.set(region, (client = new ElasticLoadBalancingV2Client({ endpoint: motoEndpoint, region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } })));
    return client;
  };

  const loadBalancersServing = async (region: string, certificateArn: string): Promise<string[]> => {
    const elb = elbIn(region);
    const users = new Set<string>();
    for (const balancer of (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? []) {
      for (const listener of (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: balancer.LoadBalancerArn }))).Listeners ?? []) {
        const served = [...(listener.Certificates ?? [])];
        if (listener.Protocol === 'HTTPS' || listener.Protocol === 'TLS') {
          served.push(...((await elb.send(new DescribeListenerCertificatesCommand({ ListenerArn: listener.ListenerArn }))).Certificates ?? []));
        }
        if (served.some((certificate) => certificate.CertificateArn === certificateArn)) users.add(balancer.LoadBalancerArn!);
      }
    }
    return [...users].sort();
  };

  const cloudfront = cloudFrontClient(motoEndpoint);

  const server = createServer(
    withBody(async (req, res, body) => {
      const answer = await forwardRequest(upstream, req.method ?? 'POST', req.url ?? '/', req.headers, body);
      if (String(req.headers['x-amz-target'] ?? '').endsWith('.DescribeCertificate') && answer.status === 200) {
        // The region of the SigV4 credential scope: Credential=KEY/DATE/REGION/acm/aws4_request.
        const region = /Credential=[^/]+\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? 'us-east-1';
        const described = JSON.parse(answer.body.toString('utf8')) as { Certificate: { CertificateArn: string; InUseBy?: string[] } };
        const arn = described.Certificate.CertificateArn;
        described.Certificate.InUseBy = [...(await loadBalancersServing(region, arn)), ...(region === 'us-east-1' ? await distributionsUsing(cloudfront, arn) : [])];
        answer.body = Buffer.from(JSON.stringify(described));
      }
      sendForwarded(res, answer);
    }),
  );
  const listening = await listenOnLoopback(server);
  return {
    endpoint: `http://127.0.0.1:${listening.port}`,
    async stop() {
      for (const client of elbv2.values()) client.destroy();
      cloudfront.destroy();
      await listening.stop();
    },
  };
}
