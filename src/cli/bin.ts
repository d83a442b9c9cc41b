import { logFormatInArgv } from './output-mode.js';

// Until main has finished, the exit code says failure: a process whose event loop empties with its
// command unfinished (e.g. a config whose top-level await never settles) must never exit 0.
process.exitCode = 1;
let finished = false;

// One JSON audit event per line when stderr is not a terminal, readable text when it is; written at
// once (synchronous on Linux pipes and files), so it also works while the process exits.
const json = (logFormatInArgv(process.argv.slice(2)) ?? (process.stderr.isTTY ? 'pretty' : 'json')) === 'json';
const report = (level: 'error' | 'warn') => (event: string, fields: { error: string } & Record<string, unknown>) => {
  process.stderr.write(json ? `${JSON.stringify({ time: new Date().toISOString(), level, event, ...fields })}\n` : `certkeeper: ${fields.error}\n`);
};
const early = { error: report('error'), warn: report('warn') };

process.on('exit', () => {
  if (!finished)
    early.error('command.unfinished', { error: 'certkeeper stopped before its command finished: nothing was left to wait for (a config whose top-level await never settles?)' });
});
if (json) {
  // Node prints warnings as multi-line text; as events they keep the log JSON.
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => early.warn('process.warning', { error: warning.message, name: warning.name, code: warning.code ?? null }));
}

// The AWS SDK's Node-version notice is multi-line text on stderr, which would break the JSON-lines
// audit log; `certkeeper run` logs the same fact as one event instead. Set before the SDK loads.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('./main.js');

const done = (code: number) => {
  finished = true;
  process.exitCode = code;
  // The command is over: what still holds the process (a config module that never settled, a stray
  // socket) must not keep it from exiting. Not earlier: the last log lines are still being written.
  setTimeout(() => process.exit(code), 2_000).unref();
};

main(process.argv.slice(2)).then(done, (error: unknown) => {
  early.error('command.failed', { error: error instanceof Error ? error.message : String(error) });
  done(1);
});
