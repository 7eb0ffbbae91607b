/* analyse.c — the shapes analyser: which objects an image shows (palette
 * colour, shape, size, place), recovered from the pixels alone so that a
 * generated image can be checked against its caption (check.c).
 * docs/shapes-analyser.md explains the method and its thresholds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyse_internal.h"
#include "shapes_internal.h"

#define PI_F 3.14159265358979f

/* A pixel within this RGB distance of a palette colour is that colour for
 * sure: half the smallest gap between two palette colours leaves room for
 * noise and for a generator's drift. */
#define PURE_DIST 48.f
/* A pixel is foreground when it is farther from the background colour than
 * this share of the gap to the background's nearest other palette colour: an
 * anti-aliased edge pixel belongs to the object once the object covers about
 * half of it, and noise (±20 levels) stays well inside. */
#define MASK_SHARE 0.4f
#define MASK_FLOOR 24.f
/* A pixel farther than this from every object colour's blend line (background
 * to colour) is taken at its own nearest colour instead. */
#define LINE_DIST 40.f
/* Components smaller than this share of the image are specks, not objects: a
 * small star at 64×64 covers ~1.2% (0.10 circumradius), a quarter of it is 0.3%. */
#define MIN_AREA_SHARE 0.003f
/* ...and those without this many pixels (and share of their pixels) inside
 * them, away from their outline, are lines: a codec's colour fringe along an
 * edge is one or two pixels wide and has none, while a medium ring shrunk to
 * 6 pixels in a clip, 2.8 thick, still keeps a few through H.264. */
#define MIN_INNER 2
#define MIN_INNER_SHARE 0.03f
/* Radial profile march step, pixels. */
#define STEP 0.25f

typedef struct palette {
    float c[VT_COLOUR_COUNT][3];
} palette;

static void palette_load(palette *p) {
    for (int k = 0; k < VT_COLOUR_COUNT; k++) {
        uint8_t rgb[3];
        vt_shapes_palette(k, rgb);
        for (int j = 0; j < 3; j++) p->c[k][j] = rgb[j];
    }
}

static float dist2(const float *a, const uint8_t *p) {
    float d0 = (float)p[0] - a[0], d1 = (float)p[1] - a[1], d2 = (float)p[2] - a[2];
    return d0 * d0 + d1 * d1 + d2 * d2;
}

/* How much of colour c over background b pixel p shows (its projection on the
 * b→c line, clamped to [0, 1]), and its squared distance from that blend. */
static float blend(const float *b, const float *c, const uint8_t *p, float *resid2) {
    float v[3], q[3], vv = 0, qv = 0;
    for (int j = 0; j < 3; j++) {
        v[j] = c[j] - b[j];
        q[j] = (float)p[j] - b[j];
        vv += v[j] * v[j];
        qv += q[j] * v[j];
    }
    float a = vv > 0 ? qv / vv : 0;
    a = a < 0 ? 0 : a > 1 ? 1 : a;
    if (resid2) {
        float r = 0;
        for (int j = 0; j < 3; j++) {
            float e = q[j] - a * v[j];
            r += e * e;
        }
        *resid2 = r;
    }
    return a;
}

int vt_shapes_size_class(float r) {
    /* boundaries at the geometric means of the world's radii: a generator's
     * size errors are relative */
    float rs = vt_shapes_size_radius(VT_SIZE_SMALL), rm = vt_shapes_size_radius(VT_SIZE_MEDIUM),
          rl = vt_shapes_size_radius(VT_SIZE_LARGE);
    if (r < sqrtf(rs * rm)) return VT_SIZE_SMALL;
    if (r < sqrtf(rm * rl)) return VT_SIZE_MEDIUM;
    return VT_SIZE_LARGE;
}

/* The farthest half-coverage point from the centroid, over the circumradius,
 * as measured on the world's renders at 64×64: sharp tips lose their last
 * fraction of a pixel to anti-aliasing (a star's most), a heart's centroid is
 * off its centre. */
static const float radius_seen[VT_SHAPE_COUNT] = {
    [VT_SHAPE_CIRCLE] = 1.01f, [VT_SHAPE_SQUARE] = 0.97f, [VT_SHAPE_TRIANGLE] = 0.94f, [VT_SHAPE_STAR] = 0.92f,
    [VT_SHAPE_RING] = 1.01f,   [VT_SHAPE_CROSS] = 1.00f,  [VT_SHAPE_DIAMOND] = 0.94f,  [VT_SHAPE_HEART] = 0.97f,
};

/* ---- one object's measurements ---- */

/* The object's coverage over a window of the image: (bh, bw), origin (ox, oy). */
typedef struct cover {
    const float *a;
    int ox, oy, bw, bh;
} cover;

/* Bilinear coverage at image point (x, y) (pixel centres at i + 0.5). */
static float cover_at(const cover *cv, float x, float y) {
    float u = x - 0.5f - (float)cv->ox, v = y - 0.5f - (float)cv->oy;
    int i0 = (int)floorf(u), j0 = (int)floorf(v);
    float fu = u - (float)i0, fv = v - (float)j0;
    float s = 0;
    for (int dj = 0; dj < 2; dj++)
        for (int di = 0; di < 2; di++) {
            int i = i0 + di, j = j0 + dj;
            if (i < 0 || j < 0 || i >= cv->bw || j >= cv->bh) continue;
            s += cv->a[(size_t)j * cv->bw + i] * (di ? fu : 1 - fu) * (dj ? fv : 1 - fv);
        }
    return s;
}

/* Where the coverage crosses one half between march samples a0 (at s) and a1
 * (at s + STEP). */
static float crossing(float s, float a0, float a1) {
    float d = a0 - a1;
    float t = fabsf(d) > 1e-6f ? (a0 - 0.5f) / d : 0.5f;
    return s + STEP * (t < 0 ? 0 : t > 1 ? 1 : t);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static float median(float *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_float);
    return n % 2 ? v[n / 2] : 0.5f * (v[n / 2 - 1] + v[n / 2]);
}

static void measure(vt_shapes_blob *b, const cover *cv) {
    double m0 = 0, mx = 0, my = 0;
    for (int j = 0; j < cv->bh; j++)
        for (int i = 0; i < cv->bw; i++) {
            double a = cv->a[(size_t)j * cv->bw + i];
            m0 += a;
            mx += a * (cv->ox + i + 0.5);
            my += a * (cv->oy + j + 0.5);
        }
    b->area = (float)m0;
    b->cx = (float)(mx / m0);
    b->cy = (float)(my / m0);
    double m20 = 0, m02 = 0, m11 = 0;
    for (int j = 0; j < cv->bh; j++)
        for (int i = 0; i < cv->bw; i++) {
            double a = cv->a[(size_t)j * cv->bw + i];
            double dx = cv->ox + i + 0.5 - b->cx, dy = cv->oy + j + 0.5 - b->cy;
            m20 += a * dx * dx;
            m02 += a * dy * dy;
            m11 += a * dx * dy;
        }
    double tr = m20 + m02, det = m20 * m02 - m11 * m11;
    double disc = sqrt(fmax(tr * tr / 4 - det, 0));
    double l1 = tr / 2 + disc, l2 = tr / 2 - disc;
    b->elong = l2 > 1e-9 ? (float)sqrt(l1 / l2) : 99.f;
    float axis = (float)(0.5 * atan2(-2 * m11, m20 - m02)); /* major axis, counter-clockwise (y down) */

    /* radial profile: the outermost and innermost half-coverage crossing on each ray */
    float smax = 0.5f * sqrtf((float)(cv->bw * cv->bw + cv->bh * cv->bh)) + 2.f;
    int steps = (int)(smax / STEP) + 2;
    float inner[VT_SHAPES_RAYS], outer[VT_SHAPES_RAYS];
    for (int r = 0; r < VT_SHAPES_RAYS; r++) {
        float phi = 2 * PI_F * (float)r / VT_SHAPES_RAYS;
        float dx = cosf(phi), dy = -sinf(phi);
        float prev = cover_at(cv, b->cx, b->cy);
        float in = prev >= 0.5f ? 0 : -1, out = prev >= 0.5f ? 0 : -1;
        for (int k = 1; k <= steps; k++) {
            float s = STEP * (float)k;
            float a = cover_at(cv, b->cx + s * dx, b->cy + s * dy);
            if (prev < 0.5f && a >= 0.5f && in < 0) in = crossing(s - STEP, prev, a);
            if (prev >= 0.5f && a < 0.5f) out = crossing(s - STEP, prev, a);
            prev = a;
        }
        inner[r] = in < 0 ? 0 : in;
        outer[r] = out < 0 ? 0 : out;
        b->rho[r] = outer[r];
    }
    float mean = 0, rmax = 0;
    for (int r = 0; r < VT_SHAPES_RAYS; r++) {
        mean += b->rho[r];
        if (b->rho[r] > rmax) rmax = b->rho[r];
    }
    mean /= VT_SHAPES_RAYS;
    /* the min/max depth of a smoothed profile: one noisy ray should not make a dent */
    float smin = 1e9f, smx = 0;
    for (int r = 0; r < VT_SHAPES_RAYS; r++) {
        float s = 0.25f * b->rho[(r + VT_SHAPES_RAYS - 1) % VT_SHAPES_RAYS] + 0.5f * b->rho[r] +
                  0.25f * b->rho[(r + 1) % VT_SHAPES_RAYS];
        if (s < smin) smin = s;
        if (s > smx) smx = s;
    }
    b->depth = smx > 0 ? smin / smx : 0;
    float phase[9] = {0};
    for (int k = 0; k <= 8; k++) {
        double re = 0, im = 0;
        for (int r = 0; r < VT_SHAPES_RAYS; r++) {
            double phi = 2 * 3.14159265358979323846 * r / VT_SHAPES_RAYS;
            re += b->rho[r] * cos(k * phi);
            im -= b->rho[r] * sin(k * phi);
        }
        b->harm[k] = mean > 0 ? (float)(sqrt(re * re + im * im) / (VT_SHAPES_RAYS * mean)) : 0;
        phase[k] = (float)atan2(im, re);
    }
    float ho[VT_SHAPES_RAYS];
    memcpy(ho, outer, sizeof ho);
    float mo = median(ho, VT_SHAPES_RAYS);
    float mi = median(inner, VT_SHAPES_RAYS);
    b->hole = mo > 0 ? mi / mo : 0;
    b->fill = rmax > 0 ? b->area / (PI_F * rmax * rmax) : 0;
    b->radius = rmax;
    b->angle = axis;
    (void)phase;
}

/* ---- shape from the features ---- */

/* A decision list over rotation-invariant features; each test separates one
 * shape with a wide margin at every size (docs/shapes-analyser.md gives the
 * measured values): a ring has a hole; a circle's outline is flat; a diamond is
 * the one elongated shape; then the strongest symmetry of the outline (3-, 4-
 * or 5-fold) and, within a symmetry, how deep the outline dips. */
static int classify(const vt_shapes_blob *b) {
    const float *h = b->harm;
    if (b->hole > 0.3f) return VT_SHAPE_RING;          /* 0.55 vs 0 */
    if (b->depth > 0.86f) return VT_SHAPE_CIRCLE;      /* 0.97 vs ≤ 0.75 (square) */
    if (b->elong > 1.35f) return VT_SHAPE_DIAMOND;     /* 1.66 vs ≤ 1.06 (heart) */
    if (h[5] > h[3] && h[5] > h[4]) return VT_SHAPE_STAR;
    if (h[4] > h[3]) return b->depth < 0.6f ? VT_SHAPE_CROSS : VT_SHAPE_SQUARE; /* 0.46 vs 0.74 */
    /* a triangle's corners give it a strong 6th harmonic, a heart's lobes and
     * tip do not (0.05 vs 0.003 of the mean radius) */
    return h[6] > 0.2f * h[3] ? VT_SHAPE_TRIANGLE : VT_SHAPE_HEART;
}

/* ---- the image ---- */

typedef struct comp_info {
    int colour, size, inner, x0, y0, x1, y1, keep;
} comp_info;

static int by_size(const void *a, const void *b) {
    const comp_info *x = *(const comp_info *const *)a, *y = *(const comp_info *const *)b;
    return (y->size > x->size) - (y->size < x->size);
}

int vt_shapes_analyse_blobs(const uint8_t *rgb, int w, int h, vt_shapes_analysis *out) {
    if (!out) return VT_SHAPES_E_INVALID;
    memset(out, 0, sizeof *out);
    if (!rgb || w < 8 || h < 8 || w > 16384 || h > 16384 || (size_t)w * h > ((size_t)1 << 26))
        return VT_SHAPES_E_INVALID;
    out->width = w;
    out->height = h;
    size_t np = (size_t)w * h;
    palette pal;
    palette_load(&pal);

    uint8_t *nearest = malloc(np), *pure = malloc(np), *cls = malloc(np);
    int32_t *comp = malloc(np * sizeof *comp), *stack = malloc(np * sizeof *stack);
    comp_info *ci = NULL;
    comp_info **order = NULL;
    float *cov = NULL;
    int rc = VT_SHAPES_E_NOMEM;
    if (!nearest || !pure || !cls || !comp || !stack) goto done;

    /* every pixel's nearest palette colour; the background is the commonest
     * among the pixels that are clearly one colour */
    long hist[VT_COLOUR_COUNT] = {0}, hist_all[VT_COLOUR_COUNT] = {0};
    for (size_t i = 0; i < np; i++) {
        int best = 0;
        float bd = 1e30f;
        for (int k = 0; k < VT_COLOUR_COUNT; k++) {
            float d = dist2(pal.c[k], rgb + 3 * i);
            if (d < bd) bd = d, best = k;
        }
        nearest[i] = (uint8_t)best;
        pure[i] = bd < PURE_DIST * PURE_DIST;
        hist_all[best]++;
        if (pure[i]) hist[best]++;
    }
    long *hh = hist;
    long tot = 0;
    for (int k = 0; k < VT_COLOUR_COUNT; k++) tot += hist[k];
    if (tot < (long)(np / 4)) hh = hist_all;
    int bg = 0;
    for (int k = 1; k < VT_COLOUR_COUNT; k++)
        if (hh[k] > hh[bg]) bg = k;
    out->background = bg;
    const float *B = pal.c[bg];

    float gap = 1e30f;
    for (int k = 0; k < VT_COLOUR_COUNT; k++) {
        if (k == bg) continue;
        float d = 0;
        for (int j = 0; j < 3; j++) d += (pal.c[k][j] - B[j]) * (pal.c[k][j] - B[j]);
        if (d < gap) gap = d;
    }
    float thr = MASK_SHARE * sqrtf(gap);
    if (thr < MASK_FLOOR) thr = MASK_FLOOR;
    float thr2 = thr * thr;

    /* the object colours present: those with core pixels (pure, and agreeing
     * with their four neighbours), so that an edge's blend of red and white is
     * not read as a pink object */
    long core[VT_COLOUR_COUNT] = {0};
    for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++) {
            size_t i = (size_t)y * w + x;
            int c = nearest[i];
            if (c == bg || !pure[i]) continue;
            if (nearest[i - 1] == c && nearest[i + 1] == c && nearest[i - w] == c && nearest[i + w] == c) core[c]++;
        }
    /* a pixel's class: when the blend of a present colour with the background
     * explains it, that colour if it covers at least half of the pixel (else
     * the background); otherwise, far enough from the background, its own
     * nearest colour */
    for (size_t i = 0; i < np; i++) {
        cls[i] = 255;
        int best = -1;
        float br = LINE_DIST * LINE_DIST, ba = 0;
        for (int k = 0; k < VT_COLOUR_COUNT; k++) {
            if (k == bg || !core[k]) continue;
            float r2;
            float a = blend(B, pal.c[k], rgb + 3 * i, &r2);
            if (r2 < br) br = r2, best = k, ba = a;
        }
        if (best >= 0) {
            if (ba >= 0.5f) cls[i] = (uint8_t)best;
        } else if (nearest[i] != bg && dist2(B, rgb + 3 * i) >= thr2) {
            cls[i] = nearest[i];
        }
    }

    /* 8-connected components of one class */
    for (size_t i = 0; i < np; i++) comp[i] = -1;
    int nc = 0, cap = 64;
    ci = malloc((size_t)cap * sizeof *ci);
    if (!ci) goto done;
    for (size_t s = 0; s < np; s++) {
        if (cls[s] == 255 || comp[s] >= 0) continue;
        if (nc == cap) {
            comp_info *g = realloc(ci, (size_t)cap * 2 * sizeof *ci);
            if (!g) goto done;
            ci = g;
            cap *= 2;
        }
        comp_info *c = &ci[nc];
        c->colour = cls[s];
        c->size = 0;
        c->inner = 0;
        c->x0 = c->x1 = (int)(s % w);
        c->y0 = c->y1 = (int)(s / w);
        c->keep = 0;
        size_t top = 0;
        stack[top++] = (int32_t)s;
        comp[s] = nc;
        while (top) {
            size_t i = (size_t)stack[--top];
            int x = (int)(i % w), y = (int)(i / w);
            c->size++;
            if (x < c->x0) c->x0 = x;
            if (x > c->x1) c->x1 = x;
            if (y < c->y0) c->y0 = y;
            if (y > c->y1) c->y1 = y;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int u = x + dx, v = y + dy;
                    if (u < 0 || v < 0 || u >= w || v >= h) continue;
                    size_t j = (size_t)v * w + u;
                    if (comp[j] >= 0 || cls[j] != c->colour) continue;
                    comp[j] = nc;
                    stack[top++] = (int32_t)j;
                }
        }
        nc++;
    }

    /* pixels whose four neighbours are of the same component: a line one or
     * two pixels wide (a codec's colour fringe along an edge) has none */
    for (size_t i = 0; i < np; i++) {
        int c = comp[i];
        if (c < 0) continue;
        int x = (int)(i % w), y = (int)(i / w);
        if (x > 0 && y > 0 && x < w - 1 && y < h - 1 && comp[i - 1] == c && comp[i + 1] == c && comp[i - w] == c &&
            comp[i + w] == c)
            ci[c].inner++;
    }
    int min_area = (int)(MIN_AREA_SHARE * (float)np);
    if (min_area < 4) min_area = 4;
    order = malloc((size_t)(nc ? nc : 1) * sizeof *order);
    if (!order) goto done;
    int nk = 0;
    for (int k = 0; k < nc; k++)
        if (ci[k].size >= min_area && ci[k].inner >= MIN_INNER && ci[k].inner >= MIN_INNER_SHARE * (float)ci[k].size)
            order[nk++] = &ci[k];
    qsort(order, (size_t)nk, sizeof *order, by_size);
    out->n_total = nk;
    if (nk > VT_SHAPES_MAX_BLOBS) nk = VT_SHAPES_MAX_BLOBS;
    for (int k = 0; k < nk; k++) order[k]->keep = 1;

    for (int k = 0; k < nk; k++) {
        const comp_info *c = order[k];
        int id = (int)(c - ci);
        cover cv = {0};
        cv.ox = c->x0 - 2;
        cv.oy = c->y0 - 2;
        cv.bw = c->x1 - c->x0 + 5;
        cv.bh = c->y1 - c->y0 + 5;
        free(cov);
        cov = calloc((size_t)cv.bw * cv.bh, sizeof *cov);
        if (!cov) goto done;
        cv.a = cov;
        const float *C = pal.c[c->colour];
        /* coverage: the component's pixels and the fringe around them (pixels
         * of no kept object next to it), as the share of the colour over the
         * background, so that the outline is found to a fraction of a pixel */
        for (int j = 0; j < cv.bh; j++)
            for (int i = 0; i < cv.bw; i++) {
                int x = cv.ox + i, y = cv.oy + j;
                if (x < 0 || y < 0 || x >= w || y >= h) continue;
                size_t p = (size_t)y * w + x;
                int mine = comp[p] == id;
                if (!mine) {
                    if (comp[p] >= 0 && ci[comp[p]].keep) continue;
                    for (int dy = -1; dy <= 1 && !mine; dy++)
                        for (int dx = -1; dx <= 1 && !mine; dx++) {
                            int u = x + dx, v = y + dy;
                            if (u >= 0 && v >= 0 && u < w && v < h && comp[(size_t)v * w + u] == id) mine = 1;
                        }
                    if (!mine) continue;
                }
                cov[(size_t)j * cv.bw + i] = blend(B, C, rgb + 3 * p, NULL);
            }
        vt_shapes_blob *b = &out->blob[k];
        b->colour = c->colour;
        measure(b, &cv);
        b->shape = classify(b);
        b->radius /= radius_seen[b->shape];
        b->size = vt_shapes_size_class(b->radius / (float)(w < h ? w : h));
    }
    out->n = nk;
    rc = 0;
done:
    free(nearest);
    free(pure);
    free(cls);
    free(comp);
    free(stack);
    free(ci);
    free(order);
    free(cov);
    return rc;
}

void vt_shapes_analysis_found(const vt_shapes_analysis *a, vt_shapes_found *out) {
    memset(out, 0, sizeof *out);
    out->background = a->background;
    out->n = a->n;
    float m = (float)(a->width < a->height ? a->width : a->height);
    for (int k = 0; k < a->n; k++) {
        const vt_shapes_blob *b = &a->blob[k];
        out->obj[k].shape = b->shape;
        out->obj[k].colour = b->colour;
        out->obj[k].size = b->size;
        out->obj[k].x = b->cx / (float)a->width;
        out->obj[k].y = b->cy / (float)a->height;
        out->obj[k].r = b->radius / m;
        out->obj[k].area = b->area / ((float)a->width * (float)a->height);
        out->obj[k].angle = b->angle;
    }
}

int vt_shapes_analyse(const uint8_t *rgb, int width, int height, vt_shapes_found *out) {
    if (!out) return VT_SHAPES_E_INVALID;
    vt_shapes_analysis *a = malloc(sizeof *a);
    if (!a) return VT_SHAPES_E_NOMEM;
    int rc = vt_shapes_analyse_blobs(rgb, width, height, a);
    if (rc == 0)
        vt_shapes_analysis_found(a, out);
    else
        memset(out, 0, sizeof *out);
    free(a);
    return rc;
}

void vt_shapes_blob_turn(const vt_shapes_blob *a, const vt_shapes_blob *b, float *unturned, float *turned,
                         float *turn) {
    enum { N = VT_SHAPES_RAYS };
    float ma = 0, mb = 0;
    for (int j = 0; j < N; j++) ma += a->rho[j], mb += b->rho[j];
    ma = ma > 0 ? ma / N : 1;
    mb = mb > 0 ? mb / N : 1;
    float best = 1e30f, d0 = 0;
    int bs = 0;
    for (int s = 0; s < N; s++) {
        float d = 0;
        for (int j = 0; j < N; j++) d += fabsf(a->rho[j] / ma - b->rho[(j + s) % N] / mb);
        d /= N;
        if (s == 0) d0 = d;
        if (d < best) best = d, bs = s;
    }
    if (unturned) *unturned = d0;
    if (turned) *turned = best;
    if (turn) *turn = 2 * PI_F * (float)(bs > N / 2 ? bs - N : bs) / N;
}
