import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';

/** The configs a new user copies (the README's minimal one, renewal.config.ts) load as they are, with no sandbox plumbing. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the configs a new user starts from', () => {
  it("the README's minimal config loads", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toContain('defineConfig');
    const file = join(mkdtempSync(join(tmpdir(), 'certkeeper-readme-')), 'renewal.config.ts');
    writeFileSync(file, block!);
    const config = await loadConfig(file);
    expect(config.certificates.map((c) => c.name)).toEqual(['web']);
    expect(config.certificates[0]!.acm[0]!.listeners).toHaveLength(1);
  });

  it('renewal.config.ts loads without any environment and carries no sandbox plumbing', async () => {
    const text = readFileSync(join(ROOT, 'renewal.config.ts'), 'utf8');
    expect(text).not.toMatch(/CERTKEEPER_|process\.env/);
    const config = await loadConfig(join(ROOT, 'renewal.config.ts'));
    expect(config.acme.directoryUrl).toBe('https://acme-staging-v02.api.letsencrypt.org/directory');
  });
});
