"""Container engines (podman, docker): the create arguments this host needs, the value of
cibuildwheel's ``container-engine`` option, and the few engine commands wheelyard itself runs
(inspect, import, commit, run, remove). One Protocol, one registry, :func:`detect_engine`.
"""

from __future__ import annotations

import json
import re
import resource
import shlex
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from wheelyard import proc
from wheelyard.config.suggest import did_you_mean
from wheelyard.errors import EngineError, ProcessError

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
"""Where Debian keeps the host's CA bundle (it trusts TLS-intercepting proxies, if any)."""

INSTALL_HINT = "install podman: apt-get update && apt-get install -y podman runc"
PROBE_TIMEOUT = 30.0
QUERY_TIMEOUT = 120.0
"""Inspect, tag, remove, list: quick commands that only hang when the engine is stuck."""
PULL_TIMEOUT = 3600.0
"""A CUDA builder image is 10-20 GB: an hour for one pull."""
PULL_NOISE = re.compile(r"^initializing source \S+: ")


NPROC_CEILING = 32767
"""podman 4 starts the OCI runtime with RLIMIT_NPROC 32768 whatever the host allows, and runc
refuses to set exactly that in the container ("setting rlimit type 6: operation not
permitted"); 32767 is the highest value measured to work."""
NOFILE_CEILING = 1048576
"""Linux's default fs.nr_open: what an "unlimited" host limit means for a container."""


def _capped(value: int, ceiling: int) -> int:
    if value == resource.RLIM_INFINITY or value < 0:
        return ceiling
    return min(value, ceiling)


@dataclass(frozen=True, kw_only=True)
class HostFacts:
    """What the engine's create arguments depend on, read once from the host."""

    nofile: tuple[int, int]
    """RLIMIT_NOFILE (soft, hard): a container may not ask for more without CAP_SYS_RESOURCE."""
    nproc: tuple[int, int]
    ca_bundle: Path | None
    """The host's CA bundle, mounted read-only into containers when present."""
    runc: bool
    """Whether runc is installed (crun fails on cgroup v1/hybrid hosts; runc works)."""

    @classmethod
    def probe(cls) -> HostFacts:
        return cls(
            nofile=resource.getrlimit(resource.RLIMIT_NOFILE),
            nproc=resource.getrlimit(resource.RLIMIT_NPROC),
            ca_bundle=HOST_CA_BUNDLE if HOST_CA_BUNDLE.is_file() else None,
            runc=shutil.which("runc") is not None,
        )

    def ulimit_args(self) -> list[str]:
        return [
            f"--ulimit=nofile={_capped(self.nofile[0], NOFILE_CEILING)}:"
            f"{_capped(self.nofile[1], NOFILE_CEILING)}",
            f"--ulimit=nproc={_capped(self.nproc[0], NPROC_CEILING)}:"
            f"{_capped(self.nproc[1], NPROC_CEILING)}",
        ]

    def ca_args(self) -> list[str]:
        if self.ca_bundle is None:
            return []
        return [f"--volume={self.ca_bundle}:{HOST_CA_BUNDLE}:ro"]


@dataclass(frozen=True, kw_only=True)
class ImageInfo:
    """What ``<engine> image inspect`` says about one image."""

    id: str
    """Image ID without the ``sha256:`` prefix."""
    digest: str | None
    tags: tuple[str, ...]
    size: int
    """Bytes, as the engine reports them (uncompressed)."""
    created: str
    labels: Mapping[str, str] = field(default_factory=dict)
    os: str = ""
    arch: str = ""

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def platform(self) -> str:
        """``linux/amd64``: cibuildwheel uses the image without pulling only when this matches."""
        return f"{self.os}/{self.arch}"


@dataclass(frozen=True, kw_only=True)
class ContainerInfo:
    id: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    status: str = ""


def _strip_sha(value: str) -> str:
    return value.removeprefix("sha256:")


def parse_image_info(data: Mapping[str, Any]) -> ImageInfo:
    """One element of ``image inspect`` JSON (podman or docker) as an :class:`ImageInfo`."""
    config = data.get("Config") or {}
    labels = data.get("Labels") or config.get("Labels") or {}
    digest = data.get("Digest")
    if not digest:
        repo_digests = data.get("RepoDigests") or []
        digest = repo_digests[0].partition("@")[2] if repo_digests else None
    return ImageInfo(
        id=_strip_sha(str(data.get("Id", ""))),
        digest=str(digest) if digest else None,
        tags=tuple(str(t) for t in data.get("RepoTags") or ()),
        size=int(data.get("Size") or 0),
        created=str(data.get("Created") or ""),
        labels={str(k): str(v) for k, v in labels.items()},
        os=str(data.get("Os") or ""),
        arch=str(data.get("Architecture") or ""),
    )


def parse_container_info(data: Mapping[str, Any]) -> ContainerInfo:
    """One element of ``container inspect`` JSON (podman or docker)."""
    config = data.get("Config") or {}
    state = data.get("State") or {}
    return ContainerInfo(
        id=str(data.get("Id", "")),
        name=str(data.get("Name", "")).lstrip("/"),
        labels={str(k): str(v) for k, v in (config.get("Labels") or {}).items()},
        status=str(state.get("Status", "")) if isinstance(state, Mapping) else str(state),
    )


class ContainerEngine(Protocol):
    """A container engine wheelyard can build images with and hand to cibuildwheel."""

    @property
    def name(self) -> str: ...

    @property
    def executable(self) -> str: ...

    def create_args(self) -> list[str]:
        """Arguments every ``create``/``run`` on this host needs."""
        ...

    def cibw_container_engine(
        self, *, extra_create_args: Sequence[str] = (), disable_host_mount: bool = True
    ) -> str:
        """The value of cibuildwheel's ``container-engine`` option / CIBW_CONTAINER_ENGINE."""
        ...

    def check(self, *, timeout: float = PROBE_TIMEOUT) -> None:
        """Raise :class:`EngineError` unless the engine answers ``info``."""
        ...

    def image_info(self, ref: str) -> ImageInfo | None: ...

    def pull_image(self, ref: str, *, log_path: Path | None = None) -> ImageInfo:
        """Pull ``ref`` from its registry; EngineError (the engine's own reason) when it fails."""
        ...

    def images_with_label(self, label: str) -> list[ImageInfo]:
        """Images carrying ``label`` (``key`` or ``key=value``)."""
        ...

    def remove_image(self, ref: str) -> bool:
        """Remove an image (never forced); False when it is absent or still in use."""
        ...

    def tag_image(self, source: str, target: str) -> None: ...

    def import_image(
        self, tarball: Path, ref: str, *, changes: Sequence[str], log_path: Path | None = None
    ) -> ImageInfo:
        """Import a root file system tarball as ``ref`` with Dockerfile-style ``changes``."""
        ...

    def run_container(
        self,
        image: str,
        command: Sequence[str],
        *,
        name: str,
        labels: Mapping[str, str],
        timeout: float,
        log_path: Path | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> proc.Completed:
        """Run ``command`` in a new container that is kept (commit it, then remove it)."""
        ...

    def commit_container(
        self, container: str, ref: str, *, changes: Sequence[str], log_path: Path | None = None
    ) -> ImageInfo: ...

    def containers_with_label(self, label: str) -> list[ContainerInfo]: ...

    def remove_container(self, container: str) -> None:
        """Stop and remove a container; no error when it is already gone."""
        ...


class CliEngine:
    """What podman and docker share: the same command line for everything wheelyard runs."""

    name: str = ""
    fix_hint: str = INSTALL_HINT
    """What to do when ``info`` fails."""

    def __init__(self, *, host: HostFacts | None = None, executable: str | None = None) -> None:
        self.host = host if host is not None else HostFacts.probe()
        self.executable = executable or self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}(executable={self.executable!r})"

    def create_args(self) -> list[str]:
        return self.host.ca_args()

    def cibw_container_engine(
        self, *, extra_create_args: Sequence[str] = (), disable_host_mount: bool = True
    ) -> str:
        args = [*self.create_args(), *extra_create_args]
        for arg in args:
            if ";" in arg:
                raise EngineError(
                    f"container argument {arg!r} contains ';', which cibuildwheel's "
                    "container-engine option uses as a separator",
                    hint="use a path or value without ';'",
                )
        parts = [self.name]
        if args:
            parts.append(f"create_args: {shlex.join(args)}")
        if disable_host_mount:
            parts.append("disable_host_mount: true")
        return "; ".join(parts)

    # -- running the engine ------------------------------------------------------------------

    def _run(
        self,
        *args: str,
        timeout: float = QUERY_TIMEOUT,
        check: bool = True,
        log_path: Path | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> proc.Completed:
        return proc.run(
            [self.executable, *args],
            timeout=timeout,
            check=check,
            log_path=log_path,
            on_line=on_line,
        )

    def _json(self, *args: str) -> list[Mapping[str, Any]]:
        result = self._run(*args, check=False)
        if result.returncode != 0:
            return []
        try:
            data = json.loads(result.output or "[]")
        except json.JSONDecodeError as exc:
            raise EngineError(
                f"{self.name} {args[0]} printed something that is not JSON: {exc}"
            ) from exc
        return [d for d in data if isinstance(d, Mapping)] if isinstance(data, list) else []

    def check(self, *, timeout: float = PROBE_TIMEOUT) -> None:
        if shutil.which(self.executable) is None:
            raise EngineError(f"{self.executable} is not installed", hint=self.fix_hint)
        try:
            result = self._run("info", timeout=timeout, check=False)
        except ProcessError as exc:
            raise EngineError(
                f"`{self.executable} info` did not answer: {exc.message}", hint=self.fix_hint
            ) from exc
        if result.returncode != 0:
            last = result.output.strip().splitlines()[-1:] or ["no output"]
            raise EngineError(f"`{self.executable} info` failed: {last[0]}", hint=self.fix_hint)

    def image_info(self, ref: str) -> ImageInfo | None:
        found = self._json("image", "inspect", ref)
        return parse_image_info(found[0]) if found else None

    def pull_image(self, ref: str, *, log_path: Path | None = None) -> ImageInfo:
        try:
            result = self._run("pull", ref, timeout=PULL_TIMEOUT, check=False, log_path=log_path)
        except ProcessError as exc:
            raise EngineError(f"{self.name} pull {ref}: {exc.message}") from exc
        if result.returncode != 0:
            lines = [line.strip() for line in result.output.splitlines() if line.strip()]
            errors = [line for line in lines if line.startswith("Error")] or lines[-1:] or ["?"]
            # "Error: initializing source docker://REF: pinging container registry ...": the cause
            cause = PULL_NOISE.sub("", errors[-1].removeprefix("Error: "))
            raise EngineError(f"{self.name} could not pull {ref}: {cause}")
        return self._require(ref)

    def images_with_label(self, label: str) -> list[ImageInfo]:
        ids = self._run("images", "--quiet", "--no-trunc", f"--filter=label={label}").output
        unique = list(dict.fromkeys(line.strip() for line in ids.splitlines() if line.strip()))
        if not unique:
            return []
        return [parse_image_info(d) for d in self._json("image", "inspect", *unique)]

    def remove_image(self, ref: str) -> bool:
        return self._run("rmi", ref, check=False).returncode == 0

    def tag_image(self, source: str, target: str) -> None:
        self._run("tag", source, target)

    def import_image(
        self, tarball: Path, ref: str, *, changes: Sequence[str], log_path: Path | None = None
    ) -> ImageInfo:
        change_args = [f"--change={c}" for c in changes]
        self._run("import", *change_args, str(tarball), ref, timeout=1800, log_path=log_path)
        return self._require(ref)

    def run_container(
        self,
        image: str,
        command: Sequence[str],
        *,
        name: str,
        labels: Mapping[str, str],
        timeout: float,
        log_path: Path | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> proc.Completed:
        label_args = [f"--label={k}={v}" for k, v in labels.items()]
        return self._run(
            "run",
            f"--name={name}",
            *label_args,
            *self.create_args(),
            image,
            *command,
            timeout=timeout,
            log_path=log_path,
            on_line=on_line,
        )

    def commit_container(
        self, container: str, ref: str, *, changes: Sequence[str], log_path: Path | None = None
    ) -> ImageInfo:
        change_args = [f"--change={c}" for c in changes]
        self._run("commit", *change_args, container, ref, timeout=1800, log_path=log_path)
        return self._require(ref)

    def containers_with_label(self, label: str) -> list[ContainerInfo]:
        ids = self._run("ps", "--all", "--quiet", "--no-trunc", f"--filter=label={label}").output
        unique = [line.strip() for line in ids.splitlines() if line.strip()]
        if not unique:
            return []
        return [parse_container_info(d) for d in self._json("container", "inspect", *unique)]

    def remove_container(self, container: str) -> None:
        self._run("rm", "--force", container, check=False)

    def _require(self, ref: str) -> ImageInfo:
        info = self.image_info(ref)
        if info is None:
            raise EngineError(f"{self.name} reported success but image {ref} does not exist")
        return info


class PodmanEngine(CliEngine):
    """podman: daemonless; runc where installed, ulimits no higher than the host's."""

    name = "podman"

    def create_args(self) -> list[str]:
        runtime = ["--runtime=runc"] if self.host.runc else []
        return [*runtime, *self.host.ulimit_args(), *self.host.ca_args()]


class DockerEngine(CliEngine):
    """docker: the daemon sets runtime and limits; only the CA bundle is mounted."""

    name = "docker"
    fix_hint = f"start the docker daemon (systemctl start docker), or {INSTALL_HINT}"


ENGINES: Mapping[str, Callable[..., ContainerEngine]] = {
    PodmanEngine.name: PodmanEngine,
    DockerEngine.name: DockerEngine,
}
"""Engine name -> factory (keywords ``host``, ``executable``), in order of preference."""


def get_engine(name: str, *, host: HostFacts | None = None) -> ContainerEngine:
    """The engine called ``name``, not yet checked."""
    factory = ENGINES.get(name)
    if factory is None:
        raise EngineError(
            f"unknown container engine {name!r}",
            hint=did_you_mean(name, ENGINES) or f"choose one of: {', '.join(ENGINES)}",
        )
    return factory(host=host)


def detect_engine(
    preferred: str | None = None,
    *,
    host: HostFacts | None = None,
    timeout: float = PROBE_TIMEOUT,
) -> ContainerEngine:
    """The first engine that really works (``preferred`` only, when given)."""
    names = [preferred] if preferred else list(ENGINES)
    failures: list[EngineError] = []
    for name in names:
        engine = get_engine(name, host=host)
        try:
            engine.check(timeout=timeout)
        except EngineError as exc:
            failures.append(exc)
            continue
        return engine
    if preferred:
        raise EngineError(
            f"container engine {preferred} does not work: {failures[0].message}",
            hint=failures[0].hint,
        ) from failures[0]
    raise EngineError(
        f"no working container engine ({'; '.join(f.message for f in failures)})",
        hint=INSTALL_HINT,
    )
