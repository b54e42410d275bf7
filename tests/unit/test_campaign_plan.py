"""What a wheel was built against (the build record), the farm's dependency graph, and
campaign planning: which packages a trigger touches, their dependents, skips, order."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from variant_wheelhouse import make_wheelhouse
from wheelyard.catalog import load_catalog
from wheelyard.config.vocab import AcceleratorKind, Platform, PythonMode
from wheelyard.errors import FarmError, FarmRequestError
from wheelyard.farm.builds.stages import abi_dependencies, link_farm_wheels
from wheelyard.farm.campaigns.graph import ImageFacts, PackageFacts, build_graph, requirement_names
from wheelyard.farm.campaigns.plan import DROP, KEEP, NO_BUILD, PARTIAL, Trigger, plan_campaign
from wheelyard.farm.campaigns.recipe_edit import recipe_variants, with_variants
from wheelyard.farm.vocab import CampaignPackageState
from wheelyard.index.publish import publish_wheelhouse
from wheelyard.index.store import FileStore
from wheelyard.pipeline import BuildOptions, load_project
from wheelyard.record import (
    DEFAULT_ABI_DEPENDENCIES,
    BuildRecord,
    JobRecord,
    JobSpec,
    JobStatus,
    WheelInfo,
    build_dependencies_from_log,
    built_against,
)
from wheelyard.wheel.linkage import linkage_of

DATE = dt.date(2026, 11, 21)

LOG = """\
Building cp311-manylinux_x86_64 wheel
    + python -m build /project --wheel --outdir=/tmp/cibuildwheel/built_wheel --installer=uv
* Creating isolated environment: venv+uv...
* Installing packages in isolated environment:
  - setuptools>=68
  - torch==2.9.*
* Getting build dependencies for wheel...
running egg_info
* Installed build dependency versions:
  - numpy==2.3.4
  - Setuptools==80.9.0
  - torch==2.9.1
* Building wheel...
Building cp312-manylinux_x86_64 wheel
* Installed build dependency versions:
  - setuptools==84.2.1
  - yardstream==0.1.0.dev20261120
* Building wheel...
  - not==a-dependency-line-any-more
"""


def test_build_dependency_versions_are_read_per_python_from_pypa_builds_report() -> None:
    assert build_dependencies_from_log(LOG) == {
        "cp311": {"numpy": "2.3.4", "setuptools": "80.9.0", "torch": "2.9.1"},
        "cp312": {"setuptools": "84.2.1", "yardstream": "0.1.0.dev20261120"},
    }
    assert build_dependencies_from_log("no build here\n") == {}


def _extension(tmp_path: Path) -> bytes:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    source = tmp_path / "ext.c"
    source.write_text("#include <math.h>\ndouble f(double x) { return sqrt(x) + cos(x); }\n")
    out = tmp_path / "ext.so"
    subprocess.run(
        [gcc, "-shared", "-fPIC", "-Wl,--no-as-needed", str(source), "-lm", "-o", str(out)],
        check=True,
    )
    return out.read_bytes()


def test_built_against_names_interpreter_image_toolkit_dependencies_and_libraries(
    tmp_path: Path,
) -> None:
    wheel = tmp_path / "demo-1.0-cp312-cp312-manylinux_2_35_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("demo/_ext.cpython-312-x86_64-linux-gnu.so", _extension(tmp_path))
        archive.writestr("demo.libs/libfoo-1a2b3c.so.1", _extension(tmp_path))
        archive.writestr(
            "demo-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
            "Requires-Dist: torch>=2.9\nRequires-Dist: demo-extra; extra == 'x'\n\n",
        )
    image = {
        "ref": "localhost/wheelyard-builder:cu130",
        "id": "45ee7ee6c940",
        "digest": "sha256:abc",
        "labels": {
            "dev.wheelyard.variant": "cu130",
            "dev.wheelyard.toolkit": "nvcc 13.0.88 / gcc 12.2.0",
            "dev.wheelyard.tools": "auditwheel 6.8.2 / patchelf 0.19.3",
        },
    }
    against = built_against(
        wheel,
        image=image,
        build_dependencies={"torch": "2.9.1", "setuptools": "80.9.0"},
        abi_dependencies=("torch", "numpy"),
        contents=linkage_of(wheel),
    )
    assert against["python"] == "cp312"
    assert against["interpreter"] == ["cp312"]
    assert against["abi"] == ["cp312"]
    assert against["platform"] == ["manylinux_2_35_x86_64"]
    assert against["image"] == {
        "ref": "localhost/wheelyard-builder:cu130",
        "id": "45ee7ee6c940",
        "digest": "sha256:abc",
        "variant": "cu130",
    }
    assert against["toolkit"] == {
        "nvcc": "13.0.88",
        "gcc": "12.2.0",
        "auditwheel": "6.8.2",
        "patchelf": "0.19.3",
    }
    assert against["build_dependencies"] == {"setuptools": "80.9.0", "torch": "2.9.1"}
    assert against["abi_dependencies"] == {"torch": "2.9.1"}
    assert against["requires"] == ["torch>=2.9", "demo-extra; extra == 'x'"]
    assert "libm.so.6" in against["shared_libraries"]
    assert against["bundled_libraries"] == ["libfoo-1a2b3c.so.1"]
    assert set(against["elf_needed"]) == {
        "demo/_ext.cpython-312-x86_64-linux-gnu.so",
        "demo.libs/libfoo-1a2b3c.so.1",
    }
    bare = built_against(wheel, image=image, build_dependencies={})
    assert "shared_libraries" not in bare  # no reader handed in: the build does not look inside


def test_runtime_requirements_leave_out_extras() -> None:
    assert requirement_names(
        ["yardstream==0.1", "yardstream-s3; extra == 's3'", "Numpy>=2"], runtime=True
    ) == frozenset({"yardstream", "numpy"})
    assert requirement_names(["setuptools>=68", "not a requirement!"], runtime=False) == frozenset(
        {"setuptools"}
    )


CPU_IMAGE = ImageFacts(
    ref="localhost/wheelyard-builder:cpu", interpreters=("cp39", "cp310", "cp311", "cp312", "cp313")
)


def _facts(
    name: str,
    build_id: int,
    *,
    requires: tuple[str, ...] = (),
    build_deps: dict[str, str] | None = None,
    variants: tuple[str, ...] = ("cpu",),
    python_specific: bool = True,
    seconds: float = 40.0,
) -> PackageFacts:
    return PackageFacts(
        name=name,
        build_id=build_id,
        version="0.1.0.dev20261120",
        source_kind="path",
        source=f"/src/{name}",
        ref=None,
        options=BuildOptions(python=("cp312",), date=dt.date(2026, 11, 20)).model_dump(mode="json"),
        pythons=frozenset({"cp312"}),
        variants=frozenset(variants),
        python_specific=python_specific,
        images=dict.fromkeys(variants, CPU_IMAGE),
        build_dependencies={"setuptools": "84.2.1", **(build_deps or {})},
        requires=frozenset(requires),
        seconds=seconds,
    )


FARM = {
    "yardstream": _facts("yardstream", 1),
    "yardstream-s3": _facts("yardstream-s3", 2, requires=("yardstream",)),
    "yardstream-dedup": _facts(
        "yardstream-dedup",
        3,
        requires=("yardstream",),
        build_deps={"yardstream": "0.1.0.dev20261120"},
    ),
    "hello-c": _facts("hello-c", 4),
}


def test_the_graph_has_runtime_and_build_edges_between_farm_packages_only() -> None:
    graph = build_graph(FARM)
    assert graph.to_json()["edges"] == [
        {"package": "yardstream-dedup", "depends_on": "yardstream", "kinds": ["build", "runtime"]},
        {"package": "yardstream-s3", "depends_on": "yardstream", "kinds": ["runtime"]},
    ]
    assert graph.dependents("yardstream") == {"yardstream-s3", "yardstream-dedup"}
    assert graph.order(FARM) == ["hello-c", "yardstream", "yardstream-dedup", "yardstream-s3"]


def test_a_cycle_is_refused_with_its_members() -> None:
    facts = {
        "a": _facts("a", 1, requires=("b",)),
        "b": _facts("b", 2, requires=("a",)),
    }
    with pytest.raises(FarmRequestError, match="a, b depend on each other"):
        build_graph(facts).order(facts)


def test_pinning_a_farm_package_rebuilds_it_then_its_dependents_and_nothing_else() -> None:
    trigger = Trigger.parse(pins=["yardstream==0.1.0.dev20261121"])
    plan = plan_campaign(trigger, FARM, date=DATE)
    assert [(p.name, p.position) for p in plan.packages] == [
        ("yardstream", 0),
        ("yardstream-dedup", 1),
        ("yardstream-s3", 2),
    ]
    core, dedup, s3 = plan.packages
    assert core.reason == "pinned to yardstream==0.1.0.dev20261121"
    assert core.depends_on == ()
    assert dedup.depends_on == ("yardstream",)
    assert s3.reason == "builds against yardstream"
    assert all(p.state is CampaignPackageState.PENDING for p in plan.packages)
    assert s3.build_options == {
        "variants": [],
        "python": ["cp312"],
        "channel": None,
        "profile": None,
        "date": "2026-11-21",
        "constraints": ["yardstream==0.1.0.dev20261121"],
        "torch": None,
        "rebuild": True,  # a version published already gets the next build tag
    }
    assert s3.estimate_seconds == 40.0


def test_a_new_python_the_image_lacks_is_skipped_with_the_reason_and_so_are_dependents() -> None:
    plan = plan_campaign(Trigger.parse(add_python=["cp314"]), FARM, date=DATE)
    states = {p.name: (p.state, p.message) for p in plan.packages}
    reason = (
        "the cpu builder image localhost/wheelyard-builder:cpu has no cp314 "
        "(it has cp39 cp310 cp311 cp312 cp313)"
    )
    assert states["hello-c"] == (CampaignPackageState.SKIPPED, reason)
    assert states["yardstream"] == (CampaignPackageState.SKIPPED, reason)
    assert all(p.estimate_seconds == 0 for p in plan.packages)


def test_a_new_python_the_image_has_builds_only_that_python_in_the_release() -> None:
    plan = plan_campaign(Trigger.parse(add_python=["cp313"]), FARM, date=DATE)
    assert [p.name for p in plan.packages] == [
        "hello-c",
        "yardstream",
        "yardstream-dedup",
        "yardstream-s3",
    ]
    s3 = plan.packages[-1]
    assert s3.depends_on == ("yardstream",)
    assert s3.reason == "no cp313 wheels yet"
    assert s3.build_options["python"] == ["cp313"]
    assert s3.build_options["date"] == "2026-11-20"  # the same release: new wheels join it
    assert s3.build_options[PARTIAL] is True
    assert s3.build_options["rebuild"] is False  # new wheels of the release: no build tag
    abi3 = {**FARM, "hello-c": _facts("hello-c", 4, python_specific=False)}
    assert "hello-c" not in [
        p.name for p in plan_campaign(Trigger.parse(add_python=["cp313"]), abi3, date=DATE).packages
    ]


def test_an_abi_pin_touches_packages_built_against_another_version_and_their_dependents() -> None:
    facts = {
        **FARM,
        "yardstream": _facts("yardstream", 1, build_deps={"torch": "2.9.1"}),
        "kernels": _facts("kernels", 5, build_deps={"torch": "2.14.0"}, variants=("cpu", "cu130")),
    }
    plan = plan_campaign(Trigger.parse(pins=["torch==2.14.*"]), facts, date=DATE)
    assert [p.name for p in plan.packages] == ["yardstream", "yardstream-dedup", "yardstream-s3"]
    assert plan.packages[0].reason == "built against torch 2.9.1; the pin asks ==2.14.*"
    assert plan.packages[0].build_options["torch"] == "==2.14.*"
    assert plan.packages[1].build_options["torch"] is None


def test_a_replaced_variant_builds_the_new_one_and_drops_the_old_from_the_recipe() -> None:
    facts = {
        **FARM,
        "kernels": _facts("kernels", 5, variants=("cpu", "cu126", "cu128")),
        "old": _facts("old", 6, variants=("cu126",)),
    }
    plan = plan_campaign(
        Trigger.parse(add_variants=["cu130"], drop_variants=["cu126"]), facts, date=DATE
    )
    kernels, old = plan.packages
    assert kernels.reason == "builds cu126, cu128 but not cu130; builds cu126, which is dropped"
    assert kernels.build_options["variants"] == ["cu130"]
    assert kernels.build_options[DROP] == ["cu126"]
    assert kernels.build_options[KEEP] == ["cpu", "cu128", "cu130"]
    assert NO_BUILD not in kernels.build_options
    assert kernels.estimate_seconds == pytest.approx(40.0 / 3)
    assert (old.state, old.build_options[KEEP]) == (CampaignPackageState.PENDING, ["cu130"])
    # A drop alone changes the recipe and builds nothing; a package left without a variant is
    # skipped.
    dropped, old = plan_campaign(Trigger.parse(drop_variants=["cu126"]), facts, date=DATE).packages
    assert old.state is CampaignPackageState.SKIPPED
    assert old.message == "dropping cu126 would leave old no variant to build"
    assert dropped.state is CampaignPackageState.PENDING
    assert dropped.build_options[NO_BUILD] is True
    assert dropped.build_options[KEEP] == ["cpu", "cu128"]
    assert dropped.estimate_seconds == 0
    # With a pin as well, the rebuild's own variant list leaves the dropped one out.
    pinned = {
        **facts,
        "kernels": _facts("kernels", 5, variants=("cpu", "cu126"), build_deps={"torch": "2.9.1"}),
    }
    pinned["kernels"] = replace(
        pinned["kernels"], options={**pinned["kernels"].options, "variants": ["cpu", "cu126"]}
    )
    trigger = Trigger.parse(drop_variants=["cu126"], pins=["torch==2.14.*"])
    [rebuilt] = [
        p for p in plan_campaign(trigger, pinned, date=DATE).packages if p.name == "kernels"
    ]
    assert rebuilt.build_options["variants"] == ["cpu"]
    assert rebuilt.build_options[DROP] == ["cu126"]
    assert NO_BUILD not in rebuilt.build_options


def test_only_narrows_the_campaign_but_a_pinned_package_keeps_its_dependents() -> None:
    plan = plan_campaign(Trigger.parse(add_python=["cp313"]), FARM, date=DATE, only=["hello-c"])
    assert [p.name for p in plan.packages] == ["hello-c"]
    with pytest.raises(FarmRequestError, match="no published package named nope"):
        plan_campaign(Trigger.parse(add_python=["cp313"]), FARM, date=DATE, only=["nope"])


def test_triggers_are_validated_all_at_once() -> None:
    with pytest.raises(FarmRequestError) as info:
        Trigger.parse(
            add_python=["python3.14"],
            add_variants=["CU 130", "cu126"],
            drop_variants=["cu126"],
            pins=["torch", "numpy==2.*", "numpy>=2"],
        )
    message = info.value.message
    assert "--add-python 'python3.14' is not a CPython identifier" in message
    assert "variant 'CU 130' is not a variant name" in message
    assert "cu126 is both added and dropped" in message
    assert "--pin 'torch' needs a version specifier" in message
    assert "numpy is pinned twice" in message
    with pytest.raises(FarmRequestError, match="needs a trigger"):
        Trigger.parse()
    trigger = Trigger.parse(add_python=["cp314"], pins=["torch==2.14.*"])
    assert Trigger.from_json(trigger.to_json()) == trigger
    assert trigger.describe() == "add cp314, pin torch==2.14.*"


def test_build_options_carry_constraints_and_a_torch_pin(tmp_path: Path) -> None:
    options = BuildOptions(python=("cp312",), constraints=("numpy==2.3.*",), torch="==2.14.*")
    assert BuildOptions.model_validate(options.model_dump(mode="json")) == options
    assert options.environ()["WHEELYARD_TORCH"] == "==2.14.*"
    # Options stored before the pins existed still read (and keys the farm keeps beside them).
    old = {"variants": [], "python": ["cp312"], "channel": None, "profile": None, "date": None}
    assert BuildOptions.model_validate({**old, "build_tag": "1"}) == BuildOptions(python=("cp312",))


def test_builds_find_the_farms_published_wheels_of_other_packages(tmp_path: Path) -> None:
    data = tmp_path / "data"
    wheelhouse = make_wheelhouse(
        tmp_path / "wheelhouse", variants=["cpu", "cu128"], pythons=["cp312"]
    )
    publish_wheelhouse(wheelhouse, FileStore(data / "index"), catalog=load_catalog())
    cpu = tmp_path / "job" / "cpu"
    assert link_farm_wheels(data, cpu, variant="cpu", exclude=set()) == 1
    assert [p.name for p in cpu.iterdir()] == [
        "cuda_kernels-0.1.0.dev20261120-cp312-cp312-manylinux_2_35_x86_64.whl"
    ]  # the non-variant fallback: what pip and uv install
    gpu = tmp_path / "job" / "cu128"
    assert link_farm_wheels(data, gpu, variant="cu128", exclude=set()) == 1
    assert [p.name for p in gpu.iterdir()] == [
        "cuda_kernels-0.1.0.dev20261120+cu128-cp312-cp312-manylinux_2_35_x86_64.whl"
    ]
    own = tmp_path / "own"
    assert link_farm_wheels(data, own, variant="cpu", exclude={"cuda-kernels"}) == 0
    assert link_farm_wheels(tmp_path / "no-farm", own, variant="cpu", exclude=set()) == 0


def test_the_abi_list_comes_from_the_data_directory(tmp_path: Path) -> None:
    assert abi_dependencies(tmp_path) == DEFAULT_ABI_DEPENDENCIES
    (tmp_path / "abi-dependencies.txt").write_text("# ours\ntorch\n\nmy-core  # a farm package\n")
    assert abi_dependencies(tmp_path) == ("torch", "my-core")


def test_a_dropped_variant_is_written_into_the_farm_recipe_keeping_what_admins_wrote() -> None:
    table = '# admins\n[tool.wheelyard]\npython = ["cp312"]  # one Python\nvariants = ["cpu", "cu126"]\n'
    changed = with_variants(table, ["cpu"], why="campaign 7: cu126 dropped")
    assert changed.startswith('# admins\n[tool.wheelyard]\npython = ["cp312"]  # one Python\n')
    assert 'variants = ["cpu"] # campaign 7: cu126 dropped' in changed
    assert recipe_variants(changed) == ["cpu"]
    top_level = with_variants('python = ["cp312"]\n', ["cpu", "cu128"], why="x")
    assert recipe_variants(top_level) == ["cpu", "cu128"]
    assert recipe_variants(with_variants(None, ["cpu"], why="x")) == ["cpu"]
    assert recipe_variants(None) is None
    assert recipe_variants('python = ["cp312"]\n') is None
    with pytest.raises(FarmError, match="farm recipe is not TOML"):
        with_variants("variants = [", ["cpu"], why="x")


def test_a_package_whose_recipe_dropped_a_variant_plans_without_it(tmp_path: Path) -> None:
    project = Path(__file__).parents[2] / "examples" / "cuda-kernels"
    recipe = tmp_path / "farm-recipe.toml"
    recipe.write_text(with_variants(None, ["cpu", "cu128", "cu130"], why="cu126 dropped"))
    loaded = load_project(project, BuildOptions(), farm_recipe=recipe, host=Platform.LINUX_X86_64)
    assert [job.variant for job in loaded.units[0].plan.jobs] == ["cpu", "cu128", "cu130"]


def _job(package: str, variant: str, paths: list[str]) -> JobRecord:
    spec = JobSpec(
        id=f"linux-x86_64-{variant}",
        platform=Platform.LINUX_X86_64,
        os="linux",
        arch="x86_64",
        variant=variant,
        kind=AcceleratorKind.CPU if variant == "cpu" else AcceleratorKind.CUDA,
        python_mode=PythonMode.PER_INTERPRETER,
        pythons=("cp312",),
    )
    wheels = tuple(
        WheelInfo(
            name=Path(path).name,
            path=path,
            size=1,
            sha256="0" * 64,
            python="cp312",
            platform_tags=("linux_x86_64",),
        )
        for path in paths
    )
    return JobRecord(job=spec, status=JobStatus.SUCCEEDED, package=package, wheels=wheels)


def test_a_build_records_wheels_are_grouped_per_package_for_the_gate(tmp_path: Path) -> None:
    """What the build gate of the CLI and the farm's verify stage both read from a record."""
    BuildRecord(
        package="yardstream",
        version="1",
        channel="release",
        source="here",
        started_at="2026-11-21T00:00:00+00:00",
        jobs=(
            _job("yardstream", "cpu", ["cpu/yardstream-1-cp312.whl"]),
            _job(
                "yardstream-s3",
                "cpu",
                ["cpu/yardstream_s3-1-cp312.whl", "cpu/yardstream_s3-1-cp313.whl"],
            ),
            _job("kernels", "cu130", []),
        ),
    ).save(tmp_path)
    record = BuildRecord.load(tmp_path)
    assert record.wheels_by_package(tmp_path) == {
        "yardstream": [tmp_path / "cpu/yardstream-1-cp312.whl"],
        "yardstream-s3": [
            tmp_path / "cpu/yardstream_s3-1-cp312.whl",
            tmp_path / "cpu/yardstream_s3-1-cp313.whl",
        ],
    }
    assert record.variant_dirs(tmp_path) == (
        (tmp_path / "cpu").resolve(),
        (tmp_path / "cu130").resolve(),
    )
