"""Run one stage of a farm job in a child process (``python -m wheelyard.farm.builds.stage_process
SPEC``).

The activity that starts it writes ``SPEC`` (a JSON file: the stage, its ``StageInput``, the
worker's resolved environment, where to write the result and the progress lines), heartbeats
with the last progress line while it runs, and sends SIGINT to cancel it (the build stops its
containers and writes its record, as on Ctrl-C). On Linux the child asks for SIGINT when its
parent dies, so a killed worker does not leave a build running.

The result file holds ``{"result": StageResult}`` or ``{"error": ..., "retryable": bool}``.
"""

from __future__ import annotations

import ctypes
import json
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from wheelyard.errors import WheelyardError
from wheelyard.farm.builds.stages import STAGES, WorkerEnvironment
from wheelyard.farm.messages import StageInput, StageResult

PR_SET_PDEATHSIG = 1
_INPUT = TypeAdapter(StageInput)
_ENVIRONMENT = TypeAdapter(WorkerEnvironment)
"""Every setting the worker resolved reaches the stage (one serializer, no field left out)."""
_RESULT = TypeAdapter(StageResult)


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT)
    except (OSError, AttributeError):
        pass


def write_spec(
    path: Path,
    *,
    stage: str,
    stage_input: StageInput,
    env: WorkerEnvironment,
    result: Path,
    progress: Path,
) -> None:
    data = {
        "stage": stage,
        "input": _INPUT.dump_python(stage_input, mode="json"),
        "env": _ENVIRONMENT.dump_python(env, mode="json"),
        "result": str(result),
        "progress": str(progress),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str]) -> int:
    _die_with_parent()
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    result_path = Path(spec["result"])
    progress_path = Path(spec["progress"])

    def progress(event: dict[str, Any]) -> None:
        with progress_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(event) + "\n")

    try:
        stage = STAGES[spec["stage"]]
        stage_input = _INPUT.validate_python(spec["input"])
        result = stage(stage_input, _ENVIRONMENT.validate_python(spec["env"]), progress)
    except KeyboardInterrupt:
        _write(result_path, {"error": "interrupted", "retryable": False, "cancelled": True})
        return 130
    except WheelyardError as exc:
        # Bad input (a recipe error, an unknown job) fails the same way on every worker;
        # anything else (an engine that broke, an image build that failed) may work elsewhere.
        _write(
            result_path,
            {
                "error": str(exc),
                "type": type(exc).__name__,
                "retryable": exc.exit_code != 2,
            },
        )
        return 1
    except Exception as exc:  # reported to the workflow with its traceback, never swallowed
        _write(
            result_path,
            {
                "error": f"{type(exc).__name__}: {exc}",
                "type": type(exc).__name__,
                "traceback": traceback.format_exc(),
                "retryable": True,
            },
        )
        return 1
    _write(result_path, {"result": _RESULT.dump_python(result, mode="json")})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
