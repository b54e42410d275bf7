"""Write the whole index from the published-state record (never from a store listing).

Layout in the store (all links relative, so the tree can be served from any URL prefix)::

    packages/<project>/<file>                 wheels, their .metadata (PEP 658), variants.json
    simple/index.{html,json}                  projects
    simple/<project>/index.{html,json}        variant wheels, non-variant fallbacks, variants.json
    whl/<channel>/<variant>/index.{html,json} projects with legacy wheels of that variant
    whl/<channel>/<variant>/<project>/...     the legacy ``X+cu128`` wheels

``variants.json`` files are written before the pages that link them, project pages before the
lists that link those; pages whose bytes did not change are not written again, and pages no
longer produced are removed last.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import quote

from packaging.version import Version

from wheelyard.errors import VariantError
from wheelyard.index.pages import (
    HTML_TYPE,
    JSON_TYPE,
    Link,
    project_html,
    project_json,
    root_html,
    root_json,
)
from wheelyard.index.state import SIMPLE, PublishedFile, PublishedState, file_key
from wheelyard.index.store import Store, sha256_bytes
from wheelyard.wheel.convert import WheelKind
from wheelyard.wheel.variants_json import (
    VariantMetadata,
    merge_metadata,
    parse_variant_metadata,
    variants_json_filename,
)

VARIANTS_JSON_TYPE = "application/json"


@dataclass(frozen=True, kw_only=True)
class Page:
    key: str
    data: bytes
    content_type: str

    @property
    def sha256(self) -> str:
        return sha256_bytes(self.data)


@dataclass(frozen=True, kw_only=True)
class IndexResult:
    written: tuple[str, ...]
    unchanged: int
    removed: tuple[str, ...]


def _relative(page_dir: str, key: str) -> str:
    depth = len(page_dir.split("/"))
    return "../" * depth + quote(key)


def _link(page_dir: str, item: PublishedFile) -> Link:
    return Link(
        filename=item.filename,
        url=_relative(page_dir, item.key),
        sha256=item.sha256,
        size=item.size,
        upload_time=item.published_at,
        requires_python=item.requires_python,
        metadata_sha256=item.metadata_sha256,
        yanked=item.yanked,
    )


def release_metadata(files: Iterable[PublishedFile]) -> dict[tuple[str, str], VariantMetadata]:
    """The merged variant metadata of every release that has variant wheels."""
    grouped: dict[tuple[str, str], dict[str, VariantMetadata]] = defaultdict(dict)
    seen: dict[str, tuple[str, str]] = {}
    for item in files:
        if item.kind is not WheelKind.VARIANT or item.variant_metadata is None:
            continue
        release = (item.project, item.version)
        # Wheels of one variant share their variant.json: parse each distinct one once.
        marker = f"{release}:{item.label}:{sorted(item.variant_metadata.items())!r}"
        if marker in seen:
            continue
        seen[marker] = release
        grouped[release][item.filename] = parse_variant_metadata(
            item.variant_metadata, source=item.filename, single=True
        )
    merged = {}
    for (project, version), docs in grouped.items():
        source = variants_json_filename(project, version)
        merged[(project, version)] = merge_metadata(docs.values(), source=source)
    return merged


def _sorted_files(files: Iterable[PublishedFile]) -> list[PublishedFile]:
    return sorted(files, key=lambda f: (Version(f.version), f.filename))


def render_index(state: PublishedState) -> list[Page]:
    """Every page and variants.json the state calls for, in a safe writing order."""
    by_tree: dict[str, dict[str, dict[str, PublishedFile]]] = defaultdict(lambda: defaultdict(dict))
    for item in state.files:
        # The same file may be published on several channels: one link per page.
        by_tree[item.tree][item.project].setdefault(item.filename, item)
    try:
        releases = release_metadata(
            f for f in state.files if f.tree == SIMPLE and f.kind is WheelKind.VARIANT
        )
    except VariantError as exc:
        raise VariantError(f"the published state is inconsistent: {exc.message}") from exc

    variants_files: list[Page] = []
    variants_links: dict[str, list[tuple[str, Page]]] = defaultdict(list)
    for (project, version), metadata in sorted(releases.items()):
        name = variants_json_filename(project, version)
        page = Page(
            key=file_key(project, name), data=metadata.render(), content_type=VARIANTS_JSON_TYPE
        )
        variants_files.append(page)
        variants_links[project].append((version, page))

    project_pages: list[Page] = []
    root_pages: list[Page] = []
    for tree in sorted(by_tree):
        projects = by_tree[tree]
        for project in sorted(projects):
            page_dir = f"{tree}/{project}"
            files = _sorted_files(projects[project].values())
            links = [_link(page_dir, item) for item in files]
            versions = sorted({f.version for f in files}, key=Version)
            if tree == SIMPLE:
                for _version, page in variants_links.get(project, []):
                    links.append(
                        Link(
                            filename=page.key.rsplit("/", 1)[1],
                            url=_relative(page_dir, page.key),
                            sha256=page.sha256,
                        )
                    )
            project_pages.append(
                Page(
                    key=f"{page_dir}/index.html",
                    data=project_html(project, links).encode(),
                    content_type=HTML_TYPE,
                )
            )
            project_pages.append(
                Page(
                    key=f"{page_dir}/index.json",
                    data=project_json(project, links, versions).encode(),
                    content_type=JSON_TYPE,
                )
            )
        names = sorted(projects)
        title = "Simple index" if tree == SIMPLE else f"Simple index: {tree}"
        root_pages.append(
            Page(
                key=f"{tree}/index.html",
                data=root_html(title, names).encode(),
                content_type=HTML_TYPE,
            )
        )
        root_pages.append(
            Page(key=f"{tree}/index.json", data=root_json(names).encode(), content_type=JSON_TYPE)
        )
    return variants_files + project_pages + root_pages


def write_index(store: Store, state: PublishedState) -> tuple[PublishedState, IndexResult]:
    """Write the pages of ``state`` that changed, then drop pages it no longer produces.

    Returns the state with its page hashes updated (save it after this succeeds).
    """
    pages = render_index(state)
    previous: Mapping[str, str] = state.pages
    written: list[str] = []
    unchanged = 0
    hashes: dict[str, str] = {}
    for page in pages:
        digest = page.sha256
        hashes[page.key] = digest
        if previous.get(page.key) == digest:
            unchanged += 1
            continue
        store.put_bytes(page.key, page.data, content_type=page.content_type)
        written.append(page.key)
    removed = tuple(sorted(set(previous) - set(hashes)))
    for key in removed:
        store.delete(key)
    new_state = replace(state, pages=hashes)
    return new_state, IndexResult(written=tuple(written), unchanged=unchanged, removed=removed)
