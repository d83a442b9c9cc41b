import { STOP_BOUND_MS } from '../agent/deadlines.js';

/**
 * After SIGTERM/SIGINT: whatever still holds the process (a request in flight that ignores its signal,
 * a keep-alive socket) is cut at STOP_BOUND_MS with this exit code, so a stop is bounded even if the
 * orderly shutdown is not. The timer does not keep the process alive itself.
 */
export function exitWithinStopBound(exitCode: number): void {
  setTimeout(() => process.exit(exitCode), STOP_BOUND_MS).unref();
}
