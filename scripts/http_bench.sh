#!/usr/bin/env bash
# The HTTP comparison benchmark: the webhook service against a minimal hand-written receiver
# (checks the query, the window and Sign, parses the body as a `serde_json::Value`, answers a
# constant) and a bare hyper endpoint that reads the body and answers a constant reply, all on the
# same server (`server::serve`, default limits), under wrk. Prints requests/s and the server's CPU
# time per request of every round, the median of each per mode, and the ratios of the webhook to
# each of the other two: of requests/s, and of CPU time per request.
#
#   scripts/http_bench.sh                       # ROUNDS=5 rounds of DURATION=10 s per mode
#   ROUNDS=3 DURATION=5 scripts/http_bench.sh   # a shorter run
#
# Environment: ROUNDS (5), DURATION (10, seconds per measured run), WARMUP (1, seconds of load
# before each measured run, not counted), CONNECTIONS (50, keep-alive, one wrk thread), COMMAND
# (OfficialAccount.CallbackBeforeSendMsg: its sample in fixtures/events/ is the body, which the
# demo handler allows), SERVER_CPU (0) and CLIENT_CPU (1), the cores the server and wrk are
# pinned to with taskset; SERVER_BIN, a server binary to run instead of building this checkout's
# (to compare two builds of the service).
#
# The modes run alternately (bare, minimal, webhook, bare, ...), each round on a freshly started server,
# so that a slow spell of a shared machine costs both. Every round is signed afresh (RequestTime
# must be within the service's 60 s window) and checked: one request by curl must get 200 and the
# expected reply, and wrk must report no non-2xx answer and no socket error; otherwise the script
# stops with status 1.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${ROUNDS:-5}"
duration="${DURATION:-10}"
duration="${duration%s}"
warmup="${WARMUP:-1}"
warmup="${warmup%s}"
connections="${CONNECTIONS:-50}"
command="${COMMAND:-OfficialAccount.CallbackBeforeSendMsg}"
server_cpu="${SERVER_CPU:-0}"
client_cpu="${CLIENT_CPU:-1}"
target="${CARGO_TARGET_DIR:-target}"
work="$target/http_bench"
body_file="fixtures/events/$command.json"
# The examples' defaults (demo.rs), which the server uses when SDKAPPID and CALLBACK_TOKEN are unset.
app_id=1400000000
token=demo-token-change-me
path=/tencent/chat/webhook
expected='{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}'

die() {
  echo "http_bench: $*" >&2
  exit 1
}

[[ -r "$body_file" ]] || die "no sample for COMMAND=$command ($body_file)"
for tool in curl sha256sum; do
  command -v "$tool" >/dev/null || die "needs $tool"
done

if ! command -v wrk >/dev/null; then
  echo "== wrk is not installed; installing it with apt"
  sudo=""
  [[ "$(id -u)" == 0 ]] || sudo="sudo"
  if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq wrk; } >&2; then
    die "wrk is not installed and could not be installed with apt-get (install it by hand: https://github.com/wg/wrk)"
  fi
fi

# Pin the server and the load generator to different cores, so that they do not take turns on
# one; with fewer than two cores, or no taskset, run unpinned and say so.
cores="$(nproc 2>/dev/null || echo 1)"
if command -v taskset >/dev/null && ((cores >= 2)); then
  pin_server=(taskset -c "$server_cpu")
  pin_client=(taskset -c "$client_cpu")
  pinning="server on core $server_cpu, wrk on core $client_cpu"
else
  pin_server=()
  pin_client=()
  pinning="UNPINNED"
  echo "WARNING: $cores core(s)$(command -v taskset >/dev/null || echo ', no taskset'): server and wrk run unpinned and share the CPU; the ratio is less meaningful" >&2
fi

if [[ -n "${SERVER_BIN:-}" ]]; then
  echo "== server: $SERVER_BIN (not built)"
  server_bin="$SERVER_BIN"
else
  echo "== build (release)"
  cargo build --release --locked --example http_bench
  server_bin="$target/release/examples/http_bench"
fi

mkdir -p "$work"
server=""
# Stops the server with SIGTERM (its graceful shutdown), or SIGKILL after 10 s.
stop_server() {
  [[ -n "$server" ]] || return 0
  kill -TERM "$server" 2>/dev/null || true
  timeout 10 tail --pid="$server" -f /dev/null || kill -KILL "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
}
trap stop_server EXIT

# Starts the server in mode $1 on a free loopback port; sets `server` and `addr`.
start_server() {
  local mode="$1" log="$work/$1.log"
  LISTEN_ADDR=127.0.0.1:0 RUST_LOG=warn NO_COLOR=1 "${pin_server[@]}" "$server_bin" --mode "$mode" >"$log" 2>&1 &
  server=$!
  addr=""
  for _ in $(seq 100); do
    addr="$(sed -n "s|^http_bench $mode listening on http://\([^/]*\)/.*|\1|p" "$log")"
    [[ -n "$addr" ]] && return
    kill -0 "$server" 2>/dev/null || { cat "$log" >&2; die "the $mode server exited at start"; }
    sleep 0.1
  done
  cat "$log" >&2
  die "the $mode server did not say where it listens within 10 s"
}

# A query signed now, as Tencent signs it: Sign = hex(sha256(token + RequestTime)).
signed_query() {
  local now sign
  now="$(date +%s)"
  sign="$(printf '%s%s' "$token" "$now" | sha256sum | cut -d' ' -f1)"
  printf 'SdkAppid=%s&CallbackCommand=%s&contenttype=json&Sign=%s&RequestTime=%s' \
    "$app_id" "$command" "$sign" "$now"
}

# Writes the wrk script for one round to $lua: method, the signed path $1, headers, the body.
lua="$work/request.lua"
wrk_script() {
  local abs_body
  abs_body="$(cd "$(dirname "$body_file")" && pwd)/$(basename "$body_file")"
  cat >"$lua" <<EOF
wrk.method = "POST"
wrk.path = "$1"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("$abs_body", "rb"))
wrk.body = f:read("*a")
f:close()
EOF
}

# The server's CPU time so far (user + system), in clock ticks (/proc/PID/stat, fields 14 and 15;
# the fields are counted after the command name, which ends with the last `)`).
cpu_ticks() {
  sed 's/.*) //' "/proc/$server/stat" | awk '{ print $12 + $13 }'
}
ticks_per_s="$(getconf CLK_TCK 2>/dev/null || echo 100)"

# Runs one round of mode $1 and sets `rps` to its requests/s and `cpu_us` to the server's CPU
# time per request (µs), or fails. (Not in a subshell: the EXIT trap must see the server to stop
# it.)
round() {
  local mode="$1" target_path out non2xx errors reply status ticks requests
  start_server "$mode"
  target_path="$path?$(signed_query)"
  wrk_script "$target_path"
  reply="$(curl -sS -o - -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary "@$body_file" "http://$addr$target_path")"
  status="${reply##*$'\n'}"
  reply="${reply%$'\n'*}"
  [[ "$status" == 200 && "$reply" == "$expected" ]] ||
    die "$mode: the check request got $status $reply, expected 200 $expected"
  if ((warmup > 0)); then
    "${pin_client[@]}" wrk -t1 -c"$connections" -d"${warmup}s" -s "$lua" "http://$addr" >/dev/null
  fi
  ticks="$(cpu_ticks)"
  out="$("${pin_client[@]}" wrk -t1 -c"$connections" -d"${duration}s" -s "$lua" "http://$addr")"
  ticks=$(($(cpu_ticks) - ticks))
  echo "$out" >"$work/$mode.wrk.txt"
  stop_server
  rps="$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out")"
  non2xx="$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' <<<"$out")"
  errors="$(sed -n 's/^ *Socket errors: *\(.*\)$/\1/p' <<<"$out")"
  requests="$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' <<<"$out")"
  [[ -n "$rps" && -n "$requests" ]] || { echo "$out" >&2; die "$mode: no requests/s in wrk's output"; }
  cpu_us="$(awk -v t="$ticks" -v hz="$ticks_per_s" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"
  [[ -z "$non2xx" ]] || { echo "$out" >&2; die "$mode: $non2xx answers were not 2xx"; }
  [[ -z "$errors" ]] || { echo "$out" >&2; die "$mode: socket errors: $errors"; }
}

median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "== $rounds rounds of ${duration} s per mode (after ${warmup} s of warm-up), wrk 1 thread, $connections connections, $command; $pinning"
modes=(bare minimal webhook)
declare -A rps_of cpu_of rps_median cpu_median
for i in $(seq "$rounds"); do
  for mode in "${modes[@]}"; do
    round "$mode"
    printf 'round %d  %-7s  %10.0f requests/s  %6.1f µs of server CPU a request\n' "$i" "$mode" "$rps" "$cpu_us"
    rps_of[$mode]+="$rps "
    cpu_of[$mode]+="$cpu_us "
  done
done

for mode in "${modes[@]}"; do
  rps_median[$mode]="$(printf '%s\n' ${rps_of[$mode]} | median)"
  cpu_median[$mode]="$(printf '%s\n' ${cpu_of[$mode]} | median)"
  printf 'median   %-7s  %10.0f requests/s  %6.1f µs of server CPU a request\n' "$mode" "${rps_median[$mode]}" "${cpu_median[$mode]}"
done
# The CPU ratio is what the ratio would be if the server's core were the only limit: less
# sensitive to other load on a shared machine than requests/s, since it counts only the server's
# own CPU time.
for other in minimal bare; do
  awk -v w="${rps_median[webhook]}" -v o="${rps_median[$other]}" -v wc="${cpu_median[webhook]}" -v oc="${cpu_median[$other]}" -v name="$other" \
    'BEGIN { printf "ratio    service / %-7s requests/s %.3f   CPU a request (%s / service) %.3f\n", name, w / o, name, oc / wc }'
done
