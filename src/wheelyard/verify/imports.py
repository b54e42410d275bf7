"""Import every module and subpackage a wheel ships, in the environment it was installed into.

Imports run in a child interpreter (``python -I``, from an empty folder), one module after the
other; a module that kills the interpreter (a segfault in an extension's init) is reported with
its signal and the remaining modules run in a fresh interpreter. Test packages, ``__main__``
modules and the recipe's optional modules are not imported.
"""

from __future__ import annotations

import fnmatch
import json
import re
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from packaging.metadata import Metadata
from packaging.utils import canonicalize_name

from wheelyard import proc
from wheelyard.errors import ProcessError
from wheelyard.verify.install import Environment
from wheelyard.verify.options import DEFAULT_EXCLUDED_PARTS
from wheelyard.verify.report import Check, CheckResult, Finding, failed, passed

EXTENSION = re.compile(r"^(?P<module>[A-Za-z_][A-Za-z0-9_]*)(?:\.[A-Za-z0-9_-]+)?\.(?:so|pyd)$")
"""``_hello.cpython-312-x86_64-linux-gnu.so``, ``_hello.abi3.so``, ``_hello.pyd`` ..."""
IMPORTABLE_DATA = re.compile(r"^[^/]+\.data/(?:purelib|platlib)/")
STDLIB = frozenset(sys.stdlib_module_names)
SIMPLE_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html"
INDEX_TIMEOUT = 15.0
PYTHON2_STDLIB = frozenset(
    [
        "__builtin__",
        "_winreg",
        "anydbm",
        "BaseHTTPServer",
        "CGIHTTPServer",
        "commands",
        "ConfigParser",
        "Cookie",
        "cookielib",
        "copy_reg",
        "cPickle",
        "cStringIO",
        "dbhash",
        "dummy_thread",
        "exceptions",
        "htmlentitydefs",
        "HTMLParser",
        "httplib",
        "markupbase",
        "md5",
        "mimetools",
        "new",
        "urllib2",
        "urlparse",
        "Queue",
        "repr",
        "robotparser",
        "sets",
        "sha",
        "SimpleHTTPServer",
        "SocketServer",
        "StringIO",
        "thread",
        "Tkinter",
        "tkMessageBox",
        "UserDict",
        "UserList",
        "UserString",
        "whichdb",
        "xmlrpclib",
    ]
)
"""Standard-library modules of Python 2 only: a module importing one is a leftover for Python 2."""
BROKEN_EXTENSION = re.compile(
    r"undefined symbol|cannot open shared object file|wrong ELF class|invalid ELF header|"
    r"does not define module export function|version `[A-Z_]+[0-9.]+' not found|"
    r"incompatible architecture|file too short"
)
"""ImportError messages of an extension module that cannot load: always a failure."""
OTHER_PLATFORM = re.compile(
    r"(?:^|[._])(?:aix|win|windows|win32|win64|nt|osx|darwin|mac|macos|bsd|freebsd|openbsd|"
    r"netbsd|sunos|solaris|cygwin|msvc|msvc9compiler)(?:$|[._])",
    re.IGNORECASE,
)
"""A module of the package named for another platform than Linux (``psutil._psutil_aix``)."""


def _runner_source() -> str:
    return resources.files("wheelyard.verify").joinpath("import_runner.py").read_text("utf-8")


def _excluded(name: str, optional: Sequence[str]) -> bool:
    parts = name.split(".")
    if any(part in DEFAULT_EXCLUDED_PARTS for part in parts):
        return True
    for pattern in optional:
        if name == pattern or name.startswith(pattern + ".") or fnmatch.fnmatchcase(name, pattern):
            return True
    return False


def wheel_modules(
    files: Iterable[str],
    *,
    exports: Mapping[str, frozenset[str]] | None = None,
    optional: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """(modules to import, modules left out) for the files of a wheel, packages first.

    ``exports`` maps a shared object of the wheel to its exported symbols: one that does not
    export ``PyInit_<name>`` is a plain library, not an extension module. A shared object missing
    from it is taken for an extension when its name looks like one.
    """
    found: set[str] = set()
    for raw in files:
        path = IMPORTABLE_DATA.sub("", raw)
        parts = path.split("/")
        if parts[0].endswith((".dist-info", ".data")):
            continue
        *dirs, filename = parts
        if filename.endswith(".py"):
            module = filename[:-3]
        else:
            match = EXTENSION.match(filename)
            if match is None:
                continue
            module = match["module"]
            symbols = (exports or {}).get(raw)
            if symbols is not None and f"PyInit_{module}" not in symbols:
                continue
        names = [*dirs] if module == "__init__" else [*dirs, module]
        if not names or not all(part.isidentifier() for part in names):
            continue
        found.add(".".join(names))
    ordered = sorted(found, key=lambda n: n.split("."))
    kept = [n for n in ordered if not _excluded(n, optional)]
    left_out = [n for n in ordered if _excluded(n, optional)]
    return kept, left_out


@dataclass(frozen=True, kw_only=True)
class _Event:
    module: str
    event: str
    data: Mapping[str, Any]


def _read_events(results: Path) -> list[_Event]:
    events: list[_Event] = []
    if not results.is_file():
        return events
    for line in results.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash
        events.append(_Event(module=str(data["module"]), event=str(data["event"]), data=data))
    return events


def _signal_name(returncode: int) -> str:
    try:
        return f"{signal.Signals(-returncode).name} (signal {-returncode})"
    except ValueError:
        return f"signal {-returncode}"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no traceback"


def _missing_finding(
    module: str, missing: str, own_top: frozenset[str], metadata: Metadata | None, tb: str
) -> Finding:
    top = missing.split(".", maxsplit=1)[0]
    if top in own_top:
        return Finding(
            code="missing-module",
            message=f"{module} imports {missing}, which the wheel does not ship",
            path=module,
            details=tb,
        )
    if top in STDLIB:
        return Finding(
            code="import-error",
            message=f"{module} needs the standard-library module {missing}, which this "
            "interpreter lacks",
            path=module,
            details=tb,
        )
    extras = []
    for requirement in (metadata.requires_dist or []) if metadata else []:
        if canonicalize_name(requirement.name) == canonicalize_name(top) and requirement.marker:
            extras.append(str(requirement.marker))
    hint = (
        f"; it is declared only under a marker ({'; '.join(extras)}): list {module} in the "
        "recipe's optional-modules, or make it a plain dependency"
        if extras
        else "; declare the distribution that provides it in the package's dependencies "
        "(Requires-Dist)"
    )
    return Finding(
        code="undeclared-dependency",
        message=f"{module} imports {missing}, which is not installed{hint}",
        path=module,
        details=tb,
    )


def on_index(module: str, index_url: str | None) -> bool:
    """Whether a project named like ``module`` is on the index (a dependency a user can install),
    as far as one request can tell; never without an index."""
    if index_url is None:
        return False
    name = canonicalize_name(module)
    if index_url.startswith("file:") or "://" not in index_url:
        root = Path(urllib.parse.unquote(urllib.parse.urlsplit(index_url).path or index_url))
        return (root / name).is_dir()
    url = f"{index_url.rstrip('/')}/{name}/"
    request = urllib.request.Request(url, headers={"Accept": SIMPLE_ACCEPT})
    try:
        with urllib.request.urlopen(request, timeout=INDEX_TIMEOUT) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, TimeoutError):
        return False


def tolerated(
    module: str,
    event: Mapping[str, Any],
    own_top: frozenset[str],
    metadata: Metadata | None,
    installable: Callable[[str], bool] = lambda _name: False,
) -> str | None:
    """Why an import failure of ``module`` does not fail the wheel, or None when it does.

    A top-level module that does not import, an extension that cannot load, a dependency
    imported but neither declared nor to be had from the index, a module of the package that is
    missing, and a syntax error always fail. A submodule that needs what only some users have -
    an optional dependency (declared under an extra, or undeclared but ``installable`` from the
    index), a standard-library module of another platform or of Python 2, a module of the
    package named for another platform (``_psutil_aix``), an undeclared import in a private
    module (``numpy._core.cversions``, a build-time helper) - or that raises ImportError on
    purpose, its own error after catching a missing import, or any error from a ``raise``
    statement of the package's own code (``lxml.usedoctest`` outside a doctest) is a warning:
    the package works without it."""
    if "." not in module:
        return None
    tb = str(event.get("traceback") or "")
    kind = str(event.get("type") or "")
    if BROKEN_EXTENSION.search(tb):
        return None
    missing = event.get("missing")
    if missing:
        top = str(missing).split(".", maxsplit=1)[0]
        if top in PYTHON2_STDLIB:
            return f"needs {missing}, a module of Python 2 (a leftover for old Pythons)"
        if top in STDLIB:
            return f"needs {missing}, a standard-library module this platform's Python lacks"
        if top in own_top and OTHER_PLATFORM.search(str(missing)):
            return f"needs {missing}, which is built only for another platform"
        declared = (metadata.requires_dist or []) if metadata else []
        extras = [
            str(r.marker)
            for r in declared
            if canonicalize_name(r.name) == canonicalize_name(top) and r.marker
        ]
        if extras:
            return f"needs {missing}, an optional dependency ({'; '.join(extras)})"
        if installable(top):
            return (
                f"needs {missing}, which it does not declare but which the index has (an optional "
                "dependency left undeclared)"
            )
        if any(part.startswith("_") for part in module.split(".")[1:]):
            return (
                f"needs {missing}, and is a private module (a helper the package's public "
                "modules do not import)"
            )
        return None
    if kind == "ImportError" or event.get("import_error"):
        return f"refuses to import: {_last_line(tb)}"
    behind = event.get("missing_behind")
    if behind:
        return f"needs {behind}, and says so: {_last_line(tb)}"
    raised = event.get("raised_at")
    if isinstance(raised, Mapping) and str(raised.get("line", "")).startswith("raise"):
        root = module.split(".", maxsplit=1)[0]
        file = str(raised.get("file", ""))
        if f"/{root}/" in file or file.endswith(f"/{root}.py"):
            return f"raises on purpose outside its intended use: {_last_line(tb)}"
    return None


def _inside(file: str | None, root: Path) -> bool:
    if file is None:
        return True
    try:
        Path(file).resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def import_all(
    environment: Environment,
    modules: Sequence[str],
    *,
    left_out: Sequence[str],
    run_dir: Path,
    timeout: float,
    metadata: Metadata | None,
    strict: bool = False,
    index_url: str | None = None,
    first: Sequence[str] = (),
) -> CheckResult:
    """Import ``modules`` in ``environment``, restarting after a crash or a hang; ``first``
    (``torch`` for a torch extension) is imported before them, as the package's users do.

    Failures that :func:`tolerated` excuses are warnings in the result's notes (``strict``: they
    fail like the others)."""
    started = time.monotonic()
    label = environment.interpreter.label
    notes = (f"not imported: {', '.join(left_out)}",) if left_out else ()
    if not modules:
        return passed(
            Check.IMPORTS,
            "the wheel ships no importable module",
            python=label,
            notes=notes,
            seconds=time.monotonic() - started,
        )
    own_top = frozenset(m.split(".")[0] for m in [*modules, *left_out])
    source = _runner_source()
    findings: list[Finding] = []
    warnings: list[str] = []
    outcomes: dict[str, str] = {}
    remaining = list(modules)
    round_number = 0
    while remaining:
        round_number += 1
        listing = run_dir / f"modules-{round_number}.json"
        results = run_dir / f"imports-{round_number}.jsonl"
        listing.write_text(json.dumps(remaining), encoding="utf-8")
        timed_out = False
        argv = [
            str(environment.python),
            "-I",
            "-c",
            source,
            str(listing),
            str(results),
            json.dumps(list(first)),
        ]
        try:
            with environment.confined(argv, cwd=run_dir) as (command, env):
                completed = proc.run(
                    command, cwd=run_dir, env=env, timeout=timeout, check=False, keep_output=False
                )
            returncode, output = completed.returncode, completed.tail
        except ProcessError as exc:
            if not exc.timed_out:
                raise
            timed_out, returncode, output = True, exc.returncode or 0, exc.output_tail
        started_modules: list[str] = []
        for event in _read_events(results):
            if event.event == "start":
                started_modules.append(event.module)
                continue
            outcomes[event.module] = event.event
            if event.event == "error":
                tb = str(event.data.get("traceback") or "")
                missing = event.data.get("missing")
                excuse = tolerated(
                    event.module,
                    event.data,
                    own_top,
                    metadata,
                    installable=lambda name: on_index(name, index_url),
                )
                if excuse is not None and not strict:
                    warnings.append(f"warning: {event.module} {excuse}: not counted")
                    outcomes[event.module] = "tolerated"
                elif missing:
                    findings.append(
                        _missing_finding(event.module, str(missing), own_top, metadata, tb)
                    )
                else:
                    findings.append(
                        Finding(
                            code="import-error",
                            message=f"{event.module}: {_last_line(tb)}",
                            path=event.module,
                            details=tb,
                        )
                    )
            elif not _inside(event.data.get("file"), environment.root):
                findings.append(
                    Finding(
                        code="imported-from-elsewhere",
                        message=f"{event.module} was imported from {event.data.get('file')}, "
                        f"not from the environment the wheel was installed into",
                        path=event.module,
                    )
                )
        unfinished = [m for m in started_modules if m not in outcomes]
        if unfinished:
            culprit = unfinished[-1]
            outcomes[culprit] = "crashed"
            if timed_out:
                findings.append(
                    Finding(
                        code="import-timeout",
                        message=f"importing {culprit} did not finish within {timeout:.0f} s",
                        path=culprit,
                        details=output or None,
                    )
                )
            else:
                how = (
                    f"killed the interpreter with {_signal_name(returncode)}"
                    if returncode < 0
                    else f"ended the interpreter with exit status {returncode}"
                )
                findings.append(
                    Finding(
                        code="import-crashed",
                        message=f"importing {culprit} {how}",
                        path=culprit,
                        details=output or None,
                    )
                )
        elif returncode != 0 or timed_out:
            # The runner itself failed before importing anything.
            findings.append(
                Finding(
                    code="import-runner-failed",
                    message=f"the import runner exited with status {returncode} before "
                    "importing a module",
                    details=output or None,
                )
            )
            break
        remaining = [m for m in remaining if m not in outcomes]
    seconds = time.monotonic() - started
    ok = [m for m in modules if outcomes.get(m) == "ok"]
    notes = (*notes, *warnings)
    if findings:
        bad = len({f.path for f in findings if f.path})
        return failed(
            Check.IMPORTS,
            f"{bad} of {len(modules)} module{'s' if len(modules) != 1 else ''} failed to import",
            tuple(findings),
            python=label,
            notes=notes,
            seconds=seconds,
            facts={"imported": ok, "where": environment.where},
        )
    if warnings:
        return passed(
            Check.IMPORTS,
            f"imported {len(ok)} of {len(modules)} modules; {len(warnings)} need what only "
            "some users have (warnings below)",
            python=label,
            notes=notes,
            seconds=seconds,
            facts={
                "imported": ok,
                "tolerated": [m for m in modules if m not in ok],
                "where": environment.where,
            },
        )
    return passed(
        Check.IMPORTS,
        f"imported all {len(modules)} module{'s' if len(modules) != 1 else ''}: "
        f"{', '.join(modules)}",
        python=label,
        notes=notes,
        seconds=seconds,
        facts={"imported": ok, "where": environment.where},
    )
