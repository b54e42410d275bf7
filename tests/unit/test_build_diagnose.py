"""A failed build's cause, read from its log (lines as compilers, linkers, CMake, shells and
auditwheel print them), and the recipe line that fixes it."""

from __future__ import annotations

import pytest

from wheelyard.builder.diagnose import diagnose

CIBW_NOISE = """\
Building cp312-manylinux_x86_64 wheel
    + python -m build /project --wheel --outdir=/tmp/cibuildwheel/built_wheel --installer=uv
running build_ext
"""


@pytest.mark.parametrize(
    ("line", "kind", "message", "hint"),
    [
        (
            "ext/_yaml.c:1252:10: fatal error: yaml.h: No such file or directory",
            "missing-header",
            "the C header yaml.h is missing",
            "yaml.h comes with libyaml-dev (Debian), libyaml-devel (dnf): add system-packages = "
            '{ apt = ["libyaml-dev"], dnf = ["libyaml-devel"] }',
        ),
        (
            "c/_cffi_backend.c:15:10: fatal error: ffi.h: No such file or directory",
            "missing-header",
            "the C header ffi.h is missing",
            "libffi-dev",
        ),
        (
            "/usr/bin/ld: cannot find -lxslt: No such file or directory",
            "missing-library",
            "the linker cannot find the library xslt (libxslt.so)",
            "libxslt1-dev",
        ),
        (
            "  Could NOT find ZLIB (missing: ZLIB_LIBRARY ZLIB_INCLUDE_DIR)",
            "missing-cmake-package",
            "CMake could not find ZLIB",
            "zlib1g-dev",
        ),
        (
            "/bin/sh: 1: yum: not found",
            "other-package-manager",
            "the package's own steps run yum, the package manager of dnf/yum (Red Hat, "
            "manylinux); this builder image is Debian (apt-get)",
            "cibuildwheel = { before-all",
        ),
        (
            "bash: line 1: apk: command not found",
            "other-package-manager",
            "the package's own steps run apk, the package manager of apk (Alpine, musllinux); "
            "this builder image is Debian (apt-get)",
            "system-packages",
        ),
        (
            "FileNotFoundError: [Errno 2] No such file or directory: 'gfortran'",
            "missing-command",
            "the build runs gfortran, which the builder image does not have",
            "system-packages",
        ),
        (
            "src/fast.c:12:5: error: unknown type name 'uint128'",
            "compiler-error",
            "src/fast.c:12:5: error: unknown type name 'uint128'",
            None,
        ),
    ],
    ids=["yaml.h", "ffi.h", "-lxslt", "cmake-zlib", "yum", "apk", "gfortran", "compiler"],
)
def test_the_first_real_error_is_named_with_its_fix(
    line: str, kind: str, message: str, hint: str | None
) -> None:
    log = CIBW_NOISE + line + "\nerror: command '/usr/bin/gcc' failed with exit code 1\n"
    cause = diagnose(log)
    assert cause is not None
    assert (cause.kind, cause.message, cause.line) == (kind, message, line.strip())
    if hint is None:
        assert cause.hint is None
    else:
        assert hint in (cause.hint or "")


def test_a_header_nobody_catalogued_still_says_what_to_do() -> None:
    cause = diagnose(CIBW_NOISE + "x.c:1:10: fatal error: frobnicate.h: No such file or directory")
    assert cause is not None and cause.kind == "missing-header"
    assert cause.hint is not None and "frobnicate.h" in cause.hint


def test_a_silent_pure_python_fallback_is_reported_as_such() -> None:
    log = (
        CIBW_NOISE
        + "libyaml is not found or a compiler error: forcing --without-libyaml\n"
        + "Successfully built PyYAML-6.0.2-py3-none-any.whl\n"
        + "Repairing wheel...\n"
        + 'auditwheel: error: cannot repair "PyYAML-6.0.2-py3-none-any.whl" to '
        '"manylinux_2_36_x86_64" ABI because of the presence of too-recent versioned symbols.\n'
        + "INFO:auditwheel.main_repair:This does not look like a platform wheel, no ELF executable "
        "or shared library file (including compiled Python C extension) found in the wheel archive\n"
    )
    cause = diagnose(log)
    assert cause is not None
    assert cause.kind == "pure-python-fallback"
    assert cause.message == (
        "the build made a pure-Python wheel: its extension was not compiled (the package said: "
        "libyaml is not found or a compiler error: forcing --without-libyaml)"
    )


def test_the_backend_traceback_is_the_cause_when_nothing_else_is_known() -> None:
    log = (
        CIBW_NOISE
        + "Traceback (most recent call last):\n"
        + '  File "setup.py", line 3, in <module>\n'
        + "    raise RuntimeError('set FOO_HOME')\n"
        + "RuntimeError: set FOO_HOME\n"
        + "ERROR Backend subprocess exited when trying to invoke build_wheel\n"
    )
    cause = diagnose(log)
    assert cause is not None
    assert (cause.kind, cause.message) == (
        "backend-error",
        "the build backend raised RuntimeError: set FOO_HOME",
    )


def test_an_unknown_failure_has_no_invented_cause() -> None:
    assert diagnose(CIBW_NOISE + "something odd happened\n") is None


def test_a_fallback_caused_by_a_missing_header_names_both() -> None:
    log = (
        CIBW_NOISE
        + "ext/_yaml.c:1252:10: fatal error: yaml.h: No such file or directory\n"
        + "libyaml is not found or a compiler error: forcing --without-libyaml\n"
        + "INFO:auditwheel.main_repair:This does not look like a platform wheel, no ELF executable\n"
    )
    cause = diagnose(log)
    assert cause is not None
    assert cause.kind == "pure-python-fallback"
    assert cause.message == (
        "the build made a pure-Python wheel: its extension was not compiled, because the C header "
        "yaml.h is missing"
    )
    assert cause.line == "ext/_yaml.c:1252:10: fatal error: yaml.h: No such file or directory"
    assert "libyaml-dev" in (cause.hint or "")
