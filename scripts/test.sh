#!/usr/bin/env bash
# Set up (idempotent) and run wheelyard's checks: ruff, mypy strict, then the whole test suite
# (unit tests, then integration tests that build real wheels in containers).
#   scripts/test.sh              everything
#   scripts/test.sh -m "not integration"   pytest arguments are passed through
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"
ruff check src tests
ruff format --check src tests
echo "== mypy (strict)"
mypy
echo "== pytest"
set +e
pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$status"
