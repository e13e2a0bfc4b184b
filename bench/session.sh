#!/usr/bin/env bash
# bench/session.sh BUILD_DIR OUT_DIR [--smoke] - how long a NoPorts ssh
# session takes to start: the time from starting `sshnp ... -o
# RemoteCommand='echo x'` until the remote command's output arrives, p50 and
# p90 over 20 runs, against plain `ssh` to the same private sshd on loopback
# (the floor); the difference at p50 is the NoPorts overhead (target
# < 150 ms). Also the time until each command has exited.
#
# Environment: tests/lib/env.sh (atdirectory, one atserver with @client,
# @device and @relay, private sshd, srvd, sshnpd), rate limits off so that
# back-to-back runs are not throttled; remote commands skip ~/.bashrc
# (ENV_SSHD_SKIP_BASHRC). One untimed warm-up run of each first. --smoke: 2 runs. Results in OUT_DIR/session.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/lib/env.sh
. "$here/../tests/lib/env.sh"
# shellcheck source=bench/relay.lib.sh
. "$here/relay.lib.sh"

bench_init session "$@"
RUNS=20
[ "$BENCH_SMOKE" = 1 ] && RUNS=2
rl_setup
W=$RL_WORK
ENV_SRVD_ARGS=(--rate-limit 0)
ENV_SSHNPD_ARGS=(--rate-limit 0)
# The remote shell skips the user's ~/.bashrc (env.sh): dotfiles such as
# "pyenv init" take 0.3-1 s with a large spread and would drown the few
# milliseconds being measured; both commands reach the same sshd.
ENV_SSHD_SKIP_BASHRC=1
rl_env_start
kh="$W/known_hosts_direct"
: >"$kh"

# timed FILE-PREFIX CMD...: run CMD (at most 60 s, stdin /dev/null); append
# to PREFIX.first the ms until its first output line, to PREFIX.exit the ms
# until it exited. Fails unless that line is "x" and the exit status is 0.
timed() {
  local prefix=$1 t0 t1 out first line rc
  shift
  t0=${EPOCHREALTIME/./}
  set +e
  out=$(
    timeout -k 5 60 "$@" </dev/null 2>>"$prefix.log" | {
      IFS= read -r l
      echo "${EPOCHREALTIME/./} $l"
      cat >/dev/null
    }
    echo "rc ${PIPESTATUS[0]}"
  )
  set -e
  t1=${EPOCHREALTIME/./}
  first=${out%%$'\n'*}
  line=${first#* }
  rc=${out##*rc }
  if [ "$rc" != 0 ] || [ "$line" != x ]; then
    echo "bench: session: '$*' failed (exit $rc, output '$line')" >&2
    tail -n 20 "$prefix.log" >&2
    return 1
  fi
  echo $(((${first%% *} - t0) / 1000)) >>"$prefix.first"
  echo $(((t1 - t0) / 1000)) >>"$prefix.exit"
}

sshnp_cmd=("$ENV_SSHNP" "${ENV_CLIENT_ARGS[@]}" -i "$ENV_USER_KEY" -u "$ENV_USER"
  "${ENV_SSH_OPTS[@]}" -o "RemoteCommand=echo x")
ssh_cmd=(ssh -F /dev/null -p "$ENV_SSHD_PORT" -i "$ENV_USER_KEY" -o IdentitiesOnly=yes
  -o "UserKnownHostsFile=$kh" -o StrictHostKeyChecking=accept-new -o GlobalKnownHostsFile=/dev/null
  -o BatchMode=yes -o ConnectTimeout=20 -o LogLevel=ERROR "$ENV_USER@127.0.0.1" "echo x")

bench_log "warm-up: one sshnp and one ssh run"
timed "$W/warm-sshnp" "${sshnp_cmd[@]}"
timed "$W/warm-ssh" "${ssh_cmd[@]}"
for i in $(seq 1 "$RUNS"); do
  timed "$W/sshnp" "${sshnp_cmd[@]}"
  timed "$W/ssh" "${ssh_cmd[@]}"
  bench_log "run $i/$RUNS: sshnp $(tail -n 1 "$W/sshnp.first") ms, ssh $(tail -n 1 "$W/ssh.first") ms to the output"
done

np50=$(bench_percentile 50 "$W/sshnp.first")
np90=$(bench_percentile 90 "$W/sshnp.first")
s50=$(bench_percentile 50 "$W/ssh.first")
s90=$(bench_percentile 90 "$W/ssh.first")
bench_row sshnp_to_output_p50 "$np50" ms "start of sshnp until the remote 'echo x' output, $RUNS runs"
bench_row sshnp_to_output_p90 "$np90" ms "sshnp, p90"
bench_row ssh_to_output_p50 "$s50" ms "plain ssh to the same sshd on loopback (the floor)"
bench_row ssh_to_output_p90 "$s90" ms "plain ssh, p90"
bench_row overhead_p50 "$((np50 - s50))" ms "sshnp p50 - ssh p50 (target < 150 ms)"
bench_row sshnp_to_exit_p50 "$(bench_percentile 50 "$W/sshnp.exit")" ms "start of sshnp until it exited"
bench_row ssh_to_exit_p50 "$(bench_percentile 50 "$W/ssh.exit")" ms "start of ssh until it exited"
bench_finish
