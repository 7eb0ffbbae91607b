/* Check suite for the fixed embeddings: DiT's sin-cos position embeddings and
 * timestep embedding, against the formulas of facebookresearch/DiT models.py
 * written out here in double, and values computed by hand (Python's math). */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "vt_check.h"
#include "embed.h"

/* The library computes in double and stores f32: each value is within half an
 * ulp of the exact one, ≤ 6e-8 for values in [-1, 1]. */
#define EPS 1e-7

static void near(double got, double want, const char *what, int i) {
    ck_assert_msg(fabs(got - want) <= EPS, "%s[%d]: %.9g, want %.9g", what, i, got, want);
}

START_TEST(timestep_hand_values) {
    /* dim 4: half 2, freqs exp(−ln(1e4)·k/2) = {1, 1e-2}: [cos t, cos t/100, sin t, sin t/100] */
    static const double t1[4] = {0.5403023058681398, 0.9999500004166653, 0.8414709848078965, 0.009999833334166664};
    float t[2] = {1.0f, 250.0f}, e[2 * 4];
    vt_timestep_embed(e, t, 1, 4, 10000.0f);
    for (int k = 0; k < 4; k++) near(e[k], t1[k], "t=1 dim 4", k);
    /* dim 6 at t = 250: freqs {1, 10^(-4/3), 10^(-8/3)}; cos then sin */
    static const double t250[6] = {0.24098830528525864, 0.5715534824215669,  0.8584231825001146,
                                   -0.9705280195418053, -0.8205648156798947, 0.5129421407394551};
    vt_timestep_embed(e, t + 1, 1, 6, 10000.0f);
    for (int k = 0; k < 6; k++) near(e[k], t250[k], "t=250 dim 6", k);
    /* odd dim: DiT appends a zero column */
    float o[2 * 5];
    vt_timestep_embed(o, t, 2, 5, 10000.0f);
    ck_assert(o[4] == 0.0f && o[9] == 0.0f);
    for (int k = 0; k < 4; k++) near(o[k], t1[k], "t=1 dim 5", k);
    /* t = 0: cos 0 = 1, sin 0 = 0 */
    float z = 0.0f, ez[8];
    vt_timestep_embed(ez, &z, 1, 8, 10000.0f);
    for (int k = 0; k < 8; k++) ck_assert(ez[k] == (k < 4 ? 1.0f : 0.0f));
}
END_TEST

START_TEST(timestep_formula) {
    /* DiT-XL's 256 frequencies, and a max_period other than 10000 */
    const float t[4] = {0.0f, 17.0f, 999.0f, 0.25f};
    const float periods[2] = {10000.0f, 500.0f};
    float *e = malloc(sizeof(float) * 4 * 256);
    for (int pi = 0; pi < 2; pi++) {
        vt_timestep_embed(e, t, 4, 256, periods[pi]);
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < 128; k++) {
                /* freqs = exp(−ln(max_period)·arange(half)/half); emb = cat(cos(t·f), sin(t·f)) */
                double f = exp(-log((double)periods[pi]) * k / 128.0);
                near(e[i * 256 + k], cos((double)t[i] * f), "cos", k);
                near(e[i * 256 + 128 + k], sin((double)t[i] * f), "sin", k);
            }
    }
    free(e);
}
END_TEST

/* DiT's get_1d_sincos_pos_embed_from_grid: ω_k = 1/10000^(k/(D/2)), [sin(pos·ω), cos(pos·ω)] */
static double sincos_ref(int D, double pos, int k) {
    int half = D / 2;
    double omega = 1.0 / pow(10000.0, (double)(k % half) / half);
    return k < half ? sin(pos * omega) : cos(pos * omega);
}

START_TEST(pos_1d) {
    /* hand values: dim 6 at position 3, ω = {1, 10^(-4/3), 10^(-8/3)} */
    static const double p3[6] = {0.1411200080598672,  0.13879810108005053, 0.006463259070189645,
                                 -0.9899924966004454, 0.990320699135675,   0.9999791129229608};
    float e6[4 * 6];
    vt_pos_embed_1d(e6, 6, 4);
    for (int k = 0; k < 6; k++) near(e6[3 * 6 + k], p3[k], "pos 3 dim 6", k);
    for (int k = 0; k < 6; k++) ck_assert(e6[k] == (k < 3 ? 0.0f : 1.0f)); /* position 0 */
    const int D = 16, n = 5;
    float e1[5 * 16];
    vt_pos_embed_1d(e1, D, n);
    for (int p = 0; p < n; p++)
        for (int k = 0; k < D; k++) near(e1[p * D + k], sincos_ref(D, p, k), "1d", p * D + k);
}
END_TEST

START_TEST(pos_2d) {
    /* hand values: dim 8 on a 2×3 grid, token (row 1, col 2): the first half
     * embeds the column (DiT's grid = meshgrid(grid_w, grid_h), and emb_h comes
     * from grid[0], the w coordinate), the second half the row; each half is a
     * dim-4 1D embedding with ω = {1, 1/100}. */
    static const double r1c2[8] = {0.9092974268256817, 0.01999866669333308, -0.4161468365471424, 0.9998000066665778,
                                   0.8414709848078965, 0.009999833334166664, 0.5403023058681398, 0.9999500004166653};
    float e8[2 * 3 * 8];
    vt_pos_embed_2d(e8, 8, 2, 3);
    for (int k = 0; k < 8; k++) near(e8[(1 * 3 + 2) * 8 + k], r1c2[k], "row 1 col 2", k);
    /* formula over a non-square grid at DiT-XL/2's width (1152 on 16×16) and a small one */
    const int dims[2] = {16, 1152}, hs[2] = {3, 5}, ws[2] = {4, 16};
    for (int c = 0; c < 2; c++) {
        int D = dims[c], h = hs[c], w = ws[c];
        float *e = malloc(sizeof(float) * h * w * D);
        vt_pos_embed_2d(e, D, h, w);
        for (int r = 0; r < h; r++)
            for (int col = 0; col < w; col++)
                for (int k = 0; k < D; k++) {
                    double want = k < D / 2 ? sincos_ref(D / 2, col, k) : sincos_ref(D / 2, r, k - D / 2);
                    near(e[((size_t)r * w + col) * D + k], want, "2d", k);
                }
        free(e);
    }
}
END_TEST

START_TEST(pos_3d) {
    /* (t, h, w) tokens, t outermost: [2D(h, w) in dim_s channels | 1D(t) in dim − dim_s] */
    const int D = 28, Ds = 16, T = 3, H = 2, W = 5;
    float *e = malloc(sizeof(float) * T * H * W * D);
    vt_pos_embed_3d(e, D, Ds, T, H, W);
    for (int t = 0; t < T; t++)
        for (int h = 0; h < H; h++)
            for (int w = 0; w < W; w++) {
                const float *v = e + (((size_t)t * H + h) * W + w) * D;
                for (int k = 0; k < Ds / 2; k++) near(v[k], sincos_ref(Ds / 2, w, k), "3d w", k);
                for (int k = 0; k < Ds / 2; k++) near(v[Ds / 2 + k], sincos_ref(Ds / 2, h, k), "3d h", k);
                for (int k = 0; k < D - Ds; k++) near(v[Ds + k], sincos_ref(D - Ds, t, k), "3d t", k);
            }
    /* hand value: token (t 2, h 1, w 4), first time channel sin(2·1), its cos at Ds + 6 */
    const float *v = e + ((2 * H + 1) * W + 4) * D;
    near(v[Ds], 0.9092974268256817, "t=2 sin", 0);
    near(v[Ds + 6], -0.4161468365471424, "t=2 cos", 0);
    near(v[0], -0.7568024953079282, "w=4 sin", 0);
    free(e);
}
END_TEST

int main(void) {
    Suite *s = suite_create("embed");
    TCase *tc = tcase_create("embed");
    tcase_add_test(tc, timestep_hand_values);
    tcase_add_test(tc, timestep_formula);
    tcase_add_test(tc, pos_1d);
    tcase_add_test(tc, pos_2d);
    tcase_add_test(tc, pos_3d);
    suite_add_tcase(s, tc);
    return vt_check_run(s);
}
