/*
 * The N-API callbacks of clap-rl's native addon, one module built from several sources: each source defines its
 * callbacks here, and addon.c holds the single module init that exports them all under their JS names.
 */
#ifndef CLAP_RL_ADDON_H
#define CLAP_RL_ADDON_H

#include <node_api.h>
#include <stdint.h>

/* sgemm.c: the BatchMatMul kernel, the portable kernel with the full cblas_sgemm interface (for tests), OpenBLAS's
 * thread and build queries (stand-ins in the portable build) and the matmul path's name. */
napi_value clap_sgemm(napi_env env, napi_callback_info info);
napi_value clap_portable_sgemm_js(napi_env env, napi_callback_info info);
napi_value clap_get_matmul_backend(napi_env env);
napi_value clap_set_threads(napi_env env, napi_callback_info info);
napi_value clap_get_threads(napi_env env, napi_callback_info info);
napi_value clap_get_config(napi_env env, napi_callback_info info);

/* filter.c: the fused posterior-filter recurrence and its backward pass. */
napi_value clap_filter_saved_width(napi_env env, napi_callback_info info);
napi_value clap_filter_forward(napi_env env, napi_callback_info info);
napi_value clap_filter_backward(napi_env env, napi_callback_info info);

/* elementwise.c: SELU forward and gradient, tanh forward, and the Adam step over all parameters with its clip norm. */
napi_value clap_selu(napi_env env, napi_callback_info info);
napi_value clap_tanh(napi_env env, napi_callback_info info);
napi_value clap_selu_grad(napi_env env, napi_callback_info info);
napi_value clap_adam(napi_env env, napi_callback_info info);

/* elementwise.c's vectorised loops over n elements, shared with mlp.c, filter.c and imagine.c; in place is allowed
 * (y = x, dx = dy). */
void clap_selu_forward(int64_t n, const float* x, float* y);
void clap_selu_backward(int64_t n, const float* dy, const float* y, float* dx);
void clap_tanh_forward(int64_t n, const float* x, float* y);
void clap_sigmoid_forward(int64_t n, const float* x, float* y);

/* mlp.c: an MLP's forward, the backward chain of layer deltas, and the input and weight gradients from it. */
napi_value clap_mlp_forward(napi_env env, napi_callback_info info);
napi_value clap_mlp_backward(napi_env env, napi_callback_info info);
napi_value clap_mlp_grads(napi_env env, napi_callback_info info);

/* imagine.c: the fused imagined rollout of the agent step (policy, latent action prior, decoder, transition, prior)
 * and its backward pass into the policy's parameters. */
napi_value clap_imagine_saved_size(napi_env env, napi_callback_info info);
napi_value clap_imagine_forward(napi_env env, napi_callback_info info);
napi_value clap_imagine_backward(napi_env env, napi_callback_info info);

#endif
