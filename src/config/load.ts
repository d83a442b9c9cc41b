import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJiti } from 'jiti';
import type { z } from 'zod';
import { unsafeConfigPathProblem } from './file-permissions.js';
import { formatPath } from './format-path.js';
import { toPlainData, UnreadableConfigError } from './plain-data.js';
import { redactSecrets, secretValues } from './redact.js';
import { configSchema, type ResolvedConfig } from './schema.js';
import { ConfigError, DEFAULT_CONFIG_PATH } from './config-error.js';

export { ConfigError, DEFAULT_CONFIG_PATH, formatPath };

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
    throw new ConfigError(`config file not found: ${path}\n  create one with "certkeeper init ${path}", or pass --config FILE`, configPath);
  }
  const unsafe = unsafeConfigPathProblem(configPath);
  if (unsafe) throw new ConfigError(`refusing to load ${path}: ${unsafe}`, configPath);
  const selfEntry = fileURLToPath(new URL('../index.js', import.meta.url));
  const jiti = createJiti(import.meta.url, {
    // The config holds secrets and is code: no transpiled copy of it (or of what it imports) is written
    // anywhere, and none is ever read back. Each set explicitly, since options win over JITI_* variables.
    fsCache: false,
    rebuildFsCache: false,
    moduleCache: false,
    sourceMaps: false,
    esmEvalTempFile: false,
    tryNative: false,
    debug: false,
    // The module itself, so a missing or null default export is told apart (interop would hide it).
    interopDefault: false,
    alias: { certkeeper: selfEntry },
  });
  let module: unknown;
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
    module = await Promise.race([jiti.import(configPath), timeout]);
  } catch (error) {
    throw error instanceof ConfigError ? error : new ConfigError(`cannot load ${path}${loadFailure(error, configPath)}`, configPath);
  } finally {
    clearTimeout(timer);
  }
  return validateConfig(defaultExport(module, path, configPath), configPath);
}

/** The config object: `export default {…}` (or a CommonJS `module.exports = {…}`), refused by what came otherwise. */
function defaultExport(module: unknown, path: string, configPath: string): unknown {
  const exports = module as { default?: unknown; __esModule?: boolean } | null;
  const hasDefault = Boolean(exports) && typeof exports === 'object' && 'default' in exports!;
  if (!hasDefault && !exports?.__esModule) return module;
  if (!hasDefault) {
    throw new ConfigError(`invalid config ${path}: it has no default export; expected export default defineConfig({...})`, configPath);
  }
  const value = exports.default;
  if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  const fix = typeof value === 'function' ? ' (the object itself, not a function that returns it)' : '';
  throw new ConfigError(`invalid config ${path}: the config's default export is ${describeKind(value)}; expected an object (defineConfig({...}))${fix}`, configPath);
}

/**
 * What went wrong while running the file, on one line: jiti reports a syntax error as the parser's
 * message, then the place on a line of its own (the config or a file it imports).
 */
function loadFailure(error: unknown, configPath: string): string {
  const text = error instanceof Error ? error.message : String(error);
  const located = /^([^\n]*?)\s*\n\s*(\S.*):(\d+):(\d+)\s*$/.exec(text);
  if (located) {
    const [, message, file, line, column] = located;
    // The parser counts columns from 0; editors and compilers from 1.
    return `${place(file!, configPath)}:${line}:${Number(column) + 1}: ${message!.trim()}`;
  }
  // An error thrown while the file runs: where, from the first frame in the user's own files.
  const frame = (error instanceof Error ? (error.stack ?? '') : '')
    .split('\n')
    .slice(1)
    .map((entry) => /\(?(\/[^()]*?):(\d+):(\d+)\)?$/.exec(entry.trim()))
    .find((match) => match && !match[1]!.includes('/node_modules/') && !match[1]!.startsWith(OWN_CODE));
  return frame ? `${place(frame[1]!, configPath)}:${frame[2]}:${frame[3]}: ${firstLine(error)}` : `: ${firstLine(error)}`;
}

// certkeeper's own compiled code (dist/ or src/ under vitest): frames there are not the user's.
const OWN_CODE = fileURLToPath(new URL('..', import.meta.url));

/** Nothing when the place is the config itself (its name is already there), else the imported file's. */
function place(file: string, configPath: string): string {
  return file === configPath ? '' : `: ${file}`;
}

function describeKind(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'function' ? 'a function' : `a ${typeof value}`;
}

/** Validates a config object; relative `stateDir` and `acme.caCertificates` are taken from the config's folder. */
export function validateConfig(raw: unknown, configPath: string): ResolvedConfig {
  let data: unknown;
  try {
    data = toPlainData(raw);
  } catch (error) {
    if (!(error instanceof UnreadableConfigError)) throw error;
    throw new ConfigError(
      `invalid config ${configPath}:\n  - ${formatPath(error.path)}: threw "${error.reason}" when read; expected plain data, not a getter that throws`,
      configPath,
    );
  }
  const result = configSchema.safeParse(data, { error: describeIssue });
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  - ${formatPath(issue.path)}: ${issue.message}`);
    // Whatever worded an issue, no secret of the config is quoted back.
    throw new ConfigError(redactSecrets(`invalid config ${configPath}:\n${lines.join('\n')}`, secretValues(data)), configPath);
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
  if (typeof value === 'function') return 'a function'; // Never its source: it may hold secrets.
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `"${value.length > 60 ? `${value.slice(0, 60)}…` : value}"`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || typeof value === 'symbol' || value === undefined) {
    return `${typeof value} ${String(value)}`;
  }
  return 'an object';
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
