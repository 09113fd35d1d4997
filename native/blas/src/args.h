/*
 * Argument reading and errors shared by the addon's callbacks. Every error names the callback:
 * "clap-rl-blas: <fn>: <what>". The readers return false with a JS exception pending (as a rule; see arg_bad), so a
 * callback chains them with || and returns arg_bad on the first failure, before anything is written.
 */
#ifndef CLAP_RL_ARGS_H
#define CLAP_RL_ARGS_H

#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

#if defined(__GNUC__)
#define ARG_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define ARG_PRINTF(fmt, first)
#endif

/* The callback being served: its env and its JS name, for messages. */
typedef struct {
  napi_env env;
  const char* fn;
} arg_ctx;

typedef enum { ARG_TYPE_ERROR, ARG_RANGE_ERROR, ARG_ERROR } arg_error;

/* Throws the printf-formatted `what` as "clap-rl-blas: <fn>: <what>" in the given error class; returns false. */
bool arg_fail(const arg_ctx* c, arg_error kind, const char* fmt, ...) ARG_PRINTF(3, 4);

/* For argument reading that failed: N-API calls fail without an exception only in cases that should not happen
 * (e.g. a throwing getter leaves its own exception), so make sure the caller never sees a silent no-op. Returns
 * NULL, the callback's result. */
napi_value arg_bad(const arg_ctx* c);

/* Exactly `want` arguments into argv; any other count is a TypeError "<fn>: <usage>". */
bool arg_count(const arg_ctx* c, napi_callback_info info, size_t want, napi_value* argv, const char* usage);

/* The fused kernels' call shape (dims, operands): arg_count for two arguments. */
bool arg_dims_operands(const arg_ctx* c, napi_callback_info info, napi_value argv[2]);

/* obj[name], which must exist (TypeError "missing 'name'"). */
bool arg_prop(const arg_ctx* c, napi_value obj, const char* name, napi_value* out);

/* Whether v is an array, and its length; throws nothing (callers word their own error). */
bool arg_array_length(const arg_ctx* c, napi_value v, uint32_t* len);

/* obj[name] as an integer in [lo, 2^31) (any JS number that is one; RangeError otherwise). */
bool arg_size(const arg_ctx* c, napi_value obj, const char* name, int64_t lo, int64_t* out);

/* obj[name] as a finite number (TypeError otherwise, also when it is missing). */
bool arg_number(const arg_ctx* c, napi_value obj, const char* name, double* out);

/* obj.widths: an array of 2 to `max` integers in [1, 2^31) into w[0 .. *n); `what` names the list in the RangeError
 * for a wrong count ("'widths' must list 2 to <max> <what>"). */
bool arg_widths(const arg_ctx* c, napi_value obj, uint32_t max, const char* what, int64_t* w, uint32_t* n);

/* Whether v is a Float32Array, and its data and element count; throws nothing. */
bool arg_float32_view(napi_env env, napi_value v, float** data, size_t* len);

/* v as a Float32Array of any length (TypeError otherwise): its data and element count. */
bool arg_float32(const arg_ctx* c, napi_value v, const char* name, float** data, int64_t* len);

/* v as a Float32Array of exactly n elements (RangeError for another length). Where `nullable`, null or undefined
 * read as *out = NULL and the TypeError says "or null". */
bool arg_floats(const arg_ctx* c, napi_value v, const char* name, int64_t n, bool nullable, float** out);

/* v as an array of n Float32Arrays, entry j of exactly len[j] elements (null or undefined, read as NULL, where
 * `nullable`); `label` names the array in messages ("'<label>' must be an array of <n> arrays", "'<label>[j]' ..."). */
bool arg_float_list(const arg_ctx* c, napi_value v, const char* label, uint32_t n, const int64_t* len, bool nullable,
                    float** out);

/* obj[name], an operand: a Float32Array of exactly n elements. */
bool arg_operand(const arg_ctx* c, napi_value obj, const char* name, int64_t n, float** out);

/* Whether v is null or undefined (false, and no exception, when its type cannot be read). */
bool arg_is_nullish(const arg_ctx* c, napi_value v);

#endif
