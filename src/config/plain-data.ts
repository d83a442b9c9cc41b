import { formatPath } from './format-path.js';

/** A config whose reading threw (a getter, a Proxy): the key, and the error's first line. */
export class UnreadableConfigError extends Error {
  override name = 'UnreadableConfigError';

  constructor(
    readonly path: readonly PropertyKey[],
    readonly reason: string,
  ) {
    super(`reading ${formatPath(path)} threw "${reason}"; expected plain data (no getters that throw)`);
  }
}

/**
 * A copy of the config's plain objects and arrays, every property read once, here: a getter that throws
 * (or a Proxy trap) is reported with its key, not as a crash somewhere in validation. Other values
 * (functions, class instances) are kept as they are for the schema to refuse by name.
 */
export function toPlainData(value: unknown, path: PropertyKey[] = [], ancestors: object[] = []): unknown {
  if (!value || typeof value !== 'object') return value;
  if (ancestors.includes(value)) return value; // A cycle: left for the schema, which never follows it forever.
  const read = <T>(at: PropertyKey[], get: () => T): T => {
    try {
      return get();
    } catch (error) {
      throw new UnreadableConfigError(at, firstLine(error));
    }
  };
  const inner = [...ancestors, value];
  if (read(path, () => Array.isArray(value))) {
    const list = value as unknown[];
    const length = read(path, () => list.length);
    return Array.from({ length }, (_, index) =>
      toPlainData(
        read([...path, index], () => list[index]),
        [...path, index],
        inner,
      ),
    );
  }
  const prototype = read<unknown>(path, () => Object.getPrototypeOf(value));
  if (prototype !== Object.prototype && prototype !== null) return value;
  const keys = read(path, () => Object.keys(value));
  const copy: Record<string, unknown> = {};
  for (const key of keys) {
    const item = toPlainData(
      read([...path, key], () => (value as Record<string, unknown>)[key]),
      [...path, key],
      inner,
    );
    // defineProperty: a key named "__proto__" stays a key, as it was in the config.
    Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split('\n')[0] ?? text;
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
