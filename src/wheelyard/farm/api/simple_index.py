"""The farm's package index, served from the directory ``publish`` writes.

``/simple/`` and ``/simple/<project>/`` negotiate their format (PEP 691): the JSON page for
``application/vnd.pypi.simple.v1+json`` (or ``.latest+json``), HTML for ``text/html`` and
``application/vnd.pypi.simple.v1+html`` (the default, e.g. ``Accept: */*``), 406 when none is
acceptable; ``?format=`` picks one explicitly. Files (``/packages/...``) and the per-variant
trees (``/whl/<channel>/<variant>/...``) are served as they are.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from packaging.utils import canonicalize_name

from wheelyard.farm.api.context import context_of

router = APIRouter(tags=["index"])

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
HTML = "text/html"
# Media type asked for -> the page served (JSON or HTML) and the Content-Type it is served as.
SERVED = {
    JSON_V1: ("json", JSON_V1),
    "application/vnd.pypi.simple.latest+json": ("json", JSON_V1),
    HTML_V1: ("html", HTML_V1),
    "application/vnd.pypi.simple.latest+html": ("html", HTML_V1),
    HTML: ("html", "text/html; charset=utf-8"),
}
PREFERENCE = (JSON_V1, "application/vnd.pypi.simple.latest+json", HTML_V1, HTML)


def _parse_accept(header: str) -> list[tuple[str, float]]:
    entries = []
    for part in header.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        entries.append((media.lower(), quality))
    return entries


def negotiate(accept: str | None) -> tuple[str, str] | None:
    """(page kind, Content-Type) for an Accept header; None when nothing offered fits."""
    if not accept:
        return SERVED[HTML]
    best: tuple[float, int, str] | None = None
    for media, quality in _parse_accept(accept):
        if quality <= 0:
            continue
        if media in SERVED:
            candidates = [media]
        elif media in ("*/*", "application/*", "text/*"):
            candidates = [HTML] if media != "application/*" else [JSON_V1]
        else:
            continue
        for candidate in candidates:
            rank = PREFERENCE.index(candidate) if candidate in PREFERENCE else len(PREFERENCE)
            key = (quality, -rank, candidate)
            if best is None or key > best:
                best = key
    return SERVED[best[2]] if best is not None else None


MAX_PART = 255
"""The longest file name a file system takes: a longer one names nothing here."""


def _index_file(request: Request, *parts: str) -> Path:
    if any("\0" in part or len(part) > MAX_PART for part in parts):
        raise HTTPException(404, "not found")
    root = context_of(request).settings.index_dir.resolve()
    path = root.joinpath(*parts).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise HTTPException(404, "not found")
    return path


def _page(request: Request, folder: tuple[str, ...], format_: str | None) -> Response:
    if format_ is not None:
        chosen = {"json": SERVED[JSON_V1], "html": SERVED[HTML]}.get(format_)
        if chosen is None:
            raise HTTPException(400, "format is json or html")
    else:
        chosen = negotiate(request.headers.get("accept"))
        if chosen is None:
            raise HTTPException(
                406, f"the index serves {JSON_V1}, {HTML_V1} and {HTML}", headers={"Vary": "Accept"}
            )
    kind, content_type = chosen
    path = _index_file(request, *folder, f"index.{kind}")
    return Response(content=path.read_bytes(), media_type=content_type, headers={"Vary": "Accept"})


@router.get("/simple/", include_in_schema=True)
def simple_root(request: Request, format: str | None = None) -> Response:
    """The project list (PEP 503 HTML or PEP 691 JSON by content negotiation)."""
    return _page(request, ("simple",), format)


@router.get("/simple/{project}/")
def simple_project(project: str, request: Request, format: str | None = None) -> Response:
    """A project's files (PEP 503 HTML or PEP 691 JSON by content negotiation)."""
    canonical = str(canonicalize_name(project))
    if canonical != project:
        return RedirectResponse(f"/simple/{canonical}/", status_code=301)
    return _page(request, ("simple", canonical), format)


@router.get("/simple/{project}", include_in_schema=False)
def simple_project_slash(project: str) -> RedirectResponse:
    return RedirectResponse(f"/simple/{canonicalize_name(project)}/", status_code=301)


@router.get("/packages/{project}/{filename}")
def package_file(project: str, filename: str, request: Request) -> FileResponse:
    """A published file: a wheel, its ``.metadata`` (PEP 658) or a ``variants.json``."""
    path = _index_file(request, "packages", project, filename)
    media = "application/octet-stream"
    if filename.endswith(".metadata"):
        media = "text/plain; charset=utf-8"
    elif filename.endswith(".json"):
        media = "application/json"
    return FileResponse(path, media_type=media)


@router.get("/whl/{path:path}")
def variant_tree(path: str, request: Request) -> Response:
    """The classic per-variant indexes: ``/whl/<channel>/<variant>/[<project>/]``."""
    parts = tuple(p for p in path.split("/") if p)
    if path.endswith("/") or not path:
        return _page(request, ("whl", *parts), request.query_params.get("format"))
    candidate = context_of(request).settings.index_dir.joinpath("whl", *parts)
    if candidate.is_dir():
        return RedirectResponse(f"/whl/{path}/", status_code=301)
    return FileResponse(_index_file(request, "whl", *parts))
