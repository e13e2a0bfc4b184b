# shellcheck shell=bash disable=SC2034,SC2154
# tests/integration/e2e_lib.sh - harness for the end-to-end scenario tests
# (tests/integration/e2e_*.sh) on top of tests/lib/env.sh. Not a test itself.
#
#   . "$src/tests/integration/e2e_lib.sh"
#   e2e_begin BUILD_DIR NAME   # work dir $E2E_WORK (private HOME and TMPDIR
#                              # for every program; remote commands skip
#                              # ~/.bashrc), trap -> cleanup, env_start
#   e2e_step "message"         # "[ 12.3s] message"
#   e2e_bg NAME PROG ARGS...   # background, stdin /dev/null, output in
#                              # $E2E_WORK/NAME.out / NAME.err, pid E2E_PID_NAME
#   e2e_wait_exit PID SECONDS  # exit status, or 124 after SIGKILL at the deadline
#   e2e_wait_grep FILE ERE SECONDS
#   e2e_fail "what" [LOG...]   # "FAIL: <name>: what" + log tails; exit 1
#   e2e_finish                 # leak checks, then "e2e <name>: OK"
#
# Leak checks (e2e_finish): every process e2e_bg started must have ended
# by itself; after env_stop_processes no descendant of the test, no process
# naming the work dir, no listener on a reserved port or on a port listed
# in ENV_CHECK_PORTS, no sanitizer report in any log, nothing left in the
# private TMPDIR and no new file in /tmp named like something our programs
# could write (srv.*.log, ephemeral_*, *.atKeys, .sshnp, .atsign, sshnp.*,
# npt.*).
# E2E_STRICT=1 turns the documented work-arounds for known bugs off (each
# test says which); NP_KEEP_TMP=1 keeps the work dir and its logs.
# Time limits that the tests assert (not the bounded waits) are multiplied
# by E2E_SCALE: 2 when BUILD_DIR has NP_ASAN or NP_UBSAN on, else 1, or
# E2E_TIME_SCALE if set.

E2E_PIDS=()
E2E_WORK=
E2E_NAME=
E2E_STRICT=${E2E_STRICT:-0}
E2E_SCALE=1 # time limits are multiplied by this (2 for sanitizer builds)

e2e_step() { env_step "$@"; }

# e2e_fail WHAT [LOG...]: report and exit 1 (the EXIT trap cleans up).
e2e_fail() {
  local what=$1
  shift
  env_fail "$what" "$@" 2>&1 | sed "1s/^FAILED: /FAIL: $E2E_NAME: /" >&2
  exit 1
}

# e2e__tmp_ours: names in /tmp that one of our programs could have made.
e2e__tmp_ours() {
  local f
  for f in /tmp/srv.*.log /tmp/ephemeral_* /tmp/*.atKeys /tmp/.sshnp /tmp/.atsign /tmp/sshnp.* /tmp/npt.*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    case "$f" in "${ENV_PORT_LOCKS:-/nonexistent}" | "$E2E_WORK") continue ;; esac
    echo "$f"
  done | sort
}

e2e__cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in "${E2E_PIDS[@]}"; do
    env_stop_pid "$p"
  done
  env_stop
  if [ -n "$E2E_WORK" ] && [ -n "${NP_KEEP_TMP:-}" ]; then
    echo "NP_KEEP_TMP: kept $E2E_WORK (logs in $E2E_WORK/logs)" >&2
  elif [ -n "$E2E_WORK" ]; then
    rm -rf "$E2E_WORK"
  fi
  [ "$rc" -eq 0 ] || echo "e2e $E2E_NAME: FAILED (exit $rc)" >&2
  exit "$rc"
}

# e2e_begin BUILD_DIR NAME: work dir, traps, private HOME/TMPDIR, env_start.
e2e_begin() {
  local build=$1
  E2E_NAME=$2
  if [ -n "${E2E_TIME_SCALE:-}" ]; then
    E2E_SCALE=$E2E_TIME_SCALE
  elif grep -qE '^NP_(ASAN|UBSAN):BOOL=ON$' "$build/CMakeCache.txt" 2>/dev/null; then
    E2E_SCALE=2
  fi
  E2E_TMP_BEFORE=$(e2e__tmp_ours)
  E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/noports-e2e-$E2E_NAME-XXXXXX") || {
    echo "FAIL: $E2E_NAME: mktemp -d" >&2
    exit 1
  }
  chmod 700 "$E2E_WORK"
  trap e2e__cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  mkdir -p "$E2E_WORK/home" "$E2E_WORK/tmp" "$E2E_WORK/env" || e2e_fail "mkdir in $E2E_WORK"
  export HOME="$E2E_WORK/home" TMPDIR="$E2E_WORK/tmp"
  ENV_SSHD_SKIP_BASHRC=1 # (read by env_start)
  e2e_step "e2e $E2E_NAME in $E2E_WORK (strict: $E2E_STRICT, time scale: $E2E_SCALE)"
  env_start "$E2E_WORK/env" "$build" || exit 1
  env_client_args
}

# e2e_bg NAME PROG ARGS...: start in the background (stdin /dev/null, stdout
# $E2E_WORK/NAME.out, stderr NAME.err); pid in E2E_PID_<NAME> and E2E_PIDS.
e2e_bg() {
  local name=$1
  shift
  "$@" </dev/null >"$E2E_WORK/$name.out" 2>"$E2E_WORK/$name.err" &
  printf -v "E2E_PID_$name" '%s' "$!"
  E2E_PIDS+=("$!")
}

# e2e_alive PID: 0 while PID runs (a zombie counts as ended).
e2e_alive() {
  local st
  [ -r "/proc/$1/stat" ] || return 1
  read -r st 2>/dev/null <"/proc/$1/stat" || return 1
  st=${st##*) }
  [ "${st%% *}" != Z ] && kill -0 "$1" 2>/dev/null
}

# e2e_wait_exit PID SECONDS: wait for a child of this shell; its exit status,
# or 124 if it had to be killed at the deadline.
e2e_wait_exit() {
  local pid=$1 deadline=$((SECONDS + $2))
  while e2e_alive "$pid"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill -KILL "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      return 124
    fi
    sleep 0.05
  done
  wait "$pid"
}

# e2e_wait_grep FILE ERE SECONDS: until a line of FILE matches ERE.
e2e_wait_grep() {
  local deadline=$((SECONDS + $3))
  until grep -qE -- "$2" "$1" 2>/dev/null; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.05
  done
}

# e2e_count FILE ERE: number of matching lines (0 if none or no file).
e2e_count() {
  local n
  n=$(grep -cE -- "$2" "$1" 2>/dev/null) || n=0
  echo "$n"
}

# e2e_ms_since T0: milliseconds since T0 (an $EPOCHREALTIME value).
e2e_ms_since() {
  local now=${EPOCHREALTIME/./} t0=${1/./}
  echo $(((now - t0) / 1000))
}

# e2e_finish: the leak checks above, then the OK line.
e2e_finish() {
  local p left="" new
  for p in "${E2E_PIDS[@]}"; do
    e2e_alive "$p" && left="$left $p ($(env_cmdline "$p"))"
  done
  [ -z "$left" ] || e2e_fail "processes the test started are still running:$left"
  env_stop_processes
  env_check_clean || e2e_fail "leak check after stopping the environment"
  # Sanitizer builds: a report from any program (daemons included, whose
  # exit status nobody sees) fails the test.
  new=$(grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
    "$ENV_LOGS"/* "$E2E_WORK"/*.err "$E2E_WORK"/*.out 2>/dev/null)
  # shellcheck disable=SC2086 # one log per word
  [ -z "$new" ] || e2e_fail "sanitizer reports in: $new" $new
  new=$(comm -13 <(echo "$E2E_TMP_BEFORE") <(e2e__tmp_ours))
  [ -z "$new" ] || e2e_fail "new files in /tmp: $new"
  new=$(find "$TMPDIR" -mindepth 1 2>/dev/null | head -n 20)
  [ -z "$new" ] || e2e_fail "files left in the programs' TMPDIR: $new"
  e2e_step "leak checks passed: no process, listener or temp file left"
  echo "e2e $E2E_NAME: OK"
}
