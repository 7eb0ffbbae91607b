#!/usr/bin/env bash
# Issue 6's table in one command, on a machine with a Vulkan GPU, CUDA and
# PyTorch: vitrail's Vulkan backend (vt-bench-gpu) and PyTorch eager
# (torch_bench.py) on the same shapes, then table.py pairs them.
#   bash bench/gpu/run.sh [--quick] [path/to/vt-bench-gpu]
# Writes table.txt (also printed), vt_gpu.txt, torch_gpu.txt and errors.txt to
# $OUT (default /tmp/vt-gpu). vitrail runs one section at a time (matmul, attn,
# dit); a section that fails is run again with the cooperative-matrix path off
# (VITRAIL_VK_COOP=0), and the table says so. About 3 minutes on an H100.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
quick=
if [ "${1:-}" = --quick ]; then quick=--quick; shift; fi
bin=${1:-$here/../../build/bench/vt-bench-gpu}
out=${OUT:-/tmp/vt-gpu}
work=$(mktemp -d /tmp/vt-gpu-work.XXXXXX)
mkdir -p "$out"
: > "$out/vt_gpu.txt"
note=""
for section in matmul attn dit; do
  limit=90
  [ "$section" = dit ] && limit=200
  timeout $limit "$bin" $quick "$section" > "$work/$section.txt" 2> "$work/$section.err"
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "vt-bench-gpu $section failed (rc $rc): $(tail -n 2 "$work/$section.err" | tr '\n' ' ')" >&2
    note="$note vitrail's $section section failed (rc $rc: $(tail -n 1 "$work/$section.err")) and ran again with VITRAIL_VK_COOP=0;"
    { echo "== $section, first run (rc $rc)"; cat "$work/$section.err"; } >> "$work/errors.txt"
    VITRAIL_VK_COOP=0 timeout $limit "$bin" $quick "$section" > "$work/$section.txt" 2> "$work/$section.err"
    rc=$?
    [ $rc -ne 0 ] && note="$note that failed too (rc $rc);"
  fi
  { echo "== $section (rc $rc)"; cat "$work/$section.err"; } >> "$work/errors.txt"
  # the device and path notes once, every section's rows
  if [ -s "$out/vt_gpu.txt" ]; then grep -v '^# \(device\|f16 paths\|self-check\)' "$work/$section.txt" >> "$out/vt_gpu.txt"
  else cat "$work/$section.txt" >> "$out/vt_gpu.txt"; fi
done
timeout 240 python3 "$here/torch_bench.py" $quick > "$out/torch_gpu.txt" 2> "$work/torch.err"
rc=$?
{ echo "== torch_bench.py (rc $rc)"; tail -n 20 "$work/torch.err"; } >> "$work/errors.txt"
[ $rc -ne 0 ] && note="$note torch_bench.py failed (rc $rc): $(tail -n 1 "$work/torch.err");"
cp "$work/errors.txt" "$out/errors.txt"
rm -rf "$work"
python3 "$here/table.py" "$out/vt_gpu.txt" "$out/torch_gpu.txt" --note "$note" | tee "$out/table.txt"
