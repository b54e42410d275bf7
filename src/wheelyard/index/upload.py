"""Upload to PyPI or any PyPI-compatible index with twine.

The upload API (PEP 694's predecessor, the legacy form upload) knows nothing of PEP 825: a
variant wheel's file name is invalid to every such index, so variant wheels are never sent.
From a wheelhouse, the non-variant fallback wheels of the fallback variant are uploaded (and,
on request, one variant's legacy ``X+variant`` wheels, for a private per-variant index; PyPI
itself refuses local versions, so those are never sent to pypi.org).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from wheelyard import proc
from wheelyard.errors import UploadError
from wheelyard.index.wheelhouse import read_wheelhouse
from wheelyard.wheel.archive import parse_name
from wheelyard.wheel.convert import make_fallback_wheel, make_legacy_wheel
from wheelyard.wheel.variant import parse_variant_filename

UPLOAD_TIMEOUT = 3600.0
PYPI_HOSTS = ("pypi.org", "test.pypi.org", "upload.pypi.org")


def wheels_from_wheelhouse(
    wheelhouse: Path, out_dir: Path, *, fallback: str, legacy_variant: str | None = None
) -> list[Path]:
    """The uploadable wheels of a wheelhouse: fallbacks, and optionally one variant's legacy."""
    house = read_wheelhouse(wheelhouse)
    files: list[Path] = []
    for index, built in enumerate(house.wheels):
        folder = out_dir / f"{index:05d}"
        if built.variant == fallback:
            files.append(make_fallback_wheel(house.file(built), folder).path)
        if legacy_variant is not None and built.variant == legacy_variant:
            files.append(make_legacy_wheel(house.file(built), folder, variant=built.variant).path)
    if not files:
        raise UploadError(
            f"{wheelhouse}: no {fallback} wheels to upload as non-variant wheels",
            hint="build the fallback variant (usually cpu), or name it with --fallback",
        )
    return files


def check_uploadable(files: Sequence[Path], repository_url: str) -> None:
    """Refuse what the index cannot take, before anything is sent."""
    to_pypi = (urlsplit(repository_url).hostname or "").endswith(PYPI_HOSTS)
    problems = []
    for path in files:
        if not path.is_file():
            problems.append(f"{path}: no such file")
            continue
        if path.suffix != ".whl":
            continue
        name = parse_variant_filename(path.name)
        if name.label is not None:
            problems.append(
                f"{path.name} is a PEP 825 variant wheel (label {name.label}): PyPI-compatible "
                "upload APIs cannot take it"
            )
        elif to_pypi and parse_name(path.name).version.local:
            problems.append(
                f"{path.name}: PyPI refuses local versions (+{name.wheel.version.local})"
            )
    if problems:
        raise UploadError(
            "refusing to upload:\n  - " + "\n  - ".join(problems),
            hint="publish variant wheels with `wheelyard publish` to a variant-aware index; "
            "upload the non-variant fallbacks (`wheelyard upload WHEELHOUSE`)",
        )


def upload(
    files: Sequence[Path],
    repository_url: str,
    *,
    skip_existing: bool = False,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
) -> proc.Completed:
    """Run ``twine upload`` (credentials from TWINE_USERNAME/TWINE_PASSWORD in ``env``)."""
    check_uploadable(files, repository_url)
    argv = [
        sys.executable,
        "-m",
        "twine",
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
        "--repository-url",
        repository_url,
    ]
    if skip_existing:
        argv.append("--skip-existing")
    argv += [str(f) for f in files]
    return proc.run(argv, env=env, timeout=UPLOAD_TIMEOUT, log_path=log_path)
