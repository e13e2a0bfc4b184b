#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2154 # remote commands in single quotes; E2E_PID_* set by e2e_bg
# tests/integration/fault_halfopen.sh BUILD_DIR - half-open relay
# connections (issue 9): the relay's host vanishes without a FIN or RST
# while sessions are live; every side notices through TCP keep-alive /
# TCP_USER_TIMEOUT (net_tcp_set_dead_peer_detection, shortened with
# NP_TCP_KEEPALIVE=1,1,2: ~3 s), ends its session with a clear error and
# frees everything; once the host is back, new sessions work.
#
# The script re-executes itself in a private network namespace (unshare -rn;
# as root also unshare -n) where it may change the routing rules: srvd
# listens on and announces 127.0.0.2, everything else (atdirectory,
# atserver, sshd, local ports) stays on 127.0.0.1. "The relay's host
# vanishes" is two blackhole rules: packets to 127.0.0.2 and packets from
# it are dropped silently (no ICMP, no RST), so neither end of any relay
# socket hears from the other again - and the atServer connections of srvd
# and sshnpd are not touched. No namespace = FAIL, never a skip.
#
# Scenario, with two live sessions through the relay:
#   busy: npt with an ssh through it whose remote command prints a tick
#         every 0.1 s (data in flight when the host vanishes);
#   idle: sshnp whose remote command prints a line every 3 s (the relay
#         sockets idle most of the time: only keep-alive probes notice);
# after the blackhole, within HALFOPEN_LIMIT_S (x2 for sanitizer builds):
#   - npt exits non-zero saying the session was lost, "timed out" / "no
#     answer" in the reason; the ssh through it and sshnp (its ssh) exit
#     255; sshnp -v says "relay connection lost: no answer from
#     127.0.0.2:PORT for 3 s"; neither says the relay closed the connection;
#   - sshnpd logs both sessions as ended with a timed-out reason (the
#     sshnp one with that same text);
#   - srvd logs the pairs closed on "Connection timed out" and both
#     sessions closed, and its fd count is back to the level before the
#     sessions (sshnpd's too); the remote commands are gone;
# then the rules are removed and a new sshnp session and a new npt
# connection work end to end. Ends with the leak checks of e2e_lib.sh
# (processes, listeners, temp files, sanitizer reports).
set -u
[ $# -eq 1 ] || {
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
}

# ------------------------------------------------ the network namespace
# Root: unshare -n (a user namespace would break sshd: its privilege
# separation calls setgroups, which a mapped user namespace denies). Any
# other user: a user namespace that maps the user to itself (sshd runs
# unprivileged, as env.sh does for non-root users) and keeps the
# capabilities it grants (CAP_NET_ADMIN there, for ip rule).
if [ -z "${NP_HALFOPEN_NS:-}" ]; then
  NP_HALFOPEN_OUTER_NET=$(readlink /proc/self/ns/net) || exit 1
  export NP_HALFOPEN_OUTER_NET
  self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
  build=$(cd "$1" && pwd) || exit 2
  if [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
    NP_HALFOPEN_NS="unshare -n" exec unshare -n bash "$self" "$build"
  fi
  if [ "$(id -u)" -ne 0 ] && unshare -c -n --keep-caps true 2>/dev/null; then
    NP_HALFOPEN_NS="unshare -c -n --keep-caps" exec unshare -c -n --keep-caps bash "$self" "$build"
  fi
  if [ "$(id -u)" -eq 0 ] && unshare -rn true 2>/dev/null; then # (sshd may fail, see above)
    NP_HALFOPEN_NS="unshare -rn" exec unshare -rn bash "$self" "$build"
  fi
  echo "FAIL: halfopen: cannot create a private network namespace ($(
    [ "$(id -u)" -eq 0 ] && echo "'unshare -n' and 'unshare -rn' failed" ||
      echo "'unshare -c -n --keep-caps' failed"
  )): this test needs one to make the relay's address vanish; enable user namespaces" \
    "(sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone) or run as root." >&2
  exit 1
fi

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/lib/env.sh
. "$src/tests/lib/env.sh"
# shellcheck source=tests/integration/e2e_lib.sh
. "$src/tests/integration/e2e_lib.sh"

RELAY_IP=127.0.0.2
HALFOPEN_LIMIT_S=20

# The rules below must never touch the host's network: check that this is
# another network namespace than the caller's, and a fresh one (only "lo").
links=$(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
if [ "$(readlink /proc/self/ns/net)" = "${NP_HALFOPEN_OUTER_NET:-}" ] || [ "$links" != "lo " ]; then
  echo "FAIL: halfopen: not in a fresh private network namespace (links: $links)" >&2
  exit 1
fi
if ! { ip link set lo up && ip rule add from all lookup local pref 100 &&
  ip rule del pref 0 from all lookup local; }; then
  echo "FAIL: halfopen: cannot set up loopback and the rules in the namespace" >&2
  exit 1
fi

# blackhole add|del: the relay's host vanishes (add) or comes back (del).
blackhole() {
  ip rule "$1" to "$RELAY_IP" blackhole pref 10 &&
    ip rule "$1" from "$RELAY_IP" blackhole pref 11
}

# fd_count PID: open file descriptors of PID.
fd_count() {
  local f n=0
  for f in /proc/"$1"/fd/*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    n=$((n + 1))
  done
  echo "$n"
}

# wait_fds NAME PID BASELINE SECONDS: until PID has at most BASELINE fds.
wait_fds() {
  local deadline=$((SECONDS + $4)) n
  while n=$(fd_count "$2") && [ "$n" -gt "$3" ]; do
    [ $SECONDS -lt $deadline ] || {
      echo "$1 (pid $2): $n fds, $3 before the sessions:" >&2
      ls -l /proc/"$2"/fd >&2
      return 1
    }
    sleep 0.1
  done
}

export NP_TCP_KEEPALIVE=1,1,2 # every program: a dead relay peer is noticed in ~3 s
# srvd: sessions listen on (and are announced as) the relay's address; a
# short grace so that a session ends as soon as its last pair has.
ENV_SRVD_ARGS=(-i "$RELAY_IP" --bind "$RELAY_IP" --session-grace-ms 2000)
e2e_begin "$1" halfopen
W=$E2E_WORK
L=$ENV_LOGS
limit=$((HALFOPEN_LIMIT_S * E2E_SCALE))
env_known_host "$ENV_DEVICE_NAME.${ENV_DEVICE#@}.sshnp"
env_known_host npt-halfopen
strict_ssh=(-o StrictHostKeyChecking=yes "${ENV_SSH_OPTS[@]}")

# start_npt NAME TIMEOUT: npt to the device's sshd on a reserved port
# (NPT_PORT), session idle timeout TIMEOUT.
start_npt() {
  NPT_PORT=$(env_free_port) || e2e_fail "no free port for npt"
  e2e_bg "$1" "$ENV_NPT" "${ENV_CLIENT_ARGS[@]}" -p "$ENV_SSHD_PORT" -h 127.0.0.1 \
    -l "$NPT_PORT" -T "$2" -v
  e2e_wait_grep "$W/$1.err" "npt is listening on 127\.0\.0\.1:$NPT_PORT\$" 30 ||
    e2e_fail "npt $1 did not come up" "$W/$1.err" "$L/sshnpd.log" "$L/srvd.log"
}

# ssh_npt NAME PORT COMMAND: background ssh through an npt port.
ssh_npt() {
  e2e_bg "$1" ssh -F /dev/null -p "$2" -i "$ENV_USER_KEY" -o IdentitiesOnly=yes \
    -o HostKeyAlias=npt-halfopen "${strict_ssh[@]}" "$ENV_USER@127.0.0.1" "$3"
}

srvd_fds0=$(fd_count "$ENV_PID_srvd")
npd_fds0=$(fd_count "$ENV_PID_sshnpd")
e2e_step "in a private network namespace ($NP_HALFOPEN_NS); srvd announces $RELAY_IP (fds: srvd $srvd_fds0, sshnpd $npd_fds0)"

# ------------------------------------------------------------ the sessions
mark="halfopen-$RANDOM$RANDOM"
busy=": $mark-busy; echo started; n=0; while [ \$n -lt 900 ]; do sleep 0.1; echo tick || exit 1; n=\$((n + 1)); done"
idle=": $mark-idle; echo started; n=0; while [ \$n -lt 30 ]; do sleep 3; echo still || exit 1; n=\$((n + 1)); done"
start_npt npt1 30s
npt1_port=$NPT_PORT
ssh_npt busy "$npt1_port" "$busy"
e2e_wait_grep "$W/busy.out" '^started$' 60 || e2e_fail "the ssh through npt did not start" "$W/busy.err" "$W/npt1.err"
e2e_bg idle "$ENV_SSHNP" "${ENV_CLIENT_ARGS[@]}" -i "$ENV_USER_KEY" -u "$ENV_USER" -v \
  "${strict_ssh[@]}" -o "RemoteCommand=$idle"
e2e_wait_grep "$W/idle.out" '^started$' 60 || e2e_fail "the sshnp session did not start" "$W/idle.err"
sid_npt=$(sed -nE 's/.* : Session id ([0-9a-f-]{36})$/\1/p' "$W/npt1.err" | head -n 1)
sid_np=$(sed -nE 's/.* : Session id ([0-9a-f-]{36})$/\1/p' "$W/idle.err" | head -n 1)
{ [ -n "$sid_npt" ] && [ -n "$sid_np" ]; } || e2e_fail "no session ids from npt -v and sshnp -v" "$W/npt1.err" "$W/idle.err"
# the relay sockets really go to the relay's address
ss -Htn state established "dst $RELAY_IP" | grep -q . ||
  e2e_fail "no established connection to $RELAY_IP" "$L/srvd.log"
sleep 1 # a few ticks through, the idle session past its first keep-alive idle time
[ "$(e2e_count "$W/busy.out" '^tick$')" -gt 0 ] || e2e_fail "no data flows through npt" "$W/busy.err"
e2e_step "live: npt $sid_npt (ssh with a tick every 0.1 s) and sshnp $sid_np (a line every 3 s)"

# ------------------------------------------------------- the host vanishes
t0=$EPOCHREALTIME
blackhole add || e2e_fail "ip rule add blackhole"
ticks0=$(e2e_count "$W/busy.out" '^tick$')
e2e_step "$RELAY_IP blackholed (no FIN, no RST, no ICMP): waiting up to $limit s"
for n in npt1 busy idle; do
  pv="E2E_PID_$n"
  left=$((limit - $(e2e_ms_since "$t0") / 1000))
  [ $left -gt 0 ] || left=1
  e2e_wait_exit "${!pv}" "$left"
  rc=$?
  printf -v "rc_$n" '%s' "$rc"
  printf -v "ms_$n" '%s' "$(e2e_ms_since "$t0")"
  [ $rc -ne 124 ] || e2e_fail "$n still runs $limit s after the relay's host vanished" "$W/$n.err" \
    "$W/npt1.err" "$L/sshnpd.log" "$L/srvd.log"
done
[ "$rc_npt1" -ne 0 ] || e2e_fail "npt exited 0 although its relay vanished under a live connection" "$W/npt1.err"
for n in busy idle; do
  pv="rc_$n"
  [ "${!pv}" -eq 255 ] || e2e_fail "$n: exit ${!pv} after the relay vanished, want 255 (ssh: connection lost)" "$W/$n.err"
done
# npt: what was lost, where, and why
grep -qE 'Session lost' "$W/npt1.err" || e2e_fail "npt: no 'Session lost' message" "$W/npt1.err"
npt_msg=$(grep -E 'Session lost|relay|timed out|no answer' "$W/npt1.err" | grep -vE ' : (Session id|Listening|Starting)' | tail -n 3)
# (npt's session ends with its control connection, whose message comes from
# bridge_mux.c: "control connection: Connection timed out")
grep -qE '(timed out|no answer)' "$W/npt1.err" ||
  e2e_fail "npt: the reason does not say that the relay stopped answering" "$W/npt1.err"
for n in npt1 idle; do
  grep -qE 'relay closed the connection|closed by the relay' "$W/$n.err" &&
    e2e_fail "$n: says the relay closed the connection, but it vanished without a FIN" "$W/$n.err"
done
e2e_step "within $ms_npt1 ms npt exited $rc_npt1: $(sed -E 's/^.* : //' <<<"$npt_msg" | tr '\n' '|')"
e2e_step "the ssh through npt exited $rc_busy after $ms_busy ms, sshnp (idle) exited $rc_idle after $ms_idle ms"
# sshnp -v: the bridge's end, naming the relay and the time without answer
silent="relay connection lost: no answer from $RELAY_IP:[0-9]+ for 3 s"
grep -qE "$silent" "$W/idle.err" || e2e_fail "sshnp: no '$silent'" "$W/idle.err"
# no data after the blackhole could have come through
[ "$(e2e_count "$W/busy.out" '^tick$')" -le $((ticks0 + 50)) ] ||
  e2e_fail "ticks kept arriving after the blackhole" "$W/busy.out"

# sshnpd: both sessions ended, and why
e2e_wait_grep "$L/sshnpd.log" "session $sid_npt .*ended after .*(timed out|no answer)" "$limit" ||
  e2e_fail "sshnpd did not end session $sid_npt with a time-out reason" "$L/sshnpd.log"
e2e_wait_grep "$L/sshnpd.log" "session $sid_np .*ended after .*$silent" "$limit" ||
  e2e_fail "sshnpd did not end session $sid_np with '$silent'" "$L/sshnpd.log"
for s in "$sid_npt" "$sid_np"; do
  e2e_step "sshnpd: $(grep -E "session $s .*ended after" "$L/sshnpd.log" | head -n 1 | sed -E 's/^.*(session)/\1/')"
done
# srvd: the pairs and the sessions ended, everything freed
e2e_wait_grep "$L/srvd.log" "session ($sid_npt|$sid_np): pair [0-9]+ closed: .*Connection timed out" "$limit" ||
  e2e_fail "srvd logged no pair closed on a time-out" "$L/srvd.log"
for s in "$sid_npt" "$sid_np"; do
  e2e_wait_grep "$L/srvd.log" "srvd: session $s closed: " "$limit" ||
    e2e_fail "srvd did not close session $s" "$L/srvd.log"
done
wait_fds srvd "$ENV_PID_srvd" "$srvd_fds0" "$limit" ||
  e2e_fail "srvd's fds did not come back to $srvd_fds0" "$L/srvd.log"
wait_fds sshnpd "$ENV_PID_sshnpd" "$npd_fds0" "$limit" ||
  e2e_fail "sshnpd's fds did not come back to $npd_fds0" "$L/sshnpd.log"
# (closed sockets may linger in FIN-WAIT-1 in the kernel, owned by nobody:
# their FIN is never answered either)
for st in established close-wait; do
  ss -Htn state "$st" "( dst $RELAY_IP or src $RELAY_IP )" | grep -q . && {
    ss -Htnp "( dst $RELAY_IP or src $RELAY_IP )" >&2
    e2e_fail "sockets to or from $RELAY_IP still $st"
  }
done
e2e_step "srvd: $(grep -E "session $sid_npt: pair [0-9]+ closed" "$L/srvd.log" | head -n 1 | sed -E 's/^.*(pair [0-9]+ closed)/\1/'); both sessions closed; fds back to srvd $srvd_fds0, sshnpd $npd_fds0"
deadline=$((SECONDS + 10))
while [ -n "$(env_procs_naming "$mark")" ]; do
  [ $SECONDS -lt $deadline ] || e2e_fail "remote commands still run 10 s after the sessions ended: $(env_procs_naming "$mark")"
  sleep 0.1
done
ss -Hltn "sport = :$npt1_port" | grep -q . && e2e_fail "npt port $npt1_port still listening"
e2e_step "the remote commands are gone and the npt port is closed"

# ------------------------------------------------------ the host is back
blackhole del || e2e_fail "ip rule del blackhole"
e2e_step "$RELAY_IP back"
token="halfopen-after-$RANDOM$RANDOM"
e2e_bg again "$ENV_SSHNP" "${ENV_CLIENT_ARGS[@]}" -i "$ENV_USER_KEY" -u "$ENV_USER" \
  "${strict_ssh[@]}" -o "RemoteCommand=echo $token"
e2e_wait_exit "$E2E_PID_again" 60
rc=$?
{ [ $rc -eq 0 ] && [ "$(cat "$W/again.out")" = "$token" ]; } ||
  e2e_fail "new sshnp session after the relay came back (exit $rc)" "$W/again.err" "$L/sshnpd.log" "$L/srvd.log"
start_npt npt2 3s
env_run_bounded 60 "$W/again2.out" "$W/again2.err" ssh -F /dev/null -p "$NPT_PORT" \
  -i "$ENV_USER_KEY" -o IdentitiesOnly=yes -o HostKeyAlias=npt-halfopen "${strict_ssh[@]}" \
  "$ENV_USER@127.0.0.1" "echo $token-npt"
rc=$?
{ [ $rc -eq 0 ] && [ "$(cat "$W/again2.out")" = "$token-npt" ]; } ||
  e2e_fail "new connection through a new npt after the relay came back (exit $rc)" "$W/again2.err" \
    "$W/npt2.err" "$L/sshnpd.log" "$L/srvd.log"
e2e_wait_exit "$E2E_PID_npt2" 60
rc=$?
[ $rc -eq 0 ] || e2e_fail "npt2 did not end cleanly after its connection (exit $rc)" "$W/npt2.err"
e2e_step "a new sshnp session and a new npt connection work end to end"
e2e_finish
