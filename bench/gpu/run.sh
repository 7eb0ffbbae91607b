#!/usr/bin/env bash
# Issue 6's table in one command, on a machine with a Vulkan GPU, CUDA and
# PyTorch: vitrail's Vulkan backend (vt-bench-gpu) and PyTorch eager
# (torch_bench.py) on the same shapes, then table.py pairs them.
#   bash bench/gpu/run.sh [--quick] [path/to/vt-bench-gpu]
# Writes table.txt (also printed), vt_gpu.txt, torch_gpu.txt, tiles.txt and errors.txt to
# $OUT (default /tmp/vt-gpu). About 3 minutes on an H100; every step is
# time-boxed so that the whole stays under 9 minutes (a device call's limit is
# 10). vitrail runs one section at a time; a section that fails quickly (not by
# its time-out) is run again with the cooperative-matrix path off
# (VITRAIL_VK_COOP=0), and the table says so.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
quick=
if [ "${1:-}" = --quick ]; then quick=--quick; shift; fi
bin=${1:-$here/../../build/bench/vt-bench-gpu}
out=${OUT:-/tmp/vt-gpu}
budget=${VT_GPU_BUDGET:-520}   # seconds for everything
work=$(mktemp -d /tmp/vt-gpu-work.XXXXXX)
mkdir -p "$out"
: > "$out/vt_gpu.txt"
: > "$work/errors.txt"
note=""
SECONDS=0

# seconds a step may take: its own cap, within what is left of the budget
# after `reserve` seconds kept for the steps after it
limit() {
  local cap=$1 reserve=$2 left=$((budget - SECONDS - $2))
  [ $left -lt 10 ] && left=10
  [ $cap -lt $left ] && echo $cap || echo $left
}

vitrail() {  # section cap reserve
  local section=$1 t rc
  t=$(limit "$2" "$3")
  timeout "$t" "$bin" $quick "$section" > "$work/$section.txt" 2> "$work/$section.err"
  rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $((budget - SECONDS - $3)) -gt 30 ]; then
    echo "vt-bench-gpu $section failed (rc $rc): $(tail -n 2 "$work/$section.err" | tr '\n' ' ')" >&2
    note="$note vitrail's $section section failed (rc $rc: $(tail -n 1 "$work/$section.err")) and ran again with VITRAIL_VK_COOP=0;"
    { echo "== $section, first run (rc $rc)"; cat "$work/$section.err"; } >> "$work/errors.txt"
    t=$(limit "$2" "$3")
    VITRAIL_VK_COOP=0 timeout "$t" "$bin" $quick "$section" > "$work/$section.txt" 2> "$work/$section.err"
    rc=$?
    [ $rc -ne 0 ] && note="$note that failed too (rc $rc);"
  elif [ $rc -ne 0 ]; then
    note="$note vitrail's $section section failed (rc $rc$([ $rc -eq 124 ] && echo ', timed out'));"
  fi
  { echo "== $section (rc $rc, ${SECONDS}s into the run)"; cat "$work/$section.err"; } >> "$work/errors.txt"
  # the device and path notes once, every section's rows
  if [ -s "$out/vt_gpu.txt" ]; then grep -v '^# \(device\|f16 paths\|self-check\)' "$work/$section.txt" >> "$out/vt_gpu.txt"
  else cat "$work/$section.txt" >> "$out/vt_gpu.txt"; fi
}

vitrail matmul 60 420
vitrail attn 60 360
t=$(limit 200 180)
timeout "$t" python3 "$here/torch_bench.py" $quick > "$out/torch_gpu.txt" 2> "$work/torch.err"
rc=$?
{ echo "== torch_bench.py (rc $rc, ${SECONDS}s into the run)"; tail -n 20 "$work/torch.err"; } >> "$work/errors.txt"
[ $rc -ne 0 ] && note="$note torch_bench.py failed (rc $rc$([ $rc -eq 124 ] && echo ', timed out')): $(tail -n 1 "$work/torch.err");"
vitrail dit 120 60
vitrail ditxl 300 30
# every GEMM block variant forced in turn on the matmul shapes (VITRAIL_VK_TILE:
# 0 128x128, 1 64x64, 2 32x64, 3 128x128 half-depth, 4 128x64; the f16 rows are
# the cooperative-matrix variants 0-11 of vk_matmul.c's coop_tiles where that
# path is on, whose f32 rows from 5 on repeat the choice by shape), the
# measurements behind the backend's choice of block (core/vulkan/vk_matmul.c)
: > "$out/tiles.txt"
for t in 0 1 2 3 4 5 6 7 8 9 10 11; do
  [ $((budget - SECONDS)) -lt 15 ] && break
  echo "# VITRAIL_VK_TILE=$t" >> "$out/tiles.txt"
  VITRAIL_VK_TILE=$t timeout 30 "$bin" matmul 2>> "$work/errors.txt" | grep -v '^#' >> "$out/tiles.txt"
done
cp "$work/errors.txt" "$out/errors.txt"
rm -rf "$work"
python3 "$here/table.py" "$out/vt_gpu.txt" "$out/torch_gpu.txt" --note "$note" | tee "$out/table.txt"
cat "$out/tiles.txt"
echo "(${SECONDS}s)"
