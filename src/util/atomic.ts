import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { UserError } from "../errors.js";
import { dirname, basename, join } from "node:path";

let counter = 0;

/** A temp path in the same directory as `path`, so that the final rename is atomic. */
export function tempPathFor(path: string): string {
  counter += 1;
  return join(dirname(path), `.${basename(path)}.${process.pid}.${counter}.tmp`);
}

/**
 * Writes a file atomically: the data go to a temp file beside it, which is renamed over the target.
 * A crash mid-write leaves the old file intact.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes JSON atomically, pretty-printed, with a trailing newline. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** What marks a file as one of this program's outputs of a kind (see replaceOwnFile). */
export interface OwnFile {
  what: string;
  extensions: string[];
  marker: string;
}

/**
 * Throws one line naming `path` unless the program may write it: the name ends in one of `own.extensions`, and a
 * file already there begins (in its first 4 KiB) with `own.marker`, which the program's output of this kind carries.
 * Commands call it before doing any work, so a bad output path fails at once.
 */
export function checkOwnFile(path: string, own: OwnFile): void {
  if (!own.extensions.some((e) => path.toLowerCase().endsWith(e))) {
    throw new UserError(`${path}: a ${own.what} is written to a ${own.extensions.join(" or ")} file; choose such a name`);
  }
  let head: string;
  try {
    if (!statSync(path).isFile()) throw new UserError(`${path}: exists and is not a file; refusing to write the ${own.what} there`);
    const fd = openSync(path, "r");
    try {
      const buf = Buffer.alloc(4096);
      head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e instanceof UserError ? e : new UserError(`${path}: cannot check the file already there (${(e as Error).message})`);
  }
  if (!head.includes(own.marker)) throw new UserError(`${path}: exists and was not written by clap-rl as a ${own.what}; refusing to replace it (choose another path)`);
}

/** Writes `path` atomically after checkOwnFile: never over a file this program did not make. */
export function replaceOwnFile(path: string, data: string, own: OwnFile): void {
  checkOwnFile(path, own);
  writeFileAtomic(path, data);
}
