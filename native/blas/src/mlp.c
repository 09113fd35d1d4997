/*
 * A multilayer perceptron of clap-rl's engine (src/engine/nn.ts MLP) as one native forward call, and its backward
 * pass as one call for the chain of layer deltas plus one per requested input gradient.
 *
 * Why: in tfjs a 3-layer MLP is ≈ 8 forward kernels (matmul, bias add, activation per layer) and ≈ 15–20 gradient
 * kernels, each paying a fixed JS dispatch cost whatever its size; the C-LAP model and agent steps run dozens of
 * MLPs on a few hundred rows, where that cost dominates.
 *
 * On `rows` rows, with layer j mapping widths w[j] → w[j+1] (j < L) and the activation f:
 *   A_0 = f(X) when the input is activated (MLP.applyFromFirst), else X
 *   Z_j = A_j·W_j + b_j,  A_{j+1} = f(Z_j)  (j < L − 1),  Y = Z_{L−1}
 * The forward saves the activated A_j (A_0 only when it is f(X)): every supported f has a derivative that is a
 * function of its output, so nothing else is needed. Backward, from dY:
 *   dZ_{L−1} = dY,  dZ_{j−1} = (dZ_j·W_jᵀ) ⊙ f'(A_j),  db_j = Σ_rows dZ_j,  dW_j = A_jᵀ·dZ_j,
 *   dX = dZ_0·W_0ᵀ (⊙ f'(A_0) when the input is activated).
 * mlpBackward computes the deltas dZ_0 … dZ_{L−2} and every db_j (column sums, cheap); mlpGrads computes dX and any
 * subset of the dW_j from them. The split lets the tfjs gradient skip the products of gradients that autodiff
 * pruned: the agent step differentiates through the frozen world model, whose weight gradients nobody reads.
 *
 * Layouts (row-major): `saved` holds one block per saved A_j, [rows, w[j]] each, in order of j (A_0 first when
 * saved); `deltas` holds dZ_0 … dZ_{L−2}, [rows, w[j+1]] each. Operands are Float32Array views of whole tensors,
 * passed by name in one object; each must have exactly the length its role implies, checked before anything is
 * written, so a caller's mistake is a RangeError or TypeError and never a write outside a tensor. The work itself is
 * the clap_mlp_*_rows functions (fused.h), which imagine.c runs on the MLPs of the imagined rollout.
 */
#include "addon.h"
#include "args.h"
#include "fused.h"
#include "matmul.h"
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_LAYERS CLAP_MLP_MAX_LAYERS

static const char* const ACT_NAMES[] = {"none", "selu", "elu", "relu", "tanh"};

/* y = f(x) elementwise; y may be x. SELU and tanh are elementwise.c's vectorised loops. */
static void act_forward(clap_act act, int64_t n, const float* x, float* y) {
  switch (act) {
    case CLAP_ACT_SELU:
      clap_selu_forward(n, x, y);
      break;
    case CLAP_ACT_TANH:
      clap_tanh_forward(n, x, y);
      break;
    case CLAP_ACT_RELU:
      for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      break;
    case CLAP_ACT_ELU:
      /* Scalar libm expm1f: no MLP of the method uses ELU, so it is not worth a vectorised exponential here. */
      for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : expm1f(x[i]);
      break;
    case CLAP_ACT_NONE:
      if (y != x) memcpy(y, x, (size_t)n * sizeof(float));
      break;
  }
}

/* dx = dy ⊙ f'(x), from the output y = f(x); dx may be dy. At y = 0 each takes the derivative tfjs's gradient takes
 * (ReLU: 0; ELU: 1, continuous there; SELU: the right derivative, as elementwise.c documents). */
static void act_backward(clap_act act, int64_t n, const float* dy, const float* y, float* dx) {
  switch (act) {
    case CLAP_ACT_SELU:
      clap_selu_backward(n, dy, y, dx);
      break;
    case CLAP_ACT_TANH:
      for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      break;
    case CLAP_ACT_RELU:
      for (int64_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
      break;
    case CLAP_ACT_ELU:
      for (int64_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : dy[i] * (y[i] + 1.0f);
      break;
    case CLAP_ACT_NONE:
      if (dx != dy) memcpy(dx, dy, (size_t)n * sizeof(float));
      break;
  }
}

/* ---- the MLP on a block of rows (fused.h) -------------------------------------------------------------------- */

/* The input of layer j and its leading dimension: X for j = 0 unless the input is activated, else A_j. */
static const float* layer_input(const clap_mlp* m, int64_t j, const float* x, int64_t ldx, float* const* a,
                                int64_t* ld) {
  const bool isX = j == 0 && !m->actInput;
  *ld = isX ? ldx : m->w[j];
  return isX ? x : a[j];
}

void clap_mlp_forward_rows(const clap_mlp* m, int64_t rows, const float* x, int64_t ldx, float* const* W,
                           float* const* b, float* const* a, float* y) {
  if (m->actInput)
    for (int64_t i = 0; i < rows; i++) act_forward(m->act, m->w[0], x + i * ldx, a[0] + i * m->w[0]);
  for (int64_t j = 0; j < m->L; j++) {
    /* Z_j is written where A_{j+1} is kept and activated in place; the bias rows go first so that one sgemm with
     * beta = 1 adds the product, instead of a second pass over the output. */
    float* z = j + 1 == m->L ? y : a[j + 1];
    const int64_t n = m->w[j + 1];
    int64_t ld;
    const float* in = layer_input(m, j, x, ldx, a, &ld);
    for (int64_t i = 0; i < rows; i++) memcpy(z + i * n, b[j], (size_t)n * sizeof(float));
    clap_gemm1(false, false, rows, n, m->w[j], in, ld, W[j], n, 1.0f, z, n);
    if (j + 1 < m->L) act_forward(m->act, rows * n, z, z);
  }
}

void clap_mlp_deltas_rows(const clap_mlp* m, int64_t rows, float* const* W, float* const* a, const float* dy,
                          float* const* dz) {
  for (int64_t j = m->L - 1; j > 0; j--) {
    float* prev = dz[j - 1];
    clap_gemm1(false, true, rows, m->w[j], m->w[j + 1], clap_mlp_delta(m, j, dy, dz), m->w[j + 1], W[j], m->w[j + 1],
               0.0f, prev, m->w[j]);
    act_backward(m->act, rows * m->w[j], prev, a[j], prev);
  }
}

void clap_mlp_dx_rows(const clap_mlp* m, int64_t rows, const float* w0, const float* a0, const float* dy,
                      float* const* dz, float beta, float* dx, int64_t ldx) {
  clap_gemm1(false, true, rows, m->w[0], m->w[1], clap_mlp_delta(m, 0, dy, dz), m->w[1], w0, m->w[1], beta, dx, ldx);
  if (m->actInput)
    for (int64_t i = 0; i < rows; i++)
      act_backward(m->act, m->w[0], dx + i * ldx, a0 + i * m->w[0], dx + i * ldx);
}

void clap_mlp_dw_rows(const clap_mlp* m, int64_t rows, int64_t j, const float* x, int64_t ldx, float* const* a,
                      const float* dy, float* const* dz, float* dw) {
  int64_t ld;
  const float* in = layer_input(m, j, x, ldx, a, &ld);
  clap_gemm1(true, false, m->w[j], m->w[j + 1], rows, in, ld, clap_mlp_delta(m, j, dy, dz), m->w[j + 1], 0.0f, dw,
             m->w[j + 1]);
}

void clap_mlp_db_rows(const clap_mlp* m, int64_t rows, int64_t j, const float* dy, float* const* dz, float* db) {
  const float* d = clap_mlp_delta(m, j, dy, dz);
  const int64_t n = m->w[j + 1];
  memset(db, 0, (size_t)n * sizeof(float));
  for (int64_t i = 0; i < rows; i++)
    for (int64_t k = 0; k < n; k++) db[k] += d[i * n + k];
}

/* ---- argument reading ---------------------------------------------------------------------------------------- */

typedef struct {
  clap_mlp m;
  int64_t rows;
  /* Element offsets of A_j in `saved` (−1 for A_0 when it is X itself) and of dZ_j in `deltas` (j < L − 1). */
  int64_t savedAt[MAX_LAYERS], deltaAt[MAX_LAYERS];
  int64_t savedLen, deltasLen;
} dims_t;

/* obj[name] as an array of L Float32Arrays, entry j of length len(j) (entries may be null where `optional`). */
static bool float_list(const arg_ctx* c, napi_value obj, const char* name, const dims_t* d,
                       int64_t (*len)(const dims_t*, int64_t), bool optional, float** out) {
  napi_value arr;
  int64_t n[MAX_LAYERS];
  for (int64_t j = 0; j < d->m.L; j++) n[j] = len(d, j);
  return arg_prop(c, obj, name, &arr) && arg_float_list(c, arr, name, (uint32_t)d->m.L, n, optional, out);
}

static int64_t weight_len(const dims_t* d, int64_t j) { return d->m.w[j] * d->m.w[j + 1]; }
static int64_t bias_len(const dims_t* d, int64_t j) { return d->m.w[j + 1]; }

static bool read_dims(const arg_ctx* c, napi_value obj, dims_t* d) {
  napi_value v;
  uint32_t n;
  clap_mlp* m = &d->m;
  if (!arg_size(c, obj, "rows", 0, &d->rows) ||
      !arg_widths(c, obj, MAX_LAYERS + 1, "widths (input, ..., output)", m->w, &n)) {
    return false;
  }
  m->L = n - 1;
  int64_t widest = 0;
  for (uint32_t j = 0; j < n; j++) widest = m->w[j] > widest ? m->w[j] : widest;
  /* BLAS takes int sizes and leading dimensions; rows × the widest layer bounds every extent passed to it. */
  if (d->rows * widest > INT32_MAX || widest * widest > INT32_MAX)
    return arg_fail(c, ARG_RANGE_ERROR, "rows × widths exceed 2^31 elements");
  char act[16];
  size_t len;
  if (!arg_prop(c, obj, "act", &v)) return false;
  if (napi_get_value_string_utf8(c->env, v, act, sizeof act, &len) != napi_ok)
    return arg_fail(c, ARG_TYPE_ERROR, "'act' must be a string");
  int k = 0;
  while (k < (int)(sizeof ACT_NAMES / sizeof ACT_NAMES[0]) && strcmp(act, ACT_NAMES[k]) != 0) k++;
  if (k == (int)(sizeof ACT_NAMES / sizeof ACT_NAMES[0]))
    return arg_fail(c, ARG_RANGE_ERROR, "'act' must be one of none, selu, elu, relu, tanh");
  m->act = (clap_act)k;
  if (!arg_prop(c, obj, "activateInput", &v)) return false;
  if (napi_get_value_bool(c->env, v, &m->actInput) != napi_ok)
    return arg_fail(c, ARG_TYPE_ERROR, "'activateInput' must be a boolean");
  int64_t s = 0, t = 0;
  for (int64_t j = 0; j < m->L; j++) {
    d->savedAt[j] = j > 0 || m->actInput ? s : -1;
    if (d->savedAt[j] >= 0) s += d->rows * m->w[j];
    d->deltaAt[j] = j + 1 < m->L ? t : -1;
    if (j + 1 < m->L) t += d->rows * m->w[j + 1];
  }
  d->savedLen = s;
  d->deltasLen = t;
  return true;
}

/* The per-layer blocks of `saved` (a[j], null for A_0 when it is X) and of `deltas` (dz[j], j < L − 1). */
static void blocks(const dims_t* d, float* saved, float* deltas, float** a, float** dz) {
  for (int64_t j = 0; j < d->m.L; j++) {
    a[j] = d->savedAt[j] < 0 ? NULL : saved + d->savedAt[j];
    dz[j] = d->deltaAt[j] < 0 ? NULL : deltas + d->deltaAt[j];
  }
}

/* ---- the three calls ----------------------------------------------------------------------------------------- */

/* mlpForward(dims, {x, w[L], b[L], y, saved}): writes Y and the saved activations. */
napi_value clap_mlp_forward(napi_env env, napi_callback_info info) {
  arg_ctx c = {env, "mlpForward"};
  napi_value argv[2];
  dims_t d;
  float *x, *y, *saved, *w[MAX_LAYERS], *b[MAX_LAYERS], *a[MAX_LAYERS], *dz[MAX_LAYERS];
  if (!arg_dims_operands(&c, info, argv) || !read_dims(&c, argv[0], &d)) return arg_bad(&c);
  napi_value o = argv[1];
  const int64_t N = d.rows, L = d.m.L;
  if (!arg_operand(&c, o, "x", N * d.m.w[0], &x) || !float_list(&c, o, "w", &d, weight_len, false, w) ||
      !float_list(&c, o, "b", &d, bias_len, false, b) || !arg_operand(&c, o, "y", N * d.m.w[L], &y) ||
      !arg_operand(&c, o, "saved", d.savedLen, &saved)) {
    return arg_bad(&c);
  }
  blocks(&d, saved, NULL, a, dz);
  clap_mlp_forward_rows(&d.m, N, x, d.m.w[0], w, b, a, y);
  return NULL;
}

/* mlpBackward(dims, {w[L], saved, dy, deltas, db[L]}): writes dZ_0 … dZ_{L−2} to `deltas` and every db_j. */
napi_value clap_mlp_backward(napi_env env, napi_callback_info info) {
  arg_ctx c = {env, "mlpBackward"};
  napi_value argv[2];
  dims_t d;
  float *saved, *dy, *deltas, *w[MAX_LAYERS], *db[MAX_LAYERS], *a[MAX_LAYERS], *dz[MAX_LAYERS];
  if (!arg_dims_operands(&c, info, argv) || !read_dims(&c, argv[0], &d)) return arg_bad(&c);
  napi_value o = argv[1];
  const int64_t N = d.rows, L = d.m.L;
  if (!float_list(&c, o, "w", &d, weight_len, false, w) || !arg_operand(&c, o, "saved", d.savedLen, &saved) ||
      !arg_operand(&c, o, "dy", N * d.m.w[L], &dy) || !arg_operand(&c, o, "deltas", d.deltasLen, &deltas) ||
      !float_list(&c, o, "db", &d, bias_len, false, db)) {
    return arg_bad(&c);
  }
  blocks(&d, saved, deltas, a, dz);
  clap_mlp_deltas_rows(&d.m, N, w, a, dy, dz);
  for (int64_t j = 0; j < L; j++) clap_mlp_db_rows(&d.m, N, j, dy, dz, db[j]);
  return NULL;
}

/* mlpGrads(dims, {x, w0, saved, dy, deltas, dx, dw[L]}): writes dX unless dx is null and each dW_j whose dw[j] is
 * not null, from mlpBackward's deltas. */
napi_value clap_mlp_grads(napi_env env, napi_callback_info info) {
  arg_ctx c = {env, "mlpGrads"};
  napi_value argv[2], v;
  dims_t d;
  float *x, *w0, *saved, *dy, *deltas, *dx, *dw[MAX_LAYERS], *a[MAX_LAYERS], *dz[MAX_LAYERS];
  if (!arg_dims_operands(&c, info, argv) || !read_dims(&c, argv[0], &d)) return arg_bad(&c);
  napi_value o = argv[1];
  const int64_t N = d.rows, L = d.m.L, W0 = d.m.w[0];
  if (!arg_operand(&c, o, "x", N * W0, &x) || !arg_operand(&c, o, "w0", W0 * d.m.w[1], &w0) ||
      !arg_operand(&c, o, "saved", d.savedLen, &saved) || !arg_operand(&c, o, "dy", N * d.m.w[L], &dy) ||
      !arg_operand(&c, o, "deltas", d.deltasLen, &deltas) || !arg_prop(&c, o, "dx", &v) ||
      !arg_floats(&c, v, "dx", N * W0, true, &dx) || !float_list(&c, o, "dw", &d, weight_len, true, dw)) {
    return arg_bad(&c);
  }
  blocks(&d, saved, deltas, a, dz);
  if (dx != NULL) clap_mlp_dx_rows(&d.m, N, w0, a[0], dy, dz, 0.0f, dx, W0);
  for (int64_t j = 0; j < L; j++)
    if (dw[j] != NULL) clap_mlp_dw_rows(&d.m, N, j, x, W0, a, dy, dz, dw[j]);
  return NULL;
}
