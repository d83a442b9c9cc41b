import type { CertificateFacts } from './certificate.js';

/**
 * A certificate the CA issued, with its key: what the issuer hands over and what a deployer imports.
 * It lives in pki/ because both sides need it and neither should import the other.
 */
export interface IssuedCertificate {
  leafPem: string;
  /** Intermediates only; the root is not sent (ACM expects it so). */
  chainPem: string;
  /** Kept in memory only for the import; never logged, never written outside the 0600 state files. */
  privateKeyPem: string;
  facts: CertificateFacts;
  orderUrl: string;
}
