/* cmd_shapes_eval.h — `vitrail shapes analyse` and `vitrail shapes eval`
 * (cmd_shapes_eval.c), called by the `shapes` command's dispatcher. */
#ifndef VT_CLI_SHAPES_EVAL_H
#define VT_CLI_SHAPES_EVAL_H

#include "vitrail.h"

/* argv[0] is the subcommand's name ("analyse", "eval"); both return the
 * program's exit code (0 ok, 1 runtime failure, 2 usage error) and print their
 * own messages. */
int cmd_shapes_analyse(vt_context *ctx, int argc, char **argv);
int cmd_shapes_eval(vt_context *ctx, int argc, char **argv);

#define CMD_SHAPES_ANALYSE_USAGE                                                                          \
    "usage: vitrail shapes analyse FILE [--features]\n\n"                                                 \
    "What the shapes analyser finds in an image (PNG, JPEG...) or a clip (MP4, GIF...):\n"               \
    "the background colour and every object's shape, colour, size, centroid, circumradius,\n"             \
    "area and orientation (docs/shapes-analyser.md). --features adds the measurements the\n"             \
    "shape was classified from.\n"

#define CMD_SHAPES_EVAL_USAGE                                                                             \
    "usage: vitrail shapes eval --prompts FILE --images DIR [--seeds N] [--json] [--why]\n"               \
    "       vitrail shapes eval --prompts FILE --truth [--seeds N] [--size S] [--write DIR] [--json] [--why]\n"         \
    "       vitrail shapes eval --make-prompts [--seed 2026] [--per-category 60] -o FILE\n\n"             \
    "Scores generated images and clips against the held-out prompts of FILE\n"                            \
    "(assets/eval/prompts.tsv; format in docs/shapes-analyser.md), GenEval-style: an\n"                  \
    "item passes only when every clause of its caption holds. Item ID of seed K is\n"                    \
    "DIR/ID_sK.png (images) or DIR/ID_sK.mp4 (clips; also .gif, or a PNG sequence\n"                     \
    "DIR/ID_sK_000.png, _001.png, ...); seeds 0..N-1 (default 1). A missing file\n"                       \
    "counts as a failure and is listed. Prints, per category, the items, the passed\n"                    \
    "ones and the score; overall is the mean of the category scores. --json prints\n"                    \
    "the same as one JSON object with the failures.\n"                                                   \
    "--why lists every failure with its first failing clause.\n\n"                                       \
    "--truth scores the world's own rendering of each item at S×S (default 64)\n"                        \
    "instead of files: the analyser's accuracy; --write DIR also saves those files\n"                    \
    "there, named as above. --make-prompts writes a prompts file drawn from the\n"                      \
    "held-out captions. tools/eval/run_eval.sh generates every item with a model\n"                      \
    "and scores it.\n"

#endif
