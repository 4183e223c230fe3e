#!/usr/bin/env bash
# Soak: start the quickstart, send it REQUESTS mixed webhook requests (default 1,000,000) at
# bounded concurrency on loopback with `examples/soak.rs`, watch its memory, stop it.
#
#   scripts/soak.sh            # the full soak
#   scripts/soak.sh 20000      # the short one that .ci/run runs
#
# Fails (non-zero) if a request gets anything but its expected answer, if any answer is a 5xx,
# if the server's RSS at the end exceeds the one after the warm-up by more than
# SOAK_MAX_RSS_GROWTH_MB (default 8), if the server panics or logs an error, or if it does not
# stop cleanly on SIGTERM. SOAK_CONCURRENCY (default 64) sets the requests in flight.
# SOAK_PROFILE=dev uses debug builds (with all features, as `cargo test --all-features` builds the
# examples, so that CI pays for no second build) instead of release ones.
set -euo pipefail
cd "$(dirname "$0")/.."

requests="${1:-1000000}"
concurrency="${SOAK_CONCURRENCY:-64}"
max_growth="${SOAK_MAX_RSS_GROWTH_MB:-8}"
target="${CARGO_TARGET_DIR:-target}"
log_dir="$target/soak"
log="$log_dir/quickstart.log"

if [[ ! -r /proc/self/status ]]; then
  echo "soak: needs /proc (Linux) to read the server's memory" >&2
  exit 2
fi

case "${SOAK_PROFILE:-release}" in
  release)
    echo "== build (release)"
    cargo build --release --locked --example quickstart --example soak
    bin="$target/release/examples"
    ;;
  dev)
    echo "== build (dev, all features)"
    cargo build --locked --all-features --example quickstart --example soak
    bin="$target/debug/examples"
    ;;
  *)
    echo "soak: SOAK_PROFILE must be release or dev, not ${SOAK_PROFILE}" >&2
    exit 2
    ;;
esac

mkdir -p "$log_dir"
# Port 0: the kernel picks a free loopback port, which the quickstart prints. RUST_LOG=warn keeps
# the per-event info lines out, so that logging does not dominate the run; rejections are still
# logged (at most ten a second of each kind).
LISTEN_ADDR=127.0.0.1:0 RUST_LOG=warn NO_COLOR=1 "$bin/quickstart" >"$log" 2>&1 &
server=$!
stop_server() {
  if kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$server" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server" 2>/dev/null || true
  fi
}
trap stop_server EXIT

url=""
for _ in $(seq 100); do
  url="$(sed -n 's/^quickstart listening on \(http:[^ ]*\)$/\1/p' "$log")"
  [[ -n "$url" ]] && break
  if ! kill -0 "$server" 2>/dev/null; then
    echo "soak: the quickstart exited at start; its log ($log):" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$url" ]]; then
  echo "soak: the quickstart did not say where it listens within 10 s; its log ($log):" >&2
  cat "$log" >&2
  exit 1
fi
echo "== quickstart (pid $server) on $url, log in $log"

echo "== soak"
started_ms=$(($(date +%s%N) / 1000000))
soak_status=0
# The soak waits until the server answers a good request (up to 10 s) before it starts.
"$bin/soak" --url "$url" --requests "$requests" \
  --concurrency "$concurrency" --rss-pid "$server" --max-rss-growth-mb "$max_growth" ||
  soak_status=$?
elapsed_ms=$(($(date +%s%N) / 1000000 - started_ms))

echo "== stop the quickstart (SIGTERM)"
server_status=0
if kill -0 "$server" 2>/dev/null; then
  kill -TERM "$server"
  wait "$server" || server_status=$?
else
  echo "soak: the quickstart died during the run" >&2
  wait "$server" || server_status=$?
  [[ $server_status -eq 0 ]] && server_status=1
fi
trap - EXIT

panics=$(grep -c 'panicked' "$log" || true)
errors=$(grep -c ' ERROR ' "$log" || true)
warnings=$(grep -c ' WARN ' "$log" || true)
echo "server: exit status $server_status; log $(wc -l <"$log") lines: $warnings warnings, $errors errors, $panics panics"
printf 'soak.sh: %s requests in %d.%01d s (wall clock, after the build)\n' "$requests" \
  $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100))

status=$soak_status
if [[ $server_status -ne 0 ]]; then
  echo "soak.sh: FAIL: the quickstart exited with status $server_status" >&2
  status=1
fi
if [[ $panics -gt 0 || $errors -gt 0 ]]; then
  echo "soak.sh: FAIL: the server log has panics or errors:" >&2
  grep -E 'panicked| ERROR ' "$log" | head -n 5 >&2
  status=1
fi
if [[ $status -eq 0 ]]; then
  echo "soak.sh: PASS"
else
  echo "soak.sh: FAIL"
fi
exit "$status"
