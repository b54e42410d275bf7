"""Simple repository pages: PEP 503 HTML and PEP 691 JSON (api-version 1.1), with PEP 658/714
core-metadata hashes, ``data-requires-python``, yanked state (PEP 592) and upload times (PEP 700).

Static hosting cannot negotiate content types, so each page is written twice: ``index.html``
for pip/uv and ``index.json`` beside it for JSON clients (``wheelyard install``, the farm).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

API_VERSION = "1.1"
HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True, kw_only=True)
class Link:
    """One file on a project page. ``url`` is relative to the page."""

    filename: str
    url: str
    sha256: str
    size: int | None = None
    upload_time: str | None = None
    requires_python: str | None = None
    metadata_sha256: str | None = None
    yanked: str | None = None
    """None: not yanked; a reason otherwise ("" when none was given)."""


def _head(title: str) -> list[str]:
    return [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">',
        f"    <title>{escape(title)}</title>",
        "  </head>",
        "  <body>",
        f"    <h1>{escape(title)}</h1>",
    ]


def _anchor(link: Link) -> str:
    attrs = [f'href="{escape(link.url)}#sha256={link.sha256}"']
    if link.requires_python:
        attrs.append(f'data-requires-python="{escape(link.requires_python)}"')
    if link.metadata_sha256:
        value = f"sha256={link.metadata_sha256}"
        attrs.append(f'data-dist-info-metadata="{value}" data-core-metadata="{value}"')
    if link.yanked is not None:
        attrs.append(f'data-yanked="{escape(link.yanked)}"')
    return f"    <a {' '.join(attrs)}>{escape(link.filename)}</a><br>"


def project_html(name: str, links: Iterable[Link]) -> str:
    lines = _head(f"Links for {name}")
    lines += [_anchor(link) for link in links]
    lines += ["  </body>", "</html>", ""]
    return "\n".join(lines)


def _file_json(link: Link) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "filename": link.filename,
        "url": link.url,
        "hashes": {"sha256": link.sha256},
    }
    if link.requires_python:
        entry["requires-python"] = link.requires_python
    if link.metadata_sha256:
        entry["core-metadata"] = {"sha256": link.metadata_sha256}
        entry["dist-info-metadata"] = {"sha256": link.metadata_sha256}
    if link.size is not None:
        entry["size"] = link.size
    if link.upload_time:
        entry["upload-time"] = link.upload_time
    entry["yanked"] = False if link.yanked is None else (link.yanked or True)
    return entry


def project_json(name: str, links: Sequence[Link], versions: Sequence[str]) -> str:
    data = {
        "meta": {"api-version": API_VERSION},
        "name": name,
        "versions": list(versions),
        "files": [_file_json(link) for link in links],
    }
    return json.dumps(data, indent=1) + "\n"


def root_html(title: str, projects: Iterable[str]) -> str:
    lines = _head(title)
    lines += [f'    <a href="{escape(p)}/">{escape(p)}</a><br>' for p in projects]
    lines += ["  </body>", "</html>", ""]
    return "\n".join(lines)


def root_json(projects: Iterable[str]) -> str:
    data = {"meta": {"api-version": API_VERSION}, "projects": [{"name": p} for p in projects]}
    return json.dumps(data, indent=1) + "\n"
