"""Compose cibuildwheel's options for one job, never silently overriding the package's own.

cibuildwheel gives ``CIBW_*`` environment variables precedence over ``[tool.cibuildwheel]``, so a
variable wheelyard sets would hide what the package wrote. For every option both sides care
about, wheelyard reads the package's value (``[tool.cibuildwheel.linux]`` over
``[tool.cibuildwheel]``) and composes: its environment first and the package's after (so the
package's assignments win), the package's ``before-all`` before the native core build,
wheelyard's ``before-build`` then the package's, and so on. Each composition and each option
wheelyard had to take over is written down in ``notes`` and shown to the user.
"""

from __future__ import annotations

import copy
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version as dist_version
from typing import Any

from wheelyard.catalog.libraries import TORCH_GPU_RUNTIMES, TORCH_LIBRARIES
from wheelyard.config.load import LoadedRecipe, file_inside
from wheelyard.plan.matrix import Job

NATIVE_START = "wheelyard: native-build start"
NATIVE_DONE = "wheelyard: native-build done"
CCACHE_MARK = "wheelyard-ccache"
CCACHE_DIR = "/wheelyard-ccache"
EARLY_DIR = "/wheelyard-early"
FIND_LINKS_DIR = "/wheelyard-find-links"
"""Mounted from the host: each repaired wheel is copied there at once, because cibuildwheel
copies wheels back only after the last Python, and a failure would otherwise lose them all."""
FRONTEND = "build[uv]"

NEVER_BUNDLE_CUDA = ("libcuda.so.1", "libnvidia-ml.so.1")


@dataclass(frozen=True, kw_only=True)
class ComposedOptions:
    env: dict[str, str]
    """``CIBW_*`` variables to run cibuildwheel with."""
    notes: tuple[str, ...] = ()
    """How each option was composed or taken over, in words."""
    package_options: Mapping[str, Any] = field(default_factory=dict)


def package_option(table: Mapping[str, Any], key: str, os_name: str) -> Any:
    """The package's value of ``key`` for ``os_name`` (platform table over the global one)."""
    platform_table = table.get(os_name)
    if isinstance(platform_table, Mapping) and key in platform_table:
        return platform_table[key]
    return table.get(key)


def cibuildwheel_version() -> str:
    return dist_version("cibuildwheel")


PLATFORM_TABLES = ("linux", "macos", "windows", "ios", "android", "pyodide")


HOST_VARIABLES = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TZ", "TMPDIR", "LANG",
        "SOURCE_DATE_EPOCH", "NO_COLOR", "PYTHONUNBUFFERED",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PIP_CERT",
        "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
        "CONTAINER_HOST", "CONTAINER_CONNECTION", "CONTAINERS_CONF", "CONTAINERS_REGISTRIES_CONF",
        "CONTAINERS_STORAGE_CONF", "REGISTRY_AUTH_FILE", "DOCKER_HOST", "DOCKER_CONFIG",
        "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY",
    }
)  # fmt: skip
HOST_PREFIXES = ("LC_", "XDG_", "PIP_", "UV_")
"""What of the host's environment a build (cibuildwheel, and through a package's
``environment-pass`` its container) receives: the locale, certificates, proxies, the container
engine's and the package installers' settings. Nothing else: no credentials, no farm settings."""


CREDENTIAL_WORDS = ("TOKEN", "PASSWORD", "SECRET", "CREDENTIAL", "USERNAME", "KEYRING", "AUTH")
"""Parts of a variable's name that say it holds a credential (``UV_PUBLISH_TOKEN``,
``UV_INDEX_PRIVATE_PASSWORD``, ``PIP_KEYRING_PROVIDER`` ...): never passed, whatever its prefix."""
USERINFO = re.compile(r"[a-z][a-z0-9+.-]*://[^/@\s]+@", re.IGNORECASE)
"""A URL with credentials in it (``https://user:secret@index/simple``)."""


def host_variable_allowed(name: str) -> bool:
    if name in HOST_VARIABLES:
        return True
    if any(word in name.upper() for word in CREDENTIAL_WORDS):
        return False
    return name.startswith(HOST_PREFIXES)


def host_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of ``environ`` a build may see: allowed names (``CIBW_*`` never: wheelyard sets
    those), and of the installers' settings none whose value is a URL with credentials."""
    return {
        k: v
        for k, v in environ.items()
        if host_variable_allowed(k)
        and not k.startswith("CIBW_")
        and not (k.startswith(("PIP_", "UV_")) and USERINFO.search(v))
    }


def effective_table(loaded: LoadedRecipe) -> tuple[dict[str, Any], list[str]]:
    """The ``[tool.cibuildwheel]`` table cibuildwheel reads for this build (written to a config
    file it is given), and how it differs from the package's own.

    - a key the recipe's ``cibuildwheel`` sets replaces the package's everywhere: at the top, in
      its platform tables and in its ``[[overrides]]`` (an override left with only ``select``
      goes);
    - ``enable`` groups the pinned cibuildwheel does not know are dropped (an environment
      variable can only add groups, never remove the package's)."""
    table: dict[str, Any] = copy.deepcopy(dict(loaded.cibuildwheel))
    notes: list[str] = []
    replaced = [k for k in loaded.recipe.cibuildwheel if k not in PLATFORM_TABLES]
    source = loaded.source_of("cibuildwheel")
    for key in replaced:
        notes.append(f"{key}: the recipe's value replaces the package's ({source})")
        for platform in PLATFORM_TABLES:
            sub = table.get(platform)
            if isinstance(sub, dict):
                sub.pop(key, None)
        overrides = table.get("overrides")
        if isinstance(overrides, list):
            for override in overrides:
                if isinstance(override, dict):
                    override.pop(key, None)
            table["overrides"] = [
                o for o in overrides if not (isinstance(o, dict) and set(o) <= {"select"})
            ]
    places: list[dict[str, Any]] = [table]
    places += [t for p in PLATFORM_TABLES if isinstance(t := table.get(p), dict)]
    places += [o for o in table.get("overrides") or () if isinstance(o, dict)]
    dropped: list[str] = []
    for place in places:
        if "enable" in place:
            kept, gone = known_enable_groups(place["enable"])
            dropped += gone
            place["enable"] = kept
    if dropped:
        notes.append(
            f"enable: {', '.join(sorted(set(dropped)))} dropped: cibuildwheel "
            f"{cibuildwheel_version()} has no such group (free-threaded builds need none; it "
            "builds those the job selects)"
        )
    refused: list[str] = []
    for place in places:
        passed = place.get("environment-pass")
        if isinstance(passed, list):
            refused += [str(n) for n in passed if not host_variable_allowed(str(n))]
            place["environment-pass"] = [n for n in passed if host_variable_allowed(str(n))]
    if refused:
        notes.append(
            f"environment-pass: {', '.join(sorted(set(refused)))} refused: a build receives "
            "only the host variables wheelyard allows (locale, certificates, proxies, installer "
            "and container-engine settings)"
        )
    return table, notes


def known_enable_groups(value: Any) -> tuple[list[str], list[str]]:
    """A package's ``enable`` split into the groups the pinned cibuildwheel knows and the ones
    it does not (written for another cibuildwheel: ``cpython-freethreading`` is gone in 4.x)."""
    from cibuildwheel.selector import EnableGroup

    items = value.split() if isinstance(value, str) else [str(v) for v in value or ()]
    known = {g.value for g in EnableGroup} | {"all"}
    return [i for i in items if i in known], [i for i in items if i not in known]


def system_packages_command(packages: Sequence[str] | Mapping[str, Sequence[str]]) -> str | None:
    """Install the recipe's system packages with whichever package manager the image has (apt in
    wheelyard's Debian images, dnf or yum in manylinux images, apk in musllinux ones)."""
    if not packages:
        return None
    per = (
        {m: list(packages) for m in ("apt", "dnf", "yum", "apk")}
        if not isinstance(packages, Mapping)
        else {m: list(v) for m, v in packages.items()}
    )
    commands = {
        "apt": "apt-get install -y --no-install-recommends {}",
        "dnf": "dnf install -y {}",
        "yum": "yum install -y {}",
        "apk": "apk add --no-cache {}",
    }
    probes = {"apt": "apt-get", "dnf": "dnf", "yum": "yum", "apk": "apk"}
    branches = [
        f"command -v {probes[m]} >/dev/null 2>&1; then {commands[m].format(shlex.join(names))}"
        for m, names in per.items()
        if names
    ]
    wanted = ", ".join(f"{m}: {' '.join(names)}" for m, names in per.items() if names)
    fail = f"echo 'wheelyard: no package manager here for system-packages ({wanted})' >&2; exit 1"
    return "if " + "; elif ".join(branches) + f"; else {fail}; fi"


def _as_commands(value: Any) -> str | None:
    """cibuildwheel accepts a command string or a list of commands (joined with &&)."""
    if value is None:
        return None
    if isinstance(value, list):
        return " && ".join(str(v) for v in value) or None
    return str(value) or None


def _package_environment(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return " ".join(f'{k}="{v}"' for k, v in value.items())
    return str(value)


def _quote_env(values: Mapping[str, str]) -> str:
    return " ".join(f"{key}={shlex.quote(value)}" for key, value in values.items())


def _join(*commands: str | None) -> str:
    return " && ".join(c for c in commands if c)


def ccache_stats_command() -> str:
    """Print ccache's cumulative counters as ``wheelyard-ccache NAME VALUE`` lines (never fails).

    Counters are zeroed in before-all; the log follower turns successive prints into the
    native-build's and each Python's own hits and misses.
    """
    counters = "direct_cache_hit\\|preprocessed_cache_hit\\|cache_miss"
    return (
        "(ccache --print-stats 2>/dev/null | "
        f"sed -n 's/^\\({counters}\\)\\t/{CCACHE_MARK} \\1 /p' || true)"
    )


def repair_command(job: Job, *, torch: bool, extra_excludes: Sequence[str] = ()) -> str:
    """auditwheel repair, never bundling the driver's libraries (nor torch's when built on it)."""
    excludes: list[str] = []
    if job.kind.is_gpu:
        excludes.extend(NEVER_BUNDLE_CUDA)
    if torch:
        excludes.extend(TORCH_LIBRARIES)
        if job.kind.is_gpu:
            excludes.extend(TORCH_GPU_RUNTIMES)
    excludes.extend(extra_excludes)
    flags = "".join(f" --exclude {shlex.quote(lib)}" for lib in excludes)
    stats = ccache_stats_command()
    keep = f"(cp {{dest_dir}}/*.whl {EARLY_DIR}/ 2>/dev/null || true)"
    # --plat auto: only the tags auditwheel derives from the wheel's symbols, not also the
    # image's AUDITWHEEL_PLAT (manylinux_2_36 on a bookworm image) on every wheel. Where auto
    # cannot tell the libc (an extension that links no libc symbol itself: pylibacl), the
    # image's AUDITWHEEL_PLAT says it, and the wheel carries that tag too.
    auto = f"auditwheel repair --plat auto{flags} -w {{dest_dir}} {{wheel}}"
    plain = f"auditwheel repair{flags} -w {{dest_dir}} {{wheel}}"
    return f"({auto} || {plain}) && {keep} && {stats}"


def smoke_command(loaded: LoadedRecipe) -> str | None:
    """The recipe's smoke test as a cibuildwheel test command (run outside the source tree)."""
    smoke = loaded.recipe.smoke_test
    if smoke is None:
        return None
    if file_inside(loaded.project_dir, smoke) is not None:
        return f"python {{package}}/{smoke}"
    return smoke


def compose(
    job: Job,
    loaded: LoadedRecipe,
    *,
    build_env: Mapping[str, str],
    pythons: Sequence[str],
    image: str,
    container_engine: str,
    compiler_cache: bool = True,
) -> ComposedOptions:
    """The ``CIBW_*`` variables that run ``job`` for ``pythons`` in ``image``.

    ``compiler_cache``: compile through ccache (a persistent cache is mounted at CCACHE_DIR);
    False turns ccache off entirely, so a cold cache costs nothing.
    """
    table, table_notes = effective_table(loaded)
    os_name = job.os
    notes: list[str] = list(table_notes)
    env: dict[str, str] = {}
    suffix = job.build_selector.split()[0].split("-", 1)[1] if job.build_selector else ""

    env["CIBW_BUILD"] = " ".join(f"{ident}-{suffix}" for ident in pythons)
    if package_option(table, "build", os_name) is not None:
        notes.append("build: the package's selector is replaced by the job's Pythons")
    if package_option(table, "skip", os_name) is not None:
        notes.append("skip: the package's skip list still applies")
    env["CIBW_ARCHS"] = job.arch

    image_key = f"CIBW_MANYLINUX_{job.arch.upper()}_IMAGE"
    env[image_key] = image
    if package_option(table, f"manylinux-{job.arch}-image", os_name) is not None:
        notes.append(
            f"manylinux-{job.arch}-image: taken over by the {job.variant} builder image {image}"
        )
    env["CIBW_CONTAINER_ENGINE"] = container_engine
    if package_option(table, "container-engine", os_name) is not None:
        notes.append("container-engine: taken over (this host's engine and its arguments)")

    if package_option(table, "build-frontend", os_name) is None:
        env["CIBW_BUILD_FRONTEND"] = FRONTEND
    else:
        notes.append("build-frontend: the package's choice is kept")
    env["CIBW_BUILD_VERBOSITY"] = "1"

    if compiler_cache:
        ours = {**build_env, "CCACHE_DIR": CCACHE_DIR, "CCACHE_BASEDIR": "/project"}
        environment = _quote_env(ours) + ' PATH="/usr/lib/ccache:$PATH"'
    else:
        environment = _quote_env({**build_env, "CCACHE_DISABLE": "1"})
    for key, value in loaded.recipe.environment.items():
        environment += f' {key}="{value}"'
    package_env = _package_environment(package_option(table, "environment", os_name))
    if package_env:
        environment = f"{environment} {package_env}"
        notes.append("environment: wheelyard's variables first, then the package's (which win)")
    env["CIBW_ENVIRONMENT"] = environment

    native = loaded.recipe.native_build
    native_step = (
        f"echo '{NATIVE_START}' && ( {native} ) && echo '{NATIVE_DONE}' && {ccache_stats_command()}"
        if native
        else None
    )
    for key in loaded.recipe.cibuildwheel:
        notes.append(
            f"{key}: the recipe's value replaces the package's ({loaded.source_of('cibuildwheel')})"
        )
    package_before_all = _as_commands(package_option(table, "before-all", os_name))
    if package_before_all and native_step:
        notes.append("before-all: the package's before-all, then wheelyard's native-build")
    system_step = system_packages_command(loaded.recipe.system_packages)
    if system_step and package_before_all:
        notes.append("before-all: the recipe's system-packages first, then the package's")
    env["CIBW_BEFORE_ALL"] = _join(
        "(ccache --zero-stats >/dev/null 2>&1 || true)",
        system_step,
        package_before_all,
        native_step,
    )

    package_before_build = _as_commands(package_option(table, "before-build", os_name))
    before_build = _join(loaded.recipe.before_build, package_before_build)
    if loaded.recipe.before_build and package_before_build:
        notes.append("before-build: wheelyard's before-build, then the package's")
    if before_build:
        env["CIBW_BEFORE_BUILD"] = before_build

    if package_option(table, "repair-wheel-command", os_name) is None:
        env[f"CIBW_REPAIR_WHEEL_COMMAND_{os_name.upper()}"] = repair_command(
            job, torch=loaded.recipe.torch is not None
        )
    else:
        notes.append("repair-wheel-command: the package's command is kept")

    package_test = _as_commands(package_option(table, "test-command", os_name))
    if job.test_in_build:
        smoke = smoke_command(loaded)
        # Without a smoke test the package's own test-command stays cibuildwheel's to read,
        # with its per-Python [[overrides]] (an environment variable would supersede them).
        if smoke:
            env["CIBW_TEST_COMMAND"] = _join(smoke, package_test)
        if package_test and loaded.recipe.smoke_test:
            notes.append("test-command: wheelyard's smoke test, then the package's tests")
    else:
        env["CIBW_TEST_SKIP"] = "*"
        notes.append(
            f"test: skipped in the build job; the {job.variant} wheels get a GPU smoke test "
            f"on {job.test_runner}"
        )

    # wheelyard's gate runs abi3audit on every abi3 wheel; cibuildwheel's own audit would install
    # abi3audit on the host a second time (and fail where its constraints do not resolve).
    env["CIBW_AUDIT_COMMAND"] = ""
    if package_option(table, "audit-command", os_name) is not None:
        notes.append("audit-command: replaced by wheelyard's gate (abi3audit on abi3 wheels)")

    overrides = table.get("overrides")
    if isinstance(overrides, list) and overrides:
        owned = {
            "build",
            "environment",
            "before-all",
            "before-build",
            "repair-wheel-command",
            "test-command",
            f"manylinux-{job.arch}-image",
            "container-engine",
        }
        if "CIBW_TEST_COMMAND" not in env:
            owned.discard("test-command")
        touched = sorted({k for o in overrides if isinstance(o, Mapping) for k in o} & owned)
        if touched:
            notes.append(
                "overrides: the package's [[tool.cibuildwheel.overrides]] for "
                f"{', '.join(touched)} are superseded by the composed values above"
            )
    return ComposedOptions(env=env, notes=tuple(notes), package_options=table)
