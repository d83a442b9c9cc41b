import { configuredArns, discoverUnmanaged, discoveryRegions } from '../observe/discover.js';
import { openAgent, type CliIo } from './io.js';

export async function discoverCommand(options: { config: string; regions?: string[]; days?: number; json?: boolean }, io: CliIo): Promise<number> {
  const ctx = await openAgent(options.config, io);
  try {
    const regions = options.regions ?? discoveryRegions(ctx.config);
    const withinDays = options.days ?? ctx.config.discovery.withinDays;
    const found = await discoverUnmanaged((region) => ctx.aws.acm(region), regions, withinDays, configuredArns(ctx.config));
    if (options.json) io.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
    else if (found.length === 0) io.stdout.write(`No unmanaged ACM certificate expires within ${withinDays} days in ${regions.join(', ')}.\n`);
    else {
      io.stdout.write(`${found.length} ACM certificate(s) not managed by certkeeper expire within ${withinDays} days:\n`);
      for (const entry of found) {
        io.stdout.write(`${entry.daysLeft.toFixed(1).padStart(6)} days  ${entry.domainName}  ${entry.type}  ${entry.certificateArn}\n        used by: ${entry.inUseBy.join(', ') || '(nothing)'}\n`);
      }
    }
    return 0;
  } finally {
    ctx.close();
  }
}
