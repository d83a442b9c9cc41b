import type { Writable } from 'node:stream';
import { loadConfig } from '../config/load.js';
import { AgentContext } from './wiring.js';
import { createLogger } from '../telemetry/logger.js';
import { colorAllowed } from '../telemetry/pretty-line.js';
import { isTerminal, resolveLogFormat, type LogFormat } from './output-mode.js';

/** Where a command writes: results on stdout, the audit log on stderr. */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
}

export interface LogChoice {
  /** `--log-format`; by default pretty at a terminal, json otherwise. */
  logFormat?: LogFormat;
  /**
   * A command that changes nothing (`status`, `plan`, `doctor`, `discover`): its readable log shows
   * warnings and errors only, so the table it prints is not buried under info lines. Its JSON log keeps
   * every event, and CERTKEEPER_LOG_LEVEL still chooses.
   */
  readOnly?: boolean;
  /** A live display on the terminal that the log lines must not garble (cli/progress). */
  interleave?: (writeLine: () => void) => void;
}

/** Loads the config (a ConfigError becomes exit 2 in main) and builds the agent logging to stderr. */
export async function openAgent(configPath: string, io: CliIo, choice: LogChoice = {}): Promise<AgentContext> {
  const config = await loadConfig(configPath);
  return AgentContext.open(config, agentLogger(io, choice));
}

export function agentLogger(io: CliIo, { logFormat, readOnly, interleave }: LogChoice) {
  const pretty = resolveLogFormat(io.stderr, logFormat) === 'pretty';
  return createLogger({
    stream: io.stderr,
    pretty,
    color: pretty && colorAllowed(io.stderr),
    ...(pretty && readOnly && !process.env.CERTKEEPER_LOG_LEVEL && { level: 'warn' }),
    // Only log lines to the terminal the display is on need to make way for it.
    ...(interleave && isTerminal(io.stderr) && { interleave }),
  });
}
