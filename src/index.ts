/**
 * certkeeper's public API: `defineConfig` and the config types, for `renewal.config.ts`.
 */
import type { CertkeeperConfig } from './config/schema.js';

export type { CertkeeperConfig, ResolvedConfig, CertificateSpec, AcmTargetSpec, ListenerSpec, KeyType } from './config/schema.js';

/** Identity function that gives a config file types and autocompletion (as vite's defineConfig does). */
export function defineConfig(config: CertkeeperConfig): CertkeeperConfig {
  return config;
}
