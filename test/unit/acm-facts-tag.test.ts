import { describe, expect, it } from 'vitest';
import { factsFromTag, factsTag, FACTS_TAG } from '../../src/targets/acm-facts-tag.js';
import type { CertificateFacts } from '../../src/pki/certificate.js';

const facts: CertificateFacts = {
  serial: '4a1f0c2e9b7d3e5f6a8b9c0d1e2f3a4b5c6d7e8f',
  notBefore: new Date('2025-01-01T00:00:00Z'),
  notAfter: new Date('2025-04-01T00:00:00Z'),
  domains: ['*.example.com', 'example.com'],
  keyType: 'ecdsa-p256',
  issuer: 'CN=R11',
  ariCertId: 'u1BBdJBqEtKbS5RMmc38JEhy8Bg.SgfDC6bfT5faounA0eLzpLXG1-j',
  usages: { keyUsages: ['digitalSignature'], extendedKeyUsages: ['1.3.6.1.5.5.7.3.1', 'clientAuth'] },
};
const listed = { notBefore: facts.notBefore, notAfter: facts.notAfter };

describe('the certkeeper:facts tag', () => {
  it('fits an ACM tag value and gives back the facts for the same validity and names (in any order or case)', () => {
    const tag = factsTag(facts)!;
    expect(tag.Key).toBe(FACTS_TAG);
    expect(tag.Value.length).toBeLessThanOrEqual(256);
    expect(tag.Value).toMatch(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u);
    const { issuer: _absent, ...expected } = facts;
    expect(factsFromTag(tag.Value, listed, ['Example.com', '*.example.com'])).toEqual(expected);
  });

  it('is not believed for another validity (a tag left from before a re-import) or other names', () => {
    const { Value } = factsTag(facts)!;
    expect(factsFromTag(Value, { ...listed, notAfter: new Date('2025-04-01T00:00:01Z') }, facts.domains)).toBeUndefined();
    expect(factsFromTag(Value, { ...listed, notBefore: new Date('2024-12-31T00:00:00Z') }, facts.domains)).toBeUndefined();
    expect(factsFromTag(Value, listed, ['example.com'])).toBeUndefined();
    expect(factsFromTag(Value, listed, [...facts.domains, 'www.example.com'])).toBeUndefined();
  });

  it('is not believed when written by another version or damaged', () => {
    const { Value } = factsTag(facts)!;
    expect(factsFromTag(Value.replace(/^1 /, '2 '), listed, facts.domains)).toBeUndefined();
    expect(factsFromTag(Value.split(' ').slice(0, 8).join(' '), listed, facts.domains)).toBeUndefined();
    expect(factsFromTag(Value.replace(facts.serial, 'not-hex'), listed, facts.domains)).toBeUndefined();
  });

  it('keeps a certificate without ARI ID or usages, and is left off when the facts do not fit a tag value', () => {
    const bare = { ...facts, ariCertId: undefined, usages: { keyUsages: [], extendedKeyUsages: [] } };
    expect(factsFromTag(factsTag(bare)!.Value, listed, facts.domains)).toMatchObject({ serial: facts.serial, usages: { keyUsages: [], extendedKeyUsages: [] } });
    expect(factsFromTag(factsTag(bare)!.Value, listed, facts.domains)).not.toHaveProperty('ariCertId');
    const manyUsages = { ...facts, usages: { keyUsages: [], extendedKeyUsages: Array.from({ length: 20 }, (_, i) => `1.3.6.1.4.1.99999.${i}`) } };
    expect(factsTag(manyUsages)).toBeUndefined();
  });
});
