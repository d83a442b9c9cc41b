import { AuthorityKeyIdentifierExtension, X509Certificate } from '@peculiar/x509';

/**
 * The certificate's ID for ACME Renewal Information (RFC 9773 §4.1): base64url of the Authority Key
 * Identifier's keyIdentifier, ".", base64url of the DER serial number's content bytes (with any
 * leading zero byte). Undefined for a certificate without an AKI key identifier.
 */
export function ariCertId(pem: string | X509Certificate): string | undefined {
  const certificate = typeof pem === 'string' ? new X509Certificate(pem) : pem;
  const aki = certificate.getExtension(AuthorityKeyIdentifierExtension);
  if (!aki?.keyId) return undefined;
  // @peculiar/x509 gives the serial as hex of the raw INTEGER content bytes, leading zero included.
  const serial = Buffer.from(certificate.serialNumber, 'hex');
  return `${Buffer.from(aki.keyId, 'hex').toString('base64url')}.${serial.toString('base64url')}`;
}
