"""What a farm build starts from: a directory, a git URL and ref, or an uploaded sdist.

``check_source`` refuses malformed submissions before anything runs (a git URL that is not one,
a ref that could be an option, an oversized or unsafe sdist); ``fetch_source`` materialises the
source in the build's folder, once: a completed fetch leaves ``fetched.json`` and is not redone
when the activity is retried.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from wheelyard import proc
from wheelyard.errors import FarmRequestError, ProcessError, SourceError, VersionError
from wheelyard.farm.vocab import SourceKind
from wheelyard.source.sdist import unpack_sdist
from wheelyard.version import commit_date

MARKER = "fetched.json"
GIT_TIMEOUT = 600.0
MAX_SDIST_BYTES = 200 * 1024 * 1024
GIT_SCHEMES = frozenset({"https", "http", "ssh", "git", "file"})
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._/~-]+$")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}$")
COPY_IGNORE = shutil.ignore_patterns(
    ".git", "build", "dist", "*.egg-info", "__pycache__", ".venv", "wheelhouse", ".tox"
)
SDIST_SUFFIXES = (".tar.gz", ".tgz", ".zip")


@dataclass(frozen=True, kw_only=True)
class SourceSpec:
    kind: SourceKind
    location: str
    """The directory, the git URL, or the uploaded sdist's path."""
    ref: str | None = None


@dataclass(frozen=True, kw_only=True)
class Fetched:
    project_dir: Path
    date: dt.date
    """The build date: the commit date of a git source or checkout, else the fetch date."""
    commit: str | None = None


def check_git_url(url: str) -> None:
    """Refuse what is not a plain git URL (options, transports that run commands, spaces)."""
    problem = None
    if not url or url != url.strip() or any(c.isspace() or not c.isprintable() for c in url):
        problem = "empty, or contains spaces or control characters"
    elif url.startswith("-"):
        problem = "starts with '-'"
    elif "::" in url.split("/", 1)[0]:
        problem = "remote helper transports (like ext::) are not allowed"
    elif _SCP_LIKE.match(url):
        return
    else:
        parts = urlsplit(url)
        if parts.scheme not in GIT_SCHEMES:
            problem = f"scheme {parts.scheme or '(none)'!r} is not one of {sorted(GIT_SCHEMES)}"
        elif parts.scheme != "file" and not parts.netloc:
            problem = "no host"
        elif not parts.path or parts.path == "/":
            problem = "no repository path"
        elif parts.password is not None or (parts.scheme in ("http", "https") and parts.username):
            raise FarmRequestError(
                "a git URL with credentials is refused: it would be stored and shown with the "
                "build",
                hint="give the farm's git its credentials (a credential helper or a deploy key) "
                "and submit the URL without them",
            )
    if problem is not None:
        raise FarmRequestError(
            f"bad git URL {url!r}: {problem}",
            hint="use https://host/owner/repo.git, ssh://host/repo or user@host:repo",
        )


def check_ref(ref: str) -> None:
    if not _REF.match(ref) or ".." in ref or ref.endswith((".lock", "/", ".")):
        raise FarmRequestError(
            f"bad git ref {ref!r}",
            hint="a branch, tag or commit: letters, digits and . _ / + -, not starting with '-'",
        )


def check_source(spec: SourceSpec) -> None:
    """Refuse a malformed source before anything is fetched."""
    match spec.kind:
        case SourceKind.GIT:
            check_git_url(spec.location)
            if spec.ref is not None:
                check_ref(spec.ref)
        case SourceKind.PATH:
            path = Path(spec.location)
            if not path.is_absolute():
                raise FarmRequestError(f"source path {spec.location!r} is not absolute")
            if not (path / "pyproject.toml").is_file():
                raise FarmRequestError(
                    f"{spec.location} holds no pyproject.toml",
                    hint="submit the package's directory",
                )
        case SourceKind.SDIST:
            if not spec.location.endswith(SDIST_SUFFIXES):
                raise FarmRequestError(f"{spec.location}: not an sdist (.tar.gz, .zip)")
            if spec.ref is not None:
                raise FarmRequestError("an sdist has no ref")


MAX_UPLOAD_NAME = 200
"""The longest sdist file name taken (the content digest is put in front of it on disk)."""


def store_upload(
    data: bytes, filename: str, uploads: Path, *, limit: int = MAX_SDIST_BYTES
) -> Path:
    """Keep an uploaded sdist under ``uploads`` (named by its content); check it unpacks safely."""
    if len(data) > limit:
        raise FarmRequestError(
            f"the upload is {len(data)} bytes; the limit is {limit}",
            hint="upload an sdist, not a wheelhouse or a repository archive",
        )
    base = Path(filename).name
    if (
        not base.endswith(SDIST_SUFFIXES)
        or base != filename
        or len(base) > MAX_UPLOAD_NAME
        or not base.isprintable()
    ):
        raise FarmRequestError(
            f"{filename!r} is not an sdist file name", hint="NAME-VERSION.tar.gz or .zip"
        )
    digest = hashlib.sha256(data).hexdigest()
    uploads.mkdir(parents=True, exist_ok=True)
    target = uploads / f"{digest[:16]}-{base}"
    with tempfile.TemporaryDirectory(prefix="wheelyard-upload-") as tmp:
        staged = Path(tmp) / base
        staged.write_bytes(data)
        try:
            unpack_sdist(staged, Path(tmp) / "unpacked")
        except SourceError as exc:
            raise FarmRequestError(exc.message, hint=exc.hint) from exc
        if not target.exists():
            staged.replace(target)
    return target


def _git(argv: list[str], cwd: Path | None = None) -> str:
    env = {"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp"}
    git = shutil.which("git")
    if git is None:
        raise FarmRequestError("git is not installed on this machine")
    return proc.run([git, *argv], cwd=cwd, env=env, timeout=GIT_TIMEOUT, check=True).output


def probe_git(url: str, ref: str | None) -> None:
    """``git ls-remote``: the repository answers and has ``ref`` (branch or tag; a commit id
    cannot be probed and is checked when fetched)."""
    try:
        output = _git(["ls-remote", "--", url, *([ref] if ref else ["HEAD"])])
    except ProcessError as exc:
        raise FarmRequestError(
            f"cannot reach the git repository {url}: {exc.output_tail.strip() or exc.message}"
        ) from exc
    is_commit = ref is not None and re.fullmatch(r"[0-9a-f]{7,40}", ref) is not None
    if ref is not None and not output.strip() and not is_commit:
        raise FarmRequestError(f"{url} has no branch or tag {ref!r}")


def _clone(url: str, ref: str | None, target: Path) -> str:
    try:
        _git(["clone", "--quiet", "--", url, str(target)])
        if ref is not None:
            _git(["checkout", "--quiet", "--detach", ref], cwd=target)
        return _git(["rev-parse", "HEAD"], cwd=target).strip()
    except ProcessError as exc:
        raise FarmRequestError(
            f"cannot fetch {url}{f' at {ref}' if ref else ''}: "
            f"{exc.output_tail.strip() or exc.message}"
        ) from exc


def _date_of(directory: Path, today: dt.date) -> dt.date:
    try:
        return commit_date(directory)
    except VersionError:
        return today


def read_marker(folder: Path) -> Fetched | None:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return Fetched(
        project_dir=folder / data["project_dir"],
        date=dt.date.fromisoformat(data["date"]),
        commit=data.get("commit"),
    )


def check_links(tree: Path) -> None:
    """Refuse a source tree holding a symbolic link that leads out of it (to a host folder)."""
    root = tree.resolve()
    for path in tree.rglob("*"):
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            raise FarmRequestError(
                f"{path.relative_to(tree)} is a symbolic link out of the source tree "
                f"(to {path.readlink()})",
                hint="a build reads only its own source: replace the link by the files",
            )


def fetch_source(spec: SourceSpec, folder: Path, *, today: dt.date) -> Fetched:
    """The source of ``spec`` in ``folder`` (created); done once, then read back."""
    done = read_marker(folder)
    if done is not None:
        return done
    check_source(spec)
    if folder.exists():
        shutil.rmtree(folder)  # an interrupted earlier attempt
    folder.mkdir(parents=True)
    commit: str | None = None
    match spec.kind:
        case SourceKind.PATH:
            original = Path(spec.location)
            project = folder / (original.name or "project")
            shutil.copytree(original, project, ignore=COPY_IGNORE, symlinks=True)
            date = _date_of(original, today)
        case SourceKind.GIT:
            project = folder / "checkout"
            commit = _clone(spec.location, spec.ref, project)
            date = _date_of(project, today)
        case SourceKind.SDIST:
            try:
                project = unpack_sdist(Path(spec.location), folder / "sdist")
            except SourceError as exc:
                raise FarmRequestError(exc.message, hint=exc.hint) from exc
            date = today
    check_links(project)
    fetched = Fetched(project_dir=project, date=date, commit=commit)
    data = asdict(fetched)
    data["project_dir"] = str(project.relative_to(folder))
    data["date"] = date.isoformat()
    (folder / MARKER).write_text(json.dumps(data), encoding="utf-8")
    return fetched
