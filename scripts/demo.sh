#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2317,SC2154 # remote commands in single quotes; trap handlers; env.sh variables
# scripts/demo.sh BUILD_DIR - `make demo`: NoPorts end to end on 127.0.0.1.
#
# In a temporary folder (removed afterwards, also on failure or Ctrl-C) it
# starts a throw-away CA, atdirectory, one atserver hosting @client, @device
# and @relay (activated with at_activate), a private sshd, srvd and sshnpd
# (tests/lib/env.sh), then:
#   - sshnp from @client to @device through @relay runs a command on the
#     device's sshd, which prints a greeting and creates a marker file;
#   - npt forwards a local port to the device's sshd and plain ssh runs a
#     command through it;
#   - sshnp --list-devices shows the device.
# Prints each step with its elapsed time and "NoPorts demo: OK" last; any
# failure exits 1 naming the step, with the tail of the relevant log. Needs
# only bash, coreutils, openssl and OpenSSH (client and server).
# NP_KEEP_TMP=1 keeps the temporary folder (and its logs/) for debugging.
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib/env.sh
. "$here/../tests/lib/env.sh"

work=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  env_stop
  [ -n "${npt_pid:-}" ] && env_stop_pid "$npt_pid"
  if [ -n "$work" ] && [ -n "${NP_KEEP_TMP:-}" ]; then
    echo "NP_KEEP_TMP: kept $work (logs in $work/logs)" >&2
  elif [ -n "$work" ]; then
    rm -rf "$work"
  fi
  if [ "$rc" -ne 0 ]; then
    echo "NoPorts demo: FAILED${ENV_FAILED_STEP:+ at step: $ENV_FAILED_STEP}" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { # STEP [LOG...]
  env_fail "$@"
  exit 1
}

work="$(mktemp -d "${TMPDIR:-/tmp}/noports-demo-XXXXXX")" || fail "mktemp -d"
chmod 700 "$work"
echo "NoPorts demo in $work (removed at the end)"
env_start "$work" "$1" || exit 1

L=$ENV_LOGS
common=(-f "$ENV_CLIENT" -t "$ENV_DEVICE" -d "$ENV_DEVICE_NAME" -r "$ENV_RELAY"
  -k "$ENV_CLIENT_KEYS" --root-domain "$ENV_ROOT" --ca-file "$ENV_CA")
sshopts=(-o "UserKnownHostsFile=$ENV_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null
  -o BatchMode=yes -o ConnectTimeout=20 -o LogLevel=ERROR)

# 7. ssh to the device through the relay; the command runs under the
#    device's sshd and leaves a marker file behind.
marker="$work/marker-from-device"
remote='echo "hello from $(hostname) via NoPorts: user $(id -un), sshd session pid $PPID"'
remote="$remote && touch '$marker'"
env_step "sshnp -f $ENV_CLIENT -t $ENV_DEVICE -d $ENV_DEVICE_NAME -r $ENV_RELAY -i <user key> -u $ENV_USER"
env_run_bounded 60 "$L/sshnp.out" "$L/sshnp.log" "$ENV_SSHNP" "${common[@]}" \
  -i "$ENV_USER_KEY" -u "$ENV_USER" "${sshopts[@]}" -o "RemoteCommand=$remote" -v ||
  fail "sshnp session (exit $?)" "$L/sshnp.log" "$L/sshnp.out" "$L/sshnpd.log" "$L/srvd.log" "$L/sshd.log"
grep -q '^hello from .* via NoPorts' "$L/sshnp.out" ||
  fail "sshnp session: no greeting from the device" "$L/sshnp.out" "$L/sshnp.log" "$L/sshd.log"
[ -f "$marker" ] || fail "sshnp session: the device did not create $marker" "$L/sshnp.out" "$L/sshd.log"
sed 's/^/          device says: /' "$L/sshnp.out"
env_step "ssh session through $ENV_RELAY done; marker file created on the device side (sshd listener pid $ENV_PID_sshd)"

# 8a. npt: a local port forwarded to the device's sshd; plain ssh through it.
npt_port=$(env_free_port) || fail "no free port for npt"
env_step "npt -f $ENV_CLIENT -t $ENV_DEVICE -d $ENV_DEVICE_NAME -r $ENV_RELAY -p $ENV_SSHD_PORT -h 127.0.0.1 -l $npt_port"
"$ENV_NPT" "${common[@]}" -p "$ENV_SSHD_PORT" -h 127.0.0.1 -l "$npt_port" -T 5s \
  </dev/null >>"$L/npt.log" 2>&1 &
npt_pid=$!
env_wait_port "$npt_port" "$npt_pid" 60 || fail "npt: port $npt_port not listening" "$L/npt.log" "$L/sshnpd.log"
env_step "npt listening on 127.0.0.1:$npt_port -> device 127.0.0.1:$ENV_SSHD_PORT"
env_run_bounded 60 "$L/ssh-npt.out" "$L/ssh-npt.log" ssh -F /dev/null -p "$npt_port" -i "$ENV_USER_KEY" \
  -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new -o HostKeyAlias=npt-demo \
  "${sshopts[@]}" "$ENV_USER@127.0.0.1" 'echo "hello again, through npt: sshd session pid $PPID"' ||
  fail "ssh through npt (exit $?)" "$L/ssh-npt.log" "$L/npt.log" "$L/sshnpd.log" "$L/sshd.log"
grep -q '^hello again, through npt' "$L/ssh-npt.out" ||
  fail "ssh through npt: no greeting" "$L/ssh-npt.out" "$L/ssh-npt.log"
sed 's/^/          device says: /' "$L/ssh-npt.out"
env_stop_pid "$npt_pid"
npt_pid=
env_step "ssh -p $npt_port through npt done"

# 8b. the device list as the client sees it.
env_step "sshnp -f $ENV_CLIENT --list-devices"
env_run_bounded 60 "$L/list.out" "$L/list.log" "$ENV_SSHNP" -f "$ENV_CLIENT" --list-devices \
  -k "$ENV_CLIENT_KEYS" --root-domain "$ENV_ROOT" --ca-file "$ENV_CA" -q ||
  fail "sshnp --list-devices (exit $?)" "$L/list.log" "$L/list.out"
grep -q "$ENV_DEVICE_NAME" "$L/list.out" ||
  fail "sshnp --list-devices: $ENV_DEVICE_NAME not listed" "$L/list.out" "$L/list.log"
sed 's/^/          /' "$L/list.out"

env_stop
env_step "all processes stopped"
echo "NoPorts demo: OK"
exit 0
