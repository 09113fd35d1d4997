# pkg-config supplies the include and library paths of whichever OpenBLAS variant is installed (on Debian the
# openblas-pthread headers live in an arch-specific folder). Without pkg-config or OpenBLAS the build fails, which
# npm tolerates for this optional dependency; clap-rl then stays on the pure-wasm kernel.
{
  "targets": [
    {
      "target_name": "clap_rl_blas",
      "sources": ["src/sgemm.c"],
      "cflags": ["-O2", "<!@(pkg-config --cflags openblas)"],
      "libraries": ["<!@(pkg-config --libs openblas)"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O2", "<!@(pkg-config --cflags openblas)"]
      }
    }
  ]
}
