"""Build versions and the build environment (``KEY=VALUE`` lines, usable as ``$GITHUB_ENV``).

- no channel chosen (the default: no ``channel`` in the recipe, no ``--channel``): the package's
  own version, unchanged, as an installer would build it; the index tree it is published to
  follows from it (a dev release: nightly, a pre-release: test, else release);
- nightly: ``X.Y.Z.devYYYYMMDD``, the date from one explicit source (the commit date of the
  source tree, or ``--date``), never the runner's clock, so packages built the same night agree;
- test / release: ``X.Y.Z``;
- the local part ``+cu128`` is used only for the legacy per-variant wheels;
- a rebuild of a version already published (a release rebuilt against a new ABI, a nightly
  rebuilt on the same date) keeps the version and gets a wheel **build tag** (PEP 427:
  ``name-1.2.0-1-cp312-...``), one higher than the highest published; installers prefer the
  highest build tag of a version.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from packaging.version import InvalidVersion, Version

from wheelyard import proc
from wheelyard.config.accelerator import VariantEntry
from wheelyard.config.load import LoadedRecipe, file_inside
from wheelyard.config.vocab import AcceleratorKind, Channel
from wheelyard.errors import ProcessError, VersionError

ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BUILD_TAG = re.compile(r"^[1-9][0-9]*(?:[A-Za-z_.][A-Za-z0-9_.]*)?$")


def base_version(loaded: LoadedRecipe, *, own: str | None = None) -> str:
    """The release the build counts towards: recipe ``version``, ``version-file``, then the
    package's own version (``own``: read from PKG-INFO or its build backend by the caller, or a
    static ``[project].version``)."""
    recipe = loaded.recipe
    if recipe.version is not None:
        raw, where = recipe.version, loaded.source_of("version")
    elif recipe.version_file is not None:
        found = file_inside(loaded.project_dir, recipe.version_file)
        if found is None:
            raise VersionError(
                f"version-file {recipe.version_file!r} ({loaded.source_of('version-file')}) is "
                "not a file inside the package's folder",
                hint="point version-file at a file in the package whose first line is X.Y.Z",
            )
        path = found
        try:
            lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        except OSError as exc:
            raise VersionError(
                f"cannot read version-file {path}: {exc.strerror or exc}",
                hint="point version-file at a file in the package whose first line is X.Y.Z",
            ) from exc
        raw, where = next((ln for ln in lines if ln), ""), str(path)
    elif own is not None:
        raw, where = own, f"the version {loaded.project_name} reports"
    elif loaded.project_version is not None:
        raw, where = loaded.project_version, f"{loaded.pyproject} [project].version"
    else:
        raise VersionError(
            f"{loaded.project_name} has no known version",
            hint="set version = 'X.Y.Z' or version-file = 'version.txt' in [tool.wheelyard], "
            "or let wheelyard ask the package's build backend",
        )
    try:
        version = Version(raw)
    except InvalidVersion as exc:
        raise VersionError(
            f"{where}: {raw!r} is not a valid version", hint="use a PEP 440 version such as 1.2.0"
        ) from exc
    return version.public


def channel_of(version: str) -> Channel:
    """The index tree a package's own version belongs to: dev releases (and local versions) are
    nightlies, pre-releases test builds, the rest releases."""
    parsed = Version(version)
    if parsed.is_devrelease or parsed.local:
        return Channel.NIGHTLY
    if parsed.is_prerelease:
        return Channel.TEST
    return Channel.RELEASE


def package_version(
    loaded: LoadedRecipe, channel: Channel | None, date: dt.date | None, *, own: str | None
) -> tuple[str, Channel]:
    """(the version the wheels carry, the channel they are published on).

    With a channel, the version is rewritten for it (``build_version``); without one, the
    recipe's ``version``/``version-file`` or the package's own version is used unchanged."""
    if channel is not None:
        return build_version(base_version(loaded, own=own), channel, date), channel
    recipe = loaded.recipe
    if recipe.version is None and recipe.version_file is None:
        raw = own if own is not None else loaded.project_version
        if raw is not None:
            try:
                return raw, channel_of(raw)
            except InvalidVersion as exc:
                raise VersionError(
                    f"{loaded.project_name} reports {raw!r}, which is not a valid version",
                    hint="set version = 'X.Y.Z' in the recipe",
                ) from exc
    version = base_version(loaded, own=own)
    return version, channel_of(version)


def build_version(base: str, channel: Channel, date: dt.date | None) -> str:
    """The version the wheels carry on ``channel`` (no local part)."""
    version = Version(base)
    match channel:
        case Channel.NIGHTLY:
            if date is None:
                raise VersionError(
                    "a nightly version needs a date",
                    hint="pass --date YYYY-MM-DD or build from a git checkout (commit date)",
                )
            return f"{version.base_version}.dev{date:%Y%m%d}"
        case Channel.TEST | Channel.RELEASE:
            if channel is Channel.RELEASE and (version.is_devrelease or version.local):
                raise VersionError(
                    f"release version {base!r} is a development version",
                    hint="release a final or pre-release version, or use the nightly channel",
                )
            return version.public


def check_build_tag(tag: str) -> str:
    """A wheel build tag (PEP 427): a number (no leading zero), then optionally letters,
    digits, ``_`` or ``.``."""
    if not BUILD_TAG.match(tag):
        raise VersionError(
            f"{tag!r} is not a wheel build tag",
            hint="a build tag is a number, optionally followed by letters: 1, 2, 3rc",
        )
    return tag


def next_build_tag(published: Iterable[str | None]) -> str:
    """The build tag of a rebuild whose version has these published build tags (None: a wheel
    without one, which ranks below every tag): one more than the highest number."""
    numbers = [0]
    for tag in published:
        if tag is None:
            continue
        digits = re.match(r"^[0-9]+", tag)
        if digits:
            numbers.append(int(digits.group()))
    return str(max(numbers) + 1)


def legacy_version(version: str, variant: str) -> str:
    """``1.2.0`` + ``cu128`` -> ``1.2.0+cu128`` (the per-variant index's wheels)."""
    return f"{version}+{variant}"


def bucket_path(channel: Channel, variant: str) -> str:
    """Where the legacy per-variant index of ``variant`` lives in the store."""
    return f"whl/{channel}/{variant}"


def commit_date(project_dir: Path) -> dt.date:
    """The UTC date of the last commit of the repository holding ``project_dir``."""
    git = shutil.which("git")
    if git is None:
        raise VersionError("git is not installed", hint="pass --date YYYY-MM-DD instead")
    try:
        result = proc.run(
            [git, "log", "-1", "--format=%ct"], cwd=project_dir, timeout=30, check=True
        )
    except ProcessError as exc:
        raise VersionError(
            f"cannot read the commit date of {project_dir} (not a git checkout?)",
            hint="pass --date YYYY-MM-DD",
        ) from exc
    stamp = int(result.output.strip().splitlines()[-1])
    return dt.datetime.fromtimestamp(stamp, tz=dt.UTC).date()


def variant_environment(name: str, entry: VariantEntry, channel: Channel | None) -> dict[str, str]:
    """What every build of variant ``name`` sees, independent of the package and the date
    (``CHANNEL`` and ``BUCKET_PATH`` only where the channel is known)."""
    env = {"CHANNEL": str(channel)} if channel is not None else {}
    env |= {
        "VARIANT": name,
        "GPU_ARCH_TYPE": str(entry.kind),
        "GPU_ARCH_VERSION": entry.toolkit or "",
    }
    if channel is not None:
        env["BUCKET_PATH"] = bucket_path(channel, name)
    arch = entry.arch_list or ""
    match entry.kind:
        case AcceleratorKind.CPU:
            pass
        case AcceleratorKind.CUDA:
            env["CUDA_VERSION"] = entry.toolkit or ""
            env["TORCH_CUDA_ARCH_LIST"] = arch
        case AcceleratorKind.ROCM:
            env["ROCM_VERSION"] = entry.toolkit or ""
            env["PYTORCH_ROCM_ARCH"] = arch
        case AcceleratorKind.XPU:
            env["TORCH_XPU_ARCH_LIST"] = arch
    env.update(sorted(entry.environment.items()))
    return env


def build_environment(
    loaded: LoadedRecipe,
    *,
    variant: str,
    entry: VariantEntry,
    channel: Channel | None,
    date: dt.date | None,
    own: str | None = None,
) -> dict[str, str]:
    """The whole environment of a build: versions, torch pin, variant settings, recipe extras."""
    version, channel = package_version(loaded, channel, date, own=own)
    env = {
        "BUILD_VERSION": version,
        "BUILD_VERSION_LOCAL": legacy_version(version, variant),
        "BUILD_DATE": date.isoformat() if date is not None else "",
        "TORCH_VERSION_SPEC": loaded.recipe.torch or "",
    }
    env.update(variant_environment(variant, entry, channel))
    env.update(sorted(loaded.recipe.environment.items()))
    return env


def render_env(values: Mapping[str, str]) -> str:
    """``KEY=VALUE`` lines (no ``export``), as ``$GITHUB_ENV`` and ``env -S`` read them."""
    lines = []
    for key, value in values.items():
        if not ENV_KEY.match(key):
            raise VersionError(f"{key!r} is not a valid environment variable name")
        if "\n" in value or "\r" in value:
            raise VersionError(f"{key}: value spans several lines, which KEY=VALUE cannot hold")
        lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"
