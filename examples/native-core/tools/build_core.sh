#!/usr/bin/env bash
# Compile the Python-independent C++ core once into a static library:
#
#   $NATIVE_CORE_PREFIX/lib/libnativecore.a    (default prefix: build/native)
#
# wheelyard runs this as the recipe's `native-build` step, once per build job, before the
# per-Python builds; setup.py then links the library instead of compiling the core again.
#
# Honours CXX (default c++), CPPFLAGS and CXXFLAGS (appended after the defaults, so they win),
# NATIVE_CORE_JOBS (parallel compiles, default: all CPUs), and compiles through ccache when it is
# on PATH (CCACHE_DISABLE=1 turns it off).
set -euo pipefail

# Runs under bash 4.4 too (manylinux_2_28 images): EPOCHREALTIME needs bash 5, and possibly
# empty arrays are expanded as ${a[@]+"${a[@]}"} because of set -u.
now() { if [[ -n ${EPOCHREALTIME:-} ]]; then echo "$EPOCHREALTIME"; else date +%s.%N; fi; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

prefix=${NATIVE_CORE_PREFIX:-build/native}
case $prefix in /*) ;; *) prefix="$root/$prefix" ;; esac
objdir="$prefix/obj"
libdir="$prefix/lib"
jobs=${NATIVE_CORE_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}

read -ra compiler <<<"${CXX:-c++}"
if command -v ccache >/dev/null 2>&1 && [[ ${compiler[0]} != *ccache* ]]; then
    compiler=(ccache "${compiler[@]}")
fi
read -ra user_flags <<<"${CPPFLAGS:-} ${CXXFLAGS:-}"
# -fPIC: the archive is linked into a shared extension module. No -g and no absolute paths in
# the objects, so the library does not depend on where the tree was checked out.
flags=(-std=c++17 -O2 -fPIC -fvisibility=hidden -DNDEBUG -Icore/include)
flags+=(${user_flags[@]+"${user_flags[@]}"})

mapfile -t sources < <(cd core/src && printf '%s\n' *.cpp | LC_ALL=C sort)
rm -rf "$objdir" "$libdir"
mkdir -p "$objdir" "$libdir"

echo "native-core: ${compiler[*]} ${flags[*]}"
echo "native-core: ${#sources[@]} sources, $jobs parallel jobs -> $libdir/libnativecore.a"
start=$(now)
# sort_pairs.cpp (10 key x 6 value types) takes half the time: start it first so that parallel
# jobs finish together. The archive lists objects by name whatever the order.
printf '%s\n' sort_pairs.cpp "${sources[@]/sort_pairs.cpp/}" | grep . |
    xargs -P "$jobs" -I{} "${compiler[@]}" "${flags[@]}" -c "core/src/{}" -o "$objdir/{}.o"
objects=("${sources[@]/#/$objdir/}")
ar rcsD "$libdir/libnativecore.a" "${objects[@]/%/.o}"
awk -v s="$start" -v e="$(now)" 'BEGIN { printf "native-core: built in %.1f s\n", e - s }'
