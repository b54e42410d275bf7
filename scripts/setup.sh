#!/usr/bin/env bash
# Set up everything wheelyard needs on a fresh Debian 12 machine; safe to run again.
#   scripts/setup.sh            system packages + .venv with wheelyard and its dev tools
# Environment: WHEELYARD_SKIP_APT=1 skips the apt step (for machines without root).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for cmd in podman runc debootstrap shellcheck chromium docker-registry; do
  command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$cmd")
done
# the farm's PostgreSQL test starts a throwaway cluster with Debian's server binaries
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || need_apt+=(postgresql)
if [ "${#need_apt[@]}" -gt 0 ] && [ "${WHEELYARD_SKIP_APT:-0}" != 1 ]; then
  echo "setup: installing system packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # docker-registry: the CNCF distribution registry, served on loopback by the test that pulls
  # an official-style builder image by digest
  apt-get install -y -qq podman runc debootstrap shellcheck chromium postgresql \
    docker-registry >/dev/null
fi

PY=${WHEELYARD_PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/pip install -q 'uv>=0.5'
fi
# cibuildwheel 4.3.5 asks for a certifi newer than some mirrors carry; any recent certifi works.
stamp=.venv/.wheelyard-setup
want=$(cat pyproject.toml scripts/constraints-override.txt | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing wheelyard and its dev tools into .venv"
  VIRTUAL_ENV=$PWD/.venv .venv/bin/uv pip install -q --override scripts/constraints-override.txt -e '.[dev]'
  echo "$want" > "$stamp"
fi
echo "setup: ready (.venv/bin/wheelyard)"
