"""What the GitHub workflow would run for a package: its jobs and their runners.

Derived exactly as the workflow derives them at run time (the plan's GitHub matrix through
``derive_matrices``), so ``wheelyard ci github --explain`` cannot disagree with a real run.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from wheelyard.ci.github_inputs import CONTROL_RUNNER
from wheelyard.ci.github_matrix import WorkflowMatrices


class WorkflowJobKind(StrEnum):
    PLAN = "plan"
    BUILD = "build"
    SMOKE = "smoke"
    PUBLISH = "publish"


@dataclass(frozen=True, kw_only=True)
class WorkflowJob:
    kind: WorkflowJobKind
    name: str
    """As GitHub shows it (the matrix job name)."""
    runs_on: str
    variant: str | None = None
    pythons: tuple[str, ...] = ()
    does: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "name": self.name,
            "runs_on": self.runs_on,
            "variant": self.variant,
            "pythons": list(self.pythons),
            "does": self.does,
        }


@dataclass(frozen=True, kw_only=True)
class WorkflowExplanation:
    jobs: tuple[WorkflowJob, ...]

    def count(self, kind: WorkflowJobKind) -> int:
        return sum(1 for job in self.jobs if job.kind is kind)

    def summary(self) -> str:
        parts = [f"{self.count(kind)} {kind}" for kind in WorkflowJobKind]
        return f"{len(self.jobs)} jobs: " + " + ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "jobs": [job.to_json() for job in self.jobs],
            "counts": {str(kind): self.count(kind) for kind in WorkflowJobKind},
        }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def explain_workflow(matrices: WorkflowMatrices) -> WorkflowExplanation:
    jobs = [
        WorkflowJob(
            kind=WorkflowJobKind.PLAN,
            name="plan",
            runs_on=CONTROL_RUNNER,
            does="wheelyard plan --format github -> the build and smoke matrices",
        )
    ]
    for entry in matrices.build:
        pythons = tuple(entry["pythons"].split())
        wheels = int(entry.get("wheels", len(pythons)))
        tested = "tested in this job" if entry.get("test_in_build") == "true" else "wheels only"
        packages = f"; packages {entry['packages']}" if "packages" in entry else ""
        jobs.append(
            WorkflowJob(
                kind=WorkflowJobKind.BUILD,
                name=f"build {entry['id']}",
                runs_on=entry["build_runner"],
                variant=entry["variant"],
                pythons=pythons,
                does=f"wheelyard build --job {entry['id']}: {_plural(wheels, 'wheel')}, "
                f"{tested}{packages}",
            )
        )
    for entry in matrices.smoke:
        pythons = tuple(entry["test_pythons"].split())
        jobs.append(
            WorkflowJob(
                kind=WorkflowJobKind.SMOKE,
                name=f"smoke {entry['id']}",
                runs_on=entry["validation_runner"],
                variant=entry["variant"],
                pythons=pythons,
                does=f"wheelyard smoke --gpu --variant {entry['variant']}: "
                f"{_plural(len(pythons), 'Python')}",
            )
        )
    jobs.append(
        WorkflowJob(
            kind=WorkflowJobKind.PUBLISH,
            name="publish",
            runs_on=CONTROL_RUNNER,
            does="wheelyard publish (and upload); a dry run on pull requests",
        )
    )
    return WorkflowExplanation(jobs=tuple(jobs))
