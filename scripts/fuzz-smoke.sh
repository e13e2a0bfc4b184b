#!/usr/bin/env bash
# scripts/fuzz-smoke.sh BUILD_DIR [SECONDS] [JOBS] - run every libFuzzer
# binary in BUILD_DIR for SECONDS (default 30) on a scratch copy of its seed
# corpus (the repo's corpus stays unchanged), JOBS targets at a time
# (default: the number of cores, so each target has a core to itself for
# its SECONDS). Fails on any crash, leak, timeout or out-of-memory finding,
# printing the tail of that target's log. Prints the elapsed time.
set -euo pipefail
build=$(cd "$1" && pwd)
secs=${2:-30}
jobs=${3:-$(nproc 2>/dev/null || echo 1)}
root=$(cd "$(dirname "$0")/.." && pwd)
[[ $secs =~ ^[0-9]+$ && $secs -gt 0 ]] || { echo "fuzz-smoke: bad SECONDS '$secs'" >&2; exit 2; }
[[ $jobs =~ ^[0-9]+$ && $jobs -gt 0 ]] || { echo "fuzz-smoke: bad JOBS '$jobs'" >&2; exit 2; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
start=$SECONDS

names=()
for corpus in "$root"/fuzz/corpus/*/; do
  name=$(basename "$corpus")
  bin=$(find "$build" -type f -name "$name" -perm -u+x | head -n1)
  [ -n "$bin" ] || { echo "fuzz-smoke: no binary for $name" >&2; exit 1; }
  mkdir -p "$scratch/$name"
  cp -r "$corpus"/. "$scratch/$name"/
  printf '%s\n' "$bin" >"$scratch/$name.bin"
  names+=("$name")
done

# run_one NAME: one target for $secs in its scratch folder; status in NAME.rc
run_one() {
  local name=$1 bin rc=0
  bin=$(cat "$scratch/$name.bin")
  (cd "$scratch/$name" && timeout -k 10 $((secs + 60)) "$bin" -max_total_time="$secs" \
    -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 . \
    >"$scratch/$name.log" 2>&1) || rc=$?
  echo "$rc" >"$scratch/$name.rc"
}

pids=()
for name in "${names[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n || true
  done
  echo "fuzz-smoke: $name for ${secs}s"
  run_one "$name" &
  pids+=($!)
done
for p in "${pids[@]}"; do
  wait "$p" || true
done

bad=0
for name in "${names[@]}"; do
  rc=$(cat "$scratch/$name.rc" 2>/dev/null || echo missing)
  if [ "$rc" != 0 ]; then
    echo "fuzz-smoke: $name FAILED (exit $rc); the end of its log:" >&2
    tail -n 40 "$scratch/$name.log" >&2
    bad=$((bad + 1))
  fi
done
[ "$bad" -eq 0 ] || { echo "fuzz-smoke: $bad of ${#names[@]} targets found something" >&2; exit 1; }
echo "fuzz-smoke: ${#names[@]} targets, ${secs}s each, $jobs at a time, ran without a finding in $((SECONDS - start))s"
