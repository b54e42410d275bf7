"""select/: detection, the PEP 825 ordering, reading an index and choosing a wheel."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from variant_wheelhouse import (
    DIST,
    DRIVER_126,
    DRIVER_129_SM90,
    NO_GPU,
    VERSION,
    make_wheelhouse,
    write_platform,
)
from wheelyard.catalog import load_catalog
from wheelyard.errors import DetectError, IndexFormatError, SelectError
from wheelyard.host.detect import (
    Found,
    Roots,
    cuda_version_from_int,
    detect,
    gfx_name,
    x86_64_level,
)
from wheelyard.host.facts import NvidiaGpu, PlatformFacts, facts_from_json
from wheelyard.index.publish import PublishOptions, publish_wheelhouse
from wheelyard.index.store import FileStore
from wheelyard.select.index_client import (
    IndexFile,
    fetch_project,
    parse_html_page,
    parse_json_page,
)
from wheelyard.select.install import Candidate, choose, target_for
from wheelyard.select.order import order_variants
from wheelyard.select.provider import Provider
from wheelyard.wheel.variant import (
    Variant,
    VariantProperty,
    parse_variant_filename,
    variant_of,
)

CATALOG = load_catalog()


def facts(data: dict[str, Any]) -> PlatformFacts:
    return facts_from_json(data, source="test")


def variant(label: str, *props: str) -> Variant:
    return Variant(label=label, properties=frozenset(VariantProperty.parse(p) for p in props))


def ranking(
    variants: list[Variant],
    machine: dict[str, Any],
    namespaces: tuple[str, ...] = ("nvidia", "amd", "intel", "x86_64"),
) -> list[str]:
    verdicts = order_variants(variants, namespaces, Provider(facts(machine)))
    return [v.label for v in verdicts if v.compatible]


CUDA = [variant_of(n, CATALOG.variant(n).properties) for n in ("cpu", "cu126", "cu128", "cu130")]


@pytest.mark.parametrize(
    ("machine", "expected"),
    [
        (DRIVER_129_SM90, ["cu128", "cu126", "null"]),
        (DRIVER_126, ["cu126", "null"]),
        (NO_GPU, ["null"]),
        (
            {"nvidia": {"cuda_driver_version": "13.0", "gpus": [{"compute_capability": "12.0"}]}},
            ["cu130", "cu128", "null"],
        ),
        (
            {"nvidia": {"cuda_driver_version": "13.0", "gpus": [{"compute_capability": "6.0"}]}},
            ["cu126", "null"],
        ),
    ],
)
def test_cuda_variants_are_ordered_for_the_machine(
    machine: dict[str, Any], expected: list[str]
) -> None:
    assert ranking(CUDA, machine) == expected


def test_more_matching_features_win_then_labels_break_ties() -> None:
    machine = {
        "nvidia": {"cuda_driver_version": "12.9", "gpus": [{"compute_capability": "9.0"}]},
        "x86_64": {"level": 3},
    }
    a = variant("a", "nvidia :: cuda_version_lower_bound :: 12.8")
    b = variant("b", "nvidia :: cuda_version_lower_bound :: 12.8", "x86_64 :: level :: v3")
    c = variant("c", "nvidia :: cuda_version_lower_bound :: 12.8")
    v4 = variant("v4", "x86_64 :: level :: v4")
    assert ranking([c, a, b, v4], machine) == ["b", "a", "c"]
    # the namespace order of default-priorities decides between features of two namespaces
    x = variant("x", "x86_64 :: level :: v3")
    n = variant("n", "nvidia :: cuda_version_lower_bound :: 12.0")
    assert ranking([n, x], machine, ("x86_64", "nvidia")) == ["x", "n"]
    assert ranking([n, x], machine, ("nvidia", "x86_64")) == ["n", "x"]


def test_incompatible_variants_say_why() -> None:
    verdicts = order_variants(CUDA, ("nvidia",), Provider(facts(DRIVER_126)))
    cu128 = next(v for v in verdicts if v.label == "cu128")
    assert not cu128.compatible
    assert cu128.reasons == (
        "nvidia :: cuda_version_lower_bound needs 12.8; this machine: the driver supports CUDA 12.6",
    )
    unknown = variant("u", "amd :: warp_size :: 64")
    assert not order_variants([unknown], ("amd",), Provider(facts(NO_GPU)))[0].compatible


def test_sm_arch_real_needs_the_exact_gpu_and_virtual_a_newer_one() -> None:
    provider = Provider(
        PlatformFacts(
            cuda_driver_version="12.9", nvidia_gpus=(NvidiaGpu(name="x", compute_capability="8.6"),)
        )
    )
    assert provider.rank("nvidia", "sm_arch", "86_real") is not None
    assert provider.rank("nvidia", "sm_arch", "80_real") is None
    assert provider.rank("nvidia", "sm_arch", "80_virtual") is not None
    assert provider.rank("nvidia", "sm_arch", "90_virtual") is None
    assert provider.rank("nvidia", "cuda_version_lower_bound", "12.10") is None


def test_override_files_are_validated(tmp_path: Path) -> None:
    good = detect(override=write_platform(tmp_path / "p.json", DRIVER_129_SM90))
    assert good.cuda_driver_version == "12.9"
    assert good.nvidia_gpus[0].sm == "90"
    assert good.sources["nvidia"].startswith("override:")
    bad = {
        "nvidia": {"cuda_driver_version": "twelve", "gpus": [{"compute_capability": "9"}]},
        "tpu": {},
    }
    with pytest.raises(DetectError) as info:
        detect(override=write_platform(tmp_path / "bad.json", bad))
    assert "cuda_driver_version" in info.value.message
    assert "compute_capability" in info.value.message
    assert "unknown section" in info.value.message
    with pytest.raises(DetectError, match="cannot read"):
        detect(override=tmp_path / "missing.json")


def test_detection_from_sysfs_cpuinfo_and_fallbacks(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    flags = "fpu cx8 cmov mmx fxsr sse sse2 syscall lm cx16 lahf_lm popcnt sse4_1 sse4_2 ssse3 avx avx2 bmi1 bmi2 f16c fma abm movbe xsave"
    (tmp_path / "proc/cpuinfo").write_text(f"processor : 0\nflags : {flags}\n")
    node = tmp_path / "sys/class/kfd/kfd/topology/nodes/1"
    node.mkdir(parents=True)
    (node / "properties").write_text("cpu_cores_count 0\ngfx_target_version 90402\n")
    (tmp_path / "rocm/.info").mkdir(parents=True)
    (tmp_path / "rocm/.info/version").write_text("7.0.2-56\n")

    class NoNvml:
        part = "nvidia"

        def detect(self, roots: Roots) -> Found:  # noqa: ARG002
            return Found(notes=("NVML unavailable",))

    class FakeSmi:
        part = "nvidia"

        def detect(self, roots: Roots) -> Found:  # noqa: ARG002
            return Found(
                values={
                    "cuda_driver_version": "12.9",
                    "nvidia_gpus": [NvidiaGpu(name="H100", compute_capability="9.0")],
                },
                source="nvidia-smi",
            )

    from wheelyard.host.detect import DETECTORS

    result = detect(
        roots=Roots(proc=tmp_path / "proc", sys=tmp_path / "sys", rocm=tmp_path / "rocm"),
        detectors={**DETECTORS, "nvidia": (NoNvml(), FakeSmi())},
    )
    assert result.sources["nvidia"] == "nvidia-smi"
    assert "NVML unavailable" in result.notes
    assert result.cuda_driver_version == "12.9"
    assert result.rocm_version == "7.0"
    assert result.gfx_archs == ("gfx942",)
    if result.sources.get("x86_64"):
        assert result.x86_64_level == 3


def test_the_highest_build_tag_wins_among_equally_fitting_wheels() -> None:
    def candidate(filename: str, rank: int = 0) -> Candidate:
        return Candidate(
            file=IndexFile(filename=filename, url=f"https://example.org/{filename}"),
            name=parse_variant_filename(filename),
            tag_rank=rank,
        )

    plain = candidate("pkg-1.0-cp312-cp312-manylinux_2_28_x86_64-null.whl")
    first = candidate("pkg-1.0-1-cp312-cp312-manylinux_2_28_x86_64-null.whl")
    second = candidate("pkg-1.0-2-cp312-cp312-manylinux_2_28_x86_64-null.whl")
    wider = candidate("pkg-1.0-3-cp312-cp312-linux_x86_64-null.whl", rank=5)
    group = [plain, second, first, wider]
    assert max(group, key=Candidate.preference) is second
    assert max([plain, first], key=Candidate.preference) is first
    assert max([plain, wider], key=Candidate.preference) is plain  # the tag comes first


def test_small_conversions() -> None:
    assert cuda_version_from_int(12090) == "12.9"
    assert cuda_version_from_int(13000) == "13.0"
    assert gfx_name(90010) == "gfx90a"
    assert gfx_name(110001) == "gfx1101"
    assert x86_64_level({"lm", "cmov", "cx8", "fpu", "fxsr", "mmx", "syscall", "sse", "sse2"}) == 1


def test_html_and_json_pages_parse_and_malformed_ones_are_errors() -> None:
    html = b'<a href="../../p/x-1.0-py3-none-any.whl#sha256=ab" data-requires-python="&gt;=3.10" data-yanked="">x-1.0-py3-none-any.whl</a>'
    (item,) = parse_html_page(html, "http://h/simple/x/")
    assert item.url == "http://h/p/x-1.0-py3-none-any.whl"
    assert (item.sha256, item.requires_python, item.yanked) == ("ab", ">=3.10", "")
    with pytest.raises(IndexFormatError, match="without href"):
        parse_html_page(b"<a>x.whl</a>", "http://h/simple/x/")
    with pytest.raises(IndexFormatError, match="malformed PEP 691"):
        parse_json_page(b'{"files": [{"filename": "x"}]}', "http://h/simple/x/")
    with pytest.raises(IndexFormatError, match="malformed PEP 691"):
        parse_json_page(b"<html>", "http://h/simple/x/")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("select")
    house = make_wheelhouse(root / "wheelhouse")
    publish_wheelhouse(house, FileStore(root / "index"), catalog=CATALOG, options=PublishOptions())
    return root / "index"


@pytest.mark.parametrize(
    ("machine", "label"),
    [(DRIVER_129_SM90, "cu128"), (DRIVER_126, "cu126"), (NO_GPU, "null")],
)
def test_install_picks_the_issue_scenarios(
    index: Path, machine: dict[str, Any], label: str
) -> None:
    choice = choose(
        "cuda-kernels", str(index / "simple"), facts(machine), target_for(None), pre=True
    )
    assert choice.version == VERSION
    assert choice.chosen.label == label
    assert choice.chosen.file.filename.endswith(f"manylinux_2_35_x86_64-{label}.whl")
    assert choice.chosen.install_filename == choice.chosen.file.filename.replace(
        f"-{label}.whl", ".whl"
    )
    assert choice.has_fallback


def test_nightlies_need_pre_only_when_a_final_release_exists(index: Path) -> None:
    choice = choose("cuda-kernels", str(index / "simple"), facts(NO_GPU), target_for(None))
    assert choice.version == VERSION
    with pytest.raises(SelectError, match="no wheel of cuda-kernels>=1"):
        choose("cuda-kernels>=1", str(index / "simple"), facts(NO_GPU), target_for(None))
    with pytest.raises(SelectError, match="not on the index"):
        choose("numpy", str(index / "simple"), facts(NO_GPU), target_for(None))


def test_a_legacy_tree_gives_the_local_version(index: Path) -> None:
    choice = choose(
        "cuda-kernels", str(index / "whl/nightly/cu126"), facts(NO_GPU), target_for(None), pre=True
    )
    assert choice.chosen.label is None
    assert "+cu126-" in choice.chosen.file.filename
    assert choice.verdicts == ()


def test_without_variants_json_variant_wheels_are_ignored(index: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    (copy / f"packages/cuda-kernels/{DIST}-{VERSION}-variants.json").unlink()
    choice = choose("cuda-kernels", str(copy / "simple"), facts(DRIVER_129_SM90), target_for(None))
    assert choice.chosen.label is None
    assert any("variant wheels are ignored" in n for n in choice.notes)


def test_a_malformed_variants_json_is_a_clear_error(index: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    path = copy / f"packages/cuda-kernels/{DIST}-{VERSION}-variants.json"
    old = hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_text(
        '{"$schema": "https://variants-schema.wheelnext.dev/peps/825/v0.1.1.json", "variants": 3}'
    )
    new = hashlib.sha256(path.read_bytes()).hexdigest()
    for page in (copy / "simple/cuda-kernels").iterdir():
        page.write_text(page.read_text().replace(old, new))
    with pytest.raises(IndexFormatError, match=r"malformed variants\.json"):
        choose("cuda-kernels", str(copy / "simple"), facts(DRIVER_129_SM90), target_for(None))


def test_cli_install_dry_run_and_detect(
    index: Path, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = write_platform(tmp_path / "p.json", DRIVER_129_SM90)
    result = cli(
        "install",
        "cuda-kernels",
        "--index-url",
        str(index / "simple"),
        "--dry-run",
        "--pre",
        "--platform-file",
        str(platform),
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["choices"][0]["chosen"]["label"] == "cu128"
    assert [r["label"] for r in data["choices"][0]["ranking"] if r["compatible"]] == [
        "cu128",
        "cu126",
        "null",
    ]
    text = cli(
        "install",
        "cuda-kernels",
        "--index-url",
        str(index / "simple"),
        "--dry-run",
        "--platform-file",
        str(platform),
    )
    assert text.exit_code == 0
    assert "chosen:" in text.stdout
    assert "cu128" in text.stdout

    monkeypatch.setenv(
        "WHEELYARD_DETECT_FILE", str(write_platform(tmp_path / "q.json", DRIVER_126))
    )
    detected = cli("detect", "--json")
    assert detected.exit_code == 0
    assert json.loads(detected.stdout)["nvidia"]["cuda_driver_version"] == "12.6"
    assert cli("detect").exit_code == 0
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert cli("detect", "--platform-file", str(broken)).exit_code == 2
    missing = cli("install", "nothing-here", "--index-url", str(index / "simple"), "--dry-run")
    assert missing.exit_code == 1
    assert "not on the index" in missing.stderr


def test_fetch_project_reads_json_beside_html(index: Path) -> None:
    page = fetch_project(str(index / "simple"), "Cuda_Kernels")
    assert page.format == "json"
    assert page.name == "cuda-kernels"


def test_uv_is_told_the_machine_wheelyard_judged() -> None:
    from wheelyard.select.install import uv_variant_environment

    gpu = PlatformFacts(
        cuda_driver_version="12.8",
        nvidia_gpus=(NvidiaGpu(name="H100", compute_capability="9.0"),),
    )
    base = {"PATH": "/bin", "NV_VARIANT_PROVIDER_FORCE_SM_ARCH": "7.0"}
    assert uv_variant_environment(gpu, base) == {
        "PATH": "/bin",
        "NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION": "12.8",
        "NV_VARIANT_PROVIDER_FORCE_SM_ARCH": "9.0",
    }
    # No NVIDIA driver: nothing forced, and no stale forcing from the caller's environment.
    assert uv_variant_environment(PlatformFacts(), base) == {"PATH": "/bin"}
