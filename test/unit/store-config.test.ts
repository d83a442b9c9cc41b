import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../src/config/load.js';

const PATH = '/etc/certkeeper/renewal.config.ts';

function config(extra: Record<string, unknown> = {}, accountKey?: unknown): any {
  return {
    acme: { directoryUrl: 'https://acme.example.net/directory', email: 'ops@example.com', termsOfServiceAgreed: true, ...(accountKey !== undefined && { accountKey }) },
    aws: { region: 'eu-west-1' },
    certificates: [{ name: 'api', domains: ['api.example.com'], acm: [{ region: 'eu-west-1' }] }],
    ...extra,
  };
}

function problems(value: unknown): string[] {
  try {
    validateConfig(value, PATH);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message.split('\n').slice(1);
  }
  throw new Error('the config was accepted');
}

describe('config: store and acme.accountKey', () => {
  it('defaults to the file store and the account key in stateDir', () => {
    const resolved = validateConfig(config(), PATH);
    expect(resolved.store).toEqual({ type: 'file' });
    expect(resolved.acme.accountKey).toBeUndefined();
  });

  it('accepts the DynamoDB store and a key in Secrets Manager or SSM', () => {
    expect(validateConfig(config({ store: { type: 'dynamodb', tableName: 'certkeeper', region: 'us-east-1' } }), PATH).store).toEqual({
      type: 'dynamodb',
      tableName: 'certkeeper',
      region: 'us-east-1',
    });
    expect(validateConfig(config({}, { secretsManager: { secretId: 'certkeeper/acme' } }), PATH).acme.accountKey).toEqual({ secretsManager: { secretId: 'certkeeper/acme' } });
    expect(validateConfig(config({}, { ssm: { parameterName: '/certkeeper/acme', region: 'us-east-1' } }), PATH).acme.accountKey).toEqual({
      ssm: { parameterName: '/certkeeper/acme', region: 'us-east-1' },
    });
  });

  it.each([
    [{ store: { type: 'dynamo' } }, 'store.type: expected { type: "file" } (the default) or { type: "dynamodb", tableName: "certkeeper" }'],
    [{ store: { type: 'dynamodb' } }, 'store.tableName: is required; expected a DynamoDB table name (3-255 letters, digits, "_", "-", "."), such as "certkeeper"'],
    [
      { store: { type: 'dynamodb', tableName: 'x' } },
      'store.tableName: "x" is not valid; expected a DynamoDB table name (3-255 letters, digits, "_", "-", "."), such as "certkeeper"',
    ],
    [
      { store: { type: 'dynamodb', tableName: 'certkeeper', region: 'mars-1' } },
      'store.region: "mars-1" is not an AWS region known to certkeeper; expected a region code such as "us-east-1" or "eu-west-1"',
    ],
    [{ store: { type: 'file', tableName: 'certkeeper' } }, 'store: unknown key "tableName"; expected one of: type'],
  ])('store %j', (extra, message) => {
    expect(problems(config(extra))).toEqual([`  - ${message}`]);
  });

  it.each([
    [{}, 'acme.accountKey: expected exactly one of { secretsManager: { secretId } } or { ssm: { parameterName } }; leave accountKey out to keep the key in stateDir'],
    [
      { secretsManager: { secretId: 'a' }, ssm: { parameterName: '/a' } },
      'acme.accountKey: expected exactly one of { secretsManager: { secretId } } or { ssm: { parameterName } }; leave accountKey out to keep the key in stateDir',
    ],
    [
      { secretsManager: { secretId: '' } },
      'acme.accountKey.secretsManager.secretId: is empty; expected the name (or ARN) of the secret holding the ACME account key, such as "certkeeper/acme-account-key"',
    ],
    [{ ssm: { parameterName: 'bad name!' } }, 'acme.accountKey.ssm.parameterName: "bad name!" is not valid; expected an SSM parameter name such as "/certkeeper/acme-account-key"'],
  ])('acme.accountKey %j', (accountKey, message) => {
    expect(problems(config({}, accountKey))).toEqual([`  - ${message}`]);
  });
});
