/** A mistake in how the command was called: exit code 2 and the help text. */
export class UsageError extends Error {}
