"""wheelyard's own builder images: made locally (no registry), rebuilt only when their recipe
changes, tagged as the catalog's ``images`` entry for the variant.

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
    build_lock,
    remove_tree,
)
from wheelyard.builder.image.recipe import (
    LABEL_BUILDER,
    BaseImageRecipe,
    BuilderImage,
    ToolkitImageRecipe,
    base_labels,
    env_changes,
    label_changes,
)
from wheelyard.builder.image.rootfs import HostTools, build_rootfs, check_host, pack
from wheelyard.builder.image.toolkit import build_toolkit_image
from wheelyard.builder.steps import ProgressCallback
from wheelyard.catalog.model import Catalog
from wheelyard.config.suggest import did_you_mean
from wheelyard.config.vocab import AcceleratorKind, Platform
from wheelyard.errors import ImageError, ImageRequestError
from wheelyard.host.interpreters import HostInterpreter, find_interpreters
from wheelyard.host.platform import host_platform

__all__ = [
    "ImageBuildResult",
    "ImageRequest",
    "ImageSettings",
    "builder_image",
    "ensure_image",
    "list_builder_images",
    "resolve_request",
]

BASE_VARIANT = "cpu"
LOCAL_PREFIX = "localhost/"
"""Only local references are built here; anything else is pulled from its registry."""


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


def builder_image(
    variant: str,
    platform: Platform = Platform.LINUX_X86_64,
    *,
    catalog: Catalog,
    engine: ContainerEngine,
    settings: ImageSettings | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[str, ImageInfo]:
    """The image a job of ``variant`` runs in: a registry image named by the catalog is used as
    it is (the container engine pulls it when cibuildwheel starts the job); a ``localhost/``
    image is built here when missing or out of date (:func:`ensure_image`)."""
    ref = catalog.image(variant, platform)
    if ref is not None and not ref.startswith(LOCAL_PREFIX):
        info = engine.image_info(ref)
        if info is None:  # not pulled yet: nothing is known about it until cibuildwheel pulls
            info = ImageInfo(id="", digest=None, tags=(ref,), size=0, created="")
        return ref, info
    result = ensure_image(
        variant, platform, catalog=catalog, engine=engine, settings=settings, progress=progress
    )
    return result.ref, result.info


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
