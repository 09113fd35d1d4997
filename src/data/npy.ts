/**
 * numpy `.npy` arrays and `.npz` archives (zip of .npy members, via fflate).
 *
 * The .npy header parser is written here rather than taken from a package: the format is small and
 * documented (numpy `lib/format.py`: magic "\x93NUMPY", version, little-endian header length, a Python
 * dict literal with descr/fortran_order/shape, padding), the available JS readers return bool arrays as
 * boxed JS arrays (npyjs), and a typed-array view over the unzipped member avoids copying 6 MB image
 * episodes.
 */
import { strFromU8, unzipSync, zipSync } from "fflate";
import { DatasetError } from "./issues.js";
import { product, type ElementType, type NumericArray } from "./arrays.js";

export interface NpyArray {
  dtype: ElementType;
  shape: number[];
  data: NumericArray;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR: Record<string, { dtype: ElementType; bytes: number }> = {
  "<f4": { dtype: "float32", bytes: 4 },
  "<f8": { dtype: "float64", bytes: 8 },
  "|b1": { dtype: "bool", bytes: 1 },
  "|u1": { dtype: "uint8", bytes: 1 },
  "|i1": { dtype: "int8", bytes: 1 },
  "<i2": { dtype: "int16", bytes: 2 },
  "<u2": { dtype: "uint16", bytes: 2 },
  "<i4": { dtype: "int32", bytes: 4 },
  "<u4": { dtype: "uint32", bytes: 4 },
  "<i8": { dtype: "int64", bytes: 8 },
  "<u8": { dtype: "uint64", bytes: 8 },
};

function view(buf: Uint8Array, dtype: ElementType, n: number): NumericArray {
  // Typed arrays need aligned offsets; headers are padded to 64 bytes so members are aligned unless the
  // zip member itself starts unaligned, in which case copy.
  const width = Object.values(DESCR).find((d) => d.dtype === dtype)!.bytes;
  const src = buf.byteOffset % width === 0 ? buf : buf.slice();
  const b = src.buffer;
  const o = src.byteOffset;
  switch (dtype) {
    case "float32":
      return new Float32Array(b, o, n);
    case "float64":
      return new Float64Array(b, o, n);
    case "bool":
    case "uint8":
      return new Uint8Array(b, o, n);
    case "int8":
      return new Int8Array(b, o, n);
    case "int16":
      return new Int16Array(b, o, n);
    case "uint16":
      return new Uint16Array(b, o, n);
    case "int32":
      return new Int32Array(b, o, n);
    case "uint32":
      return new Uint32Array(b, o, n);
    case "int64":
      return new BigInt64Array(b, o, n);
    default:
      return new BigUint64Array(b, o, n);
  }
}

/** Parses one .npy buffer; `file` and `key` (the member) name it in error messages. */
export function parseNpy(bytes: Uint8Array, file: string, key = "(array)"): NpyArray {
  const fail = (msg: string) => new DatasetError(file, key, msg);
  if (bytes.length === 0) throw fail(`empty member (0 bytes)`);
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) {
    throw fail(`not a .npy array (bad magic)`);
  }
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw fail(`truncated .npy header`);
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else {
    throw fail(`unsupported .npy version ${major}`);
  }
  if (start + headerLen > bytes.length) throw fail(`truncated .npy header`);
  const header = strFromU8(bytes.subarray(start, start + headerLen), true);
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw fail(`malformed .npy header ${JSON.stringify(header.trim())}`);
  }
  const d = DESCR[descr];
  if (!d) throw fail(`unsupported dtype '${descr}' (little-endian numeric or bool only)`);
  if (fortran === "True") throw fail(`Fortran-ordered arrays are not supported`);
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => Number(s));
  if (shape.some((s) => !Number.isInteger(s) || s < 0)) throw fail(`bad shape (${shapeText})`);
  const n = product(shape);
  const dataStart = start + headerLen;
  const need = n * d.bytes;
  if (bytes.length - dataStart < need) {
    throw fail(`truncated data (${bytes.length - dataStart} of ${need} bytes)`);
  }
  return { dtype: d.dtype, shape, data: view(bytes.subarray(dataStart, dataStart + need), d.dtype, n) };
}

function descrOf(a: NumericArray, bool: boolean): string {
  if (bool) return "|b1";
  if (a instanceof Float32Array) return "<f4";
  if (a instanceof Float64Array) return "<f8";
  if (a instanceof Uint8Array) return "|u1";
  if (a instanceof Int8Array) return "|i1";
  if (a instanceof Int16Array) return "<i2";
  if (a instanceof Uint16Array) return "<u2";
  if (a instanceof Int32Array) return "<i4";
  if (a instanceof Uint32Array) return "<u4";
  if (a instanceof BigInt64Array) return "<i8";
  return "<u8";
}

/** Encodes a C-ordered array as .npy version 1.0; `bool` marks a Uint8Array of 0/1 as numpy bool. */
export function encodeNpy(data: NumericArray, shape: number[], bool = false): Uint8Array {
  if (product(shape) !== data.length) throw new Error(`encodeNpy: shape ${shape} does not match ${data.length} values`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descrOf(data, bool)}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad so that magic + version + length + header + newline is a multiple of 64 (numpy's alignment).
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, " ") + "\n";
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

/** Reads every member of an .npz archive (name without ".npy"). Never modifies the file. */
export function parseNpz(bytes: Uint8Array, file: string): Map<string, NpyArray> {
  if (bytes.length === 0) throw new DatasetError(file, "(file)", "file is empty");
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes);
  } catch (e) {
    throw new DatasetError(file, "(archive)", `not a readable zip/npz archive (${(e as Error).message}; truncated?)`);
  }
  const out = new Map<string, NpyArray>();
  for (const [name, content] of Object.entries(members)) {
    if (!name.endsWith(".npy")) continue;
    out.set(name.slice(0, -4), parseNpy(content, file, name));
  }
  return out;
}

export interface NpzMember {
  data: NumericArray;
  shape: number[];
  bool?: boolean;
}

/** An .npz archive with deflate-compressed members, as numpy.savez_compressed writes. */
export function encodeNpz(members: Record<string, NpzMember>, level: 0 | 1 | 6 | 9 = 6): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  for (const [name, m] of Object.entries(members)) files[`${name}.npy`] = encodeNpy(m.data, m.shape, m.bool);
  return zipSync(files, { level });
}
