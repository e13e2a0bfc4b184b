#!/usr/bin/env bash
# Fail when any tracked C file differs from what clang-format makes of it.
# Files are checked in batches, one batch per core at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format-check: clang-format is not installed (make deps)" >&2; exit 1; }
jobs=$(nproc 2>/dev/null || echo 1)
# clang-format --dry-run --Werror prints "file:line:col: error: code should
# be clang-formatted" for every offending file; collect the file names.
bad=$(git ls-files -z '*.c' '*.h' |
  xargs -0 -n 25 -P "$jobs" clang-format --dry-run --Werror 2>&1 |
  sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' | sort -u) || true
if [ -n "$bad" ]; then
  while IFS= read -r f; do
    echo "format-check: $f is not clang-formatted (run make format)" >&2
  done <<<"$bad"
  exit 1
fi
