"""Building against torch: where a variant's torch comes from, which one a job gets (pip resolves
it for real, from local folders of wheels), what the record and the gate are told of it."""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
import zipfile
from base64 import urlsafe_b64encode
from pathlib import Path

import pytest

from wheelyard.builder.options import repair_command
from wheelyard.builder.torch import (
    USED_MARK,
    TorchRequest,
    accelerator_matches,
    prepare_torch,
    sweep_torch_cache,
    write_simple_index,
)
from wheelyard.catalog import load_catalog
from wheelyard.config import load_recipe
from wheelyard.config.vocab import Channel, Platform
from wheelyard.errors import CatalogError, ConfigError, TorchError
from wheelyard.plan import make_plan
from wheelyard.record import TorchBuild, TorchEntry
from wheelyard.verify.options import VerifyOptions, with_torch
from wheelyard.wheel.torch import torch_facts, torch_identity

REFUSED = "http://127.0.0.1:9/simple"
"""An index nobody answers on (the discard port)."""


def fake_torch(folder: Path, version: str, python: str = "cp311", cuda: str | None = None) -> Path:
    """A torch wheel with a ``torch/version.py`` as PyTorch writes it (no libraries)."""
    folder.mkdir(parents=True, exist_ok=True)
    tag = f"{python}-{python}-manylinux_2_28_x86_64"
    path = folder / f"torch-{version}-{tag}.whl"
    dist = f"torch-{version}.dist-info"
    files = {
        "torch/__init__.py": b"",
        "torch/version.py": (
            "from typing import Optional\n"
            f"__version__ = '{version if '+' in version else version + '+cu130'}'\n"
            f"cuda: Optional[str] = {cuda!r}\n"
            "git_version = 'abc123'\nhip: Optional[str] = None\n"
        ).encode(),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {tag}\n".encode(),
    }
    record = [
        f"{name},sha256={urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
        f"{len(data)}"
        for name, data in files.items()
    ]
    files[f"{dist}/RECORD"] = ("\n".join([*record, f"{dist}/RECORD,,"]) + "\n").encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def request(source: Path | str, **changes: object) -> TorchRequest:
    values: dict[str, object] = {
        "variant": "cpu",
        "specifier": ">=2.13",
        "sources": (str(source),),
        "pythons": ("cp311",),
        "arch": "x86_64",
        "dependency_index": REFUSED,  # the fake torch has no dependencies to fetch
    }
    values.update(changes)
    return TorchRequest(**values)  # type: ignore[arg-type]


# -- where torch comes from -----------------------------------------------------------------


def test_the_catalog_names_pytorchs_own_index_per_channel() -> None:
    catalog = load_catalog()
    assert catalog.torch_sources("cu130", Channel.RELEASE) == (
        "https://download.pytorch.org/whl/cu130",
    )
    assert catalog.torch_sources("cpu", Channel.NIGHTLY) == (
        "https://download.pytorch.org/whl/nightly/cpu",
    )
    assert catalog.torch_sources("rocm7.0", Channel.TEST) == (
        "https://download.pytorch.org/whl/test/rocm7.0",
    )


def test_a_recipe_overrides_the_sources_for_every_variant_or_per_variant() -> None:
    catalog = load_catalog()
    everywhere = ["https://farm.example/whl/{channel}/{variant}", "/srv/torch/{variant}"]
    assert catalog.torch_sources("cu130", Channel.NIGHTLY, everywhere) == (
        "https://farm.example/whl/nightly/cu130",
        "/srv/torch/cu130",
    )
    per_variant = {"cpu": ["file:///opt/wheels"]}
    assert catalog.torch_sources("cpu", Channel.RELEASE, per_variant) == ("file:///opt/wheels",)
    # a variant the table does not name keeps the catalog's
    assert catalog.torch_sources("cu130", Channel.RELEASE, per_variant) == (
        "https://download.pytorch.org/whl/cu130",
    )
    # a farm's own sources stand in for the catalog's, never for what a recipe names
    farm = ["https://farm.example/{variant}"]
    assert catalog.torch_sources("cu130", Channel.RELEASE, per_variant, fallback=farm) == (
        "https://farm.example/cu130",
    )
    assert catalog.torch_sources("cpu", Channel.RELEASE, per_variant, fallback=farm) == (
        "file:///opt/wheels",
    )


def test_a_farm_can_point_the_catalog_at_its_own_index() -> None:
    catalog = load_catalog({"torch": {"release": ["https://farm.example/torch/{variant}"]}})
    assert catalog.torch_sources("cu128", Channel.RELEASE) == ("https://farm.example/torch/cu128",)
    with pytest.raises(CatalogError, match="neither an http"):
        load_catalog({"torch": {"release": ["ftp://mirror/torch"]}})


def write_recipe(folder: Path, table: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "ext"\nversion = "1.0"\n\n[tool.wheelyard]\n' + table,
        encoding="utf-8",
    )
    return folder


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('torch-index = ["ftp://mirror/torch"]', "neither an http"),
        ('torch-index = ["https://x/{arch}"]', "unknown field"),
        ('torch-index = ["relative/folder"]', "neither an http"),
        ('torch-index = { "CPU!" = ["/srv"] }', "not a variant name"),
        ('torch = "2.13"', "not a version specifier"),
    ],
)
def test_bad_torch_settings_are_refused_with_the_reason(
    tmp_path: Path, table: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_recipe(write_recipe(tmp_path, table), environ={})


def test_torch_sources_come_from_the_environment_too(tmp_path: Path) -> None:
    folder = write_recipe(tmp_path, 'torch = ">=2.13"\n')
    listed = load_recipe(folder, environ={"WHEELYARD_TORCH_INDEX": "/srv/a https://x/{variant}"})
    assert listed.recipe.torch_index == ["/srv/a", "https://x/{variant}"]
    table = load_recipe(folder, environ={"WHEELYARD_TORCH_INDEX": '{"cu130": ["/srv/cu130"]}'})
    assert table.recipe.torch_index == {"cu130": ["/srv/cu130"]}


# -- which torch a job gets ------------------------------------------------------------------


def test_a_job_gets_the_first_sources_matching_torch_once_then_from_the_cache(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    wheels = tmp_path / "wheels"
    fake_torch(wheels, "2.13.0+cpu")
    fake_torch(wheels, "2.12.0+cpu")
    cache = tmp_path / "cache"
    req = request(empty, sources=(str(empty), wheels.as_uri()))
    first = prepare_torch(req, cache, identity=torch_facts)
    (build,) = first.entry.builds
    assert (build.python, build.version, build.accelerator) == ("cp311", "2.13.0+cpu", "cpu")
    assert build.source == wheels.as_uri()
    assert (first.entry.downloaded_files, first.entry.reused_files) == (1, 0)
    house = first.wheelhouse
    assert house.parent == cache and house.name.startswith("cpu-")
    assert first.entry.downloaded_bytes == (house / build.wheel).stat().st_size
    assert first.constraints == 'torch==2.13.0+cpu ; python_version == "3.11"\n'
    page = (house / "simple" / "torch" / "index.html").read_text(encoding="utf-8")
    assert f'href="../../{build.wheel}"' in page
    env = first.environment("/wheelyard-early/torch-constraints.txt")
    assert env["UV_INDEX"] == "file:///wheelyard-torch/simple"
    assert env["UV_CONSTRAINT"] == env["PIP_CONSTRAINT"] == "/wheelyard-early/torch-constraints.txt"

    again = prepare_torch(req, cache, identity=torch_facts)
    assert (again.entry.downloaded_files, again.entry.reused_files) == (0, 1)
    assert again.entry.builds == first.entry.builds
    # other sources, another wheelhouse: a file from one source never serves another's builds
    other = prepare_torch(request(wheels), cache, identity=torch_facts)
    assert other.wheelhouse != house and other.entry.downloaded_files == 1


def test_the_specifier_chooses_among_the_sources_versions(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    fake_torch(wheels, "2.13.0+cpu")
    fake_torch(wheels, "2.12.0+cpu")
    setup = prepare_torch(
        request(wheels, specifier="==2.12.*"), tmp_path / "c", identity=torch_facts
    )
    assert [b.version for b in setup.entry.builds] == ["2.12.0+cpu"]


def test_no_matching_torch_fails_naming_variant_source_and_specifier(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    fake_torch(wheels, "2.13.0+cpu")
    with pytest.raises(TorchError) as caught:
        prepare_torch(request(wheels, specifier="==9.9"), tmp_path / "c", identity=torch_facts)
    text = str(caught.value)
    assert "no torch for cpu (cp311, x86_64) matching 'torch==9.9'" in text
    assert str(wheels) in text and "2.13.0+cpu" in text  # pip's own list of what it saw
    with pytest.raises(TorchError, match="cp312"):  # the only wheel is for cp311
        prepare_torch(request(wheels, pythons=("cp312",)), tmp_path / "c", identity=torch_facts)


def test_a_source_that_does_not_answer_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(TorchError, match=r"torch source http://127\.0\.0\.1:9/simple does not"):
        prepare_torch(request(REFUSED), tmp_path / "c", identity=torch_facts)
    with pytest.raises(TorchError, match="no such folder"):
        prepare_torch(request(tmp_path / "missing"), tmp_path / "c", identity=torch_facts)


def test_a_gpu_variant_refuses_a_torch_built_for_another_toolkit(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    fake_torch(wheels, "2.15.0", cuda="13.2")
    req = request(wheels, variant="cu130", accelerator="cuda 13.0")
    with pytest.raises(TorchError, match=r"built for cuda 13\.2; the cu130 variant needs"):
        prepare_torch(req, tmp_path / "c", identity=torch_facts)
    fake_torch(wheels, "2.14.1", cuda="13.0")
    setup = prepare_torch(replace_spec(req, "<2.15"), tmp_path / "c", identity=torch_facts)
    (build,) = setup.entry.builds
    assert (build.version, build.torch_version, build.cuda) == ("2.14.1", "2.14.1+cu130", "13.0")
    # PyPI's CUDA build has no local tag: the pin is the version installers see
    assert setup.constraints == 'torch==2.14.1 ; python_version == "3.11"\n'


def replace_spec(req: TorchRequest, specifier: str) -> TorchRequest:
    from dataclasses import replace

    return replace(req, specifier=specifier)


def test_accelerators_match_by_kind_and_minor_version() -> None:
    assert accelerator_matches(None, "cuda 13.2")  # a cpu build takes any torch
    assert accelerator_matches("cuda 13.0", "cuda 13.0")
    assert not accelerator_matches("cuda 13.0", "cuda 13.2")
    assert not accelerator_matches("cuda 13.0", "cpu")
    assert accelerator_matches("rocm 7.0", "rocm 7.0.51831-a3e329ad8")
    assert accelerator_matches("xpu", "xpu")


def test_pythons_that_got_different_torches_are_pinned_each() -> None:
    def build(python: str, version: str) -> TorchBuild:
        return TorchBuild(python=python, version=version, accelerator="cpu", wheel="w", source="s")

    def pins(*builds: TorchBuild) -> list[str]:
        entry = TorchEntry(specifier="", sources=(), wheelhouse="w", builds=builds)
        return entry.constraints()

    assert pins(build("cp310", "2.14.1"), build("cp312", "2.15.0")) == [
        'torch==2.14.1 ; python_version == "3.10"',
        'torch==2.15.0 ; python_version == "3.12"',
    ]
    # a free-threaded and a regular build of 3.14 with different torches: neither pinned
    assert pins(build("cp314", "2.15.0"), build("cp314t", "2.15.1")) == []


def test_the_simple_index_lists_each_project_once(tmp_path: Path) -> None:
    fake_torch(tmp_path, "2.13.0+cpu")
    (tmp_path / "Jinja2-3.1.6-py3-none-any.whl").write_bytes(b"")
    root = write_simple_index(tmp_path)
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["jinja2", "torch"]


# -- what the record and the gate are told ---------------------------------------------------


def test_the_identity_is_read_from_the_wheels_files(tmp_path: Path) -> None:
    identity = torch_identity(fake_torch(tmp_path, "2.14.1", cuda="13.0"))
    assert identity.version == "2.14.1"
    assert identity.torch_version == "2.14.1+cu130"
    assert identity.accelerator == "cuda 13.0"
    assert identity.git_version == "abc123"
    assert identity.cxx11_abi is None  # no libc10.so in this wheel to tell


REAL_CPU_TORCH = sorted(Path("/opt/wheels").glob("torch-*+cpu-cp311-*.whl"))


@pytest.mark.skipif(not REAL_CPU_TORCH, reason="no CPU torch wheel in /opt/wheels")
def test_the_identity_of_a_real_torch_wheel() -> None:
    identity = torch_identity(REAL_CPU_TORCH[-1])
    assert identity.version.endswith("+cpu")
    assert identity.accelerator == "cpu"
    assert identity.cxx11_abi is True  # libc10.so exports std::__cxx11 symbols


def test_the_gate_installs_the_torch_of_the_job(tmp_path: Path) -> None:
    entry = TorchEntry(
        specifier=">=2.13",
        sources=("/opt/wheels",),
        wheelhouse=str(tmp_path / "cpu"),
        builds=(
            TorchBuild(
                python="cp311", version="2.13.0+cpu", accelerator="cpu", wheel="w", source="s"
            ),
        ),
    )
    options = with_torch(VerifyOptions(index_url="https://pypi.org/simple"), entry)
    assert options.constraints == ('torch==2.13.0+cpu ; python_version == "3.11"',)
    assert options.first_indexes == ((tmp_path / "cpu" / "simple").as_uri(),)
    assert options.find_links == (tmp_path / "cpu",)
    assert with_torch(options, None) is options


def test_repair_keeps_torchs_and_its_gpu_runtimes_libraries_out(projects: Path) -> None:
    loaded = load_recipe(projects / "matrix-4x6", environ={})
    plan = make_plan(loaded, load_catalog(), host=Platform.LINUX_X86_64)
    jobs = {job.variant: job for job in plan.jobs}
    gpu = repair_command(jobs["cu128"], torch=True)
    assert "--exclude 'libc10*.so'" in gpu and "--exclude 'libcudart.so*'" in gpu
    cpu = repair_command(jobs["cpu"], torch=True)
    assert "--exclude 'libtorch*.so'" in cpu and "libcudart" not in cpu


def test_libraries_a_required_distribution_provides_are_external_by_design() -> None:
    from wheelyard.catalog.libraries import provided_by

    provided = provided_by(["torch<2.14,>=2.13", "numpy", 'pytest ; extra == "test"'])
    assert provided["libc10*.so"] == "torch" and provided["libcudart.so*"] == "torch"
    assert provided_by(['torch ; extra == "gpu"', "not a requirement !"]) == {}


def test_a_torch_extension_is_imported_after_torch() -> None:
    from wheelyard.catalog.libraries import loader_modules

    assert loader_modules(["torch>=2.10"], ["libc10.so", "libc.so.6"]) == ["torch"]
    # requires torch but links none of its libraries (pure Python on top of torch): as it is
    assert loader_modules(["torch>=2.10"], ["libc.so.6"]) == []
    assert loader_modules(["numpy"], ["libc10.so"]) == []


def _wheelhouse(cache: Path, name: str, size: int, used_ago: float, now: float) -> Path:
    folder = cache / name
    folder.mkdir(parents=True)
    (folder / "torch-2.13.0-cp311-cp311-linux_x86_64.whl").write_bytes(b"\0" * size)
    (folder / USED_MARK).touch()
    os.utime(folder / USED_MARK, (now - used_ago, now - used_ago))
    return folder


def test_the_torch_cache_sweep_removes_the_least_recently_used_idle_wheelhouses(
    tmp_path: Path,
) -> None:
    now = time.time()
    cache = tmp_path / "torch"
    hour = 3600.0
    oldest = _wheelhouse(cache, "cu130-aaa", 400, 30 * hour, now)
    older = _wheelhouse(cache, "cpu-bbb", 300, 20 * hour, now)
    recent = _wheelhouse(cache, "cu130-ccc", 500, 1 * hour, now)  # may still be mounted
    mine = _wheelhouse(cache, "cpu-ddd", 600, 40 * hour, now)  # the job's own: kept
    (cache / ".evicted-999999999-cu130-eee").mkdir()  # a killed sweep's leftover
    evicted = sweep_torch_cache(cache, max_bytes=1200, keep=mine, now=now)
    assert [(e.wheelhouse, e.bytes) for e in evicted] == [(oldest, 400), (older, 300)]
    assert sorted(p.name for p in cache.iterdir()) == ["cpu-ddd", "cu130-ccc"]
    assert recent.is_dir() and mine.is_dir()
    # Within the bound: nothing goes; over it with only busy or recent ones: nothing either.
    assert sweep_torch_cache(cache, max_bytes=1200, keep=mine, now=now) == []
    assert sweep_torch_cache(cache, max_bytes=0, keep=mine, now=now) == []
    with (recent / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        later = now + 10 * hour
        assert sweep_torch_cache(cache, max_bytes=0, keep=mine, now=later) == []
    assert [e.wheelhouse for e in sweep_torch_cache(cache, max_bytes=0, now=later)] == [
        mine,
        recent,
    ]
