import type { Stack } from '../stack/stack.js';
import type { Route53Faithful } from '../stack/route53-faithful.js';
import type { CountingForwarder } from '../stack/request-counters.js';

/** What every part of the bench measures through: the stack, the faithful Route 53 layer and the counting forwarders. */
export interface BenchStack {
  stack: Stack;
  route53: Route53Faithful;
  awsCounter: CountingForwarder;
  acmeCounter: CountingForwarder;
  /** Zone ID → zone name, for the changes per zone. */
  zoneNames: Map<string, string>;
  /** The bench's scratch folder (removed at the end). */
  work: string;
  /** Each run's log goes here when given (--logs). */
  logs?: string;
}

/** The Route 53 calls since `from`: how many, how many throttled, by action, and the changes Route 53 took per zone. */
export function route53Since(bench: BenchStack, from: number) {
  const calls = bench.route53.calls.slice(from);
  const changesByZone: Record<string, Record<string, number>> = {};
  for (const { zone, change } of calls) {
    if (!zone || !change) continue;
    const name = bench.zoneNames.get(zone) ?? zone;
    changesByZone[name] = { ...changesByZone[name], [change]: (changesByZone[name]?.[change] ?? 0) + 1 };
  }
  return {
    calls: calls.length,
    throttled: calls.filter((call) => call.throttled).length,
    byAction: tally(calls.map((call) => call.action)),
    changesByZone,
  };
}

export type Route53Counts = ReturnType<typeof route53Since>;

export function tally(keys: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of keys) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
}

export function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((total, n) => total + n, 0);
}
