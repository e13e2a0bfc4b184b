#!/usr/bin/env bash
# Banned functions (style.md practice 23). Matches calls, not words in comments.
set -euo pipefail
cd "$(dirname "$0")/.."
pat='(^|[^_a-zA-Z0-9.>])(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|gets)[[:space:]]*\('
if git ls-files '*.c' '*.h' | xargs grep -nE "$pat" | grep -vE '^\S+:[0-9]+:\s*(/?\*|//)'; then
  echo "lint: banned function used (see above)" >&2
  exit 1
fi
echo "lint: ok"
