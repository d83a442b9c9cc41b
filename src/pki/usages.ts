import { ExtendedKeyUsage, ExtendedKeyUsageExtension, KeyUsageFlags, KeyUsagesExtension, X509Certificate } from '@peculiar/x509';

/** Key Usage names and Extended Key Usage names (or OIDs) of a certificate. */
export interface Usages {
  keyUsages: string[];
  extendedKeyUsages: string[];
}

const EKU_NAMES = new Map(Object.entries(ExtendedKeyUsage).map(([name, oid]) => [oid as string, name]));

export function readUsages(pem: string | X509Certificate): Usages {
  const certificate = typeof pem === 'string' ? new X509Certificate(pem) : pem;
  const ku = certificate.getExtension(KeyUsagesExtension);
  const eku = certificate.getExtension(ExtendedKeyUsageExtension);
  const keyUsages = ku
    ? Object.entries(KeyUsageFlags)
        .filter(([name, bit]) => typeof bit === 'number' && Number.isNaN(Number(name)) && (ku.usages & bit) !== 0)
        .map(([name]) => name)
    : [];
  const extendedKeyUsages = (eku?.usages ?? []).map((usage) => EKU_NAMES.get(String(usage)) ?? String(usage));
  return { keyUsages: keyUsages.sort(), extendedKeyUsages: extendedKeyUsages.sort() };
}

/**
 * What a re-import into the old ARN would remove that ACM refuses to remove (AWS: a re-import may not
 * drop Key Usage or Extended Key Usage values, except keyEncipherment on ECDSA and clientAuth).
 * Empty when re-import is allowed.
 */
export function usagesRemoved(previous: Usages, next: Usages, nextIsEcdsa: boolean): string[] {
  const droppedKu = previous.keyUsages.filter((usage) => !next.keyUsages.includes(usage) && !(nextIsEcdsa && usage === 'keyEncipherment'));
  const droppedEku = previous.extendedKeyUsages.filter((usage) => !next.extendedKeyUsages.includes(usage) && usage !== 'clientAuth');
  return [...droppedKu.map((usage) => `Key Usage ${usage}`), ...droppedEku.map((usage) => `Extended Key Usage ${usage}`)];
}

/**
 * Why ACM would refuse to re-import `next` over `previous` (AWS's rules: the key algorithm stays, no usage
 * is dropped); empty when it would accept. Checked before ordering (preflight) and before the call.
 */
export function reimportProblems(previous: { keyType: string; usages: Usages }, next: { keyType: string; usages: Usages }): string[] {
  const problems = previous.keyType !== next.keyType ? [`key type changes from ${previous.keyType} to ${next.keyType}`] : [];
  const removed = usagesRemoved(previous.usages, next.usages, next.keyType.startsWith('ecdsa'));
  return removed.length ? [...problems, `the new certificate drops ${removed.join(', ')}`] : problems;
}
