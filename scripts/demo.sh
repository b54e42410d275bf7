#!/usr/bin/env bash
# The main job: set up (idempotent), then build an example package end to end: plan its matrix,
# build the builder image if it is missing or out of date, build every wheel with cibuildwheel
# in that image, verify each wheel (structure, honest tags, clean install, import-all, smoke
# test), then publish the verified wheels to a local index (./index: PEP 825 variant wheels,
# PEP 503/691 pages, per-variant legacy trees) and show which wheel an installer would pick.
#   scripts/demo.sh [PACKAGE_DIR] [wheelyard build options...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
project=${1:-examples/hello-c}
shift || true
wheelyard plan "$project" --cost
wheelyard build "$project" --output wheelhouse "$@"
# A published file never changes, and a rebuild of the same nightly is not byte-identical:
# the demo index is rewritten from scratch on every run.
rm -rf index
wheelyard publish wheelhouse --to index --project "$project"
name=$(python - "$project" <<'PY'
import json, sys
print(json.load(open("wheelhouse/build-record.json"))["packages"][0]["name"])
PY
)
wheelyard install "$name" --pre --index-url index/simple --dry-run
