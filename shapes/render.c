/* Rasterises a shapes-world scene: exact inside tests of each shape at 4×4
 * samples a pixel, objects painted in order over the background. Integer
 * averaging of the samples makes the bytes depend on the scene alone, and a
 * pixel wholly inside an object is exactly its palette colour. */
#include <math.h>
#include <string.h>

#include "shapes_internal.h"
#include "vitrail.h"

#define SS 4 /* samples a pixel along each axis */

/* Shapes are defined in unit coordinates: u right, v up, circumradius 1. */
enum { STAR_POINTS = 5 };
#define STAR_INNER 0.45f /* fatter than the regular star's 0.38: the points stay visible when small */
#define RING_INNER 0.55f
#define CROSS_HALF 0.3f
#define DIAMOND_HALF_WIDTH 0.6f

/* Heart: two lobes (circles) over a pentagon reaching down to the tip; the
 * pentagon's sides are the tangents from the tip to the lobes. */
#define HEART_LOBE_X 0.40f
#define HEART_LOBE_Y 0.30f
#define HEART_LOBE_R 0.42f
static const float heart_poly[5][2] = {{0.0f, -0.95f}, {0.737f, 0.051f}, {0.40f, 0.30f}, {-0.40f, 0.30f}, {-0.737f, 0.051f}};

typedef struct prepared {
    int shape;
    uint8_t rgb[3];
    float cx, cy, inv_r;     /* centre in pixels, 1 / circumradius in pixels */
    float c, s;              /* cos, sin of the angle */
    int x0, y0, x1, y1;      /* pixel bounding box, inclusive */
    float star[2 * STAR_POINTS][2];
} prepared;

/* Even-odd crossing test of a closed polygon. */
static int in_polygon(const float (*p)[2], int n, float u, float v) {
    int in = 0;
    for (int i = 0, j = n - 1; i < n; j = i++) {
        if ((p[i][1] > v) != (p[j][1] > v) && u < (p[j][0] - p[i][0]) * (v - p[i][1]) / (p[j][1] - p[i][1]) + p[i][0])
            in = !in;
    }
    return in;
}

static int inside(const prepared *o, float px, float py) {
    float dx = (px - o->cx) * o->inv_r, dy = (o->cy - py) * o->inv_r; /* y up */
    float u = o->c * dx + o->s * dy, v = -o->s * dx + o->c * dy;     /* undo the rotation */
    float q = u * u + v * v;
    if (q > 1.0f) return 0;
    switch (o->shape) {
    case VT_SHAPE_CIRCLE: return 1;
    case VT_SHAPE_RING: return q >= RING_INNER * RING_INNER;
    case VT_SHAPE_SQUARE: return fabsf(u) <= 0.70710678f && fabsf(v) <= 0.70710678f;
    case VT_SHAPE_DIAMOND: return fabsf(u) / DIAMOND_HALF_WIDTH + fabsf(v) <= 1.0f;
    case VT_SHAPE_TRIANGLE: return v >= -0.5f && 1.7320508f * u + v <= 1.0f && -1.7320508f * u + v <= 1.0f;
    case VT_SHAPE_CROSS: {
        float au = fabsf(u), av = fabsf(v);
        return (au <= CROSS_HALF && av <= 1.0f) || (av <= CROSS_HALF && au <= 1.0f); /* q <= 1 cuts the arm ends */
    }
    case VT_SHAPE_STAR: return in_polygon((const float(*)[2])o->star, 2 * STAR_POINTS, u, v);
    case VT_SHAPE_HEART: {
        float lu = fabsf(u) - HEART_LOBE_X, lv = v - HEART_LOBE_Y;
        if (lu * lu + lv * lv <= HEART_LOBE_R * HEART_LOBE_R) return 1;
        return in_polygon(heart_poly, 5, u, v);
    }
    default: return 0;
    }
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void prepare(const vt_shapes_object *ob, int width, int height, prepared *o) {
    float m = (float)(width < height ? width : height);
    float rad = ob->r * m;
    o->shape = ob->shape;
    vt_shapes_palette(ob->colour, o->rgb);
    o->cx = ob->x * (float)width;
    o->cy = ob->y * (float)height;
    o->inv_r = rad > 0 ? 1.0f / rad : 0.0f;
    o->c = cosf(ob->angle);
    o->s = sinf(ob->angle);
    o->x0 = clampi((int)floorf(o->cx - rad), 0, width - 1);
    o->x1 = clampi((int)ceilf(o->cx + rad), 0, width - 1);
    o->y0 = clampi((int)floorf(o->cy - rad), 0, height - 1);
    o->y1 = clampi((int)ceilf(o->cy + rad), 0, height - 1);
    if (rad <= 0 || o->cx + rad < 0 || o->cy + rad < 0 || o->cx - rad > (float)width || o->cy - rad > (float)height)
        o->x0 = 1, o->x1 = 0; /* nothing to draw */
    for (int k = 0; k < 2 * STAR_POINTS; k++) {
        float a = 1.57079633f + (float)k * (3.14159265f / STAR_POINTS), rr = k % 2 ? STAR_INNER : 1.0f;
        o->star[k][0] = rr * cosf(a);
        o->star[k][1] = rr * sinf(a);
    }
}

int vt_shapes_render(const vt_shapes_scene *scene, int width, int height, uint8_t *rgb) {
    if (!scene || !rgb || width < 16 || height < 16 || width > 16384 || height > 16384) return VT_E_INVALID;
    if (scene->n < 0 || scene->n > VT_SHAPES_MAX_OBJECTS || scene->background < 0 || scene->background >= VT_COLOUR_COUNT)
        return VT_E_INVALID;
    prepared obj[VT_SHAPES_MAX_OBJECTS];
    for (int i = 0; i < scene->n; i++) {
        const vt_shapes_object *o = &scene->obj[i];
        if (o->shape < 0 || o->shape >= VT_SHAPE_COUNT || o->colour < 0 || o->colour >= VT_COLOUR_COUNT ||
            !isfinite(o->x) || !isfinite(o->y) || !isfinite(o->r) || !isfinite(o->angle) || o->r < 0 || o->r > 4.0f ||
            fabsf(o->x) > 4.0f || fabsf(o->y) > 4.0f)
            return VT_E_INVALID;
        prepare(o, width, height, &obj[i]);
    }
    uint8_t bg[3];
    vt_shapes_palette(scene->background, bg);
    for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
            uint8_t *px = rgb + ((size_t)y * width + x) * 3;
            int cand[VT_SHAPES_MAX_OBJECTS], nc = 0;
            for (int i = scene->n - 1; i >= 0; i--) /* topmost first */
                if (x >= obj[i].x0 && x <= obj[i].x1 && y >= obj[i].y0 && y <= obj[i].y1) cand[nc++] = i;
            if (!nc) {
                memcpy(px, bg, 3);
                continue;
            }
            unsigned sum[3] = {0, 0, 0};
            for (int sy = 0; sy < SS; sy++) {
                float fy = (float)y + ((float)sy + 0.5f) / SS;
                for (int sx = 0; sx < SS; sx++) {
                    float fx = (float)x + ((float)sx + 0.5f) / SS;
                    const uint8_t *c = bg;
                    for (int k = 0; k < nc; k++)
                        if (inside(&obj[cand[k]], fx, fy)) {
                            c = obj[cand[k]].rgb;
                            break;
                        }
                    sum[0] += c[0], sum[1] += c[1], sum[2] += c[2];
                }
            }
            for (int ch = 0; ch < 3; ch++) px[ch] = (uint8_t)((sum[ch] + SS * SS / 2) / (SS * SS));
        }
    }
    return 0;
}
