"""What an ELF file inside a wheel needs and offers, read with pyelftools (no subprocess).

For each shared object or executable: the libraries it names (``DT_NEEDED``), where it looks for
them (``DT_RPATH``/``DT_RUNPATH``), the symbol versions it needs from each library
(``GLIBC_2.34`` ...) and which undefined symbol needs which version, the dynamic symbols it
exports, and a digest per loaded section (for telling a code change from a rebuilt build id).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wheelyard.errors import WheelError

if TYPE_CHECKING:
    from elftools.elf.dynamic import DynamicTag
    from elftools.elf.elffile import ELFFile

# pyelftools is imported where it is used: it costs a fifth of a second, which every CLI command
# would otherwise pay at start-up.

ELF_MAGIC = b"\x7fELF"
MACH_O_MAGICS = (
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"\xca\xfe\xba\xbf",
)
PE_MAGIC = b"MZ"
PE_SUFFIXES = (".pyd", ".dll", ".exe")

IGNORED_SECTIONS = frozenset({".note.gnu.build-id"})
"""Loaded sections whose bytes change on every link without changing behaviour."""

_VERSION = re.compile(r"^(?P<name>[A-Z][A-Z0-9]*?)_(?P<number>\d+(?:\.\d+)*)$")
_EXPORT_BINDS = frozenset({"STB_GLOBAL", "STB_WEAK", "STB_GNU_UNIQUE", "STB_LOOS"})
_EXPORT_VISIBILITY = frozenset({"STV_DEFAULT", "STV_PROTECTED"})
_NON_OBJECT_TYPES = frozenset({"STT_SECTION", "STT_FILE"})


def is_elf(data: bytes) -> bool:
    return data[:4] == ELF_MAGIC


def is_binary(path: str, data: bytes) -> bool:
    """Native code of any platform: ELF, Mach-O, or a PE file (``.pyd``/``.dll``/``.exe``)."""
    head = data[:4]
    if head == ELF_MAGIC or head in MACH_O_MAGICS:
        return True
    return path.lower().endswith(PE_SUFFIXES) and data[:2] == PE_MAGIC


def split_version(version: str) -> tuple[str, tuple[int, ...]] | None:
    """``GLIBC_2.34`` -> ``("GLIBC", (2, 34))``; None for ``GLIBC_PRIVATE`` and the like."""
    match = _VERSION.match(version)
    if match is None:
        return None
    return match["name"], tuple(int(part) for part in match["number"].split("."))


def highest_version(versions: Iterable[str], name: str) -> str | None:
    """The highest ``NAME_x.y`` among ``versions`` (``name`` is ``GLIBC``, ``GLIBCXX`` ...)."""
    best: tuple[tuple[int, ...], str] | None = None
    for version in versions:
        parsed = split_version(version)
        if parsed is None or parsed[0] != name:
            continue
        if best is None or parsed[1] > best[0]:
            best = (parsed[1], version)
    return None if best is None else best[1]


@dataclass(frozen=True, kw_only=True, order=True)
class SymbolNeed:
    """An undefined dynamic symbol bound to a library version: ``pthread_create@GLIBC_2.34``."""

    version: str
    symbol: str
    library: str

    def __str__(self) -> str:
        return f"{self.symbol}@{self.version}"


@dataclass(frozen=True, kw_only=True)
class ElfInfo:
    machine: str
    """``EM_X86_64``, ``EM_AARCH64`` ..."""
    elf_class: int
    """32 or 64."""
    elf_type: str
    """``ET_DYN`` (shared object) or ``ET_EXEC``."""
    soname: str | None = None
    needed: tuple[str, ...] = ()
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    version_needs: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Library -> symbol versions needed from it (``libc.so.6`` -> ``{GLIBC_2.34, ...}``)."""
    symbol_needs: tuple[SymbolNeed, ...] = ()
    exported: frozenset[str] = frozenset()
    """Defined dynamic symbols other objects can bind to (global/weak, default/protected)."""
    sections: Mapping[str, str] = field(default_factory=dict)
    """Loaded section name -> sha256 of its bytes, build-id notes left out."""

    @property
    def all_versions(self) -> frozenset[str]:
        return frozenset(v for versions in self.version_needs.values() for v in versions)

    def highest(self, name: str) -> str | None:
        """The highest needed version of ``name`` (``GLIBC``, ``GLIBCXX``, ``CXXABI``)."""
        return highest_version(self.all_versions, name)

    def symbols_needing(self, versions: Iterable[str]) -> tuple[SymbolNeed, ...]:
        wanted = frozenset(versions)
        return tuple(sorted(need for need in self.symbol_needs if need.version in wanted))

    def to_json(self) -> dict[str, object]:
        return {
            "machine": self.machine,
            "class": self.elf_class,
            "type": self.elf_type,
            "soname": self.soname,
            "needed": list(self.needed),
            "rpath": list(self.rpath),
            "runpath": list(self.runpath),
            "version_needs": {lib: sorted(v) for lib, v in sorted(self.version_needs.items())},
            "highest": {name: self.highest(name) for name in ("GLIBC", "GLIBCXX", "CXXABI")},
            "exported": sorted(self.exported),
        }


def _tag_string(tag: DynamicTag) -> str:
    """The string pyelftools resolved for ``DT_NEEDED``/``DT_SONAME``/``DT_RPATH``/``DT_RUNPATH``
    (it stores it as an attribute named after the tag: ``needed``, ``rpath`` ...)."""
    return str(vars(tag)[str(tag.entry.d_tag).removeprefix("DT_").lower()])


def _dynamic(elf: ELFFile) -> tuple[str | None, list[str], list[str], list[str]]:
    from elftools.elf.dynamic import DynamicSection

    soname: str | None = None
    needed: list[str] = []
    rpath: list[str] = []
    runpath: list[str] = []
    for section in elf.iter_sections():
        if not isinstance(section, DynamicSection):
            continue
        for tag in section.iter_tags():
            kind = tag.entry.d_tag
            if kind == "DT_NEEDED":
                needed.append(_tag_string(tag))
            elif kind == "DT_SONAME":
                soname = _tag_string(tag)
            elif kind == "DT_RPATH":
                rpath.extend(p for p in _tag_string(tag).split(":") if p)
            elif kind == "DT_RUNPATH":
                runpath.extend(p for p in _tag_string(tag).split(":") if p)
    return soname, needed, rpath, runpath


def _version_needs(elf: ELFFile) -> tuple[dict[str, set[str]], dict[int, tuple[str, str]]]:
    """Library -> versions, and the version index -> (version, library) map."""
    from elftools.elf.gnuversions import GNUVerNeedSection

    needs: dict[str, set[str]] = {}
    by_index: dict[int, tuple[str, str]] = {}
    for section in elf.iter_sections():
        if not isinstance(section, GNUVerNeedSection):
            continue
        for verneed, auxiliaries in section.iter_versions():
            library = str(verneed.name)
            for aux in auxiliaries:
                needs.setdefault(library, set()).add(str(aux.name))
                by_index[int(aux["vna_other"])] = (str(aux.name), library)
    return needs, by_index


def _symbols(
    elf: ELFFile, by_index: Mapping[int, tuple[str, str]]
) -> tuple[list[SymbolNeed], set[str]]:
    from elftools.elf.gnuversions import GNUVerSymSection
    from elftools.elf.sections import SymbolTableSection

    dynsym = elf.get_section_by_name(".dynsym")
    if not isinstance(dynsym, SymbolTableSection):
        return [], set()
    versym = next((s for s in elf.iter_sections() if isinstance(s, GNUVerSymSection)), None)
    needs: list[SymbolNeed] = []
    exported: set[str] = set()
    for index, symbol in enumerate(dynsym.iter_symbols()):
        name = str(symbol.name)
        if not name:
            continue
        info = symbol.entry.st_info
        if symbol.entry.st_shndx == "SHN_UNDEF":
            if versym is None:
                continue
            ndx = versym.get_symbol(index).entry.ndx
            if isinstance(ndx, int) and ndx in by_index:
                version, library = by_index[ndx]
                needs.append(SymbolNeed(version=version, symbol=name, library=library))
        elif (
            info.bind in _EXPORT_BINDS
            and symbol.entry.st_other.visibility in _EXPORT_VISIBILITY
            and info.type not in _NON_OBJECT_TYPES
        ):
            exported.add(name)
    return needs, exported


def _sections(elf: ELFFile) -> dict[str, str]:
    from elftools.elf.constants import SH_FLAGS

    digests: dict[str, str] = {}
    for section in elf.iter_sections():
        name = str(section.name)
        if not section["sh_flags"] & SH_FLAGS.SHF_ALLOC or name in IGNORED_SECTIONS:
            continue
        if section["sh_type"] == "SHT_NOBITS":
            data = str(section["sh_size"]).encode()
        else:
            data = section.data()
        key = name if name not in digests else f"{name}#{len(digests)}"
        digests[key] = hashlib.sha256(data).hexdigest()
    return digests


def read_elf(data: bytes, *, where: str = "ELF file") -> ElfInfo:
    """Parse ``data`` (the whole file); raise :class:`WheelError` when it is not valid ELF."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    if not is_elf(data):
        raise WheelError(f"{where}: not an ELF file")
    try:
        elf = ELFFile(io.BytesIO(data))
        soname, needed, rpath, runpath = _dynamic(elf)
        version_needs, by_index = _version_needs(elf)
        symbol_needs, exported = _symbols(elf, by_index)
        sections = _sections(elf)
        return ElfInfo(
            machine=str(elf["e_machine"]),
            elf_class=int(elf.elfclass),
            elf_type=str(elf["e_type"]),
            soname=soname,
            needed=tuple(needed),
            rpath=tuple(rpath),
            runpath=tuple(runpath),
            version_needs={lib: frozenset(v) for lib, v in version_needs.items()},
            symbol_needs=tuple(sorted(set(symbol_needs))),
            exported=frozenset(exported),
            sections=sections,
        )
    except (ELFError, ValueError, KeyError, IndexError, EOFError) as exc:
        raise WheelError(f"{where}: malformed ELF file ({exc})") from exc
