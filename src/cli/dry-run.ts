import { runDryRun, type DryRunOutcome } from '../agent/dry-run.js';
import type { CliIo } from './io.js';
import { runRenewingCommand, type RenewingCommandOptions } from './renewing-command.js';

export type DryRunOptions = RenewingCommandOptions;

/**
 * `certkeeper renew --dry-run [NAME...]`: every named certificate (all when none is named) through the
 * renewal path against the CA's staging directory, changing nothing that is served and recording nothing
 * (agent/dry-run.ts). Exit 0 when the whole path worked for each, 1 when one failed (the line says why).
 */
export async function dryRunCommand(names: string[], options: DryRunOptions, io: CliIo): Promise<number> {
  return runRenewingCommand(
    options,
    io,
    'the dry run',
    (ctx, signal) => runDryRun(ctx, ctx.stagingIssuer(), { names, signal }),
    (outcomes, ctx) => {
      const directoryUrl = ctx.config.acme.stagingDirectoryUrl;
      io.stdout.write(
        options.json
          ? `${JSON.stringify(
              outcomes.map((outcome) => ({ ...outcome, dryRun: true, directoryUrl })),
              null,
              2,
            )}\n`
          : outcomes.map((outcome) => describe(outcome, directoryUrl)).join(''),
      );
      return outcomes.every((outcome) => outcome.result === 'succeeded') ? 0 : 1;
    },
  );
}

function describe(outcome: DryRunOutcome, directoryUrl: string): string {
  switch (outcome.result) {
    case 'succeeded':
      return `${outcome.name}: dry run passed: ${directoryUrl} issued serial ${outcome.serial} (order ${outcome.orderUrl}); not deployed, nothing recorded\n`;
    case 'failed':
      return `${outcome.name}: dry run FAILED: ${outcome.error}\n`;
    case 'cancelled':
      return `${outcome.name}: dry run cancelled${outcome.error ? `: ${outcome.error}` : ''}\n`;
  }
}
