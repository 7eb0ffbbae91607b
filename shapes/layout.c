/* Geometry of the shapes world: a random scene satisfying a caption's spec,
 * the frames of a clip, and the target scene of an edit. Everything is in
 * fractions of the image (docs/shapes.md gives the constants), so a scene
 * renders the same at any size. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "shapes_internal.h"
#include "vitrail.h"

static unsigned bit(int c) { return c >= 0 ? 1u << c : 0u; }

static int pick_colour(vt_shapes_rng *r, unsigned mask) {
    int c;
    do c = vt_shapes_rng_below(r, VT_COLOUR_COUNT);
    while (mask >> c & 1);
    return c;
}

/* ---- motion ---- */

/* Object `o` a fraction s in [0, 1] through `motion`. The start and the rates
 * are all there is to a clip, so clips, layout and tests agree on it. */
static vt_shapes_object moved(const vt_shapes_object *o, int motion, int motion_colour, float s, int second_half) {
    vt_shapes_object m = *o;
    switch (motion) {
    case VT_MOTION_LEFT: m.x -= VT_SHAPES_MOVE_DIST * s; break;
    case VT_MOTION_RIGHT: m.x += VT_SHAPES_MOVE_DIST * s; break;
    case VT_MOTION_UP: m.y -= VT_SHAPES_MOVE_DIST * s; break;
    case VT_MOTION_DOWN: m.y += VT_SHAPES_MOVE_DIST * s; break;
    case VT_MOTION_GROW: m.r *= 1.0f + (VT_SHAPES_GROW - 1.0f) * s; break;
    case VT_MOTION_SHRINK: m.r *= 1.0f + (1.0f / VT_SHAPES_GROW - 1.0f) * s; break;
    case VT_MOTION_ROTATE: m.angle += vt_shapes_rotation(o->shape) * s; break;
    case VT_MOTION_RECOLOUR:
        /* a cut, not a blend: every frame shows a palette colour */
        if (second_half) m.colour = motion_colour;
        break;
    default: break;
    }
    return m;
}

int vt_shapes_clip_frame(const vt_shapes_scene *first, const vt_shapes_spec *spec, int t, int T, vt_shapes_scene *out) {
    if (!first || !spec || !out || T < 1 || t < 0 || t >= T || first->n < 0 || first->n > VT_SHAPES_MAX_OBJECTS)
        return VT_E_INVALID;
    if (spec->motion < 0 || spec->motion >= VT_MOTION_COUNT) return VT_E_INVALID;
    if (spec->motion != VT_MOTION_NONE && first->n < 1) return VT_E_INVALID;
    if (spec->motion == VT_MOTION_RECOLOUR && (spec->motion_colour < 0 || spec->motion_colour >= VT_COLOUR_COUNT))
        return VT_E_INVALID;
    *out = *first;
    if (spec->motion == VT_MOTION_NONE) return 0;
    float s = T > 1 ? (float)t / (float)(T - 1) : 0.0f;
    out->obj[0] = moved(&first->obj[0], spec->motion, spec->motion_colour, s, 2 * t >= T && T > 1);
    return 0;
}

/* ---- placement ---- */

/* Where the centre of an object of circumradius r may go: inside the frame
 * with a margin, and inside `cell` (-1 = anywhere) away from its borders. */
static int region(float r, int cell, float lo[2], float hi[2]) {
    for (int a = 0; a < 2; a++) {
        lo[a] = r + VT_SHAPES_FRAME_MARGIN;
        hi[a] = 1.0f - r - VT_SHAPES_FRAME_MARGIN;
        if (cell >= 0) {
            int k = a == 0 ? cell % 3 : cell / 3;
            lo[a] = fmaxf(lo[a], (float)k / 3.0f + VT_SHAPES_CELL_MARGIN);
            hi[a] = fminf(hi[a], (float)(k + 1) / 3.0f - VT_SHAPES_CELL_MARGIN);
        }
    }
    return lo[0] <= hi[0] && lo[1] <= hi[1];
}

static int discs_apart(float xa, float ya, float ra, float xb, float yb, float rb) {
    float dx = xa - xb, dy = ya - yb, d = ra + rb + VT_SHAPES_GAP;
    return dx * dx + dy * dy >= d * d;
}

/* Samples along a clip at which a moving object must stay clear of the others
 * (its disc moves by under a tenth of its radius between two). */
#define SWEEP_STEPS 32

/* Object a (which does `motion`, or VT_MOTION_NONE) never comes near b. */
static int apart(const vt_shapes_object *a, int motion, const vt_shapes_object *b) {
    if (motion == VT_MOTION_NONE || motion == VT_MOTION_ROTATE || motion == VT_MOTION_RECOLOUR)
        return discs_apart(a->x, a->y, a->r, b->x, b->y, b->r);
    for (int k = 0; k <= SWEEP_STEPS; k++) {
        vt_shapes_object m = moved(a, motion, 0, (float)k / SWEEP_STEPS, 0);
        if (!discs_apart(m.x, m.y, m.r, b->x, b->y, b->r)) return 0;
    }
    return 1;
}

/* "a REL b" for centres a and b, strictly enough that no other reading fits. */
static int related(int rel, const vt_shapes_object *a, const vt_shapes_object *b) {
    float dx = b->x - a->x, dy = b->y - a->y;
    switch (rel) {
    case VT_REL_LEFT_OF: return dx >= VT_SHAPES_REL_MIN && fabsf(dy) <= VT_SHAPES_REL_SLOPE * dx;
    case VT_REL_RIGHT_OF: return -dx >= VT_SHAPES_REL_MIN && fabsf(dy) <= VT_SHAPES_REL_SLOPE * -dx;
    case VT_REL_ABOVE: return dy >= VT_SHAPES_REL_MIN && fabsf(dx) <= VT_SHAPES_REL_SLOPE * dy;
    case VT_REL_BELOW: return -dy >= VT_SHAPES_REL_MIN && fabsf(dx) <= VT_SHAPES_REL_SLOPE * -dy;
    default: return 1;
    }
}

/* The centre region of object 0 of a clip: wherever the motion takes it stays
 * inside the frame (and a move starts far enough from the edge it goes to). */
static int motion_region(const vt_shapes_object *o, int motion, int cell, float lo[2], float hi[2]) {
    float r = motion == VT_MOTION_GROW ? o->r * VT_SHAPES_GROW : o->r;
    if (!region(r, -1, lo, hi)) return 0;
    if (cell >= 0) {
        float clo[2], chi[2];
        if (!region(o->r, cell, clo, chi)) return 0;
        for (int a = 0; a < 2; a++) lo[a] = fmaxf(lo[a], clo[a]), hi[a] = fminf(hi[a], chi[a]);
    }
    switch (motion) {
    case VT_MOTION_LEFT: lo[0] += VT_SHAPES_MOVE_DIST; break;
    case VT_MOTION_RIGHT: hi[0] -= VT_SHAPES_MOVE_DIST; break;
    case VT_MOTION_UP: lo[1] += VT_SHAPES_MOVE_DIST; break;
    case VT_MOTION_DOWN: hi[1] -= VT_SHAPES_MOVE_DIST; break;
    default: break;
    }
    return lo[0] <= hi[0] && lo[1] <= hi[1];
}

/* Draws a centre for scene->obj[k] in its region that keeps clear of objects
 * 0..k-1 (object 0 doing `motion`) and, for an object of group 1, holds the
 * relation to every object of group 0. 1 when found. */
static int place(vt_shapes_rng *r, vt_shapes_scene *sc, int k, const int *group, int cell, int motion, int relation) {
    float lo[2], hi[2];
    int ok = k == 0 && motion != VT_MOTION_NONE ? motion_region(&sc->obj[0], motion, cell, lo, hi)
                                                : region(sc->obj[k].r, cell, lo, hi);
    if (!ok) return 0;
    vt_shapes_object *o = &sc->obj[k];
    for (int attempt = 0; attempt < 400; attempt++) {
        o->x = lo[0] + (hi[0] - lo[0]) * vt_shapes_rng_unit(r);
        o->y = lo[1] + (hi[1] - lo[1]) * vt_shapes_rng_unit(r);
        int good = 1;
        for (int j = 0; j < k && good; j++) {
            good = j == 0 ? apart(&sc->obj[0], motion, o) : apart(o, VT_MOTION_NONE, &sc->obj[j]);
            if (good && relation && group && group[k] == 1 && group[j] == 0) good = related(relation, &sc->obj[j], o);
        }
        if (good) return 1;
    }
    return 0;
}

int vt_shapes_layout(const vt_shapes_spec *spec, uint64_t seed, vt_shapes_scene *out, char *err, size_t errcap) {
    if (err && errcap) err[0] = 0;
    if (!out) return vt_shapes_seterr(err, errcap, "no output scene");
    memset(out, 0, sizeof *out);
    if (spec && spec->edit != VT_EDIT_NONE)
        return vt_shapes_seterr(err, errcap, "an edit instruction has no scene of its own: lay out its source spec");
    int rc = vt_shapes_spec_check(spec, 0, err, errcap);
    if (rc) return rc;
    unsigned stated = 0;
    for (int i = 0; i < spec->n_groups; i++) stated |= bit(spec->group[i].colour);
    if (spec->motion == VT_MOTION_RECOLOUR) {
        if (spec->motion_colour == spec->group[0].colour)
            return vt_shapes_seterr(err, errcap, "the object turns %s, the colour it has", vt_shapes_colour_name(spec->motion_colour));
        stated |= bit(spec->motion_colour);
    }
    if (spec->background >= 0 && (stated >> spec->background & 1))
        return vt_shapes_seterr(err, errcap, "an object would be %s on a %s background", vt_shapes_colour_name(spec->background),
                      vt_shapes_colour_name(spec->background));
    int total = 0;
    for (int i = 0; i < spec->n_groups; i++) total += spec->group[i].count;

    vt_shapes_rng r = vt_shapes_rng_make(seed, 0x6c61796f7574ull /* "layout" */, 0);
    /* Restarts redraw the unstated sizes and colours too: the first objects'
     * places can leave no room for the last. Unstated sizes shrink as restarts
     * fail (stated cells can be too close for large objects), and three large
     * objects rarely fit, so they are never drawn unstated. */
    for (int restart = 0; restart < 64; restart++) {
        vt_shapes_scene *sc = out;
        memset(sc, 0, sizeof *sc);
        sc->background = spec->background >= 0 ? spec->background : pick_colour(&r, stated);
        int group[VT_SHAPES_MAX_OBJECTS], cell[VT_SHAPES_MAX_OBJECTS];
        for (int g = 0; g < spec->n_groups; g++) {
            const vt_shapes_group *gr = &spec->group[g];
            int colour = gr->colour;
            if (colour < 0) colour = pick_colour(&r, bit(sc->background) | bit(spec->motion_colour));
            for (int c = 0; c < gr->count; c++) {
                vt_shapes_object *o = &sc->obj[sc->n];
                int size = gr->size;
                if (size < 0) {
                    if (sc->n == 0 && spec->motion == VT_MOTION_GROW) size = vt_shapes_rng_below(&r, 2);
                    else if (sc->n == 0 && spec->motion == VT_MOTION_SHRINK) size = 1 + vt_shapes_rng_below(&r, 2);
                    else size = vt_shapes_rng_below(&r, restart >= 32 ? 1 : total >= 3 || restart >= 16 ? 2 : 3);
                }
                o->shape = gr->shape;
                o->colour = colour;
                o->size = size;
                o->r = vt_shapes_size_radius(size);
                o->angle = 0;
                group[sc->n] = g;
                cell[sc->n] = gr->cell;
                sc->n++;
            }
        }
        int k = 0;
        while (k < sc->n && place(&r, sc, k, group, cell[k], spec->motion, spec->relation)) k++;
        if (k == sc->n) return 0;
    }
    memset(out, 0, sizeof *out);
    return vt_shapes_seterr(err, errcap, "cannot fit the objects of this caption in the frame without overlaps");
}

/* ---- edits ---- */

static int find(const vt_shapes_scene *sc, const vt_shapes_group *g) {
    for (int i = 0; i < sc->n; i++)
        if (sc->obj[i].shape == g->shape && (g->colour < 0 || sc->obj[i].colour == g->colour)) return i;
    return -1;
}

int vt_shapes_edit_apply(const vt_shapes_scene *src, const vt_shapes_spec *edit, uint64_t seed, vt_shapes_scene *out,
                         char *err, size_t errcap) {
    if (err && errcap) err[0] = 0;
    if (!src || !out || src->n < 0 || src->n > VT_SHAPES_MAX_OBJECTS) return vt_shapes_seterr(err, errcap, "no source scene");
    int rc = vt_shapes_spec_check(edit, 1, err, errcap);
    if (rc) return rc;
    vt_shapes_scene sc = *src;
    vt_shapes_rng r = vt_shapes_rng_make(seed, 0x65646974ull /* "edit" */, 0);
    int k = -1;
    if (edit->edit == VT_EDIT_RECOLOUR || edit->edit == VT_EDIT_MOVE || edit->edit == VT_EDIT_REMOVE) {
        k = find(&sc, &edit->group[0]);
        if (k < 0) return vt_shapes_seterr(err, errcap, "the source has no %s", vt_shapes_shape_name(edit->group[0].shape));
    }
    switch (edit->edit) {
    case VT_EDIT_RECOLOUR:
        if (edit->edit_colour == sc.background)
            return vt_shapes_seterr(err, errcap, "a %s object would vanish into the background", vt_shapes_colour_name(edit->edit_colour));
        sc.obj[k].colour = edit->edit_colour;
        break;
    case VT_EDIT_MOVE: {
        /* the others are placed first so that `place` checks the moved one against all */
        vt_shapes_object moving = sc.obj[k];
        for (int i = k; i + 1 < sc.n; i++) sc.obj[i] = sc.obj[i + 1];
        sc.obj[sc.n - 1] = moving;
        if (!place(&r, &sc, sc.n - 1, NULL, edit->edit_cell, VT_MOTION_NONE, VT_REL_NONE))
            return vt_shapes_seterr(err, errcap, "no room for the %s in the %s", vt_shapes_shape_name(moving.shape),
                          vt_shapes_cell_name(edit->edit_cell));
        /* back in its drawing order */
        moving = sc.obj[sc.n - 1];
        for (int i = sc.n - 1; i > k; i--) sc.obj[i] = sc.obj[i - 1];
        sc.obj[k] = moving;
        break;
    }
    case VT_EDIT_REMOVE:
        for (int i = k; i + 1 < sc.n; i++) sc.obj[i] = sc.obj[i + 1];
        sc.n--;
        memset(&sc.obj[sc.n], 0, sizeof sc.obj[sc.n]);
        break;
    case VT_EDIT_ADD: {
        const vt_shapes_group *g = &edit->edit_group;
        if (sc.n + g->count > VT_SHAPES_MAX_OBJECTS) return vt_shapes_seterr(err, errcap, "no more than %d objects", VT_SHAPES_MAX_OBJECTS);
        if (g->colour >= 0 && g->colour == sc.background)
            return vt_shapes_seterr(err, errcap, "a %s object would vanish into the background", vt_shapes_colour_name(g->colour));
        int colour = g->colour >= 0 ? g->colour : pick_colour(&r, bit(sc.background));
        for (int c = 0; c < g->count; c++) {
            vt_shapes_object *o = &sc.obj[sc.n];
            memset(o, 0, sizeof *o);
            o->shape = g->shape;
            o->colour = colour;
            o->size = g->size >= 0 ? g->size : vt_shapes_rng_below(&r, 2);
            o->r = vt_shapes_size_radius(o->size);
            if (!place(&r, &sc, sc.n, NULL, g->cell, VT_MOTION_NONE, VT_REL_NONE))
                return vt_shapes_seterr(err, errcap, "no room to add the %s", vt_shapes_shape_name(g->shape));
            sc.n++;
        }
        break;
    }
    default:
        for (int i = 0; i < sc.n; i++)
            if (sc.obj[i].colour == edit->edit_colour)
                return vt_shapes_seterr(err, errcap, "the %s %s would vanish into the background", vt_shapes_colour_name(edit->edit_colour),
                              vt_shapes_shape_name(sc.obj[i].shape));
        sc.background = edit->edit_colour;
        break;
    }
    *out = sc;
    return 0;
}
