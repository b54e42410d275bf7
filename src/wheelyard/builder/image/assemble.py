"""One builder-image build: its settings, request and result, and the session that logs its
steps, builds under a temporary tag, checks the candidate in a container, hands it the catalog
tag and removes the image it replaced."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wheelyard import __version__
from wheelyard.builder.engine import ContainerEngine, ImageInfo
from wheelyard.builder.image.cleanup import (
    build_labels,
    candidate_ref,
    prune_untagged,
    remove_strays,
)
from wheelyard.builder.image.recipe import (
    CA_BUNDLE,
    DEBIAN_MIRROR,
    DEBIAN_SUITE,
    LABEL_RECIPE_HASH,
    BuilderImage,
)
from wheelyard.builder.steps import ProgressCallback, StepTiming, StepTracker
from wheelyard.config.accelerator import VariantEntry
from wheelyard.config.vocab import Platform
from wheelyard.errors import ImageError, ProcessError

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

    @property
    def work_dir(self) -> Path:
        return self.cache_dir / "work"

    @property
    def lock_dir(self) -> Path:
        return self.cache_dir / "locks"


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


@dataclass(kw_only=True)
class BuildSession:
    request: ImageRequest
    engine: ContainerEngine
    settings: ImageSettings
    steps: StepTracker
    log_path: Path
    candidate: str
    previous: ImageInfo | None
    token: str

    @classmethod
    def start(
        cls,
        request: ImageRequest,
        engine: ContainerEngine,
        settings: ImageSettings,
        progress: ProgressCallback | None,
    ) -> BuildSession:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        log_path = settings.log_dir / f"{request.variant}-{request.platform}-{stamp}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(
            f"wheelyard {__version__}: builder image {request.ref} ({request.variant}, "
            f"{request.platform}) with {engine.name}\n",
            encoding="utf-8",
        )
        remove_strays(engine, work_root=settings.work_dir)
        token = secrets.token_hex(3)
        return cls(
            request=request,
            engine=engine,
            settings=settings,
            steps=StepTracker(progress, log_path),
            log_path=log_path,
            candidate=candidate_ref(request.ref, request.variant, token),
            previous=engine.image_info(request.ref),
            token=token,
        )

    @property
    def container_labels(self) -> dict[str, str]:
        return build_labels()

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
        prune_untagged(engine)
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
        report = self.log_path.with_suffix(".json")
        tmp = report.with_name(f".{report.name}.tmp")
        tmp.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(report)
        return result


def cached_result(
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
