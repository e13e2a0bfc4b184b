#!/usr/bin/env bash
# bench/run.sh BUILD_DIR [--smoke] [NAME...] - run the benchmarks one after
# another in this one run and print one table of every figure.
#   full run: results in bench/results/<name>.json (committed, compared
#             across changes; each file records CPU, kernel, date, commit)
#   --smoke:  tiny sizes, seconds long, results in a temporary folder that
#             is removed; checks that every benchmark still works (CI)
# NAME...: only these benchmarks (default: all of BENCHES below).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build=${1:?usage: bench/run.sh BUILD_DIR [--smoke] [NAME...]}
shift
smoke=
if [ "${1:-}" = --smoke ]; then
  smoke=--smoke
  shift
fi
BENCHES=(relay session sshnpd atserver load)
[ $# -gt 0 ] && BENCHES=("$@")

if [ -n "$smoke" ]; then
  out=$(mktemp -d "${TMPDIR:-/tmp}/np-bench-smoke-XXXXXX")
  trap 'rm -rf "$out"' EXIT
else
  out="$here/results"
  mkdir -p "$out"
fi

failed=()
for b in "${BENCHES[@]}"; do
  script="$here/$b.sh"
  if [ ! -f "$script" ]; then
    echo "bench: no benchmark '$b' ($script)" >&2
    failed+=("$b")
    continue
  fi
  echo "== $b" >&2
  t0=$(date +%s)
  if ! bash "$script" "$build" "$out" $smoke; then
    echo "bench: $b FAILED" >&2
    failed+=("$b")
    continue
  fi
  if ! grep -q '"metrics":\[' "$out/$b.json" 2>/dev/null || [ ! -s "$out/$b.rows" ]; then
    echo "bench: $b wrote no figures" >&2
    failed+=("$b")
  fi
  echo "== $b done in $(($(date +%s) - t0)) s" >&2
done

echo
printf '%-10s %-58s %10s  %-8s %s\n' benchmark metric value unit note
printf '%-10s %-58s %10s  %-8s %s\n' --------- ------ ----- ---- ----
for b in "${BENCHES[@]}"; do
  [ -f "$out/$b.rows" ] || continue
  while IFS=$'\t' read -r name metric value unit note; do
    printf '%-10s %-58s %10s  %-8s %s\n' "$name" "$metric" "$value" "$unit" "$note"
  done <"$out/$b.rows"
done
[ -n "$smoke" ] || echo "(results: $out/*.json)"
rm -f "$out"/*.rows
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench: failed: ${failed[*]}" >&2
  exit 1
fi
