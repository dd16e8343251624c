#!/usr/bin/env bash
# The main job on a fresh machine: set up (idempotent), then build the corpus, cache teacher targets, distil a
# universal student (stage 1 + stage 2, ~15 min on 2 CPU cores), probe it and every teacher, write the report.
# Extra arguments go to `usad demo` (e.g. --device cuda --student base --stage1-minutes 60).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/usad demo "$@"
