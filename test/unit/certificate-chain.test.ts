import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkChain } from '../../src/pki/certificate.js';
import { selfSignedCertificate, writeLocalhostTls, writeTestCa } from '../stack/tls.js';

/** Found by the reliability suite: a chain that does not sign the leaf was imported into ACM as it came. */
describe('checkChain', () => {
  it('accepts a leaf followed by its issuer, refuses a stranger, an empty chain and garbage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certkeeper-chain-'));
    const ca = await writeTestCa(dir);
    const server = await writeLocalhostTls(dir, ca);
    const leaf = readFileSync(server.serverCertPath, 'utf8');
    expect(() => checkChain(leaf, [ca.caCertificatePem])).not.toThrow();

    const stranger = await selfSignedCertificate('Stranger Intermediate CA');
    expect(() => checkChain(leaf, [stranger.certificatePem])).toThrow(/does not lead to its issuer: .* is not signed by "CN=Stranger Intermediate CA"/);
    expect(() => checkChain(leaf, [])).toThrow('the CA returned a certificate without its issuing chain');
    expect(() => checkChain(leaf, ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'])).toThrow(/certificate 1 cannot be parsed/);
    rmSync(dir, { recursive: true, force: true });
  });
});
