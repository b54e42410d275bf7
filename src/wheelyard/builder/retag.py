"""Give built wheels a build tag (PEP 427), with pypa/wheel's ``wheel tags --build``.

A rebuild that keeps the version of wheels already published (a release rebuilt against a new
ABI) must not reuse their file names: the store refuses a different file under a published name,
and installers would keep what they cached. The build tag (``name-1.2.0-1-cp312-...``) makes
the names new, and installers prefer the highest build tag of a version. ``wheel tags`` renames
the file, writes ``Build:`` into the ``WHEEL`` file and rewrites ``RECORD``; the wheel is
otherwise unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.utils import parse_wheel_filename

from wheelyard import proc
from wheelyard.errors import ProcessError, VersionError
from wheelyard.version import check_build_tag

TIMEOUT = 120.0


def add_build_tag(wheel: Path, tag: str) -> Path:
    """Replace ``wheel`` by the same wheel with build tag ``tag``; returns the new path."""
    check_build_tag(tag)
    name, version, build, tags = parse_wheel_filename(wheel.name)
    if build and f"{build[0]}{build[1]}" == tag:
        return wheel
    argv = [sys.executable, "-m", "wheel", "tags", "--build", tag, "--remove", wheel.name]
    try:
        result = proc.run(argv, cwd=wheel.parent, timeout=TIMEOUT)
    except ProcessError as exc:
        raise VersionError(
            f"cannot give {wheel.name} the build tag {tag}: {exc.message}",
            hint=exc.output_tail or None,
        ) from exc
    lines = [ln.strip() for ln in result.output.splitlines() if ln.strip().endswith(".whl")]
    new = wheel.parent / (lines[-1] if lines else "")
    if not lines or not new.is_file():
        raise VersionError(f"wheel tags gave no file for {wheel.name}: {result.output.strip()}")
    new_name, new_version, new_build, new_tags = parse_wheel_filename(new.name)
    same = (new_name, new_version, new_tags) == (name, version, tags)
    if not same or not new_build or f"{new_build[0]}{new_build[1]}" != tag:
        raise VersionError(f"wheel tags renamed {wheel.name} to an unexpected {new.name}")
    return new
