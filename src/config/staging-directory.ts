import type { ResolvedConfig } from './schema.js';

/**
 * The config `renew --dry-run` orders with: the same certificates, zones and targets, but the CA's staging
 * directory (`acme.stagingDirectoryUrl`) in place of `acme.directoryUrl`. Everything keyed by the directory
 * follows from that: the ACME account (one per directory: its own key file in stateDir, or, with
 * `acme.accountKey`, the same key registered as a separate account there). The production `eab` never goes to
 * another CA (its credentials are that CA's): staging gets `stagingEab` or none. No rate-limit guards: a dry
 * run records nothing in the ledger, and the staging CA's own refusals still end it.
 */
export function stagingConfig(config: ResolvedConfig): ResolvedConfig {
  const { eab: _production, stagingEab, ...acme } = config.acme;
  return {
    ...config,
    acme: { ...acme, directoryUrl: config.acme.stagingDirectoryUrl, ...(stagingEab && { eab: stagingEab }), stagingEab, rateLimits: 'none' },
  };
}

/** The keys a dry run's account errors name. */
export const STAGING_SETTING_NAMES = { directoryUrl: 'acme.stagingDirectoryUrl', eab: 'acme.stagingEab' };
