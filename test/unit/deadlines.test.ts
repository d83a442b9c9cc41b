import { describe, expect, it } from 'vitest';
import { accountForgotten } from '../../src/acme/account.js';
import { passDeadlineMs, renewalDeadlineMs } from '../../src/agent/deadlines.js';
import { validateConfig } from '../../src/config/load.js';

function config(fields: Record<string, unknown> = {}, certificates: Record<string, unknown>[] = [{ name: 'api', domains: ['api.example.com'], acm: [{ region: 'us-east-1' }] }]) {
  return validateConfig(
    {
      acme: { email: 'ops@example.com', termsOfServiceAgreed: true },
      aws: { region: 'us-east-1' },
      certificates,
      ...fields,
    },
    '/etc/certkeeper/renewal.config.ts',
  );
}

const verified = { name: 'web', domains: ['web.example.com'], acm: [{ region: 'us-east-1' }], verify: [{ host: 'web.example.com', port: 443 }], verifyTimeoutSeconds: 120 };

describe('renewal deadline', () => {
  it('adds the configured waits to the CA and AWS request timeouts', () => {
    // 2 × INSYNC 300 + propagation 120 + 20 × acme 30 + 10 × aws 60; no verify endpoint, so no served-certificate wait.
    const defaults = config();
    expect(renewalDeadlineMs(defaults, defaults.certificates[0])).toBe((600 + 120 + 600 + 600) * 1000);
  });

  it('counts the served-certificate wait only for a certificate with verify endpoints, and the propagation wait only when checked', () => {
    const custom = config(
      {
        route53: { insyncTimeoutSeconds: 10, propagation: { check: false } },
        acme: { email: 'ops@example.com', termsOfServiceAgreed: true, requestTimeoutSeconds: 5 },
        aws: { region: 'us-east-1', requestTimeoutSeconds: 2 },
      },
      [verified],
    );
    expect(renewalDeadlineMs(custom, custom.certificates[0])).toBe((20 + 120 + 100 + 20) * 1000);
    // Without a certificate: the longest of the config's (what a lock's staleness is judged by).
    expect(renewalDeadlineMs(custom)).toBe((20 + 120 + 100 + 20) * 1000);
  });

  it('gives a pass its look plus one renewal deadline per round of `concurrency` renewals and per extra wave', () => {
    const five = config(
      { concurrency: 2 },
      ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, domains: [`${name}.example.com`], acm: [{ region: 'us-east-1' }] })),
    );
    const renewal = renewalDeadlineMs(five, five.certificates[0]);
    expect(passDeadlineMs(five, five.certificates, 1)).toBe(10 * 60_000 + 3 * renewal);
    expect(passDeadlineMs(five, five.certificates, 2)).toBe(10 * 60_000 + 4 * renewal);
  });
});

describe('acme.requestTimeoutSeconds', () => {
  it('defaults to 30 s and names the key and the range when wrong', () => {
    expect(config().acme.requestTimeoutSeconds).toBe(30);
    expect(() => config({ acme: { email: 'ops@example.com', termsOfServiceAgreed: true, requestTimeoutSeconds: 0 } })).toThrow(
      /acme\.requestTimeoutSeconds: 0 is not valid; expected a number of seconds from 1 to 300 \(default 30\)/,
    );
    expect(() => config({ acme: { email: 'ops@example.com', termsOfServiceAgreed: true, requestTimeoutSeconds: '30' } })).toThrow(/acme\.requestTimeoutSeconds: "30" is not valid/);
  });
});

describe('the CA forgot the account', () => {
  it('is told by accountDoesNotExist, or by unauthorized about the account itself', () => {
    expect(accountForgotten([{ type: 'urn:ietf:params:acme:error:accountDoesNotExist', detail: 'Account "https://ca/my-account/1" not found.' }])).toBe(true);
    expect(accountForgotten([{ type: 'urn:ietf:params:acme:error:unauthorized', detail: 'Account is not valid, has status "deactivated"' }])).toBe(true);
    expect(accountForgotten([{ type: 'urn:ietf:params:acme:error:unauthorized', detail: 'Cannot issue for "example.com": CAA record forbids it' }])).toBe(false);
    expect(accountForgotten([{ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new accounts' }])).toBe(false);
  });
});
