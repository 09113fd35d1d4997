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

/** Exit code of a checkpoint that fails its checksums: retrying cannot help, the files need a person. */
export const DAMAGED_CHECKPOINT_EXIT = 4;

/** Exit code of a failed read or write of the file system (permission, full disk, read-only): the data, not a bug. */
export const IO_EXIT = 5;

const FS_REASONS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or folder",
  ELOOP: "a loop of symbolic links",
  ENOTDIR: "a part of the path is not a folder",
  EISDIR: "is a folder",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EFBIG: "file too large for the file system or the process's file size limit",
  EROFS: "read-only file system",
  EMFILE: "too many open files",
};

/** Whether `e` is a failed file-system call (it carries an errno code such as EACCES). */
export function isFsError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string" && typeof (e as NodeJS.ErrnoException).syscall === "string";
}

/** One line for a failed file-system call: `<path>: cannot <doing> (<reason>)`, exit code IO_EXIT. */
export function fsError(path: string, doing: string, e: NodeJS.ErrnoException): UserError {
  const code = e.code ?? "";
  return new UserError(`${path}: cannot ${doing} (${FS_REASONS[code] ?? code})`, IO_EXIT);
}
