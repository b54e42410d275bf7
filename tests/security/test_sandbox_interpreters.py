"""The verification sandbox runs this machine's interpreters inside the builder image: every
extension module of their standard library must find its libraries there, or a wheel that
imports it (Pillow's ImageTk imports tkinter) fails the gate although it works on the host."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from wheelyard.builder.engine import detect_engine
from wheelyard.catalog import load_catalog
from wheelyard.cli.verify_cmd import interpreters_from
from wheelyard.pipeline import verification_sandbox
from wheelyard.verify.sandbox import SANDBOX_PATH, Confinement

pytestmark = pytest.mark.integration

UNRESOLVED = (
    'for so in "$1"/lib/python3*/lib-dynload/*.so; do '
    'ldd "$so" | grep "not found" | sed "s|^|$(basename "$so"):|"; done'
)


def test_every_standard_extension_of_the_host_interpreters_loads_in_the_sandbox(
    tmp_path: Path,
) -> None:
    sandbox = verification_sandbox(detect_engine(None), load_catalog())
    interpreters = interpreters_from(None)
    assert interpreters, "no interpreters found on this machine"
    missing: dict[str, str] = {}
    for interpreter in interpreters:
        prefix = interpreter.executable.resolve().parents[1]
        confinement = Confinement(
            workdir=tmp_path, read_only=(prefix,), env={"PATH": SANDBOX_PATH, "LANG": "C.UTF-8"}
        )
        name = f"wheelyard-test-{uuid.uuid4().hex[:8]}"
        argv = sandbox.command(["bash", "-c", UNRESOLVED, "-", str(prefix)], confinement, name=name)
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        finally:
            sandbox.remove(name)
        assert done.returncode == 0, done.stderr
        if done.stdout.strip():
            missing[interpreter.label] = done.stdout.strip()
        tk = sandbox.command(
            [str(interpreter.executable), "-c", "import tkinter"], confinement, name=name
        )
        if (prefix / "lib" / f"python{interpreter.label.rstrip('t')}" / "tkinter").is_dir():
            try:
                imported = subprocess.run(
                    tk, capture_output=True, text=True, timeout=120, check=False
                )
            finally:
                sandbox.remove(name)
            assert imported.returncode == 0, f"{interpreter.label}: {imported.stderr[-500:]}"
    assert missing == {}
