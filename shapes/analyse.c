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
/* An object's core pixels, and pixels no object colour explains, are at least
 * this share of the gap between the background and its nearest other palette
 * colour away from the background (and at least MASK_FLOOR): a noisy or
 * drifted background (±20 levels) stays well inside. */
#define MASK_SHARE 0.4f
#define MASK_FLOOR 24.f
/* A pixel farther than this from every object colour's blend line (background
 * to colour) is taken at its own nearest colour instead. */
#define LINE_DIST 40.f
/* Components smaller than this share of the image are specks, not objects: a
 * small star (circumradius 0.12) covers 1.9% of the image, a ring shrunk in a
 * clip 1.3%. */
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

/* The outermost and innermost half-coverage crossing on each ray from (cx,
 * cy), ray r pointing along M·(cos φ, −sin φ), φ = 2πr/rays, in units of that
 * vector's length, marched `steps` times by STEP; 0 where there is none. */
static void profile(const cover *cv, float cx, float cy, const float M[2][2], int steps, float *inner,
                    float *outer) {
    for (int r = 0; r < VT_SHAPES_RAYS; r++) {
        float phi = 2 * PI_F * (float)r / VT_SHAPES_RAYS;
        float ux = cosf(phi), uy = -sinf(phi);
        float dx = M[0][0] * ux + M[0][1] * uy, dy = M[1][0] * ux + M[1][1] * uy;
        float prev = cover_at(cv, cx, cy);
        float in = prev >= 0.5f ? 0 : -1, out = prev >= 0.5f ? 0 : -1;
        for (int k = 1; k <= steps; k++) {
            float s = STEP * (float)k;
            float a = cover_at(cv, cx + s * dx, cy + s * dy);
            if (prev < 0.5f && a >= 0.5f && in < 0) in = crossing(s - STEP, prev, a);
            if (prev >= 0.5f && a < 0.5f) out = crossing(s - STEP, prev, a);
            prev = a;
        }
        inner[r] = in < 0 ? 0 : in;
        outer[r] = out < 0 ? 0 : out;
    }
}

/* |Fourier coefficient k| of a profile over its mean, k = 0..8: rotation-invariant. */
static void harmonics(const float *rho, float *h) {
    double mean = 0;
    for (int r = 0; r < VT_SHAPES_RAYS; r++) mean += rho[r];
    mean /= VT_SHAPES_RAYS;
    for (int k = 0; k <= 8; k++) {
        double re = 0, im = 0;
        for (int r = 0; r < VT_SHAPES_RAYS; r++) {
            double phi = 2 * 3.14159265358979323846 * r / VT_SHAPES_RAYS;
            re += rho[r] * cos(k * phi);
            im -= rho[r] * sin(k * phi);
        }
        h[k] = mean > 0 ? (float)(sqrt(re * re + im * im) / (VT_SHAPES_RAYS * mean)) : 0;
    }
}

/* 0, or -1 when the object has (next to) no coverage: pixels of its colour
 * that are no blend of it with the background. */
static int measure(vt_shapes_blob *b, const cover *cv) {
    double m0 = 0, mx = 0, my = 0;
    for (int j = 0; j < cv->bh; j++)
        for (int i = 0; i < cv->bw; i++) {
            double a = cv->a[(size_t)j * cv->bw + i];
            m0 += a;
            mx += a * (cv->ox + i + 0.5);
            my += a * (cv->oy + j + 0.5);
        }
    if (m0 < 1.0) return -1;
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

    /* radial profile: the outermost and innermost half-coverage crossing on each ray */
    float smax = 0.5f * sqrtf((float)(cv->bw * cv->bw + cv->bh * cv->bh)) + 2.f;
    int steps = (int)(smax / STEP) + 2;
    float inner[VT_SHAPES_RAYS], outer[VT_SHAPES_RAYS];
    const float id[2][2] = {{1, 0}, {0, 1}};
    profile(cv, b->cx, b->cy, id, steps, inner, outer);
    memcpy(b->rho, outer, sizeof outer);

    /* the same in whitened coordinates: rays mapped through S = C^(1/2) /
     * det(C)^(1/4) (C the covariance), so a stretched or sheared outline is
     * seen with its second moments made isotropic and its area kept. Any
     * triangle is then close to an equilateral one, while a heart keeps its
     * lobes: a generator's slightly stretched triangle (elongation 1.05-1.15)
     * otherwise gains the 2nd and 5th harmonics that mark a heart. */
    {
        const double c20 = m20 / m0, c02 = m02 / m0, c11 = m11 / m0;
        const double sd = sqrt(fmax(c20 * c02 - c11 * c11, 1e-12)), t = sqrt(c20 + c02 + 2 * sd);
        const double q = sqrt(sd); /* det(C)^(1/4) = det(C^(1/2))^(1/2) */
        const float S[2][2] = {{(float)((c20 + sd) / t / q), (float)(c11 / t / q)},
                               {(float)(c11 / t / q), (float)((c02 + sd) / t / q)}};
        float win[VT_SHAPES_RAYS], wout[VT_SHAPES_RAYS];
        /* S stretches a ray by at most √elong */
        profile(cv, b->cx, b->cy, S, (int)((float)steps * sqrtf(fminf(b->elong, 4.f))) + 2, win, wout);
        harmonics(wout, b->wharm);
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
    harmonics(b->rho, b->harm);
    float ho[VT_SHAPES_RAYS];
    memcpy(ho, outer, sizeof ho);
    float mo = median(ho, VT_SHAPES_RAYS);
    float mi = median(inner, VT_SHAPES_RAYS);
    b->hole = mo > 0 ? mi / mo : 0;
    b->fill = rmax > 0 ? b->area / (PI_F * rmax * rmax) : 0;
    b->radius = rmax;
    return 0;
}

/* Where the profile's k-fold ripple peaks, radians counter-clockwise. */
static float ripple_peak(const vt_shapes_blob *b, int k) {
    double re = 0, im = 0;
    for (int r = 0; r < VT_SHAPES_RAYS; r++) {
        double phi = 2 * 3.14159265358979323846 * r / VT_SHAPES_RAYS;
        re += b->rho[r] * cos(k * phi);
        im += b->rho[r] * sin(k * phi);
    }
    return (float)(atan2(im, re) / k);
}

/* The turn (counter-clockwise) from the upright shape, within the shape's
 * symmetry: ±60° for a triangle, ±45° for a square or a cross, ±36° for a
 * star, ±90° for a diamond, ±180° for a heart; 0 for a circle or a ring. The
 * upright shape's k-fold ripple peaks at a vertex (triangle, star up; square
 * at 45°), an arm (cross, 0°), the long axis (diamond, up) or the tip (heart,
 * down, found as the farthest point). */
static float orientation(const vt_shapes_blob *b) {
    int k;
    float upright;
    switch (b->shape) {
    case VT_SHAPE_TRIANGLE: k = 3, upright = PI_F / 2; break;
    case VT_SHAPE_SQUARE: k = 4, upright = PI_F / 4; break;
    case VT_SHAPE_CROSS: k = 4, upright = 0; break;
    case VT_SHAPE_STAR: k = 5, upright = PI_F / 2; break;
    case VT_SHAPE_DIAMOND: k = 2, upright = PI_F / 2; break;
    case VT_SHAPE_HEART: {
        int far = 0;
        for (int r = 1; r < VT_SHAPES_RAYS; r++)
            if (b->rho[r] > b->rho[far]) far = r;
        k = 1, upright = -PI_F / 2;
        float a = 2 * PI_F * (float)far / VT_SHAPES_RAYS - upright;
        return atan2f(sinf(a), cosf(a));
    }
    default: return 0;
    }
    float period = 2 * PI_F / (float)k, a = ripple_peak(b, k) - upright;
    a -= period * floorf(a / period + 0.5f);
    return a;
}

/* ---- shape from the features ---- */

/* A decision list over rotation-invariant features; each test separates one
 * shape with a wide margin at every size (docs/shapes-analyser.md gives the
 * measured values): a ring has a hole; a circle's outline is flat; a diamond is
 * the one elongated shape; then the strongest symmetry of the outline (3-, 4-
 * or 5-fold) and, within a symmetry, how deep the outline dips. */
static int classify(const vt_shapes_blob *b) {
    const float *h = b->harm;
    if (b->hole > 0.3f) return VT_SHAPE_RING; /* 0.55 (0.42 blurred by 1.5 pixels) vs 0 */
    /* flat, with no symmetry: ≥ 0.97 and ≤ 0.01 vs a square's ≤ 0.85 and ≥ 0.04 even when blurred;
     * the harmonics whitened, so that a circle drawn 10-15% wider than high
     * (depth 0.87, plain h2 0.033) is still one, while the depth bound keeps
     * anything stretched by more than 1.25 out */
    float whmax = 0;
    for (int k = 2; k <= 6; k++) whmax = b->wharm[k] > whmax ? b->wharm[k] : whmax;
    if (b->depth > 0.8f && whmax < 0.03f) return VT_SHAPE_CIRCLE;
    if (b->elong > 1.35f) return VT_SHAPE_DIAMOND; /* 1.66 vs ≤ 1.08 (heart) */
    if (h[5] > h[3] && h[5] > h[4]) return VT_SHAPE_STAR;
    if (h[4] > h[3]) {
        /* a cross dips deeper and its 4-fold harmonic is stronger: depth 0.46
         * (0.63 blurred) vs a square's 0.74 (0.84 blurred), h4 0.19 (0.12) vs
         * 0.068 (0.043); the two votes weighed by their margins */
        float cross = (0.68f - b->depth) / 0.1f + (h[4] - 0.09f) / 0.03f;
        return cross > 0 ? VT_SHAPE_CROSS : VT_SHAPE_SQUARE;
    }
    /* a triangle is 3-fold symmetric, with corners that give it a strong 6th
     * harmonic; a heart is only mirror-symmetric (its lobes give it a 5th) and
     * rounder. Read in whitened coordinates (wharm), where a stretched or
     * sheared triangle is an equilateral one again: on the world's renders
     * stretched by up to 1.19 along either axis, sharp or blurred by a pixel,
     * h6/h3 is 0.28-0.38 for a triangle and 0.01-0.07 for a heart, h5 0.000-
     * 0.004 against 0.018-0.031. Each vote is its log-distance from the
     * boundary (the geometric mean of the two sides' nearest values) over the
     * log-distance of that nearest value, and the two are summed. (The plain
     * profile's h2 and h5, votes before, grow with any stretch: a triangle
     * 10% taller than wide was a heart every time.) */
    const float *w = b->wharm;
    const float r63 = w[3] > 0 ? w[6] / w[3] : 0;
    const float t6 = logf(fmaxf(r63, 1e-4f) / 0.134f) / logf(0.278f / 0.134f);
    const float t5 = logf(0.0085f / fmaxf(w[5], 1e-4f)) / logf(0.0085f / 0.004f);
    return t6 + t5 > 0 ? VT_SHAPE_TRIANGLE : VT_SHAPE_HEART;
}

/* ---- the background ---- */

/* The background as a plane in each channel over the image (u, v in [-0.5,
 * 0.5]): a generator's background drifts in colour and brightness across the
 * frame, and object pixels are told apart from it by their distance to it. */
typedef struct bg_plane {
    float c[3][3]; /* channel: constant, per u, per v */
    float iw, ih;
} bg_plane;

static void bg_at(const bg_plane *p, int x, int y, float out[3]) {
    float u = ((float)x + 0.5f) * p->iw - 0.5f, v = ((float)y + 0.5f) * p->ih - 0.5f;
    for (int j = 0; j < 3; j++) out[j] = p->c[j][0] + p->c[j][1] * u + p->c[j][2] * v;
}

/* Solves the 3×3 system m·x = r (Cramer); 0 when singular. */
static int solve3(const double m[3][3], const double r[3], double x[3]) {
    double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                 m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if (fabs(det) < 1e-9) return 0;
    for (int k = 0; k < 3; k++) {
        double a[3][3];
        memcpy(a, m, sizeof a);
        for (int i = 0; i < 3; i++) a[i][k] = r[i];
        x[k] = (a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) +
                a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])) /
               det;
    }
    return 1;
}

/* Least squares over the pixels nearest to the background's palette colour,
 * then again without those the first fit leaves far off (the anti-aliased
 * edges of objects, specks): beyond 3 RMS deviations, and at least 12 levels.
 * Falls back to the palette colour. */
static void bg_fit(bg_plane *p, const uint8_t *rgb, const uint8_t *nearest, int bg, const float *pal_bg, int w, int h) {
    p->iw = 1.0f / (float)w;
    p->ih = 1.0f / (float)h;
    for (int j = 0; j < 3; j++) p->c[j][0] = pal_bg[j], p->c[j][1] = p->c[j][2] = 0;
    float cut2 = 1e30f;
    for (int pass = 0; pass < 3; pass++) {
        double m[3][3] = {{0}}, r[3][3] = {{0}}, err2 = 0;
        long n = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t i = (size_t)y * w + x;
                if (nearest[i] != bg) continue;
                float Bp[3];
                bg_at(p, x, y, Bp);
                float d2 = dist2(Bp, rgb + 3 * i);
                n++;
                if (pass == 1) { /* only the spread around the first fit */
                    err2 += d2;
                    continue;
                }
                if (d2 > cut2) continue;
                double f[3] = {1, ((double)x + 0.5) / w - 0.5, ((double)y + 0.5) / h - 0.5};
                for (int a = 0; a < 3; a++) {
                    for (int b = 0; b < 3; b++) m[a][b] += f[a] * f[b];
                    for (int j = 0; j < 3; j++) r[j][a] += f[a] * rgb[3 * i + j];
                }
            }
        /* too few background pixels to say more than the palette does */
        if (n < (long)((size_t)w * h / 8)) return;
        if (pass == 1) {
            cut2 = 9.f * (float)(err2 / (double)n);
            if (cut2 < 144.f) cut2 = 144.f;
            continue;
        }
        bg_plane q = *p;
        for (int j = 0; j < 3; j++) {
            double x[3];
            if (!solve3(m, r[j], x)) return;
            for (int k = 0; k < 3; k++) q.c[j][k] = (float)x[k];
        }
        *p = q;
    }
}

/* ---- the image ---- */

typedef struct comp_info {
    int colour, size, inner, x0, y0, x1, y1, keep;
} comp_info;

/* A component that hugs a bigger one, in a colour between the background's
 * and the bigger one's, is that one's blurred edge (a blend that happens to be
 * nearest another palette colour, as blue and yellow give gray): its pixels
 * join the bigger one. Returns 0, or VT_SHAPES_E_NOMEM. */
static int merge_fringes(comp_info *ci, int nc, int32_t *comp, int w, int h, const float (*bgc)[3],
                         const float (*seen)[3]) {
    enum { SLOTS = 4 };
    if (nc < 2) return 0;
    int *nb = calloc((size_t)nc * SLOTS * 2, sizeof *nb), *parent = malloc((size_t)nc * sizeof *parent);
    if (!nb || !parent) {
        free(nb);
        free(parent);
        return VT_SHAPES_E_NOMEM;
    }
    /* per component, its first few neighbours and how many of its pixels touch each */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int a = comp[(size_t)y * w + x];
            if (a < 0) continue;
            int seen_b[8], ns = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int u = x + dx, v = y + dy;
                    if (u < 0 || v < 0 || u >= w || v >= h) continue;
                    int b = comp[(size_t)v * w + u];
                    if (b < 0 || b == a) continue;
                    int dup = 0;
                    for (int k = 0; k < ns; k++) dup |= seen_b[k] == b;
                    if (dup) continue;
                    seen_b[ns++] = b;
                    int *slot = nb + (size_t)a * SLOTS * 2;
                    for (int k = 0; k < SLOTS; k++) {
                        if (slot[2 * k + 1] && slot[2 * k] != b) continue;
                        slot[2 * k] = b;
                        slot[2 * k + 1]++;
                        break;
                    }
                }
        }
    float B[3] = {bgc[0][0], bgc[1][0], bgc[2][0]};
    uint8_t cx[3];
    for (int a = 0; a < nc; a++) {
        parent[a] = a;
        const int *slot = nb + (size_t)a * SLOTS * 2;
        int best = -1, bc = 0;
        for (int k = 0; k < SLOTS; k++)
            if (slot[2 * k + 1] > bc && ci[slot[2 * k]].size > ci[a].size) bc = slot[2 * k + 1], best = slot[2 * k];
        if (best < 0 || (float)bc < 0.3f * (float)ci[a].size) continue;
        for (int j = 0; j < 3; j++) {
            float v = seen[ci[a].colour][j];
            cx[j] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
        }
        float r2, al = blend(B, seen[ci[best].colour], cx, &r2);
        if (r2 < LINE_DIST * LINE_DIST && al > 0.1f && al < 0.9f) parent[a] = best;
    }
    for (int a = 0; a < nc; a++) {
        int r = a;
        for (int guard = 0; parent[r] != r && guard < nc; guard++) r = parent[r];
        parent[a] = r;
    }
    for (size_t i = 0; i < (size_t)w * h; i++)
        if (comp[i] >= 0) comp[i] = parent[comp[i]];
    for (int a = 0; a < nc; a++) {
        int r = parent[a];
        if (r == a) continue;
        comp_info *d = &ci[r], *c = &ci[a];
        d->size += c->size;
        if (c->x0 < d->x0) d->x0 = c->x0;
        if (c->x1 > d->x1) d->x1 = c->x1;
        if (c->y0 < d->y0) d->y0 = c->y0;
        if (c->y1 > d->y1) d->y1 = c->y1;
        c->size = 0;
    }
    free(nb);
    free(parent);
    return 0;
}

/* Two objects of one colour that touch make one component. A component is cut
 * where its distance-to-the-outside map has two peaks joined only through a
 * neck narrower than SPLIT_NECK of the lower peak (a flooding watershed that
 * merges basins meeting above that level): touching circles meet at a neck of
 * a pixel or two, while the world's shapes have one peak, or peaks joined
 * high up (a heart's lobes). */
#define SPLIT_NECK 0.5f
/* ...and where both peaks are this far (pixels) from the outside: a small ring
 * at 64×64 is 3.5 pixels thick (its ridge 1.7 from the outside), and noise can
 * pinch it; the smallest star's body reaches 3.5 */
#define SPLIT_MIN_PEAK 2.6f

typedef struct split_px {
    int i;   /* index in the window */
    float d; /* distance to the outside, pixels */
} split_px;

static int by_distance(const void *a, const void *b) {
    float x = ((const split_px *)a)->d, y = ((const split_px *)b)->d;
    return (y > x) - (y < x);
}

static int uf_root(int *parent, int a) {
    while (parent[a] != a) a = parent[a] = parent[parent[a]];
    return a;
}

/* Splits component `id`; new components are appended to *ci. Returns 0, or
 * VT_SHAPES_E_NOMEM. */
static int split_touching(comp_info **cip, int *nc, int *cap, int id, int32_t *comp, int w, int h, int min_area) {
    comp_info c = (*cip)[id];
    int bw = c.x1 - c.x0 + 3, bh = c.y1 - c.y0 + 3; /* one pixel of outside all round */
    size_t nb = (size_t)bw * bh;
    float *dist = malloc(nb * sizeof *dist);
    int *lab = malloc(nb * sizeof *lab), *parent = NULL, *area = NULL;
    float *peak = NULL;
    split_px *px = malloc((size_t)c.size * sizeof *px);
    int rc = VT_SHAPES_E_NOMEM;
    if (!dist || !lab || !px) goto out;
    /* chamfer distance (3-4 weights): cheap and within a few percent of Euclid */
    for (int j = 0; j < bh; j++)
        for (int i = 0; i < bw; i++) {
            int x = c.x0 - 1 + i, y = c.y0 - 1 + j;
            int in = x >= 0 && y >= 0 && x < w && y < h && comp[(size_t)y * w + x] == id;
            dist[(size_t)j * bw + i] = in ? 1e9f : 0;
        }
    for (int pass = 0; pass < 2; pass++) {
        int s = pass ? -1 : 1;
        for (int jj = 0; jj < bh; jj++)
            for (int ii = 0; ii < bw; ii++) {
                int j = pass ? bh - 1 - jj : jj, i = pass ? bw - 1 - ii : ii;
                float *d = &dist[(size_t)j * bw + i];
                if (*d == 0) continue;
                static const int off[4][3] = {{-1, 0, 3}, {0, -1, 3}, {-1, -1, 4}, {1, -1, 4}};
                for (int k = 0; k < 4; k++) {
                    int u = i + s * off[k][0], v = j + s * off[k][1];
                    if (u < 0 || v < 0 || u >= bw || v >= bh) continue;
                    float e = dist[(size_t)v * bw + u] + (float)off[k][2];
                    if (e < *d) *d = e;
                }
            }
    }
    int n = 0;
    for (size_t k = 0; k < nb; k++) {
        lab[k] = -1;
        if (dist[k] > 0) px[n].i = (int)k, px[n++].d = dist[k] / 3.f;
    }
    qsort(px, (size_t)n, sizeof *px, by_distance);
    parent = malloc((size_t)n * sizeof *parent);
    area = calloc((size_t)n, sizeof *area);
    peak = malloc((size_t)n * sizeof *peak);
    if (!parent || !area || !peak) goto out;
    int nbasin = 0;
    for (int k = 0; k < n; k++) {
        int i = px[k].i % bw, j = px[k].i / bw, roots[8], nr = 0, uphill = -1;
        float up = -1;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int u = i + dx, v = j + dy;
                if ((!dx && !dy) || u < 0 || v < 0 || u >= bw || v >= bh || lab[(size_t)v * bw + u] < 0) continue;
                int r = uf_root(parent, lab[(size_t)v * bw + u]), dup = 0;
                /* the pixel belongs where its steepest way up leads */
                if (dist[(size_t)v * bw + u] > up) up = dist[(size_t)v * bw + u], uphill = r;
                for (int q = 0; q < nr; q++) dup |= roots[q] == r;
                if (!dup) roots[nr++] = r;
            }
        if (!nr) {
            parent[nbasin] = nbasin;
            peak[nbasin] = px[k].d;
            lab[px[k].i] = nbasin++;
            continue;
        }
        int top = roots[0];
        for (int q = 1; q < nr; q++)
            if (peak[roots[q]] > peak[top]) top = roots[q];
        for (int q = 0; q < nr; q++) {
            int r = roots[q];
            if (r == top) continue;
            /* meeting at level d: one object unless the neck is narrow for both,
             * and both are more than a thin band (a ring's ridge, a star's point) */
            float low = peak[r] < peak[top] ? peak[r] : peak[top];
            if (px[k].d >= SPLIT_NECK * low || low < SPLIT_MIN_PEAK) parent[r] = top;
        }
        lab[px[k].i] = uf_root(parent, uphill);
    }
    /* the basins: final roots big enough to be objects; small ones go to the
     * big basin they touch most */
    for (int k = 0; k < n; k++) area[uf_root(parent, lab[px[k].i])]++;
    int big = 0, biggest = -1;
    for (int b = 0; b < nbasin; b++)
        if (parent[b] == b && area[b] >= min_area) {
            big++;
            if (biggest < 0 || area[b] > area[biggest]) biggest = b;
        }
    rc = 0;
    if (big < 2) goto out;
    for (int k = 0; k < n; k++) lab[px[k].i] = uf_root(parent, lab[px[k].i]);
    for (int changed = 1, guard = 0; changed && guard < 64; guard++) {
        changed = 0;
        for (int k = n - 1; k >= 0; k--) { /* from the outline inwards */
            int l = lab[px[k].i];
            if (area[l] >= min_area) continue;
            int i = px[k].i % bw, j = px[k].i / bw;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int u = i + dx, v = j + dy;
                    if (u < 0 || v < 0 || u >= bw || v >= bh) continue;
                    int m = lab[(size_t)v * bw + u];
                    if (m >= 0 && area[m] >= min_area && lab[px[k].i] == l) {
                        lab[px[k].i] = m;
                        changed = 1;
                    }
                }
        }
    }
    /* the biggest keeps the id, the others become new components */
    int *newid = malloc((size_t)nbasin * sizeof *newid);
    if (!newid) {
        rc = VT_SHAPES_E_NOMEM;
        goto out;
    }
    for (int b = 0; b < nbasin; b++) newid[b] = -1;
    newid[biggest] = id;
    (*cip)[id].size = 0;
    for (int k = 0; k < n; k++) {
        int l = lab[px[k].i];
        if (area[l] < min_area) l = biggest; /* cut off from every big basin: keep it whole */
        if (newid[l] < 0) {
            if (*nc == *cap) {
                comp_info *g = realloc(*cip, (size_t)*cap * 2 * sizeof *g);
                if (!g) {
                    free(newid);
                    rc = VT_SHAPES_E_NOMEM;
                    goto out;
                }
                *cip = g;
                *cap *= 2;
            }
            newid[l] = (*nc)++;
            comp_info *d = &(*cip)[newid[l]];
            *d = c;
            d->size = 0;
            d->x0 = d->y0 = 1 << 30;
            d->x1 = d->y1 = -1;
        }
        comp_info *d = &(*cip)[newid[l]];
        int x = c.x0 - 1 + px[k].i % bw, y = c.y0 - 1 + px[k].i / bw;
        if (d->size == 0 && newid[l] == id) d->x0 = d->y0 = 1 << 30, d->x1 = d->y1 = -1;
        d->size++;
        if (x < d->x0) d->x0 = x;
        if (x > d->x1) d->x1 = x;
        if (y < d->y0) d->y0 = y;
        if (y > d->y1) d->y1 = y;
        comp[(size_t)y * w + x] = newid[l];
    }
    free(newid);
out:
    free(dist);
    free(lab);
    free(px);
    free(parent);
    free(area);
    free(peak);
    return rc;
}

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
    bg_plane plane;
    bg_fit(&plane, rgb, nearest, bg, pal.c[bg], w, h);
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
    double sum[VT_COLOUR_COUNT][3] = {{0}};
    for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++) {
            size_t i = (size_t)y * w + x;
            int c = nearest[i];
            if (c == bg || !pure[i]) continue;
            float Bp[3];
            bg_at(&plane, x, y, Bp);
            if (dist2(Bp, rgb + 3 * i) < thr2) continue; /* the background, drifted towards another colour */
            if (nearest[i - 1] == c && nearest[i + 1] == c && nearest[i - w] == c && nearest[i + w] == c) {
                core[c]++;
                for (int j = 0; j < 3; j++) sum[c][j] += rgb[3 * i + j];
            }
        }
    /* the colours as drawn: a generator's red is not the palette's red, and
     * the blend lines should start and end where its pixels are */
    float seen[VT_COLOUR_COUNT][3];
    for (int k = 0; k < VT_COLOUR_COUNT; k++)
        for (int j = 0; j < 3; j++) seen[k][j] = core[k] ? (float)(sum[k][j] / (double)core[k]) : pal.c[k][j];
    /* a pixel's class: when the blend of a present colour with the background
     * explains it, that colour if it covers at least half of the pixel (else
     * the background); otherwise, far enough from the background, its own
     * nearest colour */
    for (size_t i = 0; i < np; i++) {
        cls[i] = 255;
        int best = -1;
        float br = LINE_DIST * LINE_DIST, ba = 0, Bp[3];
        bg_at(&plane, (int)(i % w), (int)(i / w), Bp);
        for (int k = 0; k < VT_COLOUR_COUNT; k++) {
            if (k == bg || !core[k]) continue;
            float r2;
            float a = blend(Bp, seen[k], rgb + 3 * i, &r2);
            if (r2 < br) br = r2, best = k, ba = a;
        }
        if (best >= 0) {
            if (ba >= 0.5f) cls[i] = (uint8_t)best;
        } else if (nearest[i] != bg && dist2(Bp, rgb + 3 * i) >= thr2) {
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
    if (merge_fringes(ci, nc, comp, w, h, plane.c, seen)) goto done;
    int min_area = (int)(MIN_AREA_SHARE * (float)np);
    if (min_area < 4) min_area = 4;
    for (int k = 0, n0 = nc; k < n0; k++)
        if (ci[k].size >= 2 * min_area && split_touching(&ci, &nc, &cap, k, comp, w, h, min_area)) goto done;

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
        const float *C = seen[c->colour];
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
                float Bp[3];
                bg_at(&plane, x, y, Bp);
                cov[(size_t)j * cv.bw + i] = blend(Bp, C, rgb + 3 * p, NULL);
            }
        vt_shapes_blob *b = &out->blob[out->n];
        memset(b, 0, sizeof *b);
        b->colour = c->colour;
        if (measure(b, &cv)) {
            out->n_total--;
            continue;
        }
        out->n++;
        b->shape = classify(b);
        b->angle = orientation(b);
        b->radius /= radius_seen[b->shape];
        b->size = vt_shapes_size_class(b->radius / (float)(w < h ? w : h));
    }
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
