/**
 * `datasets` bench section: transitions per second of `dataset make` at a small size, end to end (simulation,
 * behaviour policy, HDF5 write), of one SAC update at the behaviour-training settings (2 × 256, batch 256), and the
 * time `loadDataset` takes to read a 1M-transition D4RL file (halfcheetah sizes, obs 17, action 6) into the store.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initEngine } from "../engine/tf.js";
import { Rng } from "../engine/rng.js";
import { SacAgent } from "../algorithms/sac.js";
import { makeDataset } from "../regen/generate.js";
import { policyFiles } from "../regen/policies.js";
import { parseDatasetName } from "../data/registry.js";
import { syntheticD4rl } from "../data/synthetic.js";
import { writeD4rl } from "../data/d4rl.js";
import { loadDataset } from "../data/load.js";

const ROWS = 20_000;

export async function benchDatasets(): Promise<Record<string, unknown>> {
  await initEngine();
  const home = mkdtempSync(join(tmpdir(), "clap-bench-datasets-"));
  const saved = process.env.CLAP_RL_HOME;
  process.env.CLAP_RL_HOME = home;
  const out: Record<string, unknown> = { rows: ROWS };
  try {
    const names = ["clap:halfcheetah/random", ...(existsSync(policyFiles("hopper", "medium").bin) ? ["clap:hopper/medium"] : [])];
    for (const id of names) {
      const t0 = performance.now();
      const { card } = await makeDataset(parseDatasetName(id), { size: ROWS, seed: 0 });
      const secs = (performance.now() - t0) / 1000;
      out[id] = { seconds: +secs.toFixed(2), transitionsPerSecond: Math.round(ROWS / secs), bytes: card.bytes };
    }
    const agent = new SacAgent(11, 3, new Rng(0));
    const rng = new Rng(1);
    const B = 256;
    const f = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    const batch = { obs: f(B * 11), act: f(B * 3).map(Math.tanh), rew: f(B), nextObs: f(B * 11), terminal: new Float32Array(B) };
    for (let i = 0; i < 3; i++) agent.update(batch, rng);
    const n = 20;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) agent.update(batch, rng);
    const ms = (performance.now() - t0) / n;
    agent.dispose();
    out.sacUpdateHopper = { msPerUpdate: +ms.toFixed(1), updatesPerSecond: +(1000 / ms).toFixed(1) };
    const bigPath = join(home, "d4rl-1m.hdf5");
    const rows = 1_000_000;
    await writeD4rl(bigPath, syntheticD4rl({ rows, obsDim: 17, actDim: 6, seed: 1 }));
    const tLoad = performance.now();
    const store = await loadDataset(bigPath);
    out.load1M = { rows, obsDim: 17, actDim: 6, seconds: +((performance.now() - tLoad) / 1000).toFixed(2), episodes: store.episodes.length };
    return out;
  } finally {
    if (saved === undefined) delete process.env.CLAP_RL_HOME;
    else process.env.CLAP_RL_HOME = saved;
    rmSync(home, { recursive: true, force: true });
  }
}
