"""A package by name from a package index: ``NAME==VERSION`` (or ``NAME``, ``NAME>=X``) becomes
the sdist the index serves for it, downloaded with its hash checked (pypi-simple reads the
index's PEP 691 / PEP 503 pages).

Only sdists are taken: wheelyard builds wheels from source. The newest version the requirement
allows that has an sdist and is not yanked is chosen; pre-releases only when the requirement
names one (as pip does).
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import requests
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelyard.errors import SourceError

DEFAULT_INDEX = "https://pypi.org/simple/"
TIMEOUT = 120.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def parse_requirement(text: str) -> Requirement | None:
    """``text`` as a package requirement (``numpy==2.1.0``, ``ujson``), or None when it does not
    look like one (a path, an sdist file, a URL)."""
    if "/" in text or "\\" in text or text.endswith((".tar.gz", ".zip", ".tgz", ".toml")):
        return None
    if not _NAME.match(text):
        return None
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return None
    if requirement.url or requirement.marker or requirement.extras:
        return None
    return requirement


def _session() -> requests.Session:
    """A requests session that trusts the system's certificates (as pip and uv do with this
    machine's store) rather than only certifi's bundle."""
    session = requests.Session()
    cafile = ssl.get_default_verify_paths().cafile
    if cafile and Path(cafile).is_file():
        session.verify = cafile
    return session


def _version(text: str | None) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def fetch_sdist(requirement: Requirement, *, index_url: str, into: Path) -> Path:
    """Download the sdist ``requirement`` names from ``index_url`` into ``into``; its path."""
    from pypi_simple import (
        ACCEPT_JSON_PREFERRED,
        DigestMismatchError,
        NoDigestsError,
        NoSuchProjectError,
        PyPISimple,
    )

    name = canonicalize_name(requirement.name)
    spec = requirement.specifier
    into.mkdir(parents=True, exist_ok=True)
    try:
        with PyPISimple(index_url, session=_session(), accept=ACCEPT_JSON_PREFERRED) as client:
            try:
                page = client.get_project_page(name, timeout=TIMEOUT)
            except NoSuchProjectError as exc:
                raise SourceError(
                    f"{requirement.name} is not on the index {index_url}",
                    hint="check the name, or pass --index-url for another index",
                ) from exc
            sdists = [p for p in page.packages if p.package_type == "sdist" and _version(p.version)]
            live = [p for p in sdists if not p.is_yanked]
            wants_pre = any(Version(s.version).is_prerelease for s in spec if _version(s.version))
            allowed = [
                p for p in live if spec.contains(str(_version(p.version)), prereleases=wants_pre)
            ]
            if not allowed:
                versions = sorted(
                    {str(v) for p in page.packages if (v := _version(p.version)) is not None},
                    key=Version,
                )
                with_sdist = sorted({str(_version(p.version)) for p in live}, key=Version)
                if with_sdist:
                    known = f" (versions with an sdist: {', '.join(with_sdist[-8:])})"
                else:
                    known = f" (no sdist at all; versions: {', '.join(versions[-8:]) or 'none'})"
                raise SourceError(
                    f"{requirement} has no sdist on {index_url}{known}",
                    hint="wheelyard builds from source: choose a version that has an sdist",
                )
            best = max(allowed, key=lambda p: _version(p.version) or Version("0"))
            target = into / Path(best.filename).name
            try:
                client.download_package(best, target, verify=True, timeout=TIMEOUT)
            except NoDigestsError as exc:
                raise SourceError(
                    f"{index_url} gives no hash for {best.filename}: it cannot be checked",
                    hint="use an index that publishes sha256 hashes (PEP 503/691)",
                ) from exc
            except DigestMismatchError as exc:
                target.unlink(missing_ok=True)
                raise SourceError(
                    f"{best.filename} from {index_url} does not match the index's hash",
                    hint="the download was damaged or the file changed on the index",
                ) from exc
    except requests.RequestException as exc:
        raise SourceError(
            f"cannot fetch {requirement} from {index_url}: {exc}",
            hint="check --index-url and the network",
        ) from exc
    return target
