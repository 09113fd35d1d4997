import { test } from "node:test";
import assert from "node:assert/strict";

test("the package entry point exposes the public API under its own name", async () => {
  const api = await import("clap-rl");
  for (const name of ["initEngine", "makeEnv", "listEnvs", "loadDataset", "WindowSampler", "TransitionSampler", "LatentActionModel", "ConstrainedPolicy", "train", "evaluate", "normalizedScore100", "writeRunReport", "presetConfig", "buildRunConfig", "algorithm"]) {
    assert.equal(typeof (api as Record<string, unknown>)[name], "function", `${name} is exported`);
  }
  assert.ok(api.listEnvs().some((e) => e.id === "hopper"));
  assert.deepEqual([...api.ALGORITHM_NAMES], ["clap", "bc", "plas", "mopo", "mobile"]);
  assert.equal(api.buildRunConfig("clap", { preset: "tiny" }).data.window, 10);
  assert.equal(api.buildRunConfig("bc", { preset: "tiny" }).algo, "bc");
});
