/**
 * Engine micro-benchmarks (docs/design/engine.md §2): (a) the MLP step, (b) the 50-step GRU BPTT step and (d) matmul
 * throughput, each on the stock wasm BatchMatMul kernel and, when the addon loads, on its kernel: with 1 and 2 BLAS
 * threads where it was built with OpenBLAS, once where it was built with its portable (single-threaded) matmul. Times are medians over repeated steps after warm-up.
 *
 * Run alone: `npm run build && clap-rl bench engine --json`.
 */
import { loadavg } from "node:os";
import { initEngine, tf } from "../engine/tf.js";
import { blasActive, blasStatus, disableBlas, enableBlas, setBlasThreads } from "../engine/blas.js";
import { GRUCell, MLP } from "../engine/nn.js";
import { Adam } from "../engine/optim.js";
import { Rng } from "../engine/rng.js";
import { round, timeMedian, type Timing } from "./timing.js";

const SIZES = {
  mlp: { in: 17, hidden: [256, 256, 256, 256], out: 6, act: "selu", batch: 1024 },
  gru: { in: 64, hidden: 256, batch: 64, steps: 50 },
  matmul: { m: 1024, k: 1024, n: 1024 },
  matmulTransposed: { m: 1024, k: 256, n: 256 },
};
const WARMUP = 2;

/** Medians of `step` over `reps` runs after WARMUP unmeasured ones. */
function time(step: () => void, reps: number): Timing {
  return timeMedian(step, WARMUP, reps);
}

function randomTensor(shape: number[], rng: Rng): tf.Tensor {
  const d = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < d.length; i++) d[i] = rng.normal();
  return tf.tensor(d, shape);
}

/** (a): forward + backward + Adam on a regression loss. */
function mlpStep(reps: number): Timing {
  const s = SIZES.mlp;
  const rng = new Rng(1);
  const net = new MLP(s.in, s.hidden, s.out, rng.split("net"), { act: "selu" });
  const x = randomTensor([s.batch, s.in], rng.split("x")) as tf.Tensor2D;
  const y = randomTensor([s.batch, s.out], rng.split("y"));
  const opt = new Adam(net.namedParams(), { lr: 1e-4 });
  const loss = () => ({ loss: tf.mean(tf.square(tf.sub(net.apply(x), y))) as tf.Scalar });
  const t = time(() => void opt.minimize(loss), reps);
  opt.dispose();
  net.dispose();
  tf.dispose([x, y]);
  return t;
}

/** (b): the GRU unrolled over the sequence, loss on every hidden state, BPTT + Adam. */
function gruStep(reps: number): Timing {
  const s = SIZES.gru;
  const rng = new Rng(2);
  const cell = new GRUCell(s.in, s.hidden, rng.split("cell"));
  const xs = tf.unstack(randomTensor([s.steps, s.batch, s.in], rng.split("x"))) as tf.Tensor2D[];
  const opt = new Adam(cell.namedParams(), { lr: 1e-4 });
  const t = time(
    () =>
      void opt.minimize(() => {
        let h = tf.zeros([s.batch, s.hidden]) as tf.Tensor2D;
        const losses: tf.Tensor[] = [];
        for (const x of xs) {
          h = cell.apply(x, h);
          losses.push(tf.mean(tf.square(h)));
        }
        return { loss: tf.addN(losses) as tf.Scalar };
      }),
    reps,
  );
  opt.dispose();
  cell.dispose();
  tf.dispose(xs);
  return t;
}

/** One matmul, its result read back so the time includes the whole kernel. */
function matmul(m: number, k: number, n: number, transposeB: boolean, reps: number): Timing {
  const rng = new Rng(3);
  const a = randomTensor([m, k], rng.split("a"));
  const b = randomTensor(transposeB ? [n, k] : [k, n], rng.split("b"));
  const t = time(() => tf.tidy(() => void tf.matMul(a, b, false, transposeB).dataSync()), reps);
  tf.dispose([a, b]);
  return t;
}

interface PathResult {
  mlp: Timing;
  gru: Timing;
  matmul: Timing & { gflops: number };
  matmulTransposeB: Timing;
}

function measure(): PathResult {
  const { m, k, n } = SIZES.matmul;
  const t = SIZES.matmulTransposed;
  const mm = matmul(m, k, n, false, 10);
  return {
    mlp: mlpStep(10),
    gru: gruStep(6),
    matmul: { ...mm, gflops: (2 * m * k * n) / (mm.ms * 1e6) },
    matmulTransposeB: matmul(t.m, t.k, t.n, true, 10),
  };
}


export async function benchEngine(): Promise<Record<string, unknown>> {
  await initEngine();
  // Recorded because the benchmark machine is often shared: wall times are only comparable at similar load.
  const loadAvg1m = round(loadavg()[0], 2);
  const status = blasStatus();
  const paths: Record<string, PathResult> = {};
  if (!status.available) {
    paths.wasm = measure();
  } else {
    const wasActive = blasActive();
    try {
      disableBlas("benchmark: stock wasm kernel");
      paths.wasm = measure();
      enableBlas();
      const native = blasStatus().path;
      if (native === "openblas") {
        for (const threads of [1, 2]) {
          setBlasThreads(threads);
          paths[`openblas-${threads}t`] = measure();
        }
      } else {
        paths[native] = measure();
      }
    } finally {
      setBlasThreads(status.threads ?? 1);
      if (wasActive) enableBlas();
      else disableBlas(status.reason);
    }
  }
  const base = paths.wasm;
  const speedup: Record<string, Record<string, number>> = {};
  for (const [name, r] of Object.entries(paths)) {
    if (name === "wasm") continue;
    speedup[name] = {
      mlp: round(base.mlp.ms / r.mlp.ms, 2),
      gru: round(base.gru.ms / r.gru.ms, 2),
      matmul: round(base.matmul.ms / r.matmul.ms, 2),
      matmulTransposeB: round(base.matmulTransposeB.ms / r.matmulTransposeB.ms, 2),
      mlpCpu: round(base.mlp.cpuMs / r.mlp.cpuMs, 2),
      gruCpu: round(base.gru.cpuMs / r.gru.cpuMs, 2),
    };
  }
  const rounded = JSON.parse(JSON.stringify(paths, (_k, v: unknown) => (typeof v === "number" ? round(v) : v)));
  return { sizes: SIZES, loadAvg1m, blas: status, results: rounded, speedup };
}
