#!/usr/bin/env bash
# Run every libFuzzer binary in build dir $1 for $2 seconds on a scratch copy
# of its seed corpus (the repo's corpus stays unchanged). Fails on any crash.
set -euo pipefail
build=$(cd "$1" && pwd); secs=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
n=0
for corpus in "$root"/fuzz/corpus/*/; do
  name=$(basename "$corpus")
  bin=$(find "$build" -type f -name "$name" -perm -u+x | head -n1)
  [ -n "$bin" ] || { echo "fuzz-smoke: no binary for $name" >&2; exit 1; }
  work=$(mktemp -d)
  cp -r "$corpus"/. "$work"/
  echo "fuzz-smoke: $name for ${secs}s"
  (cd "$work" && "$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=0 "$work" >"$work.log" 2>&1) || {
    tail -n 40 "$work.log" >&2; rm -rf "$work" "$work.log"; exit 1; }
  rm -rf "$work" "$work.log"
  n=$((n + 1))
done
echo "fuzz-smoke: $n targets ran without a finding"
