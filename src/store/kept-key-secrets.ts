import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DeleteParameterCommand, GetParameterCommand, ParameterNotFound, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { ResolvedConfig } from '../config/schema.js';
import { secretsManagerClient } from '../aws/secrets-manager-client.js';
import { ssmClient } from '../aws/ssm-client.js';
import { describeError } from '../telemetry/logger.js';

/**
 * The private key of a kept issued certificate (see issued-certificates.ts) where the config keeps the ACME
 * account key, when that is Secrets Manager or SSM: next to it, `ACCOUNT_KEY_NAME/issued/CERTIFICATE`, so agents
 * without a shared disk deploy what another issued, and the key is never in DynamoDB. Deleted once deployed.
 */
export interface KeptKeySecrets {
  /** Where a certificate's kept key is, for people (never the key). */
  where(certificate: string): string;
  put(certificate: string, pem: string): Promise<void>;
  get(certificate: string): Promise<string | undefined>;
  delete(certificate: string): Promise<void>;
}

export function keptKeySecrets(config: ResolvedConfig): KeptKeySecrets | undefined {
  const setting = config.acme.accountKey;
  const timeout = config.aws.requestTimeoutSeconds;
  if (setting?.secretsManager) return new SecretsManagerKeptKeys(secretName(setting.secretsManager.secretId), setting.secretsManager.region ?? config.aws.region, timeout);
  // A hierarchical SSM name begins with a slash.
  if (setting?.ssm) return new SsmKeptKeys(setting.ssm.parameterName.replace(/^\/?/, '/'), setting.ssm.region ?? config.aws.region, timeout);
  return undefined;
}

/** A secret's name, also when the config gives its ARN (`…:secret:NAME-AbCdEf`). */
function secretName(secretId: string): string {
  return secretId.startsWith('arn:') ? secretId.slice(secretId.indexOf(':secret:') + ':secret:'.length).replace(/-[A-Za-z0-9]{6}$/, '') : secretId;
}

class SecretsManagerKeptKeys implements KeptKeySecrets {
  private readonly client: SecretsManagerClient;

  constructor(
    private readonly base: string,
    region: string,
    requestTimeoutSeconds?: number,
  ) {
    this.client = secretsManagerClient(region, requestTimeoutSeconds);
  }

  where(certificate: string): string {
    return `Secrets Manager secret ${this.base}/issued/${certificate}`;
  }

  async put(certificate: string, pem: string): Promise<void> {
    const SecretId = `${this.base}/issued/${certificate}`;
    try {
      await this.client.send(
        new CreateSecretCommand({
          Name: SecretId,
          SecretString: pem,
          Description: `certkeeper: private key of ${certificate}, issued and not deployed yet (deleted once deployed)`,
        }),
      );
      return;
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw this.failure('create', certificate, error);
    }
    await this.client.send(new PutSecretValueCommand({ SecretId, SecretString: pem })).catch((error: unknown) => {
      throw this.failure('store a value in', certificate, error);
    });
  }

  async get(certificate: string): Promise<string | undefined> {
    try {
      return (await this.client.send(new GetSecretValueCommand({ SecretId: `${this.base}/issued/${certificate}` }))).SecretString || undefined;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw this.failure('read', certificate, error);
    }
  }

  async delete(certificate: string): Promise<void> {
    try {
      // No recovery window: a deleted key must be gone, not waiting 7 days.
      await this.client.send(new DeleteSecretCommand({ SecretId: `${this.base}/issued/${certificate}`, ForceDeleteWithoutRecovery: true }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw this.failure('delete', certificate, error);
    }
  }

  private failure(what: string, certificate: string, error: unknown): Error {
    return new Error(
      `cannot ${what} the secret ${this.base}/issued/${certificate} (the kept key of an issued certificate, next to acme.accountKey.secretsManager.secretId): ${describeError(error)}; allow secretsmanager:CreateSecret, PutSecretValue, GetSecretValue and DeleteSecret on ${this.base}/issued/* (certkeeper iam-policy)`,
      { cause: error },
    );
  }
}

class SsmKeptKeys implements KeptKeySecrets {
  private readonly client: SSMClient;

  constructor(
    private readonly base: string,
    region: string,
    requestTimeoutSeconds?: number,
  ) {
    this.client = ssmClient(region, requestTimeoutSeconds);
  }

  where(certificate: string): string {
    return `SSM parameter ${this.base}/issued/${certificate}`;
  }

  async put(certificate: string, pem: string): Promise<void> {
    await this.client
      .send(
        new PutParameterCommand({
          Name: `${this.base}/issued/${certificate}`,
          Value: pem,
          Type: 'SecureString',
          Overwrite: true,
          Description: `certkeeper: private key of ${certificate}, issued, not deployed yet`,
        }),
      )
      .catch((error: unknown) => {
        throw this.failure('store', certificate, error);
      });
  }

  async get(certificate: string): Promise<string | undefined> {
    try {
      const parameter = (await this.client.send(new GetParameterCommand({ Name: `${this.base}/issued/${certificate}`, WithDecryption: true }))).Parameter;
      // Only a SecureString is believed: a private key must be encrypted at rest.
      return parameter?.Type === 'SecureString' ? parameter.Value || undefined : undefined;
    } catch (error) {
      if (error instanceof ParameterNotFound) return undefined;
      throw this.failure('read', certificate, error);
    }
  }

  async delete(certificate: string): Promise<void> {
    try {
      await this.client.send(new DeleteParameterCommand({ Name: `${this.base}/issued/${certificate}` }));
    } catch (error) {
      if (!(error instanceof ParameterNotFound)) throw this.failure('delete', certificate, error);
    }
  }

  private failure(what: string, certificate: string, error: unknown): Error {
    return new Error(
      `cannot ${what} the SSM parameter ${this.base}/issued/${certificate} (the kept key of an issued certificate, next to acme.accountKey.ssm.parameterName): ${describeError(error)}; allow ssm:PutParameter, GetParameter and DeleteParameter on ${this.base}/issued/* (certkeeper iam-policy)`,
      { cause: error },
    );
  }
}
