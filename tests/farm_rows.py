"""Farm database rows for tests that start from a submitted or planned build."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from wheelyard.farm.builds import records
from wheelyard.farm.db import Build
from wheelyard.farm.messages import JobSpec, PlanResult

VERSION = "0.1.0.dev20261120"


def new_build(
    session: Session,
    package: str = "hello-c",
    *,
    source_kind: str = "path",
    source: str | None = None,
    ref: str | None = None,
    options: dict[str, Any] | None = None,
) -> Build:
    """A submitted build (a path source ``/src/<package>`` unless told otherwise)."""
    return records.create_build(
        session,
        package=package,
        source_kind=source_kind,
        source=source or f"/src/{package}",
        ref=ref,
        options=options or {},
        submitted_by=None,
    )


def planned(
    package: str = "hello-c",
    *,
    variants: Sequence[str] = ("cpu",),
    pythons: Sequence[str] = ("cp311", "cp312"),
    version: str = VERSION,
) -> PlanResult:
    """A nightly plan with one linux-x86_64 job per variant (GPU variants tested on the CUDA
    queue)."""
    return PlanResult(
        package=package,
        version=version,
        channel="nightly",
        plan="builds/1/planned-build.json",
        jobs=[
            JobSpec(
                job_id=f"linux-x86_64-{variant}",
                variant=variant,
                platform="linux-x86_64",
                pythons=list(pythons),
                build_queue="linux-x86_64-cpu",
                test_queue="linux-x86_64-cpu" if variant == "cpu" else "linux-x86_64-cuda",
                gpu_test=variant != "cpu",
            )
            for variant in variants
        ],
    )
