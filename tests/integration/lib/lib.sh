# tests/integration/lib/lib.sh - helpers for shell-based integration tests
# (the C twin is itest.h). Source it from a bash script:
#   . "$NP_SOURCE_DIR/tests/integration/lib/lib.sh"
#   np_setup               # temp dir in $NP_TMP, cleanup trap (stops np_start'ed pids)
#   np_mkca "$NP_TMP/pki"  # throw-away CA (mkca.sh)
#   port=$(np_free_port)
#   np_start srv "$NP_TMP/srv.log" prog args...   # pid in NP_PID_srv
#   np_wait_port 127.0.0.1 "$port" "$NP_PID_srv" 10
#   np_stop srv 5          # SIGTERM, wait up to 5 s, SIGKILL; returns the exit status
# Every wait is bounded; every started process is stopped by pid on exit.

NP_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NP_PIDS=()

np_fail() {
  echo "FAIL: $*" >&2
  exit 1
}

np_setup() {
  NP_TMP="$(mktemp -d "${TMPDIR:-/tmp}/np-sh-XXXXXX")" || np_fail "mktemp"
  trap np_cleanup EXIT
}

np_cleanup() {
  local rc=$? p
  for p in "${NP_PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null
      np__wait_pid "$p" 5 || kill -KILL "$p" 2>/dev/null
    fi
  done
  [ -n "${NP_TMP:-}" ] && rm -rf "$NP_TMP"
  exit $rc
}

np_mkca() {
  bash "$NP_LIB_DIR/mkca.sh" "$@" || np_fail "mkca.sh $*"
}

# A TCP port on 127.0.0.1 nobody listens on (bounded number of tries).
np_free_port() {
  local i p
  for i in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  np_fail "no free port found"
}

# np_start NAME LOGFILE PROG ARGS... : background process, pid in NP_PID_<NAME>.
np_start() {
  local name=$1 log=$2
  shift 2
  "$@" </dev/null >>"$log" 2>&1 &
  printf -v "NP_PID_$name" '%s' "$!"
  NP_PIDS+=("$!")
}

# Wait until pid $1 has exited, at most $2 seconds (0: exited, 1: timeout).
np__wait_pid() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.02
  done
  return 0
}

# np_wait_port HOST PORT PID SECONDS: until HOST:PORT accepts, failing early
# if PID exits.
np_wait_port() {
  local host=$1 port=$2 pid=$3 deadline=$((SECONDS + $4))
  while ! (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || np_fail "pid $pid exited before $host:$port was ready"
    [ "$SECONDS" -ge "$deadline" ] && np_fail "$host:$port not ready within $4 s"
    sleep 0.02
  done
}

# np_stop NAME SECONDS: SIGTERM, wait, SIGKILL after the timeout. Returns the
# process's exit status (137 after SIGKILL).
np_stop() {
  local name=$1 secs=$2 pidvar="NP_PID_$1" pid rc
  pid=${!pidvar}
  [ -z "$pid" ] && return 0
  kill -TERM "$pid" 2>/dev/null
  if ! np__wait_pid "$pid" "$secs"; then
    echo "np_stop: $name (pid $pid) ignored SIGTERM for $secs s; killing" >&2
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid"
  rc=$?
  printf -v "$pidvar" '%s' ""
  return $rc
}
