"""Clean install, import-all and the smoke test, in real throw-away environments (uv, offline)."""

from __future__ import annotations

import signal
from dataclasses import replace
from pathlib import Path

import pytest
from test_verify_support import EXT_SUFFIX, PY, compile_extension, make_wheel, options_here

from wheelyard.verify import (
    Check,
    CheckResult,
    Outcome,
    SmokeTest,
    WheelReport,
    WheelStatus,
    verify_wheel,
)
from wheelyard.verify.imports import wheel_modules

LABEL = f"{PY[2]}.{PY[3:]}"
"""``3.11``: this interpreter's label in the report."""
GOOD = {
    "demo/__init__.py": b"from demo.util import twice\n",
    "demo/util.py": b"def twice(x):\n    return 2 * x\n",
    "demo/tests/__init__.py": b"",
    "demo/tests/test_util.py": b"raise RuntimeError('tests are not imported')\n",
    "demo/__main__.py": b"raise SystemExit('never imported')\n",
}


def result(report: WheelReport, check: Check) -> CheckResult:
    found = report.result(check)
    assert found is not None, [c.label for c in report.checks]
    return found


def warnings(found: CheckResult) -> list[str]:
    return [note for note in found.notes if note.startswith("warning:")]


def findings(found: CheckResult) -> list[tuple[str, str]]:
    return [(f.code, f.message) for f in found.findings]


def test_module_discovery_leaves_out_tests_main_and_optional_modules() -> None:
    files = [
        "demo/__init__.py",
        "demo/util.py",
        "demo/tests/test_x.py",
        "demo/__main__.py",
        f"demo/_ext{EXT_SUFFIX}",
        "demo/libs/libfoo.so.1",
        "demo.libs/libbar-1a2b.so",
        "demo/backends/__init__.py",
        "demo/backends/s3.py",
        "demo/py.typed",
        "demo-1.0.data/purelib/extra_mod.py",
        "demo-1.0.data/scripts/tool.py",
        "demo-1.0.dist-info/METADATA",
    ]
    kept, left_out = wheel_modules(files, optional=["demo.backends"])
    assert kept == ["demo", "demo._ext", "demo.util", "extra_mod"]
    assert left_out == ["demo.__main__", "demo.backends", "demo.backends.s3", "demo.tests.test_x"]
    kept, _ = wheel_modules(files, exports={f"demo/_ext{EXT_SUFFIX}": frozenset({"helper"})})
    assert "demo._ext" not in kept  # a shared object without PyInit__ext is no module


def test_good_wheel_installs_imports_and_passes_its_smoke_test(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "demo").mkdir()
    (project / "demo" / "__init__.py").write_text("raise ImportError('the source tree')\n")
    (project / "tests" / "smoke.py").write_text(
        "import demo, os, sys\n"
        "assert demo.twice(21) == 42\n"
        "assert 'site-packages' in demo.__file__, demo.__file__\n"
        "print('smoke ok from', os.getcwd())\n"
    )
    path = make_wheel(tmp_path, GOOD)
    options = options_here(
        tmp_path, smoke_test=SmokeTest(value="tests/smoke.py", project_dir=project)
    )
    report = verify_wheel(path, options=options)
    assert [(c.label, c.outcome) for c in report.checks] == [
        ("structure", Outcome.PASS),
        ("platform", Outcome.PASS),
        (f"install[{LABEL}]", Outcome.PASS),
        (f"imports[{LABEL}]", Outcome.PASS),
        (f"smoke[{LABEL}]", Outcome.PASS),
    ]
    assert report.status is WheelStatus.PASSED
    assert result(report, Check.INSTALL).message.startswith(f"installed into a fresh {LABEL}.")
    assert result(report, Check.INSTALL).facts["installed"] == ["demo==1.0"]
    imports = result(report, Check.IMPORTS)
    assert imports.message == "imported all 2 modules: demo, demo.util"
    assert imports.notes == ("not imported: demo.__main__, demo.tests, demo.tests.test_util",)
    smoke = result(report, Check.SMOKE)
    assert smoke.message.startswith("smoke test tests/smoke.py passed in ")
    assert "smoke ok from" in smoke.facts["output_tail"]
    assert str(project) not in smoke.facts["output_tail"]  # ran outside the source tree


def test_failing_smoke_test(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, GOOD)
    test = SmokeTest(
        value="python -c 'import demo; assert demo.twice(2) == 5, \"wrong\"'", project_dir=tmp_path
    )
    report = verify_wheel(path, options=options_here(tmp_path, smoke_test=test))
    smoke = result(report, Check.SMOKE)
    assert smoke.outcome is Outcome.FAIL
    assert findings(smoke) == [
        ("smoke-failed", f"{test.value} exited with status 1: AssertionError: wrong")
    ]
    assert report.status is WheelStatus.FAILED


def test_no_smoke_test_is_a_skip_with_its_reason(tmp_path: Path) -> None:
    report = verify_wheel(make_wheel(tmp_path, GOOD), options=options_here(tmp_path))
    smoke = result(report, Check.SMOKE)
    assert smoke.outcome is Outcome.SKIPPED
    assert smoke.message == (
        "no smoke test: the recipe has no smoke-test (or no project was given)"
    )
    assert report.status is WheelStatus.INCOMPLETE
    assert report.ok


def test_wheel_for_an_interpreter_that_is_not_here_is_skipped(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, {"demo/__init__.py": b""}, tag="cp399-cp399-linux_x86_64")
    # not a real binary, so platform fails; only the install skip matters here
    report = verify_wheel(path, options=options_here(tmp_path))
    install = result(report, Check.INSTALL)
    assert install.outcome is Outcome.SKIPPED
    assert install.message == (
        f"no interpreter here installs cp399-cp399-linux_x86_64 (available: {LABEL})"
    )
    assert result(report, Check.IMPORTS).outcome is Outcome.SKIPPED


def test_wheel_for_another_platform_is_skipped(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, {"demo/__init__.py": b""}, tag=f"{PY}-{PY}-win_amd64")
    report = verify_wheel(
        path, options=options_here(tmp_path, platforms=("manylinux_2_36_x86_64", "linux_x86_64"))
    )
    install = result(report, Check.INSTALL)
    assert install.message == (
        "built for win_amd64; this machine installs manylinux_2_36_x86_64 and older tags only"
    )


def test_requires_python_excludes_every_interpreter(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, GOOD, metadata_extra="Requires-Python: >=4\n")
    install = result(verify_wheel(path, options=options_here(tmp_path)), Check.INSTALL)
    assert install.outcome is Outcome.SKIPPED
    assert install.message.startswith("Requires-Python >=4 excludes every matching interpreter")


def test_unavailable_declared_dependency_fails_the_install(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, GOOD, metadata_extra="Requires-Dist: surely-not-here>=1\n")
    report = verify_wheel(path, options=options_here(tmp_path))
    install = result(report, Check.INSTALL)
    assert install.outcome is Outcome.FAIL
    [(code, message)] = findings(install)
    assert code == "install-failed"
    assert "surely-not-here" in message
    assert result(report, Check.IMPORTS).message == "the wheel did not install"


def test_dependency_from_a_wheel_folder(tmp_path: Path) -> None:
    deps = tmp_path / "deps"
    deps.mkdir()
    make_wheel(deps, {"helper/__init__.py": b"X = 1\n"}, name="helper", version="2.0")
    files = {**GOOD, "demo/uses.py": b"import helper\n"}
    path = make_wheel(tmp_path, files, metadata_extra="Requires-Dist: helper>=2\n")
    report = verify_wheel(path, options=options_here(tmp_path, find_links=(deps,)))
    assert result(report, Check.INSTALL).facts["installed"] == ["demo==1.0", "helper==2.0"]
    assert result(report, Check.IMPORTS).outcome is Outcome.PASS


def test_undeclared_dependency_names_the_module_that_needs_it(tmp_path: Path) -> None:
    files = {**GOOD, "demo/fast.py": b"import numpy_not_installed_anywhere\n"}
    report = verify_wheel(make_wheel(tmp_path, files), options=options_here(tmp_path))
    imports = result(report, Check.IMPORTS)
    assert imports.outcome is Outcome.FAIL
    assert imports.message == "1 of 3 modules failed to import"
    assert findings(imports) == [
        (
            "undeclared-dependency",
            "demo.fast imports numpy_not_installed_anywhere, which is not installed; declare "
            "the distribution that provides it in the package's dependencies (Requires-Dist)",
        )
    ]
    assert "Traceback" in (imports.findings[0].details or "")


def test_dependency_declared_only_for_an_extra_is_a_warning_and_strict_fails_it(
    tmp_path: Path,
) -> None:
    files = {**GOOD, "demo/fast.py": b"import fastdep\n"}
    path = make_wheel(
        tmp_path,
        files,
        metadata_extra='Provides-Extra: fast\nRequires-Dist: fastdep; extra == "fast"\n',
    )
    imports = result(verify_wheel(path, options=options_here(tmp_path)), Check.IMPORTS)
    assert imports.outcome is Outcome.PASS
    assert imports.findings == ()
    assert warnings(imports) == [
        'warning: demo.fast needs fastdep, an optional dependency (extra == "fast"): not counted'
    ]
    assert imports.facts["tolerated"] == ["demo.fast"]
    strict = options_here(tmp_path, strict=True)
    imports = result(verify_wheel(path, options=strict), Check.IMPORTS)
    [(code, message)] = findings(imports)
    assert code == "undeclared-dependency"
    assert message == (
        "demo.fast imports fastdep, which is not installed; it is declared only under a marker "
        '(extra == "fast"): list demo.fast in the recipe\'s optional-modules, or make it a plain '
        "dependency"
    )
    report = verify_wheel(path, options=options_here(tmp_path, optional_modules=("demo.fast",)))
    imports = result(report, Check.IMPORTS)
    assert imports.outcome is Outcome.PASS
    assert "demo.fast" in imports.notes[0]


@pytest.mark.parametrize(
    ("source", "warning"),
    [
        (
            b"from UserDict import DictMixin\n",
            "needs UserDict, a module of Python 2 (a leftover for old Pythons)",
        ),
        (
            b"import winreg\n",
            "needs winreg, a standard-library module this platform's Python lacks",
        ),
        (
            b"import demo._demo_aix\n",
            "needs demo._demo_aix, which is built only for another platform",
        ),
        (
            b"raise ImportError('demo.legacy moved to the demo-legacy project')\n",
            "refuses to import: ImportError: demo.legacy moved to the demo-legacy project",
        ),
        (
            b"try:\n    import setuptools_not_here\nexcept ImportError as ex:\n"
            b"    raise Exception('this feature needs setuptools_not_here') from ex\n",
            "needs setuptools_not_here, and says so: Exception: this feature needs "
            "setuptools_not_here",
        ),
        (
            b"raise LookupError('only use this module inside a doctest')\n",
            "raises on purpose outside its intended use: LookupError: only use this module "
            "inside a doctest",
        ),
    ],
    ids=[
        "python2-module",
        "other-platform-stdlib",
        "other-platform-module",
        "raises-on-purpose",
        "says-what-it-needs",
        "raises-on-purpose-outside-its-use",
    ],
)
def test_a_submodule_for_some_users_only_is_a_warning(
    tmp_path: Path, source: bytes, warning: str
) -> None:
    path = make_wheel(tmp_path, {**GOOD, "demo/legacy.py": source})
    imports = result(verify_wheel(path, options=options_here(tmp_path)), Check.IMPORTS)
    assert imports.outcome is Outcome.PASS, imports.findings
    assert warnings(imports) == [f"warning: demo.legacy {warning}: not counted"]
    strict = result(verify_wheel(path, options=options_here(tmp_path, strict=True)), Check.IMPORTS)
    assert strict.outcome is Outcome.FAIL
    assert [f.path for f in strict.findings] == ["demo.legacy"]


@pytest.mark.parametrize(
    ("files", "code"),
    [
        # the same failures in the top-level package break every user
        ({"demo/__init__.py": b"from UserDict import DictMixin\n"}, "undeclared-dependency"),
        ({"demo/__init__.py": b"raise ImportError('no')\n"}, "import-error"),
        ({"demo/__init__.py": b"import fastdep\n"}, "undeclared-dependency"),
    ],
    ids=["python2-module", "raises", "extra-only-dependency"],
)
def test_the_top_level_package_failing_to_import_always_fails(
    tmp_path: Path, files: dict[str, bytes], code: str
) -> None:
    path = make_wheel(
        tmp_path,
        {**GOOD, **files},
        metadata_extra='Provides-Extra: fast\nRequires-Dist: fastdep; extra == "fast"\n',
    )
    imports = result(verify_wheel(path, options=options_here(tmp_path)), Check.IMPORTS)
    assert imports.outcome is Outcome.FAIL
    assert (imports.findings[0].code, imports.findings[0].path) == (code, "demo")


def test_test_packages_of_every_spelling_are_not_imported() -> None:
    kept, left_out = wheel_modules(
        ["demo/__init__.py", "demo/testing/helpers.py", "demo/tests/conftest.py"]
    )
    assert kept == ["demo"]
    assert left_out == ["demo.testing.helpers", "demo.tests.conftest"]


def test_module_raising_on_import_reports_its_traceback(tmp_path: Path) -> None:
    files = {**GOOD, "demo/broken.py": b"def f(:\n"}
    imports = result(
        verify_wheel(make_wheel(tmp_path, files), options=options_here(tmp_path)), Check.IMPORTS
    )
    [finding] = imports.findings
    assert finding.code == "import-error"
    assert finding.path == "demo.broken"
    assert finding.message == "demo.broken: SyntaxError: invalid syntax"
    assert 'demo/broken.py", line 1' in (finding.details or "")


def test_missing_module_of_the_wheel_itself(tmp_path: Path) -> None:
    files = {**GOOD, "demo/speed.py": b"import demo._speedups\n"}
    report = verify_wheel(make_wheel(tmp_path, files), options=options_here(tmp_path))
    assert findings(result(report, Check.IMPORTS)) == [
        ("missing-module", "demo.speed imports demo._speedups, which the wheel does not ship")
    ]


def test_segfault_on_import_is_reported_and_the_gate_survives(tmp_path: Path) -> None:
    crash = compile_extension(tmp_path / "c", "_crash", body="*(volatile int *)0 = 42;")
    files = {
        **GOOD,
        f"demo/_crash{EXT_SUFFIX}": crash,
        "demo/zlast.py": b"VALUE = 3\n",
    }
    path = make_wheel(tmp_path, files, tag=f"{PY}-{PY}-linux_x86_64")
    report = verify_wheel(path, options=options_here(tmp_path))
    imports = result(report, Check.IMPORTS)
    assert imports.outcome is Outcome.FAIL
    assert findings(imports) == [
        (
            "import-crashed",
            f"importing demo._crash killed the interpreter with SIGSEGV (signal {signal.SIGSEGV.value})",
        )
    ]
    assert "Segmentation fault" in (imports.findings[0].details or "")
    # The modules after the crash were imported in a fresh interpreter.
    assert imports.facts["imported"] == ["demo", "demo.util", "demo.zlast"]


def test_hanging_import_is_stopped(tmp_path: Path) -> None:
    files = {**GOOD, "demo/hang.py": b"import time\ntime.sleep(60)\n"}
    options = options_here(tmp_path, import_timeout=2.0)
    imports = result(verify_wheel(make_wheel(tmp_path, files), options=options), Check.IMPORTS)
    assert findings(imports) == [
        ("import-timeout", "importing demo.hang did not finish within 2 s")
    ]
    assert imports.facts["imported"] == ["demo", "demo.util"]


@pytest.mark.parametrize("check", [Check.IMPORTS, Check.SMOKE])
def test_checks_can_be_left_out(tmp_path: Path, check: Check) -> None:
    options = options_here(tmp_path)
    options = replace(options, checks=options.checks - {check})
    report = verify_wheel(make_wheel(tmp_path, GOOD), options=options)
    assert report.result(check) is None


def test_an_undeclared_import_the_index_has_is_a_warning_one_it_lacks_fails(
    tmp_path: Path,
) -> None:
    """ijson's optional cffi backend imports cffi without declaring it: cffi is on the index,
    so users can install it. A module no index has (tests/projects/undeclared-dep) fails."""
    index = tmp_path / "simple"
    (index / "optional-backend").mkdir(parents=True)
    files = {
        **GOOD,
        "demo/backends/__init__.py": b"",
        "demo/backends/fast.py": b"import optional_backend\n",
        "demo/broken.py": b"import not_on_any_index_at_all\n",
    }
    path = make_wheel(tmp_path, files)
    options = options_here(tmp_path, index_url=index.as_uri())
    imports = result(verify_wheel(path, options=options), Check.IMPORTS)
    assert imports.outcome is Outcome.FAIL
    assert [(f.code, f.path) for f in imports.findings] == [
        ("undeclared-dependency", "demo.broken")
    ]
    assert warnings(imports) == [
        "warning: demo.backends.fast needs optional_backend, which it does not declare but "
        "which the index has (an optional dependency left undeclared): not counted"
    ]


def test_a_private_helper_with_an_undeclared_import_is_a_warning_a_broken_module_fails(
    tmp_path: Path,
) -> None:
    """numpy ships numpy._core.cversions, a build-time helper importing code_generators; a
    public module that breaks on an attribute error is a real failure."""
    files = {
        **GOOD,
        "demo/_build_helper.py": b"import code_generators_not_on_any_index\n",
        "demo/api.py": b"import demo.util\nX = demo.util.no_such_function\n",
    }
    imports = result(
        verify_wheel(make_wheel(tmp_path, files), options=options_here(tmp_path)), Check.IMPORTS
    )
    assert imports.outcome is Outcome.FAIL
    assert [(f.code, f.path) for f in imports.findings] == [("import-error", "demo.api")]
    assert warnings(imports) == [
        "warning: demo._build_helper needs code_generators_not_on_any_index, and is a private "
        "module (a helper the package's public modules do not import): not counted"
    ]
