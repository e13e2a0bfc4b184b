#!/usr/bin/env bash
# bench/load_srvd.sh BUILD_DIR OUT_DIR [--smoke] - the srvd part of issue 9
# "Load" (bench/load.sh runs it and copies its figures into load.json; alone
# it writes OUT_DIR/load_srvd.json). With np_bench_relay (its own atdirectory, atserver
# and srvd; sessions requested over the atServer as a client does):
#   1. start level: srvd after one warm-up session has come and gone
#   2. 2,000 sessions one after the other: request -> two authenticated
#      sockets -> 16 bytes each way -> close (srvd --session-grace-ms 2000,
#      so each session ends 2 s after its request)
#   3. 10,000 concurrent idle authenticated pairs (100 per session), then
#      all closed; done twice
# srvd's RSS and descriptors at each step. pass = 1 when the descriptors are
# back at the start level exactly after the loop and after each peak, the
# RSS after the loop is within 2 MiB of the start, and the second peak left
# the RSS within 2 MiB of where the first one left it (no growth; the first
# peak's high-water mark stays: libevent keeps an entry per descriptor
# number ever used, which pins freed heap pages). rss_back_to_start says
# whether the RSS after the first peak is within 2 MiB of the start as well.
# --smoke: 20 sessions, 40 idle pairs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/lib/env.sh
. "$here/../tests/lib/env.sh"
# shellcheck source=bench/relay.lib.sh
. "$here/relay.lib.sh"

bench_init load_srvd "$@"
if [ "$BENCH_SMOKE" = 1 ]; then
  LOOP=20 IDLE=40 PER_SESSION=20 GRACE=500 TIMEOUT=120
else
  LOOP=2000 IDLE=10000 PER_SESSION=100 GRACE=2000 TIMEOUT=1200
fi
TOL=2048
rl_setup
rl_need "$RL_RELAY"
o="$RL_WORK/load.out"
bench_log "srvd: $LOOP sessions, then 2 x $IDLE idle pairs (np_bench_relay)"
rl_run "$TIMEOUT" "$o" "$RL_RELAY" load --loop "$LOOP" --idle "$IDLE" --per-session "$PER_SESSION" \
  --grace-ms "$GRACE" --rss-tolerance-kb "$TOL"

pairs=$(rl_kv "$o" idle_pairs)
limited=""
if [ -n "$(rl_kv "$o" nofile_limited)" ]; then
  limited=" - RLIMIT_NOFILE hard limit $(ulimit -Hn) allows only $pairs of the $IDLE pairs"
fi
rl_row srvd_loop_sessions "$o" loop_sessions sessions "set up and torn down one after another"
rl_row srvd_loop_rate "$o" loop_rate sessions/s "request over the atServer, 2 authenticated sockets, 16 bytes each way, close"
rl_row srvd_rss_start "$o" rss_start_kb KiB "after one warm-up session"
rl_row srvd_fds_start "$o" fds_start fds "after one warm-up session"
rl_row srvd_rss_after_loop "$o" rss_after_loop_kb KiB "after the $LOOP sessions have closed"
rl_row srvd_fds_after_loop "$o" fds_after_loop fds "after the $LOOP sessions have closed"
rl_row srvd_idle_pairs "$o" idle_pairs pairs "concurrent idle authenticated pairs, $PER_SESSION per session$limited"
rl_row srvd_rss_peak "$o" rss_peak_kb KiB "with the $pairs idle pairs"
rl_row srvd_fds_peak "$o" fds_peak fds "with the $pairs idle pairs"
rl_row srvd_rss_end "$o" rss_end_kb KiB "after all pairs closed"
rl_row srvd_fds_end "$o" fds_end fds "after all pairs closed"
rl_row srvd_rss_end_round2 "$o" rss_end2_kb KiB "after a second identical peak closed"
rl_row srvd_fds_end_round2 "$o" fds_end2 fds "after a second identical peak closed"
rl_row srvd_rss_back_to_start "$o" rss_back_to_start bool "1: RSS after the first peak within $TOL KiB of the start"
rl_row srvd_pass "$o" pass bool "1: fds back to the start exactly each time, RSS after the loop within $TOL KiB of the start, no RSS growth from the second peak (tolerance $TOL KiB)"
bench_finish
