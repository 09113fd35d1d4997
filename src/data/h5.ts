/**
 * A thin, checked layer over h5wasm (its Node entry) for the dataset readers and writers.
 *
 * Why not use h5wasm's high-level getters directly:
 * - `Dataset.value` ignores the status of the underlying H5Dread, so a corrupt gzip chunk silently yields
 *   garbage; `readArray` calls the same exported read function and checks its status.
 * - A failed open returns a File with file_id −1 instead of throwing.
 * - HDF5 prints its error stack ("HDF5-DIAG ...") straight to file descriptor 2, which would break the
 *   one-line error rule; h5wasm 0.10.3 does not export H5Eset_auto. The emscripten stream for fd 2 is
 *   pointed at an unlinked temp file instead, and after a failure the innermost diagnostic line is read
 *   back and put into the error message.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import * as h5wasm from "h5wasm/node";
import { removeStaleTemps, tempPathFor } from "../util/atomic.js";
import type { ElementType, NumericArray } from "./arrays.js";
import { DatasetError } from "./issues.js";

export type { ElementType, NumericArray };

export interface ArrayInfo {
  shape: number[];
  dtype: ElementType;
}

export interface ReadArray extends ArrayInfo {
  data: NumericArray;
}

/** The HDF5 signature; it may sit at 0, 512, 1024, 2048 ... when the file has a user block. */
const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Whether `path` starts (at one of the allowed superblock offsets) with the HDF5 signature. */
export function hasHdf5Signature(path: string): boolean {
  const size = statSync(path).size;
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(8);
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      readSync(fd, buf, 0, 8, off);
      if (HDF5_SIGNATURE.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

let diagFd = -1;
let diagRead = 0;

interface RawStream {
  nfd?: number;
}
interface RawFs {
  getStream(fd: number): RawStream | null;
}

async function module(): Promise<typeof h5wasm.Module> {
  await h5wasm.ready;
  if (diagFd < 0) {
    const fs = h5wasm.FS as unknown as RawFs | null;
    const stream = fs?.getStream(2);
    if (stream && typeof stream.nfd === "number") {
      const p = join(tmpdir(), `clap-rl-hdf5-diag-${process.pid}.log`);
      diagFd = openSync(p, "w+");
      unlinkSync(p);
      stream.nfd = diagFd;
    }
  }
  return h5wasm.Module;
}

/** The innermost HDF5 diagnostic written since the last call, e.g. "truncated file: eof = 25178, ...". */
function lastDiagnostic(): string | null {
  if (diagFd < 0) return null;
  const size = fstatSync(diagFd).size;
  if (size <= diagRead) return null;
  const buf = Buffer.alloc(size - diagRead);
  readSync(diagFd, buf, 0, buf.length, diagRead);
  diagRead = size;
  let last: string | null = null;
  for (const line of buf.toString("utf8").split("\n")) {
    const m = /#\d+: .* in [\w.]+\(\): (.*)$/.exec(line);
    if (m) last = m[1].trim();
  }
  return last;
}

function h5Error(file: string, key: string, what: string): DatasetError {
  const d = lastDiagnostic();
  return new DatasetError(file, key, `${what}${d ? ` (HDF5: ${d})` : ""}`);
}

function elementType(meta: h5wasm.Metadata): ElementType {
  const classes = h5wasm.Module.H5T_class_t;
  let type = meta.type;
  const { size, signed } = meta;
  if (type === classes.H5T_ENUM.value && meta.enum_type) {
    const members = meta.enum_type.members;
    if (Object.keys(members).length === 2 && members.FALSE === 0 && members.TRUE === 1) return "bool";
    type = meta.enum_type.type;
  }
  if (type === classes.H5T_FLOAT.value) return size === 4 ? "float32" : size === 8 ? "float64" : "other";
  if (type === classes.H5T_STRING.value) return "string";
  if (type === classes.H5T_INTEGER.value) {
    const bits = size * 8;
    if (![8, 16, 32, 64].includes(bits)) return "other";
    return `${signed ? "int" : "uint"}${bits}` as ElementType;
  }
  return "other";
}

function typedView(bytes: Uint8Array, dtype: ElementType): NumericArray | null {
  const b = bytes.buffer;
  const o = bytes.byteOffset;
  switch (dtype) {
    case "float32":
      return new Float32Array(b, o, bytes.byteLength / 4);
    case "float64":
      return new Float64Array(b, o, bytes.byteLength / 8);
    case "int8":
    case "bool":
      return new Int8Array(b, o, bytes.byteLength);
    case "uint8":
      return bytes;
    case "int16":
      return new Int16Array(b, o, bytes.byteLength / 2);
    case "uint16":
      return new Uint16Array(b, o, bytes.byteLength / 2);
    case "int32":
      return new Int32Array(b, o, bytes.byteLength / 4);
    case "uint32":
      return new Uint32Array(b, o, bytes.byteLength / 4);
    case "int64":
      return new BigInt64Array(b, o, bytes.byteLength / 8);
    case "uint64":
      return new BigUint64Array(b, o, bytes.byteLength / 8);
    default:
      return null;
  }
}

/** Read-only access to one HDF5 file. Opening never modifies the file (H5F_ACC_RDONLY). */
export class H5Reader {
  private readonly listings = new Map<string, Set<string>>();

  private constructor(
    readonly path: string,
    private readonly file: h5wasm.File,
  ) {}

  static async open(path: string): Promise<H5Reader> {
    const abs = resolve(path);
    if (!existsSync(abs)) throw new DatasetError(path, "(file)", "no such file");
    if (statSync(abs).size === 0) throw new DatasetError(path, "(file)", "file is empty");
    if (!hasHdf5Signature(abs)) throw new DatasetError(path, "(file)", "not an HDF5 file (no HDF5 signature)");
    await module();
    const file = new h5wasm.File(abs, "r");
    if (file.file_id < 0n) throw h5Error(path, "(file)", "cannot open HDF5 file (truncated or corrupt?)");
    return new H5Reader(path, file);
  }

  close(): void {
    this.file.close();
  }

  /** Names directly under a group ("" or "/" for the root); [] when the group does not exist. */
  keys(group = ""): string[] {
    return [...this.listing(group)];
  }

  /** A group's member names, cached: the file is open read-only, so listings cannot change, and Minari
   * files with thousands of episode groups would otherwise be listed once per lookup. */
  private listing(group: string): Set<string> {
    const norm = group.split("/").filter((p) => p !== "").join("/");
    let names = this.listings.get(norm);
    if (!names) {
      const g = norm === "" ? this.file : this.has(norm) ? this.file.get(norm) : null;
      names = new Set(g instanceof h5wasm.Group ? g.keys().sort() : []);
      this.listings.set(norm, names);
    }
    return names;
  }

  /** Whether a slash-separated path exists (walked through group listings, which never raise HDF5 errors). */
  has(path: string): boolean {
    const parts = path.split("/").filter((p) => p !== "");
    for (let i = 0; i < parts.length; i++) {
      if (!this.listing(parts.slice(0, i).join("/")).has(parts[i])) return false;
    }
    return true;
  }

  isGroup(path: string): boolean {
    return this.has(path) && this.file.get(path) instanceof h5wasm.Group;
  }

  isDataset(path: string): boolean {
    return this.has(path) && this.file.get(path) instanceof h5wasm.Dataset;
  }

  info(path: string): ArrayInfo {
    this.checkDataset(path);
    const meta = h5wasm.Module.get_dataset_metadata(this.file.file_id, path);
    return { shape: meta.shape ?? [], dtype: elementType(meta) };
  }

  /** h5wasm's metadata calls fail with a bare "name not defined" on anything but a dataset: name what is there instead. */
  private checkDataset(path: string): void {
    if (!this.has(path)) throw new DatasetError(this.path, path, "missing key");
    if (!this.isDataset(path)) throw new DatasetError(this.path, path, `is ${this.isGroup(path) ? "a group" : "not a dataset"}, expected an array dataset`);
  }

  /** Reads a whole numeric dataset; a failed read (e.g. a corrupt compressed chunk) throws a DatasetError. */
  readArray(path: string): ReadArray {
    this.checkDataset(path);
    const M = h5wasm.Module;
    const meta = M.get_dataset_metadata(this.file.file_id, path);
    const dtype = elementType(meta);
    const shape = meta.shape ?? [];
    const nbytes = meta.size * meta.total_size;
    const bytes = new Uint8Array(nbytes);
    if (nbytes > 0) {
      const ptr = M._malloc(nbytes);
      if (ptr === 0) throw new DatasetError(this.path, path, `${nbytes} bytes do not fit in the HDF5 heap`);
      try {
        const status = M.get_dataset_data(this.file.file_id, path, null, null, null, BigInt(ptr));
        if (status < 0) throw h5Error(this.path, path, "read failed (corrupt data?)");
        bytes.set(M.HEAPU8.subarray(ptr, ptr + nbytes));
      } finally {
        M._free(ptr);
      }
    }
    const data = typedView(bytes, dtype);
    if (!data) throw new DatasetError(this.path, path, "unsupported element type (not numeric)");
    return { data, shape, dtype };
  }

  /** A small dataset's value as JSON-compatible data (metadata scalars and strings). */
  jsonValue(path: string): unknown {
    const d = this.file.get(path);
    return d instanceof h5wasm.Dataset ? d.json_value : null;
  }

  /** Attributes of an object as JSON-compatible values. */
  attrs(path = "/"): Record<string, unknown> {
    const obj = path === "/" || path === "" ? this.file : this.file.get(path);
    const out: Record<string, unknown> = {};
    if (!(obj instanceof h5wasm.Group || obj instanceof h5wasm.Dataset)) return out;
    for (const [name, attr] of Object.entries(obj.attrs)) out[name] = attr.json_value;
    return out;
  }
}

/** Scalar metadata values a writer accepts; objects are stored as JSON strings. */
export type ScalarValue = string | number | boolean | Record<string, unknown>;

export interface WriteArray {
  data: NumericArray;
  shape: number[];
}

function dtypeOf(data: NumericArray): string {
  if (data instanceof Float32Array) return "<f4";
  if (data instanceof Float64Array) return "<f8";
  if (data instanceof Int8Array) return "<b";
  if (data instanceof Uint8Array) return "<B";
  if (data instanceof Int16Array) return "<h";
  if (data instanceof Uint16Array) return "<H";
  if (data instanceof Int32Array) return "<i";
  if (data instanceof Uint32Array) return "<I";
  if (data instanceof BigInt64Array) return "<q";
  return "<Q";
}

/**
 * Writes one HDF5 file through a temp file that is renamed into place on `close()`, so a crash never
 * leaves a half-written dataset under the final name.
 */
export class H5Writer {
  private constructor(
    readonly path: string,
    private readonly tmp: string,
    private readonly file: h5wasm.File,
  ) {}

  static async create(path: string): Promise<H5Writer> {
    await module();
    const abs = resolve(path);
    mkdirSync(dirname(abs), { recursive: true });
    removeStaleTemps(abs);
    const tmp = tempPathFor(abs);
    const file = new h5wasm.File(tmp, "w");
    if (file.file_id < 0n) throw h5Error(path, "(file)", "cannot create HDF5 file");
    return new H5Writer(path, tmp, file);
  }

  /** Creates every missing group along `path` (a group path, no leading slash needed). */
  group(path: string): void {
    let cur: h5wasm.Group = this.file;
    for (const part of path.split("/").filter((p) => p !== "")) {
      const next = cur.keys().includes(part) ? cur.get(part) : cur.create_group(part);
      if (!(next instanceof h5wasm.Group)) throw new Error(`H5Writer: ${path}: ${part} exists and is not a group`);
      cur = next;
    }
  }

  private parentOf(path: string): [h5wasm.Group, string] {
    const parts = path.split("/").filter((p) => p !== "");
    const name = parts.pop() as string;
    this.group(parts.join("/"));
    const g = parts.length === 0 ? this.file : this.file.get(parts.join("/"));
    return [g as h5wasm.Group, name];
  }

  /** A gzip-compressed, chunked dataset (chunks of about 1 MiB along the first axis), like h5py's gzip datasets. */
  array(path: string, arr: WriteArray, compress = true): void {
    const [g, name] = this.parentOf(path);
    const n = arr.shape.length === 0 ? 1 : arr.shape[0];
    const rowElems = arr.shape.slice(1).reduce((a, b) => a * b, 1);
    const rowBytes = Math.max(1, rowElems * arr.data.BYTES_PER_ELEMENT);
    const useChunks = compress && arr.shape.length > 0 && n > 0;
    const chunkRows = Math.max(1, Math.min(n, Math.floor((1 << 20) / rowBytes)));
    g.create_dataset({
      name,
      data: arr.data,
      shape: arr.shape,
      dtype: dtypeOf(arr.data),
      ...(useChunks ? { chunks: [chunkRows, ...arr.shape.slice(1)], compression: "gzip" as const, compression_opts: 4 } : {}),
    });
  }

  /** A scalar dataset: strings stay strings, integers become int64, other numbers float64. */
  scalar(path: string, value: ScalarValue): void {
    const [g, name] = this.parentOf(path);
    if (typeof value === "number" && Number.isInteger(value)) {
      g.create_dataset({ name, data: BigInt64Array.from([BigInt(value)]), shape: [], dtype: "<q" });
    } else if (typeof value === "number") {
      g.create_dataset({ name, data: Float64Array.from([value]), shape: [], dtype: "<f8" });
    } else if (typeof value === "boolean") {
      g.create_dataset({ name, data: Int8Array.from([value ? 1 : 0]), shape: [], dtype: "<b" });
    } else {
      g.create_dataset({ name, data: typeof value === "string" ? value : JSON.stringify(value) });
    }
  }

  /** An attribute on a group or dataset ("" is the root). */
  attr(objPath: string, name: string, value: ScalarValue): void {
    const obj = objPath === "" || objPath === "/" ? this.file : this.file.get(objPath);
    if (!(obj instanceof h5wasm.Group || obj instanceof h5wasm.Dataset)) {
      throw new Error(`H5Writer: ${objPath} does not exist`);
    }
    if (typeof value === "number" && Number.isInteger(value)) {
      obj.create_attribute(name, BigInt64Array.from([BigInt(value)]), [], "<q");
    } else if (typeof value === "number") {
      obj.create_attribute(name, Float64Array.from([value]), [], "<f8");
    } else if (typeof value === "boolean") {
      obj.create_attribute(name, Int8Array.from([value ? 1 : 0]), [], "<b");
    } else {
      obj.create_attribute(name, typeof value === "string" ? value : JSON.stringify(value));
    }
  }

  /** Closes the file and moves it to its final name. */
  close(): void {
    this.file.close();
    renameSync(this.tmp, resolve(this.path));
  }

  /** Closes and deletes the temp file (after an error). */
  abort(): void {
    try {
      this.file.close();
    } finally {
      rmSync(this.tmp, { force: true });
    }
  }
}

/** Runs `fn` with a writer and commits the file only if `fn` succeeds. */
export async function writeH5(path: string, fn: (w: H5Writer) => void): Promise<void> {
  const w = await H5Writer.create(path);
  try {
    fn(w);
  } catch (e) {
    w.abort();
    throw e;
  }
  w.close();
}
