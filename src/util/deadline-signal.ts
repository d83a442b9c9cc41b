/**
 * Abort signals that remember when they will abort, so code far down (the Route 53 batcher) can plan
 * with a renewal's deadline rather than a fixed count: how long to retry a shared change before
 * trying each renewal's values on their own. `AbortSignal.timeout` keeps its time to itself.
 */
const deadlines = new WeakMap<AbortSignal, number>();

/** Like `AbortSignal.timeout(ms)`, and `deadlineOf` knows when. */
export function deadlineSignal(ms: number): AbortSignal {
  const signal = AbortSignal.timeout(ms);
  deadlines.set(signal, Date.now() + ms);
  return signal;
}

/** Like `AbortSignal.any(signals)`, keeping the earliest deadline among them. */
export function anySignal(signals: AbortSignal[]): AbortSignal {
  const signal = AbortSignal.any(signals);
  const known = signals.map((entry) => deadlines.get(entry)).filter((at): at is number => at !== undefined);
  if (known.length > 0) deadlines.set(signal, Math.min(...known));
  return signal;
}

/** When this signal aborts at the latest (epoch ms), if it was made here; undefined otherwise. */
export function deadlineOf(signal: AbortSignal | undefined): number | undefined {
  return signal ? deadlines.get(signal) : undefined;
}
