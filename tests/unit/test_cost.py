"""The cost model reproduces the known shape: 24 jobs -> 4, GPU time from full builds to smoke."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wheelyard.catalog import load_catalog
from wheelyard.config import load_recipe
from wheelyard.config.vocab import Platform
from wheelyard.errors import TimingsError
from wheelyard.plan import make_plan
from wheelyard.plan.cost import CostParameters, estimate, load_parameters


def matrix_plan(projects: Path):  # type: ignore[no-untyped-def]
    loaded = load_recipe(projects / "matrix-4x6", environ={})
    return make_plan(loaded, load_catalog(), host=Platform.LINUX_X86_64)


def test_shape_of_the_estimate(projects: Path) -> None:
    params = CostParameters(
        startup_s=60, checkout_s=60, native_core_s=600, binding_s=60, smoke_test_s=60, artifact_s=0
    )
    cost = estimate(matrix_plan(projects), params)
    one = 60 + 60 + 600 + 60 + 60  # a full fan-out job
    assert cost.fanout.jobs == 24
    assert cost.fanout.runner_seconds == 24 * one
    assert cost.fanout.gpu_seconds == 18 * one  # three GPU variants x six Pythons
    assert cost.consolidated.jobs == 4
    build = 60 + 60 + 600 + 6 * 60
    assert cost.consolidated.runner_seconds == 4 * (build + 6 * 60)
    assert (cost.split.build_jobs, cost.split.test_jobs) == (4, 3)
    smoke = 60 + 0 + 6 * 60
    assert cost.split.gpu_seconds == 3 * smoke
    assert cost.split.runner_seconds == 4 * build + 6 * 60 + 3 * smoke
    # GPU time: from 18 full builds to 3 short smoke jobs.
    assert cost.ratio(cost.split, "gpu_seconds") == pytest.approx(3 * smoke / (18 * one))
    data = cost.to_json()
    assert data["scenarios"]["fan-out"]["jobs"] == 24
    assert data["scenarios"]["consolidated+split"]["test_jobs"] == 3


def test_parameters_from_timings_file(tmp_path: Path, projects: Path) -> None:
    path = tmp_path / "timings.json"
    path.write_text(json.dumps({"parameters": {"native_core_s": 42.5, "binding_s": 3}}))
    params = load_parameters(path)
    assert params.native_core_s == 42.5
    assert params.binding_s == 3.0
    assert params.startup_s == CostParameters().startup_s
    assert params.source == str(path)
    cost = estimate(matrix_plan(projects), params)
    assert cost.parameters.native_core_s == 42.5


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"native_core": 1}', "native_core: unknown parameter (did you mean 'native_core_s'?)"),
        ('{"binding_s": -1}', "binding_s: must be a number of seconds >= 0"),
        ('{"binding_s": "fast"}', "binding_s: must be a number of seconds >= 0"),
        ("[1, 2]", "parameters: must be a JSON object"),
    ],
)
def test_bad_timings(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(content)
    with pytest.raises(TimingsError) as info:
        load_parameters(path)
    assert [p.render() for p in info.value.problems] == [f"{path}: {expected}"]
