"""Cost model: today's fan-out vs consolidation vs consolidation + build/test split.

Times are in seconds per step; a job's time is the sum of the steps it runs:

- fan-out: one job per Python x variant on the *test* runner (a GPU machine for GPU variants),
  each doing start-up + checkout + native core + binding + smoke test;
- consolidated: the plan's jobs, still on the test runner, the core compiled once per job;
- consolidated + split: the same jobs on CPU build runners; GPU variants add a short smoke job
  on the GPU runner (start-up + artifact download + one smoke test per Python).

Parameters have defaults and can be calibrated from recorded timings (``load_parameters``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from wheelyard.config.suggest import did_you_mean
from wheelyard.errors import Problem, TimingsError
from wheelyard.plan.matrix import Plan


@dataclass(frozen=True, kw_only=True)
class CostParameters:
    startup_s: float = 120.0
    """Machine start-up and queueing before a job's first step."""
    checkout_s: float = 60.0
    """Source checkout and environment set-up."""
    native_core_s: float = 600.0
    """Compiling the Python-independent native core (C++/CUDA) once."""
    binding_s: float = 60.0
    """Compiling the Python binding and packaging one wheel, per Python."""
    smoke_test_s: float = 90.0
    """Installing one wheel and running its smoke test."""
    artifact_s: float = 30.0
    """Moving wheels from a build job to a test job."""
    source: str = "built-in defaults"


@dataclass(frozen=True, kw_only=True)
class Scenario:
    name: str
    build_jobs: int
    test_jobs: int
    runner_seconds: float
    gpu_seconds: float

    @property
    def jobs(self) -> int:
        return self.build_jobs + self.test_jobs

    @property
    def runner_minutes(self) -> float:
        return self.runner_seconds / 60

    @property
    def gpu_minutes(self) -> float:
        return self.gpu_seconds / 60


@dataclass(frozen=True, kw_only=True)
class CostComparison:
    parameters: CostParameters
    fanout: Scenario
    consolidated: Scenario
    split: Scenario

    @property
    def scenarios(self) -> tuple[Scenario, Scenario, Scenario]:
        return (self.fanout, self.consolidated, self.split)

    def ratio(self, scenario: Scenario, attribute: str) -> float | None:
        base = float(getattr(self.fanout, attribute))
        return None if base == 0 else float(getattr(scenario, attribute)) / base

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"parameters": asdict(self.parameters), "scenarios": {}}
        for scenario in self.scenarios:
            out["scenarios"][scenario.name] = {
                "jobs": scenario.jobs,
                "build_jobs": scenario.build_jobs,
                "test_jobs": scenario.test_jobs,
                "runner_minutes": round(scenario.runner_minutes, 2),
                "gpu_minutes": round(scenario.gpu_minutes, 2),
                "runner_minutes_ratio": _round(self.ratio(scenario, "runner_seconds")),
                "gpu_minutes_ratio": _round(self.ratio(scenario, "gpu_seconds")),
            }
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def estimate(plan: Plan, params: CostParameters) -> CostComparison:
    p = params
    fanout_jobs = 0
    fanout_s = fanout_gpu = 0.0
    cons_s = cons_gpu = 0.0
    split_build = split_test = 0
    split_s = split_gpu = 0.0
    for job in plan.jobs:
        gpu = job.kind.is_gpu
        tests = len(job.test_pythons)
        # Today's fan-out: one full job per tested Python, all on the test runner.
        one = p.startup_s + p.checkout_s + p.native_core_s + p.binding_s + p.smoke_test_s
        per_job_fanout = max(len(job.pythons), tests) if job.pythons else 0
        fanout_jobs += per_job_fanout
        fanout_s += per_job_fanout * one
        fanout_gpu += per_job_fanout * one if gpu else 0.0
        # Consolidated: the core once, every binding, every smoke test, on the test runner.
        build = p.startup_s + p.checkout_s + p.native_core_s + len(job.pythons) * p.binding_s
        whole = build + tests * p.smoke_test_s
        cons_s += whole
        cons_gpu += whole if gpu else 0.0
        # Split: build on CPU; GPU variants get a short smoke job.
        split_build += 1
        if job.gpu_test:
            smoke = p.startup_s + p.artifact_s + tests * p.smoke_test_s
            split_test += 1
            split_s += build + smoke
            split_gpu += smoke
        else:
            split_s += whole
    return CostComparison(
        parameters=params,
        fanout=Scenario(
            name="fan-out",
            build_jobs=fanout_jobs,
            test_jobs=0,
            runner_seconds=fanout_s,
            gpu_seconds=fanout_gpu,
        ),
        consolidated=Scenario(
            name="consolidated",
            build_jobs=len(plan.jobs),
            test_jobs=0,
            runner_seconds=cons_s,
            gpu_seconds=cons_gpu,
        ),
        split=Scenario(
            name="consolidated+split",
            build_jobs=split_build,
            test_jobs=split_test,
            runner_seconds=split_s,
            gpu_seconds=split_gpu,
        ),
    )


PARAMETER_KEYS = tuple(f.name for f in fields(CostParameters) if f.name != "source")


def load_parameters(path: Path) -> CostParameters:
    """Parameters from a timings JSON file: ``{"parameters": {"native_core_s": 41.0, ...}}``.

    ``bench/build_matrix.py`` writes such a file from measured builds; a plain object with the
    same keys is accepted too. Keys left out keep their defaults.
    """
    source = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TimingsError([Problem(source=source, key="", message="file not found")]) from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise TimingsError([Problem(source=source, key="", message=f"not JSON: {exc}")]) from exc
    body = data.get("parameters", data) if isinstance(data, dict) else None
    if not isinstance(body, dict):
        raise TimingsError(
            [Problem(source=source, key="parameters", message="must be a JSON object")]
        )
    problems: list[Problem] = []
    values: dict[str, float] = {}
    for key, value in body.items():
        if key not in PARAMETER_KEYS:
            if key in ("source", "comment", "measured", "notes"):
                continue
            problems.append(
                Problem(
                    source=source,
                    key=key,
                    message="unknown parameter",
                    hint=did_you_mean(key, PARAMETER_KEYS) or f"known: {', '.join(PARAMETER_KEYS)}",
                )
            )
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            problems.append(
                Problem(source=source, key=key, message="must be a number of seconds >= 0")
            )
        else:
            values[key] = float(value)
    if problems:
        raise TimingsError(problems)
    return replace(CostParameters(), source=source, **values)
