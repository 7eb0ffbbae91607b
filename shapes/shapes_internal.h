/* Private to the shapes world: the geometry constants every part of it must
 * agree on (layout, clips, render, tests), a small seeded generator, and the
 * helpers that are not part of the public contract (include/vitrail_shapes.h). */
#ifndef VT_SHAPES_INTERNAL_H
#define VT_SHAPES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "vitrail_shapes.h"

/* Circumradius of each size, as a fraction of min(width, height). Chosen so a
 * small star is still a star at 64×64 (7.7 px) and three medium objects fit
 * with room to spare. */
#define VT_SHAPES_R_SMALL 0.12f
#define VT_SHAPES_R_MEDIUM 0.17f
#define VT_SHAPES_R_LARGE 0.23f

/* Empty space between the bounding discs of two objects: anti-aliased edges of
 * touching objects would merge into one connected component for an analyser. */
#define VT_SHAPES_GAP 0.04f
/* Space between an object's bounding disc and the frame's edge. */
#define VT_SHAPES_FRAME_MARGIN 0.02f
/* A centre "in" a grid cell keeps this far from the cell's borders, so that
 * the analyser's centroid (which is not the circumcentre for a heart or a
 * triangle) still lands in the same cell. */
#define VT_SHAPES_CELL_MARGIN 0.03f
/* Relations: "A left of B" means x_B - x_A >= VT_SHAPES_REL_MIN and
 * |y_B - y_A| <= VT_SHAPES_REL_SLOPE * (x_B - x_A) (the same for the other
 * directions), so no reader could take it for "above". */
#define VT_SHAPES_REL_MIN 0.2f
#define VT_SHAPES_REL_SLOPE 0.5f

/* Clips: a move travels this fraction of the image over the clip; growing ends
 * at VT_SHAPES_GROW times the first radius (shrinking at 1 / it). */
#define VT_SHAPES_MOVE_DIST 0.36f
#define VT_SHAPES_GROW 1.75f

/* Edits: the target scene of an instruction applied to a source scene. Move
 * and add place the object at random (deterministic in seed) where it overlaps
 * nothing. VT_E_INVALID when the instruction does not apply (no such object,
 * a colour equal to the background, no room). */
int vt_shapes_edit_apply(const vt_shapes_scene *src, const vt_shapes_spec *edit, uint64_t seed, vt_shapes_scene *out,
                         char *err, size_t errcap);

/* The category a caption's structure puts it in (docs/shapes.md states the
 * rule); the parser sets it, so the caption alone decides it. */
int vt_shapes_category_of(const vt_shapes_spec *s);

/* Formats a message into err (when given) and returns VT_E_INVALID: the one way
 * the world's functions refuse a caption or a spec. */
int vt_shapes_seterr(char *err, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Every field to "not stated": groups {0, -1, -1, -1, -1}, enums NONE, colours
 * and cells -1. Parsed and generated specs both start from this, so two specs
 * of one caption compare equal byte for byte. */
void vt_shapes_spec_clear(vt_shapes_spec *s);

/* Whether a spec can be written as a caption (instruction = 0) or an
 * instruction (1): 0, or VT_E_INVALID with the reason in err. Fields the form
 * does not use are ignored. */
int vt_shapes_spec_check(const vt_shapes_spec *s, int instruction, char *err, size_t errcap);

/* Circumradius of a vt_size. */
float vt_shapes_size_radius(int size);

/* The total angle a "rotating" shape turns over a clip: half its rotational
 * symmetry period, the largest change a viewer can see. 0 for shapes whose
 * rotation is invisible (circle, ring). */
float vt_shapes_rotation(int shape);

/* ---- a seeded generator (splitmix64): deterministic, no global state ---- */

typedef struct vt_shapes_rng {
    uint64_t s;
} vt_shapes_rng;

static inline uint64_t vt_shapes_mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A stream keyed by up to three numbers; different keys give unrelated streams. */
static inline vt_shapes_rng vt_shapes_rng_make(uint64_t a, uint64_t b, uint64_t c) {
    vt_shapes_rng r = {vt_shapes_mix(vt_shapes_mix(vt_shapes_mix(a) ^ b) ^ c)};
    return r;
}

static inline uint64_t vt_shapes_rng_next(vt_shapes_rng *r) {
    r->s += 0x9E3779B97F4A7C15ull;
    uint64_t z = r->s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in 0..n-1 (n >= 1; the modulo bias is below 2^-50). */
static inline int vt_shapes_rng_below(vt_shapes_rng *r, int n) { return (int)(vt_shapes_rng_next(r) % (uint64_t)n); }

/* Uniform in [0, 1), 24 bits. */
static inline float vt_shapes_rng_unit(vt_shapes_rng *r) {
    return (float)(vt_shapes_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

/* 1 with probability p. */
static inline int vt_shapes_rng_chance(vt_shapes_rng *r, float p) { return vt_shapes_rng_unit(r) < p; }

#endif
