/** C = op(A)·op(B) for row-major M×K · K×N operands starting at the given element offsets; C is M×N. */
export function sgemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  c: Float32Array,
  cOffset: number,
): void;
/**
 * The same product from the addon's portable kernel (native/blas/src/matmul.c), in either build, with cblas_sgemm's
 * full row-major interface: C = alpha·op(A)·op(B) + beta·C, each operand from its offset with its leading dimension
 * (elements between rows as stored; A is K×M stored when transposed). beta = 0 leaves C unread.
 */
export function portableSgemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  aOffset: number,
  lda: number,
  b: Float32Array,
  bOffset: number,
  ldb: number,
  beta: number,
  c: Float32Array,
  cOffset: number,
  ldc: number,
): void;
/** The matmul every kernel of this build uses: OpenBLAS where the build found it, else the portable kernel. */
export const matmulBackend: "openblas" | "portable";
/** Sets OpenBLAS's thread count (process-wide); the portable kernel always runs on the calling thread. */
export function setThreads(n: number): void;
export function getThreads(): number;
/** The matmul's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64". */
export function config(): string;

/**
 * Sizes of the posterior-filter recurrence (filterForward). Arrays are time-major: row t·B + i is row i of step t.
 * `widths` lists the posterior head's widths from its first layer's output to its final output:
 * [first-layer output, later hidden widths..., 2·stoch], one later layer (SELU then Linear) per consecutive pair.
 */
export interface FilterDims {
  T: number;
  B: number;
  stoch: number;
  deter: number;
  /** The GRU input width (the transition layer's output). */
  input: number;
  widths: number[];
  minStd: number;
}

/** Per-step intermediates the backward needs, per row of `saved` (floats). */
export function filterSavedWidth(dims: FilterDims): number;

/**
 * Runs the recurrence over all T steps (see native/blas/src/filter.c). Inputs: act = a_prev·W_a + b [T·B, input],
 * embed = e·W_e + b [T·B, widths[0]], noise [T·B, stoch] or null (z = mean), wz [stoch, input], wi [input, 3·deter],
 * bi [3·deter], wh [deter, 3·deter], bhn [deter], wph [deter, widths[0]], layers[j] = { w [widths[j], widths[j+1]],
 * b [widths[j+1]] }. Outputs (written): h [T·B, deter], z, mean, std [T·B, stoch], saved [T·B, filterSavedWidth].
 * Every array must have exactly its role's length (else RangeError, nothing written).
 */
export function filterForward(
  dims: FilterDims,
  operands: {
    act: Float32Array;
    embed: Float32Array;
    noise: Float32Array | null;
    wz: Float32Array;
    wi: Float32Array;
    bi: Float32Array;
    wh: Float32Array;
    bhn: Float32Array;
    wph: Float32Array;
    layers: { w: Float32Array; b: Float32Array }[];
    h: Float32Array;
    z: Float32Array;
    mean: Float32Array;
    std: Float32Array;
    saved: Float32Array;
  },
): void;

/**
 * Backpropagation through time for filterForward: given the forward's noise, weights and outputs and the upstream
 * gradients dh, dz, dmean, dstd (shaped as h, z, mean, std), writes the gradient of every differentiable input
 * (dact, dembed, dwz, dwi, dbi, dwh, dbhn, dwph, dlayers[j].w/.b), each shaped as its input.
 */
export function filterBackward(
  dims: FilterDims,
  operands: {
    noise: Float32Array | null;
    wz: Float32Array;
    wi: Float32Array;
    wh: Float32Array;
    wph: Float32Array;
    layers: { w: Float32Array }[];
    h: Float32Array;
    z: Float32Array;
    saved: Float32Array;
    dh: Float32Array;
    dz: Float32Array;
    dmean: Float32Array;
    dstd: Float32Array;
    dact: Float32Array;
    dembed: Float32Array;
    dwz: Float32Array;
    dwi: Float32Array;
    dbi: Float32Array;
    dwh: Float32Array;
    dbhn: Float32Array;
    dwph: Float32Array;
    dlayers: { w: Float32Array; b: Float32Array }[];
  },
): void;

/** y = SELU(x) elementwise (tfjs's constants; see native/blas/src/elementwise.c for the accuracy); equal lengths. */
export function selu(x: Float32Array, y: Float32Array): void;
/** y = tanh(x) elementwise; equal lengths. */
export function tanh(x: Float32Array, y: Float32Array): void;
/** dx = dy·SELU'(x), computed from the forward's output y = SELU(x); equal lengths. */
export function seluGrad(dy: Float32Array, y: Float32Array, dx: Float32Array): void;

/** Adam's hyper-parameters for one step, bias corrections folded into lr and eps by the caller; clip 0 disables it. */
export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  clip: number;
}

/**
 * One Adam step over every tensor at once. Each field lists one array per tensor, in the same order; tensor j's
 * seven arrays have equal lengths and its outputs overlap none of its other arrays (else RangeError, nothing
 * written). With c = min(1, clip / (‖g‖ + 1e-6)) over all of g: g ← c·g, m' = β₁m + (1 − β₁)g,
 * v' = β₂v + (1 − β₂)g², p' = p − lr·m' / (√v' + ε). Returns the unclipped global norm ‖g‖.
 */
export function adam(
  hyper: AdamHyper,
  operands: {
    p: Float32Array[];
    m: Float32Array[];
    v: Float32Array[];
    g: Float32Array[];
    pOut: Float32Array[];
    mOut: Float32Array[];
    vOut: Float32Array[];
  },
): number;

/**
 * Sizes of an MLP (mlpForward): `rows` input rows, `widths` = [input, hidden..., output] (layer j maps widths[j] to
 * widths[j+1]), the activation between layers, and whether the input is activated first (MLP.applyFromFirst).
 */
export interface MlpDims {
  rows: number;
  widths: number[];
  act: "selu" | "elu" | "relu" | "tanh" | "none";
  activateInput: boolean;
}

/**
 * Y = the MLP applied to X (see native/blas/src/mlp.c): x [rows, widths[0]], w[j] [widths[j], widths[j+1]],
 * b[j] [widths[j+1]]. Writes y [rows, widths[L]] and `saved`, the activated input of every layer that is not X
 * itself, one [rows, widths[j]] block per layer j in order: rows · (Σ widths[1..L−1] + widths[0] if activateInput)
 * elements. Every array must have exactly its role's length (else RangeError, nothing written).
 */
export function mlpForward(
  dims: MlpDims,
  operands: { x: Float32Array; w: Float32Array[]; b: Float32Array[]; y: Float32Array; saved: Float32Array },
): void;

/**
 * The backward chain of mlpForward from dy [rows, widths[L]]: writes `deltas`, the gradients of the hidden layers'
 * outputs before the activation, one [rows, widths[j+1]] block per layer j < L − 1 (rows · Σ widths[1..L−1]
 * elements), and db[j] [widths[j+1]], every bias gradient.
 */
export function mlpBackward(
  dims: MlpDims,
  operands: { w: Float32Array[]; saved: Float32Array; dy: Float32Array; deltas: Float32Array; db: Float32Array[] },
): void;

/**
 * The input gradient dx (shaped as x) and the weight gradients dw[j] (shaped as w[j]) from mlpBackward's deltas;
 * a null dx or dw[j] is not computed. w0 is the first layer's weight.
 */
export function mlpGrads(
  dims: MlpDims,
  operands: {
    x: Float32Array;
    w0: Float32Array;
    saved: Float32Array;
    dy: Float32Array;
    deltas: Float32Array;
    dx: Float32Array | null;
    dw: (Float32Array | null)[];
  },
): void;

/** One MLP of the imagined rollout: `widths` = [input, hidden..., output], SELU between layers. */
export interface ImagineNet {
  widths: number[];
}

/**
 * Sizes and constants of the imagined rollout (imagineForward; native/blas/src/imagine.c): `rows` start states,
 * `horizon` steps, the model's deter, stoch and latent action sizes, the action size, and the GRU input width. The
 * four MLPs: policy (deter + stoch → 2·latent), latentPrior (deter + stoch → 2·latent), decoder (deter + stoch +
 * latent → 2·action) and prior (deter → 2·stoch). The policy's m = meanScale·tanh(m_raw / meanScale),
 * s = softplus(s_raw + stdShift) + policyMinStd; ũ = μ + epsilon·σ ⊙ x; the σ of the latent action prior and the
 * state prior add latentMinStd and stateMinStd to a softplus.
 */
export interface ImagineDims {
  rows: number;
  horizon: number;
  deter: number;
  stoch: number;
  latent: number;
  action: number;
  input: number;
  policy: ImagineNet;
  latentPrior: ImagineNet;
  decoder: ImagineNet;
  prior: ImagineNet;
  meanScale: number;
  stdShift: number;
  policyMinStd: number;
  epsilon: number;
  latentMinStd: number;
  stateMinStd: number;
}

/** Floats of imagineForward's `saved` array. */
export function imagineSavedSize(dims: ImagineDims): number;

/** One MLP's weights and biases, w[j] [widths[j], widths[j+1]], b[j] [widths[j+1]]. */
export interface ImagineParams {
  w: Float32Array[];
  b: Float32Array[];
}

/**
 * The rollout over all steps. Inputs: start [rows, deter + stoch] (the features [h | z]), noisePolicy
 * [horizon, rows, latent] and noisePrior [horizon, rows, stoch] (standard normal), the four MLPs, the transition
 * layer wt [stoch + action, input] and bt [input], and the GRU's wi [input, 3·deter], bi [3·deter], wh [deter,
 * 3·deter], bhn [deter]. Outputs (written): feats [(horizon + 1)·rows, deter + stoch] (block 0 the start, block k + 1
 * the state after step k), logp [horizon·rows] (log π of each step's policy sample) and saved [imagineSavedSize].
 * Every array must have exactly its role's length (else RangeError, nothing written).
 */
export function imagineForward(
  dims: ImagineDims,
  operands: {
    start: Float32Array;
    noisePolicy: Float32Array;
    noisePrior: Float32Array;
    policy: ImagineParams;
    latentPrior: ImagineParams;
    decoder: ImagineParams;
    prior: ImagineParams;
    wt: Float32Array;
    bt: Float32Array;
    wi: Float32Array;
    bi: Float32Array;
    wh: Float32Array;
    bhn: Float32Array;
    feats: Float32Array;
    logp: Float32Array;
    saved: Float32Array;
  },
): void;

/**
 * Backpropagation through the rollout: given the forward's noise, weights (biases are not read) and outputs and the
 * upstream gradients dfeats (shaped as feats) and dlogp, writes the gradients of the policy's weights dw[j] and
 * biases db[j]. The start states and the model's parameters get none (the agent step optimises the policy alone).
 */
export function imagineBackward(
  dims: ImagineDims,
  operands: {
    noisePolicy: Float32Array;
    noisePrior: Float32Array;
    policy: { w: Float32Array[] };
    latentPrior: { w: Float32Array[] };
    decoder: { w: Float32Array[] };
    prior: { w: Float32Array[] };
    wt: Float32Array;
    wi: Float32Array;
    wh: Float32Array;
    feats: Float32Array;
    saved: Float32Array;
    dfeats: Float32Array;
    dlogp: Float32Array;
    dw: Float32Array[];
    db: Float32Array[];
  },
): void;
