/* The shapes world's words and rules: names and palette, the caption grammar
 * (parse and canonical caption), the train/held-out split, and random specs of
 * each evaluation category. docs/shapes.md is the prose form of this file. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shapes_internal.h"
#include "vitrail.h"

/* ---- names ---- */

static const char *const shape_names[VT_SHAPE_COUNT] = {"circle", "square", "triangle", "star",
                                                         "ring",   "cross",  "diamond",  "heart"};
static const char *const shape_plurals[VT_SHAPE_COUNT] = {"circles", "squares", "triangles", "stars",
                                                           "rings",   "crosses", "diamonds",  "hearts"};
static const char *const colour_names[VT_COLOUR_COUNT] = {"red",  "orange", "yellow", "green", "cyan",  "blue",
                                                           "purple", "pink", "brown",  "white", "gray", "black"};
static const char *const size_names[VT_SIZE_COUNT] = {"small", "medium", "large"};
static const char *const cell_names[VT_SHAPES_CELLS] = {"top left",    "top center", "top right",
                                                         "center left", "center",     "center right",
                                                         "bottom left", "bottom center", "bottom right"};
static const char *const motion_names[VT_MOTION_COUNT] = {"none",    "moving left", "moving right", "moving up",
                                                           "moving down", "growing", "shrinking",  "rotating",
                                                           "turning"};
static const char *const category_names[VT_CAT_COUNT] = {"single",   "two",     "counting", "colours",
                                                          "position", "binding", "motion",   "edit"};
static const char *const relation_words[] = {"", "left of", "right of", "above", "below"};

/* Far apart in sRGB (the closest pair, purple and gray, differs by 108), so a
 * nearest-palette classifier of a pixel cannot hesitate. */
static const uint8_t palette[VT_COLOUR_COUNT][3] = {
    {220, 30, 30},   /* red */
    {255, 130, 0},   /* orange */
    {250, 235, 30},  /* yellow */
    {30, 170, 50},   /* green */
    {30, 220, 230},  /* cyan */
    {30, 60, 220},   /* blue */
    {140, 40, 190},  /* purple */
    {255, 130, 200}, /* pink */
    {120, 70, 20},   /* brown */
    {250, 250, 250}, /* white */
    {128, 128, 128}, /* gray */
    {15, 15, 15},    /* black */
};

static const char *name_of(const char *const *names, int n, int i) { return i >= 0 && i < n ? names[i] : NULL; }

const char *vt_shapes_shape_name(int shape) { return name_of(shape_names, VT_SHAPE_COUNT, shape); }
const char *vt_shapes_colour_name(int colour) { return name_of(colour_names, VT_COLOUR_COUNT, colour); }
const char *vt_shapes_size_name(int size) { return name_of(size_names, VT_SIZE_COUNT, size); }
const char *vt_shapes_cell_name(int cell) { return name_of(cell_names, VT_SHAPES_CELLS, cell); }
const char *vt_shapes_motion_name(int motion) { return name_of(motion_names, VT_MOTION_COUNT, motion); }
const char *vt_shapes_category_name(int category) { return name_of(category_names, VT_CAT_COUNT, category); }

void vt_shapes_palette(int colour, uint8_t rgb[3]) {
    if (colour < 0 || colour >= VT_COLOUR_COUNT) colour = VT_COLOUR_BLACK;
    memcpy(rgb, palette[colour], 3);
}

float vt_shapes_size_radius(int size) {
    return size == VT_SIZE_SMALL ? VT_SHAPES_R_SMALL : size == VT_SIZE_LARGE ? VT_SHAPES_R_LARGE : VT_SHAPES_R_MEDIUM;
}

float vt_shapes_rotation(int shape) {
    const float pi = 3.14159265358979f;
    switch (shape) {
    case VT_SHAPE_SQUARE:
    case VT_SHAPE_CROSS: return pi / 4;      /* period 90° */
    case VT_SHAPE_TRIANGLE: return pi / 3;   /* period 120° */
    case VT_SHAPE_STAR: return pi / 5;       /* period 72° */
    case VT_SHAPE_DIAMOND: return pi / 2;    /* period 180° (a tall rhombus) */
    case VT_SHAPE_HEART: return pi / 2;      /* no symmetry: a quarter turn reads clearly */
    default: return 0;
    }
}

/* ---- specs ---- */

static void group_clear(vt_shapes_group *g) {
    g->count = 0;
    g->shape = g->colour = g->size = g->cell = -1;
}

void vt_shapes_spec_clear(vt_shapes_spec *s) {
    memset(s, 0, sizeof *s);
    for (int i = 0; i < VT_SHAPES_MAX_GROUPS; i++) group_clear(&s->group[i]);
    group_clear(&s->edit_group);
    s->relation = VT_REL_NONE;
    s->background = s->motion_colour = s->edit_colour = s->edit_cell = -1;
    s->motion = VT_MOTION_NONE;
    s->edit = VT_EDIT_NONE;
}

int vt_shapes_category_of(const vt_shapes_spec *s) {
    if (s->edit != VT_EDIT_NONE) return VT_CAT_EDIT;
    if (s->motion != VT_MOTION_NONE) return VT_CAT_MOTION;
    int cells = 0;
    for (int i = 0; i < s->n_groups && i < VT_SHAPES_MAX_GROUPS; i++) cells |= s->group[i].cell >= 0;
    if (s->relation != VT_REL_NONE || cells) return VT_CAT_POSITION;
    if (s->n_groups == 2) {
        const vt_shapes_group *a = &s->group[0], *b = &s->group[1];
        return a->colour >= 0 && b->colour >= 0 && a->colour != b->colour ? VT_CAT_BINDING : VT_CAT_TWO;
    }
    if (s->group[0].count >= 2) return VT_CAT_COUNTING;
    if (s->background >= 0) return VT_CAT_COLOURS;
    return VT_CAT_SINGLE;
}

int vt_shapes_seterr(char *err, size_t cap, const char *fmt, ...) {
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return VT_E_INVALID;
}

static int in_range(int v, int lo, int hi) { return v >= lo && v < hi; }

static int group_ok(const vt_shapes_group *g) {
    return g->count >= 1 && g->count <= 3 && in_range(g->shape, 0, VT_SHAPE_COUNT) &&
           in_range(g->colour, -1, VT_COLOUR_COUNT) && in_range(g->size, -1, VT_SIZE_COUNT) &&
           in_range(g->cell, -1, VT_SHAPES_CELLS);
}

int vt_shapes_spec_check(const vt_shapes_spec *s, int instruction, char *err, size_t cap) {
    if (!s) return vt_shapes_seterr(err, cap, "no spec");
    if (instruction) {
        switch (s->edit) {
        case VT_EDIT_RECOLOUR:
        case VT_EDIT_MOVE:
        case VT_EDIT_REMOVE:
            if (s->n_groups != 1 || !group_ok(&s->group[0]) || s->group[0].count != 1)
                return vt_shapes_seterr(err, cap, "an edit names one object (group 0, count 1)");
            if (s->edit == VT_EDIT_RECOLOUR && !in_range(s->edit_colour, 0, VT_COLOUR_COUNT))
                return vt_shapes_seterr(err, cap, "a recolour edit needs edit_colour");
            if (s->edit == VT_EDIT_MOVE && !in_range(s->edit_cell, 0, VT_SHAPES_CELLS))
                return vt_shapes_seterr(err, cap, "a move edit needs edit_cell");
            return 0;
        case VT_EDIT_ADD:
            if (!group_ok(&s->edit_group)) return vt_shapes_seterr(err, cap, "an add edit needs a valid edit_group");
            return 0;
        case VT_EDIT_BACKGROUND:
            if (!in_range(s->edit_colour, 0, VT_COLOUR_COUNT)) return vt_shapes_seterr(err, cap, "a background edit needs edit_colour");
            return 0;
        default: return vt_shapes_seterr(err, cap, "not an edit instruction (edit = %d)", s->edit);
        }
    }
    if (s->edit != VT_EDIT_NONE) return vt_shapes_seterr(err, cap, "an edit is written as an instruction");
    if (s->n_groups < 1 || s->n_groups > VT_SHAPES_MAX_GROUPS) return vt_shapes_seterr(err, cap, "n_groups %d is not 1 or 2", s->n_groups);
    int total = 0;
    for (int i = 0; i < s->n_groups; i++) {
        if (!group_ok(&s->group[i])) return vt_shapes_seterr(err, cap, "group %d is out of range", i);
        total += s->group[i].count;
    }
    if (total > VT_SHAPES_MAX_OBJECTS) return vt_shapes_seterr(err, cap, "%d objects: at most %d", total, VT_SHAPES_MAX_OBJECTS);
    if (!in_range(s->relation, 0, 5) || (s->relation && s->n_groups != 2))
        return vt_shapes_seterr(err, cap, "a relation needs exactly two groups");
    if (!in_range(s->background, -1, VT_COLOUR_COUNT)) return vt_shapes_seterr(err, cap, "background %d is out of range", s->background);
    if (!in_range(s->motion, 0, VT_MOTION_COUNT)) return vt_shapes_seterr(err, cap, "motion %d is out of range", s->motion);
    if (s->motion == VT_MOTION_RECOLOUR && !in_range(s->motion_colour, 0, VT_COLOUR_COUNT))
        return vt_shapes_seterr(err, cap, "a colour change needs motion_colour");
    return 0;
}

/* ---- canonical captions ---- */

typedef struct writer {
    char *buf;
    size_t cap, len;
    int over;
} writer;

static void put(writer *w, const char *word) {
    size_t n = strlen(word);
    size_t need = w->len + (w->len ? 1 : 0) + n;
    if (w->over || need + 1 > w->cap) {
        w->over = 1;
        return;
    }
    if (w->len) w->buf[w->len++] = ' ';
    memcpy(w->buf + w->len, word, n + 1);
    w->len += n;
}

/* "a" or "an" before `next` (only "orange" of the world's words needs "an"). */
static const char *article(const char *next) { return strchr("aeiou", next[0]) ? "an" : "a"; }

static void put_np(writer *w, const vt_shapes_group *g) {
    const char *first = g->size >= 0 ? size_names[g->size] : g->colour >= 0 ? colour_names[g->colour] : shape_names[g->shape];
    put(w, g->count == 1 ? article(first) : g->count == 2 ? "two" : "three");
    if (g->size >= 0) put(w, size_names[g->size]);
    if (g->colour >= 0) put(w, colour_names[g->colour]);
    put(w, g->count == 1 ? shape_names[g->shape] : shape_plurals[g->shape]);
    if (g->cell >= 0) {
        put(w, "in the");
        put(w, cell_names[g->cell]);
    }
}

/* "the [colour] shape": how an instruction refers to an object of the source. */
static void put_ref(writer *w, const vt_shapes_group *g) {
    put(w, "the");
    if (g->colour >= 0) put(w, colour_names[g->colour]);
    put(w, shape_names[g->shape]);
}

int vt_shapes_caption(const vt_shapes_spec *s, int edit_instruction, char *buf, size_t cap) {
    if (!buf || !cap || vt_shapes_spec_check(s, edit_instruction, NULL, 0)) return VT_E_INVALID;
    writer w = {buf, cap, 0, 0};
    buf[0] = 0;
    if (edit_instruction) {
        switch (s->edit) {
        case VT_EDIT_RECOLOUR:
            put(&w, "make");
            put_ref(&w, &s->group[0]);
            put(&w, colour_names[s->edit_colour]);
            break;
        case VT_EDIT_MOVE:
            put(&w, "move");
            put_ref(&w, &s->group[0]);
            put(&w, "to the");
            put(&w, cell_names[s->edit_cell]);
            break;
        case VT_EDIT_ADD:
            put(&w, "add");
            put_np(&w, &s->edit_group);
            break;
        case VT_EDIT_REMOVE:
            put(&w, "remove");
            put_ref(&w, &s->group[0]);
            break;
        default:
            put(&w, "change the background to");
            put(&w, colour_names[s->edit_colour]);
            break;
        }
    } else {
        put_np(&w, &s->group[0]);
        if (s->n_groups == 2) {
            put(&w, s->relation ? relation_words[s->relation] : "and");
            put_np(&w, &s->group[1]);
        }
        if (s->motion != VT_MOTION_NONE) {
            put(&w, motion_names[s->motion]);
            if (s->motion == VT_MOTION_RECOLOUR) put(&w, colour_names[s->motion_colour]);
        }
        if (s->background >= 0) {
            put(&w, "on");
            put(&w, article(colour_names[s->background]));
            put(&w, colour_names[s->background]);
            put(&w, "background");
        }
    }
    if (w.over) {
        buf[0] = 0;
        return VT_E_INVALID;
    }
    return (int)w.len;
}

/* ---- parsing ---- */

enum { MAX_TOKENS = 48, TOKEN_CAP = 16 };

typedef struct parser {
    char tok[MAX_TOKENS][TOKEN_CAP];
    int n, i;
    char *err;
    size_t errcap;
} parser;

/* Words are runs of ASCII letters and digits, lowercased: case and punctuation
 * carry nothing, as for the engine's tokenizer (docs/encoders.md). */
static int tokenize(parser *p, const char *text) {
    p->n = p->i = 0;
    const char *c = text;
    while (*c) {
        unsigned char ch = (unsigned char)*c;
        int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum) {
            c++;
            continue;
        }
        if (p->n == MAX_TOKENS) return vt_shapes_seterr(p->err, p->errcap, "caption too long (more than %d words)", MAX_TOKENS);
        int len = 0;
        const char *start = c;
        for (; (ch = (unsigned char)*c) && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'));
             c++) {
            if (len < TOKEN_CAP - 1) p->tok[p->n][len] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
            len++;
        }
        if (len >= TOKEN_CAP) return vt_shapes_seterr(p->err, p->errcap, "unknown word '%.*s'", (int)(c - start), start);
        p->tok[p->n][len] = 0;
        p->n++;
    }
    if (!p->n) return vt_shapes_seterr(p->err, p->errcap, "empty caption");
    return 0;
}

static const char *peek(const parser *p, int k) { return p->i + k < p->n ? p->tok[p->i + k] : ""; }

static int accept(parser *p, const char *word) {
    if (strcmp(peek(p, 0), word)) return 0;
    p->i++;
    return 1;
}

static int fail(parser *p, const char *expected) {
    if (p->i >= p->n) return vt_shapes_seterr(p->err, p->errcap, "expected %s at the end", expected);
    return vt_shapes_seterr(p->err, p->errcap, "expected %s, got '%s' (word %d)", expected, p->tok[p->i], p->i + 1);
}

static int expect(parser *p, const char *word) {
    if (accept(p, word)) return 0;
    char what[32];
    snprintf(what, sizeof what, "'%s'", word);
    return fail(p, what);
}

static int lookup(const char *word, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(word, names[i])) return i;
    return -1;
}

/* Accepts a word of `names`; its index, or -1 without moving. */
static int accept_of(parser *p, const char *const *names, int n) {
    int k = lookup(peek(p, 0), names, n);
    if (k >= 0) p->i++;
    return k;
}

static int parse_cell(parser *p, int *cell) {
    static const char *const rows[] = {"top", "center", "bottom"};
    static const char *const cols[] = {"left", "center", "right"};
    int row = accept_of(p, rows, 3);
    if (row < 0) return fail(p, "top, center or bottom");
    int col = lookup(peek(p, 0), cols, 3);
    if (row == 1) {
        /* "in the center left of a square": "center", then the relation */
        if (col == 0 || col == 2) {
            if (!strcmp(peek(p, 1), "of")) col = 1;
            else p->i++;
        } else {
            col = 1;
        }
    } else {
        if (col < 0) return fail(p, "left, center or right");
        p->i++;
    }
    *cell = row * 3 + col;
    return 0;
}

static int parse_np(parser *p, vt_shapes_group *g) {
    static const char *const dets[] = {"a", "an", "two", "three"};
    int det = accept_of(p, dets, 4);
    if (det < 0) return fail(p, "'a', 'two' or 'three'");
    g->count = det < 2 ? 1 : det;
    g->size = accept_of(p, size_names, VT_SIZE_COUNT);
    g->colour = accept_of(p, colour_names, VT_COLOUR_COUNT);
    g->shape = accept_of(p, g->count == 1 ? shape_names : shape_plurals, VT_SHAPE_COUNT);
    if (g->shape < 0) {
        if (lookup(peek(p, 0), g->count == 1 ? shape_plurals : shape_names, VT_SHAPE_COUNT) >= 0)
            return fail(p, g->count == 1 ? "a singular shape after 'a'" : "a plural shape after a number");
        return fail(p, "a shape");
    }
    g->cell = -1;
    if (accept(p, "in")) {
        int rc = expect(p, "the");
        if (!rc) rc = parse_cell(p, &g->cell);
        if (rc) return rc;
    }
    return 0;
}

static int parse_ref(parser *p, vt_shapes_group *g) {
    int rc = expect(p, "the");
    if (rc) return rc;
    g->count = 1;
    g->colour = accept_of(p, colour_names, VT_COLOUR_COUNT);
    g->shape = accept_of(p, shape_names, VT_SHAPE_COUNT);
    return g->shape < 0 ? fail(p, "a shape") : 0;
}

static int parse_colour(parser *p, int *colour) {
    *colour = accept_of(p, colour_names, VT_COLOUR_COUNT);
    return *colour < 0 ? fail(p, "a colour") : 0;
}

static int parse_instruction(parser *p, vt_shapes_spec *s) {
    int rc;
    if (accept(p, "make")) {
        s->edit = VT_EDIT_RECOLOUR;
        s->n_groups = 1;
        if ((rc = parse_ref(p, &s->group[0])) || (rc = parse_colour(p, &s->edit_colour))) return rc;
    } else if (accept(p, "move")) {
        s->edit = VT_EDIT_MOVE;
        s->n_groups = 1;
        if ((rc = parse_ref(p, &s->group[0])) || (rc = expect(p, "to")) || (rc = expect(p, "the")) ||
            (rc = parse_cell(p, &s->edit_cell)))
            return rc;
    } else if (accept(p, "add")) {
        s->edit = VT_EDIT_ADD;
        if ((rc = parse_np(p, &s->edit_group))) return rc;
    } else if (accept(p, "remove")) {
        s->edit = VT_EDIT_REMOVE;
        s->n_groups = 1;
        if ((rc = parse_ref(p, &s->group[0]))) return rc;
    } else if (accept(p, "change")) {
        s->edit = VT_EDIT_BACKGROUND;
        if ((rc = expect(p, "the")) || (rc = expect(p, "background")) || (rc = expect(p, "to")) ||
            (rc = parse_colour(p, &s->edit_colour)))
            return rc;
    } else {
        return fail(p, "an instruction (make, move, add, remove, change)");
    }
    return 0;
}

static int parse_caption(parser *p, vt_shapes_spec *s) {
    int rc = parse_np(p, &s->group[0]);
    if (rc) return rc;
    s->n_groups = 1;
    if (!strcmp(peek(p, 0), "left") && !strcmp(peek(p, 1), "of")) s->relation = VT_REL_LEFT_OF;
    else if (!strcmp(peek(p, 0), "right") && !strcmp(peek(p, 1), "of")) s->relation = VT_REL_RIGHT_OF;
    else if (!strcmp(peek(p, 0), "above")) s->relation = VT_REL_ABOVE;
    else if (!strcmp(peek(p, 0), "below")) s->relation = VT_REL_BELOW;
    if (s->relation || !strcmp(peek(p, 0), "and")) {
        p->i += s->relation == VT_REL_LEFT_OF || s->relation == VT_REL_RIGHT_OF ? 2 : 1;
        if ((rc = parse_np(p, &s->group[1]))) return rc;
        s->n_groups = 2;
    }
    if (accept(p, "moving")) {
        static const char *const dirs[] = {"left", "right", "up", "down"};
        int d = accept_of(p, dirs, 4);
        if (d < 0) return fail(p, "left, right, up or down");
        s->motion = VT_MOTION_LEFT + d;
    } else if (accept(p, "growing")) {
        s->motion = VT_MOTION_GROW;
    } else if (accept(p, "shrinking")) {
        s->motion = VT_MOTION_SHRINK;
    } else if (accept(p, "rotating")) {
        s->motion = VT_MOTION_ROTATE;
    } else if (accept(p, "turning")) {
        s->motion = VT_MOTION_RECOLOUR;
        if ((rc = parse_colour(p, &s->motion_colour))) return rc;
    }
    if (accept(p, "on")) {
        if (!accept(p, "a") && !accept(p, "an")) return fail(p, "'a'");
        if ((rc = parse_colour(p, &s->background)) || (rc = expect(p, "background"))) return rc;
    }
    return 0;
}

int vt_shapes_parse(const char *text, int edit_instruction, vt_shapes_spec *out, char *err, size_t errcap) {
    if (err && errcap) err[0] = 0;
    if (!out) return vt_shapes_seterr(err, errcap, "no output spec");
    vt_shapes_spec_clear(out);
    if (!text) return vt_shapes_seterr(err, errcap, "no caption");
    parser p;
    p.err = err;
    p.errcap = errcap;
    int rc = tokenize(&p, text);
    if (!rc) rc = edit_instruction ? parse_instruction(&p, out) : parse_caption(&p, out);
    if (!rc && p.i < p.n) rc = vt_shapes_seterr(err, errcap, "unexpected '%s' (word %d) after a complete %s", p.tok[p.i], p.i + 1,
                                      edit_instruction ? "instruction" : "caption");
    if (!rc) rc = vt_shapes_spec_check(out, edit_instruction, err, errcap);
    if (rc) {
        vt_shapes_spec_clear(out);
        return rc;
    }
    out->category = vt_shapes_category_of(out);
    return 0;
}

/* ---- the held-out split ---- */

/* FNV-1a (64-bit) of the caption's words, lowercased and joined by single
 * spaces (a canonical caption is already in that form); held out when the hash
 * is 0 modulo 10. A caption, never a scene, is what a model could memorise, so
 * the split is by caption: about one in ten of every category is never trained on. */
int vt_shapes_held_out(const char *canonical_caption) {
    if (!canonical_caption) return 0;
    uint64_t h = 0xcbf29ce484222325ull;
    int pending_space = 0, any = 0;
    for (const unsigned char *c = (const unsigned char *)canonical_caption; *c; c++) {
        unsigned ch = *c;
        int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum) {
            pending_space = any;
            continue;
        }
        if (pending_space) {
            h = (h ^ ' ') * 0x100000001b3ull;
            pending_space = 0;
        }
        if (ch >= 'A' && ch <= 'Z') ch = ch - 'A' + 'a';
        h = (h ^ ch) * 0x100000001b3ull;
        any = 1;
    }
    return h % 10 == 0;
}

/* ---- random specs ---- */

/* A colour outside `mask` (bit c = colour c taken); the mask never covers all 12. */
static int pick_colour(vt_shapes_rng *r, unsigned mask) {
    int c;
    do c = vt_shapes_rng_below(r, VT_COLOUR_COUNT);
    while (mask >> c & 1);
    return c;
}

static int pick_shape(vt_shapes_rng *r, unsigned mask) {
    int s;
    do s = vt_shapes_rng_below(r, VT_SHAPE_COUNT);
    while (mask >> s & 1);
    return s;
}

static unsigned bit(int c) { return c >= 0 ? 1u << c : 0u; }

static void one(vt_shapes_group *g, int shape) {
    g->count = 1;
    g->shape = shape;
}

/* Two objects of different shapes in groups 0 and 1. */
static void two_shapes(vt_shapes_rng *r, vt_shapes_spec *s) {
    s->n_groups = 2;
    one(&s->group[0], pick_shape(r, 0));
    one(&s->group[1], pick_shape(r, bit(s->group[0].shape)));
}

static void maybe_size(vt_shapes_rng *r, vt_shapes_group *g, float p) {
    if (vt_shapes_rng_chance(r, p)) g->size = vt_shapes_rng_below(r, VT_SIZE_COUNT);
}

/* Two large objects side by side in adjacent cells, or far enough apart for
 * a relation, do not fit: the second becomes small or medium. */
static void not_both_large(vt_shapes_rng *r, vt_shapes_spec *s) {
    if (s->n_groups == 2 && s->group[0].size == VT_SIZE_LARGE && s->group[1].size == VT_SIZE_LARGE)
        s->group[1].size = vt_shapes_rng_below(r, 2);
}

static void maybe_background(vt_shapes_rng *r, vt_shapes_spec *s, float p) {
    if (!vt_shapes_rng_chance(r, p)) return;
    unsigned used = bit(s->motion_colour);
    for (int i = 0; i < s->n_groups; i++) used |= bit(s->group[i].colour);
    s->background = pick_colour(r, used);
}

static void gen_single(vt_shapes_rng *r, vt_shapes_spec *s) {
    s->n_groups = 1;
    one(&s->group[0], pick_shape(r, 0));
    if (vt_shapes_rng_chance(r, 0.5f)) s->group[0].colour = pick_colour(r, 0);
    maybe_size(r, &s->group[0], 0.5f);
}

static void gen_two(vt_shapes_rng *r, vt_shapes_spec *s) {
    two_shapes(r, s);
    /* never two different stated colours: that is binding */
    switch (vt_shapes_rng_below(r, 4)) {
    case 1: s->group[0].colour = pick_colour(r, 0); break;
    case 2: s->group[1].colour = pick_colour(r, 0); break;
    case 3: s->group[0].colour = s->group[1].colour = pick_colour(r, 0); break;
    default: break;
    }
    maybe_size(r, &s->group[0], 0.3f);
    maybe_size(r, &s->group[1], 0.3f);
    not_both_large(r, s);
    maybe_background(r, s, 0.2f);
}

static void gen_counting(vt_shapes_rng *r, vt_shapes_spec *s) {
    s->n_groups = 1;
    vt_shapes_group *g = &s->group[0];
    g->count = 2 + vt_shapes_rng_below(r, 2);
    g->shape = pick_shape(r, 0);
    g->colour = pick_colour(r, 0);
    /* three large ones do not fit with room between them */
    if (vt_shapes_rng_chance(r, 0.4f)) g->size = vt_shapes_rng_below(r, g->count == 3 ? 2 : 3);
    maybe_background(r, s, 0.2f);
}

static void gen_colours(vt_shapes_rng *r, vt_shapes_spec *s) {
    s->n_groups = 1;
    one(&s->group[0], pick_shape(r, 0));
    s->group[0].colour = pick_colour(r, 0);
    maybe_size(r, &s->group[0], 0.3f);
    maybe_background(r, s, 1.0f);
}

static void gen_position(vt_shapes_rng *r, vt_shapes_spec *s) {
    int form = vt_shapes_rng_below(r, 5); /* 0-1: a cell, 2-3: a relation, 4: two cells */
    if (form < 2) {
        s->n_groups = 1;
        one(&s->group[0], pick_shape(r, 0));
        s->group[0].cell = vt_shapes_rng_below(r, VT_SHAPES_CELLS);
    } else {
        two_shapes(r, s);
        if (form < 4) {
            s->relation = VT_REL_LEFT_OF + vt_shapes_rng_below(r, 4);
        } else {
            s->group[0].cell = vt_shapes_rng_below(r, VT_SHAPES_CELLS);
            do s->group[1].cell = vt_shapes_rng_below(r, VT_SHAPES_CELLS);
            while (s->group[1].cell == s->group[0].cell);
        }
    }
    for (int i = 0; i < s->n_groups; i++) {
        if (vt_shapes_rng_chance(r, 0.6f)) s->group[i].colour = pick_colour(r, 0);
        /* two objects in neighbouring cells: a large one leaves the other no room */
        if (form == 4) {
            if (vt_shapes_rng_chance(r, 0.3f)) s->group[i].size = vt_shapes_rng_below(r, 2);
        } else {
            maybe_size(r, &s->group[i], 0.3f);
        }
    }
    not_both_large(r, s);
    maybe_background(r, s, 0.15f);
}

static void gen_binding(vt_shapes_rng *r, vt_shapes_spec *s) {
    two_shapes(r, s);
    s->group[0].colour = pick_colour(r, 0);
    s->group[1].colour = pick_colour(r, bit(s->group[0].colour));
    maybe_size(r, &s->group[0], 0.3f);
    maybe_size(r, &s->group[1], 0.3f);
    not_both_large(r, s);
    maybe_background(r, s, 0.2f);
}

static void gen_motion(vt_shapes_rng *r, vt_shapes_spec *s) {
    s->n_groups = 1;
    vt_shapes_group *g = &s->group[0];
    s->motion = VT_MOTION_LEFT + vt_shapes_rng_below(r, VT_MOTION_COUNT - 1);
    /* a turning circle or ring looks still */
    one(g, pick_shape(r, s->motion == VT_MOTION_ROTATE ? bit(VT_SHAPE_CIRCLE) | bit(VT_SHAPE_RING) : 0));
    if (s->motion == VT_MOTION_RECOLOUR || vt_shapes_rng_chance(r, 0.7f)) g->colour = pick_colour(r, 0);
    if (s->motion == VT_MOTION_RECOLOUR) s->motion_colour = pick_colour(r, bit(g->colour));
    if (vt_shapes_rng_chance(r, 0.4f)) {
        /* a small one shrunk would be a speck, a large one grown would not fit */
        if (s->motion == VT_MOTION_GROW) g->size = vt_shapes_rng_below(r, 2);
        else if (s->motion == VT_MOTION_SHRINK) g->size = 1 + vt_shapes_rng_below(r, 2);
        else g->size = vt_shapes_rng_below(r, VT_SIZE_COUNT);
    }
    maybe_background(r, s, 0.2f);
}

/* An instruction and its source scene: every object of the source has a stated
 * shape (all different, so "the circle" is one object), colour, small or
 * medium size and cell (all different, so a move has somewhere to go). */
static void gen_edit(vt_shapes_rng *r, vt_shapes_spec *s, vt_shapes_spec *src) {
    s->edit = VT_EDIT_RECOLOUR + vt_shapes_rng_below(r, VT_EDIT_COUNT - 1);
    src->n_groups = s->edit == VT_EDIT_REMOVE ? 2 : 1 + vt_shapes_rng_below(r, 2);
    src->background = pick_colour(r, 0);
    unsigned shapes = 0, colours = 0, cells = 0;
    for (int i = 0; i < src->n_groups; i++) {
        vt_shapes_group *g = &src->group[i];
        one(g, pick_shape(r, shapes));
        g->colour = pick_colour(r, bit(src->background));
        g->size = vt_shapes_rng_below(r, 2);
        do g->cell = vt_shapes_rng_below(r, VT_SHAPES_CELLS);
        while (cells >> g->cell & 1);
        shapes |= bit(g->shape);
        colours |= bit(g->colour);
        cells |= bit(g->cell);
    }
    src->category = vt_shapes_category_of(src);
    switch (s->edit) {
    case VT_EDIT_RECOLOUR:
    case VT_EDIT_MOVE:
    case VT_EDIT_REMOVE:
        s->n_groups = 1;
        one(&s->group[0], src->group[0].shape);
        if (s->edit == VT_EDIT_RECOLOUR) s->edit_colour = pick_colour(r, bit(src->background) | bit(src->group[0].colour));
        if (s->edit == VT_EDIT_MOVE) {
            /* a cell beside an occupied one may have no room left: avoid the
             * 8 neighbours of occupied cells when some cell is free of them,
             * else the 4 neighbours, else only the occupied cells */
            unsigned near4 = cells, near8 = cells;
            for (int c = 0; c < VT_SHAPES_CELLS; c++)
                for (int d = 0; d < VT_SHAPES_CELLS; d++) {
                    int dr = c / 3 - d / 3, dc = c % 3 - d % 3;
                    if (!(cells >> c & 1) || dr * dr > 1 || dc * dc > 1) continue;
                    near8 |= bit(d);
                    if (dr * dc == 0) near4 |= bit(d);
                }
            unsigned all = (1u << VT_SHAPES_CELLS) - 1;
            unsigned avoid = near8 != all ? near8 : near4 != all ? near4 : cells;
            do s->edit_cell = vt_shapes_rng_below(r, VT_SHAPES_CELLS);
            while (avoid >> s->edit_cell & 1);
        }
        break;
    case VT_EDIT_ADD:
        one(&s->edit_group, pick_shape(r, shapes));
        if (vt_shapes_rng_chance(r, 0.7f)) s->edit_group.colour = pick_colour(r, bit(src->background));
        if (vt_shapes_rng_chance(r, 0.5f)) s->edit_group.size = vt_shapes_rng_below(r, 2);
        break;
    default: s->edit_colour = pick_colour(r, bit(src->background) | colours); break;
    }
}

int vt_shapes_random_spec(uint64_t seed, uint64_t index, int category, int held_out, vt_shapes_spec *out,
                          vt_shapes_spec *source) {
    if (!out || category < 0 || category >= VT_CAT_COUNT || (held_out != 0 && held_out != 1)) return VT_E_INVALID;
    int instruction = category == VT_CAT_EDIT;
    char text[256];
    /* about one caption in ten is held out: the other side is always found
     * within a few draws; the bound only guards a broken rule */
    for (uint32_t attempt = 0; attempt < 100000; attempt++) {
        vt_shapes_rng r = vt_shapes_rng_make(seed, index, (uint64_t)category << 32 | attempt);
        vt_shapes_spec src;
        vt_shapes_spec_clear(out);
        vt_shapes_spec_clear(&src);
        switch (category) {
        case VT_CAT_SINGLE: gen_single(&r, out); break;
        case VT_CAT_TWO: gen_two(&r, out); break;
        case VT_CAT_COUNTING: gen_counting(&r, out); break;
        case VT_CAT_COLOURS: gen_colours(&r, out); break;
        case VT_CAT_POSITION: gen_position(&r, out); break;
        case VT_CAT_BINDING: gen_binding(&r, out); break;
        case VT_CAT_MOTION: gen_motion(&r, out); break;
        default: gen_edit(&r, out, &src); break;
        }
        out->category = vt_shapes_category_of(out);
        if (vt_shapes_caption(out, instruction, text, sizeof text) < 0) return VT_E_INVALID;
        if (vt_shapes_held_out(text) != held_out) continue;
        if (instruction && source) *source = src;
        return 0;
    }
    return VT_E_INVALID;
}
