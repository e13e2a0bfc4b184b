# shellcheck shell=bash
# bench/lib.sh - shared helpers for the benchmark scripts bench/<name>.sh.
#
# Contract of a benchmark script (run by bench/run.sh):
#   bash bench/<name>.sh BUILD_DIR OUT_DIR [--smoke]
# It sources this file, calls bench_init <name> "$@", measures, reports each
# figure with bench_row, and ends with bench_finish (which writes
# OUT_DIR/<name>.json). --smoke: the same code paths with tiny sizes, a few
# seconds in all; its figures mean nothing and go to a temporary OUT_DIR.
# Exit status non-zero when the benchmark could not run; the reason on stderr.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_SOURCE_DIR="$(cd "$BENCH_DIR/.." && pwd)"

# bench_init NAME BUILD_DIR OUT_DIR [--smoke]
bench_init() {
  BENCH_NAME=$1
  BENCH_BUILD=$(cd "$2" && pwd) || {
    echo "bench: build dir $2 missing" >&2
    exit 2
  }
  mkdir -p "$3"
  BENCH_OUT=$(cd "$3" && pwd)
  BENCH_SMOKE=0
  [ "${4:-}" = --smoke ] && BENCH_SMOKE=1
  BENCH_ROWS="$BENCH_OUT/$BENCH_NAME.rows"
  : >"$BENCH_ROWS"
  BENCH_T0=${EPOCHREALTIME/./}
}

# bench_log MESSAGE: progress on stderr.
bench_log() { printf '[%s] %s\n' "$BENCH_NAME" "$*" >&2; }

# bench_row METRIC VALUE UNIT [NOTE]: one figure. VALUE must be a number
# (integer or decimal); NOTE is free text without tabs or double quotes.
bench_row() {
  local metric=$1 value=$2 unit=$3 note=${4:-}
  if ! [[ $value =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then
    echo "bench: $BENCH_NAME/$metric: not a number: '$value'" >&2
    return 1
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$BENCH_NAME" "$metric" "$value" "$unit" "${note//\"/\'}" >>"$BENCH_ROWS"
}

# bench_json_str TEXT: TEXT as a JSON string literal (quotes, backslashes
# and control characters escaped).
bench_json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/ }
  s=${s//$'\n'/ }
  printf '"%s"' "$s"
}

# bench_machine_json: {"cpu":…,"cores":…,"kernel":…,"date":…,"commit":…}
bench_machine_json() {
  local cpu cores kernel date commit
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
  [ -n "$cpu" ] || cpu=$(uname -m)
  cores=$(nproc 2>/dev/null || echo 0)
  kernel=$(uname -sr)
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  commit=$(git -C "$BENCH_SOURCE_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
  printf '{"cpu":%s,"cores":%s,"kernel":%s,"date":%s,"commit":%s}' \
    "$(bench_json_str "$cpu")" "$cores" "$(bench_json_str "$kernel")" \
    "$(bench_json_str "$date")" "$(bench_json_str "$commit")"
}

# bench_finish: write OUT_DIR/NAME.json from the rows:
# {"benchmark":NAME,"smoke":bool,"machine":{…},"seconds":N,
#  "metrics":[{"name":…,"value":…,"unit":…,"note":…},…]}
bench_finish() {
  local json="$BENCH_OUT/$BENCH_NAME.json" first=1 b m v u n secs
  secs=$(((${EPOCHREALTIME/./} - BENCH_T0) / 1000000))
  {
    printf '{"benchmark":%s,"smoke":%s,"machine":%s,"seconds":%s,"metrics":[' \
      "$(bench_json_str "$BENCH_NAME")" "$([ "$BENCH_SMOKE" = 1 ] && echo true || echo false)" \
      "$(bench_machine_json)" "$secs"
    while IFS=$'\t' read -r b m v u n; do
      [ $first = 1 ] || printf ','
      first=0
      printf '\n  {"name":%s,"value":%s,"unit":%s,"note":%s}' \
        "$(bench_json_str "$m")" "$v" "$(bench_json_str "$u")" "$(bench_json_str "$n")"
    done <"$BENCH_ROWS"
    printf '\n]}\n'
  } >"$json.tmp" && mv "$json.tmp" "$json"
  bench_log "wrote $json"
}

# bench_percentile P FILE: the P-th percentile (nearest rank) of the numbers
# in FILE, one per line. Empty file: prints nothing and returns 1.
bench_percentile() {
  local p=$1 f=$2 n k
  n=$(grep -c . "$f" || true)
  [ "$n" -gt 0 ] || return 1
  k=$(((p * n + 99) / 100))
  [ "$k" -ge 1 ] || k=1
  sort -g "$f" | sed -n "${k}p"
}

# bench_rss_kb PID: resident set size of PID in KiB (VmRSS).
bench_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# bench_fd_count PID: open file descriptors of PID.
bench_fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# bench_div A B [SCALE]: A/B with SCALE decimals (awk), 0 when B is 0.
bench_div() { awk -v a="$1" -v b="$2" -v s="${3:-2}" 'BEGIN { if (b == 0) print 0; else printf "%.*f\n", s, a / b }'; }
