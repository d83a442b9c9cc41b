import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ImportCertificateCommand } from '@aws-sdk/client-acm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import { RequestPacing } from '../../src/aws/request-pacing.js';
import { apiRate, operationClass } from '../../src/config/aws-api-rates.js';
import { validateConfig } from '../../src/config/load.js';
import { TokenBucket } from '../../src/util/adaptive-token-bucket.js';

const throttle = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });

describe('the AWS request rates (config/aws-api-rates.ts)', () => {
  it("are ACM's documented per-operation rates, ELB's shared Describe* bucket, and a cautious default for the rest", () => {
    expect(apiRate('acm:ImportCertificate')).toEqual({ ratePerSecond: 1, burst: 1 });
    expect(apiRate('acm:DescribeCertificate')).toEqual({ ratePerSecond: 10, burst: 10 });
    expect(apiRate(`elbv2:${operationClass('elbv2', 'DescribeListeners')}`)).toEqual({ ratePerSecond: 10, burst: 40 });
    expect(operationClass('elbv2', 'ModifyListener')).toBe('mutating');
    expect(operationClass('elbv2', 'AddListenerCertificates')).toBe('mutating');
    expect(operationClass('cloudfront', 'UpdateDistribution')).toBe('mutating');
    expect(operationClass('cloudfront', 'GetDistributionConfig')).toBe('read');
    expect(apiRate('acm:SomethingNew')).toEqual({ ratePerSecond: 1, burst: 1 });
  });

  it('take an override for a raised quota, its burst scaled with it', () => {
    expect(apiRate('acm:ImportCertificate', { 'acm:ImportCertificate': 10 })).toEqual({ ratePerSecond: 10, burst: 10 });
    expect(apiRate('elbv2:describe', { 'elbv2:describe': 20 })).toEqual({ ratePerSecond: 20, burst: 80 });
    const pacing = new RequestPacing({ rates: { 'elbv2:mutating': 5 } });
    expect(pacing.bucket('elbv2', 'eu-west-1', 'mutating').ratePerSecond).toBe(5);
    expect(pacing.bucket('acm', 'eu-west-1', 'ImportCertificate').ratePerSecond).toBe(1);
    // One bucket per region: the quotas are per account and region.
    expect(pacing.bucket('acm', 'eu-west-1', 'ImportCertificate')).toBe(pacing.bucket('acm', 'eu-west-1', 'ImportCertificate'));
    expect(pacing.bucket('acm', 'us-east-1', 'ImportCertificate')).not.toBe(pacing.bucket('acm', 'eu-west-1', 'ImportCertificate'));
  });

  it('are validated in the config: only paced keys, positive numbers, each bad key named', () => {
    const config = (requestRates: unknown) => ({
      acme: { directoryUrl: 'https://acme.example.net/directory', email: 'ops@example.com', termsOfServiceAgreed: true },
      aws: { region: 'us-east-1', requestRates },
      certificates: [{ name: 'api', domains: ['api.example.com'], acm: [{ region: 'us-east-1' }] }],
    });
    expect(validateConfig(config({ 'acm:ImportCertificate': 10, 'elbv2:mutating': 5 }), '/x/c.ts').aws.requestRates).toEqual({ 'acm:ImportCertificate': 10, 'elbv2:mutating': 5 });
    expect(() => validateConfig(config({ 'acm:importcertificate': 10 }), '/x/c.ts')).toThrow(
      /aws\.requestRates\.acm:importcertificate: "acm:importcertificate" is not a paced AWS operation; expected one of: acm:AddTagsToCertificate/,
    );
    expect(() => validateConfig(config({ 'acm:ImportCertificate': 0 }), '/x/c.ts')).toThrow(/aws\.requestRates\.acm:ImportCertificate/);
  });
});

describe('the pacing layer (aws/request-pacing.ts)', () => {
  it('retries a throttled request within the minute and slows the bucket; the caller sees the answer', async () => {
    const pacing = new RequestPacing();
    const bucket = new TokenBucket(50, 50);
    let attempts = 0;
    const answer = await pacing.send(bucket, async () => {
      if (++attempts <= 3) throw throttle();
      return 'imported';
    });
    expect(answer).toBe('imported');
    expect(attempts).toBe(4);
    expect(bucket.currentRate).toBeLessThan(50);
  });

  it('hands the throttle back only once the retry time has passed', async () => {
    const pacing = new RequestPacing({ throttledRetryMs: 300 });
    let attempts = 0;
    const call = {};
    await expect(
      pacing.send(
        new TokenBucket(50, 50),
        async () => {
          attempts++;
          throw throttle();
        },
        call,
      ),
    ).rejects.toThrow(/Rate exceeded/);
    expect(attempts).toBeGreaterThan(1);
    // The SDK's next attempt of the same call is not given another minute.
    let again = 0;
    await expect(
      pacing.send(
        new TokenBucket(50, 50),
        async () => {
          again++;
          throw throttle();
        },
        call,
      ),
    ).rejects.toThrow(/Rate exceeded/);
    expect(again).toBe(1);
  });

  it('leaves other errors to the SDK: one attempt here', async () => {
    const pacing = new RequestPacing();
    let attempts = 0;
    const denied = Object.assign(new Error('no'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
    await expect(
      pacing.send(new TokenBucket(50, 50), async () => {
        attempts++;
        throw denied;
      }),
    ).rejects.toBe(denied);
    expect(attempts).toBe(1);
  });
});

/** The middleware in a real SDK client: an ACM endpoint that throttles the first imports, then answers. */
describe('an ACM client made by AwsClients', () => {
  let server: Server;
  const seen: string[] = [];
  let throttleFirst = 0;
  const saved = { ...process.env };

  beforeAll(async () => {
    server = createServer((request, response) => {
      const target = String(request.headers['x-amz-target'] ?? '');
      seen.push(`${target} ${String(request.headers['x-amz-date'])}`);
      request.resume();
      request.on('end', () => {
        if (throttleFirst-- > 0) {
          response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
          response.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
          return;
        }
        response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify({ CertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    });
  });

  afterAll(async () => {
    process.env = saved;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('retries throttled imports inside the pacing layer and returns the answer (the SDK never sees the throttle)', async () => {
    const clients = new AwsClients('us-east-1', 5, { 'acm:ImportCertificate': 50 });
    throttleFirst = 3;
    seen.length = 0;
    const answer = await clients.acm('us-east-1').send(new ImportCertificateCommand({ Certificate: Buffer.from('c'), PrivateKey: Buffer.from('k') }));
    expect(answer.CertificateArn).toMatch(/^arn:aws:acm:/);
    expect(seen).toHaveLength(4);
    expect(seen.every((line) => line.startsWith('CertificateManager.ImportCertificate '))).toBe(true);
    clients.destroy();
  });
});
