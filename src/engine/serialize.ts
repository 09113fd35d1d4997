/**
 * Named float32 arrays in one binary blob: a little-endian u32 header length, a JSON header listing names, shapes
 * and offsets, padding to 4 bytes, then the raw float32 data. One file per blob keeps checkpoint writes atomic
 * (written to a temp file, then renamed) and loads without parsing numbers as text.
 */
import { readFileSync } from "node:fs";
import { tf } from "./tf.js";
import { writeFileAtomic } from "../util/atomic.js";
import { UserError } from "../errors.js";

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = "clap-rl-tensors-v1";

export function encodeArrays(arrays: Map<string, NamedArray>): Uint8Array {
  const entries: { name: string; shape: number[]; offset: number; length: number }[] = [];
  let offset = 0;
  for (const [name, a] of arrays) {
    const expected = a.shape.reduce((x, y) => x * y, 1);
    if (expected !== a.data.length) throw new Error(`array '${name}': shape ${a.shape} does not match ${a.data.length} values`);
    entries.push({ name, shape: a.shape, offset, length: a.data.length });
    offset += a.data.length;
  }
  const header = new TextEncoder().encode(JSON.stringify({ magic: MAGIC, entries }));
  const headerPadded = Math.ceil((4 + header.length) / 4) * 4;
  const buf = new Uint8Array(headerPadded + offset * 4);
  new DataView(buf.buffer).setUint32(0, header.length, true);
  buf.set(header, 4);
  const floats = new Float32Array(buf.buffer, headerPadded, offset);
  for (const e of entries) floats.set(arrays.get(e.name)!.data, e.offset);
  return buf;
}

export function decodeArrays(buf: Uint8Array, source = "<buffer>"): Map<string, NamedArray> {
  const bad = (why: string) => new UserError(`${source}: not a clap-rl tensor file (${why})`);
  if (buf.length < 4) throw bad("too short");
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLength = view.getUint32(0, true);
  if (4 + headerLength > buf.length) throw bad("header length past end of file");
  let header: { magic?: string; entries?: { name: string; shape: number[]; offset: number; length: number }[] };
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(4, 4 + headerLength)));
  } catch {
    throw bad("unreadable header");
  }
  if (header.magic !== MAGIC || !Array.isArray(header.entries)) throw bad("wrong magic");
  const dataStart = Math.ceil((4 + headerLength) / 4) * 4;
  const total = header.entries.reduce((n, e) => n + e.length, 0);
  if (dataStart + total * 4 > buf.length) throw bad(`truncated: expected ${total} floats`);
  // Copy (Node's Buffer.slice is a view) so the result owns aligned memory whatever the input's offset.
  const floats = new Float32Array(new Uint8Array(buf.subarray(dataStart, dataStart + total * 4)).buffer);
  const out = new Map<string, NamedArray>();
  for (const e of header.entries) {
    out.set(e.name, { shape: e.shape, data: floats.subarray(e.offset, e.offset + e.length) });
  }
  return out;
}

export function saveArrays(path: string, arrays: Map<string, NamedArray>): void {
  writeFileAtomic(path, encodeArrays(arrays));
}

export function loadArrays(path: string): Map<string, NamedArray> {
  let buf: Uint8Array;
  try {
    buf = readFileSync(path);
  } catch {
    throw new UserError(`cannot read tensor file '${path}'`);
  }
  return decodeArrays(buf, path);
}

/** Snapshot of named variables as arrays. */
export function variablesToArrays(vars: Map<string, tf.Variable>, prefix = ""): Map<string, NamedArray> {
  const out = new Map<string, NamedArray>();
  for (const [name, v] of vars) out.set(prefix + name, { shape: v.shape, data: v.dataSync() as Float32Array });
  return out;
}

/** Assigns arrays to named variables; every variable must be present with the same shape. */
export function assignArrays(vars: Map<string, tf.Variable>, arrays: Map<string, NamedArray>, prefix = "", source = "checkpoint"): void {
  for (const [name, v] of vars) {
    const a = arrays.get(prefix + name);
    if (!a) throw new UserError(`${source}: missing parameter '${prefix + name}'`);
    if (a.shape.length !== v.shape.length || a.shape.some((d, i) => d !== v.shape[i])) {
      throw new UserError(`${source}: parameter '${prefix + name}' has shape [${a.shape}], expected [${v.shape}]`);
    }
    tf.tidy(() => v.assign(tf.tensor(a.data, v.shape)));
  }
}
