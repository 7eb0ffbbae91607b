/* Check suite for the fixed embeddings: DiT's sin-cos position embeddings and
 * timestep embedding, against the formulas of facebookresearch/DiT written out
 * here in double, and hand-computed values. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "embed.h"

START_TEST(timestep_hand_values) {
    /* dim 4: half 2, freqs exp(−ln(1e4)·k/2) = {1, 0.01}; [cos(t), cos(t/100), sin(t), sin(t/100)] */
    float t[2] = {1.0f, 250.0f}, e[8];
    vt_timestep_embed(e, t, 2, 4, 10000.0f);
    ck_assert(fabs(e[0] - cos(1.0)) < 1e-7 && fabs(e[1] - cos(0.01)) < 1e-7);
    ck_assert(fabs(e[2] - sin(1.0)) < 1e-7 && fabs(e[3] - sin(0.01)) < 1e-7);
    ck_assert(fabs(e[4] - cos(250.0)) < 1e-6 && fabs(e[7] - sin(2.5)) < 1e-7);
    /* odd dim: a zero column appended */
    float o[5];
    vt_timestep_embed(o, t, 1, 5, 10000.0f);
    ck_assert(o[4] == 0.0f && fabs(o[0] - cos(1.0)) < 1e-7);
}
END_TEST

START_TEST(timestep_256) {
    float t[3] = {0.0f, 17.0f, 999.0f}, e[3 * 256];
    vt_timestep_embed(e, t, 3, 256, 10000.0f);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 128; k++) {
            double f = exp(-log(10000.0) * k / 128.0);
            ck_assert(fabs(e[i * 256 + k] - cos(t[i] * f)) < 2e-6);
            ck_assert(fabs(e[i * 256 + 128 + k] - sin(t[i] * f)) < 2e-6);
        }
}
END_TEST

static double omega(int k, int half) { return 1.0 / pow(10000.0, (double)k / half); }

START_TEST(pos_1d_2d) {
    const int D = 16, n = 5;
    float e1[5 * 16];
    vt_pos_embed_1d(e1, D, n);
    for (int p = 0; p < n; p++)
        for (int k = 0; k < D / 2; k++) {
            ck_assert(fabs(e1[p * D + k] - sin(p * omega(k, D / 2))) < 1e-7);
            ck_assert(fabs(e1[p * D + D / 2 + k] - cos(p * omega(k, D / 2))) < 1e-7);
        }
    /* 2D, h ≠ w: first half embeds the column (DiT's grid[0] comes from grid_w),
     * second half the row */
    const int h = 3, w = 4;
    float e2[3 * 4 * 16];
    vt_pos_embed_2d(e2, D, h, w);
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            const float *e = e2 + (r * w + c) * D;
            for (int k = 0; k < D / 4; k++) {
                ck_assert(fabs(e[k] - sin(c * omega(k, D / 4))) < 1e-7);
                ck_assert(fabs(e[D / 4 + k] - cos(c * omega(k, D / 4))) < 1e-7);
                ck_assert(fabs(e[D / 2 + k] - sin(r * omega(k, D / 4))) < 1e-7);
                ck_assert(fabs(e[3 * D / 4 + k] - cos(r * omega(k, D / 4))) < 1e-7);
            }
        }
    /* token (row 0, col 0) is [0…0, 1…1, 0…0, 1…1] */
    ck_assert(e2[0] == 0.0f && e2[4] == 1.0f && e2[8] == 0.0f && e2[12] == 1.0f);
}
END_TEST

START_TEST(pos_3d) {
    const int D = 24, Ds = 16, T = 2, H = 3, W = 2;
    float *e = malloc(sizeof(float) * T * H * W * D), e2[3 * 2 * 16], e1[2 * 8];
    vt_pos_embed_3d(e, D, Ds, T, H, W);
    vt_pos_embed_2d(e2, Ds, H, W);
    vt_pos_embed_1d(e1, D - Ds, T);
    for (int t = 0; t < T; t++)
        for (int n = 0; n < H * W; n++) {
            for (int k = 0; k < Ds; k++) ck_assert(e[(t * H * W + n) * D + k] == e2[n * Ds + k]);
            for (int k = 0; k < D - Ds; k++) ck_assert(e[(t * H * W + n) * D + Ds + k] == e1[t * (D - Ds) + k]);
        }
    free(e);
}
END_TEST

int main(void) {
    Suite *s = suite_create("embed");
    TCase *tc = tcase_create("embed");
    tcase_add_test(tc, timestep_hand_values);
    tcase_add_test(tc, timestep_256);
    tcase_add_test(tc, pos_1d_2d);
    tcase_add_test(tc, pos_3d);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
