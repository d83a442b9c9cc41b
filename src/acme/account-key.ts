import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, ParameterAlreadyExists, ParameterNotFound, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { ResolvedConfig } from '../config/schema.js';
import { secretsManagerClient } from '../aws/secrets-manager-client.js';
import { ssmClient } from '../aws/ssm-client.js';
import { describeError } from '../telemetry/logger.js';

/** Where the ACME account key lives, for the audit log (never the key itself). */
export type KeyLocation = { secretsManager: string } | { ssm: string };

/**
 * The account key (PEM) in Secrets Manager or SSM, created there once: when two agents race to
 * create it, the second's conditional create fails and it reads the one the first stored, so
 * both end with one key. The key never appears in a log line or an error message.
 */
export interface RemoteAccountKey {
  location: KeyLocation;
  /** The stored key, or the one `create` made and stored; `created` says which. */
  loadOrCreate(create: () => Promise<string>): Promise<{ pem: string; created: boolean }>;
  close(): void;
}

export function remoteAccountKey(config: ResolvedConfig): RemoteAccountKey | undefined {
  const setting = config.acme.accountKey;
  if (setting?.secretsManager)
    return new SecretsManagerAccountKey(setting.secretsManager.secretId, setting.secretsManager.region ?? config.aws.region, config.aws.requestTimeoutSeconds);
  if (setting?.ssm) return new SsmAccountKey(setting.ssm.parameterName, setting.ssm.region ?? config.aws.region, config.aws.requestTimeoutSeconds);
  return undefined;
}

// Same token for every agent: a second PutSecretValue of the first version with another key is refused.
const FIRST_VERSION_TOKEN = 'certkeeper-acme-account-key-first-version';

class SecretsManagerAccountKey implements RemoteAccountKey {
  readonly location: KeyLocation;
  private readonly client: SecretsManagerClient;

  constructor(
    private readonly secretId: string,
    region: string,
    requestTimeoutSeconds?: number,
  ) {
    this.location = { secretsManager: secretId };
    this.client = secretsManagerClient(region, requestTimeoutSeconds);
  }

  async loadOrCreate(create: () => Promise<string>): Promise<{ pem: string; created: boolean }> {
    const existing = await this.read();
    if (existing) return { pem: existing, created: false };
    const pem = await create();
    try {
      await this.client.send(
        new CreateSecretCommand({ Name: this.secretId, SecretString: pem, ClientRequestToken: FIRST_VERSION_TOKEN, Description: 'certkeeper: ACME account key (PEM)' }),
      );
      return { pem, created: true };
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw this.failure('create', error);
    }
    // It exists: another agent created it meanwhile, or it was made empty beforehand (e.g. by a template).
    const raced = await this.read();
    if (raced) return { pem: raced, created: false };
    try {
      await this.client.send(new PutSecretValueCommand({ SecretId: this.secretId, SecretString: pem, ClientRequestToken: FIRST_VERSION_TOKEN }));
      return { pem, created: true };
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw this.failure('store a value in', error);
    }
    const stored = await this.read();
    if (!stored) throw new Error(`acme.accountKey.secretsManager.secretId "${this.secretId}": the secret has no value after storing one`);
    return { pem: stored, created: false };
  }

  close(): void {
    this.client.destroy();
  }

  private async read(): Promise<string | undefined> {
    let value: string | undefined;
    try {
      value = (await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }))).SecretString;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw this.failure('read', error);
    }
    if (!value) return undefined;
    if (!value.includes('PRIVATE KEY')) {
      throw new Error(
        `acme.accountKey.secretsManager.secretId "${this.secretId}" holds something other than a PEM private key; point it at a new secret or store the PEM key there`,
      );
    }
    return value;
  }

  private failure(what: string, error: unknown): Error {
    return new Error(`acme.accountKey.secretsManager.secretId "${this.secretId}": cannot ${what} the secret: ${describeError(error)}`, { cause: error });
  }
}

class SsmAccountKey implements RemoteAccountKey {
  readonly location: KeyLocation;
  private readonly client: SSMClient;

  constructor(
    private readonly name: string,
    region: string,
    requestTimeoutSeconds?: number,
  ) {
    this.location = { ssm: name };
    this.client = ssmClient(region, requestTimeoutSeconds);
  }

  async loadOrCreate(create: () => Promise<string>): Promise<{ pem: string; created: boolean }> {
    const existing = await this.read();
    if (existing) return { pem: existing, created: false };
    const pem = await create();
    try {
      // Overwrite: false is the conditional create: a second agent gets ParameterAlreadyExists.
      await this.client.send(new PutParameterCommand({ Name: this.name, Value: pem, Type: 'SecureString', Overwrite: false, Description: 'certkeeper: ACME account key (PEM)' }));
      return { pem, created: true };
    } catch (error) {
      if (!(error instanceof ParameterAlreadyExists)) throw this.failure('create', error);
    }
    const stored = await this.read();
    if (!stored) throw new Error(`acme.accountKey.ssm.parameterName "${this.name}": the parameter exists but cannot be read`);
    return { pem: stored, created: false };
  }

  close(): void {
    this.client.destroy();
  }

  private async read(): Promise<string | undefined> {
    let parameter;
    try {
      parameter = (await this.client.send(new GetParameterCommand({ Name: this.name, WithDecryption: true }))).Parameter;
    } catch (error) {
      if (error instanceof ParameterNotFound) return undefined;
      throw this.failure('read', error);
    }
    if (parameter?.Type !== 'SecureString') {
      throw new Error(
        `acme.accountKey.ssm.parameterName "${this.name}" is a ${parameter?.Type ?? 'parameter of unknown type'}, not a SecureString: a private key must be encrypted; delete it and let certkeeper create it`,
      );
    }
    return parameter.Value || undefined;
  }

  private failure(what: string, error: unknown): Error {
    return new Error(`acme.accountKey.ssm.parameterName "${this.name}": cannot ${what} the parameter: ${describeError(error)}`, { cause: error });
  }
}
