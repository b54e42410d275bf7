"""The recipe's smoke test, run in the environment the wheel was installed into.

A script is copied into an empty folder and run there with the environment's Python, so nothing
from the source tree can be imported instead of the installed wheel. A command runs with
``bash -c`` from that folder, the environment's ``bin`` first on PATH; ``{project}`` and
``{wheel}`` in it are replaced by the project folder and the wheel's path (shell-quoted).
"""

from __future__ import annotations

import shlex
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

from wheelyard import proc
from wheelyard.errors import ProcessError
from wheelyard.verify.install import Environment
from wheelyard.verify.options import SmokeTest
from wheelyard.verify.report import Check, CheckResult, Finding, failed, passed


def smoke_argv(test: SmokeTest, environment: Environment, run_dir: Path, wheel: Path) -> list[str]:
    script = test.script
    if script is not None:
        copy = run_dir / script.name
        shutil.copyfile(script, copy)
        return [str(environment.python), str(copy)]
    project, wheel_path = shlex.quote(str(test.project_dir)), shlex.quote(str(wheel))
    command = test.value.replace("{project}", project).replace("{wheel}", wheel_path)
    return ["bash", "-c", command]


def run_smoke_test(
    test: SmokeTest,
    environment: Environment,
    *,
    wheel: Path,
    run_dir: Path,
    timeout: float,
    extra_env: Mapping[str, str] | None = None,
    check: Check = Check.SMOKE,
    facts: Mapping[str, object] | None = None,
) -> CheckResult:
    started = time.monotonic()
    label = environment.interpreter.label
    run_dir.mkdir(parents=True, exist_ok=True)
    argv = smoke_argv(test, environment, run_dir, wheel)
    shown = test.value
    try:
        with environment.confined(
            argv,
            cwd=run_dir,
            extra_env=extra_env,
            read_only=(test.project_dir, wheel),  # the wheel alone, not the folder it is in
            gpu=check is Check.GPU,
        ) as (command, env):
            result = proc.run(command, cwd=run_dir, env=env, timeout=timeout, check=False)
    except ProcessError as exc:
        reason = (
            f"ran past its timeout of {timeout:.0f} s and was stopped"
            if exc.timed_out
            else exc.message
        )
        return failed(
            check,
            f"smoke test {shown} {reason}",
            (
                Finding(
                    code="smoke-timeout" if exc.timed_out else "smoke-not-run",
                    message=f"{shown}: {reason}",
                    details=exc.output_tail or None,
                ),
            ),
            python=label,
            seconds=time.monotonic() - started,
            facts=dict(facts or {}),
        )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        status = (
            f"was killed by signal {-result.returncode}"
            if result.returncode < 0
            else f"exited with status {result.returncode}"
        )
        return failed(
            check,
            f"smoke test {shown} {status}",
            (
                Finding(
                    code="smoke-failed",
                    message=f"{shown} {status}: {_last_line(result.output)}",
                    details=result.tail or None,
                ),
            ),
            python=label,
            seconds=seconds,
            facts=dict(facts or {}),
        )
    return passed(
        check,
        f"smoke test {shown} passed in {seconds:.2f} s (run outside the source tree)",
        python=label,
        seconds=seconds,
        facts={**(facts or {}), "output_tail": result.tail, "where": environment.where},
    )


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
