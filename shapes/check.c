/* check.c — does an image, clip or edit show what its caption says? Every
 * clause of the spec is checked on the analyser's findings (analyse.c); the
 * first one that fails is reported in words. GenEval's rule: an item passes
 * only when all of its clauses hold. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyse_internal.h"
#include "shapes_internal.h"

/* Relations: "A left of B" holds when B's centroid is at least this far to the
 * right (a fraction of the width) and farther right than it is up or down. */
#define REL_MIN 0.1f
/* Motions: the least travel (fraction of the image), growth (ratio of the
 * equivalent radii √area) and outline turn that count; the world's clips do
 * 0.36, 1.75× and half a symmetry period, a generator gets some slack. */
#define MOVE_MIN 0.15f
#define GROW_MIN 1.3f
#define TURN_MIN 0.04f
/* An object that should stay where it was (an edit's untouched objects, a
 * turning or recoloured object) moves less than this, and keeps its area within
 * this ratio. */
#define STAY_DIST 0.08f
#define STAY_AREA 1.6f

typedef struct why_buf {
    char *s;
    size_t cap;
} why_buf;

/* Writes the failing clause (the first one only) and returns 0, the verdict. */
static int fail(why_buf *w, const char *fmt, ...) {
    if (w->s && w->cap && !w->s[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->s, w->cap, fmt, ap);
        va_end(ap);
    }
    return 0;
}

static int cell_of(float x, float y) {
    int cx = (int)(x * 3), cy = (int)(y * 3);
    cx = cx < 0 ? 0 : cx > 2 ? 2 : cx;
    cy = cy < 0 ? 0 : cy > 2 ? 2 : cy;
    return cy * 3 + cx;
}

/* Positions as fractions of the image. */
static float bx(const vt_shapes_analysis *a, const vt_shapes_blob *b) { return b->cx / (float)a->width; }
static float by(const vt_shapes_analysis *a, const vt_shapes_blob *b) { return b->cy / (float)a->height; }
static int blob_cell(const vt_shapes_analysis *a, const vt_shapes_blob *b) { return cell_of(bx(a, b), by(a, b)); }

static const char *name_or(const char *s) { return s ? s : "?"; }

/* "a small red circle (center left)" */
static void describe(const vt_shapes_analysis *a, const vt_shapes_blob *b, char *buf, size_t cap) {
    const char *size = name_or(vt_shapes_size_name(b->size));
    snprintf(buf, cap, "%s %s %s %s (%s)", strchr("aeiou", size[0]) ? "an" : "a", size, name_or(vt_shapes_colour_name(b->colour)),
             name_or(vt_shapes_shape_name(b->shape)), name_or(vt_shapes_cell_name(blob_cell(a, b))));
}

/* Every object found, for a message: "a red circle (top left), a blue star (center)". */
static void describe_all(const vt_shapes_analysis *a, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = 0;
    if (a->n == 0) {
        snprintf(buf, cap, "nothing");
        return;
    }
    for (int k = 0; k < a->n && len + 1 < cap; k++) {
        char one[96];
        describe(a, &a->blob[k], one, sizeof one);
        int m = snprintf(buf + len, cap - len, "%s%s", k ? ", " : "", one);
        if (m < 0) break;
        len += (size_t)m;
    }
}

/* "two red stars", "an orange cross", in the world's own words. */
static void describe_group(const vt_shapes_group *g, char *buf, size_t cap) {
    vt_shapes_spec one;
    vt_shapes_spec_clear(&one);
    one.n_groups = 1;
    one.group[0] = *g;
    one.group[0].cell = -1; /* the messages say where it should be themselves */
    one.category = vt_shapes_category_of(&one);
    if (vt_shapes_caption(&one, 0, buf, cap) < 0) snprintf(buf, cap, "%d %s", g->count, name_or(vt_shapes_shape_name(g->shape)));
}

/* Levels of a group's clauses: the kind of object, then its size, then its cell. */
enum { MATCH_KIND = 1, MATCH_SIZE = 2, MATCH_CELL = 4, MATCH_ALL = 7 };

static int matches(const vt_shapes_analysis *a, const vt_shapes_blob *b, const vt_shapes_group *g, int what) {
    if ((what & MATCH_KIND) && (b->shape != g->shape || (g->colour >= 0 && b->colour != g->colour))) return 0;
    if ((what & MATCH_SIZE) && g->size >= 0 && b->size != g->size) return 0;
    if ((what & MATCH_CELL) && g->cell >= 0 && blob_cell(a, b) != g->cell) return 0;
    return 1;
}

/* Slots to fill: one per object the groups ask for. */
typedef struct slots {
    int n;
    const vt_shapes_group *g[8];
    int group[8];
} slots;

static void slots_make(slots *s, const vt_shapes_group *groups, int n_groups) {
    s->n = 0;
    for (int k = 0; k < n_groups; k++)
        for (int c = 0; c < groups[k].count && s->n < 8; c++) {
            s->g[s->n] = &groups[k];
            s->group[s->n++] = k;
        }
}

/* Is there an assignment of distinct blobs to the slots, each blob matching its
 * slot's group at level `what`? assign[slot] = blob. */
static int assign_rec(const vt_shapes_analysis *a, const slots *s, int what, int k, unsigned used, int *assign) {
    if (k == s->n) return 1;
    for (int b = 0; b < a->n; b++) {
        if (used & (1u << b) || !matches(a, &a->blob[b], s->g[k], what)) continue;
        assign[k] = b;
        if (assign_rec(a, s, what, k + 1, used | (1u << b), assign)) return 1;
    }
    return 0;
}

/* Mean centroid of group k's objects under an assignment. */
static void group_centre(const vt_shapes_analysis *a, const slots *s, const int *assign, int k, float *x, float *y) {
    float sx = 0, sy = 0;
    int n = 0;
    for (int j = 0; j < s->n; j++)
        if (s->group[j] == k) {
            sx += bx(a, &a->blob[assign[j]]);
            sy += by(a, &a->blob[assign[j]]);
            n++;
        }
    *x = n ? sx / (float)n : 0;
    *y = n ? sy / (float)n : 0;
}

static int relation_holds(int rel, float x0, float y0, float x1, float y1) {
    float dx = x1 - x0, dy = y1 - y0; /* from group 0 to group 1 */
    switch (rel) {
    case VT_REL_LEFT_OF: return dx >= REL_MIN && fabsf(dy) < dx;
    case VT_REL_RIGHT_OF: return -dx >= REL_MIN && fabsf(dy) < -dx;
    case VT_REL_ABOVE: return dy >= REL_MIN && fabsf(dx) < dy;
    case VT_REL_BELOW: return -dy >= REL_MIN && fabsf(dx) < -dy;
    default: return 1;
    }
}

static const char *relation_words(int rel) {
    switch (rel) {
    case VT_REL_LEFT_OF: return "left of";
    case VT_REL_RIGHT_OF: return "right of";
    case VT_REL_ABOVE: return "above";
    case VT_REL_BELOW: return "below";
    default: return "beside";
    }
}

/* The still clauses of a caption on one analysed image: each group present in
 * the number stated with its colour, size and cell, nothing else, the relation
 * and the background. assign (optional, ≥ 8) receives the objects of the slots. */
static int check_scene(const vt_shapes_spec *sp, const vt_shapes_analysis *a, why_buf *w, const char *frame, int *assign_out) {
    char found[512], want[96];
    slots s;
    slots_make(&s, sp->group, sp->n_groups);
    describe_all(a, found, sizeof found);
    int assign[8];
    for (int k = 0; k < sp->n_groups; k++) {
        const vt_shapes_group *g = &sp->group[k];
        int n = 0;
        for (int b = 0; b < a->n; b++) n += matches(a, &a->blob[b], g, MATCH_KIND);
        if (n != g->count) {
            describe_group(g, want, sizeof want);
            return fail(w, "%s%sexpected %s, found %d of them (saw: %s)", frame, frame[0] ? ": " : "", want, n, found);
        }
    }
    static const int levels[2] = {MATCH_KIND | MATCH_SIZE, MATCH_ALL};
    for (int li = 0; li < 2; li++) {
        int lvl = levels[li];
        if (assign_rec(a, &s, lvl, 0, 0, assign)) continue;
        /* name the first group that cannot have this clause */
        for (int k = 0; k < sp->n_groups; k++) {
            const vt_shapes_group *g = &sp->group[k];
            int n = 0;
            for (int b = 0; b < a->n; b++) n += matches(a, &a->blob[b], g, lvl);
            if (n < g->count) {
                describe_group(g, want, sizeof want);
                if (lvl & MATCH_CELL)
                    return fail(w, "%s%sexpected %s in the %s (saw: %s)", frame, frame[0] ? ": " : "", want,
                                name_or(vt_shapes_cell_name(g->cell)), found);
                return fail(w, "%s%sexpected %s: wrong size (saw: %s)", frame, frame[0] ? ": " : "", want, found);
            }
        }
        return fail(w, "%s%sthe objects cannot all be matched to the caption (saw: %s)", frame, frame[0] ? ": " : "",
                    found);
    }
    if (a->n_total != s.n)
        return fail(w, "%s%sexpected %d object%s, found %d (saw: %s)", frame, frame[0] ? ": " : "", s.n,
                    s.n == 1 ? "" : "s", a->n_total, found);
    if (sp->n_groups == 2 && sp->relation != VT_REL_NONE) {
        float x0, y0, x1, y1;
        group_centre(a, &s, assign, 0, &x0, &y0);
        group_centre(a, &s, assign, 1, &x1, &y1);
        if (!relation_holds(sp->relation, x0, y0, x1, y1)) {
            char g0[96], g1[96];
            describe_group(&sp->group[0], g0, sizeof g0);
            describe_group(&sp->group[1], g1, sizeof g1);
            return fail(w, "%s%s%s is not %s %s (at %.2f,%.2f vs %.2f,%.2f)", frame, frame[0] ? ": " : "", g0,
                        relation_words(sp->relation), g1, x0, y0, x1, y1);
        }
    }
    if (sp->background >= 0 && a->background != sp->background)
        return fail(w, "%s%sthe background is %s, not %s", frame, frame[0] ? ": " : "",
                    name_or(vt_shapes_colour_name(a->background)), name_or(vt_shapes_colour_name(sp->background)));
    if (assign_out) memcpy(assign_out, assign, sizeof assign);
    return 1;
}

/* The blob of `a` that is the same object as blob `o` of `ref`: the same shape,
 * in colour `want_colour` (-1: any), the nearest one not in `used`; -1 when
 * none. */
static int find_same(const vt_shapes_analysis *a, const vt_shapes_analysis *ref, const vt_shapes_blob *o, int want_colour,
                     unsigned used) {
    int best = -1;
    float bd = 1e30f;
    for (int b = 0; b < a->n; b++) {
        const vt_shapes_blob *c = &a->blob[b];
        if (used & (1u << b) || c->shape != o->shape || (want_colour >= 0 && c->colour != want_colour)) continue;
        float dx = bx(a, c) - bx(ref, o), dy = by(a, c) - by(ref, o);
        float d = dx * dx + dy * dy;
        if (d < bd) bd = d, best = b;
    }
    return best;
}

/* The equivalent radius √(area/π) as a fraction of min(width, height). */
static float eq_radius(const vt_shapes_analysis *a, const vt_shapes_blob *b) {
    return sqrtf(b->area / 3.14159265f) / (float)(a->width < a->height ? a->width : a->height);
}

/* Has object `o` of `ref` stayed put in `a` (blob `m`)? */
static int stayed(const vt_shapes_analysis *ref, const vt_shapes_blob *o, const vt_shapes_analysis *a, const vt_shapes_blob *m) {
    float dx = bx(a, m) - bx(ref, o), dy = by(a, m) - by(ref, o);
    float ratio = eq_radius(a, m) / eq_radius(ref, o);
    ratio *= ratio;
    return dx * dx + dy * dy <= STAY_DIST * STAY_DIST && ratio <= STAY_AREA && ratio >= 1 / STAY_AREA;
}

static int analyse_frame(const uint8_t *rgb, int w, int h, vt_shapes_analysis *a) {
    return vt_shapes_analyse_blobs(rgb, w, h, a);
}

/* ---- clips ---- */

static int check_motion(const vt_shapes_spec *sp, const uint8_t *frames, int T, int w, int h, why_buf *why,
                        vt_shapes_analysis *an) {
    if (T < 2) return fail(why, "a still image, not a clip");
    size_t fsz = (size_t)w * h * 3;
    int idx[3] = {0, T / 2, T - 1};
    for (int k = 0; k < 3; k++) {
        int rc = analyse_frame(frames + fsz * (size_t)idx[k], w, h, &an[k]);
        if (rc) return rc;
    }
    int assign[8];
    if (!check_scene(sp, &an[0], why, "first frame", assign)) return 0;
    const vt_shapes_blob *o = &an[0].blob[assign[0]];
    int end_colour = sp->motion == VT_MOTION_RECOLOUR ? sp->motion_colour : o->colour;
    const char *mname = name_or(vt_shapes_motion_name(sp->motion));
    char desc[96];
    describe(&an[0], o, desc, sizeof desc);
    /* the moving object in the middle and last frames, and nothing else changed */
    const vt_shapes_blob *m[3] = {o, NULL, NULL};
    for (int k = 1; k < 3; k++) {
        const char *fname = k == 1 ? "middle frame" : "last frame";
        int mid_colour = sp->motion == VT_MOTION_RECOLOUR && k == 1 ? -1 : end_colour;
        /* halfway through a recolouring any colour will do: a cut (the world's)
         * or a blend that the palette names otherwise */
        int b = find_same(&an[k], &an[0], o, mid_colour, 0);
        if (b < 0) {
            char found[512];
            describe_all(&an[k], found, sizeof found);
            return fail(why, "%s: %s (%s) is gone (saw: %s)", fname, desc, mname, found);
        }
        m[k] = &an[k].blob[b];
        if (an[k].n_total != an[0].n_total) {
            char found[512];
            describe_all(&an[k], found, sizeof found);
            return fail(why, "%s: %d objects instead of %d (saw: %s)", fname, an[k].n_total, an[0].n_total, found);
        }
        /* the other objects stay as they were */
        unsigned used = 1u << b;
        for (int j = 0; j < an[0].n; j++) {
            if (j == assign[0]) continue;
            const vt_shapes_blob *q = &an[0].blob[j];
            int c = find_same(&an[k], &an[0], q, q->colour, used);
            if (c < 0 || !stayed(&an[0], q, &an[k], &an[k].blob[c])) {
                char d2[96];
                describe(&an[0], q, d2, sizeof d2);
                return fail(why, "%s: %s should stay as it was", fname, d2);
            }
            used |= 1u << c;
        }
    }
    float x0 = bx(&an[0], o), y0 = by(&an[0], o);
    float dx[3], dy[3], g[3];
    for (int k = 0; k < 3; k++) {
        dx[k] = bx(&an[k], m[k]) - x0;
        dy[k] = by(&an[k], m[k]) - y0;
        g[k] = eq_radius(&an[k], m[k]) / eq_radius(&an[0], o);
    }
    switch (sp->motion) {
    case VT_MOTION_LEFT:
    case VT_MOTION_RIGHT:
    case VT_MOTION_UP:
    case VT_MOTION_DOWN: {
        int horiz = sp->motion == VT_MOTION_LEFT || sp->motion == VT_MOTION_RIGHT;
        float sign = sp->motion == VT_MOTION_RIGHT || sp->motion == VT_MOTION_DOWN ? 1.f : -1.f;
        float along = sign * (horiz ? dx[2] : dy[2]), across = horiz ? dy[2] : dx[2];
        float mid = sign * (horiz ? dx[1] : dy[1]);
        if (along < MOVE_MIN)
            return fail(why, "%s should be %s: it travelled %.2f that way (needs %.2f)", desc, mname, along, MOVE_MIN);
        if (fabsf(across) > 0.5f * along)
            return fail(why, "%s should be %s: it drifted %.2f across for %.2f along", desc, mname, fabsf(across), along);
        if (mid < 0.1f * along || mid > 1.1f * along)
            return fail(why, "%s should be %s steadily: the middle frame is at %.2f of the way", desc, mname,
                        along > 0 ? mid / along : 0);
        break;
    }
    case VT_MOTION_GROW:
    case VT_MOTION_SHRINK: {
        int grow = sp->motion == VT_MOTION_GROW;
        float f = grow ? g[2] : 1 / g[2], fm = grow ? g[1] : 1 / g[1];
        if (f < GROW_MIN)
            return fail(why, "%s should be %s: its size changed by %.2f× (needs %.2f×)", desc, mname, g[2],
                        grow ? GROW_MIN : 1 / GROW_MIN);
        if (fm < 0.95f || fm > f * 1.1f)
            return fail(why, "%s should be %s steadily: the middle frame's size is %.2f×", desc, mname, g[1]);
        break;
    }
    case VT_MOTION_ROTATE: {
        float un, tu, turn;
        vt_shapes_blob_turn(o, m[2], &un, &tu, &turn);
        if (!stayed(&an[0], o, &an[2], m[2])) return fail(why, "%s should turn in place, it moved or changed size", desc);
        if (un < TURN_MIN || tu > 0.6f * un)
            return fail(why, "%s should be %s: its outline changed by %.3f (turned best by %.0f°, leaving %.3f)", desc,
                        mname, un, turn * 57.2958f, tu);
        break;
    }
    case VT_MOTION_RECOLOUR:
        if (!stayed(&an[0], o, &an[2], m[2])) return fail(why, "%s should change colour in place, it moved", desc);
        if (o->colour == end_colour)
            return fail(why, "%s already has the colour it should change to", desc);
        break;
    default:
        break;
    }
    return 1;
}

/* ---- edits ---- */

static int check_edit(const vt_shapes_spec *sp, const uint8_t *target, int w, int h, const uint8_t *source, why_buf *why,
                      vt_shapes_analysis *an) {
    if (!source) return fail(why, "an edit needs its source image");
    int rc = analyse_frame(source, w, h, &an[0]);
    if (!rc) rc = analyse_frame(target, w, h, &an[1]);
    if (rc) return rc;
    const vt_shapes_analysis *S = &an[0], *T = &an[1];
    char found_s[512], found_t[512], want[96];
    describe_all(S, found_s, sizeof found_s);
    describe_all(T, found_t, sizeof found_t);
    /* the objects the instruction names, in the source */
    unsigned named = 0;
    int n_named = 0;
    if (sp->edit != VT_EDIT_BACKGROUND && sp->edit != VT_EDIT_ADD) {
        for (int b = 0; b < S->n; b++)
            if (matches(S, &S->blob[b], &sp->group[0], MATCH_ALL)) named |= 1u << b, n_named++;
        if (!n_named) {
            describe_group(&sp->group[0], want, sizeof want);
            return fail(why, "nothing in the source is %s, to edit (saw: %s)", want, found_s);
        }
    }
    /* the others stay as they were, in the target */
    unsigned used = 0;
    for (int b = 0; b < S->n; b++) {
        if (named & (1u << b)) continue;
        const vt_shapes_blob *q = &S->blob[b];
        int c = find_same(T, S, q, q->colour, used);
        if (c < 0 || !stayed(S, q, T, &T->blob[c])) {
            char d[96];
            describe(S, q, d, sizeof d);
            return fail(why, "%s should be left as it was (saw: %s)", d, found_t);
        }
        used |= 1u << c;
    }
    int expect_n = S->n_total;
    switch (sp->edit) {
    case VT_EDIT_RECOLOUR:
    case VT_EDIT_MOVE:
        for (int b = 0; b < S->n; b++) {
            if (!(named & (1u << b))) continue;
            const vt_shapes_blob *o = &S->blob[b];
            char d[96];
            describe(S, o, d, sizeof d);
            int colour = sp->edit == VT_EDIT_RECOLOUR ? sp->edit_colour : o->colour;
            int c = find_same(T, S, o, colour, used);
            if (c < 0)
                return fail(why, "%s should %s (saw: %s)", d,
                            sp->edit == VT_EDIT_RECOLOUR ? "change colour" : "move", found_t);
            const vt_shapes_blob *m = &T->blob[c];
            if (sp->edit == VT_EDIT_RECOLOUR) {
                if (!stayed(S, o, T, m)) return fail(why, "%s should change colour in place (saw: %s)", d, found_t);
            } else if (blob_cell(T, m) != sp->edit_cell) {
                return fail(why, "%s should move to the %s, it is in the %s", d, name_or(vt_shapes_cell_name(sp->edit_cell)),
                            name_or(vt_shapes_cell_name(blob_cell(T, m))));
            }
            used |= 1u << c;
        }
        break;
    case VT_EDIT_ADD: {
        slots s;
        slots_make(&s, &sp->edit_group, 1);
        int n = 0;
        for (int b = 0; b < T->n; b++)
            if (!(used & (1u << b)) && matches(T, &T->blob[b], &sp->edit_group, MATCH_ALL)) n++;
        if (n < s.n) {
            describe_group(&sp->edit_group, want, sizeof want);
            return fail(why, "%s should be added (saw: %s)", want, found_t);
        }
        expect_n += s.n;
        break;
    }
    case VT_EDIT_REMOVE:
        expect_n -= n_named;
        break;
    case VT_EDIT_BACKGROUND:
        if (T->background != sp->edit_colour)
            return fail(why, "the background should be %s, it is %s", name_or(vt_shapes_colour_name(sp->edit_colour)),
                        name_or(vt_shapes_colour_name(T->background)));
        break;
    default:
        return fail(why, "not an edit");
    }
    if (T->n_total != expect_n)
        return fail(why, "expected %d object%s after the edit, found %d (saw: %s)", expect_n, expect_n == 1 ? "" : "s",
                    T->n_total, found_t);
    if (sp->edit != VT_EDIT_BACKGROUND && T->background != S->background)
        return fail(why, "the background changed from %s to %s", name_or(vt_shapes_colour_name(S->background)),
                    name_or(vt_shapes_colour_name(T->background)));
    return 1;
}

int vt_shapes_check(const vt_shapes_spec *spec, const uint8_t *frames, int T, int width, int height,
                    const uint8_t *source, char *why, size_t whycap) {
    why_buf w = {why, whycap};
    if (why && whycap) why[0] = 0;
    if (!spec || !frames || T < 1 || width < 8 || height < 8) return VT_SHAPES_E_INVALID;
    /* an edit that adds or repaints the background names no object */
    int min_groups = spec->edit == VT_EDIT_ADD || spec->edit == VT_EDIT_BACKGROUND ? 0 : 1;
    if (spec->n_groups < min_groups || spec->n_groups > VT_SHAPES_MAX_GROUPS) return VT_SHAPES_E_INVALID;
    if (spec->edit == VT_EDIT_ADD && (spec->edit_group.count < 1 || spec->edit_group.count > VT_SHAPES_MAX_OBJECTS ||
                                      spec->edit_group.shape < 0 || spec->edit_group.shape >= VT_SHAPE_COUNT))
        return VT_SHAPES_E_INVALID;
    for (int k = 0; k < spec->n_groups; k++)
        if (spec->group[k].count < 1 || spec->group[k].count > VT_SHAPES_MAX_OBJECTS || spec->group[k].shape < 0 ||
            spec->group[k].shape >= VT_SHAPE_COUNT)
            return VT_SHAPES_E_INVALID;
    vt_shapes_analysis *an = malloc(3 * sizeof *an);
    if (!an) return VT_SHAPES_E_NOMEM;
    int rc;
    if (spec->edit != VT_EDIT_NONE) {
        rc = check_edit(spec, frames, width, height, source, &w, an);
    } else if (spec->motion != VT_MOTION_NONE) {
        rc = check_motion(spec, frames, T, width, height, &w, an);
    } else {
        rc = analyse_frame(frames, width, height, &an[0]);
        if (!rc) rc = check_scene(spec, &an[0], &w, "", NULL);
        if (rc == 1 && T > 1) rc = fail(&w, "a clip, not a still image");
    }
    free(an);
    return rc;
}
