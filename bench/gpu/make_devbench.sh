#!/usr/bin/env bash
# Builds the package that runs bench/gpu on the lent GPU machine, which has
# gcc, python3 and PyTorch but no Debian packages (no Vulkan loader, headers or
# glslc): .devbench/vk16/ (gitignored) with
#   run.sh        the entry: unpacks the Vulkan loader from .gl/, picks the
#                 NVIDIA ICD, then runs gpu/run.sh (both sides, the table)
#   vt-bench-gpu  built here, shaders embedded; OpenBLAS and stb linked
#                 statically, so only what it uses comes along (no OpenBLAS
#                 code at all: the CPU backend is not reached); it needs
#                 libvulkan.so.1 (from .gl) and glibc >= 2.34
#   lib/          any other shared library ldd finds it needing (none today)
#   gpu/          copies of bench/gpu/run.sh, diag.sh, torch_bench.py, table.py
# On the device, from the root of a checkout holding .gl/ and .devbench/:
#   run(kind="nvidia-h200", carry=[".gl", ".devbench"], command="bash .devbench/vk16/run.sh")
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=build-dev
[ -d $build ] || meson setup $build -Dwerror=true -Dvulkan=enabled -Dvideo=disabled -Dtests=false
ninja -C $build bench/vt-bench-gpu
pkg=.devbench/vk16
rm -rf $pkg
mkdir -p $pkg/gpu $pkg/lib
blas=$(pkg-config --variable=libdir openblas)/libopenblas.a
stb=$(dirname "$(gcc -print-file-name=libstb.a)")/libstb.a
[ -f "$stb" ] || stb=/usr/lib/x86_64-linux-gnu/libstb.a
gcc -o $pkg/vt-bench-gpu $build/bench/vt-bench-gpu.p/gpu_bench_gpu.c.o $build/libvitrail_internal.a "$blas" "$stb" \
  -lvulkan -lm -lpthread -ldl
# whatever else it links to, beyond glibc and the loader .gl brings
ldd $pkg/vt-bench-gpu | awk '$3 ~ /^\// {print $3}' | while read -r lib; do
  case $(basename "$lib") in
    libc.so*|libm.so*|libpthread.so*|libdl.so*|ld-linux*|libvulkan.so*) ;;
    *) cp -L "$lib" $pkg/lib/ ;;
  esac
done
cp bench/gpu/run.sh bench/gpu/diag.sh bench/gpu/torch_bench.py bench/gpu/table.py $pkg/gpu/
cat > $pkg/run.sh <<'RUN'
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig; export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json;
# vitrail issue 6: Vulkan backend against PyTorch on this GPU (.devbench/VK16_README.txt).
# bash .devbench/vk16/run.sh [--quick]; the table goes to stdout and $OUT/table.txt.
set -u
pkg=.devbench/vk16
export LD_LIBRARY_PATH=$PWD/$pkg/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OUT=${OUT:-/tmp/vk16-out}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader 2>&1 | head -2
if ldd $pkg/vt-bench-gpu | grep -q "not found"; then ldd $pkg/vt-bench-gpu; echo "vt-bench-gpu: libraries missing"; fi
bash $pkg/gpu/run.sh ${1:-} $pkg/vt-bench-gpu
RUN
echo "built $pkg:"; ls -la $pkg $pkg/lib; du -sh $pkg
