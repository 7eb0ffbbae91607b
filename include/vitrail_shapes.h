/* vitrail_shapes.h — the shapes world (docs/shapes.md): a caption grammar, a
 * deterministic anti-aliased renderer of scenes, clips and edit pairs, and an
 * analyser that recovers what an image or clip shows and checks it against a
 * caption. It is the only implementation of the world's rules: the trainer
 * (tools/train) draws its data through vt_shapes_example() in
 * libvitrail_shapes.so, which depends on libc and libm only.
 *
 * Nothing here allocates a handle, prints or exits; functions return 0 on
 * success and a negative vt_status (VT_E_INVALID for a caption that does not
 * parse, a size that is impossible) with a message in `err` when one is given. */
#ifndef VITRAIL_SHAPES_H
#define VITRAIL_SHAPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the world's vocabulary ---- */

typedef enum vt_shape {
    VT_SHAPE_CIRCLE, VT_SHAPE_SQUARE, VT_SHAPE_TRIANGLE, VT_SHAPE_STAR,
    VT_SHAPE_RING, VT_SHAPE_CROSS, VT_SHAPE_DIAMOND, VT_SHAPE_HEART,
    VT_SHAPE_COUNT
} vt_shape;

/* Palette colours; vt_shapes_palette() gives their sRGB values. */
typedef enum vt_colour {
    VT_COLOUR_RED, VT_COLOUR_ORANGE, VT_COLOUR_YELLOW, VT_COLOUR_GREEN,
    VT_COLOUR_CYAN, VT_COLOUR_BLUE, VT_COLOUR_PURPLE, VT_COLOUR_PINK,
    VT_COLOUR_BROWN, VT_COLOUR_WHITE, VT_COLOUR_GRAY, VT_COLOUR_BLACK,
    VT_COLOUR_COUNT
} vt_colour;

typedef enum vt_size { VT_SIZE_SMALL, VT_SIZE_MEDIUM, VT_SIZE_LARGE, VT_SIZE_COUNT } vt_size;

/* 3×3 grid cells, row-major from the top left: "top left", "top center",
 * "top right", "center left", "center", "center right", "bottom left",
 * "bottom center", "bottom right". */
enum { VT_SHAPES_CELLS = 9 };

typedef enum vt_relation {
    VT_REL_NONE, VT_REL_LEFT_OF, VT_REL_RIGHT_OF, VT_REL_ABOVE, VT_REL_BELOW
} vt_relation;

typedef enum vt_motion {
    VT_MOTION_NONE, VT_MOTION_LEFT, VT_MOTION_RIGHT, VT_MOTION_UP, VT_MOTION_DOWN,
    VT_MOTION_GROW, VT_MOTION_SHRINK, VT_MOTION_ROTATE, VT_MOTION_RECOLOUR,
    VT_MOTION_COUNT
} vt_motion;

typedef enum vt_edit {
    VT_EDIT_NONE, VT_EDIT_RECOLOUR, VT_EDIT_MOVE, VT_EDIT_ADD, VT_EDIT_REMOVE, VT_EDIT_BACKGROUND,
    VT_EDIT_COUNT
} vt_edit;

/* Evaluation categories (GenEval-style: an item passes only if every clause holds). */
typedef enum vt_shapes_category {
    VT_CAT_SINGLE,    /* one object: its shape (and colour/size when stated) */
    VT_CAT_TWO,       /* two different objects, both present */
    VT_CAT_COUNTING,  /* "two|three <colour> <shape>s": exactly that many */
    VT_CAT_COLOURS,   /* one object whose colour is the point (and the background when stated) */
    VT_CAT_POSITION,  /* a grid cell ("in the top left") or a relation ("left of") */
    VT_CAT_BINDING,   /* two objects with different colours: each colour on the right shape */
    VT_CAT_MOTION,    /* a clip: the object moves/grows/shrinks/rotates/changes colour */
    VT_CAT_EDIT,      /* image + instruction -> image */
    VT_CAT_COUNT
} vt_shapes_category;

const char *vt_shapes_shape_name(int shape);       /* "circle"; NULL when out of range */
const char *vt_shapes_colour_name(int colour);     /* "red" */
const char *vt_shapes_size_name(int size);         /* "small" */
const char *vt_shapes_cell_name(int cell);         /* "top left" */
const char *vt_shapes_motion_name(int motion);     /* "moving left", "growing", ... */
const char *vt_shapes_category_name(int category); /* "single", "two", "counting", "colours",
                                                      "position", "binding", "motion", "edit" */
/* sRGB of a palette colour, rgb[3]. */
void vt_shapes_palette(int colour, uint8_t rgb[3]);

/* ---- what a caption says ---- */

enum { VT_SHAPES_MAX_GROUPS = 2, VT_SHAPES_MAX_OBJECTS = 4 };

/* One noun phrase: "a large red circle in the top left", "three blue stars". */
typedef struct vt_shapes_group {
    int count;   /* 1..3 */
    int shape;   /* vt_shape */
    int colour;  /* vt_colour, -1 = not stated */
    int size;    /* vt_size, -1 = not stated */
    int cell;    /* 0..8, -1 = not stated */
} vt_shapes_group;

typedef struct vt_shapes_spec {
    int category;                              /* vt_shapes_category the caption belongs to */
    int n_groups;                              /* 1 or 2 */
    vt_shapes_group group[VT_SHAPES_MAX_GROUPS];
    int relation;                              /* vt_relation: group 0 REL group 1 */
    int background;                            /* vt_colour, -1 = not stated */
    /* clips: group 0 does `motion`; VT_MOTION_RECOLOUR ends in colour `motion_colour` */
    int motion, motion_colour;
    /* edits: the instruction, applied to group 0 of the source scene; `edit_colour`
     * (recolour, add, background), `edit_cell` (move), `edit_group` (add: what is added) */
    int edit, edit_colour, edit_cell;
    vt_shapes_group edit_group;
} vt_shapes_spec;

/* Caption -> spec. Accepts every caption vt_shapes_caption writes (case and
 * punctuation are ignored). For an edit the text is the instruction alone
 * ("make the circle blue"), parsed with `edit_instruction` = 1. */
int vt_shapes_parse(const char *text, int edit_instruction, vt_shapes_spec *out, char *err, size_t errcap);

/* Spec -> canonical caption (or instruction for edits, which the text
 * "source caption" does not include). Returns the length, or a negative status
 * when `cap` is too small. */
int vt_shapes_caption(const vt_shapes_spec *s, int edit_instruction, char *buf, size_t cap);

/* The train/held-out split (docs/shapes.md states the rule): 1 when the
 * canonical caption is held out for evaluation and never used in training. */
int vt_shapes_held_out(const char *canonical_caption);

/* ---- scenes ---- */

/* One drawn object. Geometry is in fractions of the image: the centre (x right,
 * y down, in [0, 1]) and the circumradius r as a fraction of min(width, height). */
typedef struct vt_shapes_object {
    int shape, colour, size;
    float x, y, r;
    float angle; /* radians, counter-clockwise; 0 = upright */
} vt_shapes_object;

typedef struct vt_shapes_scene {
    int background;                              /* vt_colour */
    int n;                                       /* 0..VT_SHAPES_MAX_OBJECTS */
    vt_shapes_object obj[VT_SHAPES_MAX_OBJECTS]; /* drawn in order */
} vt_shapes_scene;

/* A random scene satisfying `spec` (unstated attributes drawn at random, objects
 * never overlapping, always inside the frame). Deterministic in (spec, seed). */
int vt_shapes_layout(const vt_shapes_spec *spec, uint64_t seed, vt_shapes_scene *out, char *err, size_t errcap);

/* Renders a scene, anti-aliased, into rgb (height, width, 3). Any size ≥ 16. */
int vt_shapes_render(const vt_shapes_scene *scene, int width, int height, uint8_t *rgb);

/* Frame t of T of a clip in which object 0 of `first` does spec->motion
 * (frame 0 = `first`). */
int vt_shapes_clip_frame(const vt_shapes_scene *first, const vt_shapes_spec *spec, int t, int T, vt_shapes_scene *out);

/* ---- random examples: what the trainer draws ---- */

typedef enum vt_shapes_task {
    VT_TASK_T2I,     /* caption -> image */
    VT_TASK_T2V,     /* caption with a motion -> clip */
    VT_TASK_EDIT,    /* source image + instruction -> target image */
    VT_TASK_ANIMATE, /* first frame + caption with a motion -> clip */
    VT_TASK_COUNT
} vt_shapes_task;

/* A random spec of a category (held-out captions are skipped unless
 * `held_out` = 1, in which case only held-out ones are drawn). For
 * VT_CAT_EDIT, `source` receives the source scene's spec. */
int vt_shapes_random_spec(uint64_t seed, uint64_t index, int category, int held_out, vt_shapes_spec *out,
                          vt_shapes_spec *source);

/* Example `index` of stream `seed` for `task`, at size × size:
 *   target: (frames, size, size, 3) — the image (frames = 1) or the clip;
 *   source: (size, size, 3) — the edit's source image or the animation's first
 *           frame; untouched for T2I / T2V (may be NULL then);
 *   text:   the caption or the instruction, NUL-terminated.
 * T2I and EDIT write one frame whatever `frames` says. Deterministic; never
 * returns a held-out caption. Thread-safe (no global state). */
int vt_shapes_example(uint64_t seed, uint64_t index, int task, int size, int frames, uint8_t *target, uint8_t *source,
                      char *text, size_t textcap);
/* The same with T2I's categories drawn in proportion to t2i_mix[6] (single,
 * two, counting, colours, position, binding; non-negative, not all 0) instead
 * of evenly, so training can spend more of its images on the categories the
 * model finds hard. NULL: exactly vt_shapes_example. Other tasks ignore it. */
int vt_shapes_example_mix(uint64_t seed, uint64_t index, int task, const float *t2i_mix, int size, int frames,
                          uint8_t *target, uint8_t *source, char *text, size_t textcap);

/* ---- the analyser ---- */

typedef struct vt_shapes_found {
    int background;                               /* vt_colour */
    int n;                                        /* objects found (at most 16) */
    struct {
        int shape, colour, size;                  /* classified */
        float x, y, r;                            /* centroid (fractions), circumradius estimate */
        float area;                               /* pixels / (width·height) */
        float angle;                              /* orientation estimate, radians */
    } obj[16];
} vt_shapes_found;

/* Recovers the objects of one image (height, width, 3): palette
 * classification of every pixel, the background as the most common colour,
 * connected components, shape from geometric features, size, position. */
int vt_shapes_analyse(const uint8_t *rgb, int width, int height, vt_shapes_found *out);

/* Checks an image or clip against a spec: 1 = every clause holds, 0 = not.
 * frames: (T, height, width, 3), T = 1 for images. `source` is the edit's
 * source image (NULL otherwise). `why` (optional) gets the first failing
 * clause in words. */
int vt_shapes_check(const vt_shapes_spec *spec, const uint8_t *frames, int T, int width, int height,
                    const uint8_t *source, char *why, size_t whycap);

#ifdef __cplusplus
}
#endif
#endif
