/** A command used wrongly (exit 2, reported as `cli.usage_error`): in a file of its own so main.ts knows it by name without loading the command. */
export class UsageError extends Error {
  override name = 'UsageError';
}
