"""Which torch a torch wheel is, read from its files without installing it.

A build records the exact torch it compiled against: the version with its local tag
(``2.13.0+cpu``), the accelerator it was built for (``torch/version.py``: ``cuda``, ``hip``,
``xpu``) and its C++ ABI (whether ``libc10.so`` exports ``std::__cxx11`` symbols: an extension
must be compiled with the same ``_GLIBCXX_USE_CXX11_ABI``).
"""

from __future__ import annotations

import ast
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from wheelyard.errors import WheelError
from wheelyard.wheel.elf import read_elf

VERSION_MODULE = "torch/version.py"
C10_LIBRARIES = ("torch/lib/libc10.so", "torch/lib/libc10.dylib")
MAX_VERSION_MODULE = 64 * 1024
MAX_C10 = 64 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class TorchIdentity:
    version: str
    """The distribution's version, as installers see it (``2.13.0+cpu``, or PyPI's ``2.14.1``)."""
    torch_version: str
    """What ``torch.__version__`` says (``2.14.1+cu130`` for PyPI's ``2.14.1``)."""
    cuda: str | None = None
    hip: str | None = None
    xpu: str | None = None
    git_version: str | None = None
    cxx11_abi: bool | None = None
    """True: built with ``_GLIBCXX_USE_CXX11_ABI=1``; None: no ``libc10.so`` to tell (macOS,
    Windows)."""
    wheel: str
    """The torch wheel's file name."""

    @property
    def accelerator(self) -> str:
        """``cuda 13.0``, ``rocm 7.0``, ``xpu`` or ``cpu``."""
        if self.cuda:
            return f"cuda {self.cuda}"
        if self.hip:
            return f"rocm {self.hip}"
        if self.xpu:
            return "xpu"
        return "cpu"

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "torch_version": self.torch_version,
            "accelerator": self.accelerator,
            "cuda": self.cuda,
            "hip": self.hip,
            "xpu": self.xpu,
            "git_version": self.git_version,
            "cxx11_abi": self.cxx11_abi,
            "wheel": self.wheel,
        }


def _assignments(source: str) -> dict[str, Any]:
    """The literal module-level assignments of ``torch/version.py`` (never executed)."""
    values: dict[str, Any] = {}
    for node in ast.parse(source).body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and value is not None:
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
    return values


def _read(archive: zipfile.ZipFile, member: str, limit: int) -> bytes | None:
    try:
        info = archive.getinfo(member)
    except KeyError:
        return None
    if info.file_size > limit:
        raise WheelError(f"{member} is {info.file_size} bytes, more than a torch wheel's ({limit})")
    return archive.read(member)


def torch_identity(path: Path) -> TorchIdentity:
    """The identity of the torch wheel at ``path``; WheelError when it is not one."""
    try:
        name, version, _, _ = parse_wheel_filename(path.name)
    except InvalidWheelFilename as exc:
        raise WheelError(f"{path.name}: not a wheel file name ({exc})") from exc
    if name != "torch":
        raise WheelError(f"{path.name} is a wheel of {name}, not of torch")
    try:
        with zipfile.ZipFile(path) as archive:
            module = _read(archive, VERSION_MODULE, MAX_VERSION_MODULE)
            c10 = next(
                (data for m in C10_LIBRARIES if (data := _read(archive, m, MAX_C10)) is not None),
                None,
            )
    except (OSError, zipfile.BadZipFile) as exc:
        raise WheelError(f"{path}: cannot read the torch wheel ({exc})") from exc
    values: dict[str, Any] = {}
    if module is not None:
        try:
            values = _assignments(module.decode("utf-8"))
        except (SyntaxError, UnicodeDecodeError) as exc:
            raise WheelError(f"{path.name}: {VERSION_MODULE} does not parse ({exc})") from exc
    abi: bool | None = None
    if c10 is not None and c10.startswith(b"\x7fELF"):
        exported = read_elf(c10, where=f"{path.name}:libc10").exported
        abi = any("__cxx11" in symbol for symbol in exported)

    def text(key: str) -> str | None:
        value = values.get(key)
        return str(value) if value else None

    return TorchIdentity(
        version=str(version),
        torch_version=text("__version__") or str(version),
        cuda=text("cuda"),
        hip=text("hip"),
        xpu=text("xpu"),
        git_version=text("git_version"),
        cxx11_abi=abi,
        wheel=path.name,
    )


def torch_facts(path: Path) -> dict[str, Any]:
    """``torch_identity`` as the build record keeps it (``JobSettings.torch_identity``)."""
    return torch_identity(path).to_json()
