import { webcrypto } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

// Node's WebCrypto: no openssl binary needed. Setting it again (src/ may too) is harmless.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface PemKeyPair {
  certificatePem: string;
  privateKeyPem: string;
}

export interface TestCa {
  caCertPath: string;
  caKeyPath: string;
  caCertificatePem: string;
}

export interface LocalhostTls extends TestCa {
  /** Server certificate for DNS `localhost` and IP 127.0.0.1, signed by the CA. */
  serverCertPath: string;
  serverKeyPath: string;
}

/**
 * Writes a fresh throw-away CA into `dir` (ca.pem, ca-key.pem mode 0600), valid from an hour ago
 * (clock skew) for 30 days. Trust ca.pem (NODE_EXTRA_CA_CERTS, or `ca` of an https agent).
 */
export async function writeTestCa(dir: string): Promise<TestCa> {
  const keys = await generateKeys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: 'CN=certkeeper test stack CA',
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 30 * DAY_MS),
    signingAlgorithm: ECDSA_P256,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const files: TestCa = { caCertPath: join(dir, 'ca.pem'), caKeyPath: join(dir, 'ca-key.pem'), caCertificatePem: `${ca.toString('pem')}\n` };
  await writeFile(files.caCertPath, files.caCertificatePem);
  await writePrivateKey(files.caKeyPath, keys.privateKey);
  return files;
}

/**
 * Writes server.pem and server-key.pem (mode 0600) into `dir`: a certificate for `names` (default
 * `localhost` and 127.0.0.1) signed by `ca` (a new CA is written into `dir` when none is given).
 */
export async function writeLocalhostTls(dir: string, ca?: TestCa, names: string[] = ['localhost', '127.0.0.1']): Promise<LocalhostTls> {
  const issuer = ca ?? (await writeTestCa(dir));
  const caCertificate = new x509.X509Certificate(issuer.caCertificatePem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(await readFile(issuer.caKeyPath, 'utf8')), ECDSA_P256, false, ['sign']);
  const serverKeys = await generateKeys();
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${names[0]}`,
    issuer: caCertificate.subject,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Math.min(Date.now() + 30 * DAY_MS, caCertificate.notAfter.getTime())),
    signingAlgorithm: ECDSA_P256,
    publicKey: serverKeys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(subjectAltNames(names)),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate),
      await x509.SubjectKeyIdentifierExtension.create(serverKeys.publicKey),
    ],
  });
  const files: LocalhostTls = { ...issuer, serverCertPath: join(dir, 'server.pem'), serverKeyPath: join(dir, 'server-key.pem') };
  await writeFile(files.serverCertPath, `${server.toString('pem')}\n`);
  await writePrivateKey(files.serverKeyPath, serverKeys.privateKey);
  return files;
}

/**
 * A self-signed ECDSA P-256 certificate with subject CN and DNS (or IP) SANs, e.g. a placeholder for a
 * load-balancer listener. The CN is mandatory: moto's ACM ImportCertificate fails with HTTP 500 without.
 */
export async function selfSignedCertificate(commonName: string, sans: string[] = [commonName], validity: { notBefore?: Date; notAfter?: Date } = {}): Promise<PemKeyPair> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [commonName] }],
    notBefore: validity.notBefore ?? new Date(Date.now() - 3_600_000),
    notAfter: validity.notAfter ?? new Date(Date.now() + 30 * DAY_MS),
    signingAlgorithm: ECDSA_P256,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      ...(sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(subjectAltNames(sans))] : []),
    ],
  });
  return { certificatePem: `${certificate.toString('pem')}\n`, privateKeyPem: await privateKeyPem(keys.privateKey) };
}

function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify']);
}

function subjectAltNames(names: string[]): x509.JsonGeneralName[] {
  return names.map((value) => ({ type: isIP(value) ? 'ip' : 'dns', value }));
}

/** 16 random bytes with the top bit clear: a positive DER INTEGER without padding. */
function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', key);
  return `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n`;
}

async function writePrivateKey(path: string, key: webcrypto.CryptoKey): Promise<void> {
  await writeFile(path, await privateKeyPem(key), { mode: 0o600 });
  await chmod(path, 0o600); // mode above is ignored when the file already existed
}
