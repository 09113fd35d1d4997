/** The CLI's exit code for a user error (and for a bad command line): `clap-rl worker` fails such a run without retries. */
export const USER_ERROR_EXIT = 2;

/**
 * An error caused by the user's input (a bad flag, a malformed file, an unknown name).
 * The CLI prints its message as one line and exits with a non-zero code, never a stack trace.
 * Messages name what is wrong and where (file, key, index, flag).
 */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = USER_ERROR_EXIT) {
    super(message);
    this.name = "UserError";
  }
}

/** Throws a UserError unless `cond` holds. */
export function check(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new UserError(typeof message === "function" ? message() : message);
}
