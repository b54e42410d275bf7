"""Imports modules one by one in the interpreter under test; run as ``python -I -c <this file>``.

Not imported by wheelyard: its text is sent to the target interpreter (CPython 3.8 or newer), so
it uses the standard library only. ``argv[1]`` is a JSON list of module names, ``argv[2]`` the
results file, which gets one JSON line before and one after each import. The line before is
flushed first, so when the process dies on a signal the last module started is the culprit.
faulthandler prints the Python stack of a crash to stderr.
"""

from __future__ import annotations

import contextlib
import faulthandler
import importlib
import json
import sys
import traceback
from pathlib import Path


def _missing_in_chain(exc: BaseException) -> str | None:
    """The module a ModuleNotFoundError behind ``exc`` names: the module caught the missing
    import and raised its own error (an optional dependency it says it needs)."""
    seen = set()
    link = exc.__cause__ or exc.__context__
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, ModuleNotFoundError):
            return link.name
        link = link.__cause__ or link.__context__
    return None


def _raised_at(exc: BaseException) -> dict[str, str] | None:
    """The file and source line of the frame that raised ``exc`` (``raise ...`` when on purpose)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return None
    last = frames[-1]
    return {"file": last.filename, "line": (last.line or "").strip()}


def main() -> None:
    faulthandler.enable()
    modules = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    # Modules imported first, as the package's users do (torch before a torch extension); a
    # failure here shows again as the failure of the package's own imports.
    for name in json.loads(sys.argv[3]) if len(sys.argv) > 3 else ():
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    with Path(sys.argv[2]).open("a", encoding="utf-8") as out:
        for name in modules:
            out.write(json.dumps({"module": name, "event": "start"}) + "\n")
            out.flush()
            record: dict[str, object]
            try:
                importlib.import_module(name)
            except BaseException as exc:
                record = {
                    "module": name,
                    "event": "error",
                    "type": type(exc).__name__,
                    "missing": exc.name if isinstance(exc, ModuleNotFoundError) else None,
                    "missing_behind": _missing_in_chain(exc),
                    "import_error": isinstance(exc, ImportError),
                    "raised_at": _raised_at(exc),
                    "traceback": traceback.format_exc(),
                }
            else:
                record = {
                    "module": name,
                    "event": "ok",
                    "file": getattr(sys.modules.get(name), "__file__", None),
                }
            out.write(json.dumps(record) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
