"""The builder image a job runs in: the catalog's official registry image, pulled where the
engine can; otherwise wheelyard's own image (``local-images``), made locally, rebuilt only when
its recipe changes.

* ``cpu``: a Debian root file system with the host's CPython builds at
  ``/opt/python/cpXY-cpXY`` (see :mod:`wheelyard.builder.image.rootfs`), imported into the engine.
* CUDA variants: the cpu image plus the toolkit's pip wheels at ``/usr/local/cuda``
  (see :mod:`wheelyard.builder.image.toolkit`), committed.

A new image is built under a temporary tag, checked in a container, and only then takes the
catalog tag; the previous image of that tag is removed after. Containers and temporary tags
carry the builder's process id, so ones left by a killed build are removed by the next one.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import assert_never

from wheelyard import __version__
from wheelyard.builder.engine import ContainerEngine, ImageInfo
from wheelyard.builder.image.assemble import (
    BuildSession,
    ImageBuildResult,
    ImageRequest,
    ImageSettings,
    cached_result,
)
from wheelyard.builder.image.cleanup import (
    CANDIDATE,
    LABEL_ROLE,
    build_lock,
    remove_tree,
)
from wheelyard.builder.image.recipe import (
    LABEL_BUILDER,
    LABEL_INTERPRETERS,
    BaseImageRecipe,
    BuilderImage,
    ToolkitImageRecipe,
    base_labels,
    env_changes,
    label_changes,
)
from wheelyard.builder.image.rootfs import HostTools, build_rootfs, check_host, pack
from wheelyard.builder.image.toolkit import build_toolkit_image
from wheelyard.builder.steps import ProgressCallback, StepTracker
from wheelyard.catalog.model import Catalog
from wheelyard.config.accelerator import LOCAL_IMAGE_PREFIX
from wheelyard.config.suggest import did_you_mean
from wheelyard.config.vocab import AcceleratorKind, Platform
from wheelyard.errors import EngineError, ImageError, ImageRequestError, WheelyardError
from wheelyard.host.interpreters import HostInterpreter, find_interpreters
from wheelyard.host.platform import host_platform
from wheelyard.record import ImageEntry, ImageSource

__all__ = [
    "ChosenImage",
    "ImageBuildResult",
    "ImagePolicy",
    "ImageRequest",
    "ImageSettings",
    "builder_image",
    "ensure_image",
    "list_builder_images",
    "local_builder_image",
    "resolve_request",
]

BASE_VARIANT = "cpu"


class ImagePolicy(StrEnum):
    """Which builder image a job asks for (``--images``)."""

    AUTO = "auto"
    """The catalog's registry image where it can be pulled, else wheelyard's own."""
    REGISTRY = "registry"
    """The catalog's registry image; a failed pull fails the job."""
    LOCAL = "local"
    """wheelyard's own image, never pulling."""


@dataclass(frozen=True, kw_only=True)
class ChosenImage:
    """The image a job runs in, and why that one."""

    ref: str
    info: ImageInfo
    source: ImageSource
    wanted: str | None = None
    """The catalog's image, when another one was used."""
    reason: str | None = None

    @property
    def note(self) -> str | None:
        """One line for the output when the catalog's image was not used."""
        if self.wanted is None:
            return None
        return f"using {self.ref} instead of {self.wanted}: {self.reason}"

    def entry(self, interpreters: tuple[str, ...]) -> ImageEntry:
        return ImageEntry(
            ref=self.ref,
            id=self.info.id,
            digest=self.info.digest,
            interpreters=interpreters,
            labels=dict(self.info.labels),
            source=self.source,
            wanted=self.wanted,
            reason=self.reason,
        )


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
    ref = catalog.local_image(variant, platform)
    if ref is None:
        official = catalog.image(variant, platform)
        if official is not None:
            raise ImageRequestError(
                f"{variant} on {platform} has only a registry image ({official}), none that "
                "wheelyard builds",
                hint=f"pull it (`podman pull {official}`) on a host that reaches its registry",
            )
        having = ", ".join(entry.local_images) or "none"
        raise ImageRequestError(
            f"the catalog names no local builder image for {variant} on {platform}",
            hint=f"{variant} has local images for: {having}; add local-images.{platform} to "
            "the catalog",
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


def builder_image(
    variant: str,
    platform: Platform = Platform.LINUX_X86_64,
    *,
    catalog: Catalog,
    engine: ContainerEngine,
    settings: ImageSettings | None = None,
    progress: ProgressCallback | None = None,
    policy: ImagePolicy = ImagePolicy.AUTO,
) -> ChosenImage:
    """The image a job of ``variant`` runs in.

    The catalog's registry image (``images``) is used when the engine has it or can pull it;
    when the pull fails, wheelyard's own image (``local-images``) is made or reused instead and
    the result says so (``--images registry`` makes the failed pull the job's failure).
    ``localhost/`` images, and every image under ``--images local``, are made here
    (:func:`ensure_image`)."""
    ref = catalog.image(variant, platform)
    if ref is None or ref.startswith(LOCAL_IMAGE_PREFIX):
        return local_builder_image(
            variant, platform, catalog=catalog, engine=engine, settings=settings, progress=progress
        )

    def own_instead(source: ImageSource, reason: str) -> ChosenImage:
        chosen = local_builder_image(
            variant, platform, catalog=catalog, engine=engine, settings=settings, progress=progress
        )
        return replace(chosen, source=source, wanted=ref, reason=reason)

    if policy is ImagePolicy.LOCAL:
        return own_instead(ImageSource.LOCAL, "--images local (no pull)")
    info = engine.image_info(ref)
    if info is not None:
        return ChosenImage(
            ref=ref, info=with_interpreters(engine, ref, info), source=ImageSource.PRESENT
        )
    steps = StepTracker(progress, None)
    try:
        with steps.step(f"pull {ref}"):
            info = engine.pull_image(ref)
    except EngineError as exc:
        if policy is ImagePolicy.REGISTRY or catalog.local_image(variant, platform) is None:
            raise ImageError(
                exc.message,
                hint=f"the catalog names no local image for {variant} on {platform} to use instead"
                if policy is ImagePolicy.AUTO
                else "--images registry: no fallback to wheelyard's own image",
            ) from exc
        return own_instead(ImageSource.FALLBACK, exc.message)
    return ChosenImage(
        ref=ref, info=with_interpreters(engine, ref, info), source=ImageSource.PULLED
    )


def with_interpreters(engine: ContainerEngine, ref: str, info: ImageInfo) -> ImageInfo:
    """``info`` with the CPythons the image offers as wheelyard's own images label them: a
    registry image carries no such label, so its ``/opt/python`` is listed (where cibuildwheel
    finds them: ``cp313-cp313t`` is ``cp313t``; PyPy is left out). Unreadable: ``info``."""
    if LABEL_INTERPRETERS in info.labels:
        return info
    name = f"wheelyard-probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        listed = engine.run_container(
            ref, ["ls", "/opt/python"], name=name, labels={LABEL_ROLE: "image-probe"}, timeout=120
        )
    except WheelyardError:
        return info
    finally:
        engine.remove_container(name)
    found = [
        entry.split("-", 1)[1] if entry.split("-", 1)[1].endswith("t") else entry.split("-")[0]
        for entry in listed.output.split()
        if entry.startswith("cp") and "-" in entry
    ]
    if not found:
        return info
    return replace(info, labels={**info.labels, LABEL_INTERPRETERS: " ".join(found)})


def local_builder_image(
    variant: str,
    platform: Platform = Platform.LINUX_X86_64,
    *,
    catalog: Catalog,
    engine: ContainerEngine,
    settings: ImageSettings | None = None,
    progress: ProgressCallback | None = None,
) -> ChosenImage:
    """wheelyard's own image of ``variant`` (made when missing or out of date): what a failed
    pull falls back to, and what verification sandboxes run in (they mount the host's
    interpreters, built against this machine's libc)."""
    result = ensure_image(
        variant, platform, catalog=catalog, engine=engine, settings=settings, progress=progress
    )
    return ChosenImage(ref=result.ref, info=result.info, source=ImageSource.LOCAL)


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
    if not force and (cached := cached_result(request, engine, recipe.hash)) is not None:
        return cached
    with build_lock(settings.lock_dir, f"{request.variant}-{request.platform}"):
        if not force and (cached := cached_result(request, engine, recipe.hash)) is not None:
            return cached
        check_host()
        ca = settings.ca_bundle
        host = HostTools.locate(ca if ca is not None and ca.is_file() else None)
        build = BuildSession.start(request, engine, settings, progress)
        work = settings.work_dir / f"{request.variant}-{os.getpid()}"
        remove_tree(work)
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
            remove_tree(work)
        return build.finish(recipe.hash, check=recipe.check_script())


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
    if not force and (cached := cached_result(request, engine, recipe.hash, base=base)) is not None:
        return cached
    with build_lock(settings.lock_dir, f"{request.variant}-{request.platform}"):
        if (
            not force
            and (cached := cached_result(request, engine, recipe.hash, base=base)) is not None
        ):
            return cached
        build = BuildSession.start(request, engine, settings, progress)
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
        return build.finish(recipe.hash, check=recipe.check_script(), base=base)


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
