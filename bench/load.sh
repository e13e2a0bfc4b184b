#!/usr/bin/env bash
# bench/load.sh BUILD_DIR OUT_DIR [--smoke] - issue 9 "Load": one benchmark
# made of parts, each an ordinary benchmark script of its own (same
# arguments, bench/lib.sh contract) run here one after the other:
#   load_srvd.sh  srvd: sessions set up and torn down, 10,000 idle pairs,
#                 memory and descriptors back at the start level
#   load_at.sh    atserver and sshnpd under load (if present)
# Each part writes into a temporary folder; its figures are copied into
# OUT_DIR/load.json (metric names as the part gave them). A failing part
# fails the benchmark; the others still run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
bench_init load "$@"
parts=$(mktemp -d "${TMPDIR:-/tmp}/np-bench-load-XXXXXX")
trap 'rm -rf "$parts"' EXIT
smoke=()
[ "$BENCH_SMOKE" = 1 ] && smoke=(--smoke)
failed=()
for part in load_srvd load_at; do
  [ -f "$here/$part.sh" ] || continue
  bench_log "part $part"
  bash "$here/$part.sh" "$BENCH_BUILD" "$parts" "${smoke[@]}" || failed+=("$part")
  [ -f "$parts/$part.rows" ] && awk -F'\t' -v OFS='\t' '{ $1 = "load"; print }' "$parts/$part.rows" >>"$BENCH_ROWS"
done
bench_finish
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench: load: failed: ${failed[*]}" >&2
  exit 1
fi
