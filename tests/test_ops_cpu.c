/* Check suite for the CPU backend's ops: each against a naive double-precision
 * loop written here from the op's definition, on odd sizes, with 2 threads. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "context.h"
#include "rng.h"

/* f32 ops accumulate in float over at most a few thousand terms: relative error
 * of the result vs the double reference stays well below 1e-5 of the largest
 * magnitude; that is the bound asserted everywhere below unless stated. */
#define TOL 1e-5

static vt_context *ctx;
static vt_backend *be;

static void setup(void) {
    vt_context_params p = vt_context_default_params();
    p.n_threads = 2;
    ctx = vt_context_create(&p);
    be = vt_backend_cpu_create(ctx);
}

static void teardown(void) {
    vt_backend_destroy(&be);
    vt_context_destroy(&ctx);
}

static float *randn(size_t n, uint64_t seed) {
    float *v = malloc((n ? n : 1) * sizeof *v);
    vt_rng_normal(seed, 0, 0, v, n);
    return v;
}

/* max|got − ref| / max|ref| */
static double rel(const float *got, const double *ref, size_t n) {
    double md = 0, mr = 1e-30;
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(isfinite(got[i]), "non-finite output at %zu", i);
        double d = fabs(got[i] - ref[i]);
        md = d > md ? d : md;
        mr = fabs(ref[i]) > mr ? fabs(ref[i]) : mr;
    }
    return md / mr;
}

static double act_ref(double x, vt_act a) {
    switch (a) {
    case VT_ACT_NONE: return x;
    case VT_ACT_GELU_TANH: return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    case VT_ACT_GELU_ERF: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case VT_ACT_SILU: return x / (1 + exp(-x));
    }
    return x;
}

START_TEST(linear_all_epilogues) {
    const int M = 37, K = 29, N = 53;
    float *x = randn(M * K, 1), *w = randn(N * K, 2), *b = randn(N, 3), *y = malloc(M * N * 4);
    double *ref = malloc(M * N * sizeof *ref);
    vt_tensor tx = vt_tensor_f32_2d(x, M, K), tw = vt_tensor_f32_2d(w, N, K), tb = vt_tensor_f32_1d(b, N);
    vt_tensor ty = vt_tensor_f32_2d(y, M, N);
    for (int with_bias = 0; with_bias < 2; with_bias++)
        for (int a = VT_ACT_NONE; a <= VT_ACT_SILU; a++) {
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double s = with_bias ? b[j] : 0;
                    for (int k = 0; k < K; k++) s += (double)x[i * K + k] * w[j * K + k];
                    ref[i * N + j] = act_ref(s, (vt_act)a);
                }
            ck_assert_int_eq(be->iface->linear(be, &ty, &tx, &tw, with_bias ? &tb : NULL, (vt_act)a), 0);
            double e = rel(y, ref, M * N);
            ck_assert_msg(e < TOL, "bias %d act %d: rel %g", with_bias, a, e);
        }
    /* the row-count path used for a single conditioning vector (M < 32·threads) */
    vt_tensor tx1 = vt_tensor_f32_2d(x, 1, K), ty1 = vt_tensor_f32_2d(y, 1, N);
    ck_assert_int_eq(be->iface->linear(be, &ty1, &tx1, &tw, &tb, VT_ACT_SILU), 0);
    for (int j = 0; j < N; j++) {
        double s = b[j];
        for (int k = 0; k < K; k++) s += (double)x[k] * w[j * K + k];
        ref[j] = act_ref(s, VT_ACT_SILU);
    }
    ck_assert(rel(y, ref, N) < TOL);
    /* shape errors */
    vt_tensor bad = vt_tensor_f32_2d(w, N, K + 1);
    ck_assert_int_eq(be->iface->linear(be, &ty, &tx, &bad, NULL, VT_ACT_NONE), VT_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "disagree on K"));
    free(x), free(w), free(b), free(y), free(ref);
}
END_TEST

START_TEST(matmul_batched_transposes) {
    const int Bn = 3, M = 7, K = 11, N = 5;
    float *a = randn(Bn * M * K, 4), *b = randn(Bn * K * N, 5), *c = malloc(Bn * M * N * 4);
    double *ref = malloc(Bn * M * N * sizeof *ref);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            vt_tensor A = ta ? vt_tensor_f32_3d(a, Bn, K, M) : vt_tensor_f32_3d(a, Bn, M, K);
            vt_tensor Bt = tb ? vt_tensor_f32_3d(b, Bn, N, K) : vt_tensor_f32_3d(b, Bn, K, N);
            vt_tensor C = vt_tensor_f32_3d(c, Bn, M, N);
            for (int q = 0; q < Bn; q++)
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) {
                        double s = 0;
                        for (int k = 0; k < K; k++) {
                            double av = ta ? a[q * K * M + k * M + i] : a[q * M * K + i * K + k];
                            double bv = tb ? b[q * N * K + j * K + k] : b[q * K * N + k * N + j];
                            s += av * bv;
                        }
                        ref[(q * M + i) * N + j] = 0.5 * s;
                    }
            ck_assert_int_eq(be->iface->matmul_batched(be, &C, &A, ta, &Bt, tb, 0.5f), 0);
            ck_assert_msg(rel(c, ref, Bn * M * N) < TOL, "ta %d tb %d", ta, tb);
        }
    free(a), free(b), free(c), free(ref);
}
END_TEST

START_TEST(norms) {
    const int R = 13, D = 37;
    float *x = randn(R * D, 6), *w = randn(D, 7), *b = randn(D, 8), *y = malloc(R * D * 4);
    /* rows with a large offset: a one-pass variance would cancel */
    for (int i = 0; i < D; i++) x[3 * D + i] += 1000.0f;
    double *ref = malloc(R * D * sizeof *ref);
    vt_tensor tx = vt_tensor_f32_2d(x, R, D), ty = vt_tensor_f32_2d(y, R, D), tw = vt_tensor_f32_1d(w, D),
              tb = vt_tensor_f32_1d(b, D);
    for (int affine = 0; affine < 2; affine++) {
        for (int r = 0; r < R; r++) {
            double m = 0, v = 0;
            for (int i = 0; i < D; i++) m += x[r * D + i];
            m /= D;
            for (int i = 0; i < D; i++) v += (x[r * D + i] - m) * (x[r * D + i] - m);
            v /= D;
            for (int i = 0; i < D; i++) {
                double n = (x[r * D + i] - m) / sqrt(v + 1e-6);
                ref[r * D + i] = affine ? n * w[i] + b[i] : n;
            }
        }
        ck_assert_int_eq(be->iface->layernorm(be, &ty, &tx, affine ? &tw : NULL, affine ? &tb : NULL, 1e-6f), 0);
        ck_assert_msg(rel(y, ref, R * D) < TOL, "layernorm affine %d: %g", affine, rel(y, ref, R * D));
    }
    for (int r = 0; r < R; r++) {
        double ss = 0;
        for (int i = 0; i < D; i++) ss += (double)x[r * D + i] * x[r * D + i];
        for (int i = 0; i < D; i++) ref[r * D + i] = x[r * D + i] / sqrt(ss / D + 1e-6) * w[i];
    }
    ck_assert_int_eq(be->iface->rmsnorm(be, &ty, &tx, &tw, 1e-6f), 0);
    ck_assert(rel(y, ref, R * D) < TOL);
    free(x), free(w), free(b), free(y), free(ref);
}
END_TEST

START_TEST(modulate_gate_softmax) {
    const int B = 3, N = 7, D = 19;
    float *x = randn(B * N * D, 9), *sh = randn(B * D, 10), *sc = randn(B * D, 11), *y = malloc(B * N * D * 4);
    double *ref = malloc(B * N * D * sizeof *ref);
    vt_tensor tx = vt_tensor_f32_3d(x, B, N, D), ty = vt_tensor_f32_3d(y, B, N, D);
    vt_tensor tsh = vt_tensor_f32_2d(sh, B, D), tsc = vt_tensor_f32_2d(sc, B, D);
    for (int b = 0; b < B; b++)
        for (int n = 0; n < N; n++)
            for (int i = 0; i < D; i++)
                ref[(b * N + n) * D + i] = x[(b * N + n) * D + i] * (1.0 + sc[b * D + i]) + sh[b * D + i];
    ck_assert_int_eq(be->iface->modulate(be, &ty, &tx, &tsh, &tsc), 0);
    ck_assert(rel(y, ref, B * N * D) < TOL);
    /* gated residual: x += gate ⊙ y */
    memcpy(y, x, B * N * D * 4);
    float *r = randn(B * N * D, 12);
    vt_tensor tr = vt_tensor_f32_3d(r, B, N, D);
    for (int b = 0; b < B; b++)
        for (int n = 0; n < N; n++)
            for (int i = 0; i < D; i++)
                ref[(b * N + n) * D + i] = x[(b * N + n) * D + i] + (double)sc[b * D + i] * r[(b * N + n) * D + i];
    ck_assert_int_eq(be->iface->gated_add(be, &ty, &tr, &tsc), 0);
    ck_assert(rel(y, ref, B * N * D) < TOL);
    /* softmax, with rows of magnitude 1e4: exp would overflow without the max */
    for (int i = 0; i < D; i++) x[i] = 1e4f + (float)i;
    for (int row = 0; row < B * N; row++) {
        double m = -INFINITY, s = 0;
        for (int i = 0; i < D; i++) m = fmax(m, x[row * D + i]);
        for (int i = 0; i < D; i++) s += exp(x[row * D + i] - m);
        for (int i = 0; i < D; i++) ref[row * D + i] = exp(x[row * D + i] - m) / s;
    }
    ck_assert_int_eq(be->iface->softmax(be, &ty, &tx), 0);
    ck_assert(rel(y, ref, B * N * D) < TOL);
    /* mismatched gate */
    vt_tensor bad = vt_tensor_f32_2d(sc, B, D - 1);
    ck_assert_int_eq(be->iface->gated_add(be, &ty, &tr, &bad), VT_E_SHAPE);
    free(x), free(sh), free(sc), free(y), free(ref), free(r);
}
END_TEST

START_TEST(elementwise) {
    const int n = 4099; /* not a multiple of any vector width or chunk */
    float *x = randn(n, 13), *y = malloc(n * 4);
    double *ref = malloc(n * sizeof *ref);
    x[0] = -90.0f; /* exp underflow region */
    x[1] = 40.0f;
    vt_tensor tx = vt_tensor_f32_1d(x, n), ty = vt_tensor_f32_1d(y, n);
    for (int a = VT_ACT_GELU_TANH; a <= VT_ACT_SILU; a++) {
        for (int i = 0; i < n; i++) ref[i] = act_ref(x[i], (vt_act)a);
        ck_assert_int_eq(be->iface->activation(be, &ty, &tx, (vt_act)a), 0);
        /* per-element check too: the vectorised exp must hold everywhere, not only at the max */
        for (int i = 0; i < n; i++) ck_assert_msg(fabs(y[i] - ref[i]) <= 2e-6 * fmax(1.0, fabs(ref[i])), "act %d x %g: %g vs %g", a, x[i], y[i], ref[i]);
    }
    /* binary with suffix broadcasting: a (3, 5, 7) op b (5, 7) and b (7) */
    float *a3 = randn(105, 14), *b2 = randn(35, 15), *o = malloc(105 * 4);
    double r3[105];
    int64_t s3[3] = {3, 5, 7}, s2[2] = {5, 7}, s1[1] = {7};
    vt_tensor ta = vt_tensor_make(VT_DTYPE_F32, a3, 3, s3), to = vt_tensor_make(VT_DTYPE_F32, o, 3, s3);
    vt_tensor tb2 = vt_tensor_make(VT_DTYPE_F32, b2, 2, s2), tb1 = vt_tensor_make(VT_DTYPE_F32, b2, 1, s1);
    for (int op = 0; op < 2; op++) {
        for (int i = 0; i < 105; i++) r3[i] = op ? (double)a3[i] * b2[i % 35] : (double)a3[i] + b2[i % 35];
        ck_assert_int_eq(be->iface->binary(be, &to, &ta, &tb2, (vt_binop)op), 0);
        ck_assert(rel(o, r3, 105) < TOL);
        for (int i = 0; i < 105; i++) r3[i] = op ? (double)a3[i] * b2[i % 7] : (double)a3[i] + b2[i % 7];
        ck_assert_int_eq(be->iface->binary(be, &to, &ta, &tb1, (vt_binop)op), 0);
        ck_assert(rel(o, r3, 105) < TOL);
    }
    int64_t sbad[1] = {5};
    vt_tensor tbad = vt_tensor_make(VT_DTYPE_F32, b2, 1, sbad);
    ck_assert_int_eq(be->iface->binary(be, &to, &ta, &tbad, VT_BIN_ADD), VT_E_SHAPE);
    for (int i = 0; i < n; i++) ref[i] = x[i] * -2.5;
    ck_assert_int_eq(be->iface->scale(be, &ty, &tx, -2.5f), 0);
    ck_assert(rel(y, ref, n) < TOL);
    /* an f16 tensor is declined, not misread */
    vt_tensor th = tx;
    th.dtype = VT_DTYPE_F16;
    ck_assert_int_eq(be->iface->scale(be, &ty, &th, 1.0f), VT_E_UNSUPPORTED);
    free(x), free(y), free(ref), free(a3), free(b2), free(o);
}
END_TEST

/* Patchify checked element by element against the index formulas of backend.h,
 * for images and videos, both feature orders; then unpatchify inverts it. */
START_TEST(patchify_layouts) {
    struct { int B, C, T, H, W, p, pt; } cases[] = {{2, 3, 1, 6, 10, 2, 1}, {1, 4, 1, 9, 6, 3, 1}, {2, 3, 4, 4, 6, 2, 2}, {1, 2, 3, 4, 4, 2, 1}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int B = cases[ci].B, C = cases[ci].C, T = cases[ci].T, H = cases[ci].H, W = cases[ci].W, p = cases[ci].p, pt = cases[ci].pt;
        int video = T > 1 || pt > 1;
        size_t n = (size_t)B * C * T * H * W;
        float *x = randn(n, 16), *tok = malloc(n * 4), *back = malloc(n * 4);
        int nt = T / pt, nh = H / p, nw = W / p, N = nt * nh * nw, F = C * pt * p * p;
        int64_t sx5[5] = {B, C, T, H, W}, sx4[4] = {B, C, H, W};
        vt_tensor tx = video ? vt_tensor_make(VT_DTYPE_F32, x, 5, sx5) : vt_tensor_make(VT_DTYPE_F32, x, 4, sx4);
        vt_tensor tb = video ? vt_tensor_make(VT_DTYPE_F32, back, 5, sx5) : vt_tensor_make(VT_DTYPE_F32, back, 4, sx4);
        vt_tensor tt = vt_tensor_f32_3d(tok, B, N, F);
        for (int order = 0; order < 2; order++) {
            ck_assert_int_eq(be->iface->patchify(be, &tt, &tx, p, pt, (vt_patch_order)order), 0);
            for (int b = 0; b < B; b++)
                for (int c = 0; c < C; c++)
                    for (int t = 0; t < T; t++)
                        for (int h = 0; h < H; h++)
                            for (int w = 0; w < W; w++) {
                                int tok_i = ((t / pt) * nh + h / p) * nw + w / p;
                                int ti = t % pt, i = h % p, j = w % p;
                                int f = order == VT_PATCH_CPQ ? ((c * pt + ti) * p + i) * p + j : ((ti * p + i) * p + j) * C + c;
                                float want = x[(((size_t)(b * C + c) * T + t) * H + h) * W + w];
                                ck_assert(tok[((size_t)b * N + tok_i) * F + f] == want);
                            }
            memset(back, 0, n * 4);
            ck_assert_int_eq(be->iface->unpatchify(be, &tb, &tt, p, pt, (vt_patch_order)order), 0);
            ck_assert_int_eq(memcmp(back, x, n * 4), 0);
        }
        free(x), free(tok), free(back);
    }
    /* a size that is not a multiple of the patch */
    float buf[2 * 5 * 4];
    int64_t s[4] = {1, 2, 5, 4};
    vt_tensor tx = vt_tensor_make(VT_DTYPE_F32, buf, 4, s), tt = vt_tensor_f32_3d(buf, 1, 4, 8);
    ck_assert_int_eq(be->iface->patchify(be, &tt, &tx, 2, 1, VT_PATCH_CPQ), VT_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "multiple of the patch"));
}
END_TEST

START_TEST(conv2d_and_upsample) {
    struct { int B, Ci, H, W, Co, k, stride, pad; } cases[] = {{2, 3, 9, 7, 5, 3, 1, 1}, {1, 4, 8, 11, 3, 3, 2, 1}, {2, 2, 5, 5, 4, 1, 1, 0}, {1, 3, 10, 9, 2, 3, 2, 0}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int B = cases[ci].B, Ci = cases[ci].Ci, H = cases[ci].H, W = cases[ci].W, Co = cases[ci].Co, k = cases[ci].k;
        int st = cases[ci].stride, pd = cases[ci].pad;
        int Ho = (H + 2 * pd - k) / st + 1, Wo = (W + 2 * pd - k) / st + 1;
        float *x = randn(B * Ci * H * W, 17), *w = randn(Co * Ci * k * k, 18), *b = randn(Co, 19);
        float *y = malloc(B * Co * Ho * Wo * 4);
        double *ref = malloc(B * Co * Ho * Wo * sizeof *ref);
        for (int bb = 0; bb < B; bb++)
            for (int o = 0; o < Co; o++)
                for (int oh = 0; oh < Ho; oh++)
                    for (int ow = 0; ow < Wo; ow++) {
                        double s = b[o];
                        for (int c = 0; c < Ci; c++)
                            for (int i = 0; i < k; i++)
                                for (int j = 0; j < k; j++) {
                                    int ih = oh * st - pd + i, iw = ow * st - pd + j;
                                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                    s += (double)x[((bb * Ci + c) * H + ih) * W + iw] * w[((o * Ci + c) * k + i) * k + j];
                                }
                        ref[((bb * Co + o) * Ho + oh) * Wo + ow] = s;
                    }
        int64_t sx[4] = {B, Ci, H, W}, sw[4] = {Co, Ci, k, k}, sy[4] = {B, Co, Ho, Wo};
        vt_tensor tx = vt_tensor_make(VT_DTYPE_F32, x, 4, sx), tw = vt_tensor_make(VT_DTYPE_F32, w, 4, sw);
        vt_tensor ty = vt_tensor_make(VT_DTYPE_F32, y, 4, sy), tb = vt_tensor_f32_1d(b, Co);
        ck_assert_int_eq(be->iface->conv2d(be, &ty, &tx, &tw, &tb, st, pd), 0);
        ck_assert_msg(rel(y, ref, B * Co * Ho * Wo) < TOL, "conv case %zu", ci);
        free(x), free(w), free(b), free(y), free(ref);
    }
    float x[2 * 3 * 5], y[2 * 9 * 15];
    vt_rng_normal(20, 0, 0, x, 30);
    int64_t sx[4] = {1, 2, 3, 5}, sy[4] = {1, 2, 9, 15};
    vt_tensor tx = vt_tensor_make(VT_DTYPE_F32, x, 4, sx), ty = vt_tensor_make(VT_DTYPE_F32, y, 4, sy);
    ck_assert_int_eq(be->iface->upsample_nearest(be, &ty, &tx, 3), 0);
    for (int c = 0; c < 2; c++)
        for (int h = 0; h < 9; h++)
            for (int w = 0; w < 15; w++) ck_assert(y[(c * 9 + h) * 15 + w] == x[(c * 3 + h / 3) * 5 + w / 3]);
}
END_TEST

int main(void) {
    Suite *s = suite_create("ops_cpu");
    TCase *tc = tcase_create("ops_cpu");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, linear_all_epilogues);
    tcase_add_test(tc, matmul_batched_transposes);
    tcase_add_test(tc, norms);
    tcase_add_test(tc, modulate_gate_softmax);
    tcase_add_test(tc, elementwise);
    tcase_add_test(tc, patchify_layouts);
    tcase_add_test(tc, conv2d_and_upsample);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
