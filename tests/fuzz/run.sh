#!/usr/bin/env bash
# Builds the safetensors/JSON fuzzer with clang's libFuzzer + ASan + UBSan and
# runs it for FUZZ_SECONDS (default 60) over a copy of the seed corpus. Exits
# non-zero on any crash, leak, sanitizer report or timeout, keeping the work
# folder (binary, log, crash input) for a reproduction.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/vt-fuzz-XXXXXX)
ok=0
trap '[ "$ok" = 1 ] && rm -rf "$work"' EXIT

# meson generates vt_config.h in its build folder; this build has none.
cat > "$work/vt_config.h" <<'H'
#define VT_VERSION_STRING "fuzz"
#define VT_HAVE_VULKAN 0
#define VT_HAVE_VIDEO 0
H
CLANG=${CLANG:-$(command -v clang || command -v clang-14)}
"$CLANG" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1 -std=c11 -D_GNU_SOURCE \
  -DVT_FUZZ -I"$work" -I"$root" -I"$root/include" -I"$root/core" \
  "$here/fuzz_safetensors.c" "$root/core/safetensors.c" "$root/core/json.c" "$root/core/tensor.c" \
  "$root/core/context.c" "$root/core/threadpool.c" -lpthread -lm -o "$work/fuzz_safetensors"

mkdir -p "$work/corpus"
cp "$here/corpus/"* "$work/corpus/"
secs=${FUZZ_SECONDS:-60}
echo "fuzz: running $secs s over $(ls "$here/corpus" | wc -l) seeds"
if ! "$work/fuzz_safetensors" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/corpus" 2>"$work/log"; then
  tail -40 "$work/log"
  echo "fuzz: FAILED; binary, log and crash input kept in $work"
  exit 1
fi
grep -E "stat::number_of_executed_units|Done" "$work/log" | tail -2
echo "fuzz: no crash in $secs s"
ok=1
