import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../src/config/load.js';

const CONFIG_PATH = '/etc/certkeeper/renewal.config.ts';

function withTelemetry(extra: Record<string, unknown>) {
  return {
    acme: { directoryUrl: 'https://acme.example.net/directory', email: 'ops@example.com', termsOfServiceAgreed: true },
    aws: { region: 'us-east-1' },
    certificates: [{ name: 'api', domains: ['api.example.com'], acm: [{ region: 'us-east-1' }] }],
    ...extra,
  };
}

function errorFor(extra: Record<string, unknown>): string {
  try {
    validateConfig(withTelemetry(extra), CONFIG_PATH);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('notifications and metrics config', () => {
  it('accepts an SNS topic, a webhook and a metrics port, with onSuccess off by default', () => {
    const config = validateConfig(
      withTelemetry({
        notifications: { snsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:certkeeper-alerts', webhookUrl: 'https://hooks.example.net/services/T/B/X' },
        metrics: { port: 9464, host: '127.0.0.1' },
      }),
      CONFIG_PATH,
    );
    expect(config.notifications).toEqual({
      snsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:certkeeper-alerts',
      webhookUrl: 'https://hooks.example.net/services/T/B/X',
      onSuccess: false,
    });
    expect(config.metrics).toEqual({ port: 9464, host: '127.0.0.1' });
    expect(validateConfig(withTelemetry({}), CONFIG_PATH).notifications).toBeUndefined();
  });

  it('names the key and the fix for bad values', () => {
    expect(errorFor({ notifications: { snsTopicArn: 'certkeeper-alerts' } })).toContain(
      'notifications.snsTopicArn: "certkeeper-alerts" is not valid; expected an SNS topic ARN such as "arn:aws:sns:us-east-1:123456789012:certkeeper"',
    );
    const badHook = errorFor({ notifications: { webhookUrl: 'ftp://hooks.example.net/T0/B0/secret-path' } });
    expect(badHook).toContain('notifications.webhookUrl: is not valid (value not shown: it may hold a secret); expected an http(s) URL');
    expect(badHook).not.toContain('secret-path');
    expect(errorFor({ notifications: { onSucess: true } })).toContain('notifications: unknown key "onSucess" (did you mean "onSuccess"?)');
    expect(errorFor({ metrics: { port: 70_000 } })).toContain('metrics.port: 70000 is not valid; expected a TCP port from 1 to 65535');
  });
});
