#!/usr/bin/env bash
# bench/relay.sh BUILD_DIR OUT_DIR [--smoke] - the relay's data path.
#
#   throughput  one pair moving 2 GiB, and 64 concurrent pairs moving 2 GiB
#               in all, through: direct loopback TCP (the floor), the floor
#               relay (the simplest splice relay, one pair only), socat
#               (a fork-per-connection relay; its defaults, and -b 65536),
#               srvd plain (authenticated pairs, bytes moved by splice), and
#               the real NoPorts path npt -> srvd -> sshnpd (AES-256-CTR at
#               both ends, env.sh) forwarding to the sink; MB/s = 10^6
#               bytes/s; ratios srvd/direct and srvd/socat (targets >= 0.8
#               and >= 1.5 for one pair); CPU time of socat and srvd per GB
#               relayed (clock ticks: meaningless in --smoke); every run
#               has its sender and its sink in two processes of their own
#               (np_bench_io.h)
#   latency     10,000 one-byte round trips, direct vs through srvd (and
#               through the encrypted path): p50 and p99 in microseconds
#   idle RSS    srvd's RSS with 10,000 idle authenticated pairs (target
#               < 40 MB), fewer when RLIMIT_NOFILE cannot be raised that far
#               (then said in the note, and extrapolated to 10,000)
# Tools: np_bench_pump (sender, sink, round trips) and np_bench_relay (its
# own atdirectory + atserver + srvd, sessions requested as a client does).
# --smoke: the same steps with a few MiB, 4 pairs, 200 round trips, 50 idle
# pairs. Results in OUT_DIR/relay.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/lib/env.sh
. "$here/../tests/lib/env.sh"
# shellcheck source=bench/relay.lib.sh
. "$here/relay.lib.sh"

bench_init relay "$@"
# REPEAT1: runs of the 1-pair throughput of direct, the floor relay and
# srvd (the median of each figure is reported: the machine may be shared,
# and these three make the ratios against the target)
if [ "$BENCH_SMOKE" = 1 ]; then
  BYTES=8M PAIRS=4 RTT=200 IDLE=50 PER_SESSION=25 TIMEOUT=120 REPEAT1=1
else
  BYTES=2G PAIRS=64 RTT=10000 IDLE=10000 PER_SESSION=100 TIMEOUT=900 REPEAT1=3
fi
rl_setup
rl_need "$RL_PUMP" "$RL_RELAY"
command -v socat >/dev/null || {
  echo "bench: socat is not installed (bash scripts/deps.sh)" >&2
  exit 1
}
W=$RL_WORK

HZ=$(getconf CLK_TCK)
# cpu_ms PID: CPU time of PID and of its children it has reaped, in ms.
cpu_ms() { awk -v hz="$HZ" '{ sub(/^.*\) /, ""); print int(($12 + $13 + $14 + $15) * 1000 / hz) }' "/proc/$1/stat"; }

# tp1 NAME PORT PID OUT: one pair through 127.0.0.1:PORT to the sink, the
# sender's key=value lines to OUT (its own CPU time: sender_cpu_ms), and
# the sink's CPU time meanwhile as sink_cpu_ms; with PID, that process's
# CPU time as cpu_ms.
tp1() {
  local name=$1 port=$2 pid=$3 out=$4 c0 s0
  [ -n "$pid" ] && c0=$(cpu_ms "$pid")
  s0=$(cpu_ms "$RL_SINK_PID")
  rl_run "$TIMEOUT" "$out" nice -n "$NICE" "$RL_PUMP" send --connect "127.0.0.1:$port" \
    --bytes "$BYTES" --conns 1
  echo "sink_cpu_ms=$(($(cpu_ms "$RL_SINK_PID") - s0))" >>"$out"
  if [ -n "$pid" ]; then
    sleep 0.5 # socat's children exit and are reaped
    echo "cpu_ms=$(($(cpu_ms "$pid") - c0))" >>"$out"
  fi
}

# median_kv OUT KEY FILE...: KEY=<median of KEY in the FILEs> appended to
# OUT (nothing when no FILE has KEY).
median_kv() {
  local out=$1 key=$2 v
  shift 2
  v=$(for f in "$@"; do rl_kv "$f" "$key"; done | sort -g |
    awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }')
  [ -z "$v" ] || echo "$key=$v" >>"$out"
}

# tp NAME PORT [PID [RUNS]]: 1 pair and PAIRS pairs (RUNS "1 n", the
# default; "1": one pair only) through 127.0.0.1:PORT to the sink, into
# NAME-1.out and NAME-n.out; with PID, that process's CPU time as cpu_ms.
# With TP_REPEAT > 1 (default 1) the one pair runs that many times
# (NAME-1-run<k>.out) and NAME-1.out holds the median of each figure.
tp() {
  local name=$1 port=$2 pid=${3:-} runs=${4:-1 n} n k c0 reps
  for n in $runs; do
    if [ "$n" = n ]; then
      bench_log "$name: $PAIRS pairs, $BYTES in all"
      [ -n "$pid" ] && c0=$(cpu_ms "$pid")
      rl_run "$TIMEOUT" "$W/$name-n.out" nice -n "$NICE" "$RL_PUMP" send \
        --connect "127.0.0.1:$port" --bytes "$BYTES" --conns "$PAIRS"
      if [ -n "$pid" ]; then
        sleep 0.5
        echo "cpu_ms=$(($(cpu_ms "$pid") - c0))" >>"$W/$name-n.out"
      fi
      continue
    fi
    reps=()
    for ((k = 1; k <= ${TP_REPEAT:-1}; k++)); do
      bench_log "$name: 1 pair, $BYTES (run $k of ${TP_REPEAT:-1})"
      tp1 "$name" "$port" "$pid" "$W/$name-1-run$k.out"
      reps+=("$W/$name-1-run$k.out")
    done
    : >"$W/$name-1.out"
    for k in bytes seconds mbps sender_cpu_ms sink_cpu_ms cpu_ms; do
      median_kv "$W/$name-1.out" $k "${reps[@]}"
    done
  done
}

# The load generator (senders, sinks) runs at nice 10 so that on a small
# machine the relay under test is not crowded out by its 128 threads.
NICE=10
RL_SINK_NICE=$NICE rl_sink
bench_log "sink on 127.0.0.1:$RL_SINK_PORT"

# 1. direct loopback TCP: the floor
TP_REPEAT=$REPEAT1 tp direct "$RL_SINK_PORT"
bench_log "direct: $RTT round trips"
rl_run "$TIMEOUT" "$W/direct-rtt.out" "$RL_PUMP" rtt --connect "127.0.0.1:$RL_SINK_PORT" --count "$RTT"

# 2. the floor relay: the simplest userspace splice relay (np_bench_pump
#    relay: a blocking thread per direction, splice through a 1 MiB pipe),
#    one pair: what any relay costs on this machine
rl_spawn floor "$RL_PUMP" relay --connect "127.0.0.1:$RL_SINK_PORT" --listen-port-file "$W/floor.port"
floor_pid=$RL_LAST_PID
rl_wait_file "$W/floor.port" "$floor_pid" 10 || {
  echo "bench: the floor relay did not start" >&2
  cat "$W/floor.log" >&2
  exit 1
}
TP_REPEAT=$REPEAT1 tp floor "$(head -n 1 "$W/floor.port")" "$floor_pid" 1
env_stop_pid "$floor_pid" || true

# 3. socat as a relay (a process per connection): with its defaults (8 KiB
#    buffer), and with a 64 KiB buffer like srvd's read/write fallback
for v in socat socat64k; do
  args=()
  [ $v = socat64k ] && args=(-b 65536)
  socat_port=$(env_free_port)
  rl_spawn "$v" socat "${args[@]}" "TCP-LISTEN:$socat_port,bind=127.0.0.1,reuseaddr,fork,backlog=256" \
    "TCP:127.0.0.1:$RL_SINK_PORT"
  socat_pid=$RL_LAST_PID
  env_wait_port "$socat_port" "$socat_pid" 10 || {
    echo "bench: socat did not start" >&2
    cat "$W/$v.log" >&2
    exit 1
  }
  tp "$v" "$socat_port" "$socat_pid"
  env_stop_pid "$socat_pid" || true
done

# 4. srvd plain: np_bench_relay's own environment, authenticated pairs (its
#    sender threads and a sink process: the same code and layout as above)
bench_log "srvd: throughput, $RTT round trips, $IDLE idle pairs (np_bench_relay)"
rl_run "$TIMEOUT" "$W/srvd.out" "$RL_RELAY" relay --bytes "$BYTES" --pairs "$PAIRS" --rtt "$RTT" \
  --idle "$IDLE" --per-session "$PER_SESSION" --nice "$NICE" --repeat "$REPEAT1"

# 5. the real NoPorts data path: npt (client bridge) -> srvd -> sshnpd
#    (daemon bridge) -> sink, AES-256-CTR at both bridges
ENV_SRVD_ARGS=(--rate-limit 0)
ENV_SSHNPD_ARGS=(--rate-limit 0 --permit-open "127.0.0.1:$RL_SINK_PORT")
rl_env_start
npt_port=$(env_free_port)
rl_spawn npt "$ENV_NPT" "${ENV_CLIENT_ARGS[@]}" -p "$RL_SINK_PORT" -h 127.0.0.1 -l "$npt_port" -T 10m -q
env_wait_port "$npt_port" "$RL_LAST_PID" 60 || {
  echo "bench: npt did not open its port" >&2
  tail -n 20 "$W/npt.log" "$ENV_LOGS/sshnpd.log" >&2
  exit 1
}
bench_log "npt on 127.0.0.1:$npt_port -> $ENV_RELAY -> $ENV_DEVICE -> sink"
tp npt "$npt_port"
bench_log "npt: $RTT round trips"
rl_run "$TIMEOUT" "$W/npt-rtt.out" "$RL_PUMP" rtt --connect "127.0.0.1:$npt_port" --count "$RTT"

# ---- figures
pn="$PAIRS concurrent pairs, $BYTES in all"
med="median of $REPEAT1 runs"
rl_row direct_1pair "$W/direct-1.out" mbps MB/s "direct loopback TCP, 1 pair, $BYTES (the floor), $med"
rl_row direct_concurrent "$W/direct-n.out" mbps MB/s "direct loopback TCP, $pn"
rl_row socat_1pair "$W/socat-1.out" mbps MB/s "socat TCP-LISTEN:..,fork TCP:.. (defaults, 8 KiB buffer), 1 pair"
rl_row socat_concurrent "$W/socat-n.out" mbps MB/s "socat (defaults), $pn"
rl_row socat64k_1pair "$W/socat64k-1.out" mbps MB/s "socat -b 65536 (srvd's read/write buffer size), 1 pair"
rl_row socat64k_concurrent "$W/socat64k-n.out" mbps MB/s "socat -b 65536, $pn"
rl_row floor_relay_1pair "$W/floor-1.out" mbps MB/s "floor relay (np_bench_pump relay: a blocking thread per direction, splice through a 1 MiB pipe), 1 pair, $med"
rl_row srvd_1pair "$W/srvd.out" srvd_tp1_mbps MB/s "srvd, authenticated pair, splice, 1 pair, $med"
rl_row srvd_concurrent "$W/srvd.out" srvd_tpn_mbps MB/s "srvd, $pn (one session each)"
gb=$(bench_div "$(rl_kv "$W/srvd.out" srvd_tp1_bytes)" 1000000000 6)
bench_row socat_cpu_1pair "$(bench_div "$(rl_kv "$W/socat-1.out" cpu_ms)" "$gb" 0)" ms/GB "CPU time of socat (all its processes) per GB relayed, 1 pair"
bench_row socat_cpu_concurrent "$(bench_div "$(rl_kv "$W/socat-n.out" cpu_ms)" "$gb" 0)" ms/GB "socat, $PAIRS pairs (a process each, so it uses every core)"
bench_row socat64k_cpu_1pair "$(bench_div "$(rl_kv "$W/socat64k-1.out" cpu_ms)" "$gb" 0)" ms/GB "socat -b 65536, 1 pair"
fgb=$(bench_div "$(rl_kv "$W/floor-1.out" bytes)" 1000000000 6)
dgb=$(bench_div "$(rl_kv "$W/direct-1.out" bytes)" 1000000000 6)
bench_row floor_relay_cpu_1pair "$(bench_div "$(rl_kv "$W/floor-1.out" cpu_ms)" "$fgb" 0)" ms/GB "CPU time of the floor relay per GB relayed, 1 pair, $med"
bench_row srvd_cpu_1pair "$(bench_div "$(rl_kv "$W/srvd.out" srvd_tp1_srvd_cpu_ms)" "$gb" 0)" ms/GB "CPU time of srvd per GB relayed, 1 pair, $med"
ends() { echo $(($(rl_kv "$1" "$2") + $(rl_kv "$1" "$3"))); }
bench_row direct_ends_cpu_1pair "$(bench_div "$(ends "$W/direct-1.out" sender_cpu_ms sink_cpu_ms)" "$dgb" 0)" ms/GB "CPU time of the sender and the sink together per GB, direct, 1 pair (medians of $REPEAT1 runs)"
bench_row floor_ends_cpu_1pair "$(bench_div "$(ends "$W/floor-1.out" sender_cpu_ms sink_cpu_ms)" "$fgb" 0)" ms/GB "the same through the floor relay: a relay hop costs the ends CPU as well"
bench_row srvd_ends_cpu_1pair "$(bench_div "$(ends "$W/srvd.out" srvd_tp1_sender_cpu_ms srvd_tp1_sink_cpu_ms)" "$gb" 0)" ms/GB "the same through srvd"
bench_row srvd_cpu_concurrent "$(bench_div "$(rl_kv "$W/srvd.out" srvd_tpn_srvd_cpu_ms)" "$gb" 0)" ms/GB "srvd, $PAIRS pairs (one thread: at most one core)"
rl_row encrypted_1pair "$W/npt-1.out" mbps MB/s "npt -> srvd -> sshnpd -> sink, AES-256-CTR both bridges, 1 pair"
rl_row encrypted_concurrent "$W/npt-n.out" mbps MB/s "npt -> srvd -> sshnpd, $pn (npt multi mode)"
d1=$(rl_kv "$W/direct-1.out" mbps) dn=$(rl_kv "$W/direct-n.out" mbps)
s1=$(rl_kv "$W/socat-1.out" mbps) sn=$(rl_kv "$W/socat-n.out" mbps)
k1=$(rl_kv "$W/socat64k-1.out" mbps)
f1=$(rl_kv "$W/floor-1.out" mbps)
r1=$(rl_kv "$W/srvd.out" srvd_tp1_mbps) rn=$(rl_kv "$W/srvd.out" srvd_tpn_mbps)
bench_row ratio_srvd_direct_1pair "$(bench_div "$r1" "$d1")" x "srvd / direct, 1 pair (target >= 0.8)"
bench_row ratio_srvd_floor_1pair "$(bench_div "$r1" "$f1")" x "srvd / floor relay, 1 pair (how close srvd is to what any relay can do here)"
bench_row ratio_floor_direct_1pair "$(bench_div "$f1" "$d1")" x "floor relay / direct, 1 pair (the best ratio_srvd_direct_1pair a relay reaches here)"
bench_row ratio_srvd_socat_1pair "$(bench_div "$r1" "$s1")" x "srvd / socat (defaults), 1 pair (target >= 1.5)"
bench_row ratio_srvd_socat64k_1pair "$(bench_div "$r1" "$k1")" x "srvd / socat -b 65536, 1 pair"
bench_row ratio_srvd_direct_concurrent "$(bench_div "$rn" "$dn")" x "srvd / direct, $PAIRS pairs"
bench_row ratio_srvd_socat_concurrent "$(bench_div "$rn" "$sn")" x "srvd / socat (defaults), $PAIRS pairs"
rl_row rtt_direct_p50 "$W/direct-rtt.out" p50_us us "1-byte round trip, direct, $RTT samples"
rl_row rtt_direct_p99 "$W/direct-rtt.out" p99_us us "direct"
rl_row rtt_srvd_p50 "$W/srvd.out" srvd_rtt_p50_us us "1-byte round trip through srvd, $RTT samples"
rl_row rtt_srvd_p99 "$W/srvd.out" srvd_rtt_p99_us us "through srvd"
rl_row rtt_encrypted_p50 "$W/npt-rtt.out" p50_us us "through npt -> srvd -> sshnpd (AES-CTR)"
rl_row rtt_encrypted_p99 "$W/npt-rtt.out" p99_us us "through npt -> srvd -> sshnpd (AES-CTR)"
pairs=$(rl_kv "$W/srvd.out" idle_pairs)
rss0=$(rl_kv "$W/srvd.out" srvd_rss_start_kb)
rssi=$(rl_kv "$W/srvd.out" srvd_rss_idle_kb)
limited=""
if [ -n "$(rl_kv "$W/srvd.out" nofile_limited)" ]; then
  limited=" - RLIMIT_NOFILE hard limit $(ulimit -Hn) allows only $pairs of the $IDLE pairs"
fi
bench_row srvd_idle_pairs "$pairs" pairs "idle authenticated pairs held ($PER_SESSION per session)$limited"
bench_row srvd_rss_idle "$(bench_div "$rssi" 1024 1)" MiB "srvd RSS with $pairs idle pairs (target < 40 MB for 10,000)$limited"
bench_row srvd_rss_fresh "$(bench_div "$rss0" 1024 1)" MiB "srvd RSS before the idle pairs (fresh process)"
per=$(bench_div "$(((rssi - rss0) * 1024))" "$pairs" 0)
bench_row srvd_rss_per_idle_pair "$per" bytes "RSS growth per idle pair"
bench_row srvd_rss_10k_estimate "$(awk -v a="$rss0" -v p="$per" 'BEGIN { printf "%.1f", (a * 1024 + p * 10000) / 1048576 }')" \
  MiB "fresh RSS + 10,000 x per-pair growth (measured directly when pairs = 10000)"
rl_row srvd_fds_idle "$W/srvd.out" srvd_fds_idle fds "srvd descriptors with the idle pairs (2 per pair, pipes only while busy)"
bench_finish
