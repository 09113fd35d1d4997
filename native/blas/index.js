"use strict";
// Loads the compiled module; throws (MODULE_NOT_FOUND or a dlopen error) when the build was skipped or failed,
// which the caller treats as "accelerator unavailable".
module.exports = require("./build/Release/clap_rl_blas.node");
