/** Typed-array helpers shared by the HDF5 and npy readers. */

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Element type in numpy spelling; "bool" is numpy's bool (h5py stores it as a FALSE/TRUE enum over int8). */
export type ElementType =
  | "float32"
  | "float64"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "bool"
  | "string"
  | "other";

export function isFloatType(t: ElementType): boolean {
  return t === "float32" || t === "float64";
}

/** Bool, any integer width, or float: the storage kinds D4RL and Minari files use for flags. */
export function isFlagType(t: ElementType): boolean {
  return t !== "string" && t !== "other";
}

/** A float32 copy (or the array itself when it already is float32). */
export function toFloat32(a: NumericArray): Float32Array {
  if (a instanceof Float32Array) return a;
  const out = new Float32Array(a.length);
  if (a instanceof BigInt64Array || a instanceof BigUint64Array) {
    for (let i = 0; i < a.length; i++) out[i] = Number(a[i]);
  } else {
    out.set(a);
  }
  return out;
}

/** Flags as 0/1 bytes; any non-zero value counts as set. */
export function toFlags(a: NumericArray): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Number(a[i]) !== 0 ? 1 : 0;
  return out;
}

export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function shapeString(shape: readonly number[]): string {
  return `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;
}
