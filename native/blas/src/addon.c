/* The addon's one module init: every source's callbacks (declared in addon.h) under their JS names. */
#include "addon.h"

NAPI_MODULE_INIT() {
  napi_value backend = clap_get_matmul_backend(env);
  if (backend == NULL) return NULL;
  napi_property_descriptor props[] = {
      {"sgemm", NULL, clap_sgemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"portableSgemm", NULL, clap_portable_sgemm_js, NULL, NULL, NULL, napi_enumerable, NULL},
      {"matmulBackend", NULL, NULL, NULL, NULL, backend, napi_enumerable, NULL},
      {"setThreads", NULL, clap_set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getThreads", NULL, clap_get_threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"config", NULL, clap_get_config, NULL, NULL, NULL, napi_enumerable, NULL},
      {"filterSavedWidth", NULL, clap_filter_saved_width, NULL, NULL, NULL, napi_enumerable, NULL},
      {"filterForward", NULL, clap_filter_forward, NULL, NULL, NULL, napi_enumerable, NULL},
      {"filterBackward", NULL, clap_filter_backward, NULL, NULL, NULL, napi_enumerable, NULL},
      {"selu", NULL, clap_selu, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tanh", NULL, clap_tanh, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seluGrad", NULL, clap_selu_grad, NULL, NULL, NULL, napi_enumerable, NULL},
      {"adam", NULL, clap_adam, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mlpForward", NULL, clap_mlp_forward, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mlpBackward", NULL, clap_mlp_backward, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mlpGrads", NULL, clap_mlp_grads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"imagineSavedSize", NULL, clap_imagine_saved_size, NULL, NULL, NULL, napi_enumerable, NULL},
      {"imagineForward", NULL, clap_imagine_forward, NULL, NULL, NULL, napi_enumerable, NULL},
      {"imagineBackward", NULL, clap_imagine_backward, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
