import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, validateConfig } from '../../src/config/load.js';
import { EAB_HMAC_KEY, expectNoSecret, STANDARD_BASE64_HMAC_KEY, WEBHOOK_URL } from '../config-secrets.js';

/** Issue 13, item 4: a config error names the key and what is expected, never a secret's value nor source code. */

const CONFIG_PATH = '/etc/certkeeper/renewal.config.ts';
const SECRETS = [EAB_HMAC_KEY, WEBHOOK_URL, STANDARD_BASE64_HMAC_KEY];

function configWithSecrets(): any {
  return {
    acme: {
      directoryUrl: 'https://acme.example.net/directory',
      email: 'ops@example.com',
      termsOfServiceAgreed: true,
      eab: { kid: 'kid-1', hmacKey: EAB_HMAC_KEY },
    },
    aws: { region: 'us-east-1' },
    notifications: { webhookUrl: WEBHOOK_URL },
    certificates: [{ name: 'api', domains: ['api.example.com'], acm: [{ region: 'us-east-1' }] }],
  };
}

function errorFor(raw: unknown): string {
  try {
    validateConfig(raw, CONFIG_PATH);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

/** A case that changes the config in place and validates it. */
const edit = (change: (config: any) => void) => (config: any) => (change(config), config);

const cases: [string, (config: any) => unknown, RegExp][] = [
  [
    'a standard-base64 EAB key',
    edit((c) => (c.acme.eab.hmacKey = STANDARD_BASE64_HMAC_KEY)),
    /acme\.eab\.hmacKey: is not valid \(value not shown: it is a secret\); expected the base64url HMAC key/,
  ],
  ['an EAB key that is not a string', edit((c) => (c.acme.eab.hmacKey = [EAB_HMAC_KEY])), /acme\.eab\.hmacKey: /],
  ['the EAB key in place of the eab object', edit((c) => (c.acme.eab = STANDARD_BASE64_HMAC_KEY)), /acme\.eab: expected an object, got "\(value not shown/],
  ['an EAB key under a misspelt key', edit((c) => (c.acme.eab = { kid: 'kid-1', hmac: STANDARD_BASE64_HMAC_KEY })), /acme\.eab: unknown key "hmac"/],
  ['an EAB object with a wrong kid', edit((c) => (c.acme.eab.kid = '')), /acme\.eab\.kid: is empty/],
  ['a webhook URL of the wrong type', edit((c) => (c.notifications.webhookUrl = [WEBHOOK_URL])), /notifications\.webhookUrl: /],
  [
    'a webhook URL that is not http(s)',
    edit((c) => (c.notifications.webhookUrl = WEBHOOK_URL.replace('https:', 'ftp:'))),
    /notifications\.webhookUrl: is not valid \(value not shown/,
  ],
  [
    'a webhook URL with a space in its host',
    edit((c) => (c.notifications.webhookUrl = WEBHOOK_URL.replace('hooks.', 'hooks '))),
    /notifications\.webhookUrl: is not valid \(value not shown/,
  ],
  ['the webhook URL in place of the notifications object', edit((c) => (c.notifications = WEBHOOK_URL)), /notifications: expected an object, got "\(value not shown/],
  ['a webhook under an unknown key', edit((c) => (c.notifications = { slackWebhook: WEBHOOK_URL })), /notifications: unknown key "slackWebhook"/],
  ['a secret-like key of its own', edit((c) => (c.acme.apiToken = EAB_HMAC_KEY)), /acme: unknown key "apiToken"/],
  [
    'both secrets wrong at once',
    edit((c) => ((c.acme.eab.hmacKey = STANDARD_BASE64_HMAC_KEY), (c.notifications.webhookUrl = 'hooks.secret-sink.test/T0SECRET/B0SECRET/WebhookSecretToken42'))),
    /hmacKey[\s\S]*webhookUrl/,
  ],
  // Functions whose source holds the secrets themselves, as a config file's would.
  /* eslint-disable @typescript-eslint/no-implied-eval -- built from source on purpose: the secret must sit in the function's text */
  ['the whole config as a function that returns it', (c) => new Function(`return ${JSON.stringify(c)};`), /\(top level\): expected an object, got a function$/],
  [
    'a function for a field, holding the secret in its source',
    edit((c) => (c.notifications.webhookUrl = new Function(`return '${WEBHOOK_URL}';`))),
    /notifications\.webhookUrl: .*/,
  ],
  [
    'a function for the certificates, built from secrets',
    edit((c) => (c.certificates = new Function(`return [{ name: '${EAB_HMAC_KEY}' }];`))),
    /certificates: expected a list, got a function/,
  ],
  /* eslint-enable @typescript-eslint/no-implied-eval */
];

describe('config errors never quote a secret', () => {
  it.each(cases)('%s', (_title, change, expected) => {
    const message = errorFor(change(configWithSecrets()));
    expect(message).toMatch(expected);
    expectNoSecret(message, SECRETS);
  });

  it('a config file whose default export is a function: named as such, its source never printed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certkeeper-secrets-'));
    const file = join(dir, 'renewal.config.ts');
    writeFileSync(file, `export default () => (${JSON.stringify(configWithSecrets())});\n`);
    const error = await loadConfig(file).then(
      () => expect.fail('the config was accepted'),
      (caught: Error) => caught,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      `invalid config ${file}: the config's default export is a function; expected an object (defineConfig({...})) (the object itself, not a function that returns it)`,
    );
    expectNoSecret(error.message, SECRETS);
  });
});
