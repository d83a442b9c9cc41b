import { selectCertificates } from '../agent/pass.js';
import { preflightChecks, type PreflightCheck } from '../preflight/preflight.js';
import { mapWithConcurrency } from '../util/map-with-concurrency.js';
import { openAgent, type CliIo } from './io.js';
import type { LogFormat } from './output-mode.js';

// Reads only, cached across certificates (zones, listeners, the CA, IAM answers): bounded like status.
const DOCTOR_CONCURRENCY = 16;

/** One certificate's checklist; the JSON field names are a contract. */
export interface DoctorResult {
  name: string;
  checks: PreflightCheck[];
}

/**
 * `certkeeper doctor [NAME...]`: the preflight a renewal runs before its order, for every named
 * certificate (all when none is named), as a checklist. Changes nothing. Exit 0 when every check
 * passes, 1 otherwise (2 for usage and config errors, in main).
 */
export async function doctorCommand(names: string[], options: { config: string; json?: boolean; logFormat?: LogFormat }, io: CliIo): Promise<number> {
  const ctx = await openAgent(options.config, io, { logFormat: options.logFormat, readOnly: true });
  try {
    const specs = selectCertificates(ctx.config.certificates, names);
    const scope = ctx.forPass();
    const log = ctx.log.child({ command: 'doctor' });
    const results = await mapWithConcurrency(specs, DOCTOR_CONCURRENCY, async (spec): Promise<DoctorResult> => ({
      name: spec.name,
      checks: await preflightChecks(spec, ctx, scope, log.child({ certificate: spec.name })),
    }));
    io.stdout.write(options.json ? `${JSON.stringify(results, null, 2)}\n` : renderChecklist(results));
    return results.every((result) => result.checks.every((check) => check.ok)) ? 0 : 1;
  } finally {
    ctx.close();
  }
}

/** The certificate's name, then one line per check: ✓ or ✗, what was checked, and the fix when ✗. */
export function renderChecklist(results: DoctorResult[]): string {
  return results
    .map((result) => {
      const failed = result.checks.filter((check) => !check.ok).length;
      const lines = result.checks.map((check) => `  ${check.ok ? '✓' : '✗'} ${check.check}: ${check.detail}${check.ok || !check.fix ? '' : ` (fix: ${check.fix})`}`);
      return [`${result.name}: ${failed === 0 ? 'ready to renew' : `${failed} check${failed === 1 ? '' : 's'} failed, a renewal would stop before its order`}`, ...lines].join(
        '\n',
      );
    })
    .reduce((text, block) => `${text}${block}\n`, '');
}
