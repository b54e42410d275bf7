"""The plan as a GitHub Actions matrix: ``{"include": [...]}`` with string values only."""

from __future__ import annotations

from typing import Any

from wheelyard.catalog.model import Catalog
from wheelyard.plan.matrix import Plan


def github_matrix(plan: Plan, catalog: Catalog) -> dict[str, Any]:
    """A matrix ready for ``fromJSON()``: one entry per build job.

    ``build_runner`` / ``validation_runner`` are ``runs-on`` values; ``build_label`` /
    ``validation_label`` the capability labels behind them. Every value is a string, as
    GitHub expressions compare them.
    """
    include = []
    for job in plan.jobs:
        include.append(
            {
                "id": job.id,
                "platform": str(job.platform),
                "os": job.os,
                "arch": job.arch,
                "variant": job.variant,
                "kind": str(job.kind),
                "python_mode": str(job.python_mode),
                "pythons": " ".join(job.pythons),
                "test_pythons": " ".join(job.test_pythons),
                "build_selector": job.build_selector,
                "image": job.image or "",
                "build_label": job.build_runner,
                "validation_label": job.test_runner,
                "build_runner": catalog.github_runner(job.build_runner),
                "validation_runner": catalog.github_runner(job.test_runner),
                "test_in_build": "true" if job.test_in_build else "false",
                "gpu_test": "true" if job.gpu_test else "false",
                "channel": str(plan.channel),
            }
        )
    return {"include": include}
