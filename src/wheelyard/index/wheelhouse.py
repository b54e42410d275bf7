"""Read what ``wheelyard build`` left: ``<wheelhouse>/<variant>/*.whl`` and the build record.

The record says which variant built each wheel and its sha256 (checked again here: a wheel that
changed since the build is refused). A wheel whose verdict is ``failed`` is left out and
reported. Without a record, each sub-folder's name is taken as the variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from wheelyard.config.vocab import Channel
from wheelyard.errors import PublishError
from wheelyard.index.store import sha256_file
from wheelyard.record import (
    RECORD_NAME,
    BuildRecord,
    VerificationStatus,
    WheelInfo,
    wheel_project,
)

NOT_VARIANT_DIRS = frozenset({"logs"})


@dataclass(frozen=True, kw_only=True)
class ExcludedWheel:
    name: str
    variant: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Wheelhouse:
    root: Path
    channel: Channel | None
    wheels: tuple[WheelInfo, ...]
    """The record's entries of the wheels to publish (checked: present, unchanged, not failed);
    without a record, each ``<variant>/*.whl`` as :meth:`WheelInfo.of` describes it."""
    excluded: tuple[ExcludedWheel, ...] = ()
    from_record: bool = True

    def file(self, wheel: WheelInfo) -> Path:
        return self.root / wheel.path


def _verification_failed(wheel: WheelInfo) -> str | None:
    check = wheel.verification
    if check is None or check.status is not VerificationStatus.FAILED:
        return None
    return "verification failed" + (f": {check.message}" if check.message else "")


def _not_the_package(wheel: WheelInfo, package: str) -> str | None:
    """A wheel of another project than the one its job built is never published (a build step
    that wrote it would otherwise publish under a name the submitter does not own)."""
    if not package:  # a record written before jobs named their package
        return None
    name = wheel_project(wheel.name)
    if name is None:
        return f"{wheel.name} is not a wheel file name"
    if name != canonicalize_name(package):
        return f"a wheel of {name}, not of {package}, the package the job built"
    return None


def _from_record(root: Path, record: BuildRecord) -> Wheelhouse:
    wheels: list[WheelInfo] = []
    excluded: list[ExcludedWheel] = []
    for job, entry in record.entries():
        path = root / entry.path
        reason = _verification_failed(entry) or _not_the_package(entry, job.package)
        if reason is not None:
            excluded.append(ExcludedWheel(name=path.name, variant=job.variant, reason=reason))
            continue
        if path.is_symlink():
            raise PublishError(
                f"{path}: a link, not the file the build wrote",
                hint="publish the wheelhouse `wheelyard build` left, not links into it",
            )
        if not path.is_file():
            raise PublishError(
                f"{path}: listed in {RECORD_NAME} but missing",
                hint="rebuild, or copy the whole wheelhouse (wheels and record) together",
            )
        digest = sha256_file(path)
        if entry.sha256 != digest:
            raise PublishError(
                f"{path.name} changed since it was built (sha256 {digest[:16]}..., the "
                f"record says {entry.sha256[:16]}...)",
                hint="publish only what the build produced: rebuild the wheelhouse",
            )
        wheels.append(entry)
    channel = record.channel if record.channel in {c.value for c in Channel} else None
    return Wheelhouse(
        root=root,
        channel=Channel(channel) if channel else None,
        wheels=tuple(wheels),
        excluded=tuple(excluded),
    )


def read_wheelhouse(root: Path) -> Wheelhouse:
    if not root.is_dir():
        raise PublishError(
            f"{root}: no such wheelhouse", hint="pass the output folder of `wheelyard build`"
        )
    if BuildRecord.exists_in(root):
        house = _from_record(root, BuildRecord.load(root))
    else:
        files = [
            path
            for folder in sorted(root.iterdir())
            if folder.is_dir() and folder.name not in NOT_VARIANT_DIRS
            for path in sorted(folder.glob("*.whl"))
        ]
        bad = [
            str(p.relative_to(root))
            for p in files
            if p.is_symlink() or wheel_project(p.name) is None
        ]
        if bad:
            raise PublishError(
                f"not a wheel file (a link, or not a wheel file name) in {root}: {', '.join(bad)}",
                hint="a wheel is a file NAME-VERSION(-BUILD)-PYTHON-ABI-PLATFORM.whl",
            )
        wheels = [WheelInfo.of(path, root) for path in files]
        house = Wheelhouse(root=root, channel=None, wheels=tuple(wheels), from_record=False)
    if not house.wheels and not house.excluded:
        raise PublishError(
            f"{root}: no wheels to publish",
            hint="wheels live in <wheelhouse>/<variant>/ as `wheelyard build` leaves them",
        )
    return house
