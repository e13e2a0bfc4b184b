# shellcheck shell=bash disable=SC2034,SC2154,SC2015
# (variables are set dynamically with printf -v and used by the callers)
# tests/lib/env.sh - a complete local NoPorts environment on 127.0.0.1, for
# scripts/demo.sh and end-to-end tests. Source it from bash, then:
#
#   env_start WORKDIR BUILD_DIR   # steps 1-6 below; 0 on success
#   ...use the variables below...
#   env_stop                      # stop every started process by pid (bounded)
#
# env_start brings up, all inside WORKDIR (which the caller creates and
# removes):
#   1. a throw-away CA (tests/integration/lib/mkca.sh)           -> $ENV_CA
#   2. the atSigns $ENV_CLIENT, $ENV_DEVICE and $ENV_RELAY (plus any in
#      $ENV_EXTRA_ATSIGNS), created in ONE atserver data dir and registered
#      in a temporary directory database; atdirectory on a free port
#                                                                -> $ENV_ROOT
#   3. one atserver process hosting the atSigns, each activated with
#      at_activate (cram secret read from a 0600 file, never on a command
#      line)                        -> $ENV_CLIENT_KEYS $ENV_DEVICE_KEYS ...
#   4. a private sshd (/usr/sbin/sshd) on 127.0.0.1:$ENV_SSHD_PORT with its
#      own host key, config and authorized_keys holding the fresh user key
#      $ENV_USER_KEY (user $ENV_USER); works as root and as any other user
#   5. srvd for $ENV_RELAY (extra arguments: array ENV_SRVD_ARGS)
#   6. sshnpd for $ENV_DEVICE, device $ENV_DEVICE_NAME, managed by
#      $ENV_CLIENT, forwarding to the private sshd (extra arguments: array
#      ENV_SSHNPD_ARGS)
# Every program logs to $ENV_LOGS/<name>.log. Each step is announced as
# "[  1.2s] message" on stdout (env_step). On failure env_start prints
# "FAILED: <step>" and the last 20 lines of the relevant log on stderr,
# sets ENV_FAILED_STEP and returns 1; the caller still calls env_stop.
# Every wait has a deadline; only bash, coreutils, openssl, iproute2 (ss,
# for env_check_clean only) and OpenSSH are used.
#
# Optional, set before env_start:
#   ENV_EXTRA_ATSIGNS="@a @b"  more atSigns on the same atserver, activated
#                              like the others: keys $ENV_KEYS_<name>, port
#                              $ENV_PORT_<name> (name = atSign without @)
#   ENV_ATSERVER_ARGS=(...)    appended to atserver's command line
#   ENV_SRVD_ARGS=(...)        appended to srvd's command line
#   ENV_SSHNPD_ARGS=(...)      appended to sshnpd's command line
#   ENV_SSHD_SKIP_BASHRC=1     remote commands skip ~/.bashrc (sshd SetEnv
#                              SHLVL=1): the user's dotfiles cost no time
# Helpers for tests (after env_start):
#   env_client_args            arrays ENV_CLIENT_ARGS (sshnp/npt -f/-t/-d/-r/
#                              -k/--root-domain/--ca-file) and ENV_SSH_OPTS
#                              (ssh -o options: the env's known_hosts,
#                              BatchMode, timeouts)
#   env_known_host ALIAS       trust the private sshd's host key as ALIAS
#                              (ssh -o HostKeyAlias=ALIAS)
#   env_restart_atserver [SIG] stop the atserver with SIG (TERM), start it
#                              again on the same ports
#   env_stop_processes         env_stop without releasing the reserved ports
#   env_check_clean [PIDS...]  no process left (descendants of this shell,
#                              anything naming WORKDIR, the given pids), no
#                              listener on the env's ports
# Ports come from env_free_port, which reserves them (a symlink named after
# the port in $ENV_PORT_LOCKS pointing at this shell's pid) so that
# environments running in parallel never pick the same port; env_stop
# releases them.
ENV_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENV_SOURCE_DIR="$(cd "$ENV_LIB_DIR/../.." && pwd)"

ENV_CLIENT=@client
ENV_DEVICE=@device
ENV_RELAY=@relay
ENV_DEVICE_NAME=demo
ENV_PIDS=()
ENV_TRANSIENT=()
ENV_USED_PORTS=" "
ENV_FAILED_STEP=
ENV_T0=${ENV_T0:-${EPOCHREALTIME/./}}
ENV_EXTRA_ATSIGNS=${ENV_EXTRA_ATSIGNS:-}
[ -n "${ENV_SRVD_ARGS+x}" ] || ENV_SRVD_ARGS=()
[ -n "${ENV_SSHNPD_ARGS+x}" ] || ENV_SSHNPD_ARGS=()
ENV_PORT_LOCKS=${ENV_PORT_LOCKS:-/tmp/noports-env-ports-$(id -u)}
ENV_ATSERVER_CMD=()
ENV_CHECK_PORTS=()

# env_step MESSAGE: "[ 12.3s] MESSAGE" with the time since the environment
# script was sourced (or since ENV_T0, microseconds).
env_step() {
  local now=${EPOCHREALTIME/./} d
  d=$(((now - ENV_T0) / 100000))
  printf '[%3d.%ds] %s\n' $((d / 10)) $((d % 10)) "$*"
}

# env_fail STEP [LOGFILE...]: report the failed step and each log's tail.
env_fail() {
  local step=$1 f
  shift
  ENV_FAILED_STEP=$step
  echo "FAILED: $step" >&2
  for f in "$@"; do
    [ -f "$f" ] || continue
    echo "---- last 20 lines of $f ----" >&2
    tail -n 20 "$f" >&2
  done
  return 1
}

# env__reserve PORT: create the reservation $ENV_PORT_LOCKS/PORT -> $$
# (ln -s is atomic); a reservation whose owner has exited is taken over.
env__reserve() {
  local p=$1 owner
  mkdir -p "$ENV_PORT_LOCKS" 2>/dev/null
  ln -s "$$" "$ENV_PORT_LOCKS/$p" 2>/dev/null && return 0
  owner=$(readlink "$ENV_PORT_LOCKS/$p" 2>/dev/null) || return 1
  [ "$owner" != "$$" ] && ! kill -0 "$owner" 2>/dev/null || return 1
  rm -f "$ENV_PORT_LOCKS/$p" # stale: its environment was killed
  ln -s "$$" "$ENV_PORT_LOCKS/$p" 2>/dev/null
}

# env_reserved_ports: the ports this shell ($$) holds, one per line.
env_reserved_ports() {
  local f
  for f in "$ENV_PORT_LOCKS"/*; do
    [ -L "$f" ] && [ "$(readlink "$f")" = "$$" ] && echo "${f##*/}"
  done
  return 0
}

# env_release_ports: drop this shell's reservations and those of shells
# that have exited without releasing theirs (and the folder once no
# environment uses it).
env_release_ports() {
  local f owner
  for f in "$ENV_PORT_LOCKS"/*; do
    [ -L "$f" ] || continue
    owner=$(readlink "$f") || continue
    if [ "$owner" = "$$" ] || ! kill -0 "$owner" 2>/dev/null; then
      rm -f "$f"
    fi
  done
  rmdir "$ENV_PORT_LOCKS" 2>/dev/null
  return 0
}

# env_free_port: a TCP port on 127.0.0.1 nobody listens on, below the
# kernel's ephemeral range, reserved for this shell until env_stop (also
# when called in a $(...) subshell: the reservation names $$).
env_free_port() {
  local i p
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    case "$ENV_USED_PORTS" in *" $p "*) continue ;; esac
    [ -L "$ENV_PORT_LOCKS/$p" ] && [ "$(readlink "$ENV_PORT_LOCKS/$p")" = "$$" ] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && env__reserve "$p"; then
      ENV_USED_PORTS="$ENV_USED_PORTS$p "
      echo "$p"
      return 0
    fi
  done
  return 1
}

# env_spawn NAME PROG ARGS...: start in the background, stdin /dev/null,
# stdout+stderr appended to $ENV_LOGS/NAME.log; pid in ENV_PID_<NAME>.
env_spawn() {
  local name=$1
  shift
  "$@" </dev/null >>"$ENV_LOGS/$name.log" 2>&1 &
  printf -v "ENV_PID_$name" '%s' "$!"
  ENV_PIDS+=("$!")
}

# env_wait_port PORT PID SECONDS: until 127.0.0.1:PORT accepts; fails early
# if PID has exited.
env_wait_port() {
  local port=$1 pid=$2 deadline=$((SECONDS + $3))
  while ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.05
  done
}

# env_wait_log FILE FIXED-STRING PID SECONDS: until FILE contains the string.
env_wait_log() {
  local file=$1 text=$2 pid=$3 deadline=$((SECONDS + $4))
  until grep -qF -- "$text" "$file" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.05
  done
}

# env_wait_pid PID SECONDS: until PID has exited (0) or the time is up (1).
env_wait_pid() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.05
  done
  return 0
}

# env_stop_pid PID: SIGTERM, up to 5 s, then SIGKILL; reaps it.
env_stop_pid() {
  local pid=$1
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    env_wait_pid "$pid" 5 || kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null || true # under set -e too: its status is not ours
  return 0
}

# env_stop_processes: stop the short-lived commands still running
# (env_run_bounded, at_activate), then every process env_spawn started,
# newest first. The reserved ports stay reserved (see env_check_clean).
env_stop_processes() {
  local i
  for i in "${ENV_TRANSIENT[@]}"; do
    env_stop_pid "$i"
  done
  ENV_TRANSIENT=()
  for ((i = ${#ENV_PIDS[@]} - 1; i >= 0; i--)); do
    env_stop_pid "${ENV_PIDS[$i]}"
  done
  ENV_PIDS=()
}

# env_stop: env_stop_processes, then release the reserved ports.
env_stop() {
  env_stop_processes
  env_release_ports
}

# env_run_bounded SECONDS STDOUT STDERR PROG ARGS...: run to completion,
# stdin /dev/null, killed after SECONDS; returns its exit status (124 on
# timeout). env_stop stops it if the caller is interrupted meanwhile.
env_run_bounded() {
  local secs=$1 out=$2 err=$3 pid rc
  shift 3
  "$@" </dev/null >"$out" 2>"$err" &
  pid=$!
  ENV_TRANSIENT=("$pid")
  if env_wait_pid "$pid" "$secs"; then
    wait "$pid"
    rc=$?
  else
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=124
  fi
  ENV_TRANSIENT=()
  return $rc
}

# env_prog NAME: path of the built program NAME in $ENV_BUILD.
env_prog() {
  local p="$ENV_BUILD/src/$1/$1"
  [ -x "$p" ] || return 1
  echo "$p"
}

# --------------------------------------------------------------- the steps

env__ca() {
  bash "$ENV_SOURCE_DIR/tests/integration/lib/mkca.sh" "$ENV_DIR/pki" \
    >"$ENV_LOGS/mkca.log" 2>&1 || { env_fail "throw-away CA (mkca.sh)" "$ENV_LOGS/mkca.log"; return 1; }
  ENV_CA="$ENV_DIR/pki/ca.pem"
  ENV_CERT="$ENV_DIR/pki/server.pem"
  ENV_KEY="$ENV_DIR/pki/server.key"
  env_step "throw-away CA in $ENV_DIR/pki"
}

# create the atSign $1 in the atserver data dir on port $2 and register it;
# its cram secret goes to $ENV_DIR/secrets/<name>.cram (mode 0600).
env__create() {
  local at=$1 port=$2 name=${1#@} out
  out="$ENV_DIR/secrets/$name.create.out"
  (umask 077 && "$ENV_ATSERVER" create "$at" --data-dir "$ENV_DIR/atserver" --port "$port" \
    --host localhost --directory-db "$ENV_DIR/directory.db" >"$out" 2>>"$ENV_LOGS/atserver.log") ||
    { env_fail "atserver create $at" "$ENV_LOGS/atserver.log"; return 1; }
  (umask 077 && grep -E '^[0-9a-f]{128}$' "$out" | head -n 1 >"$ENV_DIR/secrets/$name.cram")
  rm -f "$out"
  [ -s "$ENV_DIR/secrets/$name.cram" ] ||
    { env_fail "atserver create $at: no cram secret printed" "$ENV_LOGS/atserver.log"; return 1; }
}

# env__all_atsigns: the three fixed atSigns and $ENV_EXTRA_ATSIGNS.
env__all_atsigns() {
  # shellcheck disable=SC2086 # a space-separated list
  echo "$ENV_CLIENT" "$ENV_DEVICE" "$ENV_RELAY" $ENV_EXTRA_ATSIGNS
}

env__atsigns() {
  local at p ports=() list=
  mkdir -p "$ENV_DIR/atserver" "$ENV_DIR/secrets" "$ENV_DIR/keys" || return 1
  chmod 700 "$ENV_DIR/secrets" "$ENV_DIR/keys"
  for at in $(env__all_atsigns); do
    [[ $at =~ ^@[a-z0-9_]{1,40}$ ]] || { env_fail "atSign $at: use @ and [a-z0-9_] only"; return 1; }
    p=$(env_free_port) || { env_fail "no free port for $at"; return 1; }
    env__create "$at" "$p" || return 1
    printf -v "ENV_PORT_${at#@}" '%s' "$p"
    ports+=("$p")
    list="$list${list:+, }$at ($p)"
  done
  env_step "created $list"

  ENV_DIR_PORT=$(env_free_port) || { env_fail "no free port for atdirectory"; return 1; }
  ENV_ROOT="127.0.0.1:$ENV_DIR_PORT"
  env_spawn atdirectory "$ENV_ATDIRECTORY" --bind 127.0.0.1 --port "$ENV_DIR_PORT" \
    --cert "$ENV_CERT" --key "$ENV_KEY" --db "$ENV_DIR/directory.db" --notfound-delay 0
  env_wait_port "$ENV_DIR_PORT" "$ENV_PID_atdirectory" 15 ||
    { env_fail "atdirectory start" "$ENV_LOGS/atdirectory.log"; return 1; }
  env_step "atdirectory up on $ENV_ROOT"

  ENV_ATSERVER_PORTS="${ports[*]}"
  ENV_ATSERVER_CMD=("$ENV_ATSERVER" run --data-dir "$ENV_DIR/atserver" --cert "$ENV_CERT"
    --key "$ENV_KEY" --bind 127.0.0.1 --root-domain "$ENV_ROOT" --ca-file "$ENV_CA"
    ${ENV_ATSERVER_ARGS[@]+"${ENV_ATSERVER_ARGS[@]}"})
  env_spawn atserver "${ENV_ATSERVER_CMD[@]}"
  env__wait_atserver 20 || return 1
  list=${ENV_ATSERVER_PORTS// /,}
  env_step "atserver up on 127.0.0.1:$list (one process)"
}

# env__wait_atserver SECONDS: until every atSign's port accepts.
env__wait_atserver() {
  local p
  for p in $ENV_ATSERVER_PORTS; do
    env_wait_port "$p" "$ENV_PID_atserver" "$1" ||
      { env_fail "atserver start (port $p)" "$ENV_LOGS/atserver.log"; return 1; }
  done
}

# Activate the atSigns in parallel (each generates RSA keys).
env__activate() {
  local at name pid st=0 pids=() names=()
  for at in $(env__all_atsigns); do
    name=${at#@}
    "$ENV_AT_ACTIVATE" -a "$at" --cram-secret-file "$ENV_DIR/secrets/$name.cram" \
      -k "$ENV_DIR/keys/$name.atKeys" --root-domain "$ENV_ROOT" --ca-file "$ENV_CA" \
      </dev/null >"$ENV_LOGS/at_activate-$name.log" 2>&1 &
    pids+=("$!")
    names+=("$name")
  done
  ENV_TRANSIENT=("${pids[@]}")
  for i in "${!pids[@]}"; do
    pid=${pids[$i]}
    if ! env_wait_pid "$pid" 90; then
      kill -KILL "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      env_fail "at_activate @${names[$i]}: timed out" "$ENV_LOGS/at_activate-${names[$i]}.log"
      st=1
      continue
    fi
    if ! wait "$pid"; then
      env_fail "at_activate @${names[$i]}" "$ENV_LOGS/at_activate-${names[$i]}.log" \
        "$ENV_LOGS/atserver.log"
      st=1
    fi
  done
  ENV_TRANSIENT=()
  rm -rf "$ENV_DIR/secrets"
  [ $st -eq 0 ] || return 1
  ENV_CLIENT_KEYS="$ENV_DIR/keys/client.atKeys"
  ENV_DEVICE_KEYS="$ENV_DIR/keys/device.atKeys"
  ENV_RELAY_KEYS="$ENV_DIR/keys/relay.atKeys"
  for name in "${names[@]}"; do
    printf -v "ENV_KEYS_$name" '%s' "$ENV_DIR/keys/$name.atKeys"
  done
  at=$(env__all_atsigns)
  env_step "activated ${at// /, } with at_activate (keys in $ENV_DIR/keys)"
}

env__sshd() {
  local d="$ENV_DIR/sshd"
  mkdir -p "$d" && chmod 700 "$d" || return 1
  ENV_USER=$(id -un)
  ENV_USER_KEY="$d/user_ed25519"
  ENV_KNOWN_HOSTS="$d/known_hosts"
  : >"$ENV_KNOWN_HOSTS"
  ssh-keygen -q -t ed25519 -N '' -C "noports-demo-host" -f "$d/host_ed25519" </dev/null \
    >>"$ENV_LOGS/sshd.log" 2>&1 &&
    ssh-keygen -q -t ed25519 -N '' -C "noports-demo-user" -f "$ENV_USER_KEY" </dev/null \
      >>"$ENV_LOGS/sshd.log" 2>&1 ||
    { env_fail "ssh-keygen" "$ENV_LOGS/sshd.log"; return 1; }
  cp "$ENV_USER_KEY.pub" "$d/authorized_keys" && chmod 600 "$d/authorized_keys" || return 1
  ENV_SSHD_PORT=$(env_free_port) || { env_fail "no free port for sshd"; return 1; }
  # MaxStartups: many sessions may be in their handshake at once (the
  # default 10:30:100 drops some).
  cat >"$d/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $ENV_SSHD_PORT
HostKey $d/host_ed25519
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $ENV_USER
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
LogLevel VERBOSE
MaxStartups 200
EOF
  if [ -n "${ENV_SSHD_SKIP_BASHRC:-}" ]; then
    # bash sources ~/.bashrc for ssh commands only at shell level 1: keeps
    # the user's dotfiles (pyenv init can take seconds) out of every session
    echo 'SetEnv SHLVL=1' >>"$d/sshd_config"
  fi
  if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
    mkdir -p /run/sshd && chmod 755 /run/sshd # privilege separation directory
  fi
  [ -x /usr/sbin/sshd ] || { env_fail "sshd: /usr/sbin/sshd not installed (openssh-server)"; return 1; }
  /usr/sbin/sshd -t -f "$d/sshd_config" >>"$ENV_LOGS/sshd.log" 2>&1 ||
    { env_fail "sshd config check" "$ENV_LOGS/sshd.log"; return 1; }
  env_spawn sshd /usr/sbin/sshd -D -e -f "$d/sshd_config"
  env_wait_port "$ENV_SSHD_PORT" "$ENV_PID_sshd" 15 ||
    { env_fail "sshd start" "$ENV_LOGS/sshd.log"; return 1; }
  env_step "sshd up on 127.0.0.1:$ENV_SSHD_PORT (own host key, user $ENV_USER, key $ENV_USER_KEY)"
}

env__daemons() {
  env_spawn srvd "$ENV_SRVD" -a "$ENV_RELAY" -i 127.0.0.1 -k "$ENV_RELAY_KEYS" \
    --root-domain "$ENV_ROOT" --ca-file "$ENV_CA" --bind 127.0.0.1 -v "${ENV_SRVD_ARGS[@]}"
  env_spawn sshnpd "$ENV_SSHNPD" -a "$ENV_DEVICE" -m "$ENV_CLIENT" -d "$ENV_DEVICE_NAME" \
    -k "$ENV_DEVICE_KEYS" --root-domain "$ENV_ROOT" --ca-file "$ENV_CA" \
    --local-sshd-port "$ENV_SSHD_PORT" --permit-open "localhost:$ENV_SSHD_PORT,127.0.0.1:$ENV_SSHD_PORT" -v \
    "${ENV_SSHNPD_ARGS[@]}"
  env_wait_log "$ENV_LOGS/srvd.log" "monitor connection available" "$ENV_PID_srvd" 30 &&
    env_wait_log "$ENV_LOGS/srvd.log" "command connection available" "$ENV_PID_srvd" 30 ||
    { env_fail "srvd start" "$ENV_LOGS/srvd.log" "$ENV_LOGS/atserver.log"; return 1; }
  env_step "srvd up as $ENV_RELAY (relay address 127.0.0.1)"
  env_wait_log "$ENV_LOGS/sshnpd.log" "monitor connection available" "$ENV_PID_sshnpd" 30 &&
    env_wait_log "$ENV_LOGS/sshnpd.log" "records for" "$ENV_PID_sshnpd" 30 ||
    { env_fail "sshnpd start" "$ENV_LOGS/sshnpd.log" "$ENV_LOGS/atserver.log"; return 1; }
  env_step "sshnpd up as $ENV_DEVICE, device \"$ENV_DEVICE_NAME\", manager $ENV_CLIENT, sshd port $ENV_SSHD_PORT"
}

# env_start WORKDIR BUILD_DIR: everything above; 0 when it all runs.
env_start() {
  local p path
  ENV_DIR=$(cd "$1" && pwd) || { env_fail "work dir $1"; return 1; }
  ENV_BUILD=$(cd "$2" && pwd) || { env_fail "build dir $2"; return 1; }
  ENV_LOGS="$ENV_DIR/logs"
  mkdir -p "$ENV_LOGS" || return 1
  for p in atdirectory atserver at_activate srvd sshnpd sshnp npt; do
    path=$(env_prog "$p") || { env_fail "program $p not built in $ENV_BUILD (run make first)"; return 1; }
    printf -v "ENV_${p^^}" '%s' "$path"
  done
  command -v ssh-keygen >/dev/null && command -v ssh >/dev/null && command -v openssl >/dev/null ||
    { env_fail "ssh, ssh-keygen and openssl are needed (make deps)"; return 1; }
  env__ca && env__atsigns && env__activate && env__sshd && env__daemons
}

# ------------------------------------------------------ helpers for tests

# env_client_args: ENV_CLIENT_ARGS, what every sshnp/npt of $ENV_CLIENT to
# the device needs, and ENV_SSH_OPTS, ssh -o options for the private sshd
# (the env's known_hosts only, no prompts, bounded connect).
env_client_args() {
  ENV_CLIENT_ARGS=(-f "$ENV_CLIENT" -t "$ENV_DEVICE" -d "$ENV_DEVICE_NAME" -r "$ENV_RELAY"
    -k "$ENV_CLIENT_KEYS" --root-domain "$ENV_ROOT" --ca-file "$ENV_CA")
  ENV_SSH_OPTS=(-o "UserKnownHostsFile=$ENV_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null
    -o BatchMode=yes -o ConnectTimeout=20 -o LogLevel=ERROR)
}

# env_known_host ALIAS: trust the private sshd's host key under the name
# ALIAS (for ssh -o HostKeyAlias=ALIAS -o StrictHostKeyChecking=yes).
env_known_host() {
  local key
  key=$(cut -d' ' -f1,2 "$ENV_DIR/sshd/host_ed25519.pub") || return 1
  echo "$1 $key" >>"$ENV_KNOWN_HOSTS"
}

# env_restart_atserver [SIGNAL]: stop the atserver with SIGNAL (TERM by
# default; KILL for a crash), wait up to 10 s for it to exit, start it again
# with the same command line (same data dir and ports) and wait until every
# atSign's port accepts. ENV_PID_atserver is the new pid afterwards.
env_restart_atserver() {
  local sig=${1:-TERM} old=$ENV_PID_atserver i
  kill "-$sig" "$old" 2>/dev/null || { env_fail "atserver (pid $old) is not running"; return 1; }
  if [ "$sig" = KILL ]; then
    wait "$old" 2>/dev/null # at once: no "Killed" job notice on stderr
  else
    env_wait_pid "$old" 10 || { env_fail "atserver ignored SIG$sig for 10 s" "$ENV_LOGS/atserver.log"; return 1; }
    wait "$old" 2>/dev/null
  fi
  echo "---- atserver restarted after SIG$sig ----" >>"$ENV_LOGS/atserver.log"
  env_spawn atserver "${ENV_ATSERVER_CMD[@]}"
  for i in "${!ENV_PIDS[@]}"; do # keep the stop order: the new pid takes the old one's place
    if [ "${ENV_PIDS[$i]}" = "$old" ]; then
      ENV_PIDS[i]=$ENV_PID_atserver
      unset 'ENV_PIDS[${#ENV_PIDS[@]}-1]'
      break
    fi
  done
  env__wait_atserver 20
}

# env_descendants [PID [SKIP]]: every live descendant of PID (default this
# shell), one per line, read from /proc; the subtree of SKIP (default the
# process running this function) is left out.
env_descendants() {
  local root=${1:-$$} skip=${2:-$BASHPID} f stat pid ppid rest
  local -A kids=()
  local -a todo
  for f in /proc/[0-9]*/stat; do
    read -r stat 2>/dev/null <"$f" || continue
    pid=${stat%% *}
    rest=${stat##*) }
    read -r _ ppid _ <<<"$rest"
    kids[$ppid]="${kids[$ppid]:-} $pid"
  done
  todo=("$root")
  while [ ${#todo[@]} -gt 0 ]; do
    pid=${todo[0]}
    todo=("${todo[@]:1}")
    for f in ${kids[$pid]:-}; do
      [ "$f" = "$skip" ] && continue
      echo "$f"
      todo+=("$f")
    done
  done
}

# env_cmdline PID: the command line of PID, arguments joined by spaces
# (empty if it has exited).
env_cmdline() {
  local -a a=()
  mapfile -d "" a 2>/dev/null <"/proc/$1/cmdline"
  echo "${a[*]}"
}

# env_procs_naming TEXT: "pid: command line" of every process (but this
# shell) whose command line contains TEXT.
env_procs_naming() {
  local f pid
  local -a a
  for f in /proc/[0-9]*/cmdline; do # (builtins only: no fork per process)
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    [ "$pid" = "$$" ] && continue
    a=()
    mapfile -d "" a 2>/dev/null <"$f" || continue
    [[ "${a[*]}" == *"$1"* ]] && echo "$pid: ${a[*]}"
  done
  return 0
}

# env_check_clean [PID...]: after env_stop_processes (or at any point where
# nothing the test started should be alive): fails (1, with the reasons on
# stderr) if one of the PIDs lives, if this shell has a live descendant
# other than the checking commands, if a process names $ENV_DIR (every
# program the env or a test starts gets a path inside it), or if something
# listens on one of the ports this environment reserved. Waits up to 5 s
# for processes that are exiting.
env_check_clean() {
  local i p left listen bad
  for i in $(seq 1 50); do
    left=
    for p in "$@"; do
      kill -0 "$p" 2>/dev/null && left="$left pid $p ($(env_cmdline "$p"));"
    done
    for p in $(env_descendants "$$"); do
      bad=$(env_cmdline "$p")
      [ -n "$bad" ] || continue # exited meanwhile
      left="$left child $p ($bad);"
    done
    bad=$(env_procs_naming "$ENV_DIR")
    [ -n "$bad" ] && left="$left${bad//$'\n'/; };"
    [ -z "$left" ] && break
    sleep 0.1
  done
  listen=
  for p in $(env_reserved_ports) "${ENV_CHECK_PORTS[@]}"; do
    ss -Hltn "sport = :$p" 2>/dev/null | grep -q . && listen="$listen $p"
  done
  [ -z "$left" ] || echo "env_check_clean: processes left:$left" >&2
  [ -z "$listen" ] || echo "env_check_clean: still listening on 127.0.0.1:$listen" >&2
  [ -z "$left" ] && [ -z "$listen" ]
}
