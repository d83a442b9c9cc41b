import { discoveryRegions } from '../observe/discover.js';
import { findLeftConfig, leftConfigWhy } from '../observe/left-config.js';
import { renderLeftConfig } from './left-config-report.js';
import { openAgent, type CliIo } from './io.js';
import type { LogFormat } from './output-mode.js';

export async function discoverCommand(options: { config: string; regions?: string[]; days?: number; json?: boolean; logFormat?: LogFormat }, io: CliIo): Promise<number> {
  const ctx = await openAgent(options.config, io, { logFormat: options.logFormat, readOnly: true });
  try {
    const regions = options.regions ?? discoveryRegions(ctx.config);
    const withinDays = options.days ?? ctx.config.discovery.withinDays;
    const scope = ctx.forPass();
    const [found, leftConfig] = await Promise.all([ctx.inventory.unmanaged(regions, withinDays), findLeftConfig(scope.acm, regions, ctx.config)]);
    for (const entry of leftConfig) ctx.log.warn('discovery.unmanaged_owned', { ...entry, why: leftConfigWhy(entry) });
    if (options.json) {
      // Still one array, as before: every entry keeps its fields, and `kind` tells the two lists apart.
      const entries = [...found.map((entry) => ({ kind: 'unmanaged' as const, ...entry })), ...leftConfig.map((entry) => ({ kind: 'left-config' as const, ...entry }))];
      entries.sort((a, b) => (a.daysLeft ?? Infinity) - (b.daysLeft ?? Infinity));
      io.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
      return 0;
    }
    if (found.length === 0) io.stdout.write(`No unmanaged ACM certificate expires within ${withinDays} days in ${regions.join(', ')}.\n`);
    else {
      io.stdout.write(`${found.length} ACM certificate(s) not managed by certkeeper expire within ${withinDays} days:\n`);
      for (const entry of found) {
        io.stdout.write(
          `${entry.daysLeft.toFixed(1).padStart(6)} days  ${entry.domainName}  ${entry.type}  ${entry.certificateArn}\n        used by: ${entry.inUseBy.join(', ') || '(nothing)'}\n`,
        );
      }
    }
    if (leftConfig.length > 0) io.stdout.write(`\n${renderLeftConfig(leftConfig)}`);
    return 0;
  } finally {
    ctx.close();
  }
}
