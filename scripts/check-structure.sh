#!/usr/bin/env bash
# Structure checks run by scripts/test.sh (issue 18): no Rust source file
# over 1,000 lines, no import circle between the modules of any crate, and
# no broken relative link in the docs.
set -euo pipefail
cd "$(dirname "$0")/.."
too_long=$(git ls-files '*.rs' | xargs wc -l | awk '$2 != "total" && $1 > 1000 {print $2 " (" $1 " lines)"}')
if [ -n "$too_long" ]; then
  echo "check-structure: Rust files over 1,000 lines:" >&2
  echo "$too_long" >&2
  exit 1
fi
bash scripts/check-imports.sh
bash scripts/check-doc-links.sh
