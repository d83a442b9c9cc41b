import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, validateConfig } from '../../src/config/load.js';
import { EAB_HMAC_KEY, expectNoSecret, WEBHOOK_URL } from '../config-secrets.js';

const CONFIG_PATH = '/etc/certkeeper/renewal.config.ts';

function validConfig(): any {
  return {
    // Secrets in every case: no error message may quote them (issue 13, item 4).
    acme: { directoryUrl: 'https://acme.example.net/directory', email: 'ops@example.com', termsOfServiceAgreed: true, eab: { kid: 'kid-1', hmacKey: EAB_HMAC_KEY } },
    aws: { region: 'us-east-1' },
    notifications: { webhookUrl: WEBHOOK_URL },
    certificates: [
      {
        name: 'api',
        domains: ['api.example.com', '*.example.com'],
        acm: [
          {
            region: 'us-east-1',
            certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0b2e1a47-3f52-4a1c-9c2e-6f2d7f1e9a10',
            listeners: [{ arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2' }],
          },
        ],
      },
    ],
  };
}

function errorFor(mutate: (config: any) => void): string {
  const config = validConfig();
  mutate(config);
  try {
    validateConfig(config, CONFIG_PATH);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expectNoSecret((error as Error).message, [EAB_HMAC_KEY, WEBHOOK_URL]);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

const header = `invalid config ${CONFIG_PATH}:\n`;

describe('config validation: each bad config names the key and the fix', () => {
  const cases: [string, (config: any) => void, string][] = [
    [
      'an unknown key, with a suggestion',
      (c) => (c.certificates[0].acm[0].listener = []),
      '  - certificates[0].acm[0]: unknown key "listener" (did you mean "listeners"?); expected one of: region, certificateArn, listeners',
    ],
    [
      'an unknown top-level key',
      (c) => (c.statedir = '/var/lib/certkeeper'),
      '  - (top level): unknown key "statedir" (did you mean "stateDir"?); expected one of: acme, stateDir, store, aws, schedule, discovery, concurrency, route53, certificates, notifications, metrics',
    ],
    ['a missing field', (c) => delete c.acme.email, '  - acme.email: is required; expected a contact e-mail address for the ACME account, such as "ops@example.com"'],
    ['a missing section', (c) => delete c.aws, '  - aws: is required (expected an object)'],
    ['a bad domain', (c) => c.certificates[0].domains.push('api..example.com'), '  - certificates[0].domains[2]: "api..example.com" has an empty label (two dots in a row)'],
    [
      'a wildcard in the wrong place',
      (c) => (c.certificates[0].domains[1] = 'api.*.example.com'),
      '  - certificates[0].domains[1]: "api.*.example.com" has a wildcard in the wrong place; a wildcard may only be the whole leftmost label, as in "*.example.com"',
    ],
    [
      'a partial wildcard label',
      (c) => (c.certificates[0].domains[1] = 'api*.example.com'),
      '  - certificates[0].domains[1]: "api*.example.com" has a wildcard in the wrong place; a wildcard may only be the whole leftmost label, as in "*.example.com"',
    ],
    [
      'a malformed certificate ARN',
      (c) => (c.certificates[0].acm[0].certificateArn = 'arn:aws:acm:us-east-1:1234:certificate/abc'),
      '  - certificates[0].acm[0].certificateArn: "arn:aws:acm:us-east-1:1234:certificate/abc" is not an ACM certificate ARN; expected "arn:aws:acm:REGION:ACCOUNT:certificate/UUID"',
    ],
    [
      'a malformed listener ARN',
      (c) => (c.certificates[0].acm[0].listeners[0].arn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188'),
      '  - certificates[0].acm[0].listeners[0].arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188" is not a load-balancer listener ARN; expected "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID"',
    ],
    [
      'a region that does not exist',
      (c) => (c.aws.region = 'us-east-7'),
      '  - aws.region: "us-east-7" is not an AWS region known to certkeeper; expected a region code such as "us-east-1" or "eu-west-1"',
    ],
    [
      'a certificate ARN from another region',
      (c) => (c.certificates[0].acm[0].region = 'eu-west-1'),
      [
        "  - certificates[0].acm[0].certificateArn: is in region us-east-1 but this entry's region is eu-west-1; an ACM certificate can only be used in its own region",
        "  - certificates[0].acm[0].listeners[0].arn: is in region us-east-1 but this entry's region is eu-west-1; put the listener under an acm entry for us-east-1",
      ].join('\n'),
    ],
    [
      'an unknown key type',
      (c) => (c.certificates[0].keyType = 'ed25519'),
      '  - certificates[0].keyType: expected one of "ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096", got "ed25519"',
    ],
    [
      'an unknown listener mode',
      (c) => (c.certificates[0].acm[0].listeners[0].mode = 'SNI'),
      '  - certificates[0].acm[0].listeners[0].mode: expected one of "default", "sni", got "SNI"',
    ],
    [
      'terms of service not agreed',
      (c) => (c.acme.termsOfServiceAgreed = false),
      "  - acme.termsOfServiceAgreed: must be true: read the CA's terms of service, then set termsOfServiceAgreed: true",
    ],
    ['a string where a list belongs', (c) => (c.certificates[0].domains = 'api.example.com'), '  - certificates[0].domains: expected a list, got "api.example.com"'],
    ['no domains', (c) => (c.certificates[0].domains = []), '  - certificates[0].domains: is empty; expected at least one domain, such as ["api.example.com"]'],
    ['duplicate names', (c) => c.certificates.push(validConfig().certificates[0]), '  - certificates[1].name: duplicate certificate name "api" (already at index 0)'],
    ['a duplicate domain', (c) => c.certificates[0].domains.push('api.example.com'), '  - certificates[0].domains[2]: duplicate domain "api.example.com" (already at index 0)'],
    [
      'an internationalised name',
      (c) => (c.certificates[0].domains = ['bücher.example.com']),
      '  - certificates[0].domains[0]: "bücher.example.com" is an internationalised name; write it in its ASCII (punycode) form: "xn--bcher-kva.example.com"',
    ],
    [
      'a label longer than 63 characters',
      (c) => (c.certificates[0].domains = [`${'a'.repeat(64)}.example.com`]),
      `  - certificates[0].domains[0]: "${'a'.repeat(64)}.example.com" has a label of 64 characters; a label has at most 63`,
    ],
    [
      'a plain-http directory URL',
      (c) => (c.acme.directoryUrl = 'http://acme.example.net/directory'),
      '  - acme.directoryUrl: "http://acme.example.net/directory" is not valid; expected the https URL of an ACME directory, such as "https://acme-staging-v02.api.letsencrypt.org/directory"',
    ],
    [
      'a bad cron schedule',
      (c) => (c.schedule = { cron: 'every day' }),
      '  - schedule.cron: "every day" is not valid; expected a cron expression such as "0 0,12 * * *" (minute hour day month weekday, optional leading seconds)',
    ],
    [
      // node-schedule would have run a date once; the daemon needs a schedule (and the health check its interval).
      'a date where a cron schedule goes',
      (c) => (c.schedule = { cron: '2099-01-01T00:00:00Z' }),
      '  - schedule.cron: "2099-01-01T00:00:00Z" is not valid; expected a cron expression such as "0 0,12 * * *" (minute hour day month weekday, optional leading seconds)',
    ],
    [
      'a cron schedule that never fires (30 February)',
      (c) => (c.schedule = { cron: '0 0 30 2 *' }),
      '  - schedule.cron: "0 0 30 2 *" is not valid; expected a cron expression such as "0 0,12 * * *" (minute hour day month weekday, optional leading seconds)',
    ],
    [
      'a renewBefore that is neither days nor percent',
      (c) => (c.certificates[0].renewBefore = '30 days'),
      '  - certificates[0].renewBefore: "30 days" is not valid; expected a number of days such as "30d", or a share of the lifetime such as "40%" (1-99)',
    ],
    [
      'too many names for the profile',
      (c) => {
        c.acme.profile = 'shortlived';
        c.certificates[0].domains = Array.from({ length: 26 }, (_, i) => `n${i}.example.com`);
      },
      '  - certificates[0].domains: has 26 names; the "shortlived" profile allows at most 25: split it into several certificates',
    ],
    [
      'more than 100 names',
      (c) => (c.certificates[0].domains = Array.from({ length: 101 }, (_, i) => `n${i}.example.com`)),
      '  - certificates[0].domains: has 101 names; a certificate may have at most 100: split it into several certificates',
    ],
    [
      'an EAB key that is not base64url',
      (c) => (c.acme.eab = { kid: 'kid-1', hmacKey: 'not base64!' }),
      '  - acme.eab.hmacKey: is not valid (value not shown: it is a secret); expected the base64url HMAC key the CA gave you (standard base64 with + and /? use - and _ instead)',
    ],
    [
      'an unknown time zone',
      (c) => (c.schedule = { timezone: 'Mars/Olympus' }),
      '  - schedule.timezone: "Mars/Olympus" is not valid; expected an IANA time zone such as "UTC" or "Europe/Berlin"',
    ],
    [
      'a malformed hosted zone ID',
      (c) => (c.certificates[0].route53 = { hostedZoneId: 'example.com' }),
      '  - certificates[0].route53.hostedZoneId: "example.com" is not a Route 53 hosted zone ID; expected something like "Z0123456789ABCDEFGHIJ"',
    ],
  ];

  it.each(cases)('%s', (_title, mutate, expected) => {
    expect(errorFor(mutate)).toBe(header + expected);
  });

  it('reports every problem at once, not one per run', () => {
    const message = errorFor((c) => {
      delete c.acme.email;
      c.aws.region = 'mars-1';
    });
    expect(message.split('\n')).toHaveLength(3);
  });
});

describe('config defaults and paths', () => {
  it('fills defaults and resolves stateDir next to the config file', () => {
    const config = validateConfig(validConfig(), CONFIG_PATH);
    expect(config.stateDir).toBe('/etc/certkeeper/.certkeeper');
    expect(config.certificates[0]!.keyType).toBe('ecdsa-p256');
    expect(config.certificates[0]!.acm[0]!.listeners[0]!.mode).toBe('default');
    expect(config.schedule).toEqual({ jitterSeconds: 300 });
    // No slot limit by default: the request rates of the CA and AWS pace a pass's renewals.
    expect(config.concurrency).toBeUndefined();
    expect(config.aws.requestRates).toBeUndefined();
  });

  it('takes the cron schedules node-schedule runs: 5 fields, 6 with seconds, ranges and steps, aliases', () => {
    for (const cron of ['0 0,12 * * *', '*/30 * * * * *', '0 3 * * 1-5', '@daily']) {
      const config = validConfig();
      config.schedule = { cron, timezone: 'Europe/Berlin' };
      expect(validateConfig(config, CONFIG_PATH).schedule.cron).toBe(cron);
    }
  });

  it('reads renewBefore as days or percent', () => {
    const withDays = validConfig();
    withDays.certificates[0].renewBefore = '30d';
    expect(validateConfig(withDays, CONFIG_PATH).certificates[0]!.renewBefore).toEqual({ days: 30 });
    withDays.certificates[0].renewBefore = '40%';
    expect(validateConfig(withDays, CONFIG_PATH).certificates[0]!.renewBefore).toEqual({ percent: 40 });
  });

  it('takes acme.rateLimits as "letsencrypt", "none" or explicit limits, and names the shape otherwise', () => {
    for (const rateLimits of ['letsencrypt', 'none', { duplicateCertificates: { count: 5, windowHours: 168 }, newOrders: { count: 300, windowHours: 3 } }]) {
      const config = validConfig();
      config.acme.rateLimits = rateLimits;
      expect(validateConfig(config, CONFIG_PATH).acme.rateLimits).toEqual(rateLimits);
    }
    expect(validateConfig(validConfig(), CONFIG_PATH).acme.rateLimits).toBeUndefined();
    expect(errorFor((c) => (c.acme.rateLimits = 'lets-encrypt'))).toBe(
      `${header}  - acme.rateLimits: "lets-encrypt" is not valid; expected "letsencrypt", "none", or limits such as { duplicateCertificates: { count: 5, windowHours: 168 } }`,
    );
    expect(errorFor((c) => (c.acme.rateLimits = { newOrders: { count: 300, windowHours: 500 } }))).toBe(
      `${header}  - acme.rateLimits.newOrders.windowHours: 500 is not valid; expected at most 168 hours (7 days)`,
    );
  });

  it('strips the /hostedzone/ prefix from a zone ID', () => {
    const config = validateConfig({ ...validConfig(), certificates: [{ ...validConfig().certificates[0], route53: { hostedZoneId: '/hostedzone/Z123ABC' } }] }, CONFIG_PATH);
    expect(config.certificates[0]!.route53.hostedZoneId).toBe('Z123ABC');
  });
});

describe('config: cloudfront', () => {
  it('implies an acm entry for us-east-1, or shares the configured one', () => {
    const only = validConfig();
    only.certificates[0].acm = undefined;
    only.certificates[0].cloudfront = [{ distributionId: 'E2QWRUHAPOMQZL' }];
    expect(validateConfig(only, CONFIG_PATH).certificates[0]!.acm).toEqual([{ region: 'us-east-1', listeners: [] }]);
    const elsewhere = validConfig();
    elsewhere.certificates[0].acm = [{ region: 'eu-west-1' }];
    elsewhere.certificates[0].cloudfront = [{ distributionId: 'E2QWRUHAPOMQZL' }];
    expect(validateConfig(elsewhere, CONFIG_PATH).certificates[0]!.acm.map((target) => target.region)).toEqual(['eu-west-1', 'us-east-1']);
    const shared = validConfig();
    shared.certificates[0].cloudfront = [{ distributionId: 'E2QWRUHAPOMQZL' }];
    expect(validateConfig(shared, CONFIG_PATH).certificates[0]!.acm).toHaveLength(1);
  });

  it('names a bad distribution ID, a duplicate, and a certificate with nowhere to go', () => {
    expect(errorFor((c) => (c.certificates[0].cloudfront = [{ distributionId: 'd123' }]))).toContain(
      'certificates[0].cloudfront[0].distributionId: "d123" is not valid; expected a CloudFront distribution ID such as "E2QWRUHAPOMQZL"',
    );
    expect(errorFor((c) => (c.certificates[0].cloudfront = [{ distributionId: 'E2QWRUHAPOMQZL' }, { distributionId: 'E2QWRUHAPOMQZL' }]))).toContain(
      'certificates[0].cloudfront[1].distributionId: duplicate distribution "E2QWRUHAPOMQZL" (already at index 0)',
    );
    expect(errorFor((c) => (c.certificates[0].acm = []))).toContain(
      'certificates[0].acm: is empty; expected at least one { region } to import the certificate into (or cloudfront: [{ distributionId }])',
    );
    expect(errorFor((c) => delete c.certificates[0].acm)).toContain('certificates[0].acm: is required; expected at least one { region }');
  });
});

describe('loading config files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certkeeper-config-'));
  const body = JSON.stringify(validConfig(), null, 2);

  it('loads a TypeScript config that uses defineConfig from the package', async () => {
    const file = join(dir, 'renewal.config.ts');
    writeFileSync(file, `import { defineConfig } from 'certkeeper';\nconst region: string = 'us-east-1';\nexport default defineConfig({ ...${body}, aws: { region } });\n`);
    const config = await loadConfig(file);
    expect(config.certificates[0]!.name).toBe('api');
    expect(config.configPath).toBe(file);
  });

  it('loads a plain .mjs object and a .js file without any import', async () => {
    for (const name of ['plain.mjs', 'plain.js']) {
      const file = join(dir, name);
      writeFileSync(file, `export default ${body};\n`);
      expect((await loadConfig(file)).aws.region).toBe('us-east-1');
    }
  });

  it('says so when the file is missing or does not load', async () => {
    await expect(loadConfig(join(dir, 'nope.ts'))).rejects.toThrow(`config file not found: ${join(dir, 'nope.ts')}`);
    const broken = join(dir, 'broken.ts');
    writeFileSync(broken, 'export default {{;\n');
    // One line, with where the parser stopped (line 1, column 17: the second brace).
    await expect(loadConfig(broken)).rejects.toThrow(/^cannot load .*broken\.ts:1:17: ParseError: Unexpected token$/);
  });
});
