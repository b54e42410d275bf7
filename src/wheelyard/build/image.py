"""wheelyard's own builder images: made locally (no registry), rebuilt only when their recipe
changes, tagged as the catalog's ``images`` entry for the variant.

* ``cpu``: a Debian root file system with the host's CPython builds at
  ``/opt/python/cpXY-cpXY`` (see :mod:`wheelyard.build.rootfs`), imported into the engine.
* CUDA variants: the cpu image plus the toolkit's pip wheels at ``/usr/local/cuda``
  (see :mod:`wheelyard.build.toolkit`), committed.

A new image is built under a temporary tag, checked in a container, and only then takes the
catalog tag; the previous image of that tag is removed after. Containers and temporary tags
carry the builder's process id, so ones left by a killed build are removed by the next one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, assert_never

from wheelyard import __version__
from wheelyard.build.engine import ContainerEngine, ImageInfo
from wheelyard.build.host_pythons import HostInterpreter, find_interpreters
from wheelyard.build.image_recipe import (
    CA_BUNDLE,
    DEBIAN_MIRROR,
    DEBIAN_SUITE,
    LABEL_BUILDER,
    LABEL_RECIPE_HASH,
    BaseImageRecipe,
    BuilderImage,
    ToolkitImageRecipe,
    base_labels,
    env_changes,
    label_changes,
)
from wheelyard.build.rootfs import HostTools, build_rootfs, check_host, pack
from wheelyard.build.steps import ProgressCallback, StepTiming, StepTracker
from wheelyard.build.toolkit import build_toolkit_image
from wheelyard.catalog.model import Catalog
from wheelyard.config.accelerator import VariantEntry
from wheelyard.config.suggest import did_you_mean
from wheelyard.config.vocab import AcceleratorKind, Platform
from wheelyard.errors import ImageError, ImageRequestError, ProcessError
from wheelyard.plan.host import host_platform

BASE_VARIANT = "cpu"
LOCAL_PREFIX = "localhost/"
"""Only local references are built here; anything else is pulled from its registry."""
LABEL_ROLE = "dev.wheelyard.role"
LABEL_PID = "dev.wheelyard.pid"
ROLE_IMAGE_BUILD = "image-build"
CANDIDATE = re.compile(r"-candidate-(?P<pid>\d+)-[0-9a-f]+$")
CHECK_TIMEOUT = 300.0


@dataclass(frozen=True, kw_only=True)
class ImageSettings:
    """Host-side inputs of image builds (the CLI fills them from options and environment)."""

    cache_dir: Path
    """Logs, reports, the .deb cache and temporary root file systems live below it."""
    pyenv_root: Path
    """Where the host's CPython builds are (``<pyenv_root>/versions/3.X.Y``)."""
    mirror: str = DEBIAN_MIRROR
    suite: str = DEBIAN_SUITE
    ca_bundle: Path | None = Path(CA_BUNDLE)
    """Trusted inside the chroot while it installs from PyPI (None: the image's own)."""

    @classmethod
    def default(cls) -> ImageSettings:
        home = Path.home()
        return cls(cache_dir=home / ".cache" / "wheelyard" / "images", pyenv_root=home / ".pyenv")

    @property
    def log_dir(self) -> Path:
        return self.cache_dir / "logs"


@dataclass(frozen=True, kw_only=True)
class ImageRequest:
    """A variant's builder image on one platform, as the catalog names it."""

    variant: str
    platform: Platform
    ref: str
    entry: VariantEntry


@dataclass(frozen=True, kw_only=True)
class ImageBuildResult:
    variant: str
    platform: Platform
    image: BuilderImage
    cached: bool
    """True when the existing image already had this recipe's hash (nothing was built)."""
    recipe_hash: str
    seconds: float
    steps: tuple[StepTiming, ...] = ()
    log_path: Path | None = None
    replaced: str | None = None
    """ID of the previous image of the tag, removed after the new one took the tag."""
    base: ImageBuildResult | None = None
    """The cpu image a GPU image was built on."""

    @property
    def ref(self) -> str:
        return self.image.ref

    @property
    def info(self) -> ImageInfo:
        return self.image.info

    def to_json(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "platform": str(self.platform),
            "ref": self.ref,
            "cached": self.cached,
            "recipe-hash": self.recipe_hash,
            "seconds": round(self.seconds, 1),
            "steps": [s.to_json() for s in self.steps],
            "log": str(self.log_path) if self.log_path else None,
            "replaced": self.replaced,
            "image": self.image.to_json(),
            "base": self.base.to_json() if self.base is not None else None,
        }


def resolve_request(
    catalog: Catalog, variant: str, platform: Platform, *, host: Platform | None
) -> ImageRequest:
    """Check that wheelyard can build ``variant``'s image for ``platform`` on ``host``."""
    entry = catalog.variants.get(variant)
    if entry is None:
        raise ImageRequestError(
            f"unknown variant {variant!r}",
            hint=did_you_mean(variant, catalog.variants)
            or f"known variants: {', '.join(catalog.variants)}",
        )
    ref = catalog.image(variant, platform)
    if ref is None:
        having = ", ".join(entry.images) or "none"
        raise ImageRequestError(
            f"the catalog names no builder image for {variant} on {platform}",
            hint=f"{variant} has images for: {having}; add images.{platform} to the catalog",
        )
    if not ref.startswith(LOCAL_PREFIX):
        raise ImageRequestError(
            f"{ref} ({variant} on {platform}) is a registry image, not one wheelyard builds",
            hint=f"pull it (`podman pull {ref}`) on a host that reaches its registry",
        )
    if host != platform:
        raise ImageRequestError(
            f"{platform} images are built on a {platform} host (this one is {host or 'unknown'})",
            hint=f"run `wheelyard image build` on a {platform} machine",
        )
    if entry.kind in (AcceleratorKind.ROCM, AcceleratorKind.XPU):
        raise ImageRequestError(
            f"wheelyard cannot build {entry.kind} builder images ({variant})",
            hint=f"point images.{platform} of {variant} at a vendor image that has the toolkit",
        )
    if entry.kind is AcceleratorKind.CUDA and (not entry.toolkit_packages or not entry.toolkit):
        raise ImageRequestError(
            f"the catalog lists no toolkit-packages for {variant}",
            hint=f"add toolkit-packages (pip requirements) to variants.{variant}, or "
            f"point its images.{platform} at an image that has the toolkit",
        )
    return ImageRequest(variant=variant, platform=platform, ref=ref, entry=entry)


def ensure_image(
    variant: str,
    platform: Platform = Platform.LINUX_X86_64,
    *,
    catalog: Catalog,
    engine: ContainerEngine,
    settings: ImageSettings | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
) -> ImageBuildResult:
    """The builder image of ``variant`` on ``platform``, built unless it is up to date.

    Hand ``result.ref`` to cibuildwheel (``manylinux-*-image``). A GPU variant first ensures
    the cpu image it is built on. ``force`` rebuilds the requested image even when its recipe
    did not change (not its cpu base).
    """
    settings = settings or ImageSettings.default()
    request = resolve_request(catalog, variant, platform, host=host_platform())
    match request.entry.kind:
        case AcceleratorKind.CPU:
            return _ensure_base(request, catalog, engine, settings, force, progress)
        case AcceleratorKind.CUDA:
            base_request = resolve_request(catalog, BASE_VARIANT, platform, host=host_platform())
            base = _ensure_base(base_request, catalog, engine, settings, False, progress)
            return _ensure_toolkit(request, base, engine, settings, force, progress)
        case AcceleratorKind.ROCM | AcceleratorKind.XPU:
            raise AssertionError("refused by resolve_request")
        case unreachable:
            assert_never(unreachable)


def list_builder_images(engine: ContainerEngine) -> list[BuilderImage]:
    """wheelyard's builder images in ``engine``, tagged ones first, by reference."""
    found: list[BuilderImage] = []
    for info in engine.images_with_label(f"{LABEL_BUILDER}=1"):
        tags = [t for t in info.tags if not CANDIDATE.search(t)] or list(info.tags)
        image = BuilderImage.from_info(info, ref=tags[0] if tags else "<none>")
        if image is not None:
            found.append(image)
    return sorted(found, key=lambda i: (i.ref == "<none>", i.ref))


# -- the two kinds of build -------------------------------------------------------------------


def _ensure_base(
    request: ImageRequest,
    catalog: Catalog,
    engine: ContainerEngine,
    settings: ImageSettings,
    force: bool,
    progress: ProgressCallback | None,
) -> ImageBuildResult:
    interpreters = _interpreters(catalog, request.platform, settings.pyenv_root)
    recipe = BaseImageRecipe(
        platform=request.platform,
        interpreters=interpreters,
        suite=settings.suite,
        mirror=settings.mirror,
    )
    if not force and (cached := _cached(request, engine, recipe.hash)) is not None:
        return cached
    with _build_lock(settings, request):
        if not force and (cached := _cached(request, engine, recipe.hash)) is not None:
            return cached
        check_host()
        ca = settings.ca_bundle
        host = HostTools.locate(ca if ca is not None and ca.is_file() else None)
        build = _Build.start(request, engine, settings, progress)
        work = settings.cache_dir / "work" / f"{request.variant}-{os.getpid()}"
        _remove_tree(work)
        try:
            facts = build_rootfs(
                recipe,
                work / "rootfs",
                host=host,
                deb_cache=settings.cache_dir / "debs" / recipe.suite,
                steps=build.steps,
                log_path=build.log_path,
            )
            labels = base_labels(
                recipe,
                variant=request.variant,
                gcc=facts.gcc,
                tools=facts.tools,
                wheelyard_version=__version__,
            )
            changes = [*env_changes(recipe.environment), 'CMD ["/bin/bash"]']
            changes += label_changes(labels)
            with build.steps.step("pack the root file system"):
                pack(work / "rootfs", work / "rootfs.tar", log_path=build.log_path)
            with build.steps.step(f"import into {engine.name}"):
                engine.import_image(
                    work / "rootfs.tar", build.candidate, changes=changes, log_path=build.log_path
                )
        finally:
            _remove_tree(work)
        return build.finish(recipe.hash, check=_base_check_script(interpreters))


def _ensure_toolkit(
    request: ImageRequest,
    base: ImageBuildResult,
    engine: ContainerEngine,
    settings: ImageSettings,
    force: bool,
    progress: ProgressCallback | None,
) -> ImageBuildResult:
    entry = request.entry
    recipe = ToolkitImageRecipe(
        variant=request.variant,
        toolkit=entry.toolkit or "",
        packages=tuple(entry.toolkit_packages),
        base_hash=base.recipe_hash,
    )
    if not force and (cached := _cached(request, engine, recipe.hash, base=base)) is not None:
        return cached
    with _build_lock(settings, request):
        if not force and (cached := _cached(request, engine, recipe.hash, base=base)) is not None:
            return cached
        build = _Build.start(request, engine, settings, progress)
        build_toolkit_image(
            recipe,
            engine=engine,
            base_image=base.info.id,
            target_ref=build.candidate,
            gcc=base.image.toolkit.get("gcc", "unknown"),
            container=build.container_name("toolkit"),
            container_labels=build.container_labels,
            steps=build.steps,
            log_path=build.log_path,
        )
        return build.finish(recipe.hash, check=_toolkit_check_script(recipe), base=base)


# -- one build: log, steps, temporary tag, check, hand-over of the tag ------------------------


@dataclass(kw_only=True)
class _Build:
    request: ImageRequest
    engine: ContainerEngine
    settings: ImageSettings
    steps: StepTracker
    log_path: Path
    candidate: str
    previous: ImageInfo | None
    token: str = field(default_factory=lambda: secrets.token_hex(3))

    @classmethod
    def start(
        cls,
        request: ImageRequest,
        engine: ContainerEngine,
        settings: ImageSettings,
        progress: ProgressCallback | None,
    ) -> _Build:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        log_path = settings.log_dir / f"{request.variant}-{request.platform}-{stamp}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(
            f"wheelyard {__version__}: builder image {request.ref} ({request.variant}, "
            f"{request.platform}) with {engine.name}\n",
            encoding="utf-8",
        )
        remove_strays(engine, settings)
        token = secrets.token_hex(3)
        return cls(
            request=request,
            engine=engine,
            settings=settings,
            steps=StepTracker(progress, log_path),
            log_path=log_path,
            candidate=f"{_repository(request.ref)}:{request.variant}-candidate-"
            f"{os.getpid()}-{token}",
            previous=engine.image_info(request.ref),
            token=token,
        )

    @property
    def container_labels(self) -> dict[str, str]:
        return {LABEL_ROLE: ROLE_IMAGE_BUILD, LABEL_PID: str(os.getpid())}

    def container_name(self, purpose: str) -> str:
        variant = re.sub(r"[^a-zA-Z0-9_.-]", "-", self.request.variant)
        return f"wheelyard-image-{variant}-{purpose}-{os.getpid()}-{self.token}"

    def finish(
        self, recipe_hash: str, *, check: str, base: ImageBuildResult | None = None
    ) -> ImageBuildResult:
        """Check the candidate, give it the catalog tag, drop the previous image."""
        engine, ref = self.engine, self.request.ref
        try:
            with self.steps.step("check the image in a container"):
                container = self.container_name("check")
                try:
                    engine.run_container(
                        self.candidate,
                        ["bash", "-c", check],
                        name=container,
                        labels=self.container_labels,
                        timeout=CHECK_TIMEOUT,
                        log_path=self.log_path,
                    )
                except ProcessError as exc:
                    raise ImageError(
                        f"the new {self.request.variant} image failed its check: {exc.message}",
                        hint=f"the full log is {self.log_path}",
                    ) from exc
                finally:
                    engine.remove_container(container)
            with self.steps.step(f"tag {ref}"):
                engine.tag_image(self.candidate, ref)
        finally:
            engine.remove_image(self.candidate)  # only the temporary tag, once tagged
        info = engine.image_info(ref)
        if info is None:
            raise ImageError(f"{ref} disappeared right after it was tagged")
        replaced = None
        previous = self.previous
        if previous is not None and previous.id != info.id and engine.remove_image(previous.id):
            replaced = previous.id
        _prune_untagged(engine)
        image = BuilderImage.from_info(info, ref=ref)
        if image is None:
            raise ImageError(f"{ref} lacks wheelyard's labels after the build")
        result = ImageBuildResult(
            variant=self.request.variant,
            platform=self.request.platform,
            image=image,
            cached=False,
            recipe_hash=recipe_hash,
            seconds=self.steps.elapsed,
            steps=self.steps.timings,
            log_path=self.log_path,
            replaced=replaced,
            base=base,
        )
        _write_json_atomic(self.log_path.with_suffix(".json"), result.to_json())
        return result


def _cached(
    request: ImageRequest,
    engine: ContainerEngine,
    recipe_hash: str,
    *,
    base: ImageBuildResult | None = None,
) -> ImageBuildResult | None:
    info = engine.image_info(request.ref)
    if info is None or info.labels.get(LABEL_RECIPE_HASH) != recipe_hash:
        return None
    image = BuilderImage.from_info(info, ref=request.ref)
    if image is None:
        return None
    return ImageBuildResult(
        variant=request.variant,
        platform=request.platform,
        image=image,
        cached=True,
        recipe_hash=recipe_hash,
        seconds=0.0,
        base=base,
    )


def _interpreters(
    catalog: Catalog, platform: Platform, pyenv_root: Path
) -> tuple[HostInterpreter, ...]:
    wanted = catalog.platforms[platform].interpreters
    found = find_interpreters(pyenv_root, wanted)
    if not found:
        raise ImageError(
            f"no CPython builds found in {pyenv_root / 'versions'} for {', '.join(wanted)}",
            hint="install some with pyenv (`pyenv install 3.12`), or pass --pyenv-root "
            "(env: PYENV_ROOT)",
        )
    if found[-1].minor_number < 10:
        raise ImageError(
            f"the newest CPython in {pyenv_root / 'versions'} is {found[-1].version}; "
            "auditwheel needs 3.10 or newer",
            hint="install a newer one with pyenv (`pyenv install 3.12`)",
        )
    return found


def _base_check_script(interpreters: tuple[HostInterpreter, ...]) -> str:
    """What cibuildwheel relies on in a manylinux image, checked the way it looks."""
    lines = ["set -euo pipefail", "test -x /opt/python/cp39-cp39/bin/python"]
    for interp in interpreters:
        bin_dir = f"{interp.image_prefix}/bin"
        lines += [
            f'test "$(PATH={bin_dir}:$PATH which python)" = {bin_dir}/python',
            f'test "$(PATH={bin_dir}:$PATH which pip)" = {bin_dir}/pip',
            f"{bin_dir}/python -c 'import build, virtualenv, pip, ssl'",
        ]
    lines += [
        "for tool in auditwheel patchelf uv gcc g++ make ccache bash tar mktemp which; do",
        '  command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }',
        "done",
        "auditwheel --version",
        "patchelf --version",
        "uv --version",
        'test "$UV_PYTHON_DOWNLOADS" = never',
    ]
    return "\n".join(lines) + "\n"


def _toolkit_check_script(recipe: ToolkitImageRecipe) -> str:
    return (
        "set -euo pipefail\n"
        f'test "$CUDA_HOME" = {recipe.cuda_home}\n'
        f'test "$(command -v nvcc)" = {recipe.cuda_home}/bin/nvcc\n'
        f"test -f {recipe.cuda_home}/lib64/libcudart_static.a\n"
        f"test -f {recipe.cuda_home}/include/cuda_runtime.h\n"
        "nvcc --version\n"
    )


# -- housekeeping -----------------------------------------------------------------------------


def _repository(ref: str) -> str:
    """``localhost/wheelyard-builder:cpu`` -> ``localhost/wheelyard-builder``."""
    name, sep, tag = ref.rpartition(":")
    return name if sep and "/" not in tag else ref


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_strays(engine: ContainerEngine, settings: ImageSettings) -> list[str]:
    """Remove what killed image builds left: containers, temporary tags, work folders.

    Only things whose builder process is gone are touched, so parallel builds are safe.
    Returns what was removed.
    """
    removed: list[str] = []
    for container in engine.containers_with_label(f"{LABEL_ROLE}={ROLE_IMAGE_BUILD}"):
        pid = container.labels.get(LABEL_PID, "")
        if pid.isdigit() and not _alive(int(pid)):
            engine.remove_container(container.id)
            removed.append(f"container {container.name or container.id[:12]}")
    for info in engine.images_with_label(f"{LABEL_BUILDER}=1"):
        for tag in info.tags:
            match = CANDIDATE.search(tag)
            if match and not _alive(int(match["pid"])) and engine.remove_image(tag):
                removed.append(f"tag {tag}")
    work_root = settings.cache_dir / "work"
    if work_root.is_dir():
        for folder in work_root.iterdir():
            pid = folder.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not _alive(int(pid)) and _remove_tree(folder):
                removed.append(f"folder {folder}")
    return removed


def _prune_untagged(engine: ContainerEngine) -> None:
    """Previous images that could not go while a GPU image still used them as its base."""
    for info in engine.images_with_label(f"{LABEL_BUILDER}=1"):
        if not info.tags:
            engine.remove_image(info.id)


def _mount_points() -> list[Path]:
    try:
        text = Path("/proc/self/mountinfo").read_text(encoding="utf-8")
    except OSError:
        return []
    points = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 4:
            raw = fields[4]
            decoded = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), raw)
            points.append(Path(decoded))
    return points


def _remove_tree(path: Path) -> bool:
    """Delete a work folder, but never through a mount point left inside it."""
    if not path.exists():
        return True
    resolved = path.resolve()
    if any(p == resolved or resolved in p.parents for p in _mount_points()):
        return False
    shutil.rmtree(resolved, ignore_errors=True)
    return not resolved.exists()


@contextlib.contextmanager
def _build_lock(settings: ImageSettings, request: ImageRequest) -> Iterator[None]:
    """One build of a given image at a time on this host (others wait, then reuse it)."""
    lock_dir = settings.cache_dir / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with (lock_dir / f"{request.variant}-{request.platform}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
