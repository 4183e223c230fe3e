#!/usr/bin/env bash
# The HTTP comparison counted instead of timed: the server of scripts/http_bench.sh
# (examples/http_bench.rs, `bare` and `webhook` modes on the same loop) under valgrind's
# callgrind, loaded by `tencent-chat-webhook load` one request at a time. Each mode runs twice,
# with N1 and N2 requests; the difference divided by N2 - N1 is the user-space instructions of
# one request, start-up and shutdown left out. The kernel's share (reads, writes, epoll) is not
# counted: it is about the same in both modes, so the ratio of whole CPU time is higher than the
# ratio printed here.
#
#   scripts/http_instructions.sh
#   SERVER_BIN=path/to/http_bench scripts/http_instructions.sh   # another build of the server
#
# Environment: N1 (300), N2 (1300), COMMAND (OfficialAccount.CallbackBeforeSendMsg, whose
# documented sample the load tool sends, signed with the examples' default token).
set -euo pipefail
cd "$(dirname "$0")/.."

n1="${N1:-300}"
n2="${N2:-1300}"
command="${COMMAND:-OfficialAccount.CallbackBeforeSendMsg}"
target="${CARGO_TARGET_DIR:-target}"

die() {
  echo "http_instructions: $*" >&2
  exit 1
}
command -v valgrind >/dev/null || die "valgrind is missing: apt-get install valgrind"

echo "== build (release)"
cargo build --release --locked --example http_bench --bin tencent-chat-webhook --features cli
server_bin="${SERVER_BIN:-$target/release/examples/http_bench}"
load_bin="$target/release/tencent-chat-webhook"

work="$(mktemp -d)"
server=""
stop_server() {
  [[ -n "$server" ]] || return 0
  kill -TERM "$server" 2>/dev/null || true
  timeout 60 tail --pid="$server" -f /dev/null || kill -KILL "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
}
trap 'stop_server; rm -rf "$work"' EXIT

# Instructions of one server run in mode $1 that answers $2 requests.
count() {
  local mode="$1" n="$2" log="$work/$1-$2.log" addr=""
  LISTEN_ADDR=127.0.0.1:0 RUST_LOG=warn NO_COLOR=1 valgrind --tool=callgrind \
    --callgrind-out-file=/dev/null "$server_bin" --mode "$mode" >"$log" 2>&1 &
  server=$!
  for _ in $(seq 600); do
    addr="$(sed -n "s|^http_bench $mode listening on http://\([^/]*\)/.*|\1|p" "$log")"
    [[ -n "$addr" ]] && break
    kill -0 "$server" 2>/dev/null || { cat "$log" >&2; die "the $mode server exited at start"; }
    sleep 0.1
  done
  [[ -n "$addr" ]] || die "the $mode server did not say where it listens within 60 s"
  "$load_bin" load --url "http://$addr/tencent/chat/webhook" --command "$command" \
    --count "$n" --concurrency 1 >"$work/load.txt" 2>&1 ||
    { cat "$work/load.txt" >&2; die "the $mode server did not answer every request with 2xx"; }
  stop_server
  local total
  total="$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log")"
  [[ -n "$total" ]] || { cat "$log" >&2; die "callgrind printed no total for $mode"; }
  echo "$total"
}

declare -A per
for mode in bare webhook; do
  a="$(count "$mode" "$n1")"
  b="$(count "$mode" "$n2")"
  per[$mode]=$(((b - a) / (n2 - n1)))
  printf '%-8s %8d user-space instructions a request\n' "$mode" "${per[$mode]}"
done
awk -v b="${per[bare]}" -v w="${per[webhook]}" \
  'BEGIN { printf "ratio    bare / webhook = %.3f (webhook adds %d a request)\n", b / w, w - b }'
