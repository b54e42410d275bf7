"""Benchmark: per-Python build time against torch, with the shared torch cache and without it.

    .venv/bin/python bench/torch_cache.py [--variant cpu|cu130]
                                          [--pythons cp310 cp311 cp312 cp313] [--results FILE]

Builds examples/torch-extension (a torch C++ operator; the CUDA kernel too for cu130) with
`wheelyard build`, three ways, side by side in one run on this machine, the same builder image,
no compiler cache, no verification gate (the same in every way):

  (a) no shared cache  one job per Python, each with an empty torch cache: every Python
                       downloads torch and its dependencies (what a CI job per Python pays);
  (b) shared, cold     one job over all Pythons, the cache empty at its start: each file is
                       downloaded once and every later Python takes it from the cache;
  (c) shared, warm     the same job again (the next job of the variant): nothing downloaded.

Torch comes from the example's own `torch-index` (for cpu: PyTorch's CPU build for cp311 from a
local folder, PyPI's torch for the other Pythons; for cu130: PyPI's torch, the CUDA 13.0 build).
Printed per way: wall seconds, seconds per Python, seconds in the torch step, files and bytes
downloaded; the results file has them all.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "examples" / "torch-extension"
WHEELYARD = [sys.executable, "-m", "wheelyard"]


def build(pythons: list[str], variant: str, cache: Path, out: Path) -> dict[str, Any]:
    """One `wheelyard build` of the example for ``pythons``; its wall time and torch counters."""
    env = {
        **{k: v for k, v in __import__("os").environ.items() if not k.startswith("WHEELYARD_")},
        "WHEELYARD_PYTHON": " ".join(pythons),
    }
    started = time.monotonic()
    proc = subprocess.run(
        [
            *WHEELYARD,
            "build",
            str(PROJECT),
            "--variant",
            variant,
            "--output",
            str(out),
            "--torch-cache",
            str(cache),
            "--no-compiler-cache",
            "--no-verify",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"build of {pythons} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    record = json.loads((out / "build-record.json").read_text())
    [job] = record["jobs"]
    torch = job["torch"]
    return {
        "pythons": pythons,
        "wall_s": wall,
        "job_s": job["seconds"],
        "torch_s": torch["seconds"],
        "downloaded_files": torch["downloaded_files"],
        "downloaded_bytes": torch["downloaded_bytes"],
        "reused_files": torch["reused_files"],
        "torch": sorted({b["version"] for b in torch["builds"]}),
        "wheels": len(job["wheels"]),
    }


def summary(runs: list[dict[str, Any]], pythons: int) -> dict[str, Any]:
    return {
        "wall_s": sum(r["wall_s"] for r in runs),
        "per_python_s": sum(r["wall_s"] for r in runs) / pythons,
        "torch_s": sum(r["torch_s"] for r in runs),
        "downloaded_files": sum(r["downloaded_files"] for r in runs),
        "downloaded_bytes": sum(r["downloaded_bytes"] for r in runs),
        "runs": runs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="cpu")
    parser.add_argument("--pythons", nargs="+", default=["cp310", "cp311", "cp312", "cp313"])
    parser.add_argument("--results", type=Path, default=REPO / "bench/results/torch_cache.json")
    args = parser.parse_args()
    pythons: list[str] = args.pythons
    with tempfile.TemporaryDirectory(prefix="wheelyard-bench-torch-") as tmp:
        root = Path(tmp)
        per_python = []
        for python in pythons:
            cache = root / f"cache-{python}"
            per_python.append(build([python], args.variant, cache, root / f"out-{python}"))
            shutil.rmtree(cache)  # a CI job per Python starts with none
            print(f"(a) {python}: {per_python[-1]['wall_s']:.1f} s", flush=True)
        shared = root / "shared"
        cold = build(pythons, args.variant, shared, root / "out-cold")
        print(f"(b) cold: {cold['wall_s']:.1f} s", flush=True)
        warm = build(pythons, args.variant, shared, root / "out-warm")
        print(f"(c) warm: {warm['wall_s']:.1f} s", flush=True)
    ways = {
        "a_no_shared_cache": summary(per_python, len(pythons)),
        "b_shared_cold": summary([cold], len(pythons)),
        "c_shared_warm": summary([warm], len(pythons)),
    }
    base = ways["a_no_shared_cache"]["wall_s"]
    print(f"\nexamples/torch-extension, variant {args.variant}, {' '.join(pythons)}")
    print("| way | wall s | s per Python | torch step s | downloaded | ratio to (a) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, way in ways.items():
        print(
            f"| {name} | {way['wall_s']:.1f} | {way['per_python_s']:.1f} | "
            f"{way['torch_s']:.1f} | {way['downloaded_files']} files, "
            f"{way['downloaded_bytes'] / 1e9:.2f} GB | {way['wall_s'] / base:.2f}x |"
        )
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(
        json.dumps({"variant": args.variant, "pythons": pythons, "ways": ways}, indent=2) + "\n"
    )
    print(f"results: {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
