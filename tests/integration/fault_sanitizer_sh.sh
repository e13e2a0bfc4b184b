#!/usr/bin/env bash
# tests/integration/fault_sanitizer_sh.sh BUILD_DIR - self-test of
# tests/lib/sanitizer.sh (issue 9, item 6), then the real thing: the
# sanitizer check on the logs of a complete environment (tests/lib/env.sh:
# atdirectory, atserver, at_activate, sshd, srvd, sshnpd) brought up and
# stopped with SIGTERM. In an ASan build a leak or sanitizer error of any of
# them at exit fails this test; in other builds the check passes trivially
# and the self-test still proves it would catch one.
set -u

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd) || exit 2
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/integration/lib/lib.sh
. "$src/tests/integration/lib/lib.sh"
# shellcheck source=tests/lib/sanitizer.sh
. "$src/tests/lib/sanitizer.sh"
np_setup

# --- self-test: fake reports are found, clean output is not
printf 'starting\n==9==ERROR: LeakSanitizer: detected memory leaks\n  #0 malloc\n' >"$NP_TMP/leak.log"
printf 'x.c:3:5: runtime error: load of null pointer\n' >"$NP_TMP/ub.log"
printf 'all fine\nruntime error is just words here\n' >"$NP_TMP/clean.log"
mkdir -p "$NP_TMP/tree/sub"
cp "$NP_TMP/leak.log" "$NP_TMP/tree/sub/daemon.log"

san_scan "$NP_TMP/clean.log" 2>/dev/null || np_fail "a clean log counted as a report"
san_scan "$NP_TMP/leak.log" 2>/dev/null && np_fail "a LeakSanitizer report was not found"
san_scan "$NP_TMP/ub.log" 2>/dev/null && np_fail "a UBSan report was not found"
san_scan "$NP_TMP/clean.log" "$NP_TMP/tree" 2>/dev/null && np_fail "a report in a tree was not found"
san_scan "$NP_TMP/missing.log" || np_fail "a missing log counted as a report"
san_scan "$NP_TMP/leak.log" 2>&1 >/dev/null | grep -q 'detected memory leaks' ||
  np_fail "the report excerpt is not shown"
san_status_bad 23 || np_fail "23 not a sanitizer status"
san_status_bad 134 || np_fail "134 not a sanitizer status"
san_status_bad 0 && np_fail "0 taken for a sanitizer status"
san_status_bad 143 && np_fail "143 taken for a sanitizer status"

# a "daemon" that leaks at SIGTERM, one that aborts, one that is clean
bash -c 'trap "echo ==1==ERROR: LeakSanitizer: detected memory leaks; exit 23" TERM
         for _ in $(seq 1 300); do sleep 0.1; done' >"$NP_TMP/d1.log" 2>&1 &
p1=$!
bash -c 'trap "kill -ABRT \$\$" TERM; for _ in $(seq 1 300); do sleep 0.1; done' \
  >"$NP_TMP/d2.log" 2>&1 &
p2=$!
bash -c 'trap "exit 0" TERM; for _ in $(seq 1 300); do sleep 0.1; done' >"$NP_TMP/d3.log" 2>&1 &
p3=$!
sleep 0.3
san_stop_pid "$p1" 5 "$NP_TMP/d1.log" 2>/dev/null && np_fail "leak at SIGTERM not caught"
san_stop_pid "$p2" 5 2>/dev/null && np_fail "abort at SIGTERM not caught"
san_stop_pid "$p3" 5 "$NP_TMP/d3.log" || np_fail "a clean stop counted as a report"
echo "self-test: OK"

# --- the real environment, stopped with SIGTERM, then its logs checked
# shellcheck source=tests/lib/env.sh
. "$src/tests/lib/env.sh"
mkdir -p "$NP_TMP/env"
trap 'rc=$?; env_stop; (exit $rc); np_cleanup' EXIT
if ! env_start "$NP_TMP/env" "$build" >"$NP_TMP/env.out" 2>&1; then
  cat "$NP_TMP/env.out"
  np_fail "environment did not start"
fi
env_stop
san_scan "$ENV_LOGS" || np_fail "a program of the environment reported a sanitizer error"
echo "environment logs: no sanitizer report ($(find "$ENV_LOGS" -type f | wc -l) logs)"
echo "fault_sanitizer_sh: OK"
