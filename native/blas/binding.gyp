# pkg-config supplies the include and library paths of whichever OpenBLAS variant is installed (on Debian the
# openblas-pthread headers live in an arch-specific folder). Without pkg-config or OpenBLAS the build fails, which
# npm tolerates for this optional dependency; clap-rl then stays on the pure-wasm kernel.
# One module: src/addon.c exports the callbacks of every source (the BatchMatMul sgemm, the fused posterior-filter
# recurrence, the elementwise kernels, the fused MLP), and src/args.c holds the argument reading they share.
# -O3 lets GCC vectorise the elementwise loops for the baseline ISA of the target (no -march, so the addon runs on
# any CPU of the architecture); -fno-trapping-math lets it evaluate both sides
# of a select (we never read floating-point exception flags), -fno-math-errno lets sqrtf compile to one instruction,
# and -fopenmp-simd honours the `omp simd` reduction pragma without linking an OpenMP runtime.
{
  "target_defaults": {
    "cflags": ["-O3", "-fno-trapping-math", "-fno-math-errno", "-fopenmp-simd", "<!@(pkg-config --cflags openblas)"],
    "libraries": ["<!@(pkg-config --libs openblas)"],
    "xcode_settings": {
      "OTHER_CFLAGS": ["-O3", "-fno-trapping-math", "-fno-math-errno", "-fopenmp-simd", "<!@(pkg-config --cflags openblas)"]
    }
  },
  "targets": [
    { "target_name": "clap_rl_blas", "sources": ["src/addon.c", "src/args.c", "src/sgemm.c", "src/filter.c", "src/elementwise.c", "src/mlp.c"] }
  ]
}
