/*
 * The imagined rollout of clap-rl's C-LAP agent step (src/algorithms/clap/imagine.ts) as one native forward and one
 * native backward (BPTT) call. In tfjs each of the H steps runs ≈ 320 kernels on N-row tensors, forward and gradient
 * together (four MLPs, the GRU, the policy's distributions, the tape's clones), each paying a fixed JS dispatch cost;
 * here the whole rollout is one call each way.
 *
 * From the start features s_0 = [h_0 | z_0] of N rows, for k = 0..H−1 (docs/design/method.md §4.3 and §7), with the
 * noise drawn by the caller:
 *   policy   [m_raw | s_raw] = P(s_k),  m = c·tanh(m_raw / c),  s = softplus(s_raw + shift) + s_min,
 *            y = m + s ⊙ ε^π_k,  x = tanh(y),
 *            log π_k = Σ_j −½((y − m) / s)² − (log s + ½ log 2π) − Σ_j log(1 − x² + 10⁻⁶)
 *   prior    [μ | raw] = Q(s_k),  σ = softplus(raw) + σ_min^u,  ũ = μ + (σ·ε) ⊙ x      (the box map)
 *   decoder  a = tanh(m_a), [m_a | ·] = Dec([s_k | ũ])                                 (the decoder's mean)
 *   model    h_{k+1} = GRU(SELU([z_k | a]·W_t + b_t), h_k),
 *            [mean | raw] = Pz(h_{k+1}),  z_{k+1} = mean + (softplus(raw) + σ_min^z) ⊙ ε^z_k
 * P, Q, Dec and Pz are SELU MLPs (clap_mlp_*_rows, mlp.c); the GRU is filter.c's (fused.h). Every expression is
 * evaluated in the order the tfjs path (networks.ts policyAction, LatentActionModel.imagineStep) evaluates it, so the
 * two agree to float32 rounding. Outputs: feats [(H+1)·N, D + S] (block 0 is s_0) and logp [H·N], step-major
 * (row k·N + i is row i of step k).
 *
 * The backward takes the gradients of both outputs and writes the gradients of the policy's weights and biases only:
 * the agent step optimises the policy alone, and the start states carry no gradient (docs/design/method.md §6), so
 * of the frozen model it computes the input gradients that carry the chain back through the steps and none of its
 * weight gradients, and at step 0 nothing that only leads to s_0.
 *
 * Operands are Float32Array views of whole tensors on the wasm heap, passed by name in one object. Each must have
 * exactly the length its role implies, checked before anything is written, so a caller's mistake is a RangeError
 * or TypeError and never a write outside a tensor.
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

#define MAX_LAYERS CLAP_MLP_MAX_LAYERS
/* ½ log 2π, as the tfjs path's Normal.logProb adds it (a float32 scalar). */
#define HALF_LOG_2PI 0.91893853320467274f
/* The tanh-Normal's log-determinant guard (distributions.ts TanhNormal). */
#define TANH_GUARD 1e-6f

/* The four MLPs, in the order of the operands' names. */
enum { POL, LAT, DEC, PRI, NETS };
static const char* const NET_NAMES[NETS] = {"policy", "latentPrior", "decoder", "prior"};

typedef struct {
  int64_t N, H, D, S, U, A, IN, F; /* rows, steps, deter, stoch, latent action, action, GRU input, D + S */
  clap_mlp net[NETS];
  float meanScale, stdShift, policyMinStd, epsilon, latentMinStd, stateMinStd;
  /* Offsets of the saved regions, each [H·N, width] (step k's block at k·N·width): every MLP's hidden activations
   * (act[n][j] for j ≥ 1) and output, then x, the action a, the GRU input and the GRU gates. */
  int64_t act[NETS][MAX_LAYERS], out[NETS], x, a, xin, gates;
  int64_t savedLen;
} dims_t;

/* Step k's blocks of regions at off[j] of widths width[j], for j in [from, to): out[j]. */
static void step_blocks(float* base, const int64_t* off, const int64_t* width, int64_t from, int64_t to, int64_t rows,
                        float** out) {
  for (int64_t j = from; j < to; j++) out[j] = base + off[j] + rows * width[j];
}

/* Blocks of one MLP's hidden deltas on `rows` rows, one after another from base: dz[j] [rows, w[j+1]], j < L − 1. */
static void packed_deltas(const clap_mlp* m, int64_t rows, float* base, float** dz) {
  for (int64_t j = 0; j + 1 < m->L; j++) {
    dz[j] = base;
    base += rows * m->w[j + 1];
  }
}

static int64_t region(dims_t* d, int64_t width) {
  const int64_t at = d->savedLen;
  d->savedLen += d->H * d->N * width;
  return at;
}

static bool read_net(const arg_ctx* c, napi_value obj, int n, int64_t in, int64_t out, clap_mlp* m) {
  napi_value v;
  uint32_t count;
  if (!arg_prop(c, obj, NET_NAMES[n], &v) ||
      !arg_widths(c, v, MAX_LAYERS + 1, "widths (input, ..., output)", m->w, &count)) {
    return false;
  }
  m->L = count - 1;
  m->act = CLAP_ACT_SELU;
  m->actInput = false;
  if (m->w[0] != in || m->w[m->L] != out) {
    return arg_fail(c, ARG_RANGE_ERROR, "'%s.widths' must run from %lld to %lld", NET_NAMES[n], (long long)in,
                    (long long)out);
  }
  return true;
}

static bool read_float(const arg_ctx* c, napi_value obj, const char* name, float* out) {
  double v;
  if (!arg_number(c, obj, name, &v)) return false;
  *out = (float)v;
  return true;
}

static bool read_dims(const arg_ctx* c, napi_value obj, dims_t* d) {
  if (!arg_size(c, obj, "rows", 1, &d->N) || !arg_size(c, obj, "horizon", 1, &d->H) ||
      !arg_size(c, obj, "deter", 1, &d->D) || !arg_size(c, obj, "stoch", 1, &d->S) ||
      !arg_size(c, obj, "latent", 1, &d->U) || !arg_size(c, obj, "action", 1, &d->A) ||
      !arg_size(c, obj, "input", 1, &d->IN)) {
    return false;
  }
  d->F = d->D + d->S;
  if (!read_net(c, obj, POL, d->F, 2 * d->U, &d->net[POL]) || !read_net(c, obj, LAT, d->F, 2 * d->U, &d->net[LAT]) ||
      !read_net(c, obj, DEC, d->F + d->U, 2 * d->A, &d->net[DEC]) ||
      !read_net(c, obj, PRI, d->D, 2 * d->S, &d->net[PRI]) || !read_float(c, obj, "meanScale", &d->meanScale) ||
      !read_float(c, obj, "stdShift", &d->stdShift) || !read_float(c, obj, "policyMinStd", &d->policyMinStd) ||
      !read_float(c, obj, "epsilon", &d->epsilon) || !read_float(c, obj, "latentMinStd", &d->latentMinStd) ||
      !read_float(c, obj, "stateMinStd", &d->stateMinStd)) {
    return false;
  }
  /* BLAS takes int sizes: (H+1)·N times the widest row bounds every extent passed to it. */
  int64_t widest = d->F + d->U > 3 * d->D ? d->F + d->U : 3 * d->D;
  widest = 4 * d->D > widest ? 4 * d->D : widest;
  for (int n = 0; n < NETS; n++)
    for (int64_t j = 0; j <= d->net[n].L; j++) widest = d->net[n].w[j] > widest ? d->net[n].w[j] : widest;
  if ((d->H + 1) * d->N * widest > INT32_MAX)
    return arg_fail(c, ARG_RANGE_ERROR, "(horizon + 1) · rows times the row widths exceeds 2^31 elements");
  d->savedLen = 0;
  for (int n = 0; n < NETS; n++) {
    for (int64_t j = 1; j < d->net[n].L; j++) d->act[n][j] = region(d, d->net[n].w[j]);
    d->out[n] = region(d, d->net[n].w[d->net[n].L]);
  }
  d->x = region(d, d->U);
  d->a = region(d, d->A);
  d->xin = region(d, d->IN);
  d->gates = region(d, 4 * d->D);
  return true;
}

/* operands[name] = {w: [L], b: [L]} of MLP n (b read only where `b` is not null). */
static bool read_params(const arg_ctx* c, napi_value obj, const dims_t* d, int n, float** w, float** b) {
  const clap_mlp* m = &d->net[n];
  int64_t wl[MAX_LAYERS], bl[MAX_LAYERS];
  char label[48];
  napi_value p, v;
  for (int64_t j = 0; j < m->L; j++) {
    wl[j] = m->w[j] * m->w[j + 1];
    bl[j] = m->w[j + 1];
  }
  if (!arg_prop(c, obj, NET_NAMES[n], &p)) return false;
  snprintf(label, sizeof label, "%s.w", NET_NAMES[n]);
  if (!arg_prop(c, p, "w", &v) || !arg_float_list(c, v, label, (uint32_t)m->L, wl, false, w)) return false;
  if (b == NULL) return true;
  snprintf(label, sizeof label, "%s.b", NET_NAMES[n]);
  return arg_prop(c, p, "b", &v) && arg_float_list(c, v, label, (uint32_t)m->L, bl, false, b);
}

/* imagineSavedSize(dims): floats of the forward's `saved` array. */
napi_value clap_imagine_saved_size(napi_env env, napi_callback_info info) {
  arg_ctx c = {env, "imagineSavedSize"};
  napi_value argv[1], out;
  dims_t d;
  if (!arg_count(&c, info, 1, argv, "takes 1 argument") || !read_dims(&c, argv[0], &d)) return arg_bad(&c);
  if (napi_create_int64(env, d.savedLen, &out) != napi_ok) return NULL;
  return out;
}

/* ---- forward ------------------------------------------------------------------------------------------------- */

napi_value clap_imagine_forward(napi_env env, napi_callback_info info) {
  arg_ctx c = {env, "imagineForward"};
  napi_value argv[2];
  dims_t d;
  if (!arg_dims_operands(&c, info, argv) || !read_dims(&c, argv[0], &d)) return arg_bad(&c);
  const int64_t N = d.N, H = d.H, D = d.D, S = d.S, U = d.U, A = d.A, IN = d.IN, F = d.F, G = 3 * D;
  const int64_t FU = F + U, SA = S + A;
  napi_value o = argv[1];
  float *start, *noisePolicy, *noisePrior, *wt, *bt, *wi, *bi, *wh, *bhn, *feats, *logp, *saved;
  float *w[NETS][MAX_LAYERS], *b[NETS][MAX_LAYERS];
  for (int n = 0; n < NETS; n++)
    if (!read_params(&c, o, &d, n, w[n], b[n])) return arg_bad(&c);
  if (!arg_operand(&c, o, "start", N * F, &start) || !arg_operand(&c, o, "noisePolicy", H * N * U, &noisePolicy) ||
      !arg_operand(&c, o, "noisePrior", H * N * S, &noisePrior) || !arg_operand(&c, o, "wt", SA * IN, &wt) ||
      !arg_operand(&c, o, "bt", IN, &bt) || !arg_operand(&c, o, "wi", IN * G, &wi) ||
      !arg_operand(&c, o, "bi", G, &bi) || !arg_operand(&c, o, "wh", D * G, &wh) ||
      !arg_operand(&c, o, "bhn", D, &bhn) || !arg_operand(&c, o, "feats", (H + 1) * N * F, &feats) ||
      !arg_operand(&c, o, "logp", H * N, &logp) || !arg_operand(&c, o, "saved", d.savedLen, &saved)) {
    return arg_bad(&c);
  }
  float* scratch = malloc((size_t)(N * (FU + 2 * A + SA + 2 * G)) * sizeof(float));
  if (scratch == NULL) {
    arg_fail(&c, ARG_ERROR, "out of memory for scratch buffers");
    return NULL;
  }
  float* decIn = scratch;        /* [N, F + U]: [s_k | ũ] */
  float* decOut = decIn + N * FU; /* [N, 2A] */
  float* tin = decOut + N * 2 * A; /* [N, S + A]: [z_k | a] */
  float* gi = tin + N * SA;       /* [N, 3D] */
  float* gh = gi + N * G;         /* [N, 3D] */
  const float c0 = d.meanScale, eps = d.epsilon;

  memcpy(feats, start, (size_t)(N * F) * sizeof(float));
  for (int64_t k = 0; k < H; k++) {
    const int64_t rk = k * N; /* rows before step k in every [H·N, ·] region */
    const float* s = feats + rk * F;
    float* next = feats + (rk + N) * F;
    float* act[NETS][MAX_LAYERS];
    float* out[NETS];
    for (int n = 0; n < NETS; n++) {
      step_blocks(saved, d.act[n], d.net[n].w, 1, d.net[n].L, rk, act[n]);
      out[n] = saved + d.out[n] + rk * d.net[n].w[d.net[n].L];
    }
    float* xs = saved + d.x + rk * U;
    float* as = saved + d.a + rk * A;
    float* xin = saved + d.xin + rk * IN;
    float* gates = saved + d.gates + rk * 4 * D;
    const float* ep = noisePolicy + rk * U;
    const float* ez = noisePrior + rk * S;

    /* The policy and the latent action prior at s_k, then x, log π and ũ row by row. */
    clap_mlp_forward_rows(&d.net[POL], N, s, F, w[POL], b[POL], act[POL], out[POL]);
    clap_mlp_forward_rows(&d.net[LAT], N, s, F, w[LAT], b[LAT], act[LAT], out[LAT]);
    for (int64_t i = 0; i < N; i++) {
      const float* po = out[POL] + i * 2 * U;
      const float* qo = out[LAT] + i * 2 * U;
      float* u = decIn + i * FU;
      float lp = 0.0f, logDet = 0.0f;
      memcpy(u, s + i * F, (size_t)F * sizeof(float));
      for (int64_t j = 0; j < U; j++) {
        const float m = c0 * tanhf(po[j] / c0);
        const float sd = softplus(po[U + j] + d.stdShift) + d.policyMinStd;
        const float y = m + sd * ep[i * U + j];
        const float x = tanhf(y);
        const float q = (y - m) / sd;
        lp += -(0.5f * (q * q)) - (logf(sd) + HALF_LOG_2PI);
        logDet += logf((1.0f - x * x) + TANH_GUARD);
        const float sigma = softplus(qo[U + j]) + d.latentMinStd;
        u[F + j] = qo[j] + (sigma * eps) * x;
        xs[i * U + j] = x;
      }
      logp[rk + i] = lp - logDet;
    }
    /* The decoder's mean action. */
    clap_mlp_forward_rows(&d.net[DEC], N, decIn, FU, w[DEC], b[DEC], act[DEC], decOut);
    for (int64_t i = 0; i < N; i++) {
      for (int64_t j = 0; j < A; j++) as[i * A + j] = tanhf(decOut[i * 2 * A + j]);
      memcpy(tin + i * SA, s + i * F + D, (size_t)S * sizeof(float));
      memcpy(tin + i * SA + S, as + i * A, (size_t)A * sizeof(float));
    }
    /* The transition: x = SELU([z_k | a]·W_t + b_t), h_{k+1} = GRU(x, h_k), written into s_{k+1}. */
    for (int64_t i = 0; i < N; i++) memcpy(xin + i * IN, bt, (size_t)IN * sizeof(float));
    clap_gemm1(false, false, N, IN, SA, tin, SA, wt, IN, 1.0f, xin, IN);
    clap_selu_forward(N * IN, xin, xin);
    for (int64_t i = 0; i < N; i++) memcpy(gi + i * G, bi, (size_t)G * sizeof(float));
    clap_gemm1(false, false, N, G, IN, xin, IN, wi, G, 1.0f, gi, G);
    clap_gemm1(false, false, N, G, D, s, F, wh, G, 0.0f, gh, G);
    clap_gru_forward(N, D, gi, gh, s, F, bhn, next, F, gates, 4 * D);
    /* The state prior at h_{k+1} and its reparameterised sample z_{k+1}. */
    clap_mlp_forward_rows(&d.net[PRI], N, next, F, w[PRI], b[PRI], act[PRI], out[PRI]);
    for (int64_t i = 0; i < N; i++) {
      const float* po = out[PRI] + i * 2 * S;
      for (int64_t j = 0; j < S; j++) {
        const float sd = softplus(po[S + j]) + d.stateMinStd;
        next[i * F + D + j] = po[j] + sd * ez[i * S + j];
      }
    }
  }
  free(scratch);
  return NULL;
}

/* ---- backward ------------------------------------------------------------------------------------------------ */

napi_value clap_imagine_backward(napi_env env, napi_callback_info info) {
  arg_ctx c = {env, "imagineBackward"};
  napi_value argv[2];
  dims_t d;
  if (!arg_dims_operands(&c, info, argv) || !read_dims(&c, argv[0], &d)) return arg_bad(&c);
  const int64_t N = d.N, H = d.H, D = d.D, S = d.S, U = d.U, A = d.A, IN = d.IN, F = d.F, G = 3 * D;
  const int64_t FU = F + U, SA = S + A;
  napi_value o = argv[1];
  float *noisePolicy, *noisePrior, *wt, *wi, *wh, *feats, *saved, *dfeats, *dlogp;
  float *w[NETS][MAX_LAYERS], *dw[MAX_LAYERS], *db[MAX_LAYERS];
  const clap_mlp* pol = &d.net[POL];
  int64_t dwl[MAX_LAYERS], dbl[MAX_LAYERS];
  for (int64_t j = 0; j < pol->L; j++) {
    dwl[j] = pol->w[j] * pol->w[j + 1];
    dbl[j] = pol->w[j + 1];
  }
  napi_value v;
  for (int n = 0; n < NETS; n++)
    if (!read_params(&c, o, &d, n, w[n], NULL)) return arg_bad(&c);
  if (!arg_operand(&c, o, "noisePolicy", H * N * U, &noisePolicy) ||
      !arg_operand(&c, o, "noisePrior", H * N * S, &noisePrior) || !arg_operand(&c, o, "wt", SA * IN, &wt) ||
      !arg_operand(&c, o, "wi", IN * G, &wi) || !arg_operand(&c, o, "wh", D * G, &wh) ||
      !arg_operand(&c, o, "feats", (H + 1) * N * F, &feats) || !arg_operand(&c, o, "saved", d.savedLen, &saved) ||
      !arg_operand(&c, o, "dfeats", (H + 1) * N * F, &dfeats) || !arg_operand(&c, o, "dlogp", H * N, &dlogp) ||
      !arg_prop(&c, o, "dw", &v) || !arg_float_list(&c, v, "dw", (uint32_t)pol->L, dwl, false, dw) ||
      !arg_prop(&c, o, "db", &v) || !arg_float_list(&c, v, "db", (uint32_t)pol->L, dbl, false, db)) {
    return arg_bad(&c);
  }
  /* The policy's deltas are kept for all H·N rows (its output's, dpol, and those of its hidden layers, region j of
   * width w[j+1]), so each of its weight gradients is one sgemm over the rollout after the loop. The model's MLPs
   * need theirs for one step at a time. */
  int64_t polDelta[MAX_LAYERS], polDeltaLen = 0, modelDeltaLen = 0;
  for (int64_t j = 0; j + 1 < pol->L; j++) {
    polDelta[j] = polDeltaLen;
    polDeltaLen += H * N * pol->w[j + 1];
  }
  for (int n = LAT; n < NETS; n++) {
    int64_t len = 0;
    for (int64_t j = 0; j + 1 < d.net[n].L; j++) len += N * d.net[n].w[j + 1];
    modelDeltaLen = len > modelDeltaLen ? len : modelDeltaLen;
  }
  const int64_t perRow = 2 * F + 2 * S + D + 2 * G + IN + A + 2 * A + FU + 2 * U; /* the [N, ·] buffers below */
  float* scratch = malloc((size_t)(H * N * 2 * U + polDeltaLen + modelDeltaLen + N * perRow) * sizeof(float));
  if (scratch == NULL) {
    arg_fail(&c, ARG_ERROR, "out of memory for scratch buffers");
    return NULL;
  }
  float* dpol = scratch;                   /* [H·N, 2U] */
  float* polDeltas = dpol + H * N * 2 * U; /* the policy's hidden deltas, all steps */
  float* modelDeltas = polDeltas + polDeltaLen;
  float* dnext = modelDeltas + modelDeltaLen; /* [N, F]: ∂/∂s_{k+1} in full */
  float* dcur = dnext + N * F;                /* [N, F]: ∂/∂s_k, being summed */
  float* dpri = dcur + N * F;                 /* [N, 2S] */
  float* dh = dpri + N * 2 * S;               /* [N, D]: ∂/∂h_{k+1} in full */
  float* dgi = dh + N * D;                    /* [N, 3D] */
  float* dgh = dgi + N * G;                   /* [N, 3D] */
  float* dxin = dgh + N * G;                  /* [N, IN] */
  float* da = dxin + N * IN;                  /* [N, A] */
  float* ddec = da + N * A;                   /* [N, 2A] */
  float* ddecIn = ddec + N * 2 * A;           /* [N, F + U] */
  float* dlat = ddecIn + N * FU;              /* [N, 2U] */
  const float c0 = d.meanScale, eps = d.epsilon;
  /* dz: the policy's deltas at the current step; mdz: those of the model MLP being differentiated (they take turns
   * in modelDeltas). */
  float *dz[MAX_LAYERS], *mdz[MAX_LAYERS];

  memcpy(dnext, dfeats + H * N * F, (size_t)(N * F) * sizeof(float));
  for (int64_t k = H - 1; k >= 0; k--) {
    const int64_t rk = k * N;
    const bool inner = k > 0; /* below step 0 nothing is differentiated: s_0 carries no gradient */
    const float* s = feats + rk * F;
    float* act[NETS][MAX_LAYERS];
    float* out[NETS];
    for (int n = 0; n < NETS; n++) {
      step_blocks(saved, d.act[n], d.net[n].w, 1, d.net[n].L, rk, act[n]);
      out[n] = saved + d.out[n] + rk * d.net[n].w[d.net[n].L];
    }
    const float* xs = saved + d.x + rk * U;
    const float* as = saved + d.a + rk * A;
    const float* xin = saved + d.xin + rk * IN;
    const float* gates = saved + d.gates + rk * 4 * D;
    const float* ep = noisePolicy + rk * U;
    const float* ez = noisePrior + rk * S;
    const float* dl = dlogp + rk;

    /* z_{k+1} = mean + σ ⊙ ε, σ = softplus(raw) + σ_min, then the state prior's chain into h_{k+1}. */
    for (int64_t i = 0; i < N; i++) {
      const float* po = out[PRI] + i * 2 * S;
      for (int64_t j = 0; j < S; j++) {
        const float g = dnext[i * F + D + j];
        dpri[i * 2 * S + j] = g;
        dpri[i * 2 * S + S + j] = g * ez[i * S + j] * sigmoid(po[S + j]);
      }
      memcpy(dh + i * D, dnext + i * F, (size_t)D * sizeof(float));
    }
    packed_deltas(&d.net[PRI], N, modelDeltas, mdz);
    clap_mlp_deltas_rows(&d.net[PRI], N, w[PRI], act[PRI], dpri, mdz);
    clap_mlp_dx_rows(&d.net[PRI], N, w[PRI][0], NULL, dpri, mdz, 1.0f, dh, D);
    /* The GRU and the transition layer: ∂/∂h_k into dcur's h block, ∂/∂z_k into its z block, ∂/∂a. */
    clap_gru_backward(N, D, dh, gates, 4 * D, s, F, dgi, dgh, inner ? dcur : NULL, F);
    if (inner) clap_gemm1(false, true, N, D, G, dgh, G, wh, G, 1.0f, dcur, F);
    clap_gemm1(false, true, N, IN, G, dgi, G, wi, G, 0.0f, dxin, IN);
    clap_selu_backward(N * IN, dxin, xin, dxin);
    if (inner) clap_gemm1(false, true, N, S, IN, dxin, IN, wt, IN, 0.0f, dcur + D, F);
    clap_gemm1(false, true, N, A, IN, dxin, IN, wt + S * IN, IN, 0.0f, da, A);
    /* The decoder's mean a = tanh(m_a); its σ half is unused. */
    for (int64_t i = 0; i < N; i++) {
      for (int64_t j = 0; j < A; j++) {
        const float a = as[i * A + j];
        ddec[i * 2 * A + j] = da[i * A + j] * (1.0f - a * a);
        ddec[i * 2 * A + A + j] = 0.0f;
      }
    }
    packed_deltas(&d.net[DEC], N, modelDeltas, mdz);
    clap_mlp_deltas_rows(&d.net[DEC], N, w[DEC], act[DEC], ddec, mdz);
    clap_mlp_dx_rows(&d.net[DEC], N, w[DEC][0], NULL, ddec, mdz, 0.0f, ddecIn, FU);
    /* ũ = μ + (σ·ε) ⊙ x and the policy's log π, row by row: the latent action prior's output gradient into dlat, the
     * policy's into dpol. */
    float* dp = dpol + rk * 2 * U;
    for (int64_t i = 0; i < N; i++) {
      const float* po = out[POL] + i * 2 * U;
      const float* qo = out[LAT] + i * 2 * U;
      const float g = dl[i];
      if (inner)
        for (int64_t j = 0; j < F; j++) dcur[i * F + j] += ddecIn[i * FU + j];
      for (int64_t j = 0; j < U; j++) {
        const float du = ddecIn[i * FU + F + j];
        const float x = xs[i * U + j];
        const float sigma = softplus(qo[U + j]) + d.latentMinStd;
        dlat[i * 2 * U + j] = du;
        dlat[i * 2 * U + U + j] = du * x * eps * sigmoid(qo[U + j]);
        /* The same m, s, y and q as the forward computed. */
        const float tm = tanhf(po[j] / c0);
        const float m = c0 * tm;
        const float sd = softplus(po[U + j] + d.stdShift) + d.policyMinStd;
        const float y = m + sd * ep[i * U + j];
        const float q = (y - m) / sd;
        const float dx = du * (sigma * eps) + g * (2.0f * x / ((1.0f - x * x) + TANH_GUARD));
        const float dy = dx * (1.0f - x * x) - g * q / sd;
        const float dm = dy + g * q / sd;
        const float ds = dy * ep[i * U + j] + g * (q * q - 1.0f) / sd;
        dp[i * 2 * U + j] = dm * (1.0f - tm * tm);
        dp[i * 2 * U + U + j] = ds * sigmoid(po[U + j] + d.stdShift);
      }
    }
    if (inner) {
      packed_deltas(&d.net[LAT], N, modelDeltas, mdz);
      clap_mlp_deltas_rows(&d.net[LAT], N, w[LAT], act[LAT], dlat, mdz);
      clap_mlp_dx_rows(&d.net[LAT], N, w[LAT][0], NULL, dlat, mdz, 1.0f, dcur, F);
    }
    step_blocks(polDeltas, polDelta, pol->w + 1, 0, pol->L - 1, rk, dz);
    clap_mlp_deltas_rows(pol, N, w[POL], act[POL], dp, dz);
    if (inner) {
      clap_mlp_dx_rows(pol, N, w[POL][0], NULL, dp, dz, 1.0f, dcur, F);
      /* ∂/∂s_k in full: the upstream gradient of the features at step k. */
      for (int64_t e = 0; e < N * F; e++) dcur[e] += dfeats[rk * F + e];
      float* t = dnext;
      dnext = dcur;
      dcur = t;
    }
  }
  /* The policy's weight gradients, one sgemm each over all H·N rows; layer 0's input is feats' first H blocks. */
  float* actAll[MAX_LAYERS];
  step_blocks(saved, d.act[POL], pol->w, 1, pol->L, 0, actAll);
  step_blocks(polDeltas, polDelta, pol->w + 1, 0, pol->L - 1, 0, dz);
  for (int64_t j = 0; j < pol->L; j++) {
    clap_mlp_dw_rows(pol, H * N, j, feats, F, actAll, dpol, dz, dw[j]);
    clap_mlp_db_rows(pol, H * N, j, dpol, dz, db[j]);
  }
  free(scratch);
  return NULL;
}
