# pkg-config supplies the include and library paths of whichever OpenBLAS variant is installed (on Debian the
# openblas-pthread headers live in an arch-specific folder). Without pkg-config or OpenBLAS the build fails, which
# npm tolerates for this optional dependency; clap-rl then stays on the pure-wasm kernel.
# Two modules, merged by index.js: the BatchMatMul sgemm and the fused posterior-filter recurrence.
{
  "target_defaults": {
    "cflags": ["-O2", "<!@(pkg-config --cflags openblas)"],
    "libraries": ["<!@(pkg-config --libs openblas)"],
    "xcode_settings": {
      "OTHER_CFLAGS": ["-O2", "<!@(pkg-config --cflags openblas)"]
    }
  },
  "targets": [
    { "target_name": "clap_rl_blas", "sources": ["src/sgemm.c"] },
    { "target_name": "clap_rl_filter", "sources": ["src/filter.c"] }
  ]
}
