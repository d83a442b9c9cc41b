import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

/**
 * Issue 13, item 3: loading a config writes no copy of it, nor of its transpiled form, nor of what it
 * imports, anywhere; so none can be read there, nor changed to run code on the next load. jiti's cache
 * goes to $TMPDIR/jiti, or to node_modules/.cache/jiti next to the config when that folder exists: both
 * kinds of config are loaded here, through the real CLI, and every file those places hold is read.
 */

const scratch = mkdtempSync(join(tmpdir(), 'certkeeper-no-trace-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Fresh each run: a leftover of an earlier run cannot pass for this one's.
const hmacKey = randomBytes(24).toString('base64url');
const webhookToken = `hook-${randomBytes(12).toString('hex')}`;
const secrets = [hmacKey, webhookToken];

/** A config that takes its secrets from a module of its own, as users keep them apart. */
function writeProject(dir: string): { config: string; written: string[] } {
  mkdirSync(dir, { recursive: true });
  const secretsModule = join(dir, 'secrets.ts');
  const config = join(dir, 'renewal.config.ts');
  writeFileSync(secretsModule, `export const hmacKey: string = '${hmacKey}';\nexport const webhookUrl: string = 'https://hooks.slack.test/services/${webhookToken}';\n`);
  writeFileSync(
    config,
    `import { defineConfig } from 'certkeeper';\nimport { hmacKey, webhookUrl } from './secrets.ts';\n\n` +
      `export default defineConfig(${JSON.stringify({
        acme: { directoryUrl: 'https://127.0.0.1:9/dir', email: 'ops@example.com', termsOfServiceAgreed: true, eab: { kid: 'kid-1', hmacKey: '@HMAC@' } },
        stateDir: join(dir, 'state'),
        aws: { region: 'us-east-1' },
        notifications: { webhookUrl: '@WEBHOOK@' },
        certificates: [{ name: 'api', domains: ['api.example.com'], route53: { hostedZoneId: 'Z0123456789ABC' }, acm: [{ region: 'us-east-1' }] }],
      })
        .replace('"@HMAC@"', 'hmacKey')
        .replace('"@WEBHOOK@"', 'webhookUrl')});\n`,
  );
  return { config, written: [secretsModule, config] };
}

function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((entry) => filesUnder(join(path, entry)));
}

/** Files that hold a secret, among those under `places` and not written by the test itself. */
function traces(places: string[], ours: string[]): string[] {
  return places
    .flatMap(filesUnder)
    .filter((file) => !ours.includes(file))
    .filter((file) => {
      const text = readFileSync(file, 'latin1');
      return secrets.some((secret) => text.includes(secret));
    });
}

describe('loading a config leaves nothing behind', () => {
  it('no file anywhere jiti would cache to holds a secret of the config or of what it imports, before or after', async () => {
    const tmp = join(scratch, 'tmp');
    mkdirSync(tmp);
    const plain = writeProject(join(scratch, 'plain'));
    const project = writeProject(join(scratch, 'project'));
    mkdirSync(join(scratch, 'project', 'node_modules'));
    // Where jiti caches: $TMPDIR/jiti (and jiti-esm), the shared /tmp ones, and each config's folder.
    const places = [tmp, '/tmp/jiti', '/tmp/jiti-esm', join(scratch, 'plain'), join(scratch, 'project')];
    const ours = [...plain.written, ...project.written];
    expect(traces(places, ours)).toEqual([]);

    // Twice each: a second load is where a trusted cache would be read back. JITI_FS_CACHE cannot turn it on again.
    for (let round = 0; round < 2; round++) {
      const runs = await Promise.all(
        [plain.config, project.config].map((config) => runCli(['iam-policy', '--offline', '--config', config], { TMPDIR: tmp, JITI_FS_CACHE: 'true' })),
      );
      for (const run of runs) {
        expect(run.code, run.stderr).toBe(0);
        // Loaded for real: the policy names the zone from the config.
        expect(run.stdout).toContain('hostedzone/Z0123456789ABC');
      }
    }
    expect(traces(places, ours)).toEqual([]);
    expect(filesUnder(tmp)).toEqual([]);
    expect(filesUnder(join(scratch, 'project', 'node_modules'))).toEqual([]);
  }, 60_000);
});
