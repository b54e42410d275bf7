#!/usr/bin/env bash
# The main job: set up (idempotent), then plan an example package's wheel matrix end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
project=${1:-tests/projects/matrix-4x6}
wheelyard plan "$project" --cost
wheelyard plan "$project" --format github > /dev/null
wheelyard env "$project" --variant cu128 --channel nightly --date 2026-11-20
