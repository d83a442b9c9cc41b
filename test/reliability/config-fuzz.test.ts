import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../src/config/load.js';
import { runCli } from './output-log.js';
import { EAB_HMAC_KEY, expectNoSecret, STANDARD_BASE64_HMAC_KEY, WEBHOOK_URL } from '../config-secrets.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

/**
 * Bad input: the config loader fuzzed with random and mutated configs. Whatever the input, the result is
 * a config or a ConfigError whose every line names a key path; never another exception, never a stack.
 */

const CONFIG_PATH = '/etc/certkeeper/renewal.config.ts';
const LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2';

function validConfig(): Record<string, any> {
  return {
    // Secrets that no error may quote, whatever the mutation (issue 13, item 4).
    acme: { directoryUrl: 'https://acme.example.net/directory', email: 'ops@example.com', termsOfServiceAgreed: true, eab: { kid: 'kid-1', hmacKey: EAB_HMAC_KEY } },
    aws: { region: 'us-east-1' },
    notifications: { webhookUrl: WEBHOOK_URL },
    schedule: { cron: '17 3,15 * * *', jitterSeconds: 300 },
    certificates: [
      {
        name: 'api',
        domains: ['api.example.com', '*.example.com'],
        keyType: 'ecdsa-p256',
        renewBefore: '30d',
        verify: [{ host: 'api.example.com', port: 443 }],
        acm: [{ region: 'us-east-1', listeners: [{ arn: LISTENER, mode: 'default' }] }],
      },
    ],
  };
}

// Domains a user might write, and the ones that must be refused clearly.
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
const oddDomain = fc.oneof(
  fc.tuple(label, label).map(([a, b]) => `${a}.${b}.example`),
  fc.constantFrom(
    '*.example.com',
    'a.*.example.com',
    '*example.com',
    '**.example.com',
    '*.*.example.com',
    'example.com.',
    '.example.com',
    'ex ample.com',
    '-bad.example.com',
    'bad-.example.com',
    'bücher.example',
    'xn--bcher-kva.example',
    'münchen.de',
    '例え.テスト',
    'UPPER.Example.COM',
    'a..b.example',
    '',
    ' ',
    'localhost',
    '127.0.0.1',
    '[::1]',
    'example',
  ),
  fc.integer({ min: 1, max: 5 }).map((n) => `${'a'.repeat(63)}.`.repeat(n) + 'example'),
  fc.constant(`${'x'.repeat(300)}.example.com`),
  fc.constant(`${'x'.repeat(64)}.example.com`),
  fc.string({ maxLength: 40 }),
);

// Any JSON-ish value, including the wrong types in the wrong places.
const junk = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 30 }),
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  oddDomain,
);

/** Every key path of an object tree, as arrays of keys. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return [prefix, ...value.flatMap((item, index) => paths(item, [...prefix, index]))];
  if (value && typeof value === 'object') return [prefix, ...Object.entries(value).flatMap(([key, item]) => paths(item, [...prefix, key]))];
  return [prefix];
}

type Mutation = { path: number; kind: 'set' | 'delete' | 'duplicate' | 'empty' | 'rename'; value: unknown };
const mutation = fc.record({ path: fc.nat(), kind: fc.constantFrom('set', 'delete', 'duplicate', 'empty', 'rename'), value: junk }) as fc.Arbitrary<Mutation>;

function mutate(config: Record<string, any>, change: Mutation): void {
  const all = paths(config).filter((path) => path.length > 0);
  const path = all[change.path % all.length]!;
  const parent = path.slice(0, -1).reduce<any>((node, key) => node[key], config);
  const key = path[path.length - 1]!;
  if (change.kind === 'set') parent[key] = change.value;
  if (change.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  }
  if (change.kind === 'duplicate' && Array.isArray(parent)) parent.push(structuredClone(parent[Number(key)]));
  if (change.kind === 'empty') parent[key] = Array.isArray(parent[key]) ? [] : typeof parent[key] === 'string' ? '' : {};
  if (change.kind === 'rename' && !Array.isArray(parent)) {
    parent[`${String(key)}s`] = parent[key];
    delete parent[key];
  }
}

/** The contract: a config, or a ConfigError every line of which names a key path; nothing else. */
function expectConfigOrClearError(raw: unknown): void {
  let error: unknown;
  try {
    validateConfig(raw, CONFIG_PATH);
    return;
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const [head, ...lines] = (error as ConfigError).message.split('\n');
  expect(head).toBe(`invalid config ${CONFIG_PATH}:`);
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(line).toMatch(/^ {2}- (\(top level\)|[A-Za-z_$][\w$]*(\[\d+\]|\.[^\s:.[\]]+)*): \S/);
  expect((error as Error).message).not.toMatch(/\n\s+at /);
  expectNoSecret((error as Error).message, SECRETS);
}

const SECRETS = [EAB_HMAC_KEY, WEBHOOK_URL, STANDARD_BASE64_HMAC_KEY];
// A secret, as is or mangled the ways a hand-edited config mangles it, and the secret fields it goes in.
const secret = fc.constantFrom(...SECRETS);
const mangledSecret = fc.oneof(
  secret,
  fc.tuple(secret, fc.string({ maxLength: 3 })).map(([value, extra]) => value + extra),
  fc.tuple(fc.string({ maxLength: 3 }), secret).map(([extra, value]) => extra + value),
  secret.map((value) => value.replace(/^https:/, 'ftp:').replace(/[+/]/, ' ')),
  secret.map((value) => [value]),
  secret.map((value) => ({ value })),
);
const secretSpot = fc.constantFrom(['acme', 'eab', 'hmacKey'], ['acme', 'eab'], ['notifications', 'webhookUrl'], ['notifications']);

describe('config loader fuzzing', () => {
  it('mutated configs (1 to 4 changes anywhere): a config or a ConfigError naming key paths', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (changes) => {
        const config = validConfig();
        for (const change of changes) mutate(config, change);
        expectConfigOrClearError(config);
      }),
      { numRuns: 2_000 },
    );
  });

  it('secret fields given mangled secrets, alone or with other mistakes: refused without quoting any secret', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(secretSpot, mangledSecret), { minLength: 1, maxLength: 3 }), fc.array(mutation, { maxLength: 2 }), (plants, changes) => {
        const config = validConfig();
        for (const [[...path], value] of plants) {
          const key = path.pop()!;
          const parent = path.reduce<any>((node, step) => (node[step] ??= {}), config);
          if (parent && typeof parent === 'object') parent[key] = value;
        }
        for (const change of changes) mutate(config, change);
        expectConfigOrClearError(config);
      }),
      { numRuns: 1_000 },
    );
  });

  it('odd domains, IDNs, 300-character names, duplicates, wildcard misuse: accepted or refused by path', () => {
    fc.assert(
      fc.property(fc.array(oddDomain, { minLength: 0, maxLength: 4 }), fc.boolean(), (domains, duplicate) => {
        const config = validConfig();
        config.certificates[0].domains = duplicate && domains.length ? [...domains, domains[0]] : domains;
        expectConfigOrClearError(config);
      }),
      { numRuns: 1_000 },
    );
  });

  it('duplicate certificate names and empty lists are refused by path', () => {
    const twice = validConfig();
    twice.certificates.push(structuredClone(twice.certificates[0]));
    expect(() => validateConfig(twice, CONFIG_PATH)).toThrow(/certificates\[1\]\.name: /);
    const none = validConfig();
    none.certificates[0].acm = [];
    expect(() => validateConfig(none, CONFIG_PATH)).toThrow(/certificates\[0\]\.acm: /);
    const noDomains = validConfig();
    noDomains.certificates[0].domains = [];
    expect(() => validateConfig(noDomains, CONFIG_PATH)).toThrow(/certificates\[0\]\.domains: /);
  });

  it('entirely random values: never anything but a ConfigError', () => {
    fc.assert(
      fc.property(fc.anything(), (raw) => expectConfigOrClearError(raw)),
      { numRuns: 500 },
    );
  });
});

describe('bad configs through the CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certkeeper-fuzz-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const samples: [string, (config: Record<string, any>) => void, RegExp][] = [
    ['a 300-character name', (c) => (c.certificates[0].domains = [`${'x'.repeat(300)}.example.com`]), /certificates\[0\]\.domains\[0\]: /],
    ['a wildcard in the middle', (c) => (c.certificates[0].domains = ['a.*.example.com']), /certificates\[0\]\.domains\[0\]: /],
    ['a number for the domains', (c) => (c.certificates[0].domains = 42), /certificates\[0\]\.domains: /],
    ['an empty certificate list', (c) => (c.certificates = []), /certificates: /],
    ['a listener ARN in the region field', (c) => (c.certificates[0].acm[0].region = LISTENER), /certificates\[0\]\.acm\[0\]\.region: /],
  ];
  it.each(samples)('%s: exit 2, the key path, no stack trace', async (label, change, path) => {
    const config = validConfig();
    change(config);
    const file = join(dir, `${label.replace(/\W+/g, '-')}.config.mjs`);
    writeFileSync(file, `export default ${JSON.stringify(config)};\n`);
    const run = await runCli(['status', '--config', file]);
    expect(run.code).toBe(2);
    // One JSON event (stderr is not a terminal here); its message names the key path.
    expect(run.events.map((event) => event.event)).toEqual(['config.error']);
    const message = String(run.events[0]!.error);
    expect(message).toMatch(path);
    expect(message).not.toMatch(/\n\s+at /);
    expectNoSecret(message, SECRETS);
    expect(run.stdout).toBe('');
  });
});
