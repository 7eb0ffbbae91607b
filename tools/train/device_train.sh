#!/bin/bash
# One time-boxed training run on the GPU machine (docs/training.md): resumes from
# /tmp/vt/ckpt.pt when a previous run on the same (still warm) machine left one,
# or from the checkpoint carried in .devtrain/ckpt.pt, and writes the EMA weights
# and the log under $OUT/ema. Needs libvitrail_shapes.so in .devtrain/ (built on
# the Debian machine: ninja -C build shapes/libvitrail_shapes.so).
#   bash tools/train/device_train.sh SECONDS [train.py options]
set -euo pipefail
budget=${1:-500}; shift || true
export PYTHONUNBUFFERED=1 VT_SHAPES_LIB=$PWD/.devtrain/libvitrail_shapes.so
mkdir -p /tmp/vt "$OUT/ema"
if [ ! -f /tmp/vt/ckpt.pt ] && [ -f .devtrain/ckpt.pt ]; then cp .devtrain/ckpt.pt /tmp/vt/ckpt.pt; fi
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader
python3 tools/train/train.py --ckpt /tmp/vt/ckpt.pt --time-budget "$budget" --out "$OUT/ema" "$@" 2>&1 | tee "$OUT/ema/train.log"
