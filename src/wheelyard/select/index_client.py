"""Read a simple repository: PEP 691 JSON when offered (or ``index.json`` beside a static
page), PEP 503 HTML otherwise; ``file://`` URLs and plain directories work too.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from packaging.utils import canonicalize_name

from wheelyard.errors import IndexFormatError, SelectError

ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
TIMEOUT = 60.0
MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class IndexFile:
    filename: str
    url: str
    """Absolute URL (fragment removed)."""
    sha256: str | None = None
    requires_python: str | None = None
    yanked: str | None = None


@dataclass(frozen=True, kw_only=True)
class ProjectPage:
    name: str
    url: str
    files: tuple[IndexFile, ...]
    format: str
    """``json`` or ``html``."""


def index_base(index_url: str) -> str:
    """Make a bare directory path a file:// URL; always end with a slash."""
    if "://" not in index_url:
        index_url = Path(index_url).resolve().as_uri()
    return index_url.rstrip("/") + "/"


def fetch(url: str, *, accept: str | None = None) -> tuple[bytes, str] | None:
    """The body and content type at ``url``; None when it does not exist (404, no file)."""
    if url.startswith("file:"):
        path = Path(unquote(urlsplit(url).path))
        if not path.is_file():
            return None
        kind = "application/json" if path.suffix == ".json" else "text/html"
        return path.read_bytes(), kind
    request = urllib.request.Request(url, headers={"Accept": accept or "*/*"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            data: bytes = response.read(MAX_BYTES + 1)
            kind = str(response.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            return None
        raise SelectError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise SelectError(
            f"cannot reach {url}: {getattr(exc, 'reason', exc)}",
            hint="check --index-url and that the index is being served",
        ) from exc
    if len(data) > MAX_BYTES:
        raise IndexFormatError(f"{url}: larger than {MAX_BYTES} bytes")
    return data, kind


def _hash(hashes: object) -> str | None:
    if isinstance(hashes, Mapping) and isinstance(hashes.get("sha256"), str):
        return str(hashes["sha256"])
    return None


def parse_json_page(data: bytes, url: str) -> list[IndexFile]:
    try:
        doc = json.loads(data)
        files = doc["files"]
        if not isinstance(files, list):
            raise TypeError("'files' is not a list")
        out = []
        for entry in files:
            href, _ = urldefrag(urljoin(url, str(entry["url"])))
            yanked: Any = entry.get("yanked", False)
            out.append(
                IndexFile(
                    filename=str(entry["filename"]),
                    url=href,
                    sha256=_hash(entry.get("hashes")),
                    requires_python=entry.get("requires-python"),
                    yanked=None if yanked is False else ("" if yanked is True else str(yanked)),
                )
            )
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise IndexFormatError(
            f"{url}: malformed PEP 691 project page ({exc})",
            hint="the index serves a broken page; republish it or report it to its owner",
        ) from exc
    return out


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open = dict(attrs)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.anchors.append((self._open, "".join(self._text).strip()))
            self._open = None


def parse_html_page(data: bytes, url: str) -> list[IndexFile]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IndexFormatError(f"{url}: project page is not UTF-8 ({exc})") from exc
    parser = _Anchors()
    parser.feed(text)
    parser.close()
    out = []
    for attrs, label in parser.anchors:
        href = attrs.get("href")
        if not href:
            raise IndexFormatError(
                f"{url}: malformed PEP 503 page: a link without href ({label!r})"
            )
        absolute, fragment = urldefrag(urljoin(url, href))
        sha = fragment.split("=", 1)[1] if fragment.startswith("sha256=") else None
        name = label or unquote(urlsplit(absolute).path.rsplit("/", 1)[-1])
        yanked = attrs.get("data-yanked")
        out.append(
            IndexFile(
                filename=name,
                url=absolute,
                sha256=sha,
                requires_python=attrs.get("data-requires-python"),
                yanked=None if "data-yanked" not in attrs else (yanked or ""),
            )
        )
    return out


def fetch_project(index_url: str, project: str) -> ProjectPage:
    """The files of ``project`` on the index at ``index_url``."""
    name = canonicalize_name(project)
    url = f"{index_base(index_url)}{name}/"
    if url.startswith("file:"):
        found = fetch(url + "index.json")
        if found is not None:
            return ProjectPage(
                name=name, url=url, files=tuple(parse_json_page(found[0], url)), format="json"
            )
        found = fetch(url + "index.html")
    else:
        found = fetch(url, accept=ACCEPT)
        if found is not None and "json" in found[1]:
            return ProjectPage(
                name=name, url=url, files=tuple(parse_json_page(found[0], url)), format="json"
            )
        sidecar = fetch(url + "index.json", accept="application/json")
        if sidecar is not None:
            return ProjectPage(
                name=name, url=url, files=tuple(parse_json_page(sidecar[0], url)), format="json"
            )
    if found is None:
        raise SelectError(
            f"{project} is not on the index {index_url}",
            hint="check the package name and --index-url (a simple index: .../simple/)",
        )
    return ProjectPage(
        name=name, url=url, files=tuple(parse_html_page(found[0], url)), format="html"
    )
