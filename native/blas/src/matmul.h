/*
 * The single-precision matmul behind every kernel of the addon: OpenBLAS's cblas_sgemm where the build found
 * OpenBLAS (CLAP_RL_OPENBLAS defined by binding.gyp), else the portable sgemm of matmul.c, so the fused kernels build
 * on any machine with a C compiler. The portable one is compiled into both builds so tests can compare the two.
 */
#ifndef CLAP_RL_MATMUL_H
#define CLAP_RL_MATMUL_H

#include <stdbool.h>
#include <stdint.h>

/* "openblas" or "portable": the path clap_gemm takes in this build. */
extern const char clap_matmul_backend[];

/*
 * C (m×n) = alpha·op(A)·op(B) + beta·C, row-major with leading dimensions as in cblas_sgemm (op(A) is m×k, A itself
 * k×m when transposed). beta = 0 never reads C, so C may hold garbage (NaN included), as BLAS promises.
 */
void clap_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
/* clap_gemm with alpha = 1, for the fused kernels: it also takes k = 0, an empty sum that BLAS rejects, where C
 * becomes beta·C (zero for beta = 0). */
void clap_gemm1(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                int64_t ldb, float beta, float* c, int64_t ldc);
void clap_portable_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                         const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

#endif
