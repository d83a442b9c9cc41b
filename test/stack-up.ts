/**
 * `npm run stack`: the sandbox's local stack (test/sandbox-stack.ts) kept up until Ctrl-C, to try the CLI
 * by hand against it. Prints the environment as export lines and the config to pass with --config.
 */
import { SANDBOX_CONFIG, startSandboxStack } from './sandbox-stack.js';

/** A value as one POSIX shell word, whatever it holds. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

process.stdout.write('Starting the local stack: Pebble, moto, DNS…\n');
const sandbox = await startSandboxStack();
const env = { ...sandbox.env, CERTKEEPER_STACK_CONFIG: SANDBOX_CONFIG };
process.stdout.write(
  `  ACME directory ${sandbox.directoryUrl}, AWS ${sandbox.motoEndpoint}, DNS 127.0.0.1:${sandbox.dnsPort}\n` +
    `  hosted zone example.com (${sandbox.zoneId}); listener ${sandbox.listenerArn} serving a placeholder certificate\n\n` +
    'In another terminal, paste:\n\n' +
    Object.entries(env)
      .map(([name, value]) => `export ${name}=${shellQuote(value)}\n`)
      .join('') +
    '\nthen, for example:\n\n' +
    '  ./bin/certkeeper status --config "$CERTKEEPER_STACK_CONFIG"\n' +
    '  ./bin/certkeeper renew --force web --config "$CERTKEEPER_STACK_CONFIG"\n' +
    '  ./bin/certkeeper doctor --config "$CERTKEEPER_STACK_CONFIG"\n\n' +
    'Ready. Ctrl-C stops the stack and removes its state directory.\n',
);

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n${signal}: stopping the local stack…\n`);
  sandbox.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`stack: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
// Keeps the process alive until a signal: the stack's children are not references of this event loop.
setInterval(() => {}, 1 << 30);
