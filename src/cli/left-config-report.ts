import type { AgentContext } from './wiring.js';
import { discoveryRegions } from '../observe/discover.js';
import { findLeftConfig, leftConfigWhy, type LeftConfigCertificate } from '../observe/left-config.js';
import { describeError } from '../telemetry/logger.js';

/**
 * `status`: certkeeper's certificates that left the config, read with the status pass's own ACM listings
 * (no extra listing), each logged as `discovery.unmanaged_owned`. A failure to read them is logged and
 * said under the table; it does not hide the certificates' rows.
 */
export async function leftConfigForStatus(ctx: AgentContext, scope: ReturnType<AgentContext['forPass']>): Promise<{ entries: LeftConfigCertificate[]; error?: string }> {
  try {
    const entries = await findLeftConfig(scope.acm, discoveryRegions(ctx.config), ctx.config);
    for (const entry of entries) ctx.log.warn('discovery.unmanaged_owned', { ...entry, why: leftConfigWhy(entry) });
    return { entries };
  } catch (error) {
    ctx.log.warn('discovery.failed', { error: describeError(error) });
    return { entries: [], error: describeError(error) };
  }
}

/** The section of `discover` and `status` for certkeeper's certificates that left the config, whatever their expiry. */
export function renderLeftConfig(entries: LeftConfigCertificate[]): string {
  const lines = [
    `certkeeper-tagged certificates no longer in the config: ${entries.length} (nobody renews them; put each back in the config, or move its users to another certificate and delete it)`,
  ];
  for (const entry of entries) {
    const left = entry.daysLeft === null ? '     ?' : entry.daysLeft.toFixed(1).padStart(6);
    lines.push(`${left} days  ${entry.name}  ${entry.domainName}  expires ${entry.notAfter ?? '?'}  ${entry.region}  ${entry.certificateArn}`);
    lines.push(`        used by: ${entry.inUseBy.join(', ') || '(nothing ACM knows of: it may still be exported or used by CloudFront)'}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Below `status`'s table: the list, or why it could not be read; nothing when there is none. */
export function renderLeftConfigUnderTable(found: { entries: LeftConfigCertificate[]; error?: string }): string {
  if (found.error) return `\ncertkeeper-tagged certificates no longer in the config: could not be listed (${found.error})\n`;
  return found.entries.length > 0 ? `\n${renderLeftConfig(found.entries)}` : '';
}
