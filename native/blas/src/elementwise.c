/*
 * Elementwise kernels of clap-rl's engine on the native path: SELU forward and gradient, tanh forward, and one Adam
 * step over all parameters together with the global clip norm.
 *
 * Why native: the wasm backend's SELU and tanh are scalar loops (≈ 9 and 15 ns per element measured inside the agent
 * step, together ≈ 25 % of its kernel time) and the JS SELU gradient ≈ 3.7 ns; the JS Adam runs one kernel per
 * parameter tensor, plus two tfjs kernels per tensor for the clip norm. The loops below are written for GCC's
 * auto-vectoriser at -O3 with the baseline x86-64 ISA (SSE2, so the addon runs on any x86-64): no calls and no
 * branches inside them, only selects. The build flags matter: -fno-trapping-math lets GCC turn the SELU selects into
 * blends (otherwise it refuses to evaluate both sides of a select, either of which "could trap"), -fno-math-errno
 * makes sqrtf one instruction, and -fopenmp-simd vectorises the norm's reduction through `omp simd` without an
 * OpenMP runtime. `-fopt-info-vec` confirms all five loops vectorise.
 *
 * Every array is a Float32Array view (usually of the wasm heap); lengths are checked before anything is written.
 */
#include "addon.h"
#include "args.h"
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* tfjs's SELU constants (Klambauer et al. 2017), as in filter.c and src/engine/tf.ts. */
#define SELU_SCALE 1.0507009873554805f
#define SELU_SCALE_ALPHA 1.7580993408473768f

/* ln 2 split for Cody–Waite range reduction: LN2_HI has 9 trailing zero bits, so k·LN2_HI is exact for |k| ≤ 127
 * and x − k·LN2_HI loses nothing; LN2_LO carries the rest of ln 2. */
#define LN2_HI 0.693145751953125f
#define LN2_LO 1.428606765330187e-06f
#define LOG2E 1.4426950408889634f

/*
 * expm1(x) for x ≤ 0 (or NaN), inline and branch-free. Not libm's expm1f or expf: a call inside a loop stops GCC
 * from vectorising it (glibc's vector variants are only declared under -ffast-math), which would leave SELU scalar.
 *
 * x = k·ln 2 + r with k = round(x / ln 2) ≤ 0 and |r| ≤ ln 2 / 2; then expm1(x) = 2ᵏ·expm1(r) + (2ᵏ − 1). For
 * |x| < 0.35 (k = 0) that is the polynomial alone, so the relative accuracy holds down to 0, where exp(x) − 1 would
 * cancel; for k ≤ −1 both terms have the result's sign and 2ᵏ − 1 is exact for k ≥ −24. expm1(r) is its Taylor
 * polynomial through r⁸/8!: the next term is below 6e-10 of r, far under float32's 6e-8.
 * x is clamped to −87 first (expm1 is −1 in float32 long before), which keeps 2ᵏ a normal number; NaN passes the
 * clamp (comparisons with NaN are false) and propagates through r. Against float64, over a sweep of every 37th
 * float32 in [−12, 0]: SELU ≤ 1.8 ulp (x ≥ −10), absolute ≤ 2e-10 for |x| < 1e-3; tanh ≤ 2.5 ulp
 * (test/engine/native-elementwise.test.ts checks these bounds). expm1_parts returns the pieces, expm1(r) and 2ᵏ in
 * *s; expm1_nonpos and exp_nonpos combine them.
 */
static inline float expm1_parts(float x, float* s) {
  x = x < -87.0f ? -87.0f : x;
  int32_t k = (int32_t)(x * LOG2E - 0.5f); /* round half away from zero, for x·log₂e ≤ 0 */
  float kf = (float)k;
  float r = (x - kf * LN2_HI) - kf * LN2_LO;
  float q = 1.0f / 40320;
  q = q * r + 1.0f / 5040;
  q = q * r + 1.0f / 720;
  q = q * r + 1.0f / 120;
  q = q * r + 1.0f / 24;
  q = q * r + 1.0f / 6;
  q = q * r + 0.5f;
  /* 2ᵏ from its exponent bits; the conversion of a NaN x gives some k, whose 2ᵏ is finite. */
  int32_t bits = (k + 127) * (1 << 23);
  memcpy(s, &bits, sizeof *s);
  return r + r * r * q;
}

static inline float expm1_nonpos(float x) {
  float s;
  float p = expm1_parts(x, &s);
  return s * p + (s - 1.0f);
}

/* eˣ for x ≤ 0 (or NaN) from the same pieces: 2ᵏ·expm1(r) + 2ᵏ, with expm1_nonpos's relative accuracy. */
static inline float exp_nonpos(float x) {
  float s;
  float p = expm1_parts(x, &s);
  return s * p + s;
}

/* y = SELU(x) = s·x for x > 0, s·α·(eˣ − 1) otherwise. Shared with mlp.c (addon.h). */
void clap_selu_forward(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; i++) {
    float xi = x[i];
    /* The negative branch sees min(x, 0) (NaN kept), so expm1_nonpos never meets a positive argument. */
    float neg = SELU_SCALE_ALPHA * expm1_nonpos(xi > 0.0f ? 0.0f : xi);
    y[i] = xi > 0.0f ? SELU_SCALE * xi : neg;
  }
}

/* y = tanh(x) = sign(x)·(−t / (t + 2)) with t = expm1(−2|x|), which keeps the relative accuracy near 0 (where
 * 1 − 2/(e²ˣ + 1) would cancel) and saturates to ±1 without overflow. fabsf and copysignf compile to bit masks.
 * Shared with mlp.c. */
void clap_tanh_forward(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; i++) {
    float t = expm1_nonpos(-2.0f * fabsf(x[i]));
    y[i] = copysignf(-t / (t + 2.0f), x[i]);
  }
}

/* y = σ(x) = 1 / (1 + e⁻ˣ) for x ≥ 0 and e / (1 + e) with e = eˣ otherwise, so the exponential never overflows and
 * a negative x keeps its relative accuracy. Shared with filter.c's GRU. */
void clap_sigmoid_forward(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; i++) {
    float e = exp_nonpos(-fabsf(x[i]));
    y[i] = x[i] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
  }
}

/*
 * dx = dy·SELU'(x), from the output y: s where y has a clear sign bit, y + s·α (= s·α·eˣ) where it is set. At
 * y = +0 this is the right derivative s, like the JS kernel in tf.ts, so both paths agree on exact zeros. A NaN y
 * gives a NaN derivative. Shared with mlp.c.
 */
void clap_selu_backward(int64_t n, const float* dy, const float* y, float* dx) {
  for (int64_t i = 0; i < n; i++) {
    float yi = y[i];
    int32_t bits;
    memcpy(&bits, &yi, sizeof bits);
    float d = bits < 0 ? yi + SELU_SCALE_ALPHA : SELU_SCALE;
    d = yi != yi ? yi : d;
    dx[i] = dy[i] * d;
  }
}

/* 1 − β is taken in double before rounding: 1 − (float)0.999 would be off by 1.3e-5 relative. */
typedef struct {
  float lr, beta1, beta2, eps, one_minus_beta1, one_minus_beta2;
} adam_t;

/* Σ g² in double over one tensor: the lanes of the vectorised sum are each a double accumulator. */
static double sum_squares(int64_t n, const float* g) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; i++) acc += (double)g[i] * (double)g[i];
  return acc;
}

/* The Adam update of one tensor with the clip factor c applied to its gradient (see clap_adam). `restrict`, which
 * clap_adam's overlap check makes true, spares GCC the 18 runtime alias checks between the seven arrays: past 10 it
 * gives up vectorising. */
static void adam_update(int64_t n, const float* restrict p, const float* restrict m, const float* restrict v,
                        const float* restrict g, float* restrict po, float* restrict mo, float* restrict vo, float c,
                        const adam_t* h) {
  const float b1 = h->beta1, b2 = h->beta2, lr = h->lr, eps = h->eps;
  const float a1 = h->one_minus_beta1, a2 = h->one_minus_beta2;
  for (int64_t i = 0; i < n; i++) {
    float gi = g[i] * c;
    float mi = b1 * m[i] + a1 * gi;
    float vi = b2 * v[i] + a2 * gi * gi;
    mo[i] = mi;
    vo[i] = vi;
    po[i] = p[i] - lr * mi / (sqrtf(vi) + eps);
  }
}

/* ---- argument reading ---------------------------------------------------------------------------------------- */

/* Reads `count` Float32Array arguments of equal length (the elementwise kernels' operands). */
static bool same_length_args(const arg_ctx* c, napi_callback_info info, size_t count, const char* const* names,
                             float** data, int64_t* n) {
  napi_value argv[3];
  char usage[32];
  snprintf(usage, sizeof usage, "takes %zu Float32Arrays", count);
  if (!arg_count(c, info, count, argv, usage)) return false;
  for (size_t j = 0; j < count; j++) {
    int64_t len;
    if (!arg_float32(c, argv[j], names[j], &data[j], &len)) return false;
    if (j > 0 && len != *n) {
      return arg_fail(c, ARG_RANGE_ERROR, "'%s' has %lld elements, '%s' %lld", names[j], (long long)len, names[0],
                      (long long)*n);
    }
    *n = len;
  }
  return true;
}

/* The (x, y) kernels: y = f(x) elementwise, x and y of equal length. */
static napi_value unary(napi_env env, napi_callback_info info, const char* fn,
                        void (*f)(int64_t n, const float* x, float* y)) {
  static const char* const names[] = {"x", "y"};
  arg_ctx c = {env, fn};
  float* a[2];
  int64_t n = 0;
  if (!same_length_args(&c, info, 2, names, a, &n)) return NULL;
  f(n, a[0], a[1]);
  return NULL;
}

/* selu(x, y): y = SELU(x). */
napi_value clap_selu(napi_env env, napi_callback_info info) { return unary(env, info, "selu", clap_selu_forward); }

/* tanh(x, y): y = tanh(x). */
napi_value clap_tanh(napi_env env, napi_callback_info info) { return unary(env, info, "tanh", clap_tanh_forward); }

/* seluGrad(dy, y, dx): dx = dy·SELU'(x) where y = SELU(x); all of equal length. */
napi_value clap_selu_grad(napi_env env, napi_callback_info info) {
  static const char* const names[] = {"dy", "y", "dx"};
  arg_ctx c = {env, "seluGrad"};
  float* a[3];
  int64_t n = 0;
  if (!same_length_args(&c, info, 3, names, a, &n)) return NULL;
  clap_selu_backward(n, a[0], a[1], a[2]);
  return NULL;
}

#define ADAM_ROLES 7
static const char* const ADAM_NAMES[ADAM_ROLES] = {"p", "m", "v", "g", "pOut", "mOut", "vOut"};

/*
 * adam(hyper, operands) → the unclipped global norm ‖g‖ over all tensors.
 * hyper = {lr, beta1, beta2, eps, clip}; operands = {p, m, v, g, pOut, mOut, vOut}, each an array of the same
 * number of Float32Arrays, tensor j's seven of equal length, its three outputs overlapping none of its others.
 * With c = min(1, clip / (‖g‖ + 1e-6)) (c = 1 when clip is 0), for every element: g ← c·g,
 * m' = β₁m + (1 − β₁)g, v' = β₂v + (1 − β₂)g², p' = p − lr·m' / (√v' + ε), written to pOut, mOut, vOut.
 * The caller folds Adam's bias corrections into lr and eps.
 */
napi_value clap_adam(napi_env env, napi_callback_info info) {
  arg_ctx ctx = {env, "adam"}; /* not `c`: that is the clip factor below */
  napi_value argv[2];
  if (!arg_count(&ctx, info, 2, argv, "takes 2 arguments (hyper, operands)")) return NULL;
  double lr, beta1, beta2, eps, clip;
  if (!arg_number(&ctx, argv[0], "lr", &lr) || !arg_number(&ctx, argv[0], "beta1", &beta1) ||
      !arg_number(&ctx, argv[0], "beta2", &beta2) || !arg_number(&ctx, argv[0], "eps", &eps) ||
      !arg_number(&ctx, argv[0], "clip", &clip)) {
    return NULL;
  }
  if (clip < 0) {
    arg_fail(&ctx, ARG_RANGE_ERROR, "'clip' must be ≥ 0");
    return NULL;
  }

  napi_value lists[ADAM_ROLES];
  uint32_t count = 0;
  for (int r = 0; r < ADAM_ROLES; r++) {
    bool has;
    uint32_t len;
    if (napi_has_named_property(env, argv[1], ADAM_NAMES[r], &has) != napi_ok || !has ||
        napi_get_named_property(env, argv[1], ADAM_NAMES[r], &lists[r]) != napi_ok ||
        !arg_array_length(&ctx, lists[r], &len)) {
      arg_fail(&ctx, ARG_TYPE_ERROR, "'%s' must be an array of Float32Arrays", ADAM_NAMES[r]);
      return NULL;
    }
    if (r == 0) count = len;
    if (len != count) {
      arg_fail(&ctx, ARG_RANGE_ERROR, "'%s' lists %u tensors, 'p' %u", ADAM_NAMES[r], len, count);
      return NULL;
    }
  }

  /* Every operand is read and checked before anything is written. */
  float** ptr = malloc(sizeof(float*) * ADAM_ROLES * (count > 0 ? count : 1));
  int64_t* lens = malloc(sizeof(int64_t) * (count > 0 ? count : 1));
  if (ptr == NULL || lens == NULL) {
    free(ptr);
    free(lens);
    arg_fail(&ctx, ARG_ERROR, "out of memory");
    return NULL;
  }
  bool ok = true;
  for (uint32_t j = 0; ok && j < count; j++) {
    for (int r = 0; ok && r < ADAM_ROLES; r++) {
      napi_value item;
      char name[48];
      int64_t len;
      snprintf(name, sizeof name, "%s[%u]", ADAM_NAMES[r], j);
      ok = napi_get_element(env, lists[r], j, &item) == napi_ok &&
           arg_float32(&ctx, item, name, &ptr[(size_t)r * count + j], &len);
      if (ok && r == 0) lens[j] = len;
      if (ok && len != lens[j]) {
        arg_fail(&ctx, ARG_RANGE_ERROR, "'%s' has %lld elements, 'p[%u]' %lld", name, (long long)len, j,
                 (long long)lens[j]);
        ok = false;
      }
    }
    for (int r = 4; ok && r < ADAM_ROLES; r++) {
      for (int q = 0; ok && q < r; q++) {
        const float* a = ptr[(size_t)r * count + j];
        const float* b = ptr[(size_t)q * count + j];
        if (lens[j] > 0 && a < b + lens[j] && b < a + lens[j]) {
          arg_fail(&ctx, ARG_RANGE_ERROR, "'%s[%u]' overlaps '%s[%u]'", ADAM_NAMES[r], j, ADAM_NAMES[q], j);
          ok = false;
        }
      }
    }
  }
  napi_value result = NULL;
  if (ok) {
    float** P = ptr;
    double ss = 0.0;
    for (uint32_t j = 0; j < count; j++) ss += sum_squares(lens[j], P[3 * count + j]);
    double norm = sqrt(ss);
    /* Written so that a NaN norm gives a NaN factor, as the JS path's tfjs ops do. */
    double c = clip > 0 && !(norm + 1e-6 <= clip) ? clip / (norm + 1e-6) : 1.0;
    adam_t h = {(float)lr, (float)beta1, (float)beta2, (float)eps, (float)(1 - beta1), (float)(1 - beta2)};
    for (uint32_t j = 0; j < count; j++) {
      adam_update(lens[j], P[j], P[count + j], P[2 * count + j], P[3 * count + j], P[4 * count + j],
                  P[5 * count + j], P[6 * count + j], (float)c, &h);
    }
    if (napi_create_double(env, norm, &result) != napi_ok) result = NULL;
  }
  free(ptr);
  free(lens);
  return result;
}
