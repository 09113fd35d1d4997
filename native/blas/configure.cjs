"use strict";
// binding.gyp's choice of matmul: OpenBLAS where pkg-config finds it, else the addon's portable kernel
// (src/matmul.c). CLAP_RL_OPENBLAS=0 forces the portable build (to test or compare it on a machine with OpenBLAS);
// CLAP_RL_OPENBLAS=1 makes a missing OpenBLAS a build error instead of a silent fallback.
// `node configure.cjs cflags|libs` prints that part of the compiler and linker command lines.
const { execFileSync } = require("node:child_process");

function pkgConfig(args) {
  try {
    return execFileSync("pkg-config", [...args, "openblas"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

const want = process.env.CLAP_RL_OPENBLAS ?? "";
if (!["", "0", "1"].includes(want)) {
  console.error(`CLAP_RL_OPENBLAS must be 0, 1 or unset (got '${want}')`);
  process.exit(1);
}
const openblas = want !== "0" && pkgConfig(["--exists"]) !== null;
if (want === "1" && !openblas) {
  console.error("CLAP_RL_OPENBLAS=1, but pkg-config finds no openblas (install its development package)");
  process.exit(1);
}
if (process.argv[2] === "cflags") console.log(openblas ? `-DCLAP_RL_OPENBLAS ${pkgConfig(["--cflags"])}` : "");
else console.log(openblas ? pkgConfig(["--libs"]) : "");
