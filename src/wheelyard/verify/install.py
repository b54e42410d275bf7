"""Clean install: a fresh virtual environment (uv) per interpreter, the wheel and its declared
dependencies only, from the given wheel folders or index (no index unless one is given)."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from wheelyard import proc
from wheelyard.errors import ProcessError
from wheelyard.verify.interpreters import Interpreter
from wheelyard.verify.options import VerifyOptions
from wheelyard.verify.report import Check, CheckResult, Finding, failed, passed
from wheelyard.verify.sandbox import SANDBOX_PATH, Confinement, Sandbox

DROPPED_VARIABLES = frozenset(
    {
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "PYTHONSAFEPATH",
        "PYTHONUSERBASE",
        "PYTHONNOUSERSITE",
        "PYTHONINSPECT",
        "PYTHONEXECUTABLE",
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "PIP_REQUIRE_VIRTUALENV",
        "UV_PYTHON",
        "UV_INDEX_URL",
        "UV_EXTRA_INDEX_URL",
        "UV_FIND_LINKS",
        "UV_SYSTEM_PYTHON",
    }
)


def uv_executable(options: VerifyOptions) -> Path:
    if options.uv is not None:
        return options.uv
    from uv import find_uv_bin  # the uv installed with wheelyard

    return Path(find_uv_bin())


def clean_environment(options: VerifyOptions) -> dict[str, str]:
    """The base environment minus Python-specific variables, with uv kept offline-safe."""
    base = dict(os.environ if options.environ is None else options.environ)
    env = {k: v for k, v in base.items() if k not in DROPPED_VARIABLES}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_NO_CONFIG"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@dataclass(frozen=True, kw_only=True)
class Environment:
    """A virtual environment the wheel was installed into."""

    root: Path
    interpreter: Interpreter
    env: Mapping[str, str]
    """Environment for commands run in it (its ``bin`` first on PATH, VIRTUAL_ENV set)."""
    sandbox: Sandbox | None = None
    """Where commands that run package code run (None: here)."""

    @property
    def where(self) -> str:
        """Where package code runs, as results say it."""
        if self.sandbox is None:
            return "on this machine, with its environment (no container engine)"
        return f"in a {self.sandbox.description}"

    @contextmanager
    def confined(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        extra_env: Mapping[str, str] | None = None,
        read_only: Sequence[Path] = (),
        gpu: bool = False,
    ) -> Iterator[tuple[list[str], dict[str, str]]]:
        """The argv and process environment that run ``argv`` on package code: in the sandbox
        (the environment inside is wheelyard's: the venv on PATH, ``extra_env``, nothing from
        the host), or here when there is none."""
        if self.sandbox is None:
            yield list(argv), {**self.env, **(extra_env or {})}
            return
        scripts = self.root / "bin"
        inside = {
            "PATH": f"{scripts}:{SANDBOX_PATH}",
            "VIRTUAL_ENV": str(self.root),
            "HOME": str(cwd),
            "TMPDIR": "/tmp",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            **(extra_env or {}),
        }
        prefix = self.interpreter.executable.resolve().parents[1]
        confinement = Confinement(
            workdir=cwd,
            read_only=tuple(dict.fromkeys([self.root, prefix, *read_only])),
            env=inside,
            gpu=gpu,
        )
        name = f"wheelyard-verify-{uuid.uuid4().hex[:12]}"
        try:
            yield self.sandbox.command(argv, confinement, name=name), dict(self.env)
        finally:
            self.sandbox.remove(name)

    @property
    def python(self) -> Path:
        scripts = "Scripts" if sys.platform == "win32" else "bin"
        name = "python.exe" if sys.platform == "win32" else "python"
        return self.root / scripts / name


def _first_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if line.startswith(("error:", "×", "ERROR:")):
            rest = [ln for ln in lines[index + 1 : index + 4] if not ln.startswith("hint:")]
            return " ".join([line.removeprefix("error:").strip(), *rest]).strip()
    return lines[-1] if lines else "no output"


def install(
    wheel: Path, interpreter: Interpreter, root: Path, options: VerifyOptions
) -> tuple[CheckResult, Environment | None]:
    """Create ``root`` as a virtual environment of ``interpreter`` and install ``wheel``."""
    started = time.monotonic()
    uv = str(uv_executable(options))
    env = clean_environment(options)
    label = interpreter.label
    try:
        proc.run(
            [
                uv,
                "venv",
                "--quiet",
                "--no-project",
                "--python",
                str(interpreter.executable),
                str(root),
            ],
            env=env,
            timeout=options.install_timeout,
        )
    except ProcessError as exc:
        finding = Finding(
            code="venv-failed",
            message=f"uv could not create a virtual environment with {interpreter.executable}: "
            f"{_first_error(exc.output_tail)}",
            details=exc.output_tail or None,
        )
        return (
            failed(
                Check.INSTALL,
                "no virtual environment",
                (finding,),
                python=label,
                seconds=time.monotonic() - started,
            ),
            None,
        )
    scripts = root / ("Scripts" if sys.platform == "win32" else "bin")
    venv_env = {
        **env,
        "VIRTUAL_ENV": str(root),
        "PATH": os.pathsep.join([str(scripts), env.get("PATH", os.defpath)]),
    }
    environment = Environment(
        root=root, interpreter=interpreter, env=venv_env, sandbox=options.sandbox
    )
    argv = [uv, "pip", "install", "--python", str(environment.python), "--link-mode", "copy"]
    if options.sandbox is not None:
        argv.append("--no-build")  # building a dependency would run its code here
    if options.index_url is None:
        argv.append("--no-index")
    else:
        for first in options.first_indexes:
            argv += ["--index", first]
        argv += ["--default-index", options.index_url]
        if options.first_indexes:
            argv += ["--index-strategy", "unsafe-best-match"]
    for folder in options.find_links:
        argv += ["--find-links", str(folder)]
    if options.constraints:
        pins = root.parent / "constraints.txt"
        pins.write_text("".join(f"{line}\n" for line in options.constraints), encoding="utf-8")
        argv += ["--constraint", str(pins)]
    argv.append(str(wheel))
    try:
        result = proc.run(argv, env=env, timeout=options.install_timeout)
    except ProcessError as exc:
        reason = "ran past its timeout" if exc.timed_out else _first_error(exc.output_tail)
        finding = Finding(
            code="install-failed",
            message=f"uv pip install failed: {reason}",
            details=exc.output_tail or None,
        )
        return (
            failed(
                Check.INSTALL,
                "the wheel does not install",
                (finding,),
                python=label,
                seconds=time.monotonic() - started,
            ),
            None,
        )
    installed = [
        line.strip().removeprefix("+ ").split(" (from ")[0].strip()
        for line in result.output.splitlines()
        if line.strip().startswith("+ ")
    ]
    source = (
        f"index {options.index_url}"
        if options.index_url
        else (
            "wheels in " + ", ".join(str(f) for f in options.find_links)
            if options.find_links
            else "no index"
        )
    )
    return (
        passed(
            Check.INSTALL,
            f"installed into a fresh {interpreter.full_version} environment "
            f"({len(installed)} distribution{'s' if len(installed) != 1 else ''}: "
            f"{', '.join(installed) or 'none'}; dependencies from {source})",
            python=label,
            seconds=time.monotonic() - started,
            facts={"installed": installed, "interpreter": str(interpreter.executable)},
        ),
        environment,
    )


def forget(*projects: str, options: VerifyOptions) -> None:
    """Remove what installing left in uv's cache for ``projects`` (their unpacked files): a
    verification keeps nothing of the wheel it checked; other dependencies stay cached."""
    if not projects:
        return
    proc.run(
        [str(uv_executable(options)), "cache", "clean", *projects],
        env=clean_environment(options),
        timeout=options.install_timeout,
        check=False,
    )
