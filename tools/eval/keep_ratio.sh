#!/usr/bin/env bash
# keep_ratio.sh — how the token_prune keep ratio changes the edit and animate
# scores (issue 5): every held-out edit item and the first ANIMATE (default 10)
# animate items, seed 0 of the main run's seeds (tools/eval/run_eval.sh), at keep
# ratio 1, 0.5 (the presets' default) and 0.25; each scored GenEval-style, the
# edits also shape-blind (tools/eval/shape_blind.py).
#
#   tools/eval/keep_ratio.sh MODEL OUTDIR > keep-ratio.txt
#
# Generations go to OUTDIR/keep<K>/ and are kept, so a run can be resumed.
set -u -o pipefail
if [ $# -ne 2 ]; then
    echo "usage: $0 MODEL OUTDIR" >&2
    exit 2
fi
MODEL=$1
OUT=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PROMPTS=${PROMPTS:-$root/assets/eval/prompts.tsv}
ANIMATE=${ANIMATE:-10}
if [ -z "${VITRAIL:-}" ]; then
    if command -v vitrail > /dev/null; then VITRAIL=vitrail; else VITRAIL=$root/build/cli/vitrail; fi
fi
PY=${PYTHON:-python3}
mkdir -p "$OUT" || exit 1

# the items: their ids for run_eval.sh's ONLY, their lines for the scoring
grep -v '^#' "$PROMPTS" | awk -F'\t' '$3 == "edit"' > "$OUT/edit.tsv"
grep -v '^#' "$PROMPTS" | awk -F'\t' -v n="$ANIMATE" '$3 == "animate" && k++ < n' > "$OUT/animate.tsv"
ids=$(cut -f1 "$OUT/edit.tsv" "$OUT/animate.tsv" | paste -sd, -)

echo "# token_prune keep ratio on the edit and animate tasks ($(basename "$MODEL"), default sampler and steps, CPU)"
echo "# edit: all $(wc -l < "$OUT/edit.tsv") held-out edit items, seed 0 of the main run's seeds; animate: the first $ANIMATE animate items of prompts.tsv, 1 seed."
# the presets' own keep ratios, read from their files rather than restated here
preset_keep() { sed -n 's/^token_prune keep_ratio=\([^ ]*\).*/\1/p' "$root/assets/pipelines/$1.txt"; }
echo "# the presets' keep ratios: edit $(preset_keep edit), animate $(preset_keep img2vid). GenEval-style scores (every clause must hold):"
for keep in 1 0.5 0.25; do
    dir=$OUT/keep$keep
    ONLY=$ids VITRAIL="$VITRAIL" PROMPTS="$PROMPTS" VITRAIL_ARGS="--set token_prune.keep_ratio=$keep" \
        "$here/run_eval.sh" "$MODEL" "$dir" 1 > "$dir.log" 2>&1
    for task in edit animate; do
        line=$("$VITRAIL" shapes eval --prompts "$OUT/$task.tsv" --images "$dir" --seeds 1 | awk '$1 == "overall"')
        set -- $line
        printf '%-8s keep %-5s %3d items, %d passed, score %s\n' "$task" "$keep" "$2" "$3" "$4"
    done
done
echo
echo "# edits scored shape-blind (tools/eval/shape_blind.py): the instruction's colour or count change happened"
for keep in 1 0.5 0.25; do
    echo "## keep $keep"
    "$PY" "$here/shape_blind.py" "$OUT/edit.tsv" "$OUT/keep$keep" 1 | sed -n '/^edit kind/,/^$/p'
done
