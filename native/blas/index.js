"use strict";
// Loads the compiled module. When there is none, the error says why (install.cjs leaves the build's failure in
// build/install-error.txt), which clap-rl and the root postinstall print as the reason the native path is off.
const fs = require("node:fs");
const path = require("node:path");

try {
  module.exports = require("./build/Release/clap_rl_blas.node");
} catch (e) {
  if (e.code !== "MODULE_NOT_FOUND") throw e;
  const note = path.join(__dirname, "build", "install-error.txt");
  if (fs.existsSync(note)) throw new Error(`its build failed: ${fs.readFileSync(note, "utf8").trim()}`);
  throw new Error("it was never built: npm did not run its install script (--ignore-scripts?); run `npm rebuild @clap-rl/blas`");
}
