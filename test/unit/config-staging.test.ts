import { describe, expect, it } from 'vitest';
import { dryRunConflict } from '../../src/cli/main.js';
import { ConfigError, validateConfig } from '../../src/config/load.js';
import { LETS_ENCRYPT_STAGING } from '../../src/config/schema.js';
import { stagingConfig } from '../../src/config/staging-directory.js';
import { EAB_HMAC_KEY, expectNoSecret, STANDARD_BASE64_HMAC_KEY } from '../config-secrets.js';

const CONFIG_PATH = '/etc/certkeeper/renewal.config.ts';
const PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';

function configWith(acme: Record<string, unknown>) {
  return validateConfig(
    {
      acme: { email: 'ops@example.com', termsOfServiceAgreed: true, ...acme },
      aws: { region: 'us-east-1' },
      certificates: [{ name: 'api', domains: ['api.example.com'], acm: [{ region: 'us-east-1' }] }],
    },
    CONFIG_PATH,
  );
}

function errorFor(acme: Record<string, unknown>): string {
  try {
    configWith(acme);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('acme.stagingDirectoryUrl', () => {
  it("is Let's Encrypt staging when left out", () => {
    expect(configWith({}).acme.stagingDirectoryUrl).toBe(LETS_ENCRYPT_STAGING);
    expect(LETS_ENCRYPT_STAGING).toBe('https://acme-staging-v02.api.letsencrypt.org/directory');
  });

  it('takes the https URL of another CA directory', () => {
    expect(
      configWith({ directoryUrl: 'https://ca.internal.example/acme/prod/directory', stagingDirectoryUrl: 'https://ca.internal.example/acme/test/directory' }).acme,
    ).toMatchObject({
      directoryUrl: 'https://ca.internal.example/acme/prod/directory',
      stagingDirectoryUrl: 'https://ca.internal.example/acme/test/directory',
    });
  });

  it('refuses a URL that is not https, saying what fits', () => {
    expect(errorFor({ stagingDirectoryUrl: 'http://acme-staging.example/directory' })).toBe(
      `invalid config ${CONFIG_PATH}:\n  - acme.stagingDirectoryUrl: "http://acme-staging.example/directory" is not valid; expected the https URL of the CA's staging ACME directory, such as "https://acme-staging-v02.api.letsencrypt.org/directory"`,
    );
  });

  it('refuses the production directory, however it is spelled (a dry run would order real certificates)', () => {
    const message = `invalid config ${CONFIG_PATH}:\n  - acme.stagingDirectoryUrl: is the same as acme.directoryUrl; a dry run must not order from the CA it renews with: point it at the CA's staging directory, such as "${LETS_ENCRYPT_STAGING}"`;
    expect(errorFor({ stagingDirectoryUrl: PRODUCTION })).toBe(message);
    expect(errorFor({ directoryUrl: PRODUCTION, stagingDirectoryUrl: 'https://ACME-v02.api.letsencrypt.org.:443/directory' })).toBe(message);
  });

  it("lets a config that renews on Let's Encrypt staging leave it out (the dry run then orders there too)", () => {
    expect(configWith({ directoryUrl: LETS_ENCRYPT_STAGING }).acme.stagingDirectoryUrl).toBe(LETS_ENCRYPT_STAGING);
  });
});

describe('acme.stagingEab', () => {
  it('is checked like eab, and its key is never quoted', () => {
    const message = errorFor({ stagingEab: { kid: 'staging-kid', hmacKey: STANDARD_BASE64_HMAC_KEY } });
    expect(message).toMatch(/acme\.stagingEab\.hmacKey: is not valid \(value not shown: it is a secret\); expected the base64url HMAC key/);
    expectNoSecret(message, [STANDARD_BASE64_HMAC_KEY]);
    expectNoSecret(errorFor({ stagingEab: EAB_HMAC_KEY }), [EAB_HMAC_KEY]);
  });
});

describe('the config a dry run orders with', () => {
  it('is the staging directory, never with the production EAB, and with no rate-limit guards', () => {
    const config = configWith({ stagingDirectoryUrl: 'https://staging.ca.example/directory', eab: { kid: 'prod', hmacKey: EAB_HMAC_KEY }, rateLimits: 'letsencrypt' });
    const staging = stagingConfig(config);
    expect(staging.acme.directoryUrl).toBe('https://staging.ca.example/directory');
    expect(staging.acme.eab).toBeUndefined();
    expect(staging.acme.rateLimits).toBe('none');
    expect(staging.certificates).toBe(config.certificates);
    expect(staging.stateDir).toBe(config.stateDir);
  });

  it('uses stagingEab when the staging CA needs its own', () => {
    const stagingEab = { kid: 'staging', hmacKey: EAB_HMAC_KEY };
    const config = configWith({ stagingDirectoryUrl: 'https://staging.ca.example/directory', eab: { kid: 'prod', hmacKey: EAB_HMAC_KEY }, stagingEab });
    expect(stagingConfig(config).acme.eab).toEqual(stagingEab);
  });
});

describe('renew --dry-run with other options', () => {
  it('refuses --force, --ignore-rate-limits and --reason, saying why', () => {
    expect(dryRunConflict({ force: true })).toMatch(/^--dry-run cannot be used with --force: a dry run already renews every named certificate, due or not/);
    expect(dryRunConflict({ ignoreRateLimits: true })).toMatch(/^--dry-run cannot be used with --ignore-rate-limits: /);
    expect(dryRunConflict({ reason: 'testing' })).toMatch(/^--dry-run cannot be used with --reason: /);
    expect(dryRunConflict({})).toBeUndefined();
  });
});
