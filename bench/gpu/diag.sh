#!/usr/bin/env bash
# The short GEMM diagnosis on the lent GPU machine (one device call of ~2-3
# minutes, where the whole table of run.sh takes ~8): the cooperative-matrix
# ceiling (vt-bench-gpu peak, every coop_peak mode), the matmul rows with the
# size rule (VT_BENCH_RETIME=1: the f16 product timed again after the
# read-backs), the f16 rows with each variant in $TILES forced
# (VITRAIL_VK_TILE), and PyTorch's matmul rows, all in the same call. Packaged
# by make_devbench.sh; on the device, from a checkout holding .gl/ and .devbench/:
#   run(carry=[".gl", ".devbench"], command='TILES="12 13 14" bash .devbench/vk16/gpu/diag.sh')
# Everything goes to stdout and $OUT/diag.txt.
set -u
pkg=$(cd "$(dirname "$0")/.." && pwd)
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export LD_LIBRARY_PATH=$pkg/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OUT=${OUT:-/tmp/vk16-out}
mkdir -p "$OUT"
b=$pkg/vt-bench-gpu
{
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
    echo "== peak"
    timeout 45 "$b" peak
    echo "== matmul, the size rule (retimed)"
    VT_BENCH_RETIME=1 timeout 50 "$b" matmul
    for t in ${TILES:-}; do
        echo "== variant $t"
        VITRAIL_VK_TILE=$t timeout 30 "$b" matmul | grep -i f16
    done
    echo "== torch"
    timeout 60 python3 "$pkg/gpu/torch_bench.py" 2> /dev/null | head -11
} 2>&1 | tee "$OUT/diag.txt"
