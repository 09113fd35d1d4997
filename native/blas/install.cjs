"use strict";
// The package's install script: node-gyp rebuild, and when that fails, the reason in one line in
// build/install-error.txt (the full output in build/install.log) and a successful exit. Failing the script would
// make npm drop this optional dependency silently and then report its install script as "not covered by
// allowScripts", which sends the user the wrong way; index.js and the root postinstall pass the reason on instead.
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const build = path.join(__dirname, "build");
// npm names its bundled node-gyp in npm_config_node_gyp (the node-gyp it puts on PATH is a shim that needs it);
// run by hand, node-gyp comes from PATH, through a shell on Windows to run its .cmd.
const opts = { cwd: __dirname, encoding: "utf8" };
const gyp = process.env.npm_config_node_gyp;
const r = gyp
  ? spawnSync(process.execPath, [gyp, "rebuild"], opts)
  : spawnSync("node-gyp", ["rebuild"], { ...opts, shell: process.platform === "win32" });
if (r.status !== 0) {
  const log = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  fs.mkdirSync(build, { recursive: true });
  fs.writeFileSync(path.join(build, "install.log"), log);
  fs.writeFileSync(path.join(build, "install-error.txt"), `${reason(r, log)} (full output: ${path.join(build, "install.log")})\n`);
}

/**
 * The line of the build output that names the failure: a compiler, shell or gyp diagnostic (a missing header or
 * compiler), else make's failed target, else node-gyp's own error (no Python, no make, no Node headers).
 */
function reason(result, log) {
  if (result.error) return `node-gyp could not start (${result.error.message})`;
  const lines = log.split("\n").map((l) => l.trim());
  const diagnostic = lines.find((l) => !l.startsWith("gyp") && /:\d+:\d+: (fatal )?error:|: not found$|No such file or directory|^[A-Za-z]+Error: /.test(l));
  const make = lines.find((l) => /^make(\[\d+\])?: \*\*\*/.test(l));
  // node-gyp's message may span several "stack" lines before the trace's "at ..." lines.
  const stack = lines.filter((l) => l.startsWith("gyp ERR! stack ")).map((l) => l.slice("gyp ERR! stack ".length));
  const first = stack.findIndex((l) => l.startsWith("Error: "));
  const end = stack.findIndex((l, i) => i > first && l.startsWith("at "));
  const gyp = first < 0 ? undefined : stack.slice(first, end < 0 ? undefined : end).join(" ").slice("Error: ".length);
  return diagnostic ?? make ?? gyp ?? `node-gyp rebuild exited with ${result.status ?? result.signal}`;
}
