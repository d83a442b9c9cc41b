import acme from 'acme-client';
import type { KeyType } from '../config/schema.js';

/** A fresh private key (PEM) of the configured type for each certificate: keys are never reused. */
export async function createCertificateKey(keyType: KeyType): Promise<Buffer> {
  switch (keyType) {
    case 'ecdsa-p256':
      return acme.crypto.createPrivateEcdsaKey('P-256');
    case 'ecdsa-p384':
      return acme.crypto.createPrivateEcdsaKey('P-384');
    case 'rsa-2048':
      return acme.crypto.createPrivateRsaKey(2048);
    case 'rsa-3072':
      return acme.crypto.createPrivateRsaKey(3072);
    case 'rsa-4096':
      return acme.crypto.createPrivateRsaKey(4096);
  }
}

/** A certificate signing request for exactly these names. The CN (at most 64 characters) keeps ACM's console readable. */
export async function createCsr(domains: string[], key: Buffer): Promise<Buffer> {
  const commonName = domains.find((domain) => domain.length <= 64);
  const [, csr] = await acme.crypto.createCsr({ commonName, altNames: domains }, key);
  return csr;
}
