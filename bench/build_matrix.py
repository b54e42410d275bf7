"""Benchmark: machine time to build examples/native-core for N Pythons x M variants, three ways.

    .venv/bin/python bench/build_matrix.py [--pythons cp310 cp311 cp312 cp313]
                                           [--variants cpu cu130] [--results FILE]

Measured side by side in one run, on this machine, with the same builder images:

  (a) fan-out      one fresh cibuildwheel job per Python x variant (today's CI matrix): every
                   job compiles the whole C++ core into its extension;
  (b) cibuildwheel one plain cibuildwheel job per variant over all Pythons: still compiles the
                   core once per Python (it is part of each Python's extension build);
  (c) wheelyard    `wheelyard build` per variant (consolidated job): the recipe's native-build
                   compiles the core once, each Python compiles and links only the binding;
  floor            the same work with no orchestration: in one container, the core compiled
                   once, then per Python the binding built alone (`pip wheel
                   --no-build-isolation`), `auditwheel repair`, and for cpu the smoke test in
                   a fresh venv, each step timed on its own. The compile-only floor (core +
                   bindings) is printed too.

Every way builds with one compiler process at a time (setuptools compiles an extension's
sources serially; NATIVE_CORE_JOBS=1 for the core), without a compiler cache, with the same
build frontend (build[uv]) and the same test command (the smoke test; GPU variants skip tests
in the build job in every way). A job runs on one machine, so its wall time is its
machine time. The results file holds the figures and ``{"parameters": {...}}`` that
`wheelyard plan --cost --timings FILE` reads.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "examples" / "native-core"
WHEELYARD = [sys.executable, "-m", "wheelyard"]
DATE = "2026-11-20"

sys.path.insert(0, str(REPO / "src"))
from wheelyard.builder.engine import detect_engine  # noqa: E402
from wheelyard.builder.image.ensure import ensure_image  # noqa: E402
from wheelyard.catalog import load_catalog  # noqa: E402
from wheelyard.config.vocab import Platform  # noqa: E402


def fresh_copy(dest: Path) -> Path:
    """The project without build outputs: every job starts from a clean checkout."""
    shutil.copytree(PROJECT, dest, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    return dest


def cibuildwheel_env(pythons: list[str], image: str, variant: str, engine: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIBW_", "WHEELYARD_"))}
    env.update(
        {
            "CIBW_BUILD": " ".join(f"{p}-manylinux_x86_64" for p in pythons),
            "CIBW_ARCHS": "x86_64",
            "CIBW_MANYLINUX_X86_64_IMAGE": image,
            "CIBW_CONTAINER_ENGINE": engine,
            "CIBW_BUILD_FRONTEND": "build[uv]",
            "CIBW_ENVIRONMENT": f"VARIANT={variant} BUILD_VERSION=0.1.0.dev{DATE.replace('-', '')}",
            "CIBW_LOG_FOLD_MODE": "disabled",
        }
    )
    if variant == "cpu":
        env["CIBW_TEST_COMMAND"] = "python {package}/tests/smoke_test.py"
    else:
        env["CIBW_TEST_SKIP"] = "*"
    return env


def timed(argv: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> float:
    start = time.monotonic()
    with log.open("w") as out:
        status = subprocess.run(
            argv, check=False, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    seconds = time.monotonic() - start
    if status.returncode != 0:
        sys.exit(f"failed ({status.returncode}): {shlex.join(argv)}; log: {log}")
    return seconds


def plain_cibuildwheel(
    pythons: list[str], variant: str, image: str, engine: str, work: Path, name: str
) -> float:
    project = fresh_copy(work / name / "project")
    argv = [sys.executable, "-m", "cibuildwheel", "--platform", "linux"]
    argv += ["--output-dir", str(work / name / "wheels"), "."]
    env = cibuildwheel_env(pythons, image, variant, engine)
    return timed(argv, cwd=project, env=env, log=work / name / "log.txt")


def wheelyard_build(pythons: list[str], variant: str, work: Path) -> tuple[float, dict[str, Any]]:
    project = fresh_copy(work / f"c-{variant}" / "project")
    out = work / f"c-{variant}" / "wheelhouse"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIBW_", "WHEELYARD_"))}
    env.update({"WHEELYARD_PYTHON": " ".join(pythons), "WHEELYARD_VARIANTS": variant})
    farm_recipe = work / f"c-{variant}" / "recipe.toml"
    farm_recipe.write_text('environment = { NATIVE_CORE_JOBS = "1" }\n')  # merged key by key
    argv = [*WHEELYARD, "build", str(project), "--output", str(out), "--date", DATE]
    argv += ["--no-compiler-cache", "--recipe", str(farm_recipe)]
    seconds = timed(argv, cwd=REPO, env=env, log=work / f"c-{variant}" / "log.txt")
    record = json.loads((out / "build-record.json").read_text())
    return seconds, record


FLOOR_SCRIPT = r"""
set -euo pipefail
now() { date +%s.%N; }
took() { awk "BEGIN {print $2 - $1}"; }
cp -r /bench-project /tmp/p && cd /tmp/p && rm -rf build
export VARIANT={variant} NATIVE_CORE_JOBS=1 NATIVE_CORE_PREFIX=build/native CCACHE_DISABLE=1
for py in {pythons}; do
  /opt/python/$py-$py/bin/python -m pip install -q --disable-pip-version-check setuptools >/dev/null
done
t0=$(now); bash tools/build_core.sh >/dev/null; t1=$(now)
echo "floor core build $(took $t0 $t1)"
for py in {pythons}; do
  t0=$(now)
  /opt/python/$py-$py/bin/python -m pip wheel -q --no-deps --no-build-isolation -w /tmp/w-$py . \
    >/dev/null 2>&1
  t1=$(now)
  auditwheel repair -w /tmp/r-$py /tmp/w-$py/*.whl >/dev/null 2>&1
  t2=$(now)
  echo "floor $py build $(took $t0 $t1)"
  echo "floor $py repair $(took $t1 $t2)"
  if [ {test} = 1 ]; then
    uv venv -q --python /opt/python/$py-$py/bin/python /tmp/v-$py
    uv pip install -q --python /tmp/v-$py/bin/python /tmp/r-$py/*.whl
    (cd / && /tmp/v-$py/bin/python /tmp/p/tests/smoke_test.py >/dev/null)
    t3=$(now)
    echo "floor $py test $(took $t2 $t3)"
  fi
done
"""


def floor(pythons: list[str], variant: str, image: str, work: Path) -> dict[str, dict[str, float]]:
    """Seconds per step, measured one by one in a single container: ``{"core": {"build": s},
    "cp312": {"build": s, "repair": s, "test": s}}`` (tests only where the build job tests)."""
    engine = detect_engine(None)
    project = fresh_copy(work / f"floor-{variant}" / "project")
    script = FLOOR_SCRIPT.replace("{variant}", variant).replace("{pythons}", " ".join(pythons))
    script = script.replace("{test}", "1" if variant == "cpu" else "0")
    argv = [engine.executable, "run", "--rm", *engine.create_args()]
    argv += [f"--volume={project}:/bench-project:ro", image, "bash", "-c", script]
    proc = subprocess.run(argv, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"floor measurement failed:\n{proc.stdout}\n{proc.stderr}")
    times: dict[str, dict[str, float]] = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "floor":
            times.setdefault(parts[1], {})[parts[2]] = float(parts[3])
    return times


def floors(measured: dict[str, dict[str, float]]) -> tuple[float, float]:
    """(compile floor: core once + each binding's build; same-work floor: plus the repair and
    the test every way also does per Python)."""
    compile_only = sum(steps["build"] for steps in measured.values())
    same_work = sum(sum(steps.values()) for steps in measured.values())
    return compile_only, same_work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pythons", nargs="+", default=["cp310", "cp311", "cp312", "cp313"])
    parser.add_argument("--variants", nargs="+", default=["cpu", "cu130"])
    parser.add_argument("--results", type=Path, default=REPO / "bench/results/build_matrix.json")
    args = parser.parse_args()

    catalog = load_catalog()
    engine = detect_engine(None)
    images = {}
    for variant in args.variants:
        result = ensure_image(variant, Platform.LINUX_X86_64, catalog=catalog, engine=engine)
        images[variant] = result.ref
    cibw_engine = engine.cibw_container_engine(extra_create_args=[])

    work = Path(tempfile.mkdtemp(prefix="wheelyard-bench-"))
    rows: dict[str, dict[str, Any]] = {}
    try:
        for variant in args.variants:
            image = images[variant]
            print(f"== {variant}: {len(args.pythons)} Pythons in {image}", flush=True)
            fan = {
                p: plain_cibuildwheel([p], variant, image, cibw_engine, work, f"a-{variant}-{p}")
                for p in args.pythons
            }
            print(f"  (a) fan-out      {sum(fan.values()):7.1f} s  {fan}", flush=True)
            one = plain_cibuildwheel(
                args.pythons, variant, image, cibw_engine, work, f"b-{variant}"
            )
            print(f"  (b) cibuildwheel {one:7.1f} s", flush=True)
            ours, record = wheelyard_build(args.pythons, variant, work)
            [job] = record["jobs"]
            print(f"  (c) wheelyard    {ours:7.1f} s", flush=True)
            measured = floor(args.pythons, variant, image, work)
            compile_floor, work_floor = floors(measured)
            print(
                f"      floor        {compile_floor:7.1f} s compile, {work_floor:.1f} s same work"
            )
            rows[variant] = {
                "fanout_s": sum(fan.values()),
                "fanout_jobs": fan,
                "cibuildwheel_s": one,
                "wheelyard_s": ours,
                "wheelyard_native_core_s": job["native_core"]["seconds"],
                "wheelyard_pythons": {p["python"]: p["seconds"] for p in job["pythons"]},
                "floor_compile_s": compile_floor,
                "floor_s": work_floor,
                "floor": measured,
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    a = sum(r["fanout_s"] for r in rows.values())
    b = sum(r["cibuildwheel_s"] for r in rows.values())
    c = sum(r["wheelyard_s"] for r in rows.values())
    f = sum(r["floor_s"] for r in rows.values())
    fc = sum(r["floor_compile_s"] for r in rows.values())
    core = statistics.mean(r["floor"]["core"]["build"] for r in rows.values())
    binding = statistics.mean(
        steps["build"] + steps["repair"]
        for r in rows.values()
        for k, steps in r["floor"].items()
        if k != "core"
    )
    smoke = [s["test"] for r in rows.values() for s in r["floor"].values() if "test" in s]
    summary = {
        "pythons": args.pythons,
        "variants": args.variants,
        "machine_seconds": {
            "fanout": a,
            "cibuildwheel": b,
            "wheelyard": c,
            "floor": f,
            "floor_compile_only": fc,
        },
        "ratios": {
            "c_over_a": c / a,
            "c_over_b": c / b,
            "c_over_floor": c / f,
            "c_over_compile_floor": c / fc,
        },
        "per_variant": rows,
        "parameters": {
            "native_core_s": round(core, 1),
            "binding_s": round(binding, 1),
            **({"smoke_test_s": round(statistics.mean(smoke), 1)} if smoke else {}),
            "source": "bench/build_matrix.py (floor measurements)",
        },
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(summary, indent=2) + "\n")
    n = len(args.pythons) * len(args.variants)
    print(
        f"\nnative-core, {len(args.pythons)} Pythons x {len(args.variants)} variants ({n} wheels)"
    )
    print("| way | machine-seconds | wheelyard / way |\n|---|---:|---:|")
    print(f"| (a) fan-out, one job per Python x variant | {a:.1f} | {c / a:.2f}x |")
    print(f"| (b) plain cibuildwheel, one job per variant | {b:.1f} | {c / b:.2f}x |")
    print(f"| (c) wheelyard, one job per variant | {c:.1f} | 1.00x |")
    print(f"| floor: core once + per Python build, repair, test | {f:.1f} | {c / f:.2f}x |")
    print(f"| compile floor: core once + bindings alone | {fc:.1f} | {c / fc:.2f}x |")
    print(f"results: {args.results}")


if __name__ == "__main__":
    main()
