"""A GPU builder image: the cpu image plus a CUDA toolkit assembled from NVIDIA's pip wheels
into one CUDA_HOME tree (``bin/nvcc``, ``include/``, ``lib64/libcudart_static.a``), checked by
compiling and linking a kernel, then committed as a new image.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wheelyard.builder.engine import ContainerEngine, ImageInfo
from wheelyard.builder.image.recipe import (
    TOOLS_PREFIX,
    ToolkitImageRecipe,
    env_changes,
    label_changes,
    toolkit_labels,
)
from wheelyard.builder.steps import StepTracker
from wheelyard.errors import ImageError, ProcessError

INSTALL_TIMEOUT = 1800.0
NO_NVCC_STATUS = 3
NVCC_RELEASE = re.compile(r"release (?P<release>\d+\.\d+), V(?P<version>\d+(?:\.\d+)+)")

_SCRIPT = r"""set -euo pipefail
cuda=@CUDA_HOME@
stage=$(mktemp -d)
uv pip install --quiet --no-cache --target "$stage" --python @TOOLS@/bin/python "$@"
mkdir -p "$cuda"
# cu13 wheels share nvidia/cu13/; cu12 wheels have one folder per component: merge them all.
for component in "$stage"/nvidia/*/; do
  cp -a "$component". "$cuda"/
done
rm -rf "$stage" /root/.cache
find "$cuda" -name __init__.py -delete
find "$cuda" -depth -type d -name __pycache__ -exec rm -rf {} +
if [ -d "$cuda/lib" ] && [ ! -e "$cuda/lib64" ]; then ln -s lib "$cuda/lib64"; fi
# The wheels ship runtime names only (libcudart.so.13); a toolkit also has the link-time name
# (libcudart.so) that `-lcudart` finds, as torch.utils.cpp_extension's CUDA builds link it.
shopt -s nullglob
for lib in "$cuda"/lib64/lib*.so.*; do
  dev="${lib%%.so.*}.so"
  [ -e "$dev" ] || ln -s "$(basename "$lib")" "$dev"
done
shopt -u nullglob
if [ ! -x "$cuda/bin/nvcc" ]; then
  echo "wheelyard-toolkit: no bin/nvcc; bin/ holds: $(ls "$cuda/bin" 2>/dev/null | tr '\n' ' ')"
  exit @NO_NVCC@
fi
"$cuda/bin/nvcc" --version
test -f "$cuda/lib64/libcudart_static.a"
test -e "$cuda/lib64/libcudart.so"
cat > /tmp/wheelyard-smoke.cu <<'SMOKE'
#include <cstdio>
__global__ void add_one(int *x) { x[threadIdx.x] += 1; }
int main() {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  std::printf("wheelyard-toolkit smoke: status %d, devices %d\n", (int)status, count);
  return 0;
}
SMOKE
"$cuda/bin/nvcc" -o /tmp/wheelyard-smoke /tmp/wheelyard-smoke.cu
/tmp/wheelyard-smoke || true
rm -f /tmp/wheelyard-smoke /tmp/wheelyard-smoke.cu
echo "wheelyard-toolkit: $(du -sh "$cuda" | cut -f1) in $cuda"
"""


def install_script(recipe: ToolkitImageRecipe) -> str:
    """The bash script run in a container of the cpu image (packages are its arguments)."""
    return (
        _SCRIPT.replace("@CUDA_HOME@", recipe.cuda_home)
        .replace("@TOOLS@", TOOLS_PREFIX)
        .replace("@NO_NVCC@", str(NO_NVCC_STATUS))
    )


def parse_nvcc_version(output: str) -> tuple[str, str] | None:
    """``nvcc --version`` -> ``("13.0", "13.0.88")`` (release, full version)."""
    match = NVCC_RELEASE.search(output)
    return (match["release"], match["version"]) if match else None


@dataclass(frozen=True, kw_only=True)
class ToolkitBuild:
    info: ImageInfo
    nvcc: str


def build_toolkit_image(
    recipe: ToolkitImageRecipe,
    *,
    engine: ContainerEngine,
    base_image: str,
    target_ref: str,
    gcc: str,
    container: str,
    container_labels: Mapping[str, str],
    steps: StepTracker,
    log_path: Path,
) -> ToolkitBuild:
    """Install the toolkit in a container of ``base_image`` and commit it as ``target_ref``.

    The container is removed whatever happens (failure, timeout, Ctrl-C).
    """
    try:
        with steps.step(f"install the {recipe.variant} toolkit wheels (container)"):
            try:
                result = engine.run_container(
                    base_image,
                    ["bash", "-c", install_script(recipe), "wheelyard-toolkit", *recipe.packages],
                    name=container,
                    labels=container_labels,
                    timeout=INSTALL_TIMEOUT,
                    log_path=log_path,
                )
            except ProcessError as exc:
                if exc.returncode == NO_NVCC_STATUS:
                    raise ImageError(
                        f"the toolkit packages of {recipe.variant} installed no nvcc "
                        f"({', '.join(recipe.packages)})",
                        hint="NVIDIA's CUDA 12 wheels on PyPI carry ptxas and libnvvm but not "
                        "nvcc, cicc or cudafe++ (CUDA 13 wheels carry the whole compiler): "
                        f"point the catalog's image for {recipe.variant} at an official CUDA "
                        "builder image, or build cu130",
                    ) from exc
                raise ImageError(
                    f"installing the {recipe.variant} toolkit failed: {exc.message}",
                    hint=f"the full log is {log_path}; PyPI must be reachable from containers",
                ) from exc
        found = parse_nvcc_version(result.output)
        if found is None:
            raise ImageError(f"`nvcc --version` in the {recipe.variant} image printed no version")
        release, version = found
        if release != recipe.toolkit:
            raise ImageError(
                f"the {recipe.variant} toolkit packages installed nvcc {version}, "
                f"but the catalog says CUDA {recipe.toolkit}",
                hint=f"fix toolkit-packages of {recipe.variant} in the catalog",
            )
        labels = toolkit_labels(recipe, nvcc=version, gcc=gcc)
        changes = [
            *env_changes(recipe.environment()),
            'CMD ["/bin/bash"]',
            *label_changes(labels),
        ]
        with steps.step(f"commit the {recipe.variant} image"):
            info = engine.commit_container(
                container, target_ref, changes=changes, log_path=log_path
            )
    finally:
        engine.remove_container(container)
    return ToolkitBuild(info=info, nvcc=version)
