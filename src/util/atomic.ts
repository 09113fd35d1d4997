import { closeSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { fsError, isFsError, UserError } from "../errors.js";
import { dirname, basename, join } from "node:path";

let counter = 0;

/** A temp path in the same directory as `path`, so that the final rename is atomic. */
export function tempPathFor(path: string): string {
  counter += 1;
  return join(dirname(path), `.${basename(path)}.${process.pid}.${counter}.tmp`);
}

/**
 * Removes the temp files of `path` (tempPathFor) left by processes that were killed while writing it, so that
 * repeated kills during a long write (a dataset being made) do not fill the disk. Temps of live processes stay.
 */
export function removeStaleTemps(path: string): void {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)\.\d+\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (m && !processAlive(Number(m[1]))) rmSync(join(dirname(path), name), { force: true });
  }
}

/** Whether a process with this pid exists on this machine (EPERM: it does, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Writes a file atomically: the data go to a temp file beside it, which is renamed over the target.
 * A crash mid-write leaves the old file intact.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = tempPathFor(path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    // A full disk or a read-only folder is one line naming the file, and the previous file is still there.
    throw isFsError(e) ? fsError(path, "write", e) : e;
  }
}

/** JSON as this program writes it to files: pretty-printed, with a trailing newline. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

/** Writes JSON atomically (jsonText). */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, jsonText(value));
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
