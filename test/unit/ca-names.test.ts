import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../src/config/load.js';
import { domainProblem } from '../../src/config/domains.js';

/** Names a CA refuses must fail at config load (exit 2), not after an order and 120 s of validation. */

function configWith(domains: string[]): unknown {
  return {
    acme: { directoryUrl: 'https://acme.example.net/directory', email: 'ops@example.com', termsOfServiceAgreed: true },
    aws: { region: 'us-east-1' },
    certificates: [{ name: 'api', domains, acm: [{ region: 'us-east-1' }] }],
  };
}

function errorFor(domains: string[]): string {
  try {
    validateConfig(configWith(domains), '/etc/certkeeper/renewal.config.ts');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

/** A name of `length` characters made of labels of at most 63. */
function nameOfLength(length: number, suffix = '.example.com'): string {
  let head = '';
  while (head.length + suffix.length < length) {
    const room = length - suffix.length - head.length - (head ? 1 : 0);
    head += `${head ? '.' : ''}${'a'.repeat(Math.min(63, room))}`;
  }
  return `${head}${suffix}`;
}

describe('names validated as the CA will', () => {
  it('refuses "_" in a host name label, naming the key and the fix', () => {
    expect(errorFor(['api.example.com', 'my_host.example.com'])).toContain(
      '  - certificates[0].domains[1]: "my_host.example.com" has "_" in the label "my_host"; a CA issues certificates for host names only (letters, digits and hyphens): use "my-host" or another name',
    );
    expect(domainProblem('*.in_ner.example.com')).toContain('has "_" in the label "in_ner"');
  });

  it('refuses a name whose _acme-challenge name would pass 253 characters', () => {
    const name = nameOfLength(240);
    expect(name.length).toBe(240);
    // The name alone is a valid DNS name (at most 253), …
    const message = errorFor([name]);
    // …but "_acme-challenge." makes it 256.
    expect(message).toContain('certificates[0].domains[0]: ');
    expect(message).toContain('its challenge name _acme-challenge.… is 256 characters, a DNS name has at most 253; use a name of at most 237 characters');
  });

  it('accepts the longest name whose challenge name fits, and a wildcard of it', () => {
    const name = nameOfLength(237);
    expect(domainProblem(name)).toBeNull();
    expect(domainProblem(`*.${name}`)).toBeNull();
    expect(domainProblem(nameOfLength(238))).toMatch(/is 254 characters/);
  });
});
