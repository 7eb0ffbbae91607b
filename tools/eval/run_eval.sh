#!/usr/bin/env bash
# run_eval.sh — the shapes-world evaluation of a model (docs/shapes-analyser.md):
# generates every held-out item of the prompts file with the vitrail CLI, then
# scores the outputs with `vitrail shapes eval`.
#
#   tools/eval/run_eval.sh MODEL OUTDIR [SEEDS]
#
# SEEDS (default 1) outputs per item, OUTDIR/<id>_s<k>.png (t2i, edit) or
# .mp4 (t2v, animate), k = 0..SEEDS-1. The generation seed of item n (0-based,
# in file order) is 1000*n + k, so that items repeating a caption (the pool of
# held-out single-object captions is small) still add new samples.
# Environment:
#   VITRAIL       the vitrail binary (default: `vitrail` on PATH, else build/cli/vitrail)
#   PROMPTS       the prompts file (default: assets/eval/prompts.tsv)
#   VITRAIL_ARGS  extra options for every generation (e.g. "--steps 20 --device vulkan")
#   FRAMES        clip length (default 8, the world's clips)
#   ONLY          comma-separated categories, tasks or item ids to generate (default:
#                 all); the generation seeds are those of the full run
# Outputs already present are kept (a run can be resumed, and a run with
# fewer seeds extended: only the missing seeds of an item are generated).
# Failed generations are listed in OUTDIR/errors.log; their files are missing
# and count as failures. The scores go to OUTDIR/scores.txt and OUTDIR/scores.json.
set -u -o pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 MODEL OUTDIR [SEEDS]" >&2
    exit 2
fi
MODEL=$1
OUT=$2
SEEDS=${3:-1}
case $SEEDS in '' | *[!0-9]* | 0) echo "$0: SEEDS must be a positive integer" >&2; exit 2 ;; esac
[ -f "$MODEL" ] || { echo "$0: no model file '$MODEL'" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PROMPTS=${PROMPTS:-$root/assets/eval/prompts.tsv}
FRAMES=${FRAMES:-8}
if [ -z "${VITRAIL:-}" ]; then
    if command -v vitrail > /dev/null; then VITRAIL=vitrail; else VITRAIL=$root/build/cli/vitrail; fi
fi
read -r -a extra <<< "${VITRAIL_ARGS:-}"
[ -f "$PROMPTS" ] || { echo "$0: no prompts file '$PROMPTS'" >&2; exit 1; }

mkdir -p "$OUT/sources" || exit 1
log=$OUT/errors.log
: > "$log"

# Runs one generation; on failure, logs the command and its message.
gen() {
    local msg
    if ! msg=$("$@" 2>&1 < /dev/null); then
        printf '%s\n  %s\n' "$*" "$msg" >> "$log"
        return 1
    fi
}

# -b N from seed k writes <id>_s<k>.ext, <id>_s<k>_1.ext, ...: renamed to
# <id>_s<k+1>.ext, ...
spread() {
    local base=$1 ext=$2 first=$3 j
    for ((j = 1; first + j < SEEDS; j++)); do
        [ -f "${base}_s${first}_$j.$ext" ] && mv -f "${base}_s${first}_$j.$ext" "${base}_s$((first + j)).$ext"
    done
}

n=-1
total=$(grep -cv '^#' "$PROMPTS")
while IFS=$'\t' read -r id category task text source; do
    case $id in '#'* | '') continue ;; esac
    n=$((n + 1))
    seed=$((1000 * n))
    # ONLY=a,b runs those categories, tasks or items alone (seeds stay those of the full run)
    if [ -n "${ONLY:-}" ] && [[ ",$ONLY," != *",$category,"* && ",$ONLY," != *",$task,"* && ",$ONLY," != *",$id,"* ]]; then
        continue
    fi
    base=$OUT/$id
    case $task in t2v | animate) ext=mp4 ;; *) ext=png ;; esac
    # the first seed without an output: a run with fewer seeds is extended,
    # not redone (output k is seed 1000*n + k whichever run made it)
    k=0
    while [ $k -lt "$SEEDS" ] && [ -f "${base}_s$k.$ext" ]; do k=$((k + 1)); done
    if [ $k -ge "$SEEDS" ]; then continue; fi
    printf '\r[%d/%d] %-14s %s' $((n + 1)) "$total" "$id" "$category" >&2
    common=(--model "$MODEL" -s $((seed + k)) -b $((SEEDS - k)) -q "${extra[@]}")
    out=${base}_s$k.$ext
    case $task in
    t2i)
        gen "$VITRAIL" generate -p "$text" -o "$out" "${common[@]}" ;;
    t2v)
        gen "$VITRAIL" generate -p "$text" --frames "$FRAMES" -o "$out" "${common[@]}" ;;
    edit | animate)
        src_caption=${source%|*}
        src_seed=${source##*|}
        src=$OUT/sources/$id.png
        # the edit's source, or the clip's first frame, as the world draws it
        if [ ! -f "$src" ]; then
            gen "$VITRAIL" shapes render "$src_caption" --seed "$src_seed" --frames 1 -o "$src" || continue
        fi
        if [ "$task" = edit ]; then
            gen "$VITRAIL" edit -i "$src" -p "$text" -o "$out" "${common[@]}"
        else
            gen "$VITRAIL" animate -i "$src" -p "$text" --frames "$FRAMES" -o "$out" "${common[@]}"
        fi ;;
    *)
        printf 'line for %s: unknown task %s\n' "$id" "$task" >> "$log"
        continue ;;
    esac
    spread "$base" "$ext" "$k"
done < "$PROMPTS"
echo >&2

[ -s "$log" ] && echo "$0: $(grep -c '^ ' "$log") generations failed (see $log)" >&2
"$VITRAIL" shapes eval --prompts "$PROMPTS" --images "$OUT" --seeds "$SEEDS" --json > "$OUT/scores.json" || exit 1
"$VITRAIL" shapes eval --prompts "$PROMPTS" --images "$OUT" --seeds "$SEEDS" --why | tee "$OUT/scores.txt"
