import { describe, expect, it } from 'vitest';
import { checkIssuedCertificate, normaliseSerial, readCertificate, splitPemChain } from '../../src/pki/certificate.js';
import { createCertificateKey } from '../../src/pki/keys.js';
import { readUsages, usagesRemoved } from '../../src/pki/usages.js';
import { selfSignedCertificate } from '../stack/tls.js';

describe('reading certificates', () => {
  it('reads serial, validity, DNS names and key type from a PEM', async () => {
    const notAfter = new Date('2027-03-01T00:00:00Z');
    const { certificatePem } = await selfSignedCertificate('api.example.com', ['www.example.com', 'api.example.com'], { notAfter });
    const facts = readCertificate(certificatePem);
    expect(facts.domains).toEqual(['api.example.com', 'www.example.com']);
    expect(facts.keyType).toBe('ecdsa-p256');
    expect(facts.notAfter).toEqual(notAfter);
    expect(facts.serial).toMatch(/^[0-9a-f]+$/);
  });

  it('compares ACM-style and Node-style serials in one form', () => {
    expect(normaliseSerial('0a:1B:ff')).toBe('a1bff');
    expect(normaliseSerial('0A1BFF')).toBe('a1bff');
  });

  it('splits a full chain into its certificates', async () => {
    const a = await selfSignedCertificate('a.example.com');
    const b = await selfSignedCertificate('b.example.com');
    expect(splitPemChain(`${a.certificatePem}${b.certificatePem}`)).toHaveLength(2);
  });

  it.each(['ecdsa-p256', 'ecdsa-p384', 'rsa-2048'] as const)('makes %s keys', async (keyType) => {
    const pem = (await createCertificateKey(keyType)).toString();
    expect(pem).toContain('PRIVATE KEY');
  });
});

describe('checking what the CA returned, before it reaches ACM', () => {
  it('accepts the ordered names with our key', async () => {
    const { certificatePem, privateKeyPem } = await selfSignedCertificate('api.example.com', ['api.example.com', 'www.example.com']);
    expect(checkIssuedCertificate(certificatePem, privateKeyPem, ['www.example.com', 'api.example.com']).domains).toHaveLength(2);
  });

  it('refuses a certificate for other names than ordered', async () => {
    const { certificatePem, privateKeyPem } = await selfSignedCertificate('api.example.com', ['api.example.com']);
    expect(() => checkIssuedCertificate(certificatePem, privateKeyPem, ['api.example.com', 'www.example.com'])).toThrow(
      'the CA returned a certificate for api.example.com but api.example.com, www.example.com was ordered',
    );
  });

  it('refuses a certificate whose key is not ours, without quoting any key', async () => {
    const issued = await selfSignedCertificate('api.example.com');
    const other = await selfSignedCertificate('api.example.com');
    let message = '';
    try {
      checkIssuedCertificate(issued.certificatePem, other.privateKeyPem, ['api.example.com']);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('the CA returned a certificate whose public key does not match the key of the request');
  });

  it('refuses an expired certificate and a PEM that does not parse', async () => {
    const { certificatePem, privateKeyPem } = await selfSignedCertificate('api.example.com', ['api.example.com'], {
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2020-04-01T00:00:00Z'),
    });
    expect(() => checkIssuedCertificate(certificatePem, privateKeyPem, ['api.example.com'])).toThrow('the CA returned a certificate that expired on 2020-04-01');
    expect(() => checkIssuedCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', privateKeyPem, ['api.example.com'])).toThrow(
      /^the CA returned a certificate that cannot be parsed/,
    );
  });
});

describe('ACM re-import rules for usages', () => {
  const ecdsa = { keyUsages: ['digitalSignature'], extendedKeyUsages: ['clientAuth', 'serverAuth'] };

  it('allows dropping clientAuth, and keyEncipherment on ECDSA', () => {
    expect(usagesRemoved({ ...ecdsa, keyUsages: ['digitalSignature', 'keyEncipherment'] }, { keyUsages: ['digitalSignature'], extendedKeyUsages: ['serverAuth'] }, true)).toEqual(
      [],
    );
  });

  it('names every other usage a re-import would drop', () => {
    expect(
      usagesRemoved({ keyUsages: ['digitalSignature', 'keyEncipherment'], extendedKeyUsages: ['serverAuth'] }, { keyUsages: ['digitalSignature'], extendedKeyUsages: [] }, false),
    ).toEqual(['Key Usage keyEncipherment', 'Extended Key Usage serverAuth']);
  });

  it('reads usages from a certificate', async () => {
    const { certificatePem } = await selfSignedCertificate('api.example.com');
    expect(readUsages(certificatePem)).toEqual({ keyUsages: ['digitalSignature'], extendedKeyUsages: ['serverAuth'] });
  });
});
