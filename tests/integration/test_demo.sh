#!/usr/bin/env bash
# tests/integration/test_demo.sh BUILD_DIR - end-to-end test of `make demo`:
# runs scripts/demo.sh against BUILD_DIR with TMPDIR pointing at a private
# folder and checks that it exits 0, prints "NoPorts demo: OK" as its last
# line, leaves no process whose command line names that folder (every
# program the demo starts gets a path inside it) and leaves the folder
# empty. Then the same after an interrupted run: SIGTERM while the
# environment is up must still stop everything and remove the temp folder.
set -u

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd) || exit 2
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/integration/lib/lib.sh
. "$src/tests/integration/lib/lib.sh"
np_setup

# Processes (other than this script) whose command line mentions $1.
# Builtins only (no fork per process): on a busy machine with a thousand
# processes, two forks each took long enough for the demo to finish first.
procs_naming() {
  local f pid
  local -a a
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    [ "$pid" = "$$" ] && continue
    a=()
    mapfile -d "" a 2>/dev/null <"$f" || continue
    [[ "${a[*]}" == *"$1"* ]] && echo "$pid: ${a[*]}"
  done
  return 0
}

# check_clean TMP: no process names TMP, TMP has no entries (bounded wait
# for processes that are exiting).
check_clean() {
  local tmp=$1 left
  for _ in $(seq 1 50); do
    left=$(procs_naming "$tmp")
    [ -z "$left" ] && break
    sleep 0.1
  done
  [ -z "$left" ] || np_fail "processes left behind: $left"
  [ -z "$(ls -A "$tmp")" ] || np_fail "temp files left behind: $(ls -A "$tmp")"
}

# --- a full run
tmp1="$NP_TMP/run1"
mkdir -p "$tmp1"
out="$NP_TMP/demo1.out"
start=$SECONDS
TMPDIR="$tmp1" CI=true bash "$src/scripts/demo.sh" "$build" </dev/null >"$out" 2>&1 &
demo=$!
np__wait_pid "$demo" 150 || { kill -TERM "$demo"; np__wait_pid "$demo" 10; cat "$out"; np_fail "demo did not finish in 150 s"; }
wait "$demo"
rc=$?
cat "$out"
[ $rc -eq 0 ] || np_fail "demo exited $rc"
[ "$(tail -n 1 "$out")" = "NoPorts demo: OK" ] || np_fail "last line is not 'NoPorts demo: OK'"
grep -q '^ *device says: hello from .* via NoPorts' "$out" || np_fail "no greeting from the device via sshnp"
grep -q '^ *device says: hello again, through npt' "$out" || np_fail "no greeting through npt"
grep -q '^ *demo@device' "$out" || np_fail "--list-devices did not list demo@device"
check_clean "$tmp1"
echo "run 1: OK in $((SECONDS - start)) s, nothing left behind"

# --- an interrupted run: SIGTERM once sshnpd is up
tmp2="$NP_TMP/run2"
mkdir -p "$tmp2"
out="$NP_TMP/demo2.out"
TMPDIR="$tmp2" bash "$src/scripts/demo.sh" "$build" </dev/null >"$out" 2>&1 &
demo=$!
deadline=$((SECONDS + 120))
until grep -q 'sshnpd up as' "$out"; do
  kill -0 "$demo" 2>/dev/null || { cat "$out"; np_fail "demo (run 2) ended before sshnpd was up"; }
  [ $SECONDS -lt $deadline ] || { kill -TERM "$demo"; np_fail "run 2: sshnpd not up within 120 s"; }
  sleep 0.05
done
[ -n "$(procs_naming "$tmp2")" ] || np_fail "run 2: no demo processes seen while it runs"
kill -TERM "$demo"
np__wait_pid "$demo" 30 || { kill -KILL "$demo"; np_fail "demo ignored SIGTERM for 30 s"; }
wait "$demo"
rc=$?
[ $rc -ne 0 ] || { cat "$out"; np_fail "interrupted demo exited 0"; }
check_clean "$tmp2"
echo "run 2 (SIGTERM): exit $rc, nothing left behind"
echo "test_demo: OK"
