/*
 * A portable single-precision GEMM (the subset of cblas_sgemm the addon calls: row-major, either operand transposed,
 * any leading dimensions, alpha and beta), so the addon needs no BLAS library; and clap_gemm, which picks OpenBLAS
 * when the build found it.
 *
 * The layout is GotoBLAS's: op(B) is packed in KC×NC blocks of NR-wide column panels and op(A) in MC×KC blocks of
 * MR-tall row panels, so the micro-kernel streams both from contiguous memory whatever the transposes and leading
 * dimensions, and one block of each stays in cache while it is reused. The micro-kernel is plain C with constant
 * trip counts, which GCC vectorises at -O3 and keeps in registers (MR·NR = 96 accumulators, 12 AVX2 registers).
 * Without -march the baseline x86-64 ISA has neither FMA nor 256-bit vectors (≈ 33 GFLOP/s on the benchmark machine
 * against ≈ 80 with them, OpenBLAS ≈ 90); with GCC on x86-64 Linux, target_clones therefore also compiles it for
 * x86-64-v3 (AVX2, FMA) and the loader picks that where the CPU has it, so the addon still runs on any x86-64.
 * (-v4 gains nothing: GCC keeps to 256-bit vectors there too.)
 */
#include "matmul.h"
#include <stdlib.h>
#include <string.h>
#ifdef CLAP_RL_OPENBLAS
#include <cblas.h>
#endif

#ifdef CLAP_RL_OPENBLAS
const char clap_matmul_backend[] = "openblas";
#else
const char clap_matmul_backend[] = "portable";
#endif

#define MR 6
#define NR 16
/* A KC×NR panel of B (16 KiB) stays in L1 while the micro-kernel sweeps the MC rows of the A block (120 KiB, L2). */
#define KC 256
#define MC 120
#define NC 2048

/* GCC only: it resolves the x86-64-v3 clone by CPU features (any vendor); Clang's support for the level names varies
 * by version, and a compile error there would cost the whole addon rather than the speed-up. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CPU_CLONES
#endif

/*
 * C[i·ldc + j] = alpha·Σ_p ap[p·MR + i]·bp[p·ldbp + j] + beta·C[i·ldc + j] for i < mr, j < nr: one MR×NR tile from a
 * packed A panel and a B panel that is packed (ldbp = NR) or B itself (ldbp = ldb), beta = 0 leaving C unread.
 */
CPU_CLONES static void micro_kernel(int64_t kc, const float* restrict ap, const float* restrict bp, int64_t ldbp,
                                    int64_t mr, int64_t nr, float alpha, float beta, float* restrict c, int64_t ldc) {
  float acc[MR][NR] = {{0.0f}};
  for (int64_t p = 0; p < kc; p++) {
    const float* bv = bp + p * ldbp;
    for (int i = 0; i < MR; i++) {
      const float av = ap[p * MR + i];
      /* Without the pragma GCC fully unrolls i and j first and then vectorises across i with shuffles, spilling
       * the accumulators; with it, each row of acc is NR/8 AVX2 registers (NR/4 SSE ones) updated by FMA. */
#pragma omp simd
      for (int j = 0; j < NR; j++) acc[i][j] += av * bv[j];
    }
  }
  for (int64_t i = 0; i < mr; i++) {
    float* row = c + i * ldc;
    if (nr == NR && beta == 0.0f) {
#pragma omp simd
      for (int j = 0; j < NR; j++) row[j] = alpha * acc[i][j];
    } else if (nr == NR) {
#pragma omp simd
      for (int j = 0; j < NR; j++) row[j] = alpha * acc[i][j] + beta * row[j];
    } else if (beta == 0.0f) {
      for (int64_t j = 0; j < nr; j++) row[j] = alpha * acc[i][j];
    } else {
      for (int64_t j = 0; j < nr; j++) row[j] = alpha * acc[i][j] + beta * row[j];
    }
  }
}

/* Rows i0 .. i0+mc of op(A), columns p0 .. p0+kc, as MR-tall panels: dst[(panel·kc + p)·MR + i]; rows past mc are 0
 * so the micro-kernel never branches on the edge. */
static void pack_a(bool ta, const float* a, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) {
  for (int64_t ip = 0; ip < mc; ip += MR, dst += kc * MR) {
    const int64_t mr = mc - ip < MR ? mc - ip : MR;
    if (mr < MR) memset(dst, 0, (size_t)(kc * MR) * sizeof(float));
    if (ta) {
      for (int64_t p = 0; p < kc; p++) {
        const float* src = a + (p0 + p) * lda + i0 + ip;
        for (int64_t i = 0; i < mr; i++) dst[p * MR + i] = src[i];
      }
    } else {
      for (int64_t i = 0; i < mr; i++) {
        const float* src = a + (i0 + ip + i) * lda + p0;
        for (int64_t p = 0; p < kc; p++) dst[p * MR + i] = src[p];
      }
    }
  }
}

/* Rows p0 .. p0+kc of op(B), columns j0 .. j0+nc, as NR-wide panels: dst[(panel·kc + p)·NR + j], zero-padded. */
static void pack_b(bool tb, const float* b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst) {
  for (int64_t jp = 0; jp < nc; jp += NR, dst += kc * NR) {
    const int64_t nr = nc - jp < NR ? nc - jp : NR;
    if (nr < NR) memset(dst, 0, (size_t)(kc * NR) * sizeof(float));
    if (tb) {
      /* The transpose reads NR rows side by side and writes whole packed rows: sequential stores beat the
       * row-at-a-time order, whose stores stride by NR floats. */
      const float* src = b + (j0 + jp) * ldb + p0;
      for (int64_t p = 0; p < kc; p++)
        for (int64_t j = 0; j < nr; j++) dst[p * NR + j] = src[j * ldb + p];
    } else {
      for (int64_t p = 0; p < kc; p++) memcpy(dst + p * NR, b + (p0 + p) * ldb + j0 + jp, (size_t)nr * sizeof(float));
    }
  }
}

/* Packing space of the calling thread, kept between calls: the fused kernels issue thousands of small products per
 * step, and a fresh allocation each time would cost more than packing. */
static _Thread_local float* pack_buf;
static _Thread_local size_t pack_cap;

static float* pack_space(size_t floats) {
  if (floats > pack_cap) {
    free(pack_buf);
    pack_buf = malloc(floats * sizeof(float));
    pack_cap = pack_buf ? floats : 0;
  }
  return pack_buf;
}

static int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

void clap_portable_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                         const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  const int64_t a_floats = round_up(min64(m, MC), MR) * min64(k, KC);
  float* space = pack_space((size_t)(a_floats + round_up(min64(n, NC), NR) * min64(k, KC)));
  if (space == NULL) abort(); /* as OpenBLAS does when its buffers cannot be had: the kernels have no error path */
  float* ap = space;
  float* bp = space + a_floats;
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = min64(n - jc, NC);
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = min64(k - pc, KC);
      const float beta_now = pc == 0 ? beta : 1.0f; /* later K blocks add to what the first one stored */
      /* B as it is needs no packing for its full panels, whose rows are NR contiguous floats; packing pays only
       * for tall A, whose m/MR panels each re-read B. The ragged last panel is always packed, zero-padded. */
      const bool direct_b = !tb && m <= MC;
      const int64_t packed_from = direct_b ? nc / NR * NR : 0;
      pack_b(tb, b, ldb, pc, kc, jc + packed_from, nc - packed_from, bp + packed_from * kc);
      for (int64_t ic = 0; ic < m; ic += MC) {
        const int64_t mc = min64(m - ic, MC);
        pack_a(ta, a, lda, ic, mc, pc, kc, ap);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const bool direct = jr < packed_from;
          const float* panel = direct ? b + pc * ldb + jc + jr : bp + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            micro_kernel(kc, ap + ir * kc, panel, direct ? ldb : NR, min64(mc - ir, MR), min64(nc - jr, NR), alpha,
                         beta_now, c + (ic + ir) * ldc + jc + jr, ldc);
          }
        }
      }
    }
  }
}

void clap_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
#ifdef CLAP_RL_OPENBLAS
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
              alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
#else
  clap_portable_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

void clap_gemm1(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == 0.0f)
      for (int64_t i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
    else if (beta != 1.0f)
      for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) c[i * ldc + j] *= beta;
    return;
  }
  clap_gemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
}
