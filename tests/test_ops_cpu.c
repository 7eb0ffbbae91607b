/* Check suite for the CPU backend's ops: each against a naive double-precision
 * loop written here from the op's definition, on odd sizes, with 2 threads. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vt_check.h"
#include "backend.h"
#include "context.h"
#include "rng.h"

/* Default bound on max|got − ref| / max|ref|. The ops compute in f32 (unit
 * roundoff 6e-8); a dot product of K ≤ 99 terms of normal inputs, the worst
 * here, has a forward error of order √K·6e-8 ≈ 6e-7 relative to the output's
 * scale in practice (K·6e-8 ≈ 6e-6 in the worst case). 1e-5 leaves room for that
 * without admitting an indexing bug, which shows as errors of order 1. */
#define TOL 1e-5

static vt_context *ctx;
static vt_backend *be;

static void setup(void) {
    vt_context_params p = vt_context_default_params();
    p.n_threads = 2;
    ctx = vt_context_create(&p);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(vt_context_threads(ctx), 2);
    be = vt_backend_cpu_create(ctx);
    ck_assert_ptr_nonnull(be);
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

static float *filled(size_t n, float value) {
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = value;
    return v;
}

/* max|got − ref| / max|ref|, after checking every output is finite */
static double rel(const float *got, const double *ref, size_t n) {
    double md = 0, mr = 1e-30;
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(isfinite(got[i]), "non-finite output at %zu", i);
        md = fmax(md, fabs(got[i] - ref[i]));
        mr = fmax(mr, fabs(ref[i]));
    }
    return md / mr;
}

/* The worst of rel() over each row of D: a row of small values is held to its own scale. */
static double rel_rows(const float *got, const double *ref, size_t rows, size_t D) {
    double worst = 0;
    for (size_t r = 0; r < rows; r++) worst = fmax(worst, rel(got + r * D, ref + r * D, D));
    return worst;
}

static void expect_error(int rc, int code, const char *fragment) {
    ck_assert_int_eq(rc, code);
    ck_assert_msg(strstr(vt_context_error(ctx), fragment) != NULL, "message \"%s\" lacks \"%s\"", vt_context_error(ctx),
                  fragment);
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

START_TEST(buffers) {
    vt_buffer *b = NULL;
    ck_assert_int_eq(be->iface->buffer_alloc(be, 100, &b), 0);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(b->host);
    ck_assert_uint_eq((uintptr_t)b->host % 64, 0);
    ck_assert_uint_eq(b->size, 100);
    ck_assert_ptr_eq(b->backend, be);
    unsigned char in[40], out[40];
    for (int i = 0; i < 40; i++) in[i] = (unsigned char)(i * 7 + 1);
    ck_assert_int_eq(be->iface->upload(be, b, 60, in, 40), 0);
    ck_assert_int_eq(be->iface->download(be, b, 60, out, 40), 0);
    ck_assert_int_eq(memcmp(in, out, 40), 0);
    expect_error(be->iface->upload(be, b, 61, in, 40), VT_E_INVALID, "out of buffer range");
    expect_error(be->iface->download(be, b, 101, out, 0), VT_E_INVALID, "out of buffer range");
    be->iface->buffer_free(be, b);
    be->iface->buffer_free(be, NULL);
    /* a zero-byte buffer still has an address */
    ck_assert_int_eq(be->iface->buffer_alloc(be, 0, &b), 0);
    ck_assert_ptr_nonnull(b->host);
    be->iface->buffer_free(be, b);
    /* destroy accepts NULL and clears the pointer */
    vt_backend *none = NULL, *other = vt_backend_cpu_create(ctx);
    vt_backend_destroy(&none);
    vt_backend_destroy(NULL);
    vt_backend_destroy(&other);
    ck_assert_ptr_null(other);
}
END_TEST

/* One linear check: y = act(x·wᵀ + b) with x viewed as (rows, K). */
static void check_linear(int rows_outer, int rows_inner, int K, int N, int with_bias, vt_act a, uint64_t seed) {
    const int M = rows_outer * rows_inner;
    float *x = randn((size_t)M * K, seed), *w = randn((size_t)N * K, seed + 1), *b = randn(N, seed + 2);
    float *y = filled((size_t)M * N, NAN);
    double *ref = malloc((size_t)(M ? M : 1) * N * sizeof *ref);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = with_bias ? b[j] : 0;
            for (int k = 0; k < K; k++) s += (double)x[i * K + k] * w[j * K + k];
            ref[i * N + j] = act_ref(s, a);
        }
    /* x and y as (outer, inner, ·): leading dims flatten into M */
    vt_tensor tx = vt_tensor_f32_3d(x, rows_outer, rows_inner, K), ty = vt_tensor_f32_3d(y, rows_outer, rows_inner, N);
    vt_tensor tw = vt_tensor_f32_2d(w, N, K), tb = vt_tensor_f32_1d(b, N);
    ck_assert_int_eq(be->iface->linear(be, &ty, &tx, &tw, with_bias ? &tb : NULL, a), 0);
    double e = rel(y, ref, (size_t)M * N);
    ck_assert_msg(e < TOL, "M %d K %d N %d bias %d act %d: rel %g", M, K, N, with_bias, a, e);
    free(x), free(w), free(b), free(y), free(ref);
}

START_TEST(linear_all_epilogues) {
    for (int with_bias = 0; with_bias < 2; with_bias++)
        for (int a = VT_ACT_NONE; a <= VT_ACT_SILU; a++) {
            /* M = 37 < 32·threads: the output columns split over the pool */
            check_linear(1, 37, 29, 53, with_bias, (vt_act)a, 10 + a);
            /* M = 3·37 = 111: one sgemm on OpenBLAS's threads, then the threaded epilogue */
            check_linear(3, 37, 29, 53, with_bias, (vt_act)a, 20 + a);
            /* a single conditioning vector */
            check_linear(1, 1, 99, 7, with_bias, (vt_act)a, 30 + a);
        }
    /* large enough for the pool to write the bias rows (M·N ≥ 2^20) */
    check_linear(1, 1031, 17, 1031, 1, VT_ACT_NONE, 40);
    check_linear(1, 1031, 17, 1031, 1, VT_ACT_SILU, 41);
}
END_TEST

START_TEST(linear_k0_and_errors) {
    /* K = 0: y = act(bias) in every row */
    float b[5] = {-1, 0, 0.5f, 2, -3}, y[3 * 5], x[1];
    int64_t sx[2] = {3, 0};
    vt_tensor tx = vt_tensor_make(VT_DTYPE_F32, x, 2, sx), tw = vt_tensor_make(VT_DTYPE_F32, x, 2, (int64_t[]){5, 0});
    vt_tensor tb = vt_tensor_f32_1d(b, 5), ty = vt_tensor_f32_2d(y, 3, 5);
    for (int a = VT_ACT_NONE; a <= VT_ACT_SILU; a++) {
        ck_assert_int_eq(be->iface->linear(be, &ty, &tx, &tw, &tb, (vt_act)a), 0);
        for (int i = 0; i < 15; i++) ck_assert(fabs(y[i] - act_ref(b[i % 5], (vt_act)a)) < 1e-6);
    }
    ck_assert_int_eq(be->iface->linear(be, &ty, &tx, &tw, NULL, VT_ACT_NONE), 0);
    for (int i = 0; i < 15; i++) ck_assert(y[i] == 0.0f);

    const int M = 5, K = 4, N = 3;
    float *xx = randn(M * K, 1), *ww = randn(N * K, 2), *yy = malloc(M * N * 4);
    vt_tensor X = vt_tensor_f32_2d(xx, M, K), W = vt_tensor_f32_2d(ww, N, K), Y = vt_tensor_f32_2d(yy, M, N);
    vt_tensor Wbad = vt_tensor_f32_2d(ww, N, K - 1), Ybad = vt_tensor_f32_2d(yy, M, N - 1), B4 = vt_tensor_f32_1d(b, 4);
    vt_tensor W3 = vt_tensor_f32_3d(ww, 1, N, K);
    expect_error(be->iface->linear(be, &Y, &X, &Wbad, NULL, VT_ACT_NONE), VT_E_SHAPE, "disagree on K");
    expect_error(be->iface->linear(be, &Ybad, &X, &W, NULL, VT_ACT_NONE), VT_E_SHAPE, "should be (5, 3)");
    expect_error(be->iface->linear(be, &Y, &X, &W, &B4, VT_ACT_NONE), VT_E_SHAPE, "bias has 4 elements");
    expect_error(be->iface->linear(be, &Y, &X, &W3, NULL, VT_ACT_NONE), VT_E_SHAPE, "w must be (N, K)");
    expect_error(be->iface->linear(be, &Y, &X, &W, NULL, (vt_act)42), VT_E_INVALID, "unknown activation");
    /* storage types other than f32 are declined, not misread */
    vt_tensor Xh = X;
    Xh.dtype = VT_DTYPE_F16;
    expect_error(be->iface->linear(be, &Y, &Xh, &W, NULL, VT_ACT_NONE), VT_E_UNSUPPORTED, "F32");
    vt_tensor Xn = X;
    Xn.data = NULL;
    expect_error(be->iface->linear(be, &Y, &Xn, &W, NULL, VT_ACT_NONE), VT_E_INVALID, "no host data");
    free(xx), free(ww), free(yy);
}
END_TEST

START_TEST(matmul_batched_transposes) {
    const int Bn = 3, M = 37, K = 29, N = 53;
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
            double e = rel(c, ref, Bn * M * N);
            ck_assert_msg(e < TOL, "ta %d tb %d: rel %g", ta, tb, e);
        }
    vt_tensor A = vt_tensor_f32_3d(a, Bn, M, K), Bbad = vt_tensor_f32_3d(b, Bn, K + 1, N), C = vt_tensor_f32_3d(c, Bn, M, N);
    expect_error(be->iface->matmul_batched(be, &C, &A, 0, &Bbad, 0, 1.0f), VT_E_SHAPE, "do not fit");
    vt_tensor A2 = vt_tensor_f32_2d(a, M, K);
    expect_error(be->iface->matmul_batched(be, &C, &A2, 0, &Bbad, 0, 1.0f), VT_E_SHAPE, "must be 3-d");
    free(a), free(b), free(c), free(ref);
}
END_TEST

START_TEST(norms) {
    const int R = 13, D = 37;
    float *x = randn(R * D, 6), *w = randn(D, 7), *b = randn(D, 8), *y = malloc(R * D * 4);
    /* rows with a large offset: a one-pass variance (E[x²] − E[x]²) in float would
     * lose every digit there, and a float mean would shift each output by 3e-5 */
    for (int i = 0; i < D; i++) x[3 * D + i] += 1000.0f, x[4 * D + i] += 1e4f;
    /* a row of tiny values: eps dominates, the output stays small */
    for (int i = 0; i < D; i++) x[5 * D + i] *= 1e-4f;
    double *ref = malloc(R * D * sizeof *ref);
    vt_tensor tx = vt_tensor_f32_2d(x, R, D), ty = vt_tensor_f32_2d(y, R, D), tw = vt_tensor_f32_1d(w, D),
              tb = vt_tensor_f32_1d(b, D);
    /* Held row by row to 1e-5: mean and variance are accumulated in double; each
     * output is then one f32 product and sum from exact-to-f32 inputs (~2e-7). */
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
        double e = rel_rows(y, ref, R, D);
        ck_assert_msg(e < TOL, "layernorm affine %d: %g", affine, e);
    }
    for (int weighted = 0; weighted < 2; weighted++) {
        for (int r = 0; r < R; r++) {
            double ss = 0;
            for (int i = 0; i < D; i++) ss += (double)x[r * D + i] * x[r * D + i];
            for (int i = 0; i < D; i++) ref[r * D + i] = x[r * D + i] / sqrt(ss / D + 1e-6) * (weighted ? w[i] : 1.0);
        }
        ck_assert_int_eq(be->iface->rmsnorm(be, &ty, &tx, weighted ? &tw : NULL, 1e-6f), 0);
        double e = rel_rows(y, ref, R, D);
        ck_assert_msg(e < TOL, "rmsnorm weighted %d: %g", weighted, e);
    }
    /* in place */
    memcpy(y, x, R * D * 4);
    ck_assert_int_eq(be->iface->rmsnorm(be, &ty, &ty, &tw, 1e-6f), 0);
    ck_assert(rel_rows(y, ref, R, D) < TOL);
    vt_tensor w36 = vt_tensor_f32_1d(w, D - 1), y2 = vt_tensor_f32_2d(y, D, R);
    expect_error(be->iface->layernorm(be, &ty, &tx, &w36, NULL, 1e-6f), VT_E_SHAPE, "weight has 36 elements, expected 37");
    expect_error(be->iface->layernorm(be, &ty, &tx, NULL, &w36, 1e-6f), VT_E_SHAPE, "bias has 36");
    expect_error(be->iface->rmsnorm(be, &y2, &tx, NULL, 1e-6f), VT_E_SHAPE, "differ");
    free(x), free(w), free(b), free(y), free(ref);
}
END_TEST

START_TEST(modulate_and_gated_add) {
    const int B = 3, N = 7, D = 19;
    float *x = randn(B * N * D, 9), *sh = randn(B * D, 10), *sc = randn(B * D, 11), *y = malloc(B * N * D * 4);
    double *ref = malloc(B * N * D * sizeof *ref);
    vt_tensor tx = vt_tensor_f32_3d(x, B, N, D), ty = vt_tensor_f32_3d(y, B, N, D);
    vt_tensor tsh = vt_tensor_f32_2d(sh, B, D), tsc = vt_tensor_f32_2d(sc, B, D);
    /* one f32 multiply-add per element: ~2 roundings, far below TOL */
    for (int b = 0; b < B; b++)
        for (int n = 0; n < N; n++)
            for (int i = 0; i < D; i++)
                ref[(b * N + n) * D + i] = x[(b * N + n) * D + i] * (1.0 + sc[b * D + i]) + sh[b * D + i];
    ck_assert_int_eq(be->iface->modulate(be, &ty, &tx, &tsh, &tsc), 0);
    ck_assert(rel_rows(y, ref, B * N, D) < TOL);
    /* gated residual: x += gate ⊙ y, per image b its own gate row */
    memcpy(y, x, B * N * D * 4);
    float *r = randn(B * N * D, 12);
    vt_tensor tr = vt_tensor_f32_3d(r, B, N, D);
    for (int b = 0; b < B; b++)
        for (int n = 0; n < N; n++)
            for (int i = 0; i < D; i++)
                ref[(b * N + n) * D + i] = x[(b * N + n) * D + i] + (double)sc[b * D + i] * r[(b * N + n) * D + i];
    ck_assert_int_eq(be->iface->gated_add(be, &ty, &tr, &tsc), 0);
    ck_assert(rel_rows(y, ref, B * N, D) < TOL);
    vt_tensor bad = vt_tensor_f32_2d(sc, B, D - 1), flat = vt_tensor_f32_2d(x, B * N, D);
    expect_error(be->iface->gated_add(be, &ty, &tr, &bad), VT_E_SHAPE, "gate has 54 elements, expected 57");
    expect_error(be->iface->modulate(be, &ty, &tx, &bad, &tsc), VT_E_SHAPE, "shift has 54");
    expect_error(be->iface->modulate(be, &flat, &flat, &tsh, &tsc), VT_E_SHAPE, "must be (B, N, D)");
    free(x), free(sh), free(sc), free(y), free(ref), free(r);
}
END_TEST

START_TEST(softmax_rows) {
    const int R = 9, D = 37;
    float *x = randn(R * D, 13), *y = malloc(R * D * 4);
    double *ref = malloc(R * D * sizeof *ref);
    /* magnitudes where exp overflows or underflows without the max subtracted */
    for (int i = 0; i < D; i++) {
        x[1 * D + i] = 1e4f + (float)i;        /* exp(1e4) = inf */
        x[2 * D + i] = -1e4f - (float)(i % 5); /* exp(-1e4) = 0 */
        x[3 * D + i] = i == 17 ? 1e4f : -1e4f; /* one-hot */
        x[4 * D + i] *= 100.0f;                /* wide spread: most terms underflow */
        if (i % 3 == 0) x[5 * D + i] = -INFINITY; /* masked keys */
    }
    for (int row = 0; row < R; row++) {
        double m = -INFINITY, s = 0;
        for (int i = 0; i < D; i++) m = fmax(m, x[row * D + i]);
        for (int i = 0; i < D; i++) s += exp(x[row * D + i] - m);
        for (int i = 0; i < D; i++) ref[row * D + i] = exp(x[row * D + i] - m) / s;
    }
    /* Held to 1e-5 of each row's largest probability: the exponentials are within
     * a few ulp (vectorised exp, < 2e-8 relative), the f32 sum of D = 37 terms
     * within ~D·6e-8, the scaling one more rounding. */
    vt_tensor tx = vt_tensor_f32_2d(x, R, D), ty = vt_tensor_f32_2d(y, R, D);
    ck_assert_int_eq(be->iface->softmax(be, &ty, &tx), 0);
    ck_assert_msg(rel_rows(y, ref, R, D) < TOL, "rel %g", rel_rows(y, ref, R, D));
    ck_assert(y[3 * D + 17] == 1.0f && y[3 * D + 16] == 0.0f);
    for (int i = 0; i < D; i += 3) ck_assert(y[5 * D + i] == 0.0f);
    /* in place, and a fully masked row gives zeros rather than NaN */
    for (int i = 0; i < D; i++) x[6 * D + i] = -INFINITY;
    ck_assert_int_eq(be->iface->softmax(be, &tx, &tx), 0);
    for (int i = 0; i < D; i++) ck_assert(x[6 * D + i] == 0.0f);
    ck_assert(rel_rows(x, ref, 6, D) < TOL);
    vt_tensor ybad = vt_tensor_f32_2d(y, R, D - 1);
    expect_error(be->iface->softmax(be, &ybad, &tx), VT_E_SHAPE, "differ");
    free(x), free(y), free(ref);
}
END_TEST

START_TEST(activations) {
    const int n = 4099; /* not a multiple of any vector width or chunk */
    float *x = randn(n, 13), *y = malloc(n * 4);
    double *ref = malloc(n * sizeof *ref);
    x[0] = -90.0f; /* exp underflow region */
    x[1] = 40.0f;  /* saturation */
    x[2] = 0.0f;
    x[3] = -5.5f;
    vt_tensor tx = vt_tensor_f32_1d(x, n), ty = vt_tensor_f32_1d(y, n);
    for (int a = VT_ACT_NONE; a <= VT_ACT_SILU; a++) {
        for (int i = 0; i < n; i++) ref[i] = act_ref(x[i], (vt_act)a);
        ck_assert_int_eq(be->iface->activation(be, &ty, &tx, (vt_act)a), 0);
        /* Per element, not only at the largest output: the vectorised exp must
         * hold everywhere. 2e-6 of max(1, |ref|): a few ulp of the f32 result,
         * plus the absolute error of tanh/erf near their saturation. */
        for (int i = 0; i < n; i++)
            ck_assert_msg(fabs(y[i] - ref[i]) <= 2e-6 * fmax(1.0, fabs(ref[i])), "act %d x %g: %g vs %g", a, x[i], y[i],
                          ref[i]);
    }
    /* in place */
    memcpy(y, x, n * 4);
    ck_assert_int_eq(be->iface->activation(be, &ty, &ty, VT_ACT_SILU), 0);
    for (int i = 0; i < n; i++) ck_assert(fabs(y[i] - act_ref(x[i], VT_ACT_SILU)) <= 2e-6 * fmax(1.0, fabs(ref[i])));
    expect_error(be->iface->activation(be, &ty, &tx, (vt_act)-1), VT_E_INVALID, "unknown activation");
    vt_tensor ybad = vt_tensor_f32_2d(y, 1, n);
    expect_error(be->iface->activation(be, &ybad, &tx, VT_ACT_SILU), VT_E_SHAPE, "differ");
    free(x), free(y), free(ref);
}
END_TEST

START_TEST(binary_and_scale) {
    /* a (3, 5, 7) op b, for b (3, 5, 7), (5, 7) and (7): b repeats over a's leading dims */
    float *a3 = randn(105, 14), *b3 = randn(105, 15), *o = malloc(105 * 4);
    double r3[105];
    int64_t s3[3] = {3, 5, 7}, s2[2] = {5, 7}, s1[1] = {7};
    vt_tensor ta = vt_tensor_make(VT_DTYPE_F32, a3, 3, s3), to = vt_tensor_make(VT_DTYPE_F32, o, 3, s3);
    vt_tensor tbs[3] = {vt_tensor_make(VT_DTYPE_F32, b3, 3, s3), vt_tensor_make(VT_DTYPE_F32, b3, 2, s2),
                        vt_tensor_make(VT_DTYPE_F32, b3, 1, s1)};
    const int nb[3] = {105, 35, 7};
    /* one f32 add or multiply per element: 1 rounding (6e-8) */
    for (int op = 0; op < 2; op++)
        for (int k = 0; k < 3; k++) {
            for (int i = 0; i < 105; i++) r3[i] = op ? (double)a3[i] * b3[i % nb[k]] : (double)a3[i] + b3[i % nb[k]];
            ck_assert_int_eq(be->iface->binary(be, &to, &ta, &tbs[k], (vt_binop)op), 0);
            ck_assert_msg(rel(o, r3, 105) < TOL, "op %d b %d-d", op, 3 - k);
        }
    /* a long a over many threads' chunks: the b index must restart mid-chunk */
    const int L = 3 * 4099;
    float *al = randn(L, 16), *ol = malloc(L * 4);
    double *rl = malloc(L * sizeof *rl);
    vt_tensor tal = vt_tensor_f32_2d(al, 3, 4099), tol = vt_tensor_f32_2d(ol, 3, 4099), tbl = vt_tensor_f32_1d(al, 4099);
    for (int i = 0; i < L; i++) rl[i] = (double)al[i] * al[i % 4099];
    ck_assert_int_eq(be->iface->binary(be, &tol, &tal, &tbl, VT_BIN_MUL), 0);
    ck_assert(rel(ol, rl, L) < TOL);
    int64_t sbad[1] = {5}, sbad2[2] = {3, 7};
    vt_tensor tbad = vt_tensor_make(VT_DTYPE_F32, b3, 1, sbad), tbad2 = vt_tensor_make(VT_DTYPE_F32, b3, 2, sbad2);
    expect_error(be->iface->binary(be, &to, &ta, &tbad, VT_BIN_ADD), VT_E_SHAPE, "b (5) is not a suffix of a (3, 5, 7)");
    expect_error(be->iface->binary(be, &to, &ta, &tbad2, VT_BIN_ADD), VT_E_SHAPE, "not a suffix");
    expect_error(be->iface->binary(be, &to, &ta, &tbs[2], (vt_binop)9), VT_E_INVALID, "unknown op");
    /* scale */
    for (int i = 0; i < L; i++) rl[i] = al[i] * -2.5;
    ck_assert_int_eq(be->iface->scale(be, &tol, &tal, -2.5f), 0);
    ck_assert(rel(ol, rl, L) < TOL);
    vt_tensor th = tal;
    th.dtype = VT_DTYPE_F16;
    expect_error(be->iface->scale(be, &tol, &th, 1.0f), VT_E_UNSUPPORTED, "F32");
    free(a3), free(b3), free(o), free(al), free(ol), free(rl);
}
END_TEST

/* Patchify checked element by element against the index formulas of backend.h,
 * for images and videos, both feature orders; then unpatchify inverts it. These
 * are copies, so equality is exact. */
START_TEST(patchify_layouts) {
    struct {
        int B, C, T, H, W, p, pt, video;
    } cases[] = {{2, 3, 1, 6, 10, 2, 1, 0}, {1, 4, 1, 9, 6, 3, 1, 0}, {3, 1, 1, 5, 5, 1, 1, 0},
                 {2, 3, 4, 4, 6, 2, 2, 1},  {1, 2, 3, 4, 4, 2, 1, 1}, {1, 3, 6, 6, 3, 3, 3, 1}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int B = cases[ci].B, C = cases[ci].C, T = cases[ci].T, H = cases[ci].H, W = cases[ci].W, p = cases[ci].p,
            pt = cases[ci].pt, video = cases[ci].video;
        size_t n = (size_t)B * C * T * H * W;
        float *x = randn(n, 16), *tok = malloc(n * 4), *back = malloc(n * 4);
        int nt = T / pt, nh = H / p, nw = W / p, N = nt * nh * nw, F = C * pt * p * p;
        int64_t sx5[5] = {B, C, T, H, W}, sx4[4] = {B, C, H, W};
        vt_tensor tx = video ? vt_tensor_make(VT_DTYPE_F32, x, 5, sx5) : vt_tensor_make(VT_DTYPE_F32, x, 4, sx4);
        vt_tensor tb = video ? vt_tensor_make(VT_DTYPE_F32, back, 5, sx5) : vt_tensor_make(VT_DTYPE_F32, back, 4, sx4);
        vt_tensor tt = vt_tensor_f32_3d(tok, B, N, F);
        for (int order = 0; order < 2; order++) {
            memset(tok, 0xff, n * 4); /* NaN: a feature never written shows */
            ck_assert_int_eq(be->iface->patchify(be, &tt, &tx, p, pt, (vt_patch_order)order), 0);
            for (int b = 0; b < B; b++)
                for (int c = 0; c < C; c++)
                    for (int t = 0; t < T; t++)
                        for (int h = 0; h < H; h++)
                            for (int w = 0; w < W; w++) {
                                int tok_i = ((t / pt) * nh + h / p) * nw + w / p; /* tokens row-major over (t, h, w) */
                                int ti = t % pt, i = h % p, j = w % p;
                                int f = order == VT_PATCH_CPQ ? c * (pt * p * p) + ti * (p * p) + i * p + j
                                                              : ((ti * p + i) * p + j) * C + c;
                                float want = x[(((size_t)(b * C + c) * T + t) * H + h) * W + w];
                                ck_assert_msg(tok[((size_t)b * N + tok_i) * F + f] == want,
                                              "case %zu order %d at b%d c%d t%d h%d w%d", ci, order, b, c, t, h, w);
                            }
            memset(back, 0xff, n * 4);
            ck_assert_int_eq(be->iface->unpatchify(be, &tb, &tt, p, pt, (vt_patch_order)order), 0);
            ck_assert_int_eq(memcmp(back, x, n * 4), 0);
        }
        free(x), free(tok), free(back);
    }
    /* errors: a size that is not a multiple of the patch, a token shape that does
     * not match, a time patch on an image */
    float buf[2 * 5 * 4], tokb[40];
    int64_t s[4] = {1, 2, 5, 4}, s6[4] = {1, 2, 6, 4};
    vt_tensor tx = vt_tensor_make(VT_DTYPE_F32, buf, 4, s), tt = vt_tensor_f32_3d(tokb, 1, 4, 8);
    expect_error(be->iface->patchify(be, &tt, &tx, 2, 1, VT_PATCH_CPQ), VT_E_SHAPE, "multiple of the patch");
    vt_tensor tx6 = vt_tensor_make(VT_DTYPE_F32, buf, 4, s6);
    expect_error(be->iface->unpatchify(be, &tx6, &tt, 2, 1, VT_PATCH_PQC), VT_E_SHAPE, "should be (1, 6, 8)");
    expect_error(be->iface->patchify(be, &tt, &tx6, 2, 2, VT_PATCH_CPQ), VT_E_INVALID, "no time axis");
}
END_TEST

START_TEST(conv2d_cases) {
    struct {
        int B, Ci, H, W, Co, kh, kw, stride, pad, bias;
    } cases[] = {
        {2, 3, 9, 7, 5, 3, 3, 1, 1, 1}, {1, 4, 8, 11, 3, 3, 3, 2, 1, 1}, {2, 2, 5, 5, 4, 1, 1, 1, 0, 1},
        {1, 3, 10, 9, 2, 3, 3, 2, 0, 0}, {1, 3, 7, 5, 2, 1, 1, 2, 1, 1}, {2, 3, 5, 6, 3, 3, 1, 1, 1, 0},
        {1, 2, 3, 3, 2, 3, 3, 1, 0, 1}, {1, 5, 6, 7, 4, 1, 1, 1, 0, 0},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int B = cases[ci].B, Ci = cases[ci].Ci, H = cases[ci].H, W = cases[ci].W, Co = cases[ci].Co;
        int kh = cases[ci].kh, kw = cases[ci].kw, st = cases[ci].stride, pd = cases[ci].pad;
        int Ho = (H + 2 * pd - kh) / st + 1, Wo = (W + 2 * pd - kw) / st + 1;
        float *x = randn(B * Ci * H * W, 17), *w = randn(Co * Ci * kh * kw, 18), *b = randn(Co, 19);
        float *y = filled(B * Co * Ho * Wo, NAN);
        double *ref = malloc(B * Co * Ho * Wo * sizeof *ref);
        for (int bb = 0; bb < B; bb++)
            for (int o = 0; o < Co; o++)
                for (int oh = 0; oh < Ho; oh++)
                    for (int ow = 0; ow < Wo; ow++) {
                        double s = cases[ci].bias ? b[o] : 0;
                        for (int c = 0; c < Ci; c++)
                            for (int i = 0; i < kh; i++)
                                for (int j = 0; j < kw; j++) {
                                    int ih = oh * st - pd + i, iw = ow * st - pd + j;
                                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue; /* zero padding */
                                    s += (double)x[((bb * Ci + c) * H + ih) * W + iw] * w[((o * Ci + c) * kh + i) * kw + j];
                                }
                        ref[((bb * Co + o) * Ho + oh) * Wo + ow] = s;
                    }
        int64_t sx[4] = {B, Ci, H, W}, sw[4] = {Co, Ci, kh, kw}, sy[4] = {B, Co, Ho, Wo};
        vt_tensor tx = vt_tensor_make(VT_DTYPE_F32, x, 4, sx), tw = vt_tensor_make(VT_DTYPE_F32, w, 4, sw);
        vt_tensor ty = vt_tensor_make(VT_DTYPE_F32, y, 4, sy), tb = vt_tensor_f32_1d(b, Co);
        ck_assert_int_eq(be->iface->conv2d(be, &ty, &tx, &tw, cases[ci].bias ? &tb : NULL, st, pd), 0);
        /* dot products of Ci·kh·kw ≤ 36 terms: the TOL argument of linear */
        double e = rel(y, ref, B * Co * Ho * Wo);
        ck_assert_msg(e < TOL, "conv case %zu: rel %g", ci, e);
        if (ci == 0) {
            int64_t sybad[4] = {B, Co, Ho + 1, Wo};
            vt_tensor tybad = vt_tensor_make(VT_DTYPE_F32, y, 4, sybad);
            expect_error(be->iface->conv2d(be, &tybad, &tx, &tw, &tb, st, pd), VT_E_SHAPE, "should be (2, 5, 9, 7)");
            int64_t swbad[4] = {Co, Ci + 1, kh, kw};
            vt_tensor twbad = vt_tensor_make(VT_DTYPE_F32, w, 4, swbad);
            expect_error(be->iface->conv2d(be, &ty, &tx, &twbad, &tb, st, pd), VT_E_SHAPE, "does not fit");
            vt_tensor tb2 = vt_tensor_f32_1d(b, Co - 1);
            expect_error(be->iface->conv2d(be, &ty, &tx, &tw, &tb2, st, pd), VT_E_SHAPE, "bias has 4 elements");
            expect_error(be->iface->conv2d(be, &ty, &tx, &tw, &tb, 0, pd), VT_E_INVALID, "stride 0");
        }
        free(x), free(w), free(b), free(y), free(ref);
    }
}
END_TEST

START_TEST(upsample) {
    float x[2 * 2 * 3 * 5], y[2 * 2 * 9 * 15];
    vt_rng_normal(20, 0, 0, x, 60);
    int64_t sx[4] = {2, 2, 3, 5}, sy[4] = {2, 2, 9, 15};
    vt_tensor tx = vt_tensor_make(VT_DTYPE_F32, x, 4, sx), ty = vt_tensor_make(VT_DTYPE_F32, y, 4, sy);
    ck_assert_int_eq(be->iface->upsample_nearest(be, &ty, &tx, 3), 0);
    for (int pl = 0; pl < 4; pl++)
        for (int h = 0; h < 9; h++)
            for (int w = 0; w < 15; w++) ck_assert(y[(pl * 9 + h) * 15 + w] == x[(pl * 3 + h / 3) * 5 + w / 3]);
    vt_tensor ty1 = vt_tensor_make(VT_DTYPE_F32, y, 4, sx);
    ck_assert_int_eq(be->iface->upsample_nearest(be, &ty1, &tx, 1), 0);
    ck_assert_int_eq(memcmp(x, y, sizeof x), 0);
    expect_error(be->iface->upsample_nearest(be, &ty, &tx, 2), VT_E_SHAPE, "is not x (2, 2, 3, 5) (B, C, H, W) times 2");
    expect_error(be->iface->upsample_nearest(be, &ty, &tx, 0), VT_E_INVALID, "factor 0");
}
END_TEST

int main(void) {
    Suite *s = suite_create("ops_cpu");
    TCase *tc = tcase_create("ops_cpu");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, buffers);
    tcase_add_test(tc, linear_all_epilogues);
    tcase_add_test(tc, linear_k0_and_errors);
    tcase_add_test(tc, matmul_batched_transposes);
    tcase_add_test(tc, norms);
    tcase_add_test(tc, modulate_and_gated_add);
    tcase_add_test(tc, softmax_rows);
    tcase_add_test(tc, activations);
    tcase_add_test(tc, binary_and_scale);
    tcase_add_test(tc, patchify_layouts);
    tcase_add_test(tc, conv2d_cases);
    tcase_add_test(tc, upsample);
    suite_add_tcase(s, tc);
    return vt_check_run(s);
}
