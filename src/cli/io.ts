import type { Writable } from 'node:stream';
import { loadConfig } from '../config/load.js';
import { AgentContext } from './wiring.js';
import { createLogger } from '../telemetry/logger.js';

/** Where a command writes: results on stdout, the audit log on stderr. */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
}

/** Loads the config (a ConfigError becomes exit 2 in main) and builds the agent logging to stderr. */
export async function openAgent(configPath: string, io: CliIo): Promise<AgentContext> {
  const config = await loadConfig(configPath);
  return AgentContext.open(config, createLogger({ stream: io.stderr }));
}
