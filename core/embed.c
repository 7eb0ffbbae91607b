/* DiT's fixed sin-cos position embeddings and its timestep embedding, computed
 * in double and stored as float (facebookresearch/DiT models.py). */
#include <math.h>
#include <string.h>

#include "embed.h"

/* emb[k] = sin(pos·ω_k), emb[half + k] = cos(pos·ω_k), ω_k = 10000^(-k/half). */
static void sincos_1d(float *out, int dim, double pos) {
    int half = dim / 2;
    for (int k = 0; k < half; k++) {
        double omega = 1.0 / pow(10000.0, (double)k / half);
        out[k] = (float)sin(pos * omega);
        out[half + k] = (float)cos(pos * omega);
    }
}

void vt_pos_embed_1d(float *out, int dim, int n) {
    for (int i = 0; i < n; i++) sincos_1d(out + (size_t)i * dim, dim, i);
}

void vt_pos_embed_2d(float *out, int dim, int h, int w) {
    /* DiT: grid = meshgrid(grid_w, grid_h); emb_h uses grid[0] (the column index)
     * and fills the first half, emb_w uses grid[1] (the row index). */
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            float *e = out + ((size_t)r * w + c) * dim;
            sincos_1d(e, dim / 2, c);
            sincos_1d(e + dim / 2, dim / 2, r);
        }
}

void vt_pos_embed_3d(float *out, int dim, int dim_s, int t, int h, int w) {
    for (int f = 0; f < t; f++)
        for (int r = 0; r < h; r++)
            for (int c = 0; c < w; c++) {
                float *e = out + (((size_t)f * h + r) * w + c) * dim;
                sincos_1d(e, dim_s / 2, c);
                sincos_1d(e + dim_s / 2, dim_s / 2, r);
                sincos_1d(e + dim_s, dim - dim_s, f);
            }
}

void vt_timestep_embed(float *out, const float *t, int n, int dim, float max_period) {
    int half = dim / 2;
    for (int i = 0; i < n; i++) {
        float *e = out + (size_t)i * dim;
        for (int k = 0; k < half; k++) {
            /* Exact, rounded once to f32. DiT's torch code forms t·f in f32, so at
             * t ≈ 1000 its values differ from these by up to |t·f|·2^-24 ≈ 6e-5. */
            double f = exp(-log((double)max_period) * k / half);
            double a = (double)t[i] * f;
            e[k] = (float)cos(a);
            e[half + k] = (float)sin(a);
        }
        if (dim % 2) e[dim - 1] = 0.0f;
    }
}
