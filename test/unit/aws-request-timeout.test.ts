import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteAccountKey } from '../../src/acme/account-key.js';
import { dynamoDbClient } from '../../src/aws/dynamodb-client.js';
import { snsClient } from '../../src/aws/sns-client.js';
import { validateConfig } from '../../src/config/load.js';
import { keptKeySecrets } from '../../src/store/kept-key-secrets.js';

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

/**
 * Every AWS client certkeeper makes gives up on an endpoint that never answers (issue 14: SNS had no timeout).
 * The endpoint accepts connections and never answers; a tenth of a second per attempt keeps retries quick.
 */
describe('every AWS client gives up on an endpoint that never answers', () => {
  const TIMEOUT_SECONDS = 0.1;
  let server: Server;
  const saved = { ...process.env };

  beforeAll(async () => {
    server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    });
  });

  afterAll(async () => {
    process.env = saved;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const withKeyIn = (accountKey: Record<string, unknown>) => {
    const config = base() as Record<string, unknown> & { aws: Record<string, unknown>; acme: Record<string, unknown> };
    config.aws.requestTimeoutSeconds = TIMEOUT_SECONDS;
    config.acme.accountKey = accountKey;
    return validateConfig(config, '/x/renewal.config.ts');
  };
  const timedOut = { name: 'TimeoutError' };

  it('SNS (notifications)', async () => {
    const client = snsClient('us-east-1', TIMEOUT_SECONDS);
    await expect(client.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:certkeeper', Message: '{}' }))).rejects.toMatchObject(timedOut);
    client.destroy();
  });

  it('DynamoDB (the state store)', async () => {
    const client = dynamoDbClient('us-east-1', TIMEOUT_SECONDS);
    await expect(client.send(new GetItemCommand({ TableName: 'certkeeper', Key: { pk: { S: 'x' } } }))).rejects.toMatchObject(timedOut);
    client.destroy();
  });

  it('Secrets Manager and SSM (the account key and the kept keys)', async () => {
    const create = () => Promise.resolve('not a key');
    for (const accountKey of [{ secretsManager: { secretId: 'certkeeper/acme-account-key' } }, { ssm: { parameterName: '/certkeeper/acme-account-key' } }]) {
      const config = withKeyIn(accountKey);
      const remote = remoteAccountKey(config)!;
      const kept = keptKeySecrets(config)!;
      const [account, keptKey] = await Promise.allSettled([remote.loadOrCreate(create), kept.get('api')]);
      remote.close();
      // Both say what they could not read, with the SDK's timeout as the cause.
      for (const outcome of [account, keptKey]) expect(outcome).toMatchObject({ status: 'rejected', reason: { cause: timedOut } });
    }
  });
});
