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
 * written, so a caller's mistake is a RangeError or TypeError and never a write outside a tensor.
 */
#include "addon.h"
#include "args.h"
#include "matmul.h"
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Layers are held in fixed arrays; MLPs in configs have a handful. */
#define MAX_LAYERS 64

typedef enum { ACT_NONE, ACT_SELU, ACT_ELU, ACT_RELU, ACT_TANH } act_t;

static const char* const ACT_NAMES[] = {"none", "selu", "elu", "relu", "tanh"};

/* y = f(x) elementwise; y may be x. SELU and tanh are elementwise.c's vectorised loops. */
static void act_forward(act_t act, int64_t n, const float* x, float* y) {
  switch (act) {
    case ACT_SELU:
      clap_selu_forward(n, x, y);
      break;
    case ACT_TANH:
      clap_tanh_forward(n, x, y);
      break;
    case ACT_RELU:
      for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      break;
    case ACT_ELU:
      /* Scalar libm expm1f: no MLP of the method uses ELU, so it is not worth a vectorised exponential here. */
      for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : expm1f(x[i]);
      break;
    case ACT_NONE:
      if (y != x) memcpy(y, x, (size_t)n * sizeof(float));
      break;
  }
}

/* dx = dy ⊙ f'(x), from the output y = f(x); dx may be dy. At y = 0 each takes the derivative tfjs's gradient takes
 * (ReLU: 0; ELU: 1, continuous there; SELU: the right derivative, as elementwise.c documents). */
static void act_backward(act_t act, int64_t n, const float* dy, const float* y, float* dx) {
  switch (act) {
    case ACT_SELU:
      clap_selu_backward(n, dy, y, dx);
      break;
    case ACT_TANH:
      for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      break;
    case ACT_RELU:
      for (int64_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
      break;
    case ACT_ELU:
      for (int64_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : dy[i] * (y[i] + 1.0f);
      break;
    case ACT_NONE:
      if (dx != dy) memcpy(dx, dy, (size_t)n * sizeof(float));
      break;
  }
}

/* C (m×n) = op(A)·op(B) + beta·C, row-major, packed. BLAS rejects k = 0, an empty sum. */
static void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, const float* b, float beta,
                 float* c) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == 0.0f) memset(c, 0, (size_t)(m * n) * sizeof(float));
    return;
  }
  clap_gemm(ta, tb, m, n, k, 1.0f, a, ta ? m : k, b, tb ? k : n, beta, c, n);
}

/* ---- argument reading ---------------------------------------------------------------------------------------- */

typedef struct {
  int64_t rows, L;
  int64_t w[MAX_LAYERS + 1];
  act_t act;
  bool actInput;
  /* Element offsets of A_j in `saved` (−1 for A_0 when it is X itself) and of dZ_j in `deltas` (j < L − 1). */
  int64_t savedAt[MAX_LAYERS], deltaAt[MAX_LAYERS];
  int64_t savedLen, deltasLen;
} dims_t;

/* obj[name] as an array of L Float32Arrays, entry j of length len(j) (entries may be null where `optional`). */
static bool float_list(const arg_ctx* c, napi_value obj, const char* name, const dims_t* d,
                       int64_t (*len)(const dims_t*, int64_t), bool optional, float** out) {
  napi_value arr, item;
  uint32_t n;
  char label[64];
  if (!arg_prop(c, obj, name, &arr)) return false;
  if (!arg_array_length(c, arr, &n) || (int64_t)n != d->L)
    return arg_fail(c, ARG_RANGE_ERROR, "'%s' must be an array of %lld arrays (one per layer)", name,
                    (long long)d->L);
  for (uint32_t j = 0; j < n; j++) {
    snprintf(label, sizeof label, "%s[%u]", name, j);
    if (napi_get_element(c->env, arr, j, &item) != napi_ok ||
        !arg_floats(c, item, label, len(d, j), optional, &out[j])) {
      return false;
    }
  }
  return true;
}

static int64_t weight_len(const dims_t* d, int64_t j) { return d->w[j] * d->w[j + 1]; }
static int64_t bias_len(const dims_t* d, int64_t j) { return d->w[j + 1]; }

static bool read_dims(const arg_ctx* c, napi_value obj, dims_t* d) {
  napi_value v;
  uint32_t n;
  if (!arg_size(c, obj, "rows", 0, &d->rows) ||
      !arg_widths(c, obj, MAX_LAYERS + 1, "widths (input, ..., output)", d->w, &n)) {
    return false;
  }
  d->L = n - 1;
  int64_t widest = 0;
  for (uint32_t j = 0; j < n; j++) widest = d->w[j] > widest ? d->w[j] : widest;
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
  d->act = (act_t)k;
  if (!arg_prop(c, obj, "activateInput", &v)) return false;
  if (napi_get_value_bool(c->env, v, &d->actInput) != napi_ok)
    return arg_fail(c, ARG_TYPE_ERROR, "'activateInput' must be a boolean");
  int64_t s = 0, t = 0;
  for (int64_t j = 0; j < d->L; j++) {
    d->savedAt[j] = j > 0 || d->actInput ? s : -1;
    if (d->savedAt[j] >= 0) s += d->rows * d->w[j];
    d->deltaAt[j] = j + 1 < d->L ? t : -1;
    if (j + 1 < d->L) t += d->rows * d->w[j + 1];
  }
  d->savedLen = s;
  d->deltasLen = t;
  return true;
}

/* The input of layer j: X for j = 0 unless the input is activated, else its saved block. */
static const float* layer_input(const dims_t* d, int64_t j, const float* x, const float* saved) {
  return d->savedAt[j] < 0 ? x : saved + d->savedAt[j];
}

/* The gradient of layer j's output Z_j: dY for the last layer, else its deltas block. */
static float* layer_delta(const dims_t* d, int64_t j, float* dy, float* deltas) {
  return j + 1 == d->L ? dy : deltas + d->deltaAt[j];
}

/* ---- the three calls ----------------------------------------------------------------------------------------- */

/* mlpForward(dims, {x, w[L], b[L], y, saved}): writes Y and the saved activations. */
napi_value clap_mlp_forward(napi_env env, napi_callback_info info) {
  arg_ctx c = {env, "mlpForward"};
  napi_value argv[2];
  dims_t d;
  float *x, *y, *saved, *w[MAX_LAYERS], *b[MAX_LAYERS];
  if (!arg_dims_operands(&c, info, argv) || !read_dims(&c, argv[0], &d)) return arg_bad(&c);
  napi_value o = argv[1];
  const int64_t N = d.rows, L = d.L;
  if (!arg_operand(&c, o, "x", N * d.w[0], &x) || !float_list(&c, o, "w", &d, weight_len, false, w) ||
      !float_list(&c, o, "b", &d, bias_len, false, b) || !arg_operand(&c, o, "y", N * d.w[L], &y) ||
      !arg_operand(&c, o, "saved", d.savedLen, &saved)) {
    return arg_bad(&c);
  }
  if (d.actInput) act_forward(d.act, N * d.w[0], x, saved);
  for (int64_t j = 0; j < L; j++) {
    /* Z_j is written where A_{j+1} is kept and activated in place; the bias rows go first so that one sgemm with
     * beta = 1 adds the product, instead of a second pass over the output. */
    float* z = j + 1 == L ? y : saved + d.savedAt[j + 1];
    const int64_t n = d.w[j + 1];
    for (int64_t i = 0; i < N; i++) memcpy(z + i * n, b[j], (size_t)n * sizeof(float));
    gemm(false, false, N, n, d.w[j], layer_input(&d, j, x, saved), w[j], 1.0f, z);
    if (j + 1 < L) act_forward(d.act, N * n, z, z);
  }
  return NULL;
}

/* mlpBackward(dims, {w[L], saved, dy, deltas, db[L]}): writes dZ_0 … dZ_{L−2} to `deltas` and every db_j. */
napi_value clap_mlp_backward(napi_env env, napi_callback_info info) {
  arg_ctx c = {env, "mlpBackward"};
  napi_value argv[2];
  dims_t d;
  float *saved, *dy, *deltas, *w[MAX_LAYERS], *db[MAX_LAYERS];
  if (!arg_dims_operands(&c, info, argv) || !read_dims(&c, argv[0], &d)) return arg_bad(&c);
  napi_value o = argv[1];
  const int64_t N = d.rows, L = d.L;
  if (!float_list(&c, o, "w", &d, weight_len, false, w) || !arg_operand(&c, o, "saved", d.savedLen, &saved) ||
      !arg_operand(&c, o, "dy", N * d.w[L], &dy) || !arg_operand(&c, o, "deltas", d.deltasLen, &deltas) ||
      !float_list(&c, o, "db", &d, bias_len, false, db)) {
    return arg_bad(&c);
  }
  for (int64_t j = L - 1; j >= 0; j--) {
    const float* dz = layer_delta(&d, j, dy, deltas);
    const int64_t n = d.w[j + 1];
    memset(db[j], 0, (size_t)n * sizeof(float));
    for (int64_t i = 0; i < N; i++)
      for (int64_t k = 0; k < n; k++) db[j][k] += dz[i * n + k];
    if (j == 0) break;
    float* prev = deltas + d.deltaAt[j - 1];
    gemm(false, true, N, d.w[j], n, dz, w[j], 0.0f, prev);
    act_backward(d.act, N * d.w[j], prev, saved + d.savedAt[j], prev);
  }
  return NULL;
}

/* mlpGrads(dims, {x, w0, saved, dy, deltas, dx, dw[L]}): writes dX unless dx is null and each dW_j whose dw[j] is
 * not null, from mlpBackward's deltas. */
napi_value clap_mlp_grads(napi_env env, napi_callback_info info) {
  arg_ctx c = {env, "mlpGrads"};
  napi_value argv[2], v;
  dims_t d;
  float *x, *w0, *saved, *dy, *deltas, *dx, *dw[MAX_LAYERS];
  if (!arg_dims_operands(&c, info, argv) || !read_dims(&c, argv[0], &d)) return arg_bad(&c);
  napi_value o = argv[1];
  const int64_t N = d.rows, L = d.L;
  if (!arg_operand(&c, o, "x", N * d.w[0], &x) || !arg_operand(&c, o, "w0", d.w[0] * d.w[1], &w0) ||
      !arg_operand(&c, o, "saved", d.savedLen, &saved) || !arg_operand(&c, o, "dy", N * d.w[L], &dy) ||
      !arg_operand(&c, o, "deltas", d.deltasLen, &deltas) || !arg_prop(&c, o, "dx", &v) ||
      !arg_floats(&c, v, "dx", N * d.w[0], true, &dx) || !float_list(&c, o, "dw", &d, weight_len, true, dw)) {
    return arg_bad(&c);
  }
  if (dx != NULL) {
    gemm(false, true, N, d.w[0], d.w[1], layer_delta(&d, 0, dy, deltas), w0, 0.0f, dx);
    if (d.actInput) act_backward(d.act, N * d.w[0], dx, saved, dx);
  }
  for (int64_t j = 0; j < L; j++) {
    if (dw[j] != NULL)
      gemm(true, false, d.w[j], d.w[j + 1], N, layer_input(&d, j, x, saved), layer_delta(&d, j, dy, deltas), 0.0f,
           dw[j]);
  }
  return NULL;
}
