#!/usr/bin/env bash
# bench/atserver.sh BUILD_DIR OUT_DIR [--smoke] - atdirectory and atserver
# throughput (issue 3), the notify -> monitor round trip of issue 8, and the
# atserver's memory per hosted atSign. The measuring is done by
# bench/np_bench_at (C, built with the project), which brings up its own
# atdirectory + atserver (the official demo atSigns @alice🛠 and @bob🛠,
# tests/integration np_itest) in a temporary directory and stops them by
# pid; see the comment at the top of bench/np_bench_at.c for each figure.
# Results: OUT_DIR/atserver.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
# shellcheck source=tests/lib/env.sh
source "$here/../tests/lib/env.sh" # env_stop and the bounded waits
# shellcheck source=bench/np_bench_at_env.sh
source "$here/np_bench_at_env.sh"
bench_init atserver "$@"

tool="$BENCH_BUILD/bench/np_bench_at"
for p in "$tool" "$BENCH_BUILD/src/atserver/atserver" "$BENCH_BUILD/src/atdirectory/atdirectory"; do
  [ -x "$p" ] || { echo "bench: $p not built (make)" >&2; exit 2; }
done
export NP_SOURCE_DIR="$BENCH_SOURCE_DIR"
export NP_ATSERVER="$BENCH_BUILD/src/atserver/atserver"
export NP_ATDIRECTORY="$BENCH_BUILD/src/atdirectory/atdirectory"

# the tool's own temporary directories go under $work too, so that nothing
# is left behind even if it had to be killed
work=$(mktemp -d "${TMPDIR:-/tmp}/np-bench-atserver-XXXXXX")
out="$work/tool.out"
trap 'set +e; env_stop; rm -rf "$work"' EXIT # set +e: env_stop waits on stopped pids
trap 'exit 130' INT TERM

bench_row loadavg_1min "$(cut -d' ' -f1 /proc/loadavg)" load "machine load when the benchmark started (figures are noisy on a busy machine)"
smoke=()
[ "$BENCH_SMOKE" = 1 ] && smoke=(--smoke)
bench_log "np_bench_at bench ${smoke[*]}"
TMPDIR="$work" nb_run_bounded 900 "$out" "$tool" bench "${smoke[@]}" && rc=0 || rc=$?
nb_rows "$out"
[ "$rc" = 0 ] || { echo "bench: np_bench_at failed (status $rc)" >&2; exit 1; }

# The write-bound figures again with durable_writes = false (no fsync per
# write; an answered write still survives SIGKILL, not a power loss).
printf 'durable_writes = false\n' >"$work/nosync.conf"
bench_log "np_bench_at writes ${smoke[*]} (durable_writes = false)"
TMPDIR="$work" nb_run_bounded 300 "$out" "$tool" writes "${smoke[@]}" "$work/nosync.conf" atserver.durable_writes_off && rc=0 || rc=$?
nb_rows "$out"
[ "$rc" = 0 ] || { echo "bench: np_bench_at writes failed (status $rc)" >&2; exit 1; }
bench_finish
