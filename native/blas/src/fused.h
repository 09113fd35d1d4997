/*
 * The pieces that clap-rl's fused kernels share: scalar activations written as tfjs computes them, the GRU gate
 * update of src/engine/nn.ts gruCell (defined in filter.c), and an MLP's forward and backward on a block of rows
 * (defined in mlp.c). filter.c runs the posterior filter with them, mlp.c one MLP per call, imagine.c the imagined
 * rollout of the agent step.
 */
#ifndef CLAP_RL_FUSED_H
#define CLAP_RL_FUSED_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/* tfjs's SELU constants (Klambauer et al. 2017), so the fused and the tfjs paths agree to float32 rounding. */
#define SELU_SCALE 1.0507009873554805f
#define SELU_SCALE_ALPHA 1.7580993408473768f
/* Past ±this, softplus(x) equals x (resp. eˣ) to float32 precision: ln(float32 epsilon) + 2, the cut-off tfjs uses,
 * which also keeps exp from overflowing. */
#define SOFTPLUS_CUT 13.942385f

/* dSELU/dx from the output y: for x ≤ 0, y + s·α = s·α·eˣ. */
static inline float selu_grad(float y) { return y > 0.0f ? SELU_SCALE : y + SELU_SCALE_ALPHA; }
static inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
static inline float softplus(float x) {
  return x > SOFTPLUS_CUT ? x : (x < -SOFTPLUS_CUT ? expf(x) : log1pf(expf(x)));
}

/* ---- GRU gates (filter.c) ------------------------------------------------------------------------------------ */

/*
 * The gate update of nn.ts gruCell on B rows of width D, from the pre-activations gi = x·W_i + b_i and gh = h·W_h
 * ([B, 3D] packed, gates r | z | n): r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), g = gh_n + b_hn, n = tanh(gi_n + r ⊙ g),
 * h' = n + z ⊙ (h − n). hprev null means h = 0 (gh is then not read). Writes h' (leading dimension ldh) and, for the
 * backward, r | z | n | g at columns 0, D, 2D, 3D of s (leading dimension lds).
 */
void clap_gru_forward(int64_t B, int64_t D, const float* gi, const float* gh, const float* hprev, int64_t ldhp,
                      const float* bhn, float* h, int64_t ldh, float* s, int64_t lds);

/*
 * Its backward from dh = ∂/∂h' [B, D] packed: the pre-activation gradients dgi and dgh ([B, 3D] packed; dgh's n
 * block is ∂/∂gh_n, and its sum over rows is ∂/∂b_hn) and, unless dhprev is null, dhprev = dh ⊙ z (leading dimension
 * lddh), the direct part of ∂/∂h; the caller adds dgh·W_hᵀ.
 */
void clap_gru_backward(int64_t B, int64_t D, const float* dh, const float* s, int64_t lds, const float* hprev,
                       int64_t ldhp, float* dgi, float* dgh, float* dhprev, int64_t lddh);

/* ---- MLPs (mlp.c) -------------------------------------------------------------------------------------------- */

/* Layers are held in fixed arrays; MLPs in configs have a handful. */
#define CLAP_MLP_MAX_LAYERS 64

typedef enum { CLAP_ACT_NONE, CLAP_ACT_SELU, CLAP_ACT_ELU, CLAP_ACT_RELU, CLAP_ACT_TANH } clap_act;

/* An MLP's shape: L layers, layer j mapping w[j] → w[j+1], the activation f between layers and, when actInput,
 * before the first (MLP.applyFromFirst). */
typedef struct {
  int64_t L;
  int64_t w[CLAP_MLP_MAX_LAYERS + 1];
  clap_act act;
  bool actInput;
} clap_mlp;

/*
 * Y = the MLP applied to `rows` rows of X (leading dimension ldx): A_0 = f(X) when actInput, else X;
 * Z_j = A_j·W_j + b_j, A_{j+1} = f(Z_j) (j < L − 1), Y = Z_{L−1} [rows, w[L]] packed. a[j] receives A_j packed
 * ([rows, w[j]]) for every j ≥ 1, and for j = 0 when actInput (a[0] is not used otherwise).
 */
void clap_mlp_forward_rows(const clap_mlp* m, int64_t rows, const float* x, int64_t ldx, float* const* W,
                           float* const* b, float* const* a, float* y);

/* The gradient of layer j's output Z_j given dY: dY for the last layer, else dz[j]. */
static inline const float* clap_mlp_delta(const clap_mlp* m, int64_t j, const float* dy, float* const* dz) {
  return j + 1 == m->L ? dy : dz[j];
}

/* The chain of deltas from dY: dz[j] = dZ_j [rows, w[j+1]] for every j < L − 1, from the forward's a. */
void clap_mlp_deltas_rows(const clap_mlp* m, int64_t rows, float* const* W, float* const* a, const float* dy,
                          float* const* dz);

/* dX = dZ_0·W_0ᵀ (⊙ f'(A_0) when actInput) + beta·dX, leading dimension ldx; beta must be 0 when actInput. */
void clap_mlp_dx_rows(const clap_mlp* m, int64_t rows, const float* w0, const float* a0, const float* dy,
                      float* const* dz, float beta, float* dx, int64_t ldx);

/* dW_j = A_jᵀ·dZ_j, with A_0 = X (leading dimension ldx) unless actInput. */
void clap_mlp_dw_rows(const clap_mlp* m, int64_t rows, int64_t j, const float* x, int64_t ldx, float* const* a,
                      const float* dy, float* const* dz, float* dw);

/* db_j = Σ_rows dZ_j. */
void clap_mlp_db_rows(const clap_mlp* m, int64_t rows, int64_t j, const float* dy, float* const* dz, float* db);

#endif
