#!/usr/bin/env bash
# Instructions and allocations per request, counted by valgrind (callgrind and DHAT), which do not
# depend on machine noise: the whole service against an untyped `serde_json::Value` parse of the
# same body, for the before-send webhook of each message family.
#
#   scripts/instructions.sh            # every family
#   scripts/instructions.sh c2c        # one
#
# Each mode of benches/instructions.rs runs twice, N1 and N2 times; the difference divided by
# N2 - N1 is the cost of one iteration, without the start-up. `service` builds a signed request
# and sends it through the whole service; `build` only builds it, and is subtracted. The last
# columns are the service inside a tokio runtime, as a server runs it: a current-thread runtime
# (the deadline armed for every request, and `block_on`, included), then on a worker of a
# multi-thread runtime, as a server's connection task awaits it (the handler on a task of its own,
# so that one that blocks its thread cannot hold the answer past the deadline).
# The last two are the service with the body a `Bytes` that shares its buffer, as hyper hands one
# over (a `String` body's buffer is shared, with an allocation, the first time it is cloned).
set -euo pipefail
cd "$(dirname "$0")/.."
families=("$@")
[ ${#families[@]} -gt 0 ] || families=(official_account c2c group)
n1=${N1:-200}
n2=${N2:-2200}

if ! command -v valgrind >/dev/null; then
  echo "valgrind is missing: apt-get install valgrind" >&2
  exit 1
fi
bin="$(cargo bench --bench instructions --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*instructions[^"]*\)".*/\1/p' | tail -n 1)"
[ -x "$bin" ] || { echo "could not build benches/instructions.rs" >&2; exit 1; }
"$bin" # the sanity run: every mode once, the service's answers checked

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# Instructions of one run.
instructions() {
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin" "$@" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
# Heap blocks allocated by one run.
allocations() {
  valgrind --tool=dhat --dhat-out-file=/dev/null "$bin" "$@" 2>&1 |
    sed -n 's/.*Total: *[0-9,]* bytes in \([0-9,]*\) blocks.*/\1/p' | tr -d ,
}
per() { # MODE FAMILY TOOL
  local a b
  a=$("$3" "$1" "$2" "$n1")
  b=$("$3" "$1" "$2" "$n2")
  echo $(((b - a) / (n2 - n1)))
}

printf '%-18s %14s %14s %7s %15s %15s %12s %12s %13s %13s\n' family "service instr" "Value instr" ratio "service allocs" "Value allocs" "in runtime" "multi-thread" "shared instr" "shared allocs"
for f in "${families[@]}"; do
  build_i=$(per build "$f" instructions)
  service_i=$(($(per service "$f" instructions) - build_i))
  value_i=$(per value "$f" instructions)
  build_a=$(per build "$f" allocations)
  service_a=$(($(per service "$f" allocations) - build_a))
  value_a=$(per value "$f" allocations)
  runtime_i=$(($(per runtime "$f" instructions) - build_i))
  multi_i=$(($(per multi "$f" instructions) - build_i))
  shared_i=$(($(per shared "$f" instructions) - $(per build-shared "$f" instructions)))
  shared_a=$(($(per shared "$f" allocations) - $(per build-shared "$f" allocations)))
  ratio=$(awk -v s="$service_i" -v v="$value_i" 'BEGIN { printf "%.2f", s / v }')
  printf '%-18s %14s %14s %7s %15s %15s %12s %12s %13s %13s\n' "$f" "$service_i" "$value_i" "$ratio" "$service_a" "$value_a" "$runtime_i" "$multi_i" "$shared_i" "$shared_a"
done
