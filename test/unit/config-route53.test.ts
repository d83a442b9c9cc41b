import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../src/config/load.js';

const CONFIG_PATH = '/etc/certkeeper/renewal.config.ts';

function config(extra: Record<string, unknown> = {}, route53: Record<string, unknown> = {}): any {
  return {
    acme: { directoryUrl: 'https://acme.example.net/directory', email: 'ops@example.com', termsOfServiceAgreed: true },
    aws: { region: 'us-east-1' },
    certificates: [{ name: 'api', domains: ['api.example.com'], route53, acm: [{ region: 'us-east-1' }] }],
    ...extra,
  };
}

function errorFor(value: any): string {
  try {
    validateConfig(value, CONFIG_PATH);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('route53 config', () => {
  it("defaults: 5 requests/s, INSYNC within 300 s, propagation checked for 120 s at the zone's own nameservers", () => {
    const resolved = validateConfig(config(), CONFIG_PATH);
    expect(resolved.route53).toEqual({ requestsPerSecond: 5, insyncTimeoutSeconds: 300, propagation: { check: true, timeoutSeconds: 120 }, zones: [] });
  });

  it('accepts roles per certificate and per zone, and resolvers with ports', () => {
    const resolved = validateConfig(
      config(
        {
          route53: {
            requestsPerSecond: 3,
            propagation: { resolvers: ['192.0.2.53', '192.0.2.54:5353', '[2001:db8::53]:53'] },
            zones: [{ hostedZoneId: '/hostedzone/Z0123456789ABC', roleArn: 'arn:aws:iam::222222222222:role/dns', externalId: 'certkeeper-prod' }],
          },
        },
        { roleArn: 'arn:aws:iam::333333333333:role/dns' },
      ),
      CONFIG_PATH,
    );
    expect(resolved.route53.zones[0]!.hostedZoneId).toBe('Z0123456789ABC');
    expect(resolved.certificates[0]!.route53.roleArn).toBe('arn:aws:iam::333333333333:role/dns');
  });

  it('names the key path and the fix for bad values', () => {
    const message = errorFor(
      config(
        {
          route53: {
            requestsPerSecond: 0,
            propagation: { resolvers: ['ns1.example.com'], timeoutSeconds: 0 },
            zones: [{ hostedZoneId: 'Z1', externalId: 'x1' }, { hostedZoneId: 'Z1' }],
          },
        },
        { roleArn: 'arn:aws:iam::12:role/dns' },
      ),
    );
    expect(message).toContain('route53.requestsPerSecond: 0 is not valid; expected a positive number of requests per second, such as 5');
    expect(message).toContain('route53.propagation.resolvers[0]: "ns1.example.com" is not valid; expected a nameserver address such as "192.0.2.53" or "192.0.2.53:5353"');
    expect(message).toContain('route53.propagation.timeoutSeconds: 0 is not valid; expected a whole number of seconds, at least 1 (default 120)');
    expect(message).toContain('route53.zones[0].externalId: is set without roleArn');
    expect(message).toContain('route53.zones[1].hostedZoneId: duplicate hosted zone "Z1"');
    expect(message).toContain(
      'certificates[0].route53.roleArn: "arn:aws:iam::12:role/dns" is not valid; expected an IAM role ARN such as "arn:aws:iam::123456789012:role/certkeeper-dns"',
    );
  });
});
