import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The audit event catalog in docs/audit-events.md (its "Audit events" table) and the events the code emits must agree,
 * both ways. An event is emitted by a call such as `log.info('acm.imported', …)` (any receiver, any of
 * info/warn/error/debug, the name a string literal with at least one dot).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EMIT = /\.(?:info|warn|error|debug)\(\s*(['"`])([a-z0-9_]+(?:\.[a-z0-9_]+)+)\1/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Event name → the files that emit it. */
function emittedEvents(): Map<string, string[]> {
  const events = new Map<string, string[]>();
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    for (const match of readFileSync(file, 'utf8').matchAll(EMIT)) {
      const where = relative(ROOT, file);
      const files = events.get(match[2]!) ?? [];
      if (!files.includes(where)) files.push(where);
      events.set(match[2]!, files);
    }
  }
  return events;
}

/** The first column of the table under the first "Audit events" heading (the page's title) of docs/audit-events.md. */
function catalogEvents(page: string): string[] {
  const heading = /^#{1,3} Audit events$/m.exec(page);
  if (!heading) throw new Error('docs/audit-events.md has no "# Audit events" heading');
  const rest = page.slice(page.indexOf('\n', heading.index) + 1);
  const end = rest.search(/^#{1,3} /m);
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1]!);
}

describe('audit event catalog', () => {
  const emitted = emittedEvents();
  const catalog = catalogEvents(readFileSync(join(ROOT, 'docs', 'audit-events.md'), 'utf8'));

  it('finds the events (the scan itself works)', () => {
    expect(emitted.get('acm.imported')).toEqual(['src/targets/acm.ts']);
    expect(emitted.size).toBeGreaterThan(30);
    expect(catalog).toContain('renewal.failed');
  });

  it('lists every event the code emits in docs/audit-events.md', () => {
    const missing = [...emitted].filter(([name]) => !catalog.includes(name));
    expect(missing.map(([name, files]) => `event "${name}" is emitted in ${files.join(', ')} but missing from the "Audit events" table in docs/audit-events.md`)).toEqual([]);
  });

  it('lists no event that the code does not emit, and none twice', () => {
    const stale = catalog.filter((name) => !emitted.has(name));
    expect(stale.map((name) => `event "${name}" is in the "Audit events" table of docs/audit-events.md but nothing in src/ emits it`)).toEqual([]);
    const twice = catalog.filter((name, index) => catalog.indexOf(name) !== index);
    expect(twice.map((name) => `event "${name}" is listed more than once in docs/audit-events.md`)).toEqual([]);
  });
});
