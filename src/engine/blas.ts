/**
 * Optional native accelerator: the wasm backend's BatchMatMul forward kernel replaced by the addon's sgemm
 * (docs/design/engine.md §4.2), through the N-API addon in native/blas (package `@clap-rl/blas`, an optional dependency).
 * The addon's matmul is OpenBLAS `cblas_sgemm` where the build found OpenBLAS, else its own portable kernel
 * (native/blas/src/matmul.c); `BlasStatus.path` names which.
 *
 * The kernel reads its operands and writes its result in place on the wasm heap, so nothing is copied between JS
 * and wasm. Transpose flags become BLAS transpose arguments instead of the wasm backend's slow transposed loops.
 * When the addon is missing (its build failed or npm did not run it) everything stays on the stock wasm kernel, and
 * the process says so once on stderr; results agree to float32 rounding either way.
 */
import { createRequire } from "node:module";
import { isMainThread } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { UserError } from "../errors.js";

/**
 * The addon's interface. The type comes from the folder in this repository (always present, erased at compile time);
 * the module itself is loaded at run time only when the optional dependency built.
 */
export type BlasAddon = typeof import("../../native/blas/index.js");

export const BLAS_PACKAGE = "@clap-rl/blas";

/** Which BatchMatMul path runs, with enough detail for the bench JSON and the run manifest. */
export interface BlasStatus {
  /** The addon's matmul ("openblas" or "portable", as built) while the native kernel is registered, otherwise "wasm". */
  path: "openblas" | "portable" | "wasm";
  /** Whether the addon loaded (it may be available but switched off). */
  available: boolean;
  /** Why the native path is not active, when it is not. */
  reason?: string;
  /** The matmul's build string (OpenBLAS's, or the portable kernel's name) and thread count, when the addon loaded. */
  openblas?: string;
  threads?: number;
  /** Whether LatentActionModel.observe runs the fused native posterior-filter kernel (src/engine/fused-filter.ts)
   * instead of its tfjs loop: needs the native kernel active and the fused switch on. */
  fusedFilter: boolean;
  /** Whether MLP.apply / applyFromFirst run the fused native MLP kernels (src/engine/fused-mlp.ts) instead of one
   * tfjs kernel per matmul, bias and activation: needs the native kernel active and the fused-MLP switch on. */
  fusedMlp: boolean;
  /** Whether the agent step's imagined rollout runs the fused native kernel (src/engine/fused-imagination.ts) instead
   * of its tfjs loop: needs the native kernel active and the fused-imagination switch on. */
  fusedImagination: boolean;
  /** The tfjs kernels that the addon's elementwise code runs while the native path is active (Selu, Tanh, the SELU
   * gradient, the all-parameter Adam step; src/engine/native-elementwise.ts); empty on the wasm path. */
  nativeElementwise: string[];
}

/**
 * Native kernels beyond BatchMatMul that follow the same switch: `toggle` receives the addon when the native path
 * switches on and null when it switches off; `kernels` names the tfjs kernels it then serves, for the status.
 */
export interface NativeKernelSet {
  kernels: readonly string[];
  toggle: (lib: BlasAddon | null) => void;
}

let addon: BlasAddon | null | undefined;
let loadError = "";
let stockKernel: tf.KernelConfig | null = null;
/** Why the native path was switched off explicitly; null when it was never switched off or was re-enabled. */
let offReason: string | null = null;
/**
 * The fused-op switches, each set by its environment variable: "filter" (CLAP_RL_FUSED_FILTER, the posterior-filter
 * recurrence), "mlp" (CLAP_RL_FUSED_MLP) and "imagination" (CLAP_RL_FUSED_IMAGINATION, the agent step's imagined
 * rollout). A fused op runs only while its switch is on and the native kernel is active.
 */
export type FusedOp = "filter" | "mlp" | "imagination";
const fusedOn: Record<FusedOp, boolean> = { filter: true, mlp: true, imagination: true };
const FUSED_ENV: Record<FusedOp, string> = { filter: "CLAP_RL_FUSED_FILTER", mlp: "CLAP_RL_FUSED_MLP", imagination: "CLAP_RL_FUSED_IMAGINATION" };
const kernelSets: NativeKernelSet[] = [];

function loadAddon(): BlasAddon | null {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)(BLAS_PACKAGE) as BlasAddon;
      // One BLAS thread unless the user sets OpenBLAS's own variable: the model's matmuls are small, a second
      // thread gained under 10% at model level (docs/design/engine.md §2) and loses badly when tests, workers or other jobs
      // already occupy the cores, because idle OpenBLAS threads spin.
      if (process.env.OPENBLAS_NUM_THREADS === undefined) addon.setThreads(1);
    } catch (e) {
      addon = null;
      const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
      loadError = `${BLAS_PACKAGE} did not load (${msg})`;
    }
  }
  return addon;
}

/** The loaded addon, or null when it is unavailable. */
export function blasAddon(): BlasAddon | null {
  return loadAddon();
}

/** Makes `set` follow enableBlas/disableBlas from now on, starting from the current state. */
export function followBlasSwitch(set: NativeKernelSet): void {
  kernelSets.push(set);
  set.toggle(blasActive() ? loadAddon() : null);
}

/** Whether the native addon can be loaded in this process. */
export function blasAvailable(): boolean {
  return loadAddon() !== null;
}

/** Whether the native kernel is the registered wasm BatchMatMul kernel right now. */
export function blasActive(): boolean {
  return stockKernel !== null;
}

/** Whether the fused native op runs (see BlasStatus.fusedFilter / fusedMlp / fusedImagination). */
export function fusedActive(op: FusedOp): boolean {
  return fusedOn[op] && blasActive();
}

/** Switches a fused op on or off (its tfjs version runs when off); it also needs the native kernel. */
export function setFused(op: FusedOp, on: boolean): void {
  fusedOn[op] = on;
}

export function blasStatus(): BlasStatus {
  const lib = loadAddon();
  const status: BlasStatus = {
    path: blasActive() && lib !== null ? lib.matmulBackend : "wasm",
    available: lib !== null,
    fusedFilter: fusedActive("filter"),
    fusedMlp: fusedActive("mlp"),
    fusedImagination: fusedActive("imagination"),
    nativeElementwise: blasActive() ? kernelSets.flatMap((k) => k.kernels) : [],
  };
  if (!blasActive()) status.reason = offReason ?? (lib === null ? loadError : "not enabled");
  if (lib !== null) {
    status.openblas = lib.config();
    status.threads = lib.getThreads();
  }
  return status;
}

/**
 * Matrix offsets (in matrices) of one operand for each element of the broadcast batch, row-major over
 * `outBatch`. Broadcasting follows NumPy: the operand's batch shape is right-aligned and its size-1 axes repeat.
 */
function batchOffsets(batch: number[], outBatch: number[]): number[] {
  const r = outBatch.length;
  const lead = r - batch.length;
  const strides = new Array<number>(r);
  let stride = 1;
  for (let d = r - 1; d >= 0; d--) {
    const dim = d >= lead ? batch[d - lead] : 1;
    strides[d] = dim === 1 ? 0 : stride;
    stride *= dim;
  }
  const total = outBatch.reduce((p, x) => p * x, 1);
  const offsets = new Array<number>(total);
  for (let i = 0; i < total; i++) {
    let rem = i;
    let off = 0;
    for (let d = r - 1; d >= 0; d--) {
      const c = rem % outBatch[d];
      rem = (rem - c) / outBatch[d];
      off += c * strides[d];
    }
    offsets[i] = off;
  }
  return offsets;
}

function makeKernel(lib: BlasAddon): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    const wasm = backend as BackendWasm;
    if (a.dtype !== "float32" || b.dtype !== "float32") {
      throw new Error(`BatchMatMul: only float32 is supported (got ${a.dtype} and ${b.dtype})`);
    }
    const ra = a.shape.length;
    const rb = b.shape.length;
    const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
    const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    if (k !== kb) {
      throw new Error(
        `BatchMatMul: inner dimensions ${k} and ${kb} differ (shapes [${a.shape}] and [${b.shape}], ` +
          `transposeA=${transposeA}, transposeB=${transposeB})`,
      );
    }
    const aBatch = a.shape.slice(0, -2);
    const bBatch = b.shape.slice(0, -2);
    const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(aBatch, bBatch);
    // Allocate first: malloc may grow the wasm memory, which detaches every view taken before it.
    const out = wasm.makeOutput([...outBatch, m, n], "float32");
    const av = wasm.typedArrayFromHeap(a) as Float32Array;
    const bv = wasm.typedArrayFromHeap(b) as Float32Array;
    const cv = wasm.typedArrayFromHeap(out) as Float32Array;
    const aOff = batchOffsets(aBatch, outBatch);
    const bOff = batchOffsets(bBatch, outBatch);
    for (let i = 0; i < aOff.length; i++) {
      lib.sgemm(transposeA, transposeB, m, n, k, av, aOff[i] * m * k, bv, bOff[i] * k * n, cv, i * m * n);
    }
    return out;
  };
}

/**
 * Replaces the wasm BatchMatMul kernel with the addon's, and switches the kernel sets that follow it
 * (`followBlasSwitch`). Returns whether the native kernel is now active (false when the addon is unavailable; see
 * `blasStatus().reason`). Idempotent. The §4.1 gradient override stays registered: it is correct on either kernel.
 */
export function enableBlas(): boolean {
  offReason = null;
  if (blasActive()) return true;
  const lib = loadAddon();
  if (lib === null) return false;
  // Swapping before the backend is set up would leave the stock kernel's setup unrun, breaking disableBlas.
  if (tf.getBackend() !== "wasm") {
    throw new Error("enableBlas: the wasm backend is not active (await initEngine() first)");
  }
  const stock = tf.getKernel(tf.BatchMatMul, "wasm");
  if (!stock) throw new Error("enableBlas: the wasm backend's BatchMatMul kernel is not registered");
  tf.unregisterKernel(tf.BatchMatMul, "wasm");
  tf.registerKernel({ kernelName: tf.BatchMatMul, backendName: "wasm", kernelFunc: makeKernel(lib) });
  stockKernel = stock;
  for (const k of kernelSets) k.toggle(lib);
  return true;
}

/** Restores the stock wasm BatchMatMul kernel and the pure-wasm kernels of every set that follows the switch. */
export function disableBlas(reason = "disabled"): void {
  offReason = reason;
  if (stockKernel === null) return;
  tf.unregisterKernel(tf.BatchMatMul, "wasm");
  // The stock kernel's setup already ran when the backend initialised, so re-registering its config suffices.
  tf.registerKernel(stockKernel);
  stockKernel = null;
  for (const k of kernelSets) k.toggle(null);
}

/** Sets OpenBLAS's (process-wide) thread count; returns false when the addon is unavailable. */
export function setBlasThreads(n: number): boolean {
  const lib = loadAddon();
  if (lib === null) return false;
  lib.setThreads(n);
  return true;
}

const NOTICE_ENV = "CLAP_RL_BLAS_NOTICE_SHOWN";

/**
 * Says on stderr, in one line, that the native kernels are missing, why, and what that costs: otherwise a fresh
 * install whose addon did not build just runs every experiment ≈ 4× slower without a hint. Once per process tree:
 * not from worker threads, and not from child processes (sweeps, evaluation), which inherit the marker variable.
 */
function noticeFallback(): void {
  if (!isMainThread || process.env[NOTICE_ENV] === "1") return;
  process.env[NOTICE_ENV] = "1";
  process.stderr.write(`clap-rl: native kernels unavailable, so training runs on pure wasm, ≈ 4× slower per step: ${loadError}\n`);
}

/**
 * Applies the `CLAP_RL_BLAS` environment switch: unset or empty uses the addon when it loads, "0" forces pure
 * wasm, "1" requires the addon (so a CI job meant to test the native path cannot silently fall back). The native
 * elementwise kernels (native-elementwise.ts) follow the same switch.
 * `CLAP_RL_FUSED_FILTER` likewise switches the fused posterior-filter kernel, which runs only on the native path:
 * unset or empty uses it whenever the addon is active, "0" keeps the tfjs loop, "1" requires it.
 * `CLAP_RL_FUSED_MLP` switches the fused MLP kernels the same way ("0": one tfjs kernel per matmul, bias and activation),
 * and `CLAP_RL_FUSED_IMAGINATION` the fused imagined rollout of the agent step ("0": its tfjs loop).
 */
export function configureBlasFromEnv(env: NodeJS.ProcessEnv = process.env): BlasStatus {
  const v = env.CLAP_RL_BLAS ?? "";
  const fused = (Object.keys(FUSED_ENV) as FusedOp[]).map((op) => {
    const value = env[FUSED_ENV[op]] ?? "";
    if (value !== "" && value !== "0" && value !== "1") throw new UserError(`${FUSED_ENV[op]} must be 0, 1 or unset (got '${value}')`);
    return { op, value };
  });
  if (v === "0") {
    disableBlas("disabled by CLAP_RL_BLAS=0");
  } else if (v === "" || v === "1") {
    if (!enableBlas()) {
      if (v === "1") throw new UserError(`CLAP_RL_BLAS=1 requires the native addon, but ${loadError}`);
      noticeFallback();
    }
  } else {
    throw new UserError(`CLAP_RL_BLAS must be 0, 1 or unset (got '${v}')`);
  }
  for (const { op, value } of fused) {
    fusedOn[op] = value !== "0";
    if (value === "1" && !fusedActive(op)) throw new UserError(`${FUSED_ENV[op]}=1 requires the native addon, but ${blasStatus().reason}`);
  }
  return blasStatus();
}
