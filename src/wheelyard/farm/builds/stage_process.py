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
from dataclasses import asdict
from pathlib import Path
from typing import Any

from wheelyard.errors import WheelyardError
from wheelyard.farm.builds.stages import STAGES, WorkerEnvironment
from wheelyard.farm.messages import StageInput
from wheelyard.verify import Interpreter

PR_SET_PDEATHSIG = 1


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
        "input": asdict(stage_input),
        "env": {
            "data_dir": str(env.data_dir),
            "engine": env.engine,
            "compiler_cache": str(env.compiler_cache) if env.compiler_cache else None,
            "interpreters": [
                {
                    "version": list(i.version),
                    "free_threaded": i.free_threaded,
                    "executable": str(i.executable),
                }
                for i in env.interpreters
            ],
            "index_url": env.index_url,
            "detect_file": str(env.detect_file) if env.detect_file else None,
        },
        "result": str(result),
        "progress": str(progress),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def _environment(data: dict[str, Any]) -> WorkerEnvironment:
    return WorkerEnvironment(
        data_dir=Path(data["data_dir"]),
        engine=data.get("engine"),
        compiler_cache=Path(data["compiler_cache"]) if data.get("compiler_cache") else None,
        interpreters=tuple(
            Interpreter(
                version=(int(i["version"][0]), int(i["version"][1]), int(i["version"][2])),
                free_threaded=bool(i["free_threaded"]),
                executable=Path(i["executable"]),
            )
            for i in data.get("interpreters") or ()
        ),
        index_url=data.get("index_url"),
        detect_file=Path(data["detect_file"]) if data.get("detect_file") else None,
    )


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
        result = stage(StageInput(**spec["input"]), _environment(spec["env"]), progress)
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
    _write(result_path, {"result": asdict(result)})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
