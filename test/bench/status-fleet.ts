import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetCertificateCommand, ImportCertificateCommand, type ACMClient } from '@aws-sdk/client-acm';
import { mapWithConcurrency } from '../../src/util/map-with-concurrency.js';
import { readCertificate } from '../../src/pki/certificate.js';
import { factsTag } from '../../src/targets/acm-facts-tag.js';

/**
 * The status fleet: certificates certkeeper just issued, imported again and again with the owner tags
 * of `fleet-I` and the `certkeeper:facts` tag, as certkeeper's own imports carry them (a certificate
 * imported by hand has none and costs one GetCertificate, once). moto does not check that a key matches its certificate (real ACM does), so one throwaway
 * key serves every import; status never reads keys. The CA double knows these certificates, so ARI
 * answers for each, with a window far off: none is due.
 */
// A region of its own: the certificates the other scenarios left in us-east-1 (certkeeper's, no longer in this
// config) would otherwise be described each pass as left behind, which is not what status over a fleet costs.
const STATUS_REGION = 'us-west-2';

export async function importStatusFleet(acm: (region: string) => ACMClient, issued: { stateDir: string; names: string[] }, count: number) {
  const sources = await Promise.all(
    issued.names.map(async (name) => {
      const record = JSON.parse(readFileSync(join(issued.stateDir, 'certificates', `${name}.json`), 'utf8')) as { acm: Record<string, string> };
      const answer = await acm('us-east-1').send(new GetCertificateCommand({ CertificateArn: record.acm['us-east-1'] }));
      const domains = new X509Certificate(answer.Certificate!).subjectAltName!.split(', ').map((entry) => entry.replace(/^DNS:/, ''));
      const facts = factsTag(readCertificate(answer.Certificate!));
      return { certificate: answer.Certificate!, chain: answer.CertificateChain, domains, facts };
    }),
  );
  const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const specs = Array.from({ length: count }, (_, i) => ({ name: `fleet-${i}`, source: sources[i % sources.length]! }));
  await mapWithConcurrency(specs, 20, ({ name, source }) =>
    acm(STATUS_REGION).send(
      new ImportCertificateCommand({
        Certificate: Buffer.from(source.certificate),
        CertificateChain: source.chain ? Buffer.from(source.chain) : undefined,
        PrivateKey: Buffer.from(key),
        Tags: [{ Key: 'certkeeper:name', Value: name }, { Key: 'managed-by', Value: 'certkeeper' }, ...(source.facts ? [source.facts] : [])],
      }),
    ),
  );
  return specs.map(({ name, source }) => ({ name, domains: source.domains, acm: [{ region: STATUS_REGION }] }));
}
