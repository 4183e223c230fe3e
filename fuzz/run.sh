#!/usr/bin/env bash
# Coverage-guided fuzzing, bounded: `fuzz/run.sh SECONDS_PER_TARGET [TARGET...]`.
#
# Builds the targets with cargo-fuzz (libFuzzer) on the nightly toolchain, seeds the corpora from
# fixtures/events, runs each target for SECONDS_PER_TARGET seconds, and prints each one's
# executions. Exits 0 with "skipped: no nightly toolchain" when `cargo +nightly` does not work;
# installs cargo-fuzz when it is missing. Exits non-zero if any target crashed (or hung), after
# running them all; the crashing input is under fuzz/artifacts/<target>/. The inputs of past
# crashes (fuzz/regressions/<target>/) run first.
#
# Environment: FUZZ_SANITIZER (default none: the crate forbids unsafe code, and without
# AddressSanitizer a target runs several times faster; `address` for ASan), FUZZ_CODEGEN_UNITS
# (default 16: a third less build time than cargo-fuzz's 1, for some 20 % fewer executions).
set -uo pipefail
cd "$(dirname "$0")/.."
# The crate's own lint gates run on stable; nightly may warn where stable does not, and -D warnings
# from the environment would make that a build failure here.
unset RUSTFLAGS

seconds="${1:?usage: fuzz/run.sh SECONDS_PER_TARGET [TARGET...]}"
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(query body verifier service)
build_flags=(--sanitizer "${FUZZ_SANITIZER:-none}" --codegen-units "${FUZZ_CODEGEN_UNITS:-16}")

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "skipped: no nightly toolchain (cargo +nightly --version failed), so no fuzzing"
  exit 0
fi
echo "fuzz: $(cargo +nightly --version)"

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: cargo-fuzz is missing: cargo +nightly install cargo-fuzz --locked"
  start=$SECONDS
  cargo +nightly install cargo-fuzz --locked || { echo "fuzz: cannot install cargo-fuzz" >&2; exit 1; }
  echo "fuzz: installed cargo-fuzz in $((SECONDS - start)) s"
fi
echo "fuzz: $(cargo +nightly fuzz --version)"

start=$SECONDS
echo "fuzz: building ${targets[*]} (${build_flags[*]})"
# Once, a build here stopped with no compiler error (cargo ended by a signal from outside?): a
# second try costs nothing when the first one failed for a real reason, as that fails again.
if ! cargo +nightly fuzz build "${build_flags[@]}"; then
  echo "fuzz: the build failed; trying once more"
  cargo +nightly fuzz build "${build_flags[@]}" || { echo "fuzz: the build failed" >&2; exit 1; }
fi
echo "fuzz: built in $((SECONDS - start)) s"

fuzz/seed.sh || { echo "fuzz: seeding failed" >&2; exit 1; }

logs="$(mktemp -d)"
failed=()
for t in "${targets[@]}"; do
  echo "fuzz: running $t for $seconds s"
  start=$SECONDS
  # The committed crash inputs run first, every time: a regression fails at once.
  corpora=("fuzz/corpus/$t")
  [ -d "fuzz/regressions/$t" ] && corpora+=("fuzz/regressions/$t")
  cargo +nightly fuzz run "${build_flags[@]}" "$t" "${corpora[@]}" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    >"$logs/$t.log" 2>&1
  rc=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -n 1)"
  corpus="$(find "fuzz/corpus/$t" -type f | wc -l)"
  if [ "$rc" -eq 0 ]; then
    echo "fuzz: $t: ${execs:-?} executions in $((SECONDS - start)) s, corpus $corpus inputs, no crash"
  else
    failed+=("$t")
    echo "fuzz: $t: FAILED (exit $rc) after ${execs:-?} executions; the end of its log:"
    grep -v '^#[0-9]' "$logs/$t.log" | tail -n 60
  fi
done
rm -rf "$logs"

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]}; inputs under fuzz/artifacts/ (reproduce with" \
    "cargo +nightly fuzz run ${build_flags[*]} TARGET fuzz/artifacts/TARGET/FILE)"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash"
