// The AWS SDK's Node-version notice is multi-line text on stderr, which would break the JSON-lines
// audit log; `certkeeper run` logs the same fact as one event instead. Set before the SDK loads.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('./main.js');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`certkeeper: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
