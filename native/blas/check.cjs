"use strict";
// clap-rl's postinstall: npm shows no output of a dependency's install script, so the root package reports, in one
// line, when the addon did not build, why, and what it costs. Silent when the addon loads.
try {
  require("@clap-rl/blas");
} catch (e) {
  const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
  console.warn(`clap-rl: native kernels unavailable, so training will run on pure wasm, ≈ 4× slower per step: @clap-rl/blas did not load (${why})`);
}
