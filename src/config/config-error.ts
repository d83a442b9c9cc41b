/**
 * A config that cannot be used: the CLI reports `message` (and the file) and exits 2. In a file of its
 * own so that the CLI can recognise it without loading the config loader (zod, jiti) at start-up.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';

  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
  }
}

/** Where the config is looked for without `--config`. */
export const DEFAULT_CONFIG_PATH = './renewal.config.ts';
