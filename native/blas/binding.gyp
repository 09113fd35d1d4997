# configure.cjs picks the matmul: OpenBLAS where pkg-config finds it (its include and library paths come from
# pkg-config, as on Debian the openblas-pthread headers live in an arch-specific folder), else the portable kernel of
# src/matmul.c, so the addon builds wherever there is a C compiler; CLAP_RL_OPENBLAS=0 forces the portable one.
# One module: src/addon.c exports the callbacks of every source (the BatchMatMul sgemm, the fused posterior-filter
# recurrence, the elementwise kernels, the fused MLP,
# the fused imagined rollout), and src/args.c holds the argument reading they share.
# -O3 lets GCC vectorise the elementwise loops for the baseline ISA of the target (no -march, so the addon runs on
# any CPU of the architecture; the portable matmul adds an AVX2 clone chosen at load time); -fno-trapping-math lets
# it evaluate both sides of a select (we never read floating-point exception flags), -fno-math-errno lets sqrtf
# compile to one instruction, and -fopenmp-simd honours the `omp simd` pragmas without linking an OpenMP runtime.
{
  "target_defaults": {
    "cflags": ["-O3", "-fno-trapping-math", "-fno-math-errno", "-fopenmp-simd", "<!@(node configure.cjs cflags)"],
    "libraries": ["<!@(node configure.cjs libs)"],
    "xcode_settings": {
      "OTHER_CFLAGS": ["-O3", "-fno-trapping-math", "-fno-math-errno", "-fopenmp-simd", "<!@(node configure.cjs cflags)"]
    }
  },
  "targets": [
    {
      "target_name": "clap_rl_blas",
      "sources": ["src/addon.c", "src/args.c", "src/matmul.c", "src/sgemm.c", "src/filter.c", "src/elementwise.c", "src/mlp.c", "src/imagine.c"]
    }
  ]
}
