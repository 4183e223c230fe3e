#!/usr/bin/env bash
# Writes the seed corpora, from Tencent's documented samples (fixtures/events), into
# fuzz/corpus/<target>/ (or DIR/<target>/): `fuzz/seed.sh [DIR]`. Needs `cargo +nightly` and
# cargo-fuzz. The seeds are written by a fuzz target at start-up (TCW_FUZZ_SEED_DIR), built with
# the same flags as fuzz/run.sh, so seeding after a run's build costs no second build.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="$(realpath -m "${1:-fuzz/corpus}")"
# Keep in step with fuzz/run.sh: other flags would rebuild everything.
build_flags=(--sanitizer "${FUZZ_SANITIZER:-none}" --codegen-units "${FUZZ_CODEGEN_UNITS:-16}")

TCW_FUZZ_SEED_DIR="$dir" cargo +nightly fuzz run "${build_flags[@]}" body -- -runs=0
