"""Platform honesty: pure vs binary, auditwheel's verdict on manylinux tags, abi3audit."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_verify_support import (
    EXT_SUFFIX,
    PTHREAD_PRELUDE,
    PY,
    compile_extension,
    make_wheel,
)

from wheelyard.verify import Check, CheckResult, Outcome, VerifyOptions, verify_wheel

PLATFORM_ONLY = VerifyOptions(checks=frozenset({Check.STRUCTURE, Check.PLATFORM}))
EXT = f"demo/_ext{EXT_SUFFIX}"


def platform_result(path: Path, *, structure_ok: bool = True) -> CheckResult:
    report = verify_wheel(path, options=PLATFORM_ONLY)
    structure = report.result(Check.STRUCTURE)
    assert structure is not None
    assert (structure.outcome is Outcome.PASS) is structure_ok, structure
    result = report.result(Check.PLATFORM)
    assert result is not None
    return result


def findings(result: CheckResult) -> list[tuple[str, str]]:
    return [(f.code, f.message) for f in result.findings]


@pytest.fixture(scope="module")
def pthread_ext(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """An extension whose pthread_create binds to GLIBC_2.34 (glibc >= 2.34 merged libpthread)."""
    return compile_extension(tmp_path_factory.mktemp("pthread"), "_ext", prelude=PTHREAD_PRELUDE)


def test_pure_wheel_without_binaries_passes(tmp_path: Path) -> None:
    result = platform_result(make_wheel(tmp_path, {"demo/__init__.py": b""}))
    assert result.outcome is Outcome.PASS
    assert result.message == "pure wheel without native code"


def test_pure_wheel_with_a_binary_fails(tmp_path: Path, pthread_ext: bytes) -> None:
    path = make_wheel(tmp_path, {"demo/__init__.py": b"", EXT: pthread_ext})
    result = platform_result(path, structure_ok=False)  # also: Root-Is-Purelib with a binary
    assert result.outcome is Outcome.FAIL
    assert findings(result) == [
        (
            "binary-in-pure-wheel",
            f"tagged py3-none-any (pure Python) but holds native code: {EXT}",
        )
    ]


def test_platform_wheel_without_a_binary_fails(tmp_path: Path) -> None:
    """An optional extension that silently fell back to pure Python is a finding."""
    path = make_wheel(
        tmp_path,
        {"demo/__init__.py": b"", "demo/_ext.py": b""},
        tag=f"{PY}-{PY}-manylinux_2_17_x86_64",
    )
    result = platform_result(path)
    assert findings(result) == [
        (
            "no-binary",
            f"tagged {PY}-{PY}-manylinux_2_17_x86_64 but holds no native code: did an optional "
            "extension fail to compile and fall back to pure Python?",
        )
    ]


def test_manylinux_2_17_retag_of_a_glibc_2_34_extension_is_rejected(
    tmp_path: Path, pthread_ext: bytes
) -> None:
    path = make_wheel(
        tmp_path,
        {"demo/__init__.py": b"", EXT: pthread_ext},
        tag=f"{PY}-{PY}-manylinux_2_17_x86_64",
    )
    result = platform_result(path)
    assert result.outcome is Outcome.FAIL
    assert findings(result) == [
        (
            "symbol-version-too-new",
            f"claims manylinux_2_17_x86_64, but needs pthread_create@GLIBC_2.34 in {EXT}, newer "
            "than manylinux_2_17_x86_64 allows; the lowest tag it satisfies is "
            "manylinux_2_34_x86_64",
        )
    ]
    assert result.facts["auditwheel_tag"] == "manylinux_2_34_x86_64"


def test_the_legacy_alias_is_checked_too(tmp_path: Path, pthread_ext: bytes) -> None:
    path = make_wheel(
        tmp_path, {"demo/__init__.py": b"", EXT: pthread_ext}, tag=f"{PY}-{PY}-manylinux2014_x86_64"
    )
    [(code, message)] = findings(platform_result(path))
    assert code == "symbol-version-too-new"
    assert message.startswith("claims manylinux2014_x86_64, but needs pthread_create@GLIBC_2.34")


def test_an_honest_tag_passes(tmp_path: Path, pthread_ext: bytes) -> None:
    path = make_wheel(
        tmp_path,
        {"demo/__init__.py": b"", EXT: pthread_ext},
        tag=f"{PY}-{PY}-manylinux_2_34_x86_64",
    )
    result = platform_result(path)
    assert result.outcome is Outcome.PASS
    assert result.message == (
        "1 native file(s); auditwheel allows manylinux_2_34_x86_64 (lowest satisfied: "
        "manylinux_2_34_x86_64)"
    )


def test_linux_tag_promises_nothing_and_is_noted(tmp_path: Path, pthread_ext: bytes) -> None:
    path = make_wheel(
        tmp_path, {"demo/__init__.py": b"", EXT: pthread_ext}, tag=f"{PY}-{PY}-linux_x86_64"
    )
    result = platform_result(path)
    assert result.outcome is Outcome.PASS
    assert result.notes == (
        "linux_x86_64 promises nothing beyond the build machine; auditwheel says the wheel "
        "could be tagged manylinux_2_34_x86_64",
    )


def test_macos_wheels_are_not_checked_by_auditwheel(tmp_path: Path) -> None:
    macho = b"\xcf\xfa\xed\xfe" + b"\0" * 60
    path = make_wheel(
        tmp_path,
        {"demo/__init__.py": b"", "demo/_ext.cpython-311-darwin.so": macho},
        tag=f"{PY}-{PY}-macosx_11_0_arm64",
    )
    result = platform_result(path)
    assert result.outcome is Outcome.SKIPPED
    assert result.message == (
        "auditwheel checks Linux wheels only; macosx_11_0_arm64 is not checked"
    )


def test_abi3_wheel_using_a_non_stable_symbol_fails(tmp_path: Path) -> None:
    so = compile_extension(
        tmp_path / "c",
        "_ext",
        body='PyObject *code = (PyObject *)PyCode_NewEmpty("a", "b", 1); Py_XDECREF(code);',
    )
    path = make_wheel(
        tmp_path, {"demo/__init__.py": b"", "demo/_ext.abi3.so": so}, tag="cp38-abi3-linux_x86_64"
    )
    result = platform_result(path)
    assert findings(result) == [
        (
            "abi3-violation",
            "_ext.abi3.so is tagged abi3 but uses symbols outside the stable ABI: PyCode_NewEmpty",
        )
    ]


def test_abi3_wheel_newer_than_its_tag_fails(tmp_path: Path) -> None:
    so = compile_extension(
        tmp_path / "c",
        "_ext",
        body="Py_ssize_t n; (void)PyUnicode_AsUTF8AndSize(NULL, &n);",
        flags=("-DPy_LIMITED_API=0x030A0000",),
    )
    path = make_wheel(
        tmp_path, {"demo/__init__.py": b"", "demo/_ext.abi3.so": so}, tag="cp38-abi3-linux_x86_64"
    )
    result = platform_result(path)
    assert findings(result) == [
        (
            "abi3-too-new",
            "_ext.abi3.so is tagged for the Python 3.8 stable ABI but uses the 3.10 one: "
            "PyUnicode_AsUTF8AndSize (added in 3.10)",
        )
    ]


def test_a_clean_abi3_wheel_passes(tmp_path: Path) -> None:
    so = compile_extension(tmp_path / "c", "_ext", flags=("-DPy_LIMITED_API=0x03080000",))
    path = make_wheel(
        tmp_path, {"demo/__init__.py": b"", "demo/_ext.abi3.so": so}, tag="cp38-abi3-linux_x86_64"
    )
    result = platform_result(path)
    assert result.outcome is Outcome.PASS
    assert result.message == "1 native file(s); abi3audit finds only stable-ABI symbols"


@pytest.mark.parametrize(
    ("platform", "ok"),
    [("manylinux_2_33_x86_64", False), ("manylinux_2_99_x86_64", True)],
)
def test_tags_auditwheel_has_no_policy_for_are_judged_by_glibc_version(
    tmp_path: Path, pthread_ext: bytes, platform: str, ok: bool
) -> None:
    """auditwheel knows no manylinux_2_33 (no distribution shipped glibc 2.33) nor 2_99."""
    path = make_wheel(
        tmp_path, {"demo/__init__.py": b"", EXT: pthread_ext}, tag=f"{PY}-{PY}-{platform}"
    )
    result = platform_result(path)
    if ok:
        assert result.outcome is Outcome.PASS
    else:
        assert findings(result) == [
            (
                "symbol-version-too-new",
                f"claims {platform}, but needs pthread_create@GLIBC_2.34 in {EXT}, newer than "
                f"{platform} allows; the lowest tag it satisfies is manylinux_2_34_x86_64",
            )
        ]
