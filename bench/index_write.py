"""Benchmark the index writer and the static index it produces.

1. Regenerate the whole index (simple/ HTML + JSON, variants.json, whl/<channel>/<variant>/
   trees) from a published state of ~10,000 files, into a fresh directory and again with
   nothing changed (target: < 5 s for the fresh write).
2. Serve a static index of N projects with ``python -m http.server`` on loopback and let pip's
   resolver make N sequential project-page requests (``pip install --dry-run`` of N
   requirements; metadata comes from the PEP 658 ``.metadata`` files).

    .venv/bin/python bench/index_write.py [--files 10000] [--projects 1000] [--json]

Prints measured numbers; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wheelyard.config.vocab import Channel
from wheelyard.index.state import PublishedFile, PublishedState, load_state, save_state
from wheelyard.index.store import FileStore, sha256_bytes
from wheelyard.index.writer import render_index, write_index
from wheelyard.wheel.archive import write_wheel
from wheelyard.wheel.convert import WheelKind
from wheelyard.wheel.variant import variant_of
from wheelyard.wheel.variants_json import VariantMetadata

CUDA = {
    "cu126": ["nvidia :: cuda_version_lower_bound :: 12.6", "nvidia :: sm_arch :: 90_real"],
    "cu128": ["nvidia :: cuda_version_lower_bound :: 12.8", "nvidia :: sm_arch :: 90_real"],
}
NOW = "2026-11-20T03:00:00.000000Z"


def synthetic_state(files: int) -> PublishedState:
    """Releases of 2 Pythons x (null, cu126, cu128 variant wheels, a fallback, 3 legacy)."""
    variants = {"cpu": variant_of("cpu", [])} | {k: variant_of(k, v) for k, v in CUDA.items()}
    release = VariantMetadata(
        namespaces=("nvidia",), variants={v.label: v for v in variants.values()}
    )
    docs = {name: json.loads(release.only(v.label).render()) for name, v in variants.items()}
    entries: list[PublishedFile] = []
    project = 0
    while len(entries) < files:
        name = f"kernels-{project:04d}"
        dist = name.replace("-", "_")
        for day in range(1, 11):
            version = f"1.0.0.dev202611{day:02d}"
            for py in ("cp311", "cp312"):
                tag = f"{py}-{py}-manylinux_2_28_x86_64"
                for variant_name, variant in variants.items():
                    kinds = [(WheelKind.VARIANT, f"{dist}-{version}-{tag}-{variant.label}.whl")]
                    if variant_name == "cpu":
                        kinds.append((WheelKind.FALLBACK, f"{dist}-{version}-{tag}.whl"))
                    kinds.append((WheelKind.LEGACY, f"{dist}-{version}+{variant_name}-{tag}.whl"))
                    for kind, filename in kinds:
                        entries.append(
                            PublishedFile(
                                project=name,
                                filename=filename,
                                version=version
                                if kind is not WheelKind.LEGACY
                                else f"{version}+{variant_name}",
                                kind=kind,
                                channel=Channel.NIGHTLY,
                                variant=variant_name,
                                label=variant.label if kind is WheelKind.VARIANT else None,
                                sha256=sha256_bytes(filename.encode()),
                                size=1000,
                                metadata_sha256=sha256_bytes(name.encode()),
                                requires_python=">=3.10",
                                published_at=NOW,
                                variant_metadata=docs[variant_name]
                                if kind is WheelKind.VARIANT
                                else None,
                            )
                        )
        project += 1
    return PublishedState().with_files(tuple(entries[:files]))


def bench_writer(files: int) -> dict[str, float | int]:
    state = synthetic_state(files)
    with tempfile.TemporaryDirectory(prefix="wheelyard-bench-") as tmp:
        store = FileStore(Path(tmp))
        started = time.perf_counter()
        pages = render_index(state)
        rendered = time.perf_counter() - started
        started = time.perf_counter()
        written, result = write_index(store, state)
        save_state(store, written)
        fresh = time.perf_counter() - started
        started = time.perf_counter()
        again, second = write_index(store, load_state(store))
        unchanged = time.perf_counter() - started
    return {
        "files": len(state.files),
        "pages": len(pages),
        "render_s": round(rendered, 3),
        "fresh_write_s": round(fresh, 3),
        "pages_written": len(result.written),
        "unchanged_rewrite_s": round(unchanged, 3),
        "pages_rewritten_when_unchanged": len(second.written),
        "state_kib": round(len(json.dumps(again.to_json())) / 1024),
    }


def tiny_index(root: Path, projects: int) -> None:
    """N projects, one pure wheel each, published through the real writer."""
    store = FileStore(root)
    entries = []
    for index in range(projects):
        name = f"bench-pkg-{index:04d}"
        dist = name.replace("-", "_")
        version = "1.0.0"
        info = f"{dist}-{version}.dist-info"
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n".encode()
        filename = f"{dist}-{version}-py3-none-any.whl"
        path = write_wheel(
            root / "packages" / name / filename,
            [
                (f"{dist}/__init__.py", b""),
                (f"{info}/METADATA", metadata),
                (
                    f"{info}/WHEEL",
                    b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
                ),
            ],
            dist_info=info,
        )
        (root / "packages" / name / f"{filename}.metadata").write_bytes(metadata)
        entries.append(
            PublishedFile(
                project=name,
                filename=filename,
                version=version,
                kind=WheelKind.FALLBACK,
                channel=Channel.RELEASE,
                variant="cpu",
                label=None,
                sha256=sha256_bytes(path.read_bytes()),
                size=path.stat().st_size,
                metadata_sha256=sha256_bytes(metadata),
                requires_python=None,
                published_at=NOW,
            )
        )
    written, _ = write_index(store, PublishedState().with_files(tuple(entries)))
    save_state(store, written)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_pip(projects: int) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory(prefix="wheelyard-bench-pip-") as tmp:
        root = Path(tmp) / "index"
        started = time.perf_counter()
        tiny_index(root, projects)
        built = time.perf_counter() - started
        port = free_port()
        log = Path(tmp) / "http.log"
        with log.open("w") as sink:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "http.server",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--directory",
                    str(root),
                ],
                stdout=sink,
                stderr=sink,
                stdin=subprocess.DEVNULL,
            )
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            requirements = Path(tmp) / "requirements.txt"
            requirements.write_text("".join(f"bench-pkg-{i:04d}\n" for i in range(projects)))
            env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
            env["PIP_CONFIG_FILE"] = os.devnull
            started = time.perf_counter()
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--dry-run",
                    "--ignore-installed",
                    "--no-deps",
                    "--no-cache-dir",
                    "--disable-pip-version-check",
                    "--quiet",
                    "--report",
                    str(Path(tmp) / "report.json"),
                    "--index-url",
                    f"http://127.0.0.1:{port}/simple/",
                    "-r",
                    str(requirements),
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=1800,
                check=False,
            )
            resolved = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=10)
        if result.returncode != 0:
            raise SystemExit(f"pip failed:\n{result.stdout}\n{result.stderr}")
        report = json.loads((Path(tmp) / "report.json").read_text())
        lines = log.read_text().splitlines()
        pages = sum(1 for line in lines if '"GET /simple/bench-pkg-' in line and " 200 " in line)
        metadata = sum(1 for line in lines if ".metadata HTTP" in line and " 200 " in line)
        errors = sum(1 for line in lines if '" 404 ' in line or '" 500 ' in line)
    return {
        "projects": projects,
        "index_build_s": round(built, 2),
        "pip_resolve_s": round(resolved, 2),
        "project_page_requests": pages,
        "metadata_requests": metadata,
        "failed_requests": errors,
        "resolved": len(report["install"]),
        "ms_per_project": round(1000 * resolved / max(projects, 1), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--projects", type=int, default=1_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {
        "when": dt.datetime.now(tz=dt.UTC).isoformat(timespec="seconds"),
        "writer": bench_writer(args.files),
        "pip": bench_pip(args.projects),
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    w, p = results["writer"], results["pip"]
    lines = [
        f"index writer: {w['files']} files -> {w['pages']} pages",
        f"  render {w['render_s']} s; fresh write {w['fresh_write_s']} s "
        f"({w['pages_written']} pages; target < 5 s)",
        f"  regenerate, nothing changed: {w['unchanged_rewrite_s']} s "
        f"({w['pages_rewritten_when_unchanged']} pages rewritten); state {w['state_kib']} KiB",
        f"pip resolver over http.server: {p['projects']} projects in {p['pip_resolve_s']} s "
        f"({p['ms_per_project']} ms/project)",
        f"  {p['project_page_requests']} project-page requests, {p['metadata_requests']} "
        f".metadata requests, {p['failed_requests']} failed; {p['resolved']} resolved",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
