"""The variant's own torch for every build of a job, downloaded once.

A recipe with ``torch`` builds against torch. Before cibuildwheel starts, each of the job's
Pythons gets its torch from the variant's sources (the catalog's per channel, or the recipe's
``torch-index``), first source first: pip resolves ``torch<specifier>`` for that Python and
platform there, then the torch wheel's own dependencies (from the source when it is an index,
and the dependency index). Everything lands in one host folder per variant and set of sources
(the wheelhouse), which the next job of the variant reuses: pip skips files it already holds.
The wheelhouse is mounted read-only into the build container with a PEP 503 ``simple/`` index
over it, and the build's installers are pointed at it by their own settings:

- ``UV_INDEX`` (the wheelhouse first) with ``UV_INDEX_STRATEGY=unsafe-best-match`` and
  ``PIP_EXTRA_INDEX_URL``: the same version is taken from the wheelhouse, no download;
- ``UV_CONSTRAINT``/``PIP_CONSTRAINT``: a constraints file pinning each Python's exact torch
  (``torch==2.13.0+cpu ; python_version == "3.11"``), which pip and uv apply inside build
  isolation too: a package listing ``torch`` in ``build-system.requires`` gets this torch.

A source that does not answer, or no source with a matching torch, fails the job before it
compiles anything, naming the variant, the sources and the specifier.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import html
import os
import re
import shutil
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name, parse_wheel_filename

from wheelyard import proc
from wheelyard.errors import ProcessError, TorchError
from wheelyard.record import TorchBuild, TorchEntry

TORCH_DIR = "/wheelyard-torch"
"""Where the variant's wheelhouse is mounted in the build container (read-only)."""
SIMPLE = "simple"
CONSTRAINTS_NAME = "torch-constraints.txt"
PROBE_TIMEOUT = 30.0
DOWNLOAD_TIMEOUT = 3600.0
MANYLINUX_FLOOR = (2, 17)
MANYLINUX_CEILING = (2, 28)
"""The manylinux tags a torch wheel may carry to be installed in a builder image: PyTorch's
wheels are manylinux_2_28, the official manylinux_2_28 images' glibc."""

IdentityReader = Callable[[Path], Mapping[str, Any]]
"""Reads a torch wheel's identity (``wheel.torch.torch_identity(path).to_json()``), handed in by
the caller: the builder does not read wheels' insides."""

_SAVED = re.compile(r"^\s*Saved (?P<path>\S+\.whl)\s*$")
_ALREADY = re.compile(r"^\s*File was already downloaded (?P<path>\S+\.whl)\s*$")


@dataclass(frozen=True, kw_only=True)
class TorchRequest:
    variant: str
    specifier: str
    """``==2.13.*``; empty: any torch."""
    sources: tuple[str, ...]
    pythons: tuple[str, ...]
    """cibuildwheel identifiers: ``cp311``, ``cp314t``."""
    arch: str
    dependency_index: str
    """Where torch's own dependencies come from when a source is a folder (and after an index
    source): the configured index, PyPI by default."""
    prereleases: bool = False
    """Admit pre-releases (nightly and test channels: ``2.14.0.dev20261201``)."""
    accelerator: str | None = None
    """What the torch must be built for: ``cuda 13.0``, ``rocm 7.0``; None: any (a ``cpu``
    build compiles against whichever torch the source has, e.g. PyPI's CUDA build)."""


@dataclass(frozen=True, kw_only=True)
class TorchSetup:
    """What a job's build needs: the entry for its record, the mount and the environment."""

    entry: TorchEntry
    wheelhouse: Path
    constraints: str
    """The constraints file's text (one exact pin per Python)."""

    def environment(self, constraints_in_container: str) -> dict[str, str]:
        """The installers' settings inside the build container (see the module's doc)."""
        index = f"file://{TORCH_DIR}/{SIMPLE}"
        return {
            "UV_INDEX": index,
            "UV_INDEX_STRATEGY": "unsafe-best-match",
            "UV_CONSTRAINT": constraints_in_container,
            "PIP_EXTRA_INDEX_URL": index,
            "PIP_CONSTRAINT": constraints_in_container,
        }

    def pin(self, python: str) -> str | None:
        build = self.entry.for_python(python)
        return f"torch=={build.version}" if build is not None else None


def wheelhouse_name(request: TorchRequest) -> str:
    """``<variant>-<digest of the sources>``: jobs share a wheelhouse only when they trust the
    same sources (a file already there is never downloaded again, so a package pointing at
    another source must not place files where other packages' builds would take them)."""
    key = "\n".join([*request.sources, request.dependency_index])
    return f"{request.variant}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def is_folder(source: str) -> bool:
    return source.startswith(("/", "file://"))


def folder_of(source: str) -> Path:
    return Path(source.removeprefix("file://"))


def _python_args(ident: str) -> list[str]:
    match = re.fullmatch(r"cp3(\d+)(t?)", ident)
    if match is None:
        raise TorchError(f"{ident}: not a CPython identifier torch can be resolved for")
    minor, threaded = match.groups()
    return [
        "--python-version",
        f"3.{minor}",
        "--implementation",
        "cp",
        "--abi",
        f"cp3{minor}{threaded}",
    ]


def platform_tags(arch: str) -> list[str]:
    """pip's ``--platform`` values for a Linux builder image of ``arch`` (pip does not expand
    a manylinux tag to the older ones it implies)."""
    high, low = MANYLINUX_CEILING[1], MANYLINUX_FLOOR[1]
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(high, low - 1, -1)]
    return [*tags, f"manylinux2014_{arch}"]


def pip_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """pip's environment: the host's network settings (certificates, proxies, timeout), none of
    its configuration (a site-wide constraint or find-links must not choose the torch)."""
    kept = {
        k: v
        for k, v in environ.items()
        if not k.startswith(("PIP_", "UV_", "PYTHON")) or k in ("PIP_CERT", "PIP_DEFAULT_TIMEOUT")
    }
    kept["PIP_CONFIG_FILE"] = os.devnull
    kept["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    kept["PIP_NO_INPUT"] = "1"
    return kept


def probe(source: str, *, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether ``source`` has any torch at all; TorchError when it does not answer."""
    if is_folder(source):
        folder = folder_of(source)
        if not folder.is_dir():
            raise TorchError(f"torch source {source}: no such folder")
        return any(folder.glob("torch-*.whl"))
    url = source.rstrip("/") + "/torch/"
    request = urllib.request.Request(url, headers={"Accept": "text/html"})
    cafile = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE")
    context = ssl.create_default_context(cafile=cafile) if url.startswith("https") else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            response.read(1)
            return True
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise TorchError(f"torch source {source} answered HTTP {exc.code} for {url}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TorchError(f"torch source {source} does not answer ({reason})") from exc


def _download(
    argv: Sequence[str], *, into: Path, log_path: Path | None, environ: Mapping[str, str]
) -> tuple[list[Path], list[Path], str | None]:
    """Run ``pip download -d into``; (files it saved, files already there, pip's error)."""
    saved: list[Path] = []
    already: list[Path] = []

    def line(text: str) -> None:
        if match := _SAVED.match(text):
            saved.append(into / Path(match["path"]).name)
        elif match := _ALREADY.match(text):
            already.append(into / Path(match["path"]).name)

    try:
        proc.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--progress-bar",
                "off",
                "-d",
                str(into),
                *argv,
            ],
            env=pip_environment(environ),
            timeout=DOWNLOAD_TIMEOUT,
            log_path=log_path,
            on_line=line,
            keep_output=False,
        )
    except ProcessError as exc:
        lines = [ln.strip() for ln in exc.output_tail.splitlines() if ln.strip()]
        wanted = [ln for ln in lines if ln.startswith("ERROR:")]
        return saved, already, (wanted[0] if wanted else (lines[-1] if lines else str(exc)))
    return saved, already, None


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One preparation of a wheelhouse at a time (two jobs of a variant on one host)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


USED_MARK = ".used"
"""Touched each time a job takes its torch from the wheelhouse: the sweep's last-use time."""
DEFAULT_TORCH_CACHE_MAX_BYTES = 40 * 1024**3
"""Room for about eight CUDA torch releases with their dependencies (~5 GB each)."""
IDLE_BEFORE_EVICTION = 6 * 3600.0
"""A wheelhouse used less than this long ago may still be mounted in a running build (a job
takes an hour at most by default): the sweep leaves it."""


@dataclass(frozen=True, kw_only=True)
class Eviction:
    wheelhouse: Path
    bytes: int


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def _last_used(folder: Path) -> float:
    mark = folder / USED_MARK
    return (mark if mark.exists() else folder).stat().st_mtime


def sweep_torch_cache(
    cache: Path,
    *,
    max_bytes: int = DEFAULT_TORCH_CACHE_MAX_BYTES,
    keep: Path | None = None,
    idle: float = IDLE_BEFORE_EVICTION,
    now: float | None = None,
) -> list[Eviction]:
    """Remove the least recently used wheelhouses of ``cache`` until it holds ``max_bytes`` or
    less. ``keep`` (the job's own), wheelhouses used within ``idle`` seconds and ones another
    process is preparing (their lock is held) stay; so the cache can stay above the bound for a
    while, never below what running builds need."""
    if not cache.is_dir():
        return []
    now = time.time() if now is None else now
    for left in cache.glob(".evicted-*"):  # a sweep killed mid-way
        pid = left.name.split("-")[1]
        if not (pid.isdigit() and proc.process_alive(int(pid))):
            shutil.rmtree(left, ignore_errors=True)
    folders = [f for f in cache.iterdir() if f.is_dir() and not f.is_symlink() and f.name[0] != "."]
    sizes = {f: _folder_bytes(f) for f in folders}
    total = sum(sizes.values())
    evicted: list[Eviction] = []
    for folder in sorted(folders, key=_last_used):
        if total <= max_bytes:
            break
        if folder == keep or now - _last_used(folder) < idle:
            continue
        with (folder / ".lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # being prepared right now
            # Renamed first (atomic): a job that asks for it from now on makes a fresh one.
            doomed = cache / f".evicted-{os.getpid()}-{folder.name}"
            folder.rename(doomed)
        shutil.rmtree(doomed, ignore_errors=True)
        total -= sizes[folder]
        evicted.append(Eviction(wheelhouse=folder, bytes=sizes[folder]))
    return evicted


def prepare_torch(
    request: TorchRequest,
    cache: Path,
    *,
    identity: IdentityReader,
    log_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> TorchSetup:
    """Each of the request's Pythons' torch and its dependencies in ``cache/<variant>/``, a
    simple index over them, the constraints pinning them; TorchError when one cannot be had."""
    started = time.monotonic()
    environ = dict(os.environ if environ is None else environ)
    wheelhouse = cache / wheelhouse_name(request)
    requirement = f"torch{request.specifier}"
    saved: set[Path] = set()
    reused: set[Path] = set()
    builds: list[TorchBuild] = []
    with _locked(wheelhouse):
        (wheelhouse / USED_MARK).touch()
        answered: dict[str, bool] = {}
        for python in request.pythons:
            target = _python_args(python)
            for tag in platform_tags(request.arch):
                target += ["--platform", tag]
            chosen: tuple[Path, str] | None = None
            misses: list[str] = []
            for source in request.sources:
                if source not in answered:
                    answered[source] = probe(source)
                if not answered[source]:
                    misses.append(f"{source}: no torch at all")
                    continue
                where = (
                    ["--no-index", "--find-links", str(folder_of(source))]
                    if is_folder(source)
                    else ["--index-url", source]
                )
                new, old, error = _download(
                    [
                        "--no-deps",
                        "--only-binary",
                        ":all:",
                        *(["--pre"] if request.prereleases else []),
                        *target,
                        *where,
                        requirement,
                    ],
                    into=wheelhouse,
                    log_path=log_path,
                    environ=environ,
                )
                got = [p for p in [*new, *old] if p.name.startswith("torch-")]
                if error is None and got:
                    saved |= set(new)
                    reused |= set(old)
                    chosen = (got[0], source)
                    break
                misses.append(f"{source}: {error or 'nothing downloaded'}")
            if chosen is None:
                raise TorchError(
                    f"no torch for {request.variant} ({python}, {request.arch}) matching "
                    f"{requirement!r} in {', '.join(request.sources) or 'no source'}",
                    hint="; ".join(misses)
                    + " - change `torch` or `torch-index` in the recipe, or the catalog's "
                    "[torch] sources",
                )
            wheel, source = chosen
            # A folder source may hold the dependencies too (a mirror of torch's release):
            # pip takes a file it finds there over the same file on the index.
            deps_from = (
                ["--index-url", request.dependency_index, "--find-links", str(folder_of(source))]
                if is_folder(source)
                else ["--index-url", source, "--extra-index-url", request.dependency_index]
            )
            new, old, error = _download(
                [
                    "--only-binary",
                    ":all:",
                    *target,
                    *deps_from,
                    "--find-links",
                    str(wheelhouse),
                    str(wheelhouse / wheel.name),
                ],
                into=wheelhouse,
                log_path=log_path,
                environ=environ,
            )
            if error is not None:
                raise TorchError(
                    f"the dependencies of {wheel.name} ({request.variant}, {python}) cannot be "
                    f"downloaded: {error}",
                    hint=f"torch from {source}; its dependencies from "
                    f"{' and '.join(deps_from[1::2])}",
                )
            saved |= set(new)
            reused |= {p for p in old if p not in saved}
            facts = identity(wheelhouse / wheel.name)
            got_for = str(facts.get("accelerator") or "cpu")
            if not accelerator_matches(request.accelerator, got_for):
                raise TorchError(
                    f"{wheel.name} from {source} is built for {got_for}; the {request.variant} "
                    f"variant needs a torch built for {request.accelerator} ({python}, "
                    f"{requirement!r})",
                    hint="narrow `torch` to a release built for it, or point `torch-index` at "
                    f"an index of {request.variant} builds (PyTorch's: "
                    f"https://download.pytorch.org/whl/{request.variant})",
                )
            builds.append(
                TorchBuild(
                    python=python,
                    version=str(facts["version"]),
                    torch_version=str(facts.get("torch_version") or facts["version"]),
                    accelerator=str(facts.get("accelerator") or "cpu"),
                    cuda=facts.get("cuda"),
                    hip=facts.get("hip"),
                    xpu=facts.get("xpu"),
                    cxx11_abi=facts.get("cxx11_abi"),
                    git_version=facts.get("git_version"),
                    wheel=wheel.name,
                    source=source,
                )
            )
        write_simple_index(wheelhouse)
    reused -= saved
    entry = TorchEntry(
        specifier=request.specifier,
        sources=request.sources,
        wheelhouse=str(wheelhouse),
        builds=tuple(builds),
        downloaded_files=len(saved),
        downloaded_bytes=sum(p.stat().st_size for p in saved if p.exists()),
        reused_files=len(reused),
        seconds=time.monotonic() - started,
    )
    text = "".join(f"{line}\n" for line in entry.constraints())
    return TorchSetup(entry=entry, wheelhouse=wheelhouse, constraints=text)


def accelerator_matches(wanted: str | None, got: str) -> bool:
    """Whether a torch built for ``got`` (``cuda 13.2``) serves a variant that needs ``wanted``
    (``cuda 13.0``): same kind and the same major.minor version."""
    if wanted is None:
        return True
    kind, _, version = wanted.partition(" ")
    got_kind, _, got_version = got.partition(" ")
    if kind != got_kind:
        return False
    if not version:
        return True
    return got_version.split(".")[:2] == version.split(".")[:2]


def write_simple_index(wheelhouse: Path) -> Path:
    """A PEP 503 index (``simple/<project>/index.html``) over the wheelhouse's wheels, with
    relative links (valid wherever the folder is mounted)."""
    root = wheelhouse / SIMPLE  # TorchEntry.index
    projects: dict[str, list[str]] = {}
    for wheel in sorted(wheelhouse.glob("*.whl")):
        try:
            name = str(canonicalize_name(parse_wheel_filename(wheel.name)[0]))
        except ValueError:
            continue
        projects.setdefault(name, []).append(wheel.name)
    for name, files in projects.items():
        page = root / name / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        links = "".join(
            f'<a href="../../{html.escape(f)}">{html.escape(f)}</a><br>\n' for f in files
        )
        _write(page, f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n")
    listing = "".join(f'<a href="{n}/">{n}</a><br>\n' for n in sorted(projects))
    _write(root / "index.html", f"<!DOCTYPE html>\n<html><body>\n{listing}</body></html>\n")
    return root


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
