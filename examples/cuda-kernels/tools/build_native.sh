#!/usr/bin/env bash
# Compile the kernel library once per build job into a static library:
#
#   $CUDA_KERNELS_PREFIX/$VARIANT/lib/libcudakernels.a   (default prefix: build/native)
#   $CUDA_KERNELS_PREFIX/$VARIANT/build.env              what it was built for (setup.py reads it)
#
# wheelyard runs this as the recipe's `native-build` step; setup.py then links the library into
# each Python's extension (and runs this script itself when the library is missing or was built
# for something else).
#
# Backend: GPU_ARCH_TYPE (cpu|cuda) when set, else VARIANT (cpu, cuNNN), else cpu.
#   cpu:  the CPU implementation plus stubs; no nvcc needed.
#   cuda: the CPU fallback plus kernels compiled by $CUDA_HOME/bin/nvcc (else nvcc on PATH) with
#         one -gencode per TORCH_CUDA_ARCH_LIST entry ("8.6" -> arch=compute_86,code=sm_86,
#         "9.0a" -> sm_90a, "8.6+PTX" also embeds PTX) and PTX for the highest architecture.
# Also honours CXX, CXXFLAGS, NVCC_FLAGS, CUDAHOSTCXX (nvcc -ccbin) and uses ccache if on PATH.
set -euo pipefail

# Runs under bash 4.4 too (manylinux_2_28 images): EPOCHREALTIME needs bash 5, and possibly
# empty arrays are expanded as ${a[@]+"${a[@]}"} because of set -u.
now() { if [[ -n ${EPOCHREALTIME:-} ]]; then echo "$EPOCHREALTIME"; else date +%s.%N; fi; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

die() { echo "cuda-kernels: $*" >&2; exit 1; }

backend=${GPU_ARCH_TYPE:-}
if [[ -z $backend ]]; then
    case ${VARIANT:-cpu} in
        cpu) backend=cpu ;;
        cu[0-9]*) backend=cuda ;;
        *) die "VARIANT=${VARIANT} is neither cpu nor cuNNN; set GPU_ARCH_TYPE=cpu or cuda" ;;
    esac
fi
[[ $backend == cpu || $backend == cuda ]] ||
    die "GPU_ARCH_TYPE=$backend is not supported (this package has cpu and cuda backends only)"
variant=${VARIANT:-$backend}

prefix=${CUDA_KERNELS_PREFIX:-build/native}
case $prefix in /*) ;; *) prefix="$root/$prefix" ;; esac
out="$prefix/$variant"
rm -rf "$out"
mkdir -p "$out/obj" "$out/lib"

launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(ccache)
read -ra cxx <<<"${CXX:-c++}"
read -ra cxxflags <<<"${CXXFLAGS:-}"
common=(-O3 -fPIC -fvisibility=hidden -Icsrc/include)
start=$(now)

objects=("$out/obj/kernels_cpu.o")
compile_cxx() {  # compile_cxx SOURCE OBJECT
    ${launcher[@]+"${launcher[@]}"} "${cxx[@]}" -std=c++17 "${common[@]}" \
        ${cxxflags[@]+"${cxxflags[@]}"} -c "$1" -o "$2"
}
compile_cxx csrc/cpu/kernels_cpu.cpp "$out/obj/kernels_cpu.o"

arch_list=""
gencode=()
cuda_home=""
if [[ $backend == cpu ]]; then
    compile_cxx csrc/cpu/cuda_stub.cpp "$out/obj/cuda_stub.o"
    objects+=("$out/obj/cuda_stub.o")
else
    if [[ -n ${CUDA_HOME:-} ]]; then
        nvcc="$CUDA_HOME/bin/nvcc"
        [[ -x $nvcc ]] || die "CUDA_HOME=$CUDA_HOME has no bin/nvcc"
    else
        nvcc=$(command -v nvcc) ||
            die "no nvcc: set CUDA_HOME (the CUDA builder images use /usr/local/cuda)"
    fi
    # The toolkit root: CUDA_HOME, else the TOP nvcc reports (nvcc on PATH may be a wrapper).
    if [[ -n ${CUDA_HOME:-} ]]; then
        cuda_home=$CUDA_HOME
    else
        top=$("$nvcc" --dryrun -c -x cu /dev/null -o /dev/null 2>&1 | sed -n 's/^#\$ TOP=//p')
        cuda_home=$(cd "${top:-$(dirname "$nvcc")/..}" && pwd -P)
    fi

    arch_list=${TORCH_CUDA_ARCH_LIST:-7.5;8.0;8.6;9.0}
    highest="" highest_value=0
    declare -A ptx=()
    for entry in ${arch_list//[;,]/ }; do
        arch=${entry%+PTX}
        [[ $arch =~ ^([0-9]+)\.([0-9]+)([af]?)$ ]] ||
            die "TORCH_CUDA_ARCH_LIST entry '$entry' is not of the form 8.6, 9.0a or 8.6+PTX"
        sm="${BASH_REMATCH[1]}${BASH_REMATCH[2]}${BASH_REMATCH[3]}"
        gencode+=("-gencode=arch=compute_$sm,code=sm_$sm")
        [[ $entry == *+PTX ]] && ptx[$sm]=1
        value=$((10#${BASH_REMATCH[1]}${BASH_REMATCH[2]}))
        if ((value >= highest_value)); then highest=$value highest_value=$value; fi
    done
    [[ -n $highest ]] || die "TORCH_CUDA_ARCH_LIST is empty"
    # PTX for the newest architecture (without the arch-specific a/f suffix, whose PTX would not
    # run elsewhere) lets future GPUs JIT-compile the kernels.
    ptx[$highest]=1
    for sm in $(printf '%s\n' "${!ptx[@]}" | LC_ALL=C sort); do
        gencode+=("-gencode=arch=compute_$sm,code=compute_$sm")
    done

    host=()
    [[ -n ${CUDAHOSTCXX:-} ]] && host=(-ccbin "$CUDAHOSTCXX")
    read -ra nvcc_flags <<<"${NVCC_FLAGS:-}"
    echo "cuda-kernels: $nvcc ${gencode[*]}"
    nvcc_start=$(now)
    ${launcher[@]+"${launcher[@]}"} "$nvcc" ${host[@]+"${host[@]}"} -std=c++17 -O3 -Icsrc/include \
        -Xcompiler=-fPIC,-fvisibility=hidden -Wno-deprecated-gpu-targets "${gencode[@]}" \
        ${nvcc_flags[@]+"${nvcc_flags[@]}"} -c csrc/cuda/kernels.cu -o "$out/obj/kernels_cuda.o"
    awk -v s="$nvcc_start" -v e="$(now)" \
        'BEGIN { printf "cuda-kernels: nvcc took %.1f s\n", e - s }'
    # nvcc names the host object's FILE symbol after its temporary file (tmpxft_<pid>_...);
    # dropping it makes the object, and the wheels, the same from one build to the next.
    while read -r symbol; do
        objcopy --strip-symbol="$symbol" "$out/obj/kernels_cuda.o"
    done < <(readelf -sW "$out/obj/kernels_cuda.o" |
        awk '$4 == "FILE" && $8 ~ /^tmpxft_/ { print $8 }')
    objects+=("$out/obj/kernels_cuda.o")
fi

ar rcsD "$out/lib/libcudakernels.a" "${objects[@]}"
{
    echo "BACKEND=$backend"
    echo "VARIANT=$variant"
    echo "TORCH_CUDA_ARCH_LIST=$arch_list"
    echo "CUDA_HOME=$cuda_home"
    echo "GENCODE=${gencode[*]:-}"
} >"$out/build.env"
awk -v s="$start" -v e="$(now)" -v o="$out" \
    'BEGIN { printf "cuda-kernels: built %s/lib/libcudakernels.a in %.1f s\n", o, e - s }'
