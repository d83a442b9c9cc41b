import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The import arrows of src/ run one way (issue 14's "done when"):
 *   cli → agent → {policy, acme, dns, targets, observe, preflight} → {ports, store, telemetry, aws, pki, config, util}
 * A file may import its own folder and any lower floor; siblings on one floor may import each other, but
 * folders never in a circle, and files never in a circle (type-only imports count: they tie the files too).
 * Each failure prints every violation, so one run lists all there is to mend.
 */

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Floors, top first. `(root)` is src/index.ts, the package's entry: it stands with cli. */
const FLOORS: string[][] = [
  ['(root)', 'cli'],
  ['agent'],
  ['policy', 'acme', 'dns', 'targets', 'observe', 'preflight'],
  ['ports', 'store', 'telemetry', 'aws', 'pki', 'config', 'util'],
];

/** Imports ruled out even though the floors would allow them. */
const FORBIDDEN: { from: string; to: string; why: string }[] = [
  { from: 'acme', to: 'dns', why: 'the issuer speaks to a ChallengeSolver, never to a DNS provider' },
  { from: 'acme', to: 'targets', why: 'issuing knows nothing of where a certificate goes' },
];

type Graph = Map<string, string[]>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((entry) => entry.endsWith('.ts'))
    .map((entry) => entry.split(sep).join('/'))
    .sort();
}

/** File (relative to src/, posix) → the src/ files it imports: static, type-only, re-exports and import(). */
function importGraph(): Graph {
  const graph: Graph = new Map();
  for (const file of sourceFiles(SRC)) {
    const info = ts.preProcessFile(readFileSync(join(SRC, file), 'utf8'), true, true);
    const targets = info.importedFiles
      .map((imported) => imported.fileName)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => posix.normalize(posix.join(posix.dirname(file), specifier)).replace(/\.js$/, '.ts'));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

function folderOf(file: string): string {
  return file.includes('/') ? file.slice(0, file.indexOf('/')) : '(root)';
}

function floorOf(folder: string): number {
  const floor = FLOORS.findIndex((folders) => folders.includes(folder));
  if (floor < 0) throw new Error(`src/${folder}/ is on no floor of the drawing: add it to FLOORS in ${relative(process.cwd(), fileURLToPath(import.meta.url))}`);
  return floor;
}

/** Every circle, one per strongly connected component (Tarjan), each drawn as a closed path. */
function circles(graph: Graph): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string) => {
    indexOf.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indexOf.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, indexOf.get(next)!));
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) components.push(component);
    }
  };
  for (const node of [...graph.keys()].sort()) if (!indexOf.has(node)) visit(node);
  return components.map((component) => pathThrough(graph, new Set(component)));
}

/** A shortest circle through the component's first member (breadth-first, staying inside the component). */
function pathThrough(graph: Graph, component: Set<string>): string[] {
  const start = [...component].sort()[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of graph.get(node) ?? []) {
      if (!component.has(next)) continue;
      if (next === start) {
        const path = [start];
        for (let at: string | undefined = node; at !== start && at !== undefined; at = cameFrom.get(at)) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, node);
        queue.push(next);
      }
    }
  }
  return [...component];
}

function edges(graph: Graph): { from: string; to: string }[] {
  return [...graph].flatMap(([from, targets]) => targets.map((to) => ({ from, to })));
}

/** Fails with every violation listed (the assertion message is the list), and prints it too. */
function expectNone(what: string, violations: string[]): void {
  if (violations.length > 0) console.error(`${what}:\n  ${violations.join('\n  ')}`);
  expect(violations, what).toEqual([]);
}

describe('the import graph of src/', () => {
  const graph = importGraph();

  it('resolves every relative import to a file of src/', () => {
    expectNone(
      'imports of files that do not exist',
      edges(graph)
        .filter(({ to }) => !graph.has(to))
        .map(({ from, to }) => `${from} → ${to}`),
    );
  });

  it('has no circle between files', () => {
    expectNone(
      'circles between files',
      circles(graph).map((circle) => circle.join(' → ')),
    );
  });

  it('has no circle between folders', () => {
    const folders: Graph = new Map();
    for (const { from, to } of edges(graph)) {
      const [a, b] = [folderOf(from), folderOf(to)];
      if (!folders.has(a)) folders.set(a, []);
      if (a !== b && !folders.get(a)!.includes(b)) folders.get(a)!.push(b);
    }
    const detail = (a: string, b: string) =>
      edges(graph)
        .filter(({ from, to }) => folderOf(from) === a && folderOf(to) === b)
        .map(({ from, to }) => `${from} → ${to}`)
        .join(', ');
    expectNone(
      'circles between folders',
      circles(folders).map(
        (circle) =>
          `${circle.join(' → ')}  (${circle
            .slice(1)
            .map((to, i) => detail(circle[i]!, to))
            .join('; ')})`,
      ),
    );
  });

  it('imports only downwards: cli → agent → {policy, acme, dns, targets, observe, preflight} → {ports, store, telemetry, aws, pki, config, util}', () => {
    expectNone(
      'imports of a higher floor',
      edges(graph)
        .filter(({ from, to }) => floorOf(folderOf(to)) < floorOf(folderOf(from)))
        .map(({ from, to }) => `${from} → ${to}`),
    );
  });

  it('imports nothing from cli/ outside cli/', () => {
    expectNone(
      'imports of cli/',
      edges(graph)
        .filter(({ from, to }) => folderOf(to) === 'cli' && folderOf(from) !== 'cli' && folderOf(from) !== '(root)')
        .map(({ from, to }) => `${from} → ${to}`),
    );
  });

  it('keeps acme/ away from dns/ and targets/', () => {
    expectNone(
      'forbidden imports',
      edges(graph).flatMap(({ from, to }) => FORBIDDEN.filter((rule) => folderOf(from) === rule.from && folderOf(to) === rule.to).map((rule) => `${from} → ${to} (${rule.why})`)),
    );
  });

  it('keeps agent/ off AWS: no import of aws/ nor of an AWS SDK client', () => {
    const sdk = [...graph.keys()]
      .filter((file) => folderOf(file) === 'agent')
      .flatMap((file) =>
        ts
          .preProcessFile(readFileSync(join(SRC, file), 'utf8'), true, true)
          .importedFiles.filter((imported) => imported.fileName.startsWith('@aws-sdk/'))
          .map((imported) => `${file} → ${imported.fileName}`),
      );
    expectNone('agent/ imports of AWS', [
      ...edges(graph)
        .filter(({ from, to }) => folderOf(from) === 'agent' && folderOf(to) === 'aws')
        .map(({ from, to }) => `${from} → ${to}`),
      ...sdk,
    ]);
  });

  it('validates a config without an AWS SDK or a scheduler: config/ imports neither', () => {
    const heavy = [...graph.keys()]
      .filter((file) => folderOf(file) === 'config')
      .flatMap((file) =>
        ts
          .preProcessFile(readFileSync(join(SRC, file), 'utf8'), true, true)
          .importedFiles.filter((imported) => imported.fileName.startsWith('@aws-sdk/') || imported.fileName === 'node-schedule')
          .map((imported) => `${file} → ${imported.fileName}`),
      );
    expectNone('config/ imports of an AWS SDK or node-schedule', heavy);
  });

  it('puts every folder of src/ on a floor', () => {
    for (const file of graph.keys()) expect(() => floorOf(folderOf(file))).not.toThrow();
  });

  it('finds the imports it checks (the parser sees this tree)', () => {
    expect(graph.get('cli/bin.ts')).toContain('cli/main.ts');
    expect(edges(graph).length).toBeGreaterThan(200);
  });
});
