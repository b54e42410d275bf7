"""What image builds leave behind and how it goes away: build containers and temporary tags
named after the builder's process id, work folders, superseded images; plus the per-image lock.

Only leftovers whose builder process is gone are touched, so parallel builds are safe.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from wheelyard.builder.engine import ContainerEngine
from wheelyard.builder.image.recipe import LABEL_BUILDER
from wheelyard.proc import process_alive

LABEL_ROLE = "dev.wheelyard.role"
LABEL_PID = "dev.wheelyard.pid"
ROLE_IMAGE_BUILD = "image-build"
CANDIDATE = re.compile(r"-candidate-(?P<pid>\d+)-[0-9a-f]+$")
"""Temporary tag of an image being built: ``<repo>:<variant>-candidate-<pid>-<token>``."""


def repository(ref: str) -> str:
    """``localhost/wheelyard-builder:cpu`` -> ``localhost/wheelyard-builder``."""
    name, sep, tag = ref.rpartition(":")
    return name if sep and "/" not in tag else ref


def candidate_ref(ref: str, variant: str, token: str) -> str:
    return f"{repository(ref)}:{variant}-candidate-{os.getpid()}-{token}"


def build_labels() -> dict[str, str]:
    """Labels of the containers an image build starts."""
    return {LABEL_ROLE: ROLE_IMAGE_BUILD, LABEL_PID: str(os.getpid())}


def alive(pid: int) -> bool:
    """Whether the process that labelled a container, tag or folder still runs (this one does)."""
    return pid == os.getpid() or process_alive(pid)


def remove_strays(engine: ContainerEngine, *, work_root: Path) -> list[str]:
    """Remove what killed image builds left: containers, temporary tags, work folders
    (``<work_root>/<name>-<pid>``). Returns what was removed."""
    removed: list[str] = []
    for container in engine.containers_with_label(f"{LABEL_ROLE}={ROLE_IMAGE_BUILD}"):
        pid = container.labels.get(LABEL_PID, "")
        if pid.isdigit() and not alive(int(pid)):
            engine.remove_container(container.id)
            removed.append(f"container {container.name or container.id[:12]}")
    for info in engine.images_with_label(f"{LABEL_BUILDER}=1"):
        for tag in info.tags:
            match = CANDIDATE.search(tag)
            if match and not alive(int(match["pid"])) and engine.remove_image(tag):
                removed.append(f"tag {tag}")
    if work_root.is_dir():
        for folder in work_root.iterdir():
            pid = folder.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not alive(int(pid)) and remove_tree(folder):
                removed.append(f"folder {folder}")
    return removed


def prune_untagged(engine: ContainerEngine) -> None:
    """Drop superseded builder images that lost their tag; one still used as the base of a
    GPU image stays (the engine refuses) until that image is rebuilt too."""
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
            decoded = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), fields[4])
            points.append(Path(decoded))
    return points


def remove_tree(path: Path) -> bool:
    """Delete a work folder, but never through a mount point left inside it; True if gone."""
    if not path.exists():
        return True
    resolved = path.resolve()
    if any(p == resolved or resolved in p.parents for p in _mount_points()):
        return False
    shutil.rmtree(resolved, ignore_errors=True)
    return not resolved.exists()


@contextlib.contextmanager
def build_lock(lock_dir: Path, name: str) -> Iterator[None]:
    """One build of a given image at a time on this host (others wait, then reuse it)."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    with (lock_dir / f"{name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
