# shellcheck shell=bash disable=SC2154,SC2034
# bench/np_bench_at_env.sh - sourced by bench/atserver.sh, bench/sshnpd.sh
# and bench/load_at.sh after bench/lib.sh and tests/lib/env.sh:
#
#   nb_run_bounded SECONDS OUTFILE PROG ARGS...  run a tool, stdout to OUTFILE
#   nb_rows OUTFILE                              its ROW lines -> bench_row
#   npd_env_start WORKDIR DEVICE_NAME            the local NoPorts environment
#                                                of env.sh with srvd and sshnpd
#                                                replaced by benchmark-
#                                                configured ones
#   npd_tool ARGS...                             np_bench_npd against it
#
# env.sh's srvd and sshnpd keep their defaults (60 messages per sender per
# minute, 64 sessions), which would throttle a burst of sessions from one
# client; the replacements run with --rate-limit 0 (srvd and sshnpd) and
# sshnpd --max-sessions 300, at the default log level (info: one line per
# session, incl. the "answered in N us" timing). The sshnpd serves device
# DEVICE_NAME for $ENV_CLIENT and may open localhost:$ENV_SSHD_PORT only.
# Extra sshnpd arguments (e.g. -v) may be put in the array NPD_ARGS first.
# Sets NPD_PID, NPD_LOG, NPD_SRVD_PID. Every process goes through
# env_spawn, so env_stop stops it by pid.

npd_env_start() {
  local work=$1
  NPD_DEVICE=$2
  env_start "$work" "$BENCH_BUILD" >&2 || return 1
  env_stop_pid "$ENV_PID_sshnpd"
  env_stop_pid "$ENV_PID_srvd"
  env_spawn bench_srvd "$ENV_SRVD" -a "$ENV_RELAY" -i 127.0.0.1 -k "$ENV_RELAY_KEYS" \
    --root-domain "$ENV_ROOT" --ca-file "$ENV_CA" --bind 127.0.0.1 --rate-limit 0
  env_spawn bench_sshnpd "$ENV_SSHNPD" -a "$ENV_DEVICE" -m "$ENV_CLIENT" -d "$NPD_DEVICE" \
    -k "$ENV_DEVICE_KEYS" --root-domain "$ENV_ROOT" --ca-file "$ENV_CA" \
    --local-sshd-port "$ENV_SSHD_PORT" --permit-open "localhost:$ENV_SSHD_PORT" \
    --rate-limit 0 --max-sessions 300 ${NPD_ARGS[@]+"${NPD_ARGS[@]}"}
  NPD_PID=$ENV_PID_bench_sshnpd
  NPD_SRVD_PID=$ENV_PID_bench_srvd
  NPD_LOG="$ENV_LOGS/bench_sshnpd.log"
  if ! env_wait_log "$ENV_LOGS/bench_srvd.log" "monitor connection available" "$NPD_SRVD_PID" 30 ||
    ! env_wait_log "$ENV_LOGS/bench_srvd.log" "command connection available" "$NPD_SRVD_PID" 30; then
    env_fail "benchmark srvd start" "$ENV_LOGS/bench_srvd.log"
    return 1
  fi
  if ! env_wait_log "$NPD_LOG" "monitor connection available" "$NPD_PID" 30 ||
    ! env_wait_log "$NPD_LOG" "records for" "$NPD_PID" 30; then
    env_fail "benchmark sshnpd start" "$NPD_LOG"
    return 1
  fi
  bench_log "srvd (pid $NPD_SRVD_PID) and sshnpd (pid $NPD_PID, device $NPD_DEVICE) up"
}

# nb_run_bounded SECONDS OUTFILE PROG ARGS...: run PROG with stdin
# /dev/null, stdout to OUTFILE and stderr inherited (progress), at most
# SECONDS (then SIGTERM, 5 s later SIGKILL: status 124); env_stop stops it
# if the script is interrupted meanwhile. Returns PROG's status.
# (env_run_bounded needs a stderr FILE; /dev/stderr would reopen - and
# truncate - the caller's log.)
nb_run_bounded() {
  local secs=$1 out=$2 pid rc
  shift 2
  "$@" </dev/null >"$out" &
  pid=$!
  ENV_TRANSIENT=("$pid")
  if env_wait_pid "$pid" "$secs"; then
    wait "$pid" && rc=0 || rc=$?
  else
    echo "bench: $(basename "$1") still running after $secs s; stopping it" >&2
    env_stop_pid "$pid"
    rc=124
  fi
  ENV_TRANSIENT=()
  return $rc
}

# nb_rows OUTFILE: the "ROW<TAB>metric<TAB>value<TAB>unit<TAB>note" lines
# of a tool's output as bench rows.
nb_rows() {
  local tag m v u n
  while IFS=$'\t' read -r tag m v u n; do
    if [ "$tag" = ROW ]; then bench_row "$m" "$v" "$u" "$n"; fi
  done <"$1"
}

# npd_tool ARGS...: np_bench_npd against this environment (bounded: 600 s),
# its ROW lines turned into bench rows; progress on stderr.
npd_tool() {
  local out="$ENV_DIR/npd_tool.out" rc
  nb_run_bounded 600 "$out" "$BENCH_BUILD/bench/np_bench_npd" \
    --root-port "$ENV_DIR_PORT" --ca "$ENV_CA" --client "$ENV_CLIENT" \
    --client-keys "$ENV_CLIENT_KEYS" --device "$ENV_DEVICE" --device-name "$NPD_DEVICE" \
    --relay "$ENV_RELAY" --target-port "$ENV_SSHD_PORT" --watch-pid "$NPD_PID" "$@" && rc=0 || rc=$?
  nb_rows "$out" # what it measured before failing, too
  if [ "$rc" != 0 ]; then
    echo "bench: np_bench_npd failed (status $rc)" >&2
    return 1
  fi
}

# npd_status_kb PID NAME: a "NAME: <n> kB" field of /proc/PID/status.
npd_status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }
