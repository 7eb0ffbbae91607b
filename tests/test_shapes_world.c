/* Check suite for the shapes world (shapes/): the grammar round trip, the
 * held-out split against a separate FNV-1a, scene geometry against the rules of
 * docs/shapes.md restated here as numbers, rendered pixels against the palette
 * and the shapes' analytic areas, clips, edits, and the trainer's examples. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vt_check.h"
#include "shapes/shapes_internal.h"
#include "vitrail.h"
#include "vitrail_shapes.h"

/* The rules as the documentation states them, independent of the constants
 * the implementation uses. */
#define DOC_MOVE_MIN 0.3f  /* a move covers at least this fraction of the image */
#define DOC_GROW_MIN 1.6f  /* growing / shrinking changes the radius at least this much */
#define DOC_ROTATE_MIN 0.5f /* radians a rotating shape turns, at least */
#define DOC_REL_MIN 0.15f  /* "left of": at least this much further right, mostly sideways */

static const char *const grammar_words[] = {
    "a", "an", "two", "three", "small", "medium", "large",
    "red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "brown", "white", "gray", "black",
    "circle", "square", "triangle", "star", "ring", "cross", "diamond", "heart",
    "circles", "squares", "triangles", "stars", "rings", "crosses", "diamonds", "hearts",
    "in", "the", "top", "center", "bottom", "left", "right", "and", "of", "above", "below", "on", "background",
    "moving", "up", "down", "growing", "shrinking", "rotating", "turning",
    "make", "move", "to", "add", "remove", "change",
};
#define N_WORDS (int)(sizeof grammar_words / sizeof grammar_words[0])

static int word_index(const char *w, size_t n) {
    for (int i = 0; i < N_WORDS; i++)
        if (strlen(grammar_words[i]) == n && !strncmp(grammar_words[i], w, n)) return i;
    return -1;
}

/* Marks the grammar words of `text`; fails on a word outside the grammar. */
static void mark_words(const char *text, int *seen) {
    const char *c = text;
    while (*c) {
        while (*c == ' ') c++;
        const char *s = c;
        while (*c && *c != ' ') c++;
        if (c == s) break;
        int k = word_index(s, (size_t)(c - s));
        ck_assert_msg(k >= 0, "'%.*s' of \"%s\" is not a grammar word", (int)(c - s), s, text);
        seen[k] = 1;
    }
}

/* ---- names and palette ---- */

START_TEST(test_names) {
    for (int i = 0; i < VT_SHAPE_COUNT; i++) ck_assert_ptr_nonnull(vt_shapes_shape_name(i));
    for (int i = 0; i < VT_COLOUR_COUNT; i++) ck_assert_ptr_nonnull(vt_shapes_colour_name(i));
    for (int i = 0; i < VT_SIZE_COUNT; i++) ck_assert_ptr_nonnull(vt_shapes_size_name(i));
    for (int i = 0; i < VT_SHAPES_CELLS; i++) ck_assert_ptr_nonnull(vt_shapes_cell_name(i));
    for (int i = 0; i < VT_MOTION_COUNT; i++) ck_assert_ptr_nonnull(vt_shapes_motion_name(i));
    for (int i = 0; i < VT_CAT_COUNT; i++) ck_assert_ptr_nonnull(vt_shapes_category_name(i));
    ck_assert_ptr_null(vt_shapes_shape_name(VT_SHAPE_COUNT));
    ck_assert_ptr_null(vt_shapes_colour_name(-1));
    ck_assert_ptr_null(vt_shapes_cell_name(9));
    ck_assert_str_eq(vt_shapes_shape_name(VT_SHAPE_HEART), "heart");
    ck_assert_str_eq(vt_shapes_colour_name(VT_COLOUR_GRAY), "gray");
    ck_assert_str_eq(vt_shapes_cell_name(0), "top left");
    ck_assert_str_eq(vt_shapes_cell_name(4), "center");
    ck_assert_str_eq(vt_shapes_cell_name(8), "bottom right");
    ck_assert_str_eq(vt_shapes_motion_name(VT_MOTION_LEFT), "moving left");
    ck_assert_str_eq(vt_shapes_motion_name(VT_MOTION_GROW), "growing");
    ck_assert_str_eq(vt_shapes_category_name(VT_CAT_COLOURS), "colours");
    ck_assert_str_eq(vt_shapes_category_name(VT_CAT_EDIT), "edit");
}
END_TEST

START_TEST(test_palette_separated) {
    /* a nearest-colour classifier must never hesitate: every pair far apart */
    double worst = 1e9;
    for (int a = 0; a < VT_COLOUR_COUNT; a++)
        for (int b = a + 1; b < VT_COLOUR_COUNT; b++) {
            uint8_t p[3], q[3];
            vt_shapes_palette(a, p);
            vt_shapes_palette(b, q);
            double d = 0;
            for (int c = 0; c < 3; c++) d += ((double)p[c] - q[c]) * ((double)p[c] - q[c]);
            worst = fmin(worst, sqrt(d));
        }
    ck_assert_msg(worst >= 105.0, "closest palette pair only %.1f apart", worst);
    uint8_t red[3];
    vt_shapes_palette(VT_COLOUR_RED, red);
    ck_assert(red[0] > 150 && red[1] < 80 && red[2] < 80);
}
END_TEST

/* ---- grammar ---- */

static void assert_round_trip(const vt_shapes_spec *s, int instruction, int category) {
    char text[256], again[256], err[256];
    int n = vt_shapes_caption(s, instruction, text, sizeof text);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq((int)strlen(text), n);
    vt_shapes_spec back;
    ck_assert_msg(vt_shapes_parse(text, instruction, &back, err, sizeof err) == 0, "\"%s\": %s", text, err);
    ck_assert_msg(!memcmp(&back, s, sizeof back), "\"%s\" parses to another spec", text);
    ck_assert_int_eq(back.category, category);
    ck_assert_int_eq(vt_shapes_caption(&back, instruction, again, sizeof again), n);
    ck_assert_str_eq(again, text);
    /* case and punctuation carry nothing */
    char loud[300];
    size_t k = 0;
    for (const char *c = text; *c; c++) {
        loud[k++] = *c == ' ' && (c - text) % 3 == 0 ? ',' : (*c >= 'a' && *c <= 'z' && (c - text) % 2) ? (char)(*c - 32) : *c;
        if (*c == ' ' && (c - text) % 3 == 0) loud[k++] = ' ';
    }
    loud[k++] = '.';
    loud[k] = 0;
    ck_assert_msg(vt_shapes_parse(loud, instruction, &back, err, sizeof err) == 0, "\"%s\": %s", loud, err);
    ck_assert_msg(!memcmp(&back, s, sizeof back), "\"%s\" parses to another spec", loud);
}

START_TEST(test_round_trip) {
    int cat = _i;
    for (int i = 0; i < 3000; i++) {
        vt_shapes_spec s, src;
        ck_assert_int_eq(vt_shapes_random_spec(7, (uint64_t)i, cat, i % 5 == 0, &s, &src), 0);
        ck_assert_int_eq(s.category, cat);
        assert_round_trip(&s, cat == VT_CAT_EDIT, cat);
        if (cat == VT_CAT_EDIT) assert_round_trip(&src, 0, src.category);
    }
}
END_TEST

START_TEST(test_round_trip_examples) {
    static const struct {
        const char *text;
        int instruction, category;
    } cases[] = {
        {"a red circle left of a blue square", 0, VT_CAT_POSITION},
        {"two red circles", 0, VT_CAT_COUNTING},
        {"three blue stars on a yellow background", 0, VT_CAT_COUNTING},
        {"a large red circle in the top left", 0, VT_CAT_POSITION},
        {"an orange heart in the center left of a square", 0, VT_CAT_POSITION},
        {"a circle in the center right right of a square", 0, VT_CAT_POSITION},
        {"a red circle and a blue square", 0, VT_CAT_BINDING},
        {"a red circle and a square", 0, VT_CAT_TWO},
        {"a small star", 0, VT_CAT_SINGLE},
        {"a cyan ring on a black background", 0, VT_CAT_COLOURS},
        {"a red circle moving left", 0, VT_CAT_MOTION},
        {"a green triangle rotating on a white background", 0, VT_CAT_MOTION},
        {"a red circle turning blue", 0, VT_CAT_MOTION},
        {"make the circle blue", 1, VT_CAT_EDIT},
        {"move the circle to the top right", 1, VT_CAT_EDIT},
        {"add a small green star", 1, VT_CAT_EDIT},
        {"remove the circle", 1, VT_CAT_EDIT},
        {"change the background to white", 1, VT_CAT_EDIT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vt_shapes_spec s;
        char err[256], text[256];
        ck_assert_msg(vt_shapes_parse(cases[i].text, cases[i].instruction, &s, err, sizeof err) == 0, "%s: %s", cases[i].text,
                      err);
        ck_assert_int_eq(s.category, cases[i].category);
        ck_assert_int_gt(vt_shapes_caption(&s, cases[i].instruction, text, sizeof text), 0);
        ck_assert_str_eq(text, cases[i].text);
    }
    vt_shapes_spec s;
    ck_assert_int_eq(vt_shapes_parse("A red circle, LEFT of a blue square!", 0, &s, NULL, 0), 0);
    ck_assert_int_eq(s.relation, VT_REL_LEFT_OF);
    ck_assert_int_eq(s.group[0].colour, VT_COLOUR_RED);
    ck_assert_int_eq(s.group[1].shape, VT_SHAPE_SQUARE);
    ck_assert_int_eq(vt_shapes_parse("an orange circle in the center left of a square", 0, &s, NULL, 0), 0);
    ck_assert_int_eq(s.group[0].cell, 4);
    ck_assert_int_eq(s.relation, VT_REL_LEFT_OF);
    ck_assert_int_eq(vt_shapes_parse("three blue stars", 0, &s, NULL, 0), 0);
    ck_assert_int_eq(s.group[0].count, 3);
    ck_assert_int_eq(vt_shapes_parse("move the heart to the bottom center", 1, &s, NULL, 0), 0);
    ck_assert_int_eq(s.edit, VT_EDIT_MOVE);
    ck_assert_int_eq(s.edit_cell, 7);
    ck_assert_int_eq(s.group[0].shape, VT_SHAPE_HEART);
}
END_TEST

START_TEST(test_parse_errors) {
    static const char *const bad[] = {"", "  ,. ", "a purple", "a red circles", "two red circle", "three circles and three squares",
                                      "a circle in the middle", "a circle moving sideways", "a circle on a background",
                                      "a circle please", "a verylongwordthatisnotaword circle", "a circle left a square"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vt_shapes_spec s;
        char err[256] = "";
        ck_assert_msg(vt_shapes_parse(bad[i], 0, &s, err, sizeof err) == VT_E_INVALID, "'%s' parsed", bad[i]);
        ck_assert_msg(err[0], "no message for '%s'", bad[i]);
    }
    vt_shapes_spec s;
    ck_assert_int_eq(vt_shapes_parse("make the circle", 1, &s, NULL, 0), VT_E_INVALID);
    ck_assert_int_eq(vt_shapes_parse("paint the circle blue", 1, &s, NULL, 0), VT_E_INVALID);
    ck_assert_int_eq(vt_shapes_parse("make the circle blue", 0, &s, NULL, 0), VT_E_INVALID);
    ck_assert_int_eq(vt_shapes_parse(NULL, 0, &s, NULL, 0), VT_E_INVALID);
    /* too small a buffer: a negative status, never a truncated caption */
    ck_assert_int_eq(vt_shapes_parse("a large red circle in the top left", 0, &s, NULL, 0), 0);
    char tiny[8];
    ck_assert_int_lt(vt_shapes_caption(&s, 0, tiny, sizeof tiny), 0);
    ck_assert_int_lt(vt_shapes_caption(&s, 1, tiny, sizeof tiny), 0);
}
END_TEST

START_TEST(test_every_word_in_examples) {
    int seen[N_WORDS] = {0};
    uint8_t *tgt = malloc(8 * 16 * 16 * 3), *src = malloc(16 * 16 * 3);
    char text[512];
    for (int task = 0; task < VT_TASK_COUNT; task++)
        for (int i = 0; i < 2000; i++) {
            ck_assert_int_eq(vt_shapes_example(12345, (uint64_t)i, task, 16, 8, tgt, src, text, sizeof text), 0);
            mark_words(text, seen);
        }
    for (int k = 0; k < N_WORDS; k++) ck_assert_msg(seen[k], "'%s' never appears in an example", grammar_words[k]);
    free(tgt);
    free(src);
}
END_TEST

/* ---- the held-out split ---- */

/* FNV-1a 64 as docs/shapes.md states it, written again here. */
static int reference_held_out(const char *caption) {
    uint64_t h = 14695981039346656037ull;
    for (const char *c = caption; *c; c++) h = (h ^ (uint8_t)*c) * 1099511628211ull;
    return h % 10 == 0;
}

START_TEST(test_held_out_split) {
    char text[256];
    int held = 0, total = 0;
    for (int cat = 0; cat < VT_CAT_COUNT; cat++)
        for (int i = 0; i < 1500; i++) {
            for (int want = 0; want < 2; want++) {
                vt_shapes_spec s, src;
                ck_assert_int_eq(vt_shapes_random_spec(99, (uint64_t)i, cat, want, &s, &src), 0);
                ck_assert_int_gt(vt_shapes_caption(&s, cat == VT_CAT_EDIT, text, sizeof text), 0);
                ck_assert_int_eq(vt_shapes_held_out(text), want);
                ck_assert_int_eq(reference_held_out(text), want);
            }
        }
    /* about a tenth of the distinct captions of a category: here all "single" ones */
    for (int shape = 0; shape < VT_SHAPE_COUNT; shape++)
        for (int colour = -1; colour < VT_COLOUR_COUNT; colour++)
            for (int size = -1; size < VT_SIZE_COUNT; size++) {
                vt_shapes_spec s;
                vt_shapes_spec_clear(&s);
                s.n_groups = 1;
                s.group[0].count = 1;
                s.group[0].shape = shape;
                s.group[0].colour = colour;
                s.group[0].size = size;
                ck_assert_int_gt(vt_shapes_caption(&s, 0, text, sizeof text), 0);
                held += vt_shapes_held_out(text);
                total++;
            }
    ck_assert_msg(held * 20 > total && held * 20 < total * 3, "%d of %d held out", held, total);
    /* the rule reads words, not spelling */
    ck_assert_int_eq(vt_shapes_held_out("A Red  circle."), vt_shapes_held_out("a red circle"));
    /* examples never show a held-out caption */
    uint8_t *tgt = malloc(4 * 16 * 16 * 3), *src = malloc(16 * 16 * 3);
    for (int task = 0; task < VT_TASK_COUNT; task++)
        for (int i = 0; i < 1000; i++) {
            ck_assert_int_eq(vt_shapes_example(5, (uint64_t)i, task, 16, 4, tgt, src, text, sizeof text), 0);
            ck_assert_msg(!reference_held_out(text), "example %d of task %d is held out: %s", i, task, text);
        }
    free(tgt);
    free(src);
}
END_TEST

/* ---- scenes ---- */

static void assert_apart_inside(const vt_shapes_scene *sc, const char *what) {
    for (int i = 0; i < sc->n; i++) {
        const vt_shapes_object *o = &sc->obj[i];
        ck_assert_msg(o->x - o->r >= 0 && o->x + o->r <= 1 && o->y - o->r >= 0 && o->y + o->r <= 1, "%s: object %d leaves the frame",
                      what, i);
        ck_assert_msg(o->colour != sc->background, "%s: object %d has the background's colour", what, i);
        for (int j = 0; j < i; j++) {
            float dx = o->x - sc->obj[j].x, dy = o->y - sc->obj[j].y;
            ck_assert_msg(sqrtf(dx * dx + dy * dy) > o->r + sc->obj[j].r, "%s: objects %d and %d overlap", what, j, i);
        }
    }
}

static int in_cell(const vt_shapes_object *o, int cell) {
    int col = cell % 3, row = cell / 3;
    return o->x > col / 3.0f && o->x < (col + 1) / 3.0f && o->y > row / 3.0f && o->y < (row + 1) / 3.0f;
}

/* Each stated clause of the spec holds in the scene. */
static void assert_scene_matches(const vt_shapes_spec *s, const vt_shapes_scene *sc, const char *text) {
    assert_apart_inside(sc, text);
    if (s->background >= 0) ck_assert_int_eq(sc->background, s->background);
    int k = 0;
    for (int g = 0; g < s->n_groups; g++)
        for (int c = 0; c < s->group[g].count; c++, k++) {
            ck_assert_int_lt(k, sc->n);
            const vt_shapes_group *gr = &s->group[g];
            const vt_shapes_object *o = &sc->obj[k];
            ck_assert_int_eq(o->shape, gr->shape);
            if (gr->colour >= 0) ck_assert_int_eq(o->colour, gr->colour);
            if (gr->size >= 0) ck_assert_int_eq(o->size, gr->size);
            if (gr->cell >= 0) ck_assert_msg(in_cell(o, gr->cell), "%s: object %d is not in its cell", text, k);
        }
    ck_assert_int_eq(k, sc->n);
    if (s->relation) {
        /* every object of group 0 against every object of group 1 */
        int n0 = s->group[0].count;
        for (int a = 0; a < n0; a++)
            for (int b = n0; b < sc->n; b++) {
                float dx = sc->obj[b].x - sc->obj[a].x, dy = sc->obj[b].y - sc->obj[a].y;
                float along = s->relation == VT_REL_LEFT_OF ? dx : s->relation == VT_REL_RIGHT_OF ? -dx
                            : s->relation == VT_REL_ABOVE   ? dy : -dy;
                float across = s->relation <= VT_REL_RIGHT_OF ? fabsf(dy) : fabsf(dx);
                ck_assert_msg(along >= DOC_REL_MIN && across < along, "%s: the relation does not hold (%g, %g)", text, along, across);
            }
    }
}

START_TEST(test_layout_satisfies_spec) {
    char text[256];
    for (int cat = 0; cat < VT_CAT_COUNT; cat++)
        for (int i = 0; i < 1500; i++) {
            vt_shapes_spec s, src;
            vt_shapes_scene sc;
            ck_assert_int_eq(vt_shapes_random_spec(3, (uint64_t)i, cat, i % 7 == 0, &s, &src), 0);
            const vt_shapes_spec *lay = cat == VT_CAT_EDIT ? &src : &s;
            ck_assert_int_gt(vt_shapes_caption(lay, 0, text, sizeof text), 0);
            char err[256];
            ck_assert_msg(vt_shapes_layout(lay, (uint64_t)i * 31, &sc, err, sizeof err) == 0, "%s: %s", text, err);
            assert_scene_matches(lay, &sc, text);
            vt_shapes_scene again;
            ck_assert_int_eq(vt_shapes_layout(lay, (uint64_t)i * 31, &again, NULL, 0), 0);
            ck_assert(!memcmp(&again, &sc, sizeof sc));
        }
}
END_TEST

START_TEST(test_layout_refuses) {
    vt_shapes_spec s;
    vt_shapes_scene sc;
    char err[256] = "";
    ck_assert_int_eq(vt_shapes_parse("a red circle on a red background", 0, &s, NULL, 0), 0);
    ck_assert_int_eq(vt_shapes_layout(&s, 1, &sc, err, sizeof err), VT_E_INVALID);
    ck_assert(err[0]);
    ck_assert_int_eq(vt_shapes_parse("make the circle blue", 1, &s, NULL, 0), 0);
    ck_assert_int_eq(vt_shapes_layout(&s, 1, &sc, NULL, 0), VT_E_INVALID);
    /* a move towards the edge it starts at has nowhere to go */
    ck_assert_int_eq(vt_shapes_parse("a large circle in the top left moving left", 0, &s, NULL, 0), 0);
    ck_assert_int_eq(vt_shapes_layout(&s, 1, &sc, NULL, 0), VT_E_INVALID);
    ck_assert_int_eq(vt_shapes_layout(NULL, 1, &sc, NULL, 0), VT_E_INVALID);
}
END_TEST

START_TEST(test_clips) {
    enum { T = 8 };
    int seen[VT_MOTION_COUNT] = {0};
    for (int i = 0; i < 1500; i++) {
        vt_shapes_spec s;
        vt_shapes_scene first, f[T];
        char text[256];
        ck_assert_int_eq(vt_shapes_random_spec(11, (uint64_t)i, VT_CAT_MOTION, 0, &s, NULL), 0);
        ck_assert_int_gt(vt_shapes_caption(&s, 0, text, sizeof text), 0);
        ck_assert_int_eq(vt_shapes_layout(&s, (uint64_t)i, &first, NULL, 0), 0);
        for (int t = 0; t < T; t++) {
            ck_assert_int_eq(vt_shapes_clip_frame(&first, &s, t, T, &f[t]), 0);
            assert_apart_inside(&f[t], text);
        }
        ck_assert(!memcmp(&f[0], &first, sizeof first));
        const vt_shapes_object *a = &f[0].obj[0], *b = &f[T - 1].obj[0];
        seen[s.motion] = 1;
        switch (s.motion) {
        case VT_MOTION_LEFT: ck_assert_msg(a->x - b->x >= DOC_MOVE_MIN && a->y == b->y, "%s", text); break;
        case VT_MOTION_RIGHT: ck_assert_msg(b->x - a->x >= DOC_MOVE_MIN && a->y == b->y, "%s", text); break;
        case VT_MOTION_UP: ck_assert_msg(a->y - b->y >= DOC_MOVE_MIN && a->x == b->x, "%s", text); break;
        case VT_MOTION_DOWN: ck_assert_msg(b->y - a->y >= DOC_MOVE_MIN && a->x == b->x, "%s", text); break;
        case VT_MOTION_GROW: ck_assert_msg(b->r >= DOC_GROW_MIN * a->r, "%s", text); break;
        case VT_MOTION_SHRINK: ck_assert_msg(a->r >= DOC_GROW_MIN * b->r, "%s", text); break;
        case VT_MOTION_ROTATE:
            ck_assert_msg(a->shape != VT_SHAPE_CIRCLE && a->shape != VT_SHAPE_RING, "%s", text);
            ck_assert_msg(b->angle - a->angle >= DOC_ROTATE_MIN, "%s", text);
            break;
        case VT_MOTION_RECOLOUR:
            ck_assert_int_eq(a->colour, s.group[0].colour);
            ck_assert_int_eq(b->colour, s.motion_colour);
            ck_assert_int_ne(a->colour, b->colour);
            /* a cut at the middle: never a colour outside the palette */
            for (int t = 0; t < T; t++) ck_assert_int_eq(f[t].obj[0].colour, t < T / 2 ? a->colour : b->colour);
            break;
        default: ck_abort_msg("%s has no motion", text);
        }
        /* monotonic: every frame is further along than the one before */
        for (int t = 1; t < T; t++) {
            const vt_shapes_object *p = &f[t - 1].obj[0], *q = &f[t].obj[0];
            int ok = s.motion == VT_MOTION_LEFT ? q->x < p->x : s.motion == VT_MOTION_RIGHT ? q->x > p->x
                   : s.motion == VT_MOTION_UP   ? q->y < p->y : s.motion == VT_MOTION_DOWN  ? q->y > p->y
                   : s.motion == VT_MOTION_GROW ? q->r > p->r : s.motion == VT_MOTION_SHRINK ? q->r < p->r
                   : s.motion == VT_MOTION_ROTATE ? q->angle > p->angle : 1;
            ck_assert_msg(ok, "%s: frame %d", text, t);
        }
    }
    for (int m = 1; m < VT_MOTION_COUNT; m++) ck_assert_msg(seen[m], "motion %d never drawn", m);
    vt_shapes_scene sc = {0}, out;
    vt_shapes_spec s;
    vt_shapes_spec_clear(&s);
    s.motion = VT_MOTION_LEFT;
    ck_assert_int_eq(vt_shapes_clip_frame(&sc, &s, 0, 8, &out), VT_E_INVALID); /* nothing to move */
    ck_assert_int_eq(vt_shapes_clip_frame(&sc, &s, 8, 8, &out), VT_E_INVALID);
}
END_TEST

START_TEST(test_edits) {
    int seen[VT_EDIT_COUNT] = {0}, no_room = 0;
    for (int i = 0; i < 1500; i++) {
        vt_shapes_spec e, src;
        vt_shapes_scene a, b;
        char text[256], err[256];
        ck_assert_int_eq(vt_shapes_random_spec(13, (uint64_t)i, VT_CAT_EDIT, 0, &e, &src), 0);
        ck_assert_int_gt(vt_shapes_caption(&e, 1, text, sizeof text), 0);
        ck_assert_int_eq(vt_shapes_layout(&src, (uint64_t)i, &a, NULL, 0), 0);
        if (vt_shapes_edit_apply(&a, &e, (uint64_t)i, &b, err, sizeof err)) {
            /* a move into a cell the neighbours crowd can find no room (an
             * object in the centre touches every cell): the example is redrawn */
            ck_assert_msg((e.edit == VT_EDIT_MOVE || e.edit == VT_EDIT_ADD) && strstr(err, "no room"), "%s: %s", text, err);
            no_room++;
            continue;
        }
        assert_apart_inside(&b, text);
        seen[e.edit] = 1;
        int k = -1;
        for (int j = 0; j < a.n; j++)
            if (e.n_groups && a.obj[j].shape == e.group[0].shape) k = j;
        switch (e.edit) {
        case VT_EDIT_RECOLOUR:
            ck_assert_int_ge(k, 0);
            ck_assert_int_eq(b.n, a.n);
            ck_assert_int_ne(a.obj[k].colour, e.edit_colour);
            ck_assert_int_eq(b.obj[k].colour, e.edit_colour);
            break;
        case VT_EDIT_MOVE:
            ck_assert_int_ge(k, 0);
            ck_assert_int_eq(b.n, a.n);
            ck_assert_msg(!in_cell(&a.obj[k], e.edit_cell) && in_cell(&b.obj[k], e.edit_cell), "%s", text);
            break;
        case VT_EDIT_ADD:
            ck_assert_int_eq(b.n, a.n + 1);
            ck_assert_int_eq(b.obj[a.n].shape, e.edit_group.shape);
            for (int j = 0; j < a.n; j++) ck_assert_int_ne(a.obj[j].shape, e.edit_group.shape);
            if (e.edit_group.colour >= 0) ck_assert_int_eq(b.obj[a.n].colour, e.edit_group.colour);
            if (e.edit_group.size >= 0) ck_assert_int_eq(b.obj[a.n].size, e.edit_group.size);
            break;
        case VT_EDIT_REMOVE:
            ck_assert_int_ge(k, 0);
            ck_assert_int_eq(b.n, a.n - 1);
            ck_assert_int_ge(b.n, 1);
            for (int j = 0; j < b.n; j++) ck_assert_int_ne(b.obj[j].shape, e.group[0].shape);
            break;
        case VT_EDIT_BACKGROUND:
            ck_assert_int_ne(a.background, e.edit_colour);
            ck_assert_int_eq(b.background, e.edit_colour);
            break;
        default: ck_abort_msg("%s is no edit", text);
        }
        /* what the instruction does not name is untouched */
        if (e.edit != VT_EDIT_BACKGROUND) ck_assert_int_eq(b.background, a.background);
        if (e.edit != VT_EDIT_REMOVE)
            for (int j = 0; j < a.n; j++)
                if (j != k) ck_assert(!memcmp(&a.obj[j], &b.obj[j], sizeof a.obj[j]));
    }
    for (int m = 1; m < VT_EDIT_COUNT; m++) ck_assert_msg(seen[m], "edit %d never drawn", m);
    ck_assert_msg(no_room * 50 < 1500, "%d of 1500 edits found no room", no_room);
}
END_TEST

/* ---- rendering ---- */

static const uint8_t *pixel(const uint8_t *rgb, int w, int x, int y) { return rgb + ((size_t)y * w + x) * 3; }

static int is_colour(const uint8_t *p, int colour) {
    uint8_t c[3];
    vt_shapes_palette(colour, c);
    return !memcmp(p, c, 3);
}

START_TEST(test_render_pixels) {
    enum { S = 64 };
    uint8_t a[S * S * 3], b[S * S * 3];
    for (int i = 0; i < 600; i++) {
        vt_shapes_spec s;
        vt_shapes_scene sc;
        ck_assert_int_eq(vt_shapes_random_spec(17, (uint64_t)i, i % 6, 0, &s, NULL), 0);
        ck_assert_int_eq(vt_shapes_layout(&s, (uint64_t)i, &sc, NULL, 0), 0);
        memset(a, 1, sizeof a);
        memset(b, 2, sizeof b);
        ck_assert_int_eq(vt_shapes_render(&sc, S, S, a), 0);
        ck_assert_int_eq(vt_shapes_render(&sc, S, S, b), 0);
        ck_assert(!memcmp(a, b, sizeof a));
        for (int k = 0; k < sc.n; k++) {
            const vt_shapes_object *o = &sc.obj[k];
            float cx = o->x * S, cy = o->y * S, rad = o->r * S;
            /* a ring's centre is its hole: look half way through its band */
            float px = o->shape == VT_SHAPE_RING ? cx + 0.775f * rad : cx;
            ck_assert_msg(is_colour(pixel(a, S, (int)px, (int)cy), o->colour), "object %d of scene %d", k, i);
            if (o->shape == VT_SHAPE_RING) ck_assert(is_colour(pixel(a, S, (int)cx, (int)cy), sc.background));
        }
        /* every pixel clear of all bounding discs is exactly the background */
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                int clear = 1;
                for (int k = 0; k < sc.n && clear; k++) {
                    float dx = x + 0.5f - sc.obj[k].x * S, dy = y + 0.5f - sc.obj[k].y * S, rr = sc.obj[k].r * S + 1.0f;
                    clear = dx * dx + dy * dy > rr * rr;
                }
                if (clear) ck_assert(is_colour(pixel(a, S, x, y), sc.background));
            }
    }
}
END_TEST

/* Object coverage summed over pixels (anti-aliased edges count by their blend)
 * against the shape's area in units of the squared circumradius. */
START_TEST(test_render_areas) {
    enum { S = 256 };
    static const struct {
        int shape;
        double area;
    } cases[] = {
        {VT_SHAPE_CIRCLE, 3.14159265},
        {VT_SHAPE_RING, 3.14159265 * (1 - 0.55 * 0.55)},
        {VT_SHAPE_SQUARE, 2.0},
        {VT_SHAPE_TRIANGLE, 1.29903811},                      /* 3√3/4 */
        {VT_SHAPE_DIAMOND, 1.2},                              /* half-diagonals 0.6 and 1 */
        {VT_SHAPE_STAR, 10 * 0.5 * 0.45 * 0.58778525},        /* ten triangles, inner radius 0.45 */
    };
    uint8_t *img = malloc(S * S * 3);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int rot = 0; rot < 2; rot++) {
            vt_shapes_scene sc = {VT_COLOUR_WHITE, 1, {{cases[i].shape, VT_COLOUR_BLACK, 1, 0.5f, 0.5f, 0.4f, rot * 0.3f}}};
            ck_assert_int_eq(vt_shapes_render(&sc, S, S, img), 0);
            double cover = 0;
            for (int p = 0; p < S * S; p++) cover += (250.0 - img[p * 3]) / (250.0 - 15.0);
            double rad = 0.4 * S, want = cases[i].area * rad * rad;
            ck_assert_msg(fabs(cover - want) < 0.01 * want, "shape %d: %.0f px, want %.0f", cases[i].shape, cover, want);
        }
    /* rotation turns the shape about its centre: a square a quarter turn on is the same square */
    vt_shapes_scene sq = {VT_COLOUR_WHITE, 1, {{VT_SHAPE_SQUARE, VT_COLOUR_RED, 1, 0.5f, 0.5f, 0.3f, 0}}};
    uint8_t *turned = malloc(S * S * 3);
    ck_assert_int_eq(vt_shapes_render(&sq, S, S, img), 0);
    sq.obj[0].angle = 3.14159265f / 2;
    ck_assert_int_eq(vt_shapes_render(&sq, S, S, turned), 0);
    int differ = 0;
    for (int p = 0; p < S * S * 3; p++) differ += abs(img[p] - turned[p]) > 8;
    ck_assert_int_lt(differ, S * 4);
    sq.obj[0].angle = 3.14159265f / 4;
    ck_assert_int_eq(vt_shapes_render(&sq, S, S, turned), 0);
    differ = 0;
    for (int p = 0; p < S * S * 3; p++) differ += abs(img[p] - turned[p]) > 8;
    ck_assert_int_gt(differ, S * 20);
    free(turned);
    free(img);
}
END_TEST

START_TEST(test_render_refuses) {
    uint8_t buf[16 * 16 * 3];
    vt_shapes_scene sc = {VT_COLOUR_WHITE, 1, {{VT_SHAPE_STAR, VT_COLOUR_RED, 0, 0.5f, 0.5f, 0.2f, 0}}};
    ck_assert_int_eq(vt_shapes_render(&sc, 15, 16, buf), VT_E_INVALID);
    ck_assert_int_eq(vt_shapes_render(&sc, 16, 16, NULL), VT_E_INVALID);
    sc.obj[0].colour = 12;
    ck_assert_int_eq(vt_shapes_render(&sc, 16, 16, buf), VT_E_INVALID);
    sc.obj[0].colour = 0;
    sc.obj[0].x = NAN;
    ck_assert_int_eq(vt_shapes_render(&sc, 16, 16, buf), VT_E_INVALID);
    sc.obj[0].x = 0.5f;
    sc.n = 5;
    ck_assert_int_eq(vt_shapes_render(&sc, 16, 16, buf), VT_E_INVALID);
    /* any size, any aspect */
    sc.n = 1;
    uint8_t *wide = malloc(40 * 17 * 3);
    ck_assert_int_eq(vt_shapes_render(&sc, 40, 17, wide), 0);
    ck_assert(is_colour(pixel(wide, 40, 20, 8), VT_COLOUR_RED));
    ck_assert(is_colour(pixel(wide, 40, 0, 0), VT_COLOUR_WHITE));
    free(wide);
}
END_TEST

/* ---- examples ---- */

START_TEST(test_examples) {
    enum { S = 32, T = 6 };
    size_t plane = (size_t)S * S * 3;
    uint8_t *t1 = malloc(T * plane), *t2 = malloc(T * plane), *s1 = malloc(plane), *s2 = malloc(plane);
    char x1[512], x2[512];
    for (int task = 0; task < VT_TASK_COUNT; task++)
        for (int i = 0; i < 100; i++) {
            memset(t1, 0xab, T * plane);
            memset(t2, 0xcd, T * plane);
            ck_assert_int_eq(vt_shapes_example(42, (uint64_t)i, task, S, T, t1, s1, x1, sizeof x1), 0);
            ck_assert_int_eq(vt_shapes_example(42, (uint64_t)i, task, S, T, t2, s2, x2, sizeof x2), 0);
            ck_assert_str_eq(x1, x2);
            int frames = task == VT_TASK_T2V || task == VT_TASK_ANIMATE ? T : 1;
            ck_assert(!memcmp(t1, t2, frames * plane));
            if (frames == 1) /* one frame, whatever `frames` says */
                for (size_t p = plane; p < T * plane; p++) ck_assert_int_eq(t1[p], 0xab);
            vt_shapes_spec s;
            char err[256];
            ck_assert_msg(vt_shapes_parse(x1, task == VT_TASK_EDIT, &s, err, sizeof err) == 0, "%s: %s", x1, err);
            if (task == VT_TASK_T2I) ck_assert(s.category <= VT_CAT_BINDING);
            if (task == VT_TASK_T2V || task == VT_TASK_ANIMATE) {
                ck_assert_int_eq(s.category, VT_CAT_MOTION);
                ck_assert(memcmp(t1, t1 + (T - 1) * plane, plane)); /* it moves */
            }
            if (task == VT_TASK_ANIMATE) ck_assert(!memcmp(s1, t1, plane));
            if (task == VT_TASK_EDIT) {
                ck_assert(!memcmp(s1, s2, plane));
                ck_assert(memcmp(s1, t1, plane)); /* the edit shows */
            }
        }
    /* T2I draws every image category */
    int cats[VT_CAT_COUNT] = {0};
    for (int i = 0; i < 300; i++) {
        vt_shapes_spec s;
        ck_assert_int_eq(vt_shapes_example(1, (uint64_t)i, VT_TASK_T2I, 16, 1, t1, NULL, x1, sizeof x1), 0);
        ck_assert_int_eq(vt_shapes_parse(x1, 0, &s, NULL, 0), 0);
        cats[s.category]++;
    }
    for (int c = 0; c <= VT_CAT_BINDING; c++) ck_assert_msg(cats[c] > 20, "category %d drawn %d times", c, cats[c]);
    /* a mix: NULL is the even draw byte for byte; weights set the proportions
     * (0 never draws a category); bad weights are refused */
    {
        const float mix[6] = {1, 3, 0, 1, 1, 2};
        int mcats[VT_CAT_COUNT] = {0};
        for (int i = 0; i < 800; i++) {
            vt_shapes_spec s;
            ck_assert_int_eq(vt_shapes_example(7, (uint64_t)i, VT_TASK_T2I, 16, 1, t1, NULL, x1, sizeof x1), 0);
            ck_assert_int_eq(vt_shapes_example_mix(7, (uint64_t)i, VT_TASK_T2I, NULL, 16, 1, t2, NULL, x2, sizeof x2), 0);
            ck_assert_str_eq(x1, x2);
            ck_assert(!memcmp(t1, t2, (size_t)16 * 16 * 3));
            ck_assert_int_eq(vt_shapes_example_mix(7, (uint64_t)i, VT_TASK_T2I, mix, 16, 1, t1, NULL, x1, sizeof x1), 0);
            ck_assert_int_eq(vt_shapes_parse(x1, 0, &s, NULL, 0), 0);
            mcats[s.category]++;
        }
        /* expected 100 / 300 / 0 / 100 / 100 / 200 of 800; bounds ~4 sigma */
        ck_assert_int_eq(mcats[VT_CAT_COUNTING], 0);
        ck_assert_msg(mcats[VT_CAT_TWO] > 250 && mcats[VT_CAT_TWO] < 350, "two drawn %d times", mcats[VT_CAT_TWO]);
        ck_assert_msg(mcats[VT_CAT_BINDING] > 155 && mcats[VT_CAT_BINDING] < 245, "binding %d", mcats[VT_CAT_BINDING]);
        for (int c = 0; c <= VT_CAT_BINDING; c++)
            if (c == VT_CAT_SINGLE || c == VT_CAT_COLOURS || c == VT_CAT_POSITION)
                ck_assert_msg(mcats[c] > 62 && mcats[c] < 138, "category %d drawn %d times", c, mcats[c]);
        const float neg[6] = {1, -1, 1, 1, 1, 1}, zero[6] = {0};
        ck_assert_int_eq(vt_shapes_example_mix(7, 0, VT_TASK_T2I, neg, 16, 1, t1, NULL, x1, sizeof x1), VT_E_INVALID);
        ck_assert_int_eq(vt_shapes_example_mix(7, 0, VT_TASK_T2I, zero, 16, 1, t1, NULL, x1, sizeof x1), VT_E_INVALID);
    }
    /* streams differ */
    ck_assert_int_eq(vt_shapes_example(1, 0, VT_TASK_T2I, S, 1, t1, NULL, x1, sizeof x1), 0);
    ck_assert_int_eq(vt_shapes_example(2, 0, VT_TASK_T2I, S, 1, t2, NULL, x2, sizeof x2), 0);
    ck_assert(strcmp(x1, x2) || memcmp(t1, t2, plane));
    /* refusals */
    ck_assert_int_eq(vt_shapes_example(1, 0, VT_TASK_T2I, 15, 1, t1, NULL, x1, sizeof x1), VT_E_INVALID);
    ck_assert_int_eq(vt_shapes_example(1, 0, VT_TASK_COUNT, S, 1, t1, NULL, x1, sizeof x1), VT_E_INVALID);
    ck_assert_int_eq(vt_shapes_example(1, 0, VT_TASK_EDIT, S, 1, t1, NULL, x1, sizeof x1), VT_E_INVALID);
    ck_assert_int_eq(vt_shapes_example(1, 0, VT_TASK_T2V, S, 0, t1, NULL, x1, sizeof x1), VT_E_INVALID);
    ck_assert_int_eq(vt_shapes_example(1, 0, VT_TASK_T2I, S, 1, t1, NULL, x1, 4), VT_E_INVALID);
    free(t1), free(t2), free(s1), free(s2);
}
END_TEST

/* Threads drawing interleaved indices get what one thread gets. */
typedef struct job {
    int first, step;
    uint8_t *out; /* (64, 16, 16, 3) */
    int rc;
} job;

static void *draw(void *arg) {
    job *j = arg;
    char text[256];
    uint8_t src[16 * 16 * 3];
    for (int i = j->first; i < 64; i += j->step)
        j->rc |= vt_shapes_example(9, (uint64_t)i, i % 4, 16, 1, j->out + (size_t)i * 16 * 16 * 3 * 4, src, text, sizeof text);
    return NULL;
}

START_TEST(test_examples_threads) {
    size_t n = (size_t)64 * 4 * 16 * 16 * 3;
    uint8_t *serial = calloc(n, 1), *par = calloc(n, 1);
    job one = {0, 1, serial, 0};
    draw(&one);
    ck_assert_int_eq(one.rc, 0);
    pthread_t th[4];
    job jobs[4];
    for (int k = 0; k < 4; k++) {
        jobs[k] = (job){k, 4, par, 0};
        ck_assert_int_eq(pthread_create(&th[k], NULL, draw, &jobs[k]), 0);
    }
    for (int k = 0; k < 4; k++) {
        pthread_join(th[k], NULL);
        ck_assert_int_eq(jobs[k].rc, 0);
    }
    ck_assert(!memcmp(serial, par, n));
    free(serial);
    free(par);
}
END_TEST


/* ---- the CLI (vitrail shapes) ---- */

static char clidir[64];

/* Runs `$VITRAIL_BIN shapes ARGS` in clidir; the exit code; stderr in err. */
static int shapes_cli(const char *args, char *err, size_t errcap) {
    const char *bin = getenv("VITRAIL_BIN");
    char cmd[1024], ef[128];
    snprintf(ef, sizeof ef, "%s/err.txt", clidir);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' shapes %s >/dev/null 2>err.txt", clidir, bin ? bin : "vitrail", args);
    int st = system(cmd);
    FILE *f = fopen(ef, "rb");
    size_t n = f ? fread(err, 1, errcap - 1, f) : 0;
    err[n] = 0;
    if (f) fclose(f);
    ck_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static int lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

START_TEST(test_cli) {
    char err[4096], path[256];
    vt_test_mkdtemp(clidir, sizeof clidir, "shapes");
    vt_context *ctx = vt_context_create(NULL);
    /* the PNG holds exactly what the library draws for that caption and seed */
    const char *caption = "a small red circle left of a blue square on a white background";
    char args[512];
    snprintf(args, sizeof args, "render \"%s\" -o one.png --size 96 --seed 5", caption);
    ck_assert_msg(shapes_cli(args, err, sizeof err) == 0, "%s", err);
    vt_image img;
    snprintf(path, sizeof path, "%s/one.png", clidir);
    ck_assert_int_eq(vt_image_load(ctx, path, &img), 0);
    ck_assert_int_eq(img.width, 96);
    ck_assert_int_eq(img.height, 96);
    vt_shapes_spec s;
    vt_shapes_scene sc;
    ck_assert_int_eq(vt_shapes_parse(caption, 0, &s, NULL, 0), 0);
    ck_assert_int_eq(vt_shapes_layout(&s, 5, &sc, NULL, 0), 0);
    uint8_t *want = malloc(96 * 96 * 3);
    ck_assert_int_eq(vt_shapes_render(&sc, 96, 96, want), 0);
    ck_assert(!memcmp(img.pixels, want, 96 * 96 * 3));
    vt_image_free(&img);
    free(want);
    /* a motion as a frame sequence */
    ck_assert_msg(shapes_cli("render 'a green star rotating' -o clip.png --frames 3", err, sizeof err) == 0, "%s", err);
    for (int t = 0; t < 3; t++) {
        snprintf(path, sizeof path, "%s/clip_%03d.png", clidir, t);
        ck_assert_int_eq(vt_image_load(ctx, path, &img), 0);
        vt_image_free(&img);
    }
    /* training examples: strips of frames, sources, a table */
    ck_assert_msg(shapes_cli("sample -o ex --count 3 --task animate --frames 2 --size 32", err, sizeof err) == 0, "%s", err);
    snprintf(path, sizeof path, "%s/ex/0002.png", clidir);
    ck_assert_int_eq(vt_image_load(ctx, path, &img), 0);
    ck_assert_int_eq(img.width, 64);
    ck_assert_int_eq(img.height, 32);
    vt_image_free(&img);
    snprintf(path, sizeof path, "%s/ex/0002_source.png", clidir);
    ck_assert_int_eq(vt_image_load(ctx, path, &img), 0);
    vt_image_free(&img);
    snprintf(path, sizeof path, "%s/ex/captions.tsv", clidir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char tsv[4096];
    size_t n = fread(tsv, 1, sizeof tsv - 1, f);
    tsv[n] = 0;
    fclose(f);
    ck_assert_int_eq(lines(tsv), 4);
    ck_assert_ptr_nonnull(strstr(tsv, "0001.png\tanimate\t"));
    /* refusals: one line, exit 1 for a caption the world cannot draw, 2 for usage */
    static const struct {
        const char *args;
        int rc;
    } bad[] = {
        {"render 'a purple' -o x.png", 1},
        {"render 'make the circle blue' -o x.png", 1},
        {"render 'a red circle on a red background' -o x.png", 1},
        {"render 'a circle' -o x.jpg", 2},
        {"render 'a circle' -o x.png --frames 4", 2},
        {"render 'a circle' -o x.png --size 8", 2},
        {"render 'a circle'", 2},
        {"sample -o ex --task paint", 2},
        {"sample -o ex --count 0", 2},
        {"frobnicate", 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = shapes_cli(bad[i].args, err, sizeof err);
        ck_assert_msg(rc == bad[i].rc, "'%s' exited %d: %s", bad[i].args, rc, err);
        ck_assert_msg(lines(err) == 1, "'%s' stderr: %s", bad[i].args, err);
    }
    snprintf(path, sizeof path, "%s/x.png", clidir);
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_eq(shapes_cli("render --help", err, sizeof err), 0);
    vt_context_destroy(&ctx);
    vt_test_rmtree(clidir);
}
END_TEST

static Suite *shapes_suite(void) {
    Suite *s = suite_create("shapes_world");
    TCase *tc = tcase_create("world");
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_palette_separated);
    tcase_add_loop_test(tc, test_round_trip, 0, VT_CAT_COUNT);
    tcase_add_test(tc, test_round_trip_examples);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_every_word_in_examples);
    tcase_add_test(tc, test_held_out_split);
    tcase_add_test(tc, test_layout_satisfies_spec);
    tcase_add_test(tc, test_layout_refuses);
    tcase_add_test(tc, test_clips);
    tcase_add_test(tc, test_edits);
    tcase_add_test(tc, test_render_pixels);
    tcase_add_test(tc, test_render_areas);
    tcase_add_test(tc, test_render_refuses);
    tcase_add_test(tc, test_examples);
    tcase_add_test(tc, test_examples_threads);
    tcase_add_test(tc, test_cli);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return vt_check_run(shapes_suite()); }
