import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJiti } from 'jiti';
import type { z } from 'zod';
import { configSchema, type ResolvedConfig } from './schema.js';

/** A config that cannot be used: the CLI reports `message` (and the file) and exits 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';

  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
  }
}

export const DEFAULT_CONFIG_PATH = './renewal.config.ts';

/** A config module that has not finished loading by then never will (e.g. a top-level await that never settles). */
export const CONFIG_LOAD_TIMEOUT_MS = 10_000;

/**
 * Loads renewal.config.ts (or .js/.mjs) with jiti, so TypeScript configs work on Node 20 without a
 * build step. `import { defineConfig } from 'certkeeper'` in the config resolves to this very package,
 * even when the config lives outside any project that has certkeeper installed.
 */
export async function loadConfig(path: string = DEFAULT_CONFIG_PATH): Promise<ResolvedConfig> {
  const configPath = resolve(path);
  if (!existsSync(configPath)) {
    throw new ConfigError(`config file not found: ${path}\n  create one (see renewal.config.ts in the certkeeper repository) or pass --config FILE`, configPath);
  }
  const selfEntry = fileURLToPath(new URL('../index.js', import.meta.url));
  const jiti = createJiti(import.meta.url, { moduleCache: false, alias: { certkeeper: selfEntry } });
  let raw: unknown;
  let timer: NodeJS.Timeout | undefined;
  // The timer also keeps the process alive: a load that never settles ends in this error, not in a silent exit.
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ConfigError(
            `cannot load ${path}: it did not finish loading within ${CONFIG_LOAD_TIMEOUT_MS / 1000} s (a top-level await that never settles?); the config must export its object without waiting on anything that may hang`,
            configPath,
          ),
        ),
      CONFIG_LOAD_TIMEOUT_MS,
    );
  });
  try {
    raw = await Promise.race([jiti.import(configPath, { default: true }), timeout]);
  } catch (error) {
    throw error instanceof ConfigError ? error : new ConfigError(`cannot load ${path}: ${firstLine(error)}`, configPath);
  } finally {
    clearTimeout(timer);
  }
  return validateConfig(raw, configPath);
}

/** Validates a config object; relative `stateDir` and `acme.caCertificates` are taken from the config's folder. */
export function validateConfig(raw: unknown, configPath: string): ResolvedConfig {
  const result = configSchema.safeParse(raw, { error: describeIssue });
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  - ${formatPath(issue.path)}: ${issue.message}`);
    throw new ConfigError(`invalid config ${configPath}:\n${lines.join('\n')}`, configPath);
  }
  const base = dirname(configPath);
  const config = result.data;
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(base, path));
  return {
    ...config,
    stateDir: absolute(config.stateDir),
    acme: { ...config.acme, caCertificates: config.acme.caCertificates && absolute(config.acme.caCertificates) },
    configPath,
  };
}

/** Uniform wording for the issues the schema does not word itself. */
function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return `is required (expected ${expectedName(issue.expected)})`;
    return `expected ${expectedName(issue.expected)}, got ${describeValue(issue.input)}`;
  }
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(issue);
    return issue.keys
      .map((key) => {
        const suggestion = known.length ? closest(key, known) : undefined;
        return `unknown key "${key}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}${known.length ? `; expected one of: ${known.join(', ')}` : ''}`;
      })
      .join('; ');
  }
  if (issue.code === 'invalid_value' && 'values' in issue && Array.isArray(issue.values)) {
    return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(issue.input)}`;
  }
  return undefined;
}

function knownKeysAt(issue: z.core.$ZodRawIssue): string[] {
  const inst = issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined;
  const shape = inst?._zod?.def?.shape;
  return shape ? Object.keys(shape) : [];
}

function expectedName(expected: string): string {
  return { array: 'a list', object: 'an object', string: 'a string', number: 'a number', boolean: 'true or false' }[expected] ?? expected;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `"${value.length > 60 ? `${value.slice(0, 60)}…` : value}"`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** `certificates[0].acm[1].region`: the path a user finds in the file. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}
