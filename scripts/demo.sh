#!/usr/bin/env bash
# The main job: set up (idempotent), then build an example package end to end: plan its matrix,
# build the builder image if it is missing or out of date, build every wheel with cibuildwheel
# in that image, test it, and print the summary table and the build record's path.
#   scripts/demo.sh [PACKAGE_DIR] [wheelyard build options...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
project=${1:-examples/hello-c}
shift || true
wheelyard plan "$project" --cost
wheelyard build "$project" --output wheelhouse "$@"
