import type { CertificateFacts } from '../pki/certificate.js';
import type { ObservedRegion } from './decision-input.js';

/** The regions where a certificate is deployed, with its facts. */
export function deployedIn(observed: ObservedRegion[]): { region: string; facts: CertificateFacts }[] {
  return observed.flatMap((entry) => (entry.facts ? [{ region: entry.region, facts: entry.facts }] : []));
}

/** The deployed certificate that expires first: the one every plan and emergency is about. */
export function earliestExpiring(observed: ObservedRegion[]): CertificateFacts | undefined {
  return deployedIn(observed)
    .map((entry) => entry.facts)
    .sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime())[0];
}
