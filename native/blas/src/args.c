/* Argument reading and errors shared by the addon's callbacks (see args.h). */
#include "args.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

bool arg_fail(const arg_ctx* c, arg_error kind, const char* fmt, ...) {
  char msg[256];
  int at = snprintf(msg, sizeof msg, "clap-rl-blas: %s: ", c->fn);
  if (at < 0 || (size_t)at >= sizeof msg) at = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + at, sizeof msg - (size_t)at, fmt, ap);
  va_end(ap);
  switch (kind) {
    case ARG_TYPE_ERROR:
      napi_throw_type_error(c->env, NULL, msg);
      break;
    case ARG_RANGE_ERROR:
      napi_throw_range_error(c->env, NULL, msg);
      break;
    case ARG_ERROR:
      napi_throw_error(c->env, NULL, msg);
      break;
  }
  return false;
}

napi_value arg_bad(const arg_ctx* c) {
  bool pending;
  if (napi_is_exception_pending(c->env, &pending) == napi_ok && !pending)
    arg_fail(c, ARG_ERROR, "could not read its arguments");
  return NULL;
}

bool arg_count(const arg_ctx* c, napi_callback_info info, size_t want, napi_value* argv, const char* usage) {
  size_t argc = want;
  if (napi_get_cb_info(c->env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc != want) return arg_fail(c, ARG_TYPE_ERROR, "%s", usage);
  return true;
}

bool arg_dims_operands(const arg_ctx* c, napi_callback_info info, napi_value argv[2]) {
  return arg_count(c, info, 2, argv, "takes 2 arguments (dims, operands)");
}

bool arg_prop(const arg_ctx* c, napi_value obj, const char* name, napi_value* out) {
  bool has;
  if (napi_has_named_property(c->env, obj, name, &has) != napi_ok || !has)
    return arg_fail(c, ARG_TYPE_ERROR, "missing '%s'", name);
  return napi_get_named_property(c->env, obj, name, out) == napi_ok;
}

bool arg_array_length(const arg_ctx* c, napi_value v, uint32_t* len) {
  bool is;
  return napi_is_array(c->env, v, &is) == napi_ok && is && napi_get_array_length(c->env, v, len) == napi_ok;
}

/* v as a whole number in [lo, 2^31); NaN and ±∞ fail the comparisons. */
static bool int_in(const arg_ctx* c, napi_value v, int64_t lo, int64_t* out) {
  double d;
  if (napi_get_value_double(c->env, v, &d) != napi_ok || d != floor(d) || d < (double)lo || d > (double)INT32_MAX)
    return false;
  *out = (int64_t)d;
  return true;
}

bool arg_size(const arg_ctx* c, napi_value obj, const char* name, int64_t lo, int64_t* out) {
  napi_value v;
  if (!arg_prop(c, obj, name, &v)) return false;
  if (!int_in(c, v, lo, out))
    return arg_fail(c, ARG_RANGE_ERROR, "'%s' must be an integer in [%lld, 2^31)", name, (long long)lo);
  return true;
}

bool arg_number(const arg_ctx* c, napi_value obj, const char* name, double* out) {
  napi_value v;
  bool has;
  if (napi_has_named_property(c->env, obj, name, &has) != napi_ok || !has ||
      napi_get_named_property(c->env, obj, name, &v) != napi_ok || napi_get_value_double(c->env, v, out) != napi_ok ||
      !isfinite(*out)) {
    return arg_fail(c, ARG_TYPE_ERROR, "'%s' must be a finite number", name);
  }
  return true;
}

bool arg_widths(const arg_ctx* c, napi_value obj, uint32_t max, const char* what, int64_t* w, uint32_t* n) {
  napi_value widths, v;
  if (!arg_prop(c, obj, "widths", &widths)) return false;
  if (!arg_array_length(c, widths, n)) return arg_fail(c, ARG_TYPE_ERROR, "'widths' must be an array");
  if (*n < 2 || *n > max) return arg_fail(c, ARG_RANGE_ERROR, "'widths' must list 2 to %u %s", max, what);
  for (uint32_t j = 0; j < *n; j++) {
    if (napi_get_element(c->env, widths, j, &v) != napi_ok || !int_in(c, v, 1, &w[j]))
      return arg_fail(c, ARG_RANGE_ERROR, "'widths' entries must be integers in [1, 2^31)");
  }
  return true;
}

bool arg_float32_view(napi_env env, napi_value v, float** data, size_t* len) {
  bool is;
  napi_typedarray_type type;
  void* ptr;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, len, &ptr, NULL, NULL) != napi_ok || type != napi_float32_array)
    return false;
  *data = (float*)ptr;
  return true;
}

bool arg_float32(const arg_ctx* c, napi_value v, const char* name, float** data, int64_t* len) {
  size_t n;
  if (!arg_float32_view(c->env, v, data, &n)) return arg_fail(c, ARG_TYPE_ERROR, "'%s' must be a Float32Array", name);
  *len = (int64_t)n;
  return true;
}

bool arg_floats(const arg_ctx* c, napi_value v, const char* name, int64_t n, bool nullable, float** out) {
  if (nullable && arg_is_nullish(c, v)) {
    *out = NULL;
    return true;
  }
  size_t len;
  if (!arg_float32_view(c->env, v, out, &len))
    return arg_fail(c, ARG_TYPE_ERROR, "'%s' must be a Float32Array%s", name, nullable ? " or null" : "");
  if ((int64_t)len != n)
    return arg_fail(c, ARG_RANGE_ERROR, "'%s' has %zu elements, expected %lld", name, len, (long long)n);
  return true;
}

bool arg_float_list(const arg_ctx* c, napi_value v, const char* label, uint32_t n, const int64_t* len, bool nullable,
                    float** out) {
  napi_value item;
  uint32_t got;
  char name[96];
  if (!arg_array_length(c, v, &got) || got != n)
    return arg_fail(c, ARG_RANGE_ERROR, "'%s' must be an array of %u arrays (one per layer)", label, n);
  for (uint32_t j = 0; j < n; j++) {
    snprintf(name, sizeof name, "%s[%u]", label, j);
    if (napi_get_element(c->env, v, j, &item) != napi_ok || !arg_floats(c, item, name, len[j], nullable, &out[j]))
      return false;
  }
  return true;
}

bool arg_operand(const arg_ctx* c, napi_value obj, const char* name, int64_t n, float** out) {
  napi_value v;
  return arg_prop(c, obj, name, &v) && arg_floats(c, v, name, n, false, out);
}

bool arg_is_nullish(const arg_ctx* c, napi_value v) {
  napi_valuetype t;
  return napi_typeof(c->env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined);
}
