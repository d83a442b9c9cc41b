import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';

/** Found by the reliability suite: an AWS call that never answered hung the pass; aws.requestTimeoutSeconds bounds it. */
const base = () => ({
  acme: { directoryUrl: 'https://acme.example.net/directory', email: 'ops@example.com', termsOfServiceAgreed: true },
  aws: { region: 'us-east-1' } as Record<string, unknown>,
  certificates: [{ name: 'api', domains: ['api.example.com'], acm: [{ region: 'us-east-1' }] }],
});

describe('aws.requestTimeoutSeconds', () => {
  it('defaults to 60 seconds', () => {
    expect(validateConfig(base(), '/x/renewal.config.ts').aws.requestTimeoutSeconds).toBe(60);
  });

  it('takes a positive number and names the key path otherwise', () => {
    const config = base();
    config.aws.requestTimeoutSeconds = 5;
    expect(validateConfig(config, '/x/renewal.config.ts').aws.requestTimeoutSeconds).toBe(5);
    config.aws.requestTimeoutSeconds = 0;
    expect(() => validateConfig(config, '/x/renewal.config.ts')).toThrow(/ {2}- aws\.requestTimeoutSeconds: /);
    config.aws.requestTimeoutSeconds = 'soon';
    expect(() => validateConfig(config, '/x/renewal.config.ts')).toThrow(/ {2}- aws\.requestTimeoutSeconds: expected a number, got "soon"/);
  });
});
