import { createHash } from 'node:crypto';
import acme from 'acme-client';
import type { ResolvedConfig } from '../config/schema.js';
import { FileStore } from '../store/file-store.js';
import type { StateStore } from '../store/state-store.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import { expectCaAnswer } from './ca-answer-check.js';
import { collectCaProblems } from './ca-http.js';

/** With 60 % of nonces rejected, 20 retries leave one signed request in 40,000 failing (0.6^21). */
export const BAD_NONCE_RETRIES = 20;

interface StoredAccount {
  directoryUrl: string;
  email: string;
  accountUrl?: string;
  /** PEM, when the key lives in stateDir: only in this 0600 file, never in a log line. */
  accountKey?: string;
  createdAt: string;
}

/** The config keys an account's directory and EAB come from, as errors name them (a dry run's are the staging ones). */
export interface AccountSettingNames {
  directoryUrl: string;
  eab: string;
}

export const PRODUCTION_SETTING_NAMES: AccountSettingNames = { directoryUrl: 'acme.directoryUrl', eab: 'acme.eab' };

/**
 * The ACME account: one key per CA directory, created once and kept in the state directory, or in
 * Secrets Manager / SSM (acme.accountKey) so agents without a shared disk use one account.
 * Each run asks the CA for the account with `newAccount` (RFC 8555 §7.3.1 returns the existing one
 * for a known key), so a CA that forgot it (or a test CA restarted) gets it registered again; a running
 * agent does the same when a renewal finds the account forgotten (see `accountForgotten`).
 */
export async function openAccount(
  config: ResolvedConfig,
  store: StateStore,
  log: AuditLogger,
  /** Registering again because the CA answered that it does not know the account at this URL. */
  again?: { previousAccountUrl: string },
  settings: AccountSettingNames = PRODUCTION_SETTING_NAMES,
): Promise<acme.Client> {
  const hash = createHash('sha256').update(config.acme.directoryUrl).digest('hex').slice(0, 16);
  const createKey = async () => (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
  // Secrets Manager's or SSM's SDK loads only for a key kept there.
  const remote = config.acme.accountKey ? (await import('./account-key.js')).remoteAccountKey(config) : undefined;
  let stored: StoredAccount | undefined;
  let accountKey: string;
  // The account's URL and contact, kept next to the key (stateDir) or in the store (key elsewhere).
  let saveAccount: (account: StoredAccount) => Promise<void>;
  if (remote) {
    try {
      const key = await remote.loadOrCreate(createKey);
      accountKey = key.pem;
      if (key.created) log.info('acme.account.key_created', { directoryUrl: config.acme.directoryUrl, where: remote.location });
    } finally {
      remote.close();
    }
    stored = await store.get<StoredAccount>(`account#${hash}`);
    saveAccount = (account) => store.put<StoredAccount>(`account#${hash}`, account);
  } else {
    if (store.type !== 'file') {
      log.warn('acme.account.key_local', {
        stateDir: config.stateDir,
        why: 'the account key stays in stateDir while the store is shared: agents without a shared disk each register their own account; set acme.accountKey.secretsManager or acme.accountKey.ssm to share one',
      });
    }
    const files = new FileStore(config.stateDir);
    const path = `accounts/${hash}.json`;
    stored = files.read<StoredAccount>(path);
    if (!stored?.accountKey) {
      stored = { directoryUrl: config.acme.directoryUrl, email: config.acme.email, accountKey: await createKey(), createdAt: new Date().toISOString() };
      files.write(path, stored);
      log.info('acme.account.key_created', { directoryUrl: config.acme.directoryUrl, where: { stateDir: config.stateDir } });
    }
    accountKey = stored.accountKey!;
    saveAccount = async (account) => files.write(path, { ...account, accountKey });
  }
  expectCaAnswer(config.acme.directoryUrl, 'directory');
  const client = new acme.Client({
    directoryUrl: config.acme.directoryUrl,
    accountKey,
    // Poll challenge and order status from 1 s up (the library starts at 5 s): validation usually takes a second or two.
    backoffMin: 1_000,
    backoffMax: 10_000,
    backoffAttempts: 12,
    externalAccountBinding: config.acme.eab,
  });
  // acme-client retries a badNonce 5 times; a CA rejecting many nonces (after a restart, under load) fails
  // whole renewals that way. A retry costs one request and uses the fresh nonce of the error answer.
  (client as unknown as { http: { maxBadNonceRetries: number } }).http.maxBadNonceRetries = BAD_NONCE_RETRIES;
  await collectCaProblems(async (problems) => {
    try {
      await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${config.acme.email}`] });
    } catch (error) {
      if (problems.some((problem) => problem.type?.endsWith(':externalAccountRequired'))) {
        throw new Error(`the CA requires External Account Binding: set ${settings.eab} { kid, hmacKey } from the CA's account page (${describeError(error)})`, { cause: error });
      }
      throw new Error(`cannot register the ACME account: ${describeError(error)}`, { cause: error });
    }
  });
  const accountUrl = client.getAccountUrl();
  if (stored?.accountUrl !== accountUrl || stored?.email !== config.acme.email) {
    if (stored && stored.email !== config.acme.email) {
      await client.updateAccount({ contact: [`mailto:${config.acme.email}`] });
    }
    const { accountKey: _kept, ...metadata } = stored ?? { directoryUrl: config.acme.directoryUrl, createdAt: new Date().toISOString() };
    await saveAccount({ ...metadata, accountUrl, email: config.acme.email });
  }
  // Said also when the CA gave the same URL again: the renewals that found it forgotten are retried.
  if (again || stored?.accountUrl !== accountUrl) {
    log.info('acme.account.registered', { directoryUrl: config.acme.directoryUrl, accountUrl, previousAccountUrl: again?.previousAccountUrl ?? stored?.accountUrl ?? null });
  }
  return client;
}

/**
 * Whether the CA's answers say it does not know the account any more: `accountDoesNotExist` (it lost its
 * state, or the key was rotated elsewhere), or `unauthorized` about the account itself (deactivated: "Account
 * is not valid, has status \"deactivated\""; RFC 8555 has no type of its own for that, so the detail says it).
 */
export function accountForgotten(problems: { type?: string; detail?: string }[]): boolean {
  return problems.some(
    (problem) =>
      problem.type?.endsWith(':accountDoesNotExist') ||
      (problem.type?.endsWith(':unauthorized') && /\baccount\b.*\b(not valid|deactivated|revoked|not found|does not exist)/i.test(problem.detail ?? '')),
  );
}
