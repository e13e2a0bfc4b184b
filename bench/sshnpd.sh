#!/usr/bin/env bash
# bench/sshnpd.sh BUILD_DIR OUT_DIR [--smoke] - the device daemon's footprint
# and answer time (issue 6), on the local environment of tests/lib/env.sh
# (atdirectory, one atserver with @client/@device/@relay, sshd, srvd,
# sshnpd; srvd and sshnpd restarted with benchmark settings, see
# bench/np_bench_at_env.sh):
#   - binary size of sshnpd: file size unstripped and stripped, size(1)
#     text/data/bss (shared libraries not included);
#   - RSS of an idle sshnpd (connected, records written; target < 4 MiB);
#   - RSS with 50 live npt sessions through srvd (bench/np_bench_npd opens
#     them from one process as @client, one after another; smoke: 3);
#   - time from a request's arrival at sshnpd (sshnpd_handle) to its signed
#     answer being handed to the atServer connection: p50/p99 of the
#     "answered in N us" log lines of those sessions.
# Results: OUT_DIR/sshnpd.json. Every process is stopped by pid (env_stop);
# the temporary directory is removed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
# shellcheck source=tests/lib/env.sh
source "$here/../tests/lib/env.sh"
# shellcheck source=bench/np_bench_at_env.sh
source "$here/np_bench_at_env.sh"
bench_init sshnpd "$@"

n_sessions=50 settle=3000 pace=300 idle_wait=3
if [ "$BENCH_SMOKE" = 1 ]; then n_sessions=3 settle=600 pace=100 idle_wait=1; fi
[ -x "$BENCH_BUILD/bench/np_bench_npd" ] ||
  { echo "bench: $BENCH_BUILD/bench/np_bench_npd not built (make)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/np-bench-sshnpd-XXXXXX")
cleanup() {
  set +e # env_stop's wait returns the status of each stopped process
  env_stop
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_row loadavg_1min "$(cut -d' ' -f1 /proc/loadavg)" load "machine load when the benchmark started (figures are noisy on a busy machine)"
bench_log "starting the environment"
npd_env_start "$work" bench || exit 1

# ---- binary size
bin="$ENV_SSHNPD"
strip --strip-all -o "$work/sshnpd.stripped" "$bin"
read -r text data bss _ < <(size "$bin" | tail -n 1)
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BENCH_BUILD/CMakeCache.txt")
libs=$(ldd "$bin" 2>/dev/null | awk '$1 ~ /^lib/ {sub(/\.so.*/, "", $1); printf "%s%s", sep, $1; sep=" "}')
btype=${btype:-RelWithDebInfo}
case "$btype" in RelWithDebInfo | Debug) btype="$btype build (with -g)" ;; *) btype="$btype build" ;; esac
bench_row size_unstripped "$(stat -c %s "$bin")" bytes "$btype; project code linked statically, shared: ${libs:-?}"
bench_row size_stripped "$(stat -c %s "$work/sshnpd.stripped")" bytes "strip --strip-all"
bench_row size_text "$text" bytes "size(1): text"
bench_row size_data_bss "$((data + bss))" bytes "size(1): data + bss"

# ---- idle
sleep "$idle_wait" # let it settle after start-up
rss=$(bench_rss_kb "$NPD_PID")
anon=$(npd_status_kb "$NPD_PID" RssAnon)
file=$(npd_status_kb "$NPD_PID" RssFile)
pss=$(awk '/^Pss:/ {print $2}' "/proc/$NPD_PID/smaps_rollup" 2>/dev/null)
bench_row rss_idle "$rss" KiB "VmRSS, target < 4096; of which RssAnon $anon KiB (private), RssFile $file KiB (resident pages of the binary and shared libraries)"
bench_row rss_idle_anon "$anon" KiB "RssAnon: private memory of the idle daemon"
bench_row rss_idle_pss "${pss:-0}" KiB "Pss: shared library pages divided among the processes mapping them (here: also atserver, srvd...)"
bench_row fds_idle "$(bench_fd_count "$NPD_PID")" count "open descriptors"

# ---- live sessions
bench_log "$n_sessions npt sessions"
npd_tool --sessions "$n_sessions" --pace-ms "$pace" --settle-ms "$settle" \
  --prefix "sessions$n_sessions" || exit 1

# ---- answer time, from sshnpd's log
grep -o 'answered in [0-9]* us' "$NPD_LOG" | awk '{print $3}' >"$work/answer_us"
n=$(grep -c . "$work/answer_us" || true)
[ "$n" -gt 0 ] || { echo "bench: sshnpd logged no 'answered in' lines" >&2; exit 1; }
p50=$(bench_percentile 50 "$work/answer_us")
p99=$(bench_percentile 99 "$work/answer_us")
mx=$(sort -g "$work/answer_us" | tail -n 1)
bench_row answer_time.p50 "$(bench_div "$p50" 1000 2)" ms "npt_request arrival at sshnpd -> signed answer queued on its atServer connection; $n requests (the first includes the client key lookup)"
bench_row answer_time.p99 "$(bench_div "$p99" 1000 2)" ms "max $(bench_div "$mx" 1000 2) ms"
kill -0 "$NPD_PID" 2>/dev/null || { echo "bench: sshnpd died" >&2; exit 1; }
bench_row rss_end "$(bench_rss_kb "$NPD_PID")" KiB "after the sessions ended; VmHWM $(npd_status_kb "$NPD_PID" VmHWM) KiB"
bench_row fds_end "$(bench_fd_count "$NPD_PID")" count "open descriptors after the sessions ended (idle: see fds_idle)"
bench_finish
