"""Benchmark: the real-world corpus built as it is, by wheelyard and by plain cibuildwheel.

    .venv/bin/python bench/realworld.py [--pythons cp310 cp311 cp312 cp313] [--only NAME ...]
                                        [--results bench/results/realworld.json]

For every package of tests/realworld/packages.txt (real PyPI sdists, none with a
[tool.wheelyard] table), side by side in one run, on the same builder image and Pythons:

  wheelyard     `wheelyard build NAME==VERSION` with the defaults (every Python from 3.10 the
                image has, narrowed by the package's requires-python): it fetches the sdist from the
                index itself (counted in its time), builds the package's own version, runs the
                verification gate (clean install + import of every module); where
                tests/realworld/recipes/NAME.toml exists it is passed as the farm recipe
                (system packages, a replaced before-all);
  cibuildwheel  plain cibuildwheel, pinned version, on the same sdist file: CIBW_BUILD = the same
                Pythons, the same image and container engine, nothing else set - what a user
                runs today.

Both build without a compiler cache. A package counts as built when the tool exits 0 with at
least one wheel. Printed per package: built or not, wheels, the platform tags, seconds; then the
totals and the ratio wheelyard / cibuildwheel.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import parse_wheel_filename

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "realworld" / "packages.txt"
RECIPES = REPO / "tests" / "realworld" / "recipes"
DEFAULT_PYTHONS = ["cp310", "cp311", "cp312", "cp313"]
"""What the image has of wheelyard's default (every Python from 3.10): wheelyard runs with its
defaults then, and plain cibuildwheel is given these."""

sys.path.insert(0, str(REPO / "src"))
from wheelyard.builder.engine import detect_engine  # noqa: E402
from wheelyard.builder.image.ensure import ensure_image  # noqa: E402
from wheelyard.catalog import load_catalog  # noqa: E402
from wheelyard.config.vocab import Platform  # noqa: E402
from wheelyard.source import DEFAULT_INDEX, fetch_sdist  # noqa: E402


@dataclass
class Outcome:
    built: bool
    seconds: float
    wheels: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def tags(self) -> str:
        found = sorted(
            {t.platform for w in self.wheels for t in parse_wheel_filename(w)[3]},
            key=lambda t: (len(t), t),
        )
        return found[0] if found else "-"


def corpus() -> list[Requirement]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [Requirement(ln.split("#")[0].strip()) for ln in lines if ln.split("#")[0].strip()]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("CIBW_", "WHEELYARD_"))}


def last_error(log: Path) -> str:
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    for line in reversed(lines):
        if line.startswith(("error:", "cibuildwheel: error", "ERROR", "linux-x86_64-cpu failed")):
            return line[:160]
    return lines[-1][:160] if lines else ""


def run(argv: list[str], env: dict[str, str], log: Path, out: Path, cwd: Path) -> Outcome:
    start = time.monotonic()
    with log.open("w") as handle:
        status = subprocess.run(
            argv, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, check=False
        )
    seconds = time.monotonic() - start
    wheels = sorted(p.name for p in out.rglob("*.whl")) if out.is_dir() else []
    built = status.returncode == 0 and bool(wheels)
    return Outcome(built, seconds, wheels, "" if built else last_error(log))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pythons", nargs="+", default=DEFAULT_PYTHONS)
    parser.add_argument("--only", nargs="+", default=None, help="Only these package names.")
    parser.add_argument("--results", type=Path, default=REPO / "bench/results/realworld.json")
    args = parser.parse_args()

    engine = detect_engine(None)
    image = ensure_image("cpu", Platform.LINUX_X86_64, catalog=load_catalog(), engine=engine).ref
    cibw_engine = engine.cibw_container_engine(extra_create_args=[])
    work = Path(tempfile.mkdtemp(prefix="wheelyard-realworld-"))
    print(f"corpus {CORPUS}, Pythons {' '.join(args.pythons)}, image {image}, work {work}")
    rows: dict[str, dict[str, Outcome]] = {}
    for requirement in corpus():
        name = requirement.name
        if args.only and name not in args.only:
            continue
        folder = work / name
        sdist = fetch_sdist(requirement, index_url=DEFAULT_INDEX, into=folder / "sdist")

        env = clean_env()
        if args.pythons != DEFAULT_PYTHONS:
            # A range, so that a package's requires-python narrows it as the default does.
            minors = sorted(int(p[3:]) for p in args.pythons)
            env["WHEELYARD_PYTHON"] = f">=3.{minors[0]},<3.{minors[-1] + 1}"
        argv = [sys.executable, "-m", "wheelyard", "build", str(requirement)]
        argv += ["--output", str(folder / "wheelyard"), "--no-compiler-cache"]
        recipe = RECIPES / f"{name}.toml"
        if recipe.is_file():
            argv += ["--recipe", str(recipe)]
        ours = run(argv, env, folder / "wheelyard.log", folder / "wheelyard", REPO)

        env = clean_env() | {
            "CIBW_BUILD": " ".join(f"{p}-manylinux_x86_64" for p in args.pythons),
            "CIBW_ARCHS": "x86_64",
            "CIBW_MANYLINUX_X86_64_IMAGE": image,
            "CIBW_CONTAINER_ENGINE": cibw_engine,
        }
        argv = [sys.executable, "-m", "cibuildwheel", "--platform", "linux"]
        argv += ["--output-dir", str(folder / "cibuildwheel"), str(sdist)]
        plain = run(argv, env, folder / "cibuildwheel.log", folder / "cibuildwheel", folder)

        rows[name] = {"wheelyard": ours, "cibuildwheel": plain}
        for tool, outcome in rows[name].items():
            state = "built" if outcome.built else "FAILED"
            print(
                f"{requirement!s:30} {tool:12} {state:6} {len(outcome.wheels)} wheels "
                f"{outcome.tags:24} {outcome.seconds:6.1f} s {outcome.note}",
                flush=True,
            )

    print()
    print("| package | wheelyard | wheels | tag | s | cibuildwheel | wheels | tag | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, pair in rows.items():
        ours, plain = pair["wheelyard"], pair["cibuildwheel"]
        print(
            f"| {name} | {'built' if ours.built else 'failed'} | {len(ours.wheels)} | "
            f"{ours.tags} | {ours.seconds:.1f} | {'built' if plain.built else 'failed'} | "
            f"{len(plain.wheels)} | {plain.tags} | {plain.seconds:.1f} |"
        )
    ours_total = sum(p["wheelyard"].seconds for p in rows.values())
    plain_total = sum(p["cibuildwheel"].seconds for p in rows.values())
    both = [p for p in rows.values() if p["wheelyard"].built and p["cibuildwheel"].built]
    ours_both = sum(p["wheelyard"].seconds for p in both)
    plain_both = sum(p["cibuildwheel"].seconds for p in both)
    built_ours = sum(p["wheelyard"].built for p in rows.values())
    built_plain = sum(p["cibuildwheel"].built for p in rows.values())
    print()
    print(
        f"built: wheelyard {built_ours} of {len(rows)}, cibuildwheel {built_plain} of {len(rows)}"
    )
    print(f"total time: wheelyard {ours_total:.1f} s, cibuildwheel {plain_total:.1f} s")
    if plain_total:
        print(f"ratio wheelyard / cibuildwheel: {ours_total / plain_total:.2f}x (all packages)")
    if plain_both:
        print(
            f"ratio on the {len(both)} packages both built: {ours_both / plain_both:.2f}x "
            "(wheelyard's time includes the sdist download and the verification gate)"
        )
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(
        json.dumps(
            {
                "pythons": args.pythons,
                "image": image,
                "packages": {
                    n: {tool: asdict(o) for tool, o in pair.items()} for n, pair in rows.items()
                },
                "totals": {"wheelyard": ours_total, "cibuildwheel": plain_total},
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"results: {args.results}")


if __name__ == "__main__":
    main()
