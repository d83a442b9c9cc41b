/**
 * Synchronous clean-ups that must run however this process ends: normal exit, or SIGINT/SIGTERM/SIGHUP
 * (after which Node would otherwise die without running 'exit' listeners). SIGKILL runs nothing: the
 * child-process watchdog covers that case.
 */
const hooks = new Set<() => void>();
let installed = false;

export function onProcessExit(hook: () => void): () => void {
  install();
  hooks.add(hook);
  return () => hooks.delete(hook);
}

function runAll(): void {
  for (const hook of [...hooks]) {
    hooks.delete(hook);
    try {
      hook();
    } catch {
      // best effort: one failing clean-up must not stop the others
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      runAll();
      process.removeListener(signal, onSignal);
      // Listening to a signal disables Node's default of dying: restore it unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
