"""Benchmark: verifying an example wheel (install + import-all + smoke test) with wheelyard vs the
same steps done by hand with ``python -m venv`` + pip, measured side by side in one run.

    .venv/bin/python bench/verify_install.py                  # builds examples/hello-c (cp312)
    .venv/bin/python bench/verify_install.py --wheel W.whl    # an existing hello-c wheel
    .venv/bin/python bench/verify_install.py --repeat 7

Three ways, interleaved round by round so that machine noise hits them alike:

- ``gate``: ``verify_wheel`` with the install, imports and smoke checks, package code run on
  this machine (what the gate paid per wheel and interpreter before its sandbox);
- ``sandbox``: the same, imports and smoke test in the verification sandbox (a container of
  the cpu builder image: what the build gate and the farm pay now);
- ``cli``: the whole ``wheelyard verify`` command on the wheel (every check, structure and
  auditwheel included, the sandbox, plus the CLI's start-up);
- ``venv+pip``: ``python -m venv``, ``pip install --no-index`` the wheel, import its modules in
  a fresh interpreter, run the smoke test.

Prints the median seconds of each, the ratios, and one results line for the README.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from wheelyard import proc
from wheelyard.builder.engine import detect_engine
from wheelyard.catalog import load_catalog
from wheelyard.config import load_recipe
from wheelyard.pipeline import verification_sandbox
from wheelyard.verify import Check, VerifyOptions, discover_interpreters, verify_wheel, with_recipe
from wheelyard.verify.imports import wheel_modules
from wheelyard.wheel.inspect import inspect_archive

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "hello-c"
SMOKE = EXAMPLE / "tests" / "smoke_test.py"


def build_example(out: Path, python: str) -> Path:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHEELYARD_")}
    env["WHEELYARD_PYTHON"] = python
    proc.run(
        [
            *(sys.executable, "-m", "wheelyard", "build", str(EXAMPLE), "-o", str(out)),
            *("--date", "2026-11-20", "--no-compiler-cache"),
        ],
        env=env,
        timeout=900,
    )
    [wheel] = sorted((out / "cpu").glob("*.whl"))
    return wheel


def by_hand(wheel: Path, python: Path, modules: list[str], work: Path) -> None:
    """venv + pip + import every module + smoke test, the way a CI script does it today."""
    venv = work / "venv"
    proc.run([str(python), "-m", "venv", str(venv)], timeout=300)
    vpy = venv / "bin" / "python"
    proc.run(
        [
            *(str(vpy), "-m", "pip", "install", "--no-index", "--disable-pip-version-check"),
            *("-q", str(wheel)),
        ],
        timeout=300,
    )
    run_dir = work / "run"
    run_dir.mkdir()
    imports = "; ".join(f"import {m}" for m in modules)
    proc.run([str(vpy), "-I", "-c", imports], cwd=run_dir, timeout=300)
    shutil.copyfile(SMOKE, run_dir / SMOKE.name)
    proc.run([str(vpy), SMOKE.name], cwd=run_dir, timeout=300)


def timed(step: Callable[[], None]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help="a hello-c wheel (default: build one)")
    parser.add_argument("--python", default="cp312", help="interpreter to build/verify for")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="wheelyard-bench-") as tmp_name:
        tmp = Path(tmp_name)
        wheel = args.wheel or build_example(tmp / "wheelhouse", args.python)
        minor = args.python.removeprefix("cp3")
        pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
        [interpreter] = [
            i for i in discover_interpreters(pyenv_root=pyenv) if i.label == f"3.{minor}"
        ]
        loaded = load_recipe(EXAMPLE, environ={})
        gate_options = with_recipe(
            VerifyOptions(
                interpreters=(interpreter,),
                checks=frozenset({Check.INSTALL, Check.IMPORTS, Check.SMOKE}),
                work_dir=tmp,
            ),
            loaded,
        )
        archive = inspect_archive(wheel)
        modules, _ = wheel_modules(archive.files)
        wheelyard = [sys.executable, "-m", "wheelyard", "verify", str(wheel)]
        cli_argv = [*wheelyard, "--project", str(EXAMPLE), "--python", str(interpreter.executable)]

        sandboxed = replace(
            gate_options, sandbox=verification_sandbox(detect_engine(), load_catalog())
        )

        def gate() -> None:
            report = verify_wheel(wheel, options=gate_options)
            assert report.status.value == "passed", report.to_json()

        def sandbox() -> None:
            report = verify_wheel(wheel, options=sandboxed)
            assert report.status.value == "passed", report.to_json()

        def cli() -> None:
            proc.run(cli_argv, timeout=300)

        def manual() -> None:
            with tempfile.TemporaryDirectory(dir=tmp) as work:
                by_hand(wheel, interpreter.executable, modules, Path(work))

        ways: dict[str, Callable[[], None]] = {
            "gate": gate,
            "sandbox": sandbox,
            "cli": cli,
            "venv+pip": manual,
        }
        for step in ways.values():  # warm caches (uv's, pip's, the page cache) once
            step()
        samples: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.repeat):
            for name, step in ways.items():
                samples[name].append(timed(step))

    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(f"wheel: {wheel.name}; Python {interpreter.full_version}; {args.repeat} rounds")
    for name, values in samples.items():
        spread = ", ".join(f"{v:.2f}" for v in values)
        print(f"  {name:<9} median {medians[name]:.2f} s  ({spread})")
    baseline = medians["venv+pip"]
    gate_ratio = baseline / medians["gate"]
    print(
        f"results: verify (install + import-all + smoke) {medians['gate']:.2f} s with wheelyard "
        f"vs {baseline:.2f} s with python -m venv + pip ({gate_ratio:.1f}x faster); in the "
        f"sandbox {medians['sandbox']:.2f} s ({baseline / medians['sandbox']:.1f}x; "
        f"{medians['sandbox'] - medians['gate']:.2f} s for the containers); "
        f"whole `wheelyard verify` command {medians['cli']:.2f} s "
        f"({baseline / medians['cli']:.1f}x); median of {args.repeat}, hello-c "
        f"cp{interpreter.version[0]}{interpreter.version[1]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
