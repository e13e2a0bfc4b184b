#!/usr/bin/env bash
# bench/load_at.sh BUILD_DIR OUT_DIR [--smoke] - the atserver and sshnpd half
# of issue 9's load test (bench/load.sh runs it next to load_srvd.sh; the
# lead merges the rows, which is why every metric is prefixed "atserver." or
# "sshnpd."). Results: OUT_DIR/load_at.json.
#
# atserver: bench/np_bench_at load - 50 clients (25 as @alice🛠 -> @bob🛠, 25
#   back) each keep one notify in flight for 60 s on their own atdirectory +
#   atserver; a raw monitor per recipient counts every id: sent vs received,
#   lost, duplicated (must be 0, pass = 1), p99 delivery latency, atserver
#   RSS before/peak/after. Smoke: 3 clients, 2 s.
# sshnpd: on the environment of tests/lib/env.sh (srvd and sshnpd restarted
#   with --rate-limit 0, sshnpd --max-sessions 300: bench/np_bench_at_env.sh),
#   bench/np_bench_npd --direct queues 200 signed npt_requests from @client
#   at once (relay: a local sink that holds the daemon's connections) while
#   @relay, which is not a manager, floods the daemon with pings: every
#   request must be answered (count), the flood by nothing (0), sshnpd RSS
#   before/peak/live/after; the daemon must still be running afterwards.
#   This sshnpd runs with -v so that its (rate-limited) "not authorized"
#   debug line shows that the flood did reach it.
#   Smoke: 5 requests.
# Every process is stopped by pid (env_stop); temporary files are removed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
# shellcheck source=tests/lib/env.sh
source "$here/../tests/lib/env.sh"
# shellcheck source=bench/np_bench_at_env.sh
source "$here/np_bench_at_env.sh"
bench_init load_at "$@"

clients=50 seconds=60 requests=200 settle=3000
if [ "$BENCH_SMOKE" = 1 ]; then clients=3 seconds=2 requests=5 settle=600; fi
for p in bench/np_bench_at bench/np_bench_npd src/atserver/atserver src/atdirectory/atdirectory; do
  [ -x "$BENCH_BUILD/$p" ] || { echo "bench: $BENCH_BUILD/$p not built (make)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/np-bench-load-at-XXXXXX")
cleanup() {
  set +e # env_stop's wait returns the status of each stopped process
  env_stop
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_row atserver.load.machine_loadavg "$(cut -d' ' -f1 /proc/loadavg)" load "machine load when the benchmark started (figures are noisy on a busy machine)"

# ---- atserver: notifications under load
bench_log "atserver: $clients clients for $seconds s"
export NP_SOURCE_DIR="$BENCH_SOURCE_DIR"
export NP_ATSERVER="$BENCH_BUILD/src/atserver/atserver"
export NP_ATDIRECTORY="$BENCH_BUILD/src/atdirectory/atdirectory"
TMPDIR="$work" nb_run_bounded $((seconds + 300)) "$work/at.out" "$BENCH_BUILD/bench/np_bench_at" load \
  --clients "$clients" --seconds "$seconds" && rc=0 || rc=$?
nb_rows "$work/at.out"
[ "$rc" = 0 ] || { echo "bench: np_bench_at load failed (status $rc)" >&2; exit 1; }

# ---- sshnpd: a burst of session requests and an unauthorized flood
bench_log "sshnpd: starting the environment"
mkdir -p "$work/env"
NPD_ARGS=(-v) # debug: its "not authorized" line proves the flood reached the daemon
npd_env_start "$work/env" load || exit 1
bench_log "sshnpd: $requests requests at once + ping flood from $ENV_RELAY"
npd_tool --direct --sessions "$requests" --settle-ms "$settle" --prefix sshnpd.load \
  --flood-atsign "$ENV_RELAY" --flood-keys "$ENV_RELAY_KEYS" || exit 1
alive=0
kill -0 "$NPD_PID" 2>/dev/null && alive=1
bench_row sshnpd.load.alive_after "$alive" bool "sshnpd still running after the burst and the flood"
seen=0
grep -q 'not authorized, no answer' "$NPD_LOG" && seen=1
bench_row sshnpd.load.flood_reached_daemon "$seen" bool "sshnpd -v logged the flood's pings as not authorized (rate-limited log line)"
grep -o 'answered in [0-9]* us' "$NPD_LOG" | awk '{print $3}' >"$work/answer_us" || true
if [ -s "$work/answer_us" ]; then
  n=$(grep -c . "$work/answer_us")
  bench_row sshnpd.load.answer_time.p50 "$(bench_div "$(bench_percentile 50 "$work/answer_us")" 1000 2)" ms \
    "daemon side, request arrival -> answer queued, during the burst ($n requests)"
  bench_row sshnpd.load.answer_time.p99 "$(bench_div "$(bench_percentile 99 "$work/answer_us")" 1000 2)" ms "same"
fi
bench_row sshnpd.load.warnings "$(grep -c ' warn' "$NPD_LOG" || true)" count "warn lines in the sshnpd log (e.g. dropped requests)"
[ "$alive" = 1 ] || { echo "bench: sshnpd died under load" >&2; exit 1; }
bench_finish
