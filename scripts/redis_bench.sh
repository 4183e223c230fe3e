#!/usr/bin/env bash
# Throughput of the Redis queue: events/second through receiver → Redis stream → one worker,
# beside the raw XADD rate of the same redis-server on the same machine, and their ratio.
#
#   scripts/redis_bench.sh                 # 20,000 events, 32 requests in flight
#   scripts/redis_bench.sh 50000 64        # EVENTS CONCURRENCY
#
# Starts its own redis-server on a free loopback port, with a data directory of its own, and
# stops it at the end. REDIS_BENCH_PERSISTENCE says how it keeps its data: `always` (the
# default: AOF with appendfsync always, what the receiver requires by default), `everysec`, or
# `none` (no persistence; the receiver then runs with REDIS_DURABILITY=accept-loss).
# REDIS_BENCH_PROFILE=dev uses a debug build instead of a release one.
set -euo pipefail
cd "$(dirname "$0")/.."

events="${1:-20000}"
concurrency="${2:-32}"
target="${CARGO_TARGET_DIR:-target}"

for tool in redis-server redis-benchmark redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "redis_bench: $tool not found" >&2; exit 2; }
done

case "${REDIS_BENCH_PROFILE:-release}" in
  release) cargo build --release --locked --features redis --example redis_queue
           bin="$target/release/examples/redis_queue" ;;
  dev)     cargo build --locked --features redis --example redis_queue
           bin="$target/debug/examples/redis_queue" ;;
  *) echo "redis_bench: REDIS_BENCH_PROFILE must be release or dev" >&2; exit 2 ;;
esac

case "${REDIS_BENCH_PERSISTENCE:-always}" in
  always)   persistence=(--appendonly yes --appendfsync always);   durability=always ;;
  everysec) persistence=(--appendonly yes --appendfsync everysec); durability=everysec ;;
  none)     persistence=(--appendonly no);                         durability=accept-loss ;;
  *) echo "redis_bench: REDIS_BENCH_PERSISTENCE must be always, everysec or none" >&2; exit 2 ;;
esac

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
dir="$(mktemp -d)"
redis-server --port "$port" --bind 127.0.0.1 --save "" --dir "$dir" "${persistence[@]}" >/dev/null &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.05
done

echo "== redis: ${persistence[*]}"
echo "== redis-benchmark XADD (100,000 requests, 50 clients)"
xadd_line="$(redis-benchmark -p "$port" -n 100000 -q XADD s '*' f v | tr '\r' '\n' | grep -E 'requests per second' | tail -1)"
echo "$xadd_line"
xadd_rate="$(echo "$xadd_line" | grep -oE '[0-9]+(\.[0-9]+)?( requests per second)' | grep -oE '^[0-9.]+')"
redis-cli -p "$port" del s >/dev/null

echo "== receiver → stream → one worker ($events events, $concurrency in flight)"
out="$(LISTEN_ADDR=127.0.0.1:0 REDIS_URL="redis://127.0.0.1:$port" REDIS_DURABILITY="$durability" RUST_LOG=warn NO_COLOR=1 \
  "$bin" --role bench --events "$events" --concurrency "$concurrency")"
echo "$out"
pipeline_rate="$(echo "$out" | grep 'end to end' | grep -oE '[0-9]+ events/s' | grep -oE '^[0-9]+')"

python3 - "$pipeline_rate" "$xadd_rate" <<'EOF'
import sys
pipeline, xadd = float(sys.argv[1]), float(sys.argv[2])
print(f"== pipeline {pipeline:.0f} events/s, raw XADD {xadd:.0f}/s: ratio {pipeline / xadd:.3f}")
EOF
