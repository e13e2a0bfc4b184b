# shellcheck shell=bash disable=SC2034
# bench/relay.lib.sh - helpers shared by bench/relay.sh, bench/session.sh and
# bench/load_srvd.sh (sourced after bench/lib.sh and tests/lib/env.sh):
# where the tools are, a private work dir, background processes stopped by
# pid on exit, bounded waits, and reading the tools' key=value output.

# The scripts run with set -e; env.sh's functions are not written for it,
# so they are only called in conditions or with `|| true`.

# rl_setup: RL_PUMP, RL_RELAY (the C tools), program paths for
# np_bench_relay (NP_* may be preset to override), RL_WORK (removed by
# rl_cleanup), the EXIT/INT/TERM traps.
rl_setup() {
  RL_PUMP="$BENCH_BUILD/bench/np_bench_pump"
  RL_RELAY="$BENCH_BUILD/bench/np_bench_relay"
  : "${NP_SOURCE_DIR:=$BENCH_SOURCE_DIR}"
  : "${NP_SRVD:=$BENCH_BUILD/src/srvd/srvd}"
  : "${NP_ATSERVER:=$BENCH_BUILD/src/atserver/atserver}"
  : "${NP_ATDIRECTORY:=$BENCH_BUILD/src/atdirectory/atdirectory}"
  export NP_SOURCE_DIR NP_SRVD NP_ATSERVER NP_ATDIRECTORY
  RL_PIDS=()
  RL_ENV=0
  RL_WORK=$(mktemp -d "${TMPDIR:-/tmp}/np-bench-$BENCH_NAME-XXXXXX") || {
    echo "bench: mktemp failed" >&2
    return 1
  }
  chmod 700 "$RL_WORK"
  bench_row machine_loadavg "$(cut -d' ' -f1 /proc/loadavg)" load \
    "1-minute load average at the start (figures are noisy on a busy machine)"
  trap rl_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# rl_cleanup: every process rl_spawn started (newest first), the env.sh
# environment if rl_env_start ran, then the work dir (kept, with its logs,
# when NP_KEEP_TMP is set).
rl_cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  set +e # env.sh's helpers are not written for errexit (wait returns 143)
  for ((i = ${#RL_PIDS[@]} - 1; i >= 0; i--)); do
    env_stop_pid "${RL_PIDS[$i]}"
  done
  RL_PIDS=()
  [ "${RL_ENV:-0}" = 1 ] && env_stop
  RL_ENV=0
  if [ -n "${RL_WORK:-}" ] && [ -d "$RL_WORK" ]; then
    if [ -n "${NP_KEEP_TMP:-}" ]; then
      echo "bench: NP_KEEP_TMP: kept $RL_WORK" >&2
    else
      rm -rf "$RL_WORK"
    fi
  fi
  exit "$rc"
}

# rl_need FILE...: every tool is built.
rl_need() {
  local f
  for f in "$@"; do
    [ -x "$f" ] || {
      echo "bench: $f is not built (make BUILD=$BENCH_BUILD)" >&2
      return 1
    }
  done
}

# rl_spawn LOGNAME PROG ARGS...: start in the background (stdin /dev/null,
# output to $RL_WORK/LOGNAME.log); pid in RL_LAST_PID, stopped by rl_cleanup.
rl_spawn() {
  local log="$RL_WORK/$1.log"
  shift
  "$@" </dev/null >>"$log" 2>&1 &
  RL_LAST_PID=$!
  RL_PIDS+=("$RL_LAST_PID")
}

# rl_wait_file FILE PID SECONDS: until FILE is non-empty; fails early when
# PID has exited.
rl_wait_file() {
  local f=$1 pid=$2 deadline=$((SECONDS + $3))
  until [ -s "$f" ]; do
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.05
  done
}

# rl_sink: start np_bench_pump sink on a free port -> RL_SINK_PORT (at nice
# RL_SINK_NICE, default 0).
rl_sink() {
  rl_spawn sink nice -n "${RL_SINK_NICE:-0}" "$RL_PUMP" sink --port 0 --port-file "$RL_WORK/sink.port"
  RL_SINK_PID=$RL_LAST_PID
  rl_wait_file "$RL_WORK/sink.port" "$RL_SINK_PID" 10 || {
    echo "bench: the sink did not start" >&2
    cat "$RL_WORK/sink.log" >&2
    return 1
  }
  RL_SINK_PORT=$(head -n 1 "$RL_WORK/sink.port")
}

# rl_run SECONDS OUT PROG ARGS...: run a tool to completion, at most SECONDS
# (then killed); its stdout to OUT, its stderr through to ours; TMPDIR is
# $RL_WORK.
rl_run() {
  local secs=$1 out=$2
  shift 2
  # TMPDIR: the temporary folders of the tools go away with ours, even when
  # a tool is killed at its deadline
  TMPDIR="$RL_WORK" timeout -k 5 "$secs" "$@" </dev/null >"$out"
}

# rl_kv FILE KEY: the value of KEY=value in FILE (empty if missing).
rl_kv() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

# rl_row METRIC FILE KEY UNIT [NOTE]: bench_row with a value from FILE;
# fails when the tool did not print it.
rl_row() {
  local v
  v=$(rl_kv "$2" "$3")
  [ -n "$v" ] || {
    echo "bench: $BENCH_NAME: no '$3' in the output of the tool" >&2
    return 1
  }
  bench_row "$1" "$v" "$4" "${5:-}"
}

# rl_env_start: the env.sh environment in $RL_WORK/env (stopped by
# rl_cleanup). Set ENV_SRVD_ARGS / ENV_SSHNPD_ARGS before.
rl_env_start() {
  mkdir -p "$RL_WORK/env" || return 1
  RL_ENV=1
  env_start "$RL_WORK/env" "$BENCH_BUILD" >"$RL_WORK/env.out" || {
    cat "$RL_WORK/env.out" >&2
    return 1
  }
  env_client_args
  bench_log "environment up (env.sh): $(tail -n 1 "$RL_WORK/env.out")"
}
