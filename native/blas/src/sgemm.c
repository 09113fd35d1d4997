/*
 * N-API binding for the addon's single-precision GEMM (OpenBLAS or the portable one, matmul.h), used as the
 * BatchMatMul kernel of clap-rl's tfjs-wasm engine.
 * The typed arrays are zero-copy views of the wasm heap; offsets are in elements so the caller need not build a
 * subarray per batch element. Every extent is checked here because a bad offset would write outside the heap.
 */
#include "addon.h"
#include "args.h"
#include "matmul.h"
#ifdef CLAP_RL_OPENBLAS
#include <cblas.h>
#endif
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHECK(env, call)                                   \
  if ((call) != napi_ok) {                                 \
    napi_throw_error((env), NULL, "clap-rl-blas: " #call); \
    return NULL;                                           \
  }

/* sgemm's messages predate the "clap-rl-blas: <fn>: ..." form of args.h and name no operand, hence its own. */
static int get_floats(napi_env env, napi_value v, float** data, size_t* len) {
  if (!arg_float32_view(env, v, data, len)) {
    napi_throw_type_error(env, NULL, "clap-rl-blas: expected a Float32Array");
    return 0;
  }
  return 1;
}

static int get_count(napi_env env, napi_value v, int64_t* out) {
  if (napi_get_value_int64(env, v, out) != napi_ok || *out < 0 || *out > INT32_MAX) {
    napi_throw_range_error(env, NULL, "clap-rl-blas: sizes and offsets must be integers in [0, 2^31)");
    return 0;
  }
  return 1;
}

/* sgemm(transA, transB, M, N, K, a, aOffset, b, bOffset, c, cOffset): C = op(A)·op(B), row-major, C is M×N. */
napi_value clap_sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 11) {
    napi_throw_type_error(env, NULL, "clap-rl-blas: sgemm takes 11 arguments");
    return NULL;
  }
  bool ta, tb;
  CHECK(env, napi_get_value_bool(env, argv[0], &ta));
  CHECK(env, napi_get_value_bool(env, argv[1], &tb));
  int64_t m, n, k, ao, bo, co;
  float *a, *b, *c;
  size_t al, bl, cl;
  if (!get_count(env, argv[2], &m) || !get_count(env, argv[3], &n) || !get_count(env, argv[4], &k) ||
      !get_floats(env, argv[5], &a, &al) || !get_count(env, argv[6], &ao) || !get_floats(env, argv[7], &b, &bl) ||
      !get_count(env, argv[8], &bo) || !get_floats(env, argv[9], &c, &cl) || !get_count(env, argv[10], &co)) {
    return NULL;
  }
  if (ao + m * k > (int64_t)al || bo + k * n > (int64_t)bl || co + m * n > (int64_t)cl) {
    napi_throw_range_error(env, NULL, "clap-rl-blas: sgemm operand extends past its array");
    return NULL;
  }
  if (m == 0 || n == 0) return NULL;
  /* BLAS rejects a leading dimension of 0, and an empty sum is 0. */
  if (k == 0) {
    for (int64_t i = 0; i < m * n; i++) c[co + i] = 0.0f;
    return NULL;
  }
  clap_gemm(ta, tb, m, n, k, 1.0f, a + ao, ta ? m : k, b + bo, tb ? k : n, 0.0f, c + co, n);
  return NULL;
}

/* Whether a rows×cols matrix stored from element `off` with leading dimension ld fits in len elements. */
static bool fits(int64_t rows, int64_t cols, int64_t off, int64_t ld, size_t len) {
  return ld >= cols && (rows == 0 || cols == 0 || off + (rows - 1) * ld + cols <= (int64_t)len);
}

/*
 * portableSgemm(transA, transB, M, N, K, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc): the
 * portable kernel with cblas_sgemm's full row-major interface, whichever kernel this build's sgemm uses, so tests
 * can compare the two and check every argument the fused kernels pass.
 */
napi_value clap_portable_sgemm_js(napi_env env, napi_callback_info info) {
  size_t argc = 16;
  napi_value argv[16];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 16) {
    napi_throw_type_error(env, NULL, "clap-rl-blas: portableSgemm takes 16 arguments");
    return NULL;
  }
  bool ta, tb;
  double alpha, beta;
  CHECK(env, napi_get_value_bool(env, argv[0], &ta));
  CHECK(env, napi_get_value_bool(env, argv[1], &tb));
  CHECK(env, napi_get_value_double(env, argv[5], &alpha));
  CHECK(env, napi_get_value_double(env, argv[12], &beta));
  int64_t m, n, k, ao, lda, bo, ldb, co, ldc;
  float *a, *b, *c;
  size_t al, bl, cl;
  if (!get_count(env, argv[2], &m) || !get_count(env, argv[3], &n) || !get_count(env, argv[4], &k) ||
      !get_floats(env, argv[6], &a, &al) || !get_count(env, argv[7], &ao) || !get_count(env, argv[8], &lda) ||
      !get_floats(env, argv[9], &b, &bl) || !get_count(env, argv[10], &bo) || !get_count(env, argv[11], &ldb) ||
      !get_floats(env, argv[13], &c, &cl) || !get_count(env, argv[14], &co) || !get_count(env, argv[15], &ldc)) {
    return NULL;
  }
  if (!fits(ta ? k : m, ta ? m : k, ao, lda, al) || !fits(tb ? n : k, tb ? k : n, bo, ldb, bl) ||
      !fits(m, n, co, ldc, cl)) {
    napi_throw_range_error(env, NULL, "clap-rl-blas: portableSgemm operand extends past its array or ld < its row");
    return NULL;
  }
  clap_portable_sgemm(ta, tb, m, n, k, (float)alpha, a + ao, lda, b + bo, ldb, (float)beta, c + co, ldc);
  return NULL;
}

/* The portable kernel runs on the calling thread only: there setThreads checks its argument as in the OpenBLAS
 * build and changes nothing, getThreads says 1 and config names the kernel. */
napi_value clap_set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t t;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || napi_get_value_int64(env, argv[0], &t) != napi_ok || t < 1 || t > 1024) {
    napi_throw_range_error(env, NULL, "clap-rl-blas: setThreads takes one integer in [1, 1024]");
    return NULL;
  }
#ifdef CLAP_RL_OPENBLAS
  openblas_set_num_threads((int)t);
#endif
  return NULL;
}

napi_value clap_get_threads(napi_env env, napi_callback_info info) {
  napi_value out;
#ifdef CLAP_RL_OPENBLAS
  CHECK(env, napi_create_int32(env, openblas_get_num_threads(), &out));
#else
  CHECK(env, napi_create_int32(env, 1, &out));
#endif
  return out;
}

napi_value clap_get_config(napi_env env, napi_callback_info info) {
  napi_value out;
#ifdef CLAP_RL_OPENBLAS
  CHECK(env, napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &out));
#else
  CHECK(env, napi_create_string_utf8(env, "portable sgemm (clap-rl, no OpenBLAS)", NAPI_AUTO_LENGTH, &out));
#endif
  return out;
}

napi_value clap_get_matmul_backend(napi_env env) {
  napi_value out;
  if (napi_create_string_utf8(env, clap_matmul_backend, NAPI_AUTO_LENGTH, &out) != napi_ok) return NULL;
  return out;
}
