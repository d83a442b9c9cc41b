import { writeFileSync } from 'node:fs';

export interface ConfigFields {
  stateDir: string;
  certificates: unknown[];
  /** Merged over the test defaults (directory, contact, terms agreed). */
  acme?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * Writes a config for the local stack as a plain `export default { … }` with no import: the simplest
 * form a user can write, and the one the tests exercise (`renewal.config.ts` covers defineConfig).
 */
export function writeConfigFile(path: string, directoryUrl: string, fields: ConfigFields): string {
  const { acme, ...rest } = fields;
  const config = { acme: { directoryUrl, email: 'ops@example.com', termsOfServiceAgreed: true, ...acme }, aws: { region: 'us-east-1' }, ...rest };
  writeFileSync(path, `export default ${JSON.stringify(config, null, 2)};\n`);
  return path;
}
