/** `make(key)` once per key, then the same answer (a promise included, so concurrent callers share one read). */
export function memoByKey<K, V>(make: (key: K) => V): (key: K) => V {
  const made = new Map<K, V>();
  return (key) => {
    if (!made.has(key)) made.set(key, make(key));
    return made.get(key)!;
  };
}
