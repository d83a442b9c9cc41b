import { randomBytes, webcrypto } from 'node:crypto';
import { ACMClient, ImportCertificateCommand } from '@aws-sdk/client-acm';
import { AddListenerCertificatesCommand, ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures, type AwsFixtures } from './aws-fixtures.js';
import { startAcmKeyVault, type AcmKeyVault } from './load-balancer-double.js';
import { sampleServed } from './served-sampler.js';
import { startSniServingListener, type SniServingListener } from './sni-serving-listener.js';
import { startStack, type Stack } from './stack.js';
import { selfSignedCertificate, type PemKeyPair } from './tls.js';

/** The SNI load-balancer double serves what ELBv2 names as an ALB would: by name, RSA included, the default otherwise. */

let stack: Stack;
let aws: AwsFixtures;
let vault: AcmKeyVault;
let serving: SniServingListener;
let acm: ACMClient;
let listenerArn: string;

beforeAll(async () => {
  stack = await startStack({ preloadEc2: true });
  aws = awsFixtures(stack.motoEndpoint);
  vault = await startAcmKeyVault(stack.motoEndpoint);
  // ACM calls through the vault, so it keeps the private keys it will serve with.
  acm = new ACMClient({ endpoint: vault.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  listenerArn = (await aws.createHttpsListener({ name: 'sni-double' })).listenerArn;
  serving = await startSniServingListener(aws.elbv2(), listenerArn, vault);
});

afterAll(async () => {
  await serving?.stop();
  await vault?.stop();
  await stack?.stop();
});

async function rsaCertificate(name: string): Promise<PemKeyPair> {
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    signingAlgorithm: algorithm,
    keys,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }])],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return { certificatePem: certificate.toString('pem'), privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n` };
}

async function importCertificate(pair: PemKeyPair, certificateArn?: string): Promise<string> {
  const answer = await acm.send(
    new ImportCertificateCommand({ Certificate: Buffer.from(pair.certificatePem), PrivateKey: Buffer.from(pair.privateKeyPem), CertificateArn: certificateArn }),
  );
  return answer.CertificateArn!;
}

async function servedNames(servername: string): Promise<string[]> {
  const sample = await sampleServed(serving.port, servername);
  if (!sample.ok) throw new Error(sample.error);
  return sample.names;
}

describe('startSniServingListener', () => {
  it('serves the certificate whose names cover the server name, RSA as well as ECDSA, the default for other names, and a re-import at once', async () => {
    // The placeholder's key never went through the vault: nothing real to serve yet.
    expect(await servedNames('www.t.example')).toEqual(['not-yet-deployed.invalid']);

    const defaultArn = await importCertificate(await selfSignedCertificate('www.t.example'));
    await aws.elbv2().send(new ModifyListenerCommand({ ListenerArn: listenerArn, Certificates: [{ CertificateArn: defaultArn }] }));
    const rsaArn = await importCertificate(await rsaCertificate('rsa.t.example'));
    const wildcardArn = await importCertificate(await selfSignedCertificate('wild.t.example', ['wild.t.example', '*.wild.t.example']));
    await aws.elbv2().send(new AddListenerCertificatesCommand({ ListenerArn: listenerArn, Certificates: [{ CertificateArn: rsaArn }, { CertificateArn: wildcardArn }] }));

    expect(await servedNames('www.t.example')).toEqual(['www.t.example']);
    expect(await servedNames('rsa.t.example')).toEqual(['rsa.t.example']);
    expect(await servedNames('a.wild.t.example')).toEqual(['wild.t.example', '*.wild.t.example']);
    // A wildcard covers one label only; other names get the default certificate.
    expect(await servedNames('a.b.wild.t.example')).toEqual(['www.t.example']);
    expect(await servedNames('other.t.example')).toEqual(['www.t.example']);

    const before = await sampleServed(serving.port, 'rsa.t.example');
    await importCertificate(await rsaCertificate('rsa.t.example'), rsaArn);
    const after = await sampleServed(serving.port, 'rsa.t.example');
    expect(before.ok && after.ok && before.serial !== after.serial).toBe(true);
  });
});
