/**
 * Cached report inputs in a run directory (references.json, action-check.json): a value with the key it was
 * computed from, so re-rendering a report skips the dataset load and the model pass when nothing changed.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomic } from "../util/atomic.js";

export interface CacheEntry<K, V> {
  key: K;
  value: V;
  computedAt: string;
}

/** Identity of a dataset file as far as caching goes; null when the file (or folder) is gone. */
export interface FileStamp {
  path: string;
  size: number;
  mtimeMs: number;
}

export function fileStamp(path: string): FileStamp | null {
  if (!existsSync(path)) return null;
  const st = statSync(path);
  return { path, size: st.size, mtimeMs: st.mtimeMs };
}

export function readCache<K, V>(runDir: string, file: string): CacheEntry<K, V> | null {
  const path = join(runDir, file);
  if (!existsSync(path)) return null;
  try {
    const c = JSON.parse(readFileSync(path, "utf8")) as CacheEntry<K, V>;
    return c && typeof c === "object" && "key" in c && "value" in c && typeof c.computedAt === "string" ? c : null;
  } catch {
    // A damaged cache is recomputed, not an error.
    return null;
  }
}

/** Writes the entry and returns its time stamp. */
export function writeCache<K, V>(runDir: string, file: string, key: K, value: V): string {
  const computedAt = new Date().toISOString();
  writeJsonAtomic(join(runDir, file), { key, value, computedAt } satisfies CacheEntry<K, V>);
  return computedAt;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** Structural equality of JSON-like keys, whatever the order of their fields. */
export function sameKey(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}
