/*
 * The posterior-filter recurrence of clap-rl's latent action model (LatentActionModel.observe) as one native forward
 * and one native backward (BPTT) call. In tfjs every one of the T sequential steps costs ≈ 30 forward and ≈ 50
 * gradient kernels on B-row tensors, each paying a fixed JS dispatch cost; here a whole window is one call.
 *
 * For t = 0..T−1, on B rows at a time, time-major ([T·B, ·] arrays, row t·B + i):
 *   x_t = SELU(z_{t−1}·W_z + A_t)                      (z_{−1} = 0)
 *   h_t = GRU(x_t, h_{t−1})                             (h_{−1} = 0; nn.ts gruCell: gates r, z, n)
 *   p_t = h_t·W_h + E_t
 *   o_t = head(p_t): for each later posterior layer j, p ← SELU(p)·W_j + b_j; o_t = [mean | raw]
 *   std_t = softplus(raw) + minStd,  z_t = mean + std ⊙ ε_t  (or mean without noise)
 * A and E are the loop-invariant parts of the two concatenated-input layers, precomputed by the caller.
 *
 * Operands are Float32Array views of whole tensors on the wasm heap, passed by name in one object. Each must have
 * exactly the length its role implies, checked before anything is written, so a caller's mistake is a RangeError
 * and never a write outside a tensor. Matmuls go to clap_gemm (matmul.h), elementwise work is plain loops; the GRU
 * gate update is defined here and shared with imagine.c (fused.h).
 */
#include "addon.h"
#include "args.h"
#include "fused.h"
#include "matmul.h"
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The later posterior layers are held in fixed arrays; configs use a handful. */
#define MAX_LAYERS 32

/* out[k] = Σ_i x[i·ld + k] over `rows` rows, k < n. */
static void colsum(const float* x, int64_t rows, int64_t n, int64_t ld, float* out) {
  memset(out, 0, (size_t)n * sizeof(float));
  for (int64_t i = 0; i < rows; i++)
    for (int64_t k = 0; k < n; k++) out[k] += x[i * ld + k];
}

/* ---- GRU gates (fused.h) ------------------------------------------------------------------------------------- */

void clap_gru_forward(int64_t B, int64_t D, const float* gi, const float* gh, const float* hprev, int64_t ldhp,
                      const float* bhn, float* h, int64_t ldh, float* s, int64_t lds) {
  const int64_t G = 3 * D;
  /* Row by row in passes, so that the sigmoids and the tanh run as elementwise.c's vectorised loops (libm's expf and
   * tanhf, one call per element, took most of the imagined rollout's forward time). */
  for (int64_t i = 0; i < B; i++) {
    const float* a = gi + i * G;
    const float* c = hprev ? gh + i * G : NULL;
    const float* hp = hprev ? hprev + i * ldhp : NULL;
    float* si = s + i * lds;
    float* ht = h + i * ldh;
    for (int64_t k = 0; k < 2 * D; k++) si[k] = a[k] + (c ? c[k] : 0.0f);
    clap_sigmoid_forward(2 * D, si, si);
    for (int64_t k = 0; k < D; k++) {
      const float g = (c ? c[2 * D + k] : 0.0f) + bhn[k];
      si[3 * D + k] = g;
      si[2 * D + k] = a[2 * D + k] + si[k] * g;
    }
    clap_tanh_forward(D, si + 2 * D, si + 2 * D);
    for (int64_t k = 0; k < D; k++) {
      const float n = si[2 * D + k];
      ht[k] = n + si[D + k] * ((hp ? hp[k] : 0.0f) - n);
    }
  }
}

void clap_gru_backward(int64_t B, int64_t D, const float* dh, const float* s, int64_t lds, const float* hprev,
                       int64_t ldhp, float* dgi, float* dgh, float* dhprev, int64_t lddh) {
  const int64_t G = 3 * D;
  for (int64_t i = 0; i < B; i++) {
    const float* si = s + i * lds;
    float* gI = dgi + i * G;
    float* gH = dgh + i * G;
    for (int64_t k = 0; k < D; k++) {
      const float r = si[k], zg = si[D + k], n = si[2 * D + k], g = si[3 * D + k];
      const float hp = hprev ? hprev[i * ldhp + k] : 0.0f, dhk = dh[i * D + k];
      const float dnPre = dhk * (1.0f - zg) * (1.0f - n * n);
      const float dzPre = dhk * (hp - n) * zg * (1.0f - zg);
      const float drPre = dnPre * g * r * (1.0f - r);
      gI[k] = gH[k] = drPre;
      gI[D + k] = gH[D + k] = dzPre;
      gI[2 * D + k] = dnPre;
      gH[2 * D + k] = dnPre * r;
      if (dhprev) dhprev[i * lddh + k] = dhk * zg;
    }
  }
}

/* ---- argument reading ---------------------------------------------------------------------------------------- */

typedef struct {
  int64_t T, B, S, D, in; /* steps, rows per step, stoch, deter, GRU input width */
  int64_t L;              /* later posterior layers */
  int64_t w[MAX_LAYERS + 1]; /* posterior widths: w[0] = first-layer output, w[L] = 2·stoch */
  int64_t wmax;              /* the largest of w */
  float minStd;
  /* Column offsets inside a row of the saved array (see saved_layout). */
  int64_t sw, oR, oZ, oN, oG, oA[MAX_LAYERS], oRaw;
} dims_t;

/* `name` may be null or undefined (→ *out = NULL) or a Float32Array of n elements. Not arg_floats(…, true, …),
 * whose TypeError adds "or null": the messages are part of the addon's interface and stay as callers know them. */
static bool get_optional_floats(const arg_ctx* c, napi_value obj, const char* name, int64_t n, float** out) {
  napi_value v;
  if (!arg_prop(c, obj, name, &v)) return false;
  if (arg_is_nullish(c, v)) {
    *out = NULL;
    return true;
  }
  return arg_floats(c, v, name, n, false, out);
}

/* A saved row: [x (in) | r | z | n | W_hn·h + b_hn (D each) | SELU input of each later layer j (w[j]) | raw (S)]. */
static void saved_layout(dims_t* d) {
  d->oR = d->in;
  d->oZ = d->oR + d->D;
  d->oN = d->oZ + d->D;
  d->oG = d->oN + d->D;
  int64_t o = d->oG + d->D;
  for (int64_t j = 0; j < d->L; j++) {
    d->oA[j] = o;
    o += d->w[j];
  }
  d->oRaw = o;
  d->sw = o + d->S;
}

static bool read_dims(const arg_ctx* c, napi_value obj, dims_t* d) {
  uint32_t n;
  napi_value v;
  if (!arg_size(c, obj, "T", 1, &d->T) || !arg_size(c, obj, "B", 1, &d->B) || !arg_size(c, obj, "stoch", 1, &d->S) ||
      !arg_size(c, obj, "deter", 1, &d->D) || !arg_size(c, obj, "input", 1, &d->in) ||
      !arg_widths(c, obj, MAX_LAYERS + 1, "posterior widths (first-layer output, ..., 2·stoch)", d->w, &n)) {
    return false;
  }
  d->L = n - 1;
  if (d->w[d->L] != 2 * d->S)
    return arg_fail(c, ARG_RANGE_ERROR, "the last of 'widths' must be 2·stoch (mean and raw standard deviation)");
  double minStd;
  if (!arg_prop(c, obj, "minStd", &v)) return false;
  if (napi_get_value_double(c->env, v, &minStd) != napi_ok || !isfinite(minStd))
    return arg_fail(c, ARG_RANGE_ERROR, "'minStd' must be a finite number");
  d->minStd = (float)minStd;
  saved_layout(d);
  d->wmax = 0;
  for (int64_t j = 0; j <= d->L; j++) d->wmax = d->w[j] > d->wmax ? d->w[j] : d->wmax;
  /* Every array below is indexed with int64 arithmetic, but BLAS takes int sizes; T·B times the widest row
   * bounds every product passed to it. */
  int64_t widest = d->sw > 3 * d->D ? d->sw : 3 * d->D;
  widest = d->wmax > widest ? d->wmax : widest;
  if (d->T * d->B * widest > INT32_MAX)
    return arg_fail(c, ARG_RANGE_ERROR, "T·B times the row widths exceeds 2^31 elements");
  return true;
}

/* The later posterior layers: `name` is an array of L objects {w, b?}. */
static bool read_layers(const arg_ctx* c, napi_value obj, const char* name, const dims_t* d, bool withBias, float** w,
                        float** b) {
  napi_value arr, item, v;
  uint32_t n;
  if (!arg_prop(c, obj, name, &arr)) return false;
  if (!arg_array_length(c, arr, &n) || (int64_t)n != d->L) {
    return arg_fail(c, ARG_RANGE_ERROR, "'%s' must be an array of %lld layers (one per width after the first)", name,
                    (long long)d->L);
  }
  for (uint32_t j = 0; j < n; j++) {
    char label[64];
    if (napi_get_element(c->env, arr, j, &item) != napi_ok) return false;
    snprintf(label, sizeof label, "%s[%u].w", name, j);
    if (!arg_prop(c, item, "w", &v) || !arg_floats(c, v, label, d->w[j] * d->w[j + 1], false, &w[j])) return false;
    if (withBias) {
      snprintf(label, sizeof label, "%s[%u].b", name, j);
      if (!arg_prop(c, item, "b", &v) || !arg_floats(c, v, label, d->w[j + 1], false, &b[j])) return false;
    }
  }
  return true;
}

/* ---- forward ------------------------------------------------------------------------------------------------- */

/* filterSavedWidth(dims): floats per row of the `saved` array. */
napi_value clap_filter_saved_width(napi_env env, napi_callback_info info) {
  arg_ctx c = {env, "filterSavedWidth"};
  napi_value argv[1], out;
  dims_t d;
  if (!arg_count(&c, info, 1, argv, "takes 1 argument") || !read_dims(&c, argv[0], &d)) return arg_bad(&c);
  if (napi_create_int64(env, d.sw, &out) != napi_ok) return NULL;
  return out;
}

napi_value clap_filter_forward(napi_env env, napi_callback_info info) {
  arg_ctx c = {env, "filterForward"};
  napi_value argv[2];
  dims_t d;
  if (!arg_dims_operands(&c, info, argv) || !read_dims(&c, argv[0], &d)) return arg_bad(&c);
  const int64_t T = d.T, B = d.B, S = d.S, D = d.D, IN = d.in, L = d.L, R = T * B, G = 3 * D, SW = d.sw;
  const int64_t* w = d.w;
  napi_value o = argv[1];
  float *act, *embed, *noise, *wz, *wi, *bi, *wh, *bhn, *wph, *h, *z, *mean, *stdv, *saved;
  float *lw[MAX_LAYERS], *lb[MAX_LAYERS];
  if (!arg_operand(&c, o, "act", R * IN, &act) || !arg_operand(&c, o, "embed", R * w[0], &embed) ||
      !get_optional_floats(&c, o, "noise", R * S, &noise) || !arg_operand(&c, o, "wz", S * IN, &wz) ||
      !arg_operand(&c, o, "wi", IN * G, &wi) || !arg_operand(&c, o, "bi", G, &bi) ||
      !arg_operand(&c, o, "wh", D * G, &wh) || !arg_operand(&c, o, "bhn", D, &bhn) ||
      !arg_operand(&c, o, "wph", D * w[0], &wph) ||
      !read_layers(&c, o, "layers", &d, true, lw, lb) || !arg_operand(&c, o, "h", R * D, &h) ||
      !arg_operand(&c, o, "z", R * S, &z) || !arg_operand(&c, o, "mean", R * S, &mean) ||
      !arg_operand(&c, o, "std", R * S, &stdv) || !arg_operand(&c, o, "saved", R * SW, &saved)) {
    return arg_bad(&c);
  }
  const int64_t wmax = d.wmax;
  float* scratch = malloc((size_t)(B * (IN + 2 * G + 2 * wmax)) * sizeof(float));
  if (scratch == NULL) {
    arg_fail(&c, ARG_ERROR, "out of memory for scratch buffers");
    return NULL;
  }
  float* xpre = scratch;         /* [B, IN] */
  float* gi = xpre + B * IN;     /* [B, 3D] */
  float* gh = gi + B * G;        /* [B, 3D] */
  float* p = gh + B * G;         /* [B, wmax], ping-pong with q */
  float* q = p + B * wmax;

  for (int64_t t = 0; t < T; t++) {
    const int64_t r0 = t * B;
    float* srow = saved + r0 * SW;
    const float* hprev = t > 0 ? h + (r0 - B) * D : NULL;
    /* x = SELU(z_{t−1}·W_z + A_t), the product first then the sum, as the tfjs loop does. */
    memcpy(xpre, act + r0 * IN, (size_t)(B * IN) * sizeof(float));
    if (t > 0) clap_gemm1(false, false, B, IN, S, z + (r0 - B) * S, S, wz, IN, 1.0f, xpre, IN);
    for (int64_t i = 0; i < B; i++) clap_selu_forward(IN, xpre + i * IN, srow + i * SW);
    /* GRU: gi = x·W_i + b_i, gh = h·W_h (zero at t = 0). */
    for (int64_t i = 0; i < B; i++) memcpy(gi + i * G, bi, (size_t)G * sizeof(float));
    clap_gemm1(false, false, B, G, IN, srow, SW, wi, G, 1.0f, gi, G);
    if (hprev) clap_gemm1(false, false, B, G, D, hprev, D, wh, G, 0.0f, gh, G);
    clap_gru_forward(B, D, gi, gh, hprev, D, bhn, h + r0 * D, D, srow + d.oR, SW);
    /* Posterior head: p = h·W_h + E_t, then SELU and Linear per later layer. */
    memcpy(p, embed + r0 * w[0], (size_t)(B * w[0]) * sizeof(float));
    clap_gemm1(false, false, B, w[0], D, h + r0 * D, D, wph, w[0], 1.0f, p, w[0]);
    for (int64_t j = 0; j < L; j++) {
      float* aj = srow + d.oA[j];
      for (int64_t i = 0; i < B; i++) {
        clap_selu_forward(w[j], p + i * w[j], aj + i * SW);
        memcpy(q + i * w[j + 1], lb[j], (size_t)w[j + 1] * sizeof(float));
      }
      clap_gemm1(false, false, B, w[j + 1], w[j], aj, SW, lw[j], w[j + 1], 1.0f, q, w[j + 1]);
      float* swap = p;
      p = q;
      q = swap;
    }
    for (int64_t i = 0; i < B; i++) {
      const int64_t row = (r0 + i) * S;
      for (int64_t k = 0; k < S; k++) {
        const float m = p[i * 2 * S + k], raw = p[i * 2 * S + S + k];
        const float sd = softplus(raw) + d.minStd;
        srow[i * SW + d.oRaw + k] = raw;
        mean[row + k] = m;
        stdv[row + k] = sd;
        z[row + k] = noise ? m + sd * noise[row + k] : m;
      }
    }
  }
  free(scratch);
  return NULL;
}

/* ---- backward ------------------------------------------------------------------------------------------------ */

napi_value clap_filter_backward(napi_env env, napi_callback_info info) {
  arg_ctx c = {env, "filterBackward"};
  napi_value argv[2];
  dims_t d;
  if (!arg_dims_operands(&c, info, argv) || !read_dims(&c, argv[0], &d)) return arg_bad(&c);
  const int64_t T = d.T, B = d.B, S = d.S, D = d.D, IN = d.in, L = d.L, R = T * B, G = 3 * D, SW = d.sw;
  const int64_t* w = d.w;
  napi_value o = argv[1];
  float *noise, *wz, *wi, *wh, *wph, *h, *z, *saved, *dh, *dz, *dmean, *dstd;
  float *dact, *dembed, *dwz, *dwi, *dbi, *dwh, *dbhn, *dwph;
  float *lw[MAX_LAYERS], *dlw[MAX_LAYERS], *dlb[MAX_LAYERS];
  if (!get_optional_floats(&c, o, "noise", R * S, &noise) || !arg_operand(&c, o, "wz", S * IN, &wz) ||
      !arg_operand(&c, o, "wi", IN * G, &wi) || !arg_operand(&c, o, "wh", D * G, &wh) ||
      !arg_operand(&c, o, "wph", D * w[0], &wph) || !read_layers(&c, o, "layers", &d, false, lw, NULL) ||
      !arg_operand(&c, o, "h", R * D, &h) || !arg_operand(&c, o, "z", R * S, &z) ||
      !arg_operand(&c, o, "saved", R * SW, &saved) || !arg_operand(&c, o, "dh", R * D, &dh) ||
      !arg_operand(&c, o, "dz", R * S, &dz) || !arg_operand(&c, o, "dmean", R * S, &dmean) ||
      !arg_operand(&c, o, "dstd", R * S, &dstd) || !arg_operand(&c, o, "dact", R * IN, &dact) ||
      !arg_operand(&c, o, "dembed", R * w[0], &dembed) || !arg_operand(&c, o, "dwz", S * IN, &dwz) ||
      !arg_operand(&c, o, "dwi", IN * G, &dwi) || !arg_operand(&c, o, "dbi", G, &dbi) ||
      !arg_operand(&c, o, "dwh", D * G, &dwh) || !arg_operand(&c, o, "dbhn", D, &dbhn) ||
      !arg_operand(&c, o, "dwph", D * w[0], &dwph) || !read_layers(&c, o, "dlayers", &d, true, dlw, dlb)) {
    return arg_bad(&c);
  }
  /* Per-row gradients kept for all T·B rows, so each weight gradient is one sgemm over the whole window after the
   * loop: dGI/dGH (the GRU's input and recurrent gate pre-activations) and dq[j] (the output of later layer j−1;
   * dq[0] is dembed itself). Per-step carries: dzc = ∂/∂z_t and dhc = ∂/∂h_t from step t+1. */
  const int64_t wmax = d.wmax;
  int64_t qsum = 0;
  for (int64_t j = 1; j <= L; j++) qsum += w[j];
  float* scratch = malloc((size_t)(R * (2 * G + qsum) + B * (S + 2 * D + wmax + IN)) * sizeof(float));
  if (scratch == NULL) {
    arg_fail(&c, ARG_ERROR, "out of memory for scratch buffers");
    return NULL;
  }
  float* dgi = scratch;
  float* dgh = dgi + R * G;
  float* dq[MAX_LAYERS + 1];
  dq[0] = dembed;
  float* next = dgh + R * G;
  for (int64_t j = 1; j <= L; j++) {
    dq[j] = next;
    next += R * w[j];
  }
  float* dzc = next;     /* [B, S] */
  float* dhc = dzc + B * S; /* [B, D] */
  float* dht = dhc + B * D; /* [B, D] */
  float* da = dht + B * D;  /* [B, wmax] */
  float* dx = da + B * wmax; /* [B, IN] */
  memset(dzc, 0, (size_t)(B * (S + D)) * sizeof(float));

  for (int64_t t = T - 1; t >= 0; t--) {
    const int64_t r0 = t * B;
    const float* srow = saved + r0 * SW;
    const float* hprev = t > 0 ? h + (r0 - B) * D : NULL;
    /* Head output [mean | raw]: z feeds both z's own and the next step's gradient into mean and std. */
    float* dout = dq[L] + r0 * 2 * S;
    for (int64_t i = 0; i < B; i++) {
      const int64_t row = (r0 + i) * S;
      for (int64_t k = 0; k < S; k++) {
        const float dzt = dz[row + k] + dzc[i * S + k];
        const float ds = dstd[row + k] + (noise ? dzt * noise[row + k] : 0.0f);
        dout[i * 2 * S + k] = dmean[row + k] + dzt;
        dout[i * 2 * S + S + k] = ds * sigmoid(srow[i * SW + d.oRaw + k]);
      }
    }
    for (int64_t j = L - 1; j >= 0; j--) {
      clap_gemm1(false, true, B, w[j], w[j + 1], dq[j + 1] + r0 * w[j + 1], w[j + 1], lw[j], w[j + 1], 0.0f, da, w[j]);
      float* dp = dq[j] + r0 * w[j];
      const float* aj = srow + d.oA[j];
      for (int64_t i = 0; i < B; i++)
        for (int64_t k = 0; k < w[j]; k++) dp[i * w[j] + k] = da[i * w[j] + k] * selu_grad(aj[i * SW + k]);
    }
    /* ∂/∂h_t: upstream, from step t+1, and through p_t = h_t·W_h + E_t. */
    for (int64_t e = 0; e < B * D; e++) dht[e] = dh[r0 * D + e] + dhc[e];
    clap_gemm1(false, true, B, D, w[0], dembed + r0 * w[0], w[0], wph, w[0], 1.0f, dht, D);
    clap_gru_backward(B, D, dht, srow + d.oR, SW, hprev, D, dgi + r0 * G, dgh + r0 * G, dhc, D);
    if (hprev) clap_gemm1(false, true, B, D, G, dgh + r0 * G, G, wh, G, 1.0f, dhc, D);
    /* x_t = SELU(z_{t−1}·W_z + A_t). */
    clap_gemm1(false, true, B, IN, G, dgi + r0 * G, G, wi, G, 0.0f, dx, IN);
    for (int64_t i = 0; i < B; i++)
      for (int64_t k = 0; k < IN; k++) dact[(r0 + i) * IN + k] = dx[i * IN + k] * selu_grad(srow[i * SW + k]);
    if (t > 0) clap_gemm1(false, true, B, S, IN, dact + r0 * IN, IN, wz, IN, 0.0f, dzc, S);
  }

  /* Weight gradients, one sgemm each over all rows; the recurrent ones skip t = 0, whose h_{−1} and z_{−1} are 0. */
  clap_gemm1(true, false, S, IN, R - B, z, S, dact + B * IN, IN, 0.0f, dwz, IN);
  clap_gemm1(true, false, IN, G, R, saved, SW, dgi, G, 0.0f, dwi, G);
  clap_gemm1(true, false, D, G, R - B, h, D, dgh + B * G, G, 0.0f, dwh, G);
  clap_gemm1(true, false, D, w[0], R, h, D, dembed, w[0], 0.0f, dwph, w[0]);
  for (int64_t j = 0; j < L; j++) {
    clap_gemm1(true, false, w[j], w[j + 1], R, saved + d.oA[j], SW, dq[j + 1], w[j + 1], 0.0f, dlw[j], w[j + 1]);
    colsum(dq[j + 1], R, w[j + 1], w[j + 1], dlb[j]);
  }
  colsum(dgi, R, G, G, dbi);
  colsum(dgh + 2 * D, R, D, G, dbhn);
  free(scratch);
  return NULL;
}
