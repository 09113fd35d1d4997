/*
 * N-API binding for OpenBLAS single-precision GEMM, used as the BatchMatMul kernel of clap-rl's tfjs-wasm engine.
 * The typed arrays are zero-copy views of the wasm heap; offsets are in elements so the caller need not build a
 * subarray per batch element. Every extent is checked here because a bad offset would write outside the heap.
 */
#include "addon.h"
#include "args.h"
#include <cblas.h>
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
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
              1.0f, a + ao, (int)(ta ? m : k), b + bo, (int)(tb ? k : n), 0.0f, c + co, (int)n);
  return NULL;
}

napi_value clap_set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t t;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || napi_get_value_int64(env, argv[0], &t) != napi_ok || t < 1 || t > 1024) {
    napi_throw_range_error(env, NULL, "clap-rl-blas: setThreads takes one integer in [1, 1024]");
    return NULL;
  }
  openblas_set_num_threads((int)t);
  return NULL;
}

napi_value clap_get_threads(napi_env env, napi_callback_info info) {
  napi_value out;
  CHECK(env, napi_create_int32(env, openblas_get_num_threads(), &out));
  return out;
}

napi_value clap_get_config(napi_env env, napi_callback_info info) {
  napi_value out;
  CHECK(env, napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &out));
  return out;
}
