"""Why a build failed, read from its log: the first real error, not cibuildwheel's command line.

The log of a failed job is scanned for known causes, in the order they appear:

In this order of precedence:

- a missing C header (``fatal error: yaml.h: No such file or directory``), a library the linker
  cannot find (``cannot find -lffi``), a CMake package not found (``Could NOT find ZLIB``):
  named, with the distribution package that provides it where the catalog knows it
  (``system-headers.toml``) and the recipe line that installs it;
- a command the package's own steps run that the image lacks (``yum: command not found``,
  ``cmake: not found``): another distribution's package manager is named as such, with how a
  farm recipe replaces that step;
- a compiler error (``file.c:12:5: error: ...``) or the build backend's traceback;
- a pure-Python fallback: a platform job whose build gave a wheel without binaries (the
  package's own message, such as PyYAML's ``forcing --without-libyaml``).
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources

HEADER = re.compile(r"fatal error: (?P<name>[\w./+-]+\.h(?:pp)?): No such file or directory")
LIBRARY = re.compile(r"cannot find -l(?P<name>[\w.+-]+)")
CMAKE_PACKAGE = re.compile(r"Could NOT find (?P<name>[\w.+-]+)")
MISSING_COMMAND = re.compile(
    r"(?:^|[\s:])(?P<name>[\w.+-]+): (?:command )?not found\s*$|"
    r"FileNotFoundError: \[Errno 2\] No such file or directory: '(?P<file>[\w+-]+)'"
)
COMPILER_ERROR = re.compile(r"^\S+?:\d+(?::\d+)?: (?:fatal )?error: .+")
TRACEBACK_END = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception)|SystemExit)(?::.*)?$")
PURE_FALLBACK = re.compile(
    r"(?i)(?:forcing --without|could not be compiled|compilation failed.*pure|"
    r"building without (?:the )?(?:c )?extension|falling back to (?:the )?pure|"
    r"pure[- ]python (?:fallback|version|mode|implementation))"
)
NOT_PLATFORM_WHEEL = re.compile(
    r"(?i)this does not look like a platform wheel|no ELF|is a pure[- ]python wheel|"
    r"cannot repair .*pure"
)
OTHER_MANAGERS = {"yum": "dnf/yum (Red Hat, manylinux)", "dnf": "dnf (Red Hat, manylinux)"}
OTHER_MANAGERS |= {"apk": "apk (Alpine, musllinux)", "microdnf": "microdnf (Red Hat)"}
OTHER_MANAGERS |= {"zypper": "zypper (SUSE)", "pacman": "pacman (Arch)", "brew": "Homebrew"}


@dataclass(frozen=True, kw_only=True)
class Cause:
    """The first real error of a failed build."""

    kind: str
    """``missing-header``, ``missing-library``, ``missing-cmake-package``, ``missing-command``,
    ``other-package-manager``, ``compiler-error``, ``backend-error``, ``pure-python-fallback``."""
    message: str
    line: str
    """The log line it was read from."""
    hint: str | None = None


@functools.cache
def system_headers() -> dict[str, dict[str, str]]:
    """Header / library / CMake name -> {"apt": package, "dnf": package} (catalog data)."""
    text = resources.files("wheelyard.catalog").joinpath("system-headers.toml").read_text("utf-8")
    data = tomllib.loads(text)
    table: dict[str, dict[str, str]] = {}
    for section in ("headers", "libraries", "cmake"):
        for name, packages in data.get(section, {}).items():
            table[f"{section}:{name}"] = {str(k): str(v) for k, v in packages.items()}
    return table


def _provider(section: str, name: str) -> dict[str, str] | None:
    known = system_headers()
    found = known.get(f"{section}:{name}")
    if found is None and section == "headers":
        found = known.get(f"headers:{name.rsplit('/', 1)[-1]}")
    return found


def _install_hint(what: str, provider: dict[str, str] | None) -> str:
    if provider is None:
        return (
            f"install the development package that provides {what}: add "
            'system-packages = ["<package>"] to [tool.wheelyard] or the farm recipe'
        )
    apt = provider.get("apt")
    dnf = provider.get("dnf")
    line = (
        f'system-packages = {{ apt = ["{apt}"], dnf = ["{dnf}"] }}'
        if dnf
        else (f'system-packages = ["{apt}"]')
    )
    return f"{what} comes with {apt} (Debian){f', {dnf} (dnf)' if dnf else ''}: add {line}"


def _missing(line: str) -> Cause | None:
    """A header, a library or a CMake package the build did not find."""
    if m := HEADER.search(line):
        name = m["name"]
        provider = _provider("headers", name)
        return Cause(
            kind="missing-header",
            message=f"the C header {name} is missing",
            line=line.strip(),
            hint=_install_hint(name, provider),
        )
    if m := LIBRARY.search(line):
        name = m["name"]
        return Cause(
            kind="missing-library",
            message=f"the linker cannot find the library {name} (lib{name}.so)",
            line=line.strip(),
            hint=_install_hint(f"lib{name}", _provider("libraries", name)),
        )
    if m := CMAKE_PACKAGE.search(line):
        name = m["name"]
        return Cause(
            kind="missing-cmake-package",
            message=f"CMake could not find {name}",
            line=line.strip(),
            hint=_install_hint(name, _provider("cmake", name)),
        )
    return None


def _command(line: str) -> Cause | None:
    """A command the build ran that the image lacks."""
    if m := MISSING_COMMAND.search(line):
        name = m["name"] or m["file"]
        if name in OTHER_MANAGERS:
            return Cause(
                kind="other-package-manager",
                message=f"the package's own steps run {name}, the package manager of "
                f"{OTHER_MANAGERS[name]}; this builder image is Debian (apt-get)",
                line=line.strip(),
                hint="list the packages as system-packages = [...] (installed with the image's "
                "manager) and replace the step in a farm recipe: cibuildwheel = { before-all = "
                '"" }',
            )
        return Cause(
            kind="missing-command",
            message=f"the build runs {name}, which the builder image does not have",
            line=line.strip(),
            hint=f"add the package providing {name} to system-packages, or use an image with it",
        )
    return None


def diagnose(log: str) -> Cause | None:
    """The first real error in a failed job's ``log``, or None when none is recognised."""
    lines = log.splitlines()
    missing = next((c for c in map(_missing, lines) if c is not None), None)
    fallback = next((ln for ln in lines if PURE_FALLBACK.search(ln)), None)
    not_platform = any(NOT_PLATFORM_WHEEL.search(ln) for ln in lines)
    if not_platform and (fallback is not None or missing is not None):
        return pure_fallback(fallback, missing)
    if missing is not None:
        return missing
    for line in lines:
        if COMPILER_ERROR.match(line.strip()):
            return Cause(kind="compiler-error", message=line.strip(), line=line.strip())
    # The last one: a step like `yum install x || apt-get install x` prints earlier misses.
    for line in reversed(lines):
        found = _command(line)
        if found is not None:
            return found
    for index, line in enumerate(lines):
        if line.strip().startswith("Traceback (most recent call last)"):
            for later in lines[index + 1 : index + 200]:
                if TRACEBACK_END.match(later.strip()):
                    return Cause(
                        kind="backend-error",
                        message=f"the build backend raised {later.strip()}",
                        line=later.strip(),
                    )
    if not_platform:
        return pure_fallback(None, None)
    return None


def pure_fallback(line: str | None, missing: Cause | None) -> Cause:
    """A platform build that gave a wheel without binaries; ``missing`` is why, when known."""
    message = "the build made a pure-Python wheel: its extension was not compiled"
    if missing is not None:
        return Cause(
            kind="pure-python-fallback",
            message=f"{message}, because {missing.message}",
            line=missing.line,
            hint=missing.hint,
        )
    return Cause(
        kind="pure-python-fallback",
        message=message + (f" (the package said: {line.strip()})" if line else ""),
        line=(line or "").strip(),
        hint="the package fell back to pure Python, usually for a missing system library: "
        "find what it needs and add it to system-packages",
    )
