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
 * The stack's DNS server is the authoritative nameserver the propagation check asks (the zones' own
 * nameserver names do not resolve here): `route53.propagation.resolvers` from the stack's environment
 * (CERTKEEPER_TEST_DNS_RESOLVER), unless the fields set propagation themselves.
 */
export function writeConfigFile(path: string, directoryUrl: string, fields: ConfigFields): string {
  const { acme, ...rest } = fields;
  const config = { acme: { directoryUrl, email: 'ops@example.com', termsOfServiceAgreed: true, ...acme }, aws: { region: 'us-east-1' }, ...rest };
  writeFileSync(
    path,
    `const config = ${JSON.stringify(config, null, 2)};\n` +
      `const dns = process.env.CERTKEEPER_TEST_DNS_RESOLVER;\n` +
      `export default dns ? { ...config, route53: { ...config.route53, propagation: { resolvers: [dns], ...config.route53?.propagation } } } : config;\n`,
  );
  return path;
}
