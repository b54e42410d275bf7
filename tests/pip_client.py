"""pip as a user runs it against an index: what a classic installer, with no notion of wheel
variants, gets from wheelyard's indexes. The caller's pip configuration is left out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def pip_fetch(
    requirement: str,
    *,
    index_url: str,
    target: Path,
    python: str = sys.executable,
    download: bool = False,
) -> Path:
    """``pip install --target`` (or ``pip download -d``) of ``requirement``, pre-releases
    allowed, into ``target``; fails with pip's output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    command = ["download", "-d"] if download else ["install", "--target"]
    argv = [python, "-m", "pip", command[0], "--no-cache-dir", "--disable-pip-version-check"]
    argv += ["--quiet", "--pre", "--no-deps", command[1], str(target), "--index-url", index_url]
    result = subprocess.run(
        [*argv, requirement], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return target
