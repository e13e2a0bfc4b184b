# shellcheck shell=bash
# tests/lib/sanitizer.sh - make shell-driven tests FAIL when a program they
# started reports a leak or a sanitizer error (ASan/UBSan builds, make
# asan-check). The C twin is in tests/integration/lib/itest.c.
#
# A sanitizer report shows up in two ways: the program's exit status (23 is
# LeakSanitizer's default exit code; 134 = SIGABRT, which is what every
# report becomes with ASAN_OPTIONS=abort_on_error=1 as make asan-check sets
# it) and a banner in its output ("ERROR: AddressSanitizer", "ERROR:
# LeakSanitizer", "runtime error: " for UBSan, ...). Leaks are only
# reported when the program exits normally, e.g. after SIGTERM, so stop
# servers with SIGTERM before checking.
#
#   . "$NP_SOURCE_DIR/tests/lib/sanitizer.sh"
#   san_scan FILE|DIR...        # 1 (and the excerpts on stderr) if any
#                               # regular file holds a report
#   san_status_bad STATUS       # 0 (true) for 23 and 134
#   san_stop_pid PID [SECS] [LOG...]
#                               # SIGTERM, wait up to SECS (default 5), then
#                               # SIGKILL; reap (PID must be a child of this
#                               # shell); 1 if the status or the LOGs show a
#                               # report, else 0
#
# With tests/lib/env.sh: after env_stop, `san_scan "$ENV_LOGS"` (before the
# work dir is removed) fails the test on any report of atdirectory,
# atserver, srvd, sshnpd or the clients, whatever their exit status was.
# Only bash, grep, sed and coreutils are used; every wait is bounded.

SAN_BANNERS=(
  "ERROR: AddressSanitizer"
  "ERROR: LeakSanitizer"
  "WARNING: AddressSanitizer"
  "runtime error: "
  "SUMMARY: UndefinedBehaviorSanitizer"
)

# san__scan_file FILE: 1 if FILE holds a banner (the lines from the first
# one, at most 60, go to stderr).
san__scan_file() {
  local f=$1 b line first=0
  [ -f "$f" ] || return 0
  for b in "${SAN_BANNERS[@]}"; do
    line=$(grep -n -F -m 1 -- "$b" "$f" 2>/dev/null | cut -d: -f1)
    if [ -n "$line" ] && { [ "$first" -eq 0 ] || [ "$line" -lt "$first" ]; }; then
      first=$line
    fi
  done
  [ "$first" -eq 0 ] && return 0
  {
    echo "SANITIZER REPORT in $f:"
    sed -n "${first},$((first + 59))p" "$f"
    echo "----- end of excerpt -----"
  } >&2
  return 1
}

# san_scan FILE|DIR...: every regular file given, and every regular file
# under each directory given (symbolic links not followed).
san_scan() {
  local p f rc=0
  for p in "$@"; do
    if [ -d "$p" ]; then
      while IFS= read -r -d '' f; do
        san__scan_file "$f" || rc=1
      done < <(find "$p" -type f -print0 2>/dev/null)
    else
      san__scan_file "$p" || rc=1
    fi
  done
  return $rc
}

# san_status_bad STATUS: true for the exit statuses sanitizers produce.
san_status_bad() {
  [ "$1" = 23 ] || [ "$1" = 134 ]
}

# san_stop_pid PID [SECS] [LOG...]
san_stop_pid() {
  local pid=$1 secs=${2:-5} rc=0 st deadline
  shift
  [ $# -gt 0 ] && shift
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    deadline=$((SECONDS + secs))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
      sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  st=$?
  if san_status_bad "$st"; then
    echo "san_stop_pid: pid $pid exited with $st (sanitizer report or abort)" >&2
    rc=1
  fi
  [ $# -gt 0 ] && { san_scan "$@" || rc=1; }
  return $rc
}
