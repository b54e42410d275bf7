"""Publish a wheelhouse: convert, check, upload, record, write the index, apply retention.

The order makes every step safe to interrupt and re-run:

1. convert each built wheel (variant wheel, fallback, legacy) in a temporary folder and check
   the release (core metadata identical across variants, labels consistent with what the
   index already has) -- nothing is written when a check fails;
2. upload the wheels and their ``.metadata`` files (immutable: idempotent by sha256, other
   content under a published name is refused);
3. add them to the published state, apply nightly retention;
4. write the index pages from that state, then save the state;
5. delete files no page links any more (recorded in the state first, so an interrupted run
   deletes them next time).

If an upload fails, the index still lists only files that were complete before; running
``publish`` again skips what is already there and finishes the job.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import json
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from wheelyard.catalog.model import Catalog
from wheelyard.config.vocab import Channel
from wheelyard.errors import PublishError, StoreConflictError, VariantError
from wheelyard.index.retention import (
    PrunedVersion,
    RetentionPolicy,
    apply_retention,
    unlinked_keys,
)
from wheelyard.index.state import (
    PublishedFile,
    PublishedState,
    load_state,
    save_state,
)
from wheelyard.index.store import (
    FileStore,
    Store,
    dead_writer,
    sha256_bytes,
    sha256_file,
    writer_tag,
)
from wheelyard.index.wheelhouse import ExcludedWheel, Wheelhouse, read_wheelhouse
from wheelyard.index.writer import release_metadata, write_index
from wheelyard.wheel.archive import parse_name
from wheelyard.wheel.convert import (
    ConvertedWheel,
    WheelKind,
    check_release_metadata,
    make_fallback_wheel,
    make_legacy_wheel,
    make_variant_wheel,
    public_version,
)
from wheelyard.wheel.inspect import inspect_archive
from wheelyard.wheel.variant import KNOWN_NAMESPACES, Variant, check_distinct, variant_of
from wheelyard.wheel.variants_json import (
    Provider,
    VariantMetadata,
    merge_metadata,
    variants_json_filename,
)

WHEEL_TYPE = "application/octet-stream"
METADATA_TYPE = "text/plain; charset=utf-8"
DEFAULT_FALLBACK = "cpu"
DEFAULT_INDEX_DIR = "index"


@dataclass(frozen=True, kw_only=True)
class PublishOptions:
    channel: Channel | None = None
    """The channel the wheels go to (default: the build record's, else nightly)."""
    fallback: str | None = DEFAULT_FALLBACK
    """The variant whose wheels also become non-variant fallbacks (None: no fallback)."""
    legacy: bool = True
    """Also publish ``X+variant`` wheels to ``whl/<channel>/<variant>/``."""
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    now: dt.datetime | None = None


@dataclass(frozen=True, kw_only=True)
class PublishReport:
    store: str
    channel: Channel
    published: tuple[PublishedFile, ...]
    already: tuple[str, ...]
    """Files that were already published with the same bytes (a re-run)."""
    excluded: tuple[ExcludedWheel, ...]
    pruned: tuple[PrunedVersion, ...]
    deleted: tuple[str, ...]
    pages_written: int
    pages_unchanged: int
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "channel": str(self.channel),
            "published": [
                {
                    "filename": f.filename,
                    "kind": str(f.kind),
                    "variant": f.variant,
                    "label": f.label,
                    "tree": f.tree,
                    "sha256": f.sha256,
                    "size": f.size,
                }
                for f in self.published
            ],
            "already_published": list(self.already),
            "excluded": [asdict(e) for e in self.excluded],
            "pruned": [
                {"project": p.project, "channel": str(p.channel), "version": p.version}
                for p in self.pruned
            ],
            "deleted": list(self.deleted),
            "pages_written": self.pages_written,
            "pages_unchanged": self.pages_unchanged,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, kw_only=True)
class _Planned:
    converted: ConvertedWheel
    entry: PublishedFile


def catalog_namespaces(catalog: Catalog) -> tuple[str, ...]:
    """``default-priorities.namespace`` for every release: the catalog's namespaces, ordered.

    Taken from the whole catalog (not one release's variants) so that wheels published from
    separate runners always carry the same list.
    """
    used = {
        text.split("::", 1)[0].strip()
        for entry in catalog.variants.values()
        for text in entry.properties
    }
    ordered = [ns for ns in KNOWN_NAMESPACES if ns in used]
    ordered += sorted(used - set(KNOWN_NAMESPACES))
    return tuple(ordered) or KNOWN_NAMESPACES[:1]


def _requires_python(metadata: bytes) -> str | None:
    message = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(metadata)
    value = message.get("Requires-Python")
    return str(value).strip() if value else None


def _provider(namespace: str, catalog: Catalog) -> Provider:
    entry = catalog.providers.get(namespace)
    if entry is None:
        raise PublishError(
            f"the catalog names no variant provider for the namespace {namespace!r}",
            hint=f"add [providers.{namespace}] (requires, plugin-api) to the catalog: installers "
            "ignore variant metadata whose namespaces lack a provider",
        )
    return Provider(requires=tuple(entry.requires), plugin_api=entry.plugin_api)


def _variant(name: str, catalog: Catalog) -> Variant:
    entry = catalog.variants.get(name)
    if entry is None:
        raise PublishError(
            f"variant {name!r} of the wheelhouse is not in the catalog",
            hint="publish with the catalog the build used (--project PATH loads a package's "
            "catalog extension)",
        )
    return variant_of(name, entry.properties)


def _convert(
    house: Wheelhouse,
    *,
    catalog: Catalog,
    channel: Channel,
    options: PublishOptions,
    now: str,
    out: Path,
) -> list[_Planned]:
    namespaces = catalog_namespaces(catalog)
    built = house.wheels
    variants = {b.variant: _variant(b.variant, catalog) for b in built}
    check_distinct(variants.values())
    release = VariantMetadata(
        namespaces=namespaces,
        variants={v.label: v for v in variants.values()},
        providers={ns: _provider(ns, catalog) for ns in namespaces},
    )
    planned: list[_Planned] = []
    for index, wheel in enumerate(built):
        path = house.file(wheel)
        name = parse_name(path.name)
        variant = variants[wheel.variant]
        folder = out / f"{index:05d}"
        outputs = [make_variant_wheel(path, folder, label=variant.label, metadata=release)]
        if options.fallback is not None and wheel.variant == options.fallback:
            outputs.append(make_fallback_wheel(path, folder))
        if options.legacy:
            outputs.append(make_legacy_wheel(path, folder, variant=wheel.variant))
        for converted in outputs:
            planned.append(
                _Planned(
                    converted=converted,
                    entry=PublishedFile(
                        project=canonicalize_name(name.name),
                        filename=converted.path.name,
                        version=converted.version,
                        kind=converted.kind,
                        channel=channel,
                        variant=wheel.variant,
                        label=converted.label,
                        sha256=sha256_file(converted.path),
                        size=converted.path.stat().st_size,
                        metadata_sha256=sha256_bytes(converted.metadata),
                        requires_python=_requires_python(converted.metadata),
                        published_at=now,
                        variant_metadata=(
                            json.loads(converted.variant_json)
                            if converted.variant_json is not None
                            else None
                        ),
                    ),
                )
            )
    return planned


def _check_release(planned: Sequence[_Planned], state: PublishedState, store: Store) -> None:
    """Metadata identical across a release's variants; labels consistent with the index."""
    new_by_release: dict[tuple[str, str], dict[str, bytes]] = defaultdict(dict)
    for item in planned:
        if item.entry.kind is not WheelKind.LEGACY:
            release = (item.entry.project, public_version(item.entry.version))
            new_by_release[release][item.entry.filename] = item.converted.metadata
    for release, metadata in new_by_release.items():
        for old in state.files:
            if (
                (old.project, old.version) == release
                and old.kind is not WheelKind.LEGACY
                and old.filename not in metadata
            ):
                published = store.get(old.metadata_key)
                if published is not None:
                    metadata[old.filename] = published
                break
        check_release_metadata(metadata)
    # Labels: the index's releases and the new wheels must merge without a clash.
    existing = release_metadata(f for f in state.files if f.kind is WheelKind.VARIANT)
    for release, doc in release_metadata(p.entry for p in planned).items():
        if release in existing:
            merge_metadata([existing[release], doc], source=variants_json_filename(*release))


def _merge_entries(
    state: PublishedState, planned: Sequence[_Planned]
) -> tuple[list[PublishedFile], list[_Planned], list[str]]:
    """State files plus the new ones; (all files, to upload, already published names)."""
    by_ident = {f.ident: f for f in state.files}
    by_key: dict[str, PublishedFile] = {f.key: f for f in state.files}
    fresh: dict[tuple[str, str], _Planned] = {}
    already: list[str] = []
    for item in planned:
        entry = item.entry
        for known in (by_ident.get(entry.ident), by_key.get(entry.key)):
            if known is not None and known.sha256 != entry.sha256:
                raise StoreConflictError(
                    f"{entry.filename} is already published with other content",
                    hint="published files never change: rebuild with a new version or date",
                )
        twin = fresh.get(entry.ident)
        if twin is not None:
            if twin.entry.sha256 != entry.sha256:
                raise PublishError(
                    f"two wheels of the wheelhouse become {entry.filename} with other content",
                    hint="each variant folder must hold one build of each wheel",
                )
            continue
        if entry.ident in by_ident:
            already.append(entry.filename)
            continue
        fresh[entry.ident] = item
    files = list(state.files) + [p.entry for p in fresh.values()]
    return files, list(fresh.values()), sorted(set(already))


def _upload(store: Store, item: _Planned, linked: set[str]) -> None:
    entry, converted = item.entry, item.converted

    def put() -> None:
        store.put_file(entry.key, converted.path, sha256=entry.sha256, content_type=WHEEL_TYPE)
        store.put_bytes(
            entry.metadata_key, converted.metadata, content_type=METADATA_TYPE, immutable=True
        )

    try:
        put()
    except StoreConflictError:
        if entry.key in linked or entry.metadata_key in linked:
            raise
        # Left by an interrupted publish of another build: no page ever linked it.
        store.delete(entry.key)
        store.delete(entry.metadata_key)
        put()


WORK_PREFIX = "wheelyard-publish-"
"""A publish's work folder in the system's temp folder: ``wheelyard-publish-<pid>@<host>-…``."""


def _sweep(store: Store) -> None:
    """What killed publishes left: temp files in the store, work folders in the temp folder."""
    if isinstance(store, FileStore):
        store.sweep()
    for folder in Path(tempfile.gettempdir()).glob(f"{WORK_PREFIX}*"):
        if folder.is_dir() and dead_writer(folder.name.removeprefix(WORK_PREFIX), folder):
            shutil.rmtree(folder, ignore_errors=True)


def _refuse_malformed(house: Wheelhouse) -> None:
    """Publishing rewrites wheels (variant labels, fresh RECORD): it must never make a wheel the
    gate's structure checks refuse look valid, so such a wheel stops the whole publish."""
    reports = [inspect_archive(house.file(w)) for w in house.wheels]
    bad = [(report.path.name, report) for report in reports if not report.ok]
    if bad:
        shown = "; ".join(f"{name}: {report.problems[0].message}" for name, report in bad)
        raise PublishError(
            f"{len(bad)} wheel(s) fail the structure checks, nothing was published: {shown}",
            hint="`wheelyard verify WHEEL` lists every problem; rebuild the wheels",
        )


def publish_wheelhouse(
    wheelhouse: Path,
    store: Store,
    *,
    catalog: Catalog,
    options: PublishOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> PublishReport:
    """Publish the wheels of ``wheelhouse`` (the output of ``wheelyard build``) to ``store``."""
    options = options or PublishOptions()
    say = progress or (lambda _text: None)
    house = read_wheelhouse(wheelhouse)
    _refuse_malformed(house)
    channel = options.channel or house.channel or Channel.NIGHTLY
    moment = options.now or dt.datetime.now(tz=dt.UTC)
    now = moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    notes: list[str] = []
    if options.fallback is not None and not any(
        w.variant == options.fallback for w in house.wheels
    ):
        notes.append(
            f"no {options.fallback} wheels in the wheelhouse: no non-variant fallback for "
            "installers without PEP 825 support"
        )
    _sweep(store)
    state = load_state(store)
    with tempfile.TemporaryDirectory(prefix=f"{WORK_PREFIX}{writer_tag()}-") as tmp:
        try:
            planned = _convert(
                house,
                catalog=catalog,
                channel=channel,
                options=options,
                now=now,
                out=Path(tmp),
            )
        except VariantError as exc:
            raise VariantError(f"{wheelhouse}: {exc.message}", hint=exc.hint) from exc
        files, fresh, already = _merge_entries(state, planned)
        _check_release(fresh, state, store)
        linked = state.referenced_keys()
        for item in fresh:
            say(f"upload {item.entry.key}")
            _upload(store, item, linked)

    kept, pruned = apply_retention(files, options.retention, now=moment)
    doomed = (unlinked_keys(files, kept) | set(state.pending_deletions)) - {
        key for f in kept for key in (f.key, f.metadata_key)
    }
    pending = replace(
        state.with_files(tuple(kept)),
        pending_deletions=tuple(sorted(doomed)),
        generation=state.generation + 1,
    )
    written_state, result = write_index(store, pending)
    save_state(store, written_state)
    for key in sorted(doomed):
        say(f"delete {key}")
        store.delete(key)
    if doomed:
        save_state(store, replace(written_state, pending_deletions=()))
    return PublishReport(
        store=store.url,
        channel=channel,
        published=tuple(p.entry for p in fresh),
        already=tuple(already),
        excluded=house.excluded,
        pruned=pruned,
        deleted=tuple(sorted(doomed)),
        pages_written=len(result.written),
        pages_unchanged=result.unchanged,
        notes=tuple(notes),
    )


def default_index_dir(wheelhouse: Path) -> Path:
    """The local index a build publishes to by default: ``index/`` beside the wheelhouse."""
    return wheelhouse.resolve().parent / DEFAULT_INDEX_DIR


def publish_local(
    wheelhouse: Path,
    index_dir: Path | None = None,
    *,
    catalog: Catalog,
    options: PublishOptions | None = None,
) -> PublishReport:
    """Publish ``wheelhouse`` to a directory index (default: ``index/`` beside it)."""
    target = index_dir if index_dir is not None else default_index_dir(wheelhouse)
    return publish_wheelhouse(
        wheelhouse, FileStore(target.resolve()), catalog=catalog, options=options
    )
