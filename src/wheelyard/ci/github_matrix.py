"""From the plan's GitHub matrix to the matrices the workflow's jobs run over.

``wheelyard plan --format github`` prints one entry per planned job (per package in a
multi-package repository). The workflow needs two matrices, computed at run time by the plan
job so that a change of the recipe (variants, consolidation) changes the jobs without
regenerating the workflow:

- ``matrix``: one **build** job per job id. In a multi-package repository the packages share
  the job ids (``linux-x86_64-cu128``) and are built by one ``wheelyard build ROOT --job ID``,
  in order, so a later package's build and tests find the earlier ones' wheels;
- ``smoke-matrix``: one **smoke** job per job id whose entries ask for a separate GPU test
  (``gpu_test``), on the ``validation_runner``; it smoke-tests each such package's wheels.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wheelyard.catalog.model import Catalog
from wheelyard.config.model import PYTHON_IDENTIFIER
from wheelyard.errors import CiError
from wheelyard.plan.github import github_matrix
from wheelyard.plan.matrix import Plan

GITHUB_MATRIX_LIMIT = 256
"""GitHub Actions runs at most 256 jobs per matrix."""

REQUIRED_KEYS = (
    "id",
    "variant",
    "pythons",
    "test_pythons",
    "build_runner",
    "validation_runner",
    "gpu_test",
)
MULTI_KEYS = ("package", "package_dir")


@dataclass(frozen=True, kw_only=True)
class PackagePlan:
    """One package's plan, with where it sits in a multi-package repository."""

    plan: Plan
    catalog: Catalog
    package_dir: str | None = None
    """Relative to the repository's root recipe; ``None`` for a single-package repository."""


@dataclass(frozen=True, kw_only=True)
class WorkflowMatrices:
    build: tuple[dict[str, str], ...]
    smoke: tuple[dict[str, str], ...]

    def outputs(self) -> dict[str, str]:
        """The plan job's outputs, by name."""
        return {
            "matrix": _compact({"include": list(self.build)}),
            "smoke-matrix": _compact({"include": list(self.smoke)}),
            "build-count": str(len(self.build)),
            "smoke-count": str(len(self.smoke)),
        }

    def output_lines(self) -> str:
        """``name=value`` lines for ``$GITHUB_OUTPUT`` (every value is one line)."""
        return "".join(f"{name}={value}\n" for name, value in self.outputs().items())


def _compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def plan_include(plans: Sequence[PackagePlan]) -> list[dict[str, str]]:
    """What ``wheelyard plan --format github`` prints, from plans made in-process."""
    include: list[dict[str, str]] = []
    for item in plans:
        for entry in github_matrix(item.plan, item.catalog)["include"]:
            if item.package_dir is None:
                include.append(dict(entry))
            else:
                include.append(
                    {**entry, "package": item.plan.package, "package_dir": item.package_dir}
                )
    return include


def wheel_prefix(project: str) -> str:
    """The start of a project's wheel file names (PEP 427 escaping), with the dash."""
    return re.sub(r"[-_.]+", "_", project).lower() + "-"


def setup_python_versions(identifiers: Sequence[str]) -> str:
    """``cp310 cp314t`` -> ``3.10`` / ``3.14t`` lines, as actions/setup-python reads them."""
    versions: list[str] = []
    for ident in identifiers:
        match = PYTHON_IDENTIFIER.match(ident)
        if match is None:
            continue
        version = f"3.{match.group(1)}{match.group(2)}"
        if version not in versions:
            versions.append(version)
    return "\n".join(versions)


def _checked(document: Any) -> list[dict[str, str]]:
    """The include list of a plan matrix, or every problem with it at once."""
    if not isinstance(document, Mapping) or not isinstance(document.get("include"), list):
        raise CiError(
            'not a plan matrix: expected a JSON object {"include": [...]}',
            hint="pass the output of `wheelyard plan PATH --format github`",
        )
    problems: list[str] = []
    entries: list[dict[str, str]] = []
    for index, entry in enumerate(document["include"]):
        if not isinstance(entry, Mapping):
            problems.append(f"include[{index}]: not an object")
            continue
        missing = [key for key in REQUIRED_KEYS if key not in entry]
        if missing:
            problems.append(f"include[{index}]: missing {', '.join(missing)}")
        not_strings = sorted(key for key, value in entry.items() if not isinstance(value, str))
        if not_strings:
            problems.append(f"include[{index}]: not strings: {', '.join(not_strings)}")
        entries.append({str(key): str(value) for key, value in entry.items()})
    multi = [all(key in entry for key in MULTI_KEYS) for entry in entries]
    if entries and any(multi) and not all(multi):
        problems.append("some entries name their package and others do not")
    if problems:
        raise CiError(
            "invalid plan matrix:\n  - " + "\n  - ".join(problems),
            hint="pass the unmodified output of `wheelyard plan PATH --format github`",
        )
    if not entries:
        raise CiError(
            "the plan matrix has no job: nothing to build",
            hint="`wheelyard plan PATH` shows what the recipe selects",
        )
    return entries


def _groups(entries: Sequence[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    groups: dict[str, list[dict[str, str]]] = {}
    for entry in entries:
        groups.setdefault(entry["id"], []).append(entry)
    return groups


def _union(values: Sequence[str]) -> str:
    seen: dict[str, None] = {}
    for value in values:
        for word in value.split():
            seen.setdefault(word, None)
    return " ".join(seen)


def _build_entry(group: Sequence[dict[str, str]], multi: bool) -> dict[str, str]:
    first = group[0]
    wheels = str(sum(len(item["pythons"].split()) for item in group))
    if not multi:
        return {**first, "wheels": wheels}
    entry = {key: value for key, value in first.items() if key not in MULTI_KEYS}
    entry["wheels"] = wheels
    entry["packages"] = " ".join(item["package"] for item in group)
    entry["pythons"] = _union([item["pythons"] for item in group])
    entry["test_pythons"] = _union([item["test_pythons"] for item in group])
    return entry


def _smoke_entry(group: Sequence[dict[str, str]], multi: bool) -> dict[str, str] | None:
    tested = [item for item in group if item["gpu_test"] == "true"]
    if not tested:
        return None
    entry = _build_entry(tested, multi)
    test_pythons = _union([item["test_pythons"] for item in tested])
    entry["test_pythons"] = test_pythons
    entry["python_versions"] = setup_python_versions(test_pythons.split())
    if multi:
        entry["package_dirs"] = " ".join(item["package_dir"] for item in tested)
        entry["wheel_prefixes"] = " ".join(wheel_prefix(item["package"]) for item in tested)
    else:
        entry["package_dirs"] = "."
        entry["wheel_prefixes"] = ""
    return entry


def derive_matrices(document: Any) -> WorkflowMatrices:
    """The build and smoke matrices from a plan matrix (the parsed JSON document)."""
    entries = _checked(document)
    multi = all(key in entries[0] for key in MULTI_KEYS)
    groups = _groups(entries)
    build = tuple(_build_entry(group, multi) for group in groups.values())
    smoke = tuple(
        entry for group in groups.values() if (entry := _smoke_entry(group, multi)) is not None
    )
    for name, matrix in (("build", build), ("smoke", smoke)):
        if len(matrix) > GITHUB_MATRIX_LIMIT:
            raise CiError(
                f"the {name} matrix has {len(matrix)} jobs; GitHub Actions runs at most "
                f"{GITHUB_MATRIX_LIMIT} per matrix",
                hint="consolidate (consolidation = 'per-variant' or { groups = N }) or build "
                "fewer variants, platforms or Pythons",
            )
    return WorkflowMatrices(build=build, smoke=smoke)


def read_plan_matrix(text: str, *, source: str) -> WorkflowMatrices:
    """Parse the text of ``wheelyard plan --format github`` and derive the matrices."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CiError(
            f"{source}: not JSON: {exc}",
            hint="pass the output of `wheelyard plan PATH --format github`",
        ) from exc
    return derive_matrices(document)
