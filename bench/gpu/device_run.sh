#!/usr/bin/env bash
# How the GPU table of docs/performance.md was measured on the lent GPU machine
# (no Debian packages there): the Vulkan loader from .gl/ (see the device README),
# OpenBLAS and stb from .devbench/debs/ (apt-get download libopenblas0-pthread
# libgfortran5 libquadmath0 libstb0), the bench binaries built here with
# -Dvideo=disabled copied into .devbench/; then vitrail Vulkan vs PyTorch CUDA.
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
mkdir -p /opt/vt; for f in .devbench/debs/*.deb; do dpkg -x "$f" /opt/vt; done
export LD_LIBRARY_PATH=/opt/vt/usr/lib/x86_64-linux-gnu/openblas-pthread:/opt/vt/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
nvidia-smi -L; nproc
mode=${1:-all}
if [ "$mode" = all ] || [ "$mode" = gpu ]; then
  timeout 300 .devbench/vt-bench-gpu > "$OUT/vt_gpu.txt" 2> "$OUT/vt_gpu.err"; echo "vt-bench-gpu rc=$?"
  timeout 200 python3 bench/gpu/torch_bench.py > "$OUT/torch_gpu.txt" 2> "$OUT/torch_gpu.err"; echo "torch rc=$?"
  
  python3 - "$OUT/vt_gpu.txt" "$OUT/torch_gpu.txt" <<'PY'
import sys
vt = {l.split()[0]: l.split()[1:] for l in open(sys.argv[1]) if len(l.split()) >= 3}
pt = {l.split()[0]: l.split()[1:] for l in open(sys.argv[2]) if len(l.split()) >= 3}
names = list(dict.fromkeys(list(vt) + list(pt)))
print("%-30s %11s %9s %11s %9s %7s" % ("case", "vitrail ms", "GF/s", "pytorch ms", "GF/s", "pt/vt"))
for n in names:
    v, p = vt.get(n), pt.get(n)
    print("%-30s %11s %9s %11s %9s %7s" % (n, v[0] if v else "n/a", v[1] if v else "", p[0] if p else "n/a", p[1] if p else "",
          "%.2f" % (float(p[0]) / float(v[0])) if v and p else ""))
PY
  tail -5 "$OUT/vt_gpu.err" "$OUT/torch_gpu.err"
fi
if [ "$mode" = all ] || [ "$mode" = cpu ]; then
  taskset -c 0,1 .devbench/vt-bench-ops --threads 2 > "$OUT/cpu_ops.txt" 2>&1
  taskset -c 0,1 .devbench/vt-bench-attention --threads 2 > "$OUT/cpu_attn.txt" 2>&1
  taskset -c 0,1 .devbench/vt-bench-dit --threads 2 --time 3 > "$OUT/cpu_dit.txt" 2>&1
  tail -3 "$OUT/cpu_ops.txt"; grep -E "throughput" "$OUT/cpu_dit.txt"
fi
