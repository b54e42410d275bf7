"""The gate on wheels nobody here built: PyPI's most-downloaded binary wheels, verified as they are.

    .venv/bin/python bench/top_wheels.py [--list tests/realworld/top-wheels.txt]
                                         [--results bench/results/top_wheels.json]

For every ``name==version`` in the list, the CPython 3.11 manylinux x86_64 wheel PyPI serves
is downloaded (hash checked) and `wheelyard verify` runs on it with the defaults: structure,
platform tags, a clean install whose dependencies come from the index, the import of every
module. Millions install these wheels every day, so each must pass; the warnings (modules that
need what only some users have) are counted and listed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.tags import sys_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

REPO = Path(__file__).resolve().parents[1]
LIST = REPO / "tests" / "realworld" / "top-wheels.txt"
INDEX = "https://pypi.org/simple/"

sys.path.insert(0, str(REPO / "src"))
from wheelyard.source.index import _session  # noqa: E402


def download(requirement: Requirement, into: Path) -> Path:
    """The best wheel of ``requirement`` for this interpreter, from PyPI."""
    from pypi_simple import ACCEPT_JSON_PREFERRED, PyPISimple

    here = list(sys_tags())
    rank = {tag: i for i, tag in enumerate(here)}
    with PyPISimple(INDEX, session=_session(), accept=ACCEPT_JSON_PREFERRED) as client:
        page = client.get_project_page(canonicalize_name(requirement.name), timeout=120)
        best: tuple[int, Any] | None = None
        for package in page.packages:
            if package.package_type != "wheel" or package.is_yanked:
                continue
            if package.version is None or not requirement.specifier.contains(package.version):
                continue
            tags = parse_wheel_filename(package.filename)[3]
            score = min((rank[t] for t in tags if t in rank), default=None)
            if score is not None and (best is None or score < best[0]):
                best = (score, package)
        if best is None:
            raise SystemExit(f"{requirement}: no wheel for this interpreter on {INDEX}")
        target = into / best[1].filename
        client.download_package(best[1], target, verify=True, timeout=300)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", type=Path, default=LIST)
    parser.add_argument("--results", type=Path, default=REPO / "bench/results/top_wheels.json")
    args = parser.parse_args()
    lines = args.list.read_text(encoding="utf-8").splitlines()
    requirements = [
        Requirement(ln.split("#")[0].strip()) for ln in lines if ln.split("#")[0].strip()
    ]
    work = Path(tempfile.mkdtemp(prefix="wheelyard-top-wheels-"))
    rows: list[dict[str, Any]] = []
    for requirement in requirements:
        folder = work / requirement.name
        folder.mkdir()
        wheel = download(requirement, folder)
        report_path = folder / "report.json"
        start = time.monotonic()
        status = subprocess.run(
            [sys.executable, "-m", "wheelyard", "verify", str(wheel), "--json", str(report_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.monotonic() - start
        report = json.loads(report_path.read_text()) if report_path.is_file() else {}
        notes = [
            note
            for w in report.get("wheels", [])
            for check in w.get("checks", [])
            for note in check.get("notes", [])
            if note.startswith("warning:")
        ]
        failures = [
            f"{check['check']}: {check['message']}"
            for w in report.get("wheels", [])
            for check in w.get("checks", [])
            if check.get("outcome") == "fail"
        ]
        row = {
            "requirement": str(requirement),
            "wheel": wheel.name,
            "exit": status.returncode,
            "passed": status.returncode == 0,
            "warnings": notes,
            "failures": failures,
            "seconds": round(seconds, 1),
        }
        rows.append(row)
        state = "passed" if row["passed"] else "FAILED"
        print(
            f"{requirement!s:32} {state:6} {len(notes):2} warnings {seconds:5.1f} s "
            + ("; ".join(failures) or (status.stderr.strip().splitlines() or [""])[-1])[:150],
            flush=True,
        )
    passed = sum(r["passed"] for r in rows)
    print(f"\n{passed} of {len(rows)} wheels passed the gate")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print(f"results: {args.results}")


if __name__ == "__main__":
    main()
