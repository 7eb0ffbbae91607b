#!/usr/bin/env bash
# Runs vitrail's Vulkan backend (vt-bench-gpu) and PyTorch CUDA (torch_bench.py)
# on the same GPU and shapes, and prints one table: vitrail ms, PyTorch ms, and
# vitrail's speed relative to PyTorch (PyTorch ms / vitrail ms; > 1 is faster).
#   bash bench/gpu/run.sh [path/to/vt-bench-gpu]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build/bench/vt-bench-gpu}
"$bin" > /tmp/vt-gpu.txt
python3 "$here/torch_bench.py" > /tmp/torch-gpu.txt
python3 - /tmp/vt-gpu.txt /tmp/torch-gpu.txt <<'PY'
import sys
vt = {l.split()[0]: l.split()[1:] for l in open(sys.argv[1]) if l.strip()}
pt = {l.split()[0]: l.split()[1:] for l in open(sys.argv[2]) if l.strip()}
names = list(dict.fromkeys(list(vt) + list(pt)))
print("%-32s %12s %12s %12s %12s %8s" % ("case", "vitrail ms", "GF/s", "pytorch ms", "GF/s", "vt/pt"))
for n in names:
    v, p = vt.get(n), pt.get(n)
    vm = "%.3f" % float(v[0]) if v else "n/a"
    pm = "%.3f" % float(p[0]) if p else "n/a"
    vg = v[1] if v else ""
    pg = p[1] if p else ""
    r = "%.2f" % (float(p[0]) / float(v[0])) if v and p else ""
    print("%-32s %12s %12s %12s %12s %8s" % (n, vm, vg, pm, pg, r))
for side in ("64x64", "128x128"):
    f, k7, k13 = vt.get("attn_full_f32_" + side), vt.get("attn_nbhd7_f32_" + side), vt.get("attn_nbhd13_f32_" + side)
    if f and k7:
        print("neighborhood 7x7 at %s: %.1fx faster than vitrail's full attention" % (side, float(f[0]) / float(k7[0])))
    if f and k13:
        print("neighborhood 13x13 at %s: %.1fx faster than vitrail's full attention" % (side, float(f[0]) / float(k13[0])))
PY
