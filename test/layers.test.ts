/**
 * Layers import one way (README "Layout"): engine → envs → data → models → algorithms → eval/report → training →
 * regen → bench → cli. The test reads the import statements of every src/**.ts file (the sources, found from the
 * repository root: this file runs as dist/test/layers.test.js) and fails naming each file that imports a higher layer.
 *
 * - Foundation, usable by every layer: src/errors.ts, src/util/, src/config/, and the two measurement helpers of
 *   src/bench/ (timing.ts, pytorch.ts) that each algorithm's own benchmark section uses. Foundation files import
 *   foundation files only.
 * - src/index.ts (the public API) may import anything; src/bench/ (the suite behind `clap-rl bench`) anything
 *   but cli.
 * - One exception: algorithms import the acting-policy types of src/eval/policy.ts (`import type` only, so nothing
 *   of eval is loaded); the module imports nothing itself.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import test from "node:test";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SRC = join(ROOT, "src");

const FOUNDATION = 0;
const RANKS: Record<string, number> = {
  engine: 1,
  envs: 2,
  data: 3,
  models: 4,
  algorithms: 5,
  eval: 6,
  report: 6,
  training: 7,
  regen: 8,
  bench: 9,
  cli: 10,
};
const TOP = 11;
const FOUNDATION_FILES = new Set(["errors.ts", "bench/timing.ts", "bench/pytorch.ts"]);
const FOUNDATION_DIRS = new Set(["util", "config"]);
/** Allowed upward imports: importer's layer, imported file (relative to src/), `import type` only. */
const EXCEPTIONS = [{ from: "algorithms", to: "eval/policy.ts", typeOnly: true }];

/** Path relative to src/ with `/` separators. */
function srcPath(file: string): string {
  return relative(SRC, file).split(sep).join("/");
}

function layerOf(rel: string): { name: string; rank: number } {
  if (rel === "index.ts") return { name: "index", rank: TOP };
  if (FOUNDATION_FILES.has(rel)) return { name: "foundation", rank: FOUNDATION };
  const dir = rel.split("/")[0];
  if (FOUNDATION_DIRS.has(dir)) return { name: "foundation", rank: FOUNDATION };
  const rank = RANKS[dir];
  if (rank === undefined) throw new Error(`src/${rel}: not in any layer; add its folder to test/layers.test.ts`);
  return { name: dir, rank };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

interface ImportStatement {
  specifier: string;
  typeOnly: boolean;
  text: string;
}

/** Static imports and re-exports (`import … from`, `export … from`, `import "x"`) and literal `import("x")`. */
function importsOf(source: string): ImportStatement[] {
  const out: ImportStatement[] = [];
  const fromClause = /^[ \t]*(import|export)\s+(type\s+)?([\w\s{},*$]*?)\s*from\s*["']([^"']+)["']/gm;
  for (const m of source.matchAll(fromClause)) out.push({ specifier: m[4], typeOnly: m[2] !== undefined, text: m[0].trim() });
  for (const m of source.matchAll(/^[ \t]*import\s*["']([^"']+)["']/gm)) out.push({ specifier: m[1], typeOnly: false, text: m[0].trim() });
  for (const m of source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) out.push({ specifier: m[1], typeOnly: false, text: m[0] });
  return out;
}

/** One line per import of a higher layer in `files` (absolute paths under src/). */
function violations(files: string[], read: (file: string) => string): string[] {
  const bad: string[] = [];
  for (const file of files) {
    const from = layerOf(srcPath(file));
    for (const imp of importsOf(read(file))) {
      if (!imp.specifier.startsWith(".")) continue;
      const target = resolve(dirname(file), imp.specifier).replace(/\.js$/, ".ts");
      const rel = srcPath(target);
      if (rel.startsWith("..")) continue; // outside src/ (the native addon, package.json)
      const to = layerOf(rel);
      if (to.rank <= from.rank) continue;
      if (EXCEPTIONS.some((x) => x.from === from.name && x.to === rel && (!x.typeOnly || imp.typeOnly))) continue;
      bad.push(`src/${srcPath(file)} (${from.name}) imports src/${rel} (${to.name}): ${imp.text}`);
    }
  }
  return bad;
}

test("layers import one way: no file under src/ imports a higher layer", () => {
  assert.ok(existsSync(join(SRC, "index.ts")), `no sources at ${SRC}`);
  const files = sourceFiles(SRC);
  assert.ok(files.length > 100, `only ${files.length} source files found under ${SRC}`);
  const read = (f: string) => readFileSync(f, "utf8");
  const count = files.reduce((n, f) => n + importsOf(read(f)).filter((i) => i.specifier.startsWith(".")).length, 0);
  assert.ok(count > 500, `only ${count} relative imports parsed`);
  const bad = violations(files, read);
  assert.deepEqual(bad, [], `imports against the layer order:\n${bad.join("\n")}`);
});

test("the layer check catches upward imports, including multi-line, re-exported and dynamic ones", () => {
  const sources: Record<string, string> = {
    [join(SRC, "data", "a.ts")]: 'import {\n  x,\n  type Y,\n} from "../algorithms/registry.js";\n',
    [join(SRC, "eval", "b.ts")]: 'export { z } from "../regen/generate.js";\n',
    [join(SRC, "util", "c.ts")]: 'const m = await import("../engine/tf.js");\n',
    [join(SRC, "algorithms", "d.ts")]: 'import { loadPolicy } from "../eval/policy.js";\nimport type { Policy } from "../eval/policy.js";\n',
    [join(SRC, "cli", "e.ts")]: 'import { makeDataset } from "../regen/generate.js";\nimport { x } from "../util/atomic.js";\n',
  };
  const bad = violations(Object.keys(sources), (f) => sources[f]);
  assert.deepEqual(bad, [
    'src/data/a.ts (data) imports src/algorithms/registry.ts (algorithms): import {\n  x,\n  type Y,\n} from "../algorithms/registry.js"',
    'src/eval/b.ts (eval) imports src/regen/generate.ts (regen): export { z } from "../regen/generate.js"',
    'src/util/c.ts (foundation) imports src/engine/tf.ts (engine): import("../engine/tf.js")',
    'src/algorithms/d.ts (algorithms) imports src/eval/policy.ts (eval): import { loadPolicy } from "../eval/policy.js"',
  ]);
});
