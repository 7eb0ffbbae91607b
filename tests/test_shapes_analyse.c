/* Check suite of the shapes analyser and checker (shapes/analyse.c, check.c):
 * on the world's own renders of held-out captions every item should pass, with
 * mild noise nearly every one, and renders of a contradicting caption should
 * fail; every shape is recognised at every size. The references are the
 * renderer's scenes (what was drawn), never the analyser's earlier output. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shapes/analyse_internal.h"
#include "shapes/shapes_internal.h"
#include "vt_check.h"

enum { S = 64, T_CLIP = 8, PER_CATEGORY = 130 };
#define SEED 4242u

/* One evaluation item drawn and rendered: frames (T, S, S, 3), source (S, S, 3). */
typedef struct item {
    vt_shapes_spec spec, source;
    int T;
    uint8_t frames[T_CLIP * S * S * 3];
    uint8_t src[S * S * 3];
} item;

static void render_clip(const vt_shapes_scene *first, const vt_shapes_spec *motion, int T, uint8_t *frames) {
    for (int t = 0; t < T; t++) {
        vt_shapes_scene st = *first;
        if (motion) ck_assert_int_eq(vt_shapes_clip_frame(first, motion, t, T, &st), 0);
        ck_assert_int_eq(vt_shapes_render(&st, S, S, frames + (size_t)t * S * S * 3), 0);
    }
}

/* Mild noise, deterministic: the sum of four uniform draws in [-3, 3], a
 * bell-shaped error of at most ±12 levels on every channel. */
static void add_noise(uint8_t *px, size_t n, uint64_t key) {
    vt_shapes_rng r = vt_shapes_rng_make(key, 0x6e6f697365ull, 0);
    for (size_t i = 0; i < n; i++) {
        int e = 0;
        for (int k = 0; k < 4; k++) e += vt_shapes_rng_below(&r, 7) - 3;
        int v = px[i] + e;
        px[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

/* What a generator's output looks like next to the renderer's, as a model of
 * it (not a measurement): edges blurred by a Gaussian of σ = 1 pixel, each
 * palette colour cast by its own offset (±20 a channel), a brightness ramp of
 * ±10 levels across the frame, and the mild noise above. */
static void degrade(uint8_t *px, int T, uint64_t key) {
    enum { R = 3 };
    float k[2 * R + 1], ks = 0;
    for (int i = -R; i <= R; i++) ks += k[i + R] = expf(-0.5f * (float)(i * i));
    vt_shapes_rng r = vt_shapes_rng_make(key, 0x6465677261ull, 0);
    float cast[VT_COLOUR_COUNT][3], ramp[2];
    for (int c = 0; c < VT_COLOUR_COUNT; c++)
        for (int j = 0; j < 3; j++) cast[c][j] = 40.f * vt_shapes_rng_unit(&r) - 20.f;
    for (int j = 0; j < 2; j++) ramp[j] = 20.f * vt_shapes_rng_unit(&r) - 10.f;
    static float tmp[S * S * 3];
    for (int t = 0; t < T; t++) {
        uint8_t *f = px + (size_t)t * S * S * 3;
        for (int pass = 0; pass < 2; pass++)
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++)
                    for (int c = 0; c < 3; c++) {
                        float a = 0;
                        for (int i = -R; i <= R; i++) {
                            int u = pass ? x : x + i, v = pass ? y + i : y;
                            u = u < 0 ? 0 : u >= S ? S - 1 : u;
                            v = v < 0 ? 0 : v >= S ? S - 1 : v;
                            a += k[i + R] / ks * (pass ? tmp[((size_t)v * S + u) * 3 + c] : f[((size_t)v * S + u) * 3 + c]);
                        }
                        if (pass)
                            f[((size_t)y * S + x) * 3 + c] = (uint8_t)(a + 0.5f);
                        else
                            tmp[((size_t)y * S + x) * 3 + c] = a;
                    }
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                uint8_t *p = f + ((size_t)y * S + x) * 3;
                int best = 0;
                float bd = 1e30f;
                for (int c = 0; c < VT_COLOUR_COUNT; c++) {
                    uint8_t q[3];
                    vt_shapes_palette(c, q);
                    float d = 0;
                    for (int j = 0; j < 3; j++) d += ((float)p[j] - q[j]) * ((float)p[j] - q[j]);
                    if (d < bd) bd = d, best = c;
                }
                float shade = ramp[0] * ((float)x / S - 0.5f) * 2 + ramp[1] * ((float)y / S - 0.5f) * 2;
                for (int j = 0; j < 3; j++) {
                    float v = (float)p[j] + cast[best][j] + shade;
                    p[j] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
                }
            }
    }
    add_noise(px, (size_t)T * S * S * 3, key);
}

/* The held-out item `i` of a category, rendered as the world draws it; the
 * layout seed is the index. 0 when the world cannot lay it out (not expected). */
static int make_truth(int cat, uint64_t i, item *it) {
    ck_assert_int_eq(vt_shapes_random_spec(SEED, i, cat, 1, &it->spec, &it->source), 0);
    vt_shapes_scene s0, s1;
    char err[160];
    if (cat == VT_CAT_EDIT) {
        if (vt_shapes_layout(&it->source, i, &s0, err, sizeof err)) return 0;
        if (vt_shapes_edit_apply(&s0, &it->spec, i, &s1, err, sizeof err)) return 0;
        ck_assert_int_eq(vt_shapes_render(&s0, S, S, it->src), 0);
        ck_assert_int_eq(vt_shapes_render(&s1, S, S, it->frames), 0);
        it->T = 1;
        return 1;
    }
    if (vt_shapes_layout(&it->spec, i, &s0, err, sizeof err)) return 0;
    it->T = it->spec.motion != VT_MOTION_NONE ? T_CLIP : 1;
    render_clip(&s0, it->T > 1 ? &it->spec : NULL, it->T, it->frames);
    return 1;
}

static int other_colour(int avoid0, int avoid1, int avoid2, uint64_t k) {
    for (int j = 0; j < VT_COLOUR_COUNT; j++) {
        int c = (int)((k + (uint64_t)j) % VT_COLOUR_COUNT);
        if (c != avoid0 && c != avoid1 && c != avoid2) return c;
    }
    return 0;
}

static int opposite_motion(int m) {
    switch (m) {
    case VT_MOTION_LEFT: return VT_MOTION_RIGHT;
    case VT_MOTION_RIGHT: return VT_MOTION_LEFT;
    case VT_MOTION_UP: return VT_MOTION_DOWN;
    case VT_MOTION_DOWN: return VT_MOTION_UP;
    case VT_MOTION_GROW: return VT_MOTION_SHRINK;
    case VT_MOTION_SHRINK: return VT_MOTION_GROW;
    default: return VT_MOTION_NONE;
    }
}

/* A negative: the item's spec stays, what is drawn contradicts one of its
 * clauses (a wrong colour or shape, the colours swapped, a wrong count, cell or
 * relation, no or the opposite motion, an edit not done or done wrong). 0 when
 * this item has no such variant the world can lay out. */
static int make_negative(int cat, uint64_t i, item *it) {
    ck_assert_int_eq(vt_shapes_random_spec(SEED, i, cat, 1, &it->spec, &it->source), 0);
    vt_shapes_spec d = it->spec; /* what is drawn */
    vt_shapes_group *g0 = &d.group[0], *g1 = &d.group[1];
    char err[160];
    vt_shapes_scene s0, s1;
    switch (cat) {
    case VT_CAT_COUNTING: /* three large ones do not fit: then one */
        g0->count = g0->count == 3 ? 2 : g0->size == VT_SIZE_LARGE ? 1 : 3;
        break;
    case VT_CAT_POSITION:
        if (d.relation != VT_REL_NONE)
            d.relation = d.relation == VT_REL_LEFT_OF ? VT_REL_RIGHT_OF
                       : d.relation == VT_REL_RIGHT_OF ? VT_REL_LEFT_OF
                       : d.relation == VT_REL_ABOVE ? VT_REL_BELOW
                                                     : VT_REL_ABOVE;
        else if (g0->cell >= 0)
            g0->cell = (g0->cell + 1 + (int)(i % 8)) % VT_SHAPES_CELLS;
        else
            return 0;
        if (d.n_groups == 2 && g0->cell >= 0 && g1->cell == g0->cell) g1->cell = (g1->cell + 1) % VT_SHAPES_CELLS;
        break;
    case VT_CAT_BINDING: {
        int c = g0->colour;
        g0->colour = g1->colour;
        g1->colour = c;
        break;
    }
    case VT_CAT_MOTION:
        if (i % 2 == 0 || opposite_motion(d.motion) == VT_MOTION_NONE) {
            if (d.motion == VT_MOTION_RECOLOUR && i % 4 == 1) {
                d.motion_colour = other_colour(d.motion_colour, g0->colour, d.background, i);
            } else {
                if (vt_shapes_layout(&d, i, &s0, err, sizeof err)) return 0;
                it->T = T_CLIP;
                render_clip(&s0, NULL, T_CLIP, it->frames); /* stands still */
                return 1;
            }
        } else {
            d.motion = opposite_motion(d.motion);
            /* a small one cannot shrink, a large one cannot grow */
            if (d.motion == VT_MOTION_SHRINK && g0->size == VT_SIZE_SMALL) g0->size = VT_SIZE_MEDIUM;
            if (d.motion == VT_MOTION_GROW && g0->size == VT_SIZE_LARGE) g0->size = VT_SIZE_MEDIUM;
        }
        break;
    case VT_CAT_EDIT:
        if (vt_shapes_layout(&it->source, i, &s0, err, sizeof err)) return 0;
        ck_assert_int_eq(vt_shapes_render(&s0, S, S, it->src), 0);
        it->T = 1;
        s1 = s0; /* nothing done */
        if (i % 2 && it->spec.edit == VT_EDIT_RECOLOUR) {
            vt_shapes_spec wrong = it->spec;
            wrong.edit_colour = other_colour(it->spec.edit_colour, s0.background, it->source.group[0].colour, i);
            if (vt_shapes_edit_apply(&s0, &wrong, i, &s1, err, sizeof err)) return 0;
        } else if (i % 2 && it->spec.edit == VT_EDIT_MOVE) {
            vt_shapes_spec wrong = it->spec;
            /* back where it was: a move that did not happen */
            wrong.edit_cell = it->source.group[0].cell;
            if (vt_shapes_edit_apply(&s0, &wrong, i, &s1, err, sizeof err)) return 0;
        }
        ck_assert_int_eq(vt_shapes_render(&s1, S, S, it->frames), 0);
        return 1;
    default: /* single, two, colours: the first object's stated colour, else its shape */
        if (g0->colour >= 0) {
            g0->colour = other_colour(it->spec.group[0].colour, d.background, d.n_groups == 2 ? g1->colour : -1, i);
        } else {
            int was = g0->shape;
            g0->shape = (was + 1 + (int)(i % 7)) % VT_SHAPE_COUNT;
            while (g0->shape == was || (d.n_groups == 2 && g0->shape == g1->shape))
                g0->shape = (g0->shape + 1) % VT_SHAPE_COUNT;
        }
        break;
    }
    /* the world may need another draw of the places to fit a variant */
    int laid = 0;
    for (uint64_t k = 0; k < 8 && !laid; k++) laid = vt_shapes_layout(&d, i + 1000 * k, &s0, err, sizeof err) == 0;
    if (!laid) {
        if (getenv("VT_TEST_VERBOSE")) printf("  no negative for %s item %d: %s\n", vt_shapes_category_name(cat), (int)i, err);
        return 0;
    }
    it->T = d.motion != VT_MOTION_NONE ? T_CLIP : 1;
    render_clip(&s0, it->T > 1 ? &d : NULL, it->T, it->frames);
    return 1;
}

typedef struct tally {
    int items[VT_CAT_COUNT], passed[VT_CAT_COUNT], skipped;
} tally;

static int check_item(const item *it, char *why, size_t cap) {
    int r = vt_shapes_check(&it->spec, it->frames, it->T, S, S, it->spec.edit != VT_EDIT_NONE ? it->src : NULL, why, cap);
    ck_assert_int_ge(r, 0);
    return r;
}

static void print_tally(const char *what, const tally *t) {
    int n = 0, p = 0;
    printf("%s:", what);
    for (int c = 0; c < VT_CAT_COUNT; c++) {
        printf(" %s %d/%d", vt_shapes_category_name(c), t->passed[c], t->items[c]);
        n += t->items[c];
        p += t->passed[c];
    }
    printf("; all %d/%d = %.4f (skipped %d)\n", p, n, n ? (double)p / n : 0, t->skipped);
}

static double rate(const tally *t) {
    int n = 0, p = 0;
    for (int c = 0; c < VT_CAT_COUNT; c++) n += t->items[c], p += t->passed[c];
    return n ? (double)p / n : 0;
}

enum { CLEAN, NOISY, DEGRADED };

static void run_truth(int noisy, tally *t) {
    item *it = malloc(sizeof *it);
    ck_assert_ptr_nonnull(it);
    memset(t, 0, sizeof *t);
    int shown = 0;
    for (int c = 0; c < VT_CAT_COUNT; c++)
        for (uint64_t i = 0; i < PER_CATEGORY; i++) {
            if (!make_truth(c, i, it)) {
                t->skipped++;
                continue;
            }
            if (noisy == NOISY) {
                add_noise(it->frames, (size_t)it->T * S * S * 3, i * 16 + (uint64_t)c);
                if (c == VT_CAT_EDIT) add_noise(it->src, sizeof it->src, i * 16 + (uint64_t)c + 8);
            } else if (noisy == DEGRADED) {
                degrade(it->frames, it->T, i * 16 + (uint64_t)c);
                if (c == VT_CAT_EDIT) degrade(it->src, 1, i * 16 + (uint64_t)c + 8);
            }
            char why[256];
            t->items[c]++;
            if (check_item(it, why, sizeof why)) {
                t->passed[c]++;
            } else if (shown++ < 10) {
                char text[256] = "";
                vt_shapes_caption(&it->spec, c == VT_CAT_EDIT, text, sizeof text);
                printf("  %s fails: '%s': %s\n", noisy == NOISY ? "noisy truth" : noisy ? "degraded truth" : "truth", text, why);
            }
        }
    free(it);
}

START_TEST(truth_passes) {
    tally t;
    run_truth(CLEAN, &t);
    print_tally("truth", &t);
    ck_assert_int_le(t.skipped, 8);
    ck_assert_int_ge(t.items[0] * VT_CAT_COUNT, 1000);
    ck_assert(rate(&t) >= 0.99);
    for (int c = 0; c < VT_CAT_COUNT; c++) ck_assert(t.passed[c] >= 0.97 * t.items[c]);
}
END_TEST

START_TEST(noisy_truth_passes) {
    tally t;
    run_truth(NOISY, &t);
    print_tally("noisy truth", &t);
    ck_assert(rate(&t) >= 0.97);
}
END_TEST

START_TEST(degraded_truth_passes) {
    tally t;
    run_truth(DEGRADED, &t);
    print_tally("degraded truth (blur 1 px, colour casts, ramp, noise)", &t);
    ck_assert(rate(&t) >= 0.95);
}
END_TEST

START_TEST(negatives_fail) {
    item *it = malloc(sizeof *it);
    ck_assert_ptr_nonnull(it);
    tally t;
    memset(&t, 0, sizeof t);
    int shown = 0;
    for (int c = 0; c < VT_CAT_COUNT; c++)
        for (uint64_t i = 0; i < PER_CATEGORY; i++) {
            if (!make_negative(c, i, it)) {
                t.skipped++;
                continue;
            }
            t.items[c]++;
            char why[256];
            if (!check_item(it, why, sizeof why)) {
                t.passed[c]++; /* "passed" here: the negative was caught */
                ck_assert(why[0] != 0);
            } else if (shown++ < 10) {
                char text[256] = "";
                vt_shapes_caption(&it->spec, c == VT_CAT_EDIT, text, sizeof text);
                printf("  negative passes: '%s'\n", text);
            }
        }
    print_tally("negatives caught", &t);
    free(it);
    ck_assert_int_le(t.skipped, PER_CATEGORY);
    ck_assert(rate(&t) >= 0.95);
}
END_TEST

/* A scene of one object of `shape` and `size` in a random colour on a random
 * other background, its centre in [lo, lo + span)² and, when `turned`, at a
 * random angle (draws in that order). */
static vt_shapes_scene one_object(vt_shapes_rng *r, int shape, int size, float lo, float span, int turned) {
    vt_shapes_scene sc;
    memset(&sc, 0, sizeof sc);
    sc.background = vt_shapes_rng_below(r, VT_COLOUR_COUNT);
    sc.n = 1;
    vt_shapes_object *o = &sc.obj[0];
    o->shape = shape;
    o->size = size;
    o->r = vt_shapes_size_radius(size);
    do o->colour = vt_shapes_rng_below(r, VT_COLOUR_COUNT);
    while (o->colour == sc.background);
    o->x = lo + span * vt_shapes_rng_unit(r);
    o->y = lo + span * vt_shapes_rng_unit(r);
    o->angle = turned ? 6.2831853f * vt_shapes_rng_unit(r) : 0;
    return sc;
}

/* One object of every shape, size and many colours, places and (optionally)
 * turns: the shape recognised ≥ 99% of the time in each (shape, size) cell. */
static void confusion(int turned) {
    enum { N = 60 };
    int conf[VT_SHAPE_COUNT][VT_SIZE_COUNT][VT_SHAPE_COUNT];
    int size_ok[VT_SIZE_COUNT] = {0}, angle_ok = 0, angle_n = 0;
    memset(conf, 0, sizeof conf);
    static uint8_t img[S * S * 3];
    vt_shapes_rng r = vt_shapes_rng_make(SEED, (uint64_t)turned, 0x636f6e66ull);
    vt_shapes_found f;
    for (int sh = 0; sh < VT_SHAPE_COUNT; sh++)
        for (int sz = 0; sz < VT_SIZE_COUNT; sz++)
            for (int k = 0; k < N; k++) {
                vt_shapes_scene sc = one_object(&r, sh, sz, 0.25f, 0.5f, turned);
                const vt_shapes_object *o = &sc.obj[0];
                ck_assert_int_eq(vt_shapes_render(&sc, S, S, img), 0);
                ck_assert_int_eq(vt_shapes_analyse(img, S, S, &f), 0);
                ck_assert_int_eq(f.n, 1);
                ck_assert_int_eq(f.background, sc.background);
                ck_assert_int_eq(f.obj[0].colour, o->colour);
                conf[sh][sz][f.obj[0].shape]++;
                size_ok[sz] += f.obj[0].size == sz;
                /* the centroid is within a pixel or two of the centre (a heart's is above it) */
                ck_assert(fabsf(f.obj[0].x - o->x) < 0.03f && fabsf(f.obj[0].y - o->y) < 0.04f);
                /* the turn, within the shape's symmetry */
                static const float period[VT_SHAPE_COUNT] = {0, 90, 120, 72, 0, 90, 180, 360};
                if (period[sh] > 0 && f.obj[0].shape == sh) {
                    float e = (f.obj[0].angle - o->angle) * 57.29578f;
                    e -= period[sh] * floorf(e / period[sh] + 0.5f);
                    angle_n++;
                    angle_ok += fabsf(e) <= 10.f;
                }
            }
    printf("shape confusion (%s; rows: drawn, columns: found; small/medium/large):\n", turned ? "turned" : "upright");
    for (int sh = 0; sh < VT_SHAPE_COUNT; sh++) {
        printf("  %-8s", vt_shapes_shape_name(sh));
        for (int sz = 0; sz < VT_SIZE_COUNT; sz++) {
            printf(" |");
            for (int j = 0; j < VT_SHAPE_COUNT; j++) printf(" %2d", conf[sh][sz][j]);
        }
        printf("\n");
    }
    printf("  sizes right: %d/%d %d/%d %d/%d\n", size_ok[0], VT_SHAPE_COUNT * N, size_ok[1], VT_SHAPE_COUNT * N, size_ok[2],
           VT_SHAPE_COUNT * N);
    printf("  turn within 10°: %d/%d\n", angle_ok, angle_n);
    ck_assert(angle_ok >= 0.97 * angle_n);
    for (int sh = 0; sh < VT_SHAPE_COUNT; sh++)
        for (int sz = 0; sz < VT_SIZE_COUNT; sz++) ck_assert(conf[sh][sz][sh] >= 0.99 * N);
    for (int sz = 0; sz < VT_SIZE_COUNT; sz++) ck_assert(size_ok[sz] >= 0.99 * VT_SHAPE_COUNT * N);
}

START_TEST(shapes_upright) { confusion(0); }
END_TEST

/* src (2S, 2S, 3) averaged over boxes of 2S/w x 2S/h source pixels (partial
 * pixels weighed by their overlap) into dst (h, w, 3): the scene stretched
 * by (2S/h) / (2S/w) = w/h, as exactly as a box filter makes it. */
static void shrink_box(const uint8_t *src, int w, int h, uint8_t *dst) {
    const double sx = 2.0 * S / w, sy = 2.0 * S / h;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double acc[3] = {0, 0, 0}, wt = 0;
            for (int j = (int)floor(y * sy); j < (int)ceil((y + 1) * sy) && j < 2 * S; j++) {
                const double oy = fmin(j + 1, (y + 1) * sy) - fmax(j, y * sy);
                for (int i = (int)floor(x * sx); i < (int)ceil((x + 1) * sx) && i < 2 * S; i++) {
                    const double o = oy * (fmin(i + 1, (x + 1) * sx) - fmax(i, x * sx));
                    for (int c = 0; c < 3; c++) acc[c] += o * src[((size_t)j * 2 * S + i) * 3 + c];
                    wt += o;
                }
            }
            for (int c = 0; c < 3; c++) dst[((size_t)y * w + x) * 3 + c] = (uint8_t)lround(acc[c] / wt);
        }
}

/* A generator draws a shape a little wider or taller than the world does (the
 * 96,835-step model's triangles: elongation 1.06-1.11, which the analyser
 * took for hearts before it whitened the outline). Every shape, turned, at
 * every size, stretched 1.1 and 1.15 along x or y: still that shape ≥ 97% of
 * the time in each (shape, stretch) cell. A diamond is stretched by 1.66 to
 * begin with and stays the elongated one. */
START_TEST(shapes_stretched) {
    enum { N = 24 };
    static const int dims[4][2] = {{S, 58}, {58, S}, {S, 56}, {56, S}}; /* (w, h): 1.10, 1.10, 1.14, 1.14 */
    static uint8_t big[2 * S * 2 * S * 3], img[S * S * 3];
    vt_shapes_rng r = vt_shapes_rng_make(SEED, 7, 0x73747265ull);
    vt_shapes_found f;
    int worst = N;
    for (int sh = 0; sh < VT_SHAPE_COUNT; sh++) {
        printf("  stretched %-8s", vt_shapes_shape_name(sh));
        for (int d = 0; d < 4; d++) {
            int ok = 0;
            for (int k = 0; k < N; k++) {
                const vt_shapes_scene sc = one_object(&r, sh, k % VT_SIZE_COUNT, 0.3f, 0.4f, 1);
                ck_assert_int_eq(vt_shapes_render(&sc, 2 * S, 2 * S, big), 0);
                shrink_box(big, dims[d][0], dims[d][1], img);
                ck_assert_int_eq(vt_shapes_analyse(img, dims[d][0], dims[d][1], &f), 0);
                ok += f.n == 1 && f.obj[0].shape == sh;
            }
            printf(" %dx%d %2d/%d", dims[d][0], dims[d][1], ok, N);
            if (ok < worst) worst = ok;
        }
        printf("\n");
    }
    ck_assert_int_ge(worst, (int)ceil(0.97 * N));
}
END_TEST

START_TEST(shapes_turned) { confusion(1); }
END_TEST

START_TEST(why_names_the_clause) {
    static item it;
    vt_shapes_spec spec;
    char err[160], why[256];
    ck_assert_int_eq(vt_shapes_parse("a red circle", 0, &spec, err, sizeof err), 0);
    vt_shapes_scene sc;
    ck_assert_int_eq(vt_shapes_layout(&spec, 1, &sc, err, sizeof err), 0);
    ck_assert_int_eq(vt_shapes_render(&sc, S, S, it.frames), 0);
    ck_assert_int_eq(vt_shapes_check(&spec, it.frames, 1, S, S, NULL, why, sizeof why), 1);
    ck_assert_str_eq(why, "");
    vt_shapes_spec blue;
    ck_assert_int_eq(vt_shapes_parse("a blue circle", 0, &blue, err, sizeof err), 0);
    ck_assert_int_eq(vt_shapes_check(&blue, it.frames, 1, S, S, NULL, why, sizeof why), 0);
    ck_assert_ptr_nonnull(strstr(why, "blue circle"));
    ck_assert_ptr_nonnull(strstr(why, "red circle"));
    /* a still image is not a clip */
    vt_shapes_spec moving;
    ck_assert_int_eq(vt_shapes_parse("a red circle moving left", 0, &moving, err, sizeof err), 0);
    ck_assert_int_eq(vt_shapes_check(&moving, it.frames, 1, S, S, NULL, why, sizeof why), 0);
    ck_assert_ptr_nonnull(strstr(why, "clip"));
    /* an edit without its source */
    vt_shapes_spec edit;
    ck_assert_int_eq(vt_shapes_parse("make the circle blue", 1, &edit, err, sizeof err), 0);
    ck_assert_int_eq(vt_shapes_check(&edit, it.frames, 1, S, S, NULL, why, sizeof why), 0);
    ck_assert_ptr_nonnull(strstr(why, "source"));
}
END_TEST

START_TEST(bad_input_is_refused) {
    static uint8_t img[S * S * 3];
    vt_shapes_found f;
    ck_assert_int_lt(vt_shapes_analyse(NULL, S, S, &f), 0);
    ck_assert_int_lt(vt_shapes_analyse(img, 4, S, &f), 0);
    ck_assert_int_lt(vt_shapes_analyse(img, S, -1, &f), 0);
    ck_assert_int_lt(vt_shapes_analyse(img, S, S, NULL), 0);
    vt_shapes_spec spec;
    char err[160];
    ck_assert_int_eq(vt_shapes_parse("a red circle", 0, &spec, err, sizeof err), 0);
    ck_assert_int_lt(vt_shapes_check(&spec, NULL, 1, S, S, NULL, NULL, 0), 0);
    ck_assert_int_lt(vt_shapes_check(&spec, img, 0, S, S, NULL, NULL, 0), 0);
    spec.n_groups = 3;
    ck_assert_int_lt(vt_shapes_check(&spec, img, 1, S, S, NULL, NULL, 0), 0);
    /* a blank image: a background and nothing on it */
    memset(img, 0, sizeof img);
    ck_assert_int_eq(vt_shapes_analyse(img, S, S, &f), 0);
    ck_assert_int_eq(f.n, 0);
    ck_assert_int_eq(f.background, VT_COLOUR_BLACK);
}
END_TEST

/* The analyser works at any size: fractions, not pixels, decide. */
START_TEST(any_size) {
    enum { W = 200, H = 150 };
    static uint8_t img[W * H * 3];
    vt_shapes_spec spec;
    char err[160], why[256];
    ck_assert_int_eq(vt_shapes_parse("a large green star left of a small purple heart", 0, &spec, err, sizeof err), 0);
    vt_shapes_scene sc;
    ck_assert_int_eq(vt_shapes_layout(&spec, 3, &sc, err, sizeof err), 0);
    ck_assert_int_eq(vt_shapes_render(&sc, W, H, img), 0);
    ck_assert_msg(vt_shapes_check(&spec, img, 1, W, H, NULL, why, sizeof why) == 1, "%s", why);
}
END_TEST

/* Two objects of one colour that touch (the world never draws them so, a
 * generator may) are cut apart where they meet through a narrow neck:
 * circles, triangles, stars, diamonds at medium and large size. Squares side
 * by side make a rectangle and thin rings a figure eight: not asked. */
START_TEST(touching_objects_are_two) {
    static uint8_t img[S * S * 3];
    /* half the width along x of each shape, in circumradii: where they touch */
    static const struct {
        int shape;
        float half;
    } cases[] = {{VT_SHAPE_CIRCLE, 1.0f}, {VT_SHAPE_TRIANGLE, 0.866f}, {VT_SHAPE_STAR, 0.95f}, {VT_SHAPE_DIAMOND, 0.6f}};
    int ok = 0, n = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int sz = VT_SIZE_MEDIUM; sz <= VT_SIZE_LARGE; sz++)
            for (int k = 0; k < 6; k++) {
                vt_shapes_scene sc;
                memset(&sc, 0, sizeof sc);
                sc.background = VT_COLOUR_WHITE;
                sc.n = 2;
                float r = vt_shapes_size_radius(sz), d = 2 * cases[c].half * r - 0.25f * (float)(k % 3) / S;
                for (int i = 0; i < 2; i++) {
                    vt_shapes_object *o = &sc.obj[i];
                    o->shape = cases[c].shape;
                    o->size = sz;
                    o->colour = VT_COLOUR_BLUE;
                    o->r = r;
                    o->x = 0.5f + (i ? 0.5f : -0.5f) * d + 0.01f * (float)(k - 3);
                    o->y = 0.5f + 0.013f * (float)(k - 3);
                }
                ck_assert_int_eq(vt_shapes_render(&sc, S, S, img), 0);
                vt_shapes_found f;
                ck_assert_int_eq(vt_shapes_analyse(img, S, S, &f), 0);
                n++;
                ok += f.n == 2 && f.obj[0].shape == cases[c].shape && f.obj[1].shape == cases[c].shape &&
                      f.obj[0].size == sz && f.obj[1].size == sz;
            }
    printf("touching pairs told apart: %d/%d\n", ok, n);
    ck_assert(ok >= 0.95 * n);
}
END_TEST

/* ---- the prompts file and the CLI ---- */

static void prompts_path(char *buf, size_t cap) {
    const char *d = getenv("VT_TEST_DATA");
    ck_assert_ptr_nonnull(d);
    snprintf(buf, cap, "%s/../../assets/eval/prompts.tsv", d);
}

/* Every item of assets/eval/prompts.tsv: well formed, held out, of the
 * category it is filed under, its source drawable; 60 of each category. */
START_TEST(prompts_file_is_held_out) {
    char path[512], line[2048];
    prompts_path(path, sizeof path);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s", path);
    int per[VT_CAT_COUNT] = {0}, t2v = 0, animate = 0, n = 0;
    static char ids[1000][64];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        char *field[5], *save = NULL;
        int nf = 0;
        for (char *tok = strtok_r(line, "\t", &save); tok && nf < 5; tok = strtok_r(NULL, "\t", &save)) field[nf++] = tok;
        ck_assert_int_eq(nf, 5);
        ck_assert_int_lt(n, 1000);
        for (int k = 0; k < n; k++) ck_assert_str_ne(ids[k], field[0]);
        snprintf(ids[n++], sizeof ids[0], "%s", field[0]);
        int cat = -1;
        for (int c = 0; c < VT_CAT_COUNT; c++)
            if (!strcmp(field[1], vt_shapes_category_name(c))) cat = c;
        ck_assert_int_ge(cat, 0);
        per[cat]++;
        const char *task = field[2];
        int edit = !strcmp(task, "edit");
        ck_assert(cat == VT_CAT_EDIT ? edit
                  : cat == VT_CAT_MOTION ? !strcmp(task, "t2v") || !strcmp(task, "animate")
                                         : !strcmp(task, "t2i"));
        t2v += !strcmp(task, "t2v");
        animate += !strcmp(task, "animate");
        vt_shapes_spec spec, src;
        char err[160], canon[256];
        ck_assert_msg(vt_shapes_parse(field[3], edit, &spec, err, sizeof err) == 0, "%s: %s", field[3], err);
        ck_assert_int_eq(spec.category, cat);
        ck_assert_int_ge(vt_shapes_caption(&spec, edit, canon, sizeof canon), 0);
        ck_assert_msg(vt_shapes_held_out(canon) == 1, "'%s' is not held out", canon);
        if (edit || !strcmp(task, "animate")) {
            char *bar = strrchr(field[4], '|');
            ck_assert_ptr_nonnull(bar);
            *bar = 0;
            uint64_t seed = strtoull(bar + 1, NULL, 10);
            ck_assert_int_eq(vt_shapes_parse(field[4], 0, &src, err, sizeof err), 0);
            vt_shapes_scene s0, s1;
            ck_assert_int_eq(vt_shapes_layout(&src, seed, &s0, err, sizeof err), 0);
            if (edit) ck_assert_msg(vt_shapes_edit_apply(&s0, &spec, seed, &s1, err, sizeof err) == 0, "%s", err);
            else ck_assert_str_eq(field[4], field[3]);
        } else {
            ck_assert_str_eq(field[4], "-");
        }
    }
    fclose(f);
    for (int c = 0; c < VT_CAT_COUNT; c++) ck_assert_int_eq(per[c], 60);
    ck_assert_int_eq(t2v, 30);
    ck_assert_int_eq(animate, 30);
}
END_TEST

/* Runs `vitrail ARGS`, stdout into out; the exit status. */
static int run_cli(const char *args, char *out, size_t cap) {
    const char *bin = getenv("VITRAIL_BIN");
    ck_assert_ptr_nonnull(bin);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>/dev/null", bin, args);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One of the totals of the JSON report. */
static double json_number(const char *json, const char *key) {
    char k[64];
    snprintf(k, sizeof k, "\"%s\": ", key);
    /* the totals, after the per-category objects and before the failures */
    const char *totals = strstr(json, "\"overall\": ");
    ck_assert_ptr_nonnull(totals);
    const char *p = strstr(totals, k);
    ck_assert_msg(p != NULL, "no %s in %.200s", key, json);
    return strtod(p + strlen(k), NULL);
}

START_TEST(cli_eval) {
    static char out[1 << 20];
    char path[512], args[1400], dir[64];
    prompts_path(path, sizeof path);
    /* the ground truth of every item scores (all but) 1 */
    snprintf(args, sizeof args, "shapes eval --prompts '%s' --truth --json", path);
    ck_assert_int_eq(run_cli(args, out, sizeof out), 0);
    printf("vitrail shapes eval --truth: overall %.4f\n", json_number(out, "overall"));
    ck_assert_int_eq((int)json_number(out, "items"), 480);
    ck_assert(json_number(out, "overall") >= 0.99);
    /* an empty output folder: every file missing, every item failed */
    vt_test_mkdtemp(dir, sizeof dir, "shapes-eval");
    snprintf(args, sizeof args, "shapes eval --prompts '%s' --images %s --json", path, dir);
    ck_assert_int_eq(run_cli(args, out, sizeof out), 0);
    ck_assert_int_eq((int)json_number(out, "missing"), 480);
    ck_assert(json_number(out, "overall") == 0);
    /* the file is what --make-prompts writes (regenerate it when the world changes) */
    snprintf(args, sizeof args, "shapes eval --make-prompts --seed 2026 --per-category 60 -o %s/p.tsv && cmp -s %s/p.tsv '%s' && echo same",
             dir, dir, path);
    ck_assert_int_eq(run_cli(args, out, sizeof out), 0);
    ck_assert_msg(strstr(out, "same") != NULL, "assets/eval/prompts.tsv differs from --make-prompts --seed 2026: regenerate it");
    /* analyse names what render drew */
    snprintf(args, sizeof args, "shapes render 'a large red star left of a small blue heart' --seed 3 -o %s/x.png 2>/dev/null && '%s' shapes analyse %s/x.png",
             dir, getenv("VITRAIL_BIN"), dir);
    ck_assert_int_eq(run_cli(args, out, sizeof out), 0);
    ck_assert_msg(strstr(out, "objects: 2") && strstr(out, "large  red    star") && strstr(out, "small  blue   heart"), "%s", out);
    /* a clip as a PNG sequence (ID_s0_000.png, ...), as render and generate write one */
    snprintf(args, sizeof args,
             "shapes render 'a red circle moving left' --seed 0 -o %s/m_s0.png 2>/dev/null && printf 'm\\tmotion\\tt2v\\ta "
             "red circle moving left\\t-\\n' > %s/m.tsv && '%s' shapes eval --prompts %s/m.tsv --images %s --json",
             dir, dir, getenv("VITRAIL_BIN"), dir, dir);
    ck_assert_int_eq(run_cli(args, out, sizeof out), 0);
    ck_assert_msg(json_number(out, "overall") == 1, "%s", out);
    /* usage errors */
    ck_assert_int_eq(run_cli("shapes eval --truth", out, sizeof out), 2);
    ck_assert_int_eq(run_cli("shapes analyse", out, sizeof out), 2);
    vt_test_rmtree(dir);
}
END_TEST

/* tools/eval/run_eval.sh against the CLI as it is: one item of each task,
 * one seed then extended to two, the test clip model (16×16, 4 frames, random
 * weights: the scores are noise, the files and their names are what is
 * checked). */
START_TEST(run_eval_script) {
    const char *data = getenv("VT_TEST_DATA"), *model = getenv("VT_TEST_VIDEO_MODEL"), *bin = getenv("VITRAIL_BIN");
    ck_assert(data && model && bin);
    char dir[64], path[512], line[2048], cmd[2048];
    vt_test_mkdtemp(dir, sizeof dir, "run-eval");
    prompts_path(path, sizeof path);
    FILE *in = fopen(path, "r"), *out;
    snprintf(cmd, sizeof cmd, "%s/p.tsv", dir);
    out = fopen(cmd, "w");
    ck_assert(in && out);
    const char *want[] = {"\tt2i\t", "\tt2v\t", "\tedit\t", "\tanimate\t"};
    char ids[4][64];
    int got = 0, have[4] = {0};
    while (fgets(line, sizeof line, in) && got < 4)
        for (int k = 0; k < 4; k++)
            if (!have[k] && strstr(line, want[k])) {
                fputs(line, out);
                snprintf(ids[k], sizeof ids[k], "%.*s", (int)strcspn(line, "\t"), line);
                have[k] = 1;
                got++;
            }
    fclose(in);
    fclose(out);
    ck_assert_int_eq(got, 4);
    /* one seed, then extended to two: seed 0's files stay (same inode), seed
     * 1's are generated and are those of a fresh two-seed run (out2) */
    ino_t first[4];
    const char *ext[4] = {"png", "mp4", "png", "mp4"};
    struct stat st;
    for (int run = 0; run < 3; run++) {
        snprintf(cmd, sizeof cmd,
                 "FRAMES=4 VITRAIL='%s' PROMPTS=%s/p.tsv VITRAIL_ARGS='--steps 1' '%s/../../tools/eval/run_eval.sh' '%s' "
                 "%s/%s %d >/dev/null 2>&1",
                 bin, dir, data, model, dir, run == 2 ? "out2" : "out", run == 0 ? 1 : 2);
        ck_assert_int_eq(system(cmd), 0);
        for (int k = 0; k < 4 && run < 2; k++) {
            snprintf(path, sizeof path, "%s/out/%s_s0.%s", dir, ids[k], ext[k]);
            ck_assert_msg(stat(path, &st) == 0, "%s is missing", path);
            if (run == 0) first[k] = st.st_ino;
            else ck_assert_msg(st.st_ino == first[k], "%s was made again when a second seed was added", path);
        }
    }
    for (int k = 0; k < 4; k++)
        for (int sd = 0; sd < 2; sd++) {
            snprintf(path, sizeof path, "%s/out/%s_s%d.%s", dir, ids[k], sd, ext[k]);
            ck_assert_msg(access(path, F_OK) == 0, "%s is missing", path);
            snprintf(cmd, sizeof cmd, "cmp -s %s %s/out2/%s_s%d.%s", path, dir, ids[k], sd, ext[k]);
            ck_assert_msg(system(cmd) == 0, "%s differs from a fresh two-seed run's", path);
        }
    snprintf(path, sizeof path, "%s/out/errors.log", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_msg(fgetc(f) == EOF, "generations failed: see %s", path);
    fclose(f);
    snprintf(cmd, sizeof cmd, "grep -q '\"items\": 8, ' %s/out/scores.json", dir);
    ck_assert_int_eq(system(cmd), 0);
    vt_test_rmtree(dir);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("shapes_analyse");
    TCase *tc = tcase_create("analyse");
    tcase_add_test(tc, truth_passes);
    tcase_add_test(tc, noisy_truth_passes);
    tcase_add_test(tc, degraded_truth_passes);
    tcase_add_test(tc, negatives_fail);
    tcase_add_test(tc, shapes_upright);
    tcase_add_test(tc, shapes_turned);
    tcase_add_test(tc, shapes_stretched);
    tcase_add_test(tc, why_names_the_clause);
    tcase_add_test(tc, bad_input_is_refused);
    tcase_add_test(tc, any_size);
    tcase_add_test(tc, touching_objects_are_two);
    tcase_add_test(tc, prompts_file_is_held_out);
    tcase_add_test(tc, cli_eval);
    tcase_add_test(tc, run_eval_script);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return vt_check_run(suite()); }
