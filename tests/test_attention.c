/* Check suite for the attention family: every pattern against one brute-force
 * reference that lists each query's allowed keys from the pattern's definition
 * and runs masked softmax attention in double precision. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "context.h"
#include "rng.h"

#define TOL 1e-5 /* max|out − ref| / max|ref| */

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

/* ---- the definitions, literally ---- */

/* The k positions a query at i sees on an axis of length L with dilation d
 * (NATTEN): the positions of its residue class, a window of k of them centred on
 * it and shifted inward at the ends. Writes them to out; returns k. */
static int natten_window(int i, int L, int k, int d, int *out) {
    int cls[4096], n = 0, me = -1;
    for (int p = i % d; p < L; p += d) {
        if (p == i) me = n;
        cls[n++] = p;
    }
    int start = me - k / 2;
    if (start > n - k) start = n - k;
    if (start < 0) start = 0;
    for (int m = 0; m < k; m++) out[m] = cls[start + m];
    return k;
}

static int in_list(int v, const int *l, int n) {
    for (int i = 0; i < n; i++)
        if (l[i] == v) return 1;
    return 0;
}

/* Whether query q may see key k under desc, on the (T, H, W) grid. */
static int allowed(const vt_attn_desc *D, int q, int k) {
    const int T = D->grid[0], H = D->grid[1], W = D->grid[2];
    (void)T;
    int qc[3] = {q / (H * W), q / W % H, q % W}, kc[3] = {k / (H * W), k / W % H, k % W};
    int L[3] = {D->grid[0], D->grid[1], D->grid[2]};
    switch (D->kind) {
    case VT_ATTN_FULL: return 1;
    case VT_ATTN_NEIGHBORHOOD:
        for (int a = 0; a < 3; a++) {
            if (a == 0 && D->causal_t) {
                /* the kt most recent frames of the query's residue class, itself included */
                int d = D->dilation[0];
                if ((qc[0] - kc[0]) % d != 0 || kc[0] > qc[0] || (qc[0] - kc[0]) / d >= D->kernel[0]) return 0;
                continue;
            }
            int win[4096];
            int n = natten_window(qc[a], L[a], D->kernel[a], D->dilation[a], win);
            if (!in_list(kc[a], win, n)) return 0;
        }
        return 1;
    case VT_ATTN_AXIAL:
        for (int a = 0; a < 3; a++)
            if (a != D->axis && qc[a] != kc[a]) return 0;
        return 1;
    case VT_ATTN_BLOCK:
        return qc[0] == kc[0] && qc[1] / D->window == kc[1] / D->window && qc[2] / D->window == kc[2] / D->window;
    case VT_ATTN_GRID: {
        int sh = H / D->window, sw = W / D->window;
        return qc[0] == kc[0] && qc[1] % sh == kc[1] % sh && qc[2] % sw == kc[2] % sw;
    }
    case VT_ATTN_CROSS: return 1;
    }
    return 0;
}

/* Masked softmax attention in double over the strided layout of vt_attn_args. */
static void reference(const vt_attn_args *a, double *out) {
    const int d = a->head_dim;
    double scale = a->desc.scale != 0 ? a->desc.scale : 1.0 / sqrt((double)d);
    const float *Q = a->q->data, *K = a->k->data, *V = a->v->data;
    const float *mask = a->key_mask ? a->key_mask->data : NULL;
    double *s = malloc((size_t)a->Nk * sizeof *s);
    for (int b = 0; b < a->B; b++)
        for (int h = 0; h < a->heads; h++)
            for (int q = 0; q < a->Nq; q++) {
                const float *qv = Q + a->off_q + ((size_t)b * a->Nq + q) * a->ld_q + (size_t)h * d;
                double mx = -INFINITY;
                for (int k = 0; k < a->Nk; k++) {
                    int ok = a->desc.kind == VT_ATTN_CROSS ? (!mask || mask[b * a->Nk + k] != 0) : allowed(&a->desc, q, k);
                    if (!ok) {
                        s[k] = -INFINITY;
                        continue;
                    }
                    const float *kv = K + a->off_k + ((size_t)b * a->Nk + k) * a->ld_k + (size_t)h * d;
                    double dot = 0;
                    for (int c = 0; c < d; c++) dot += (double)qv[c] * kv[c];
                    s[k] = dot * scale;
                    mx = fmax(mx, s[k]);
                }
                double *o = out + (((size_t)b * a->Nq + q) * a->heads + h) * d;
                for (int c = 0; c < d; c++) o[c] = 0;
                if (mx == -INFINITY) continue; /* no visible key: zeros, by definition */
                double sum = 0;
                for (int k = 0; k < a->Nk; k++) {
                    if (s[k] == -INFINITY) continue;
                    double p = exp(s[k] - mx);
                    sum += p;
                    const float *vv = V + a->off_v + ((size_t)b * a->Nk + k) * a->ld_v + (size_t)h * d;
                    for (int c = 0; c < d; c++) o[c] += p * vv[c];
                }
                for (int c = 0; c < d; c++) o[c] /= sum;
            }
    free(s);
}

/* Runs a self-attention pattern on a fused qkv buffer (strided views) and
 * compares with the reference. */
static void check_self(vt_attn_desc desc, int B, int heads, int d) {
    const int N = desc.grid[0] * desc.grid[1] * desc.grid[2], C = heads * d;
    size_t nqkv = (size_t)B * N * 3 * C, nout = (size_t)B * N * C;
    float *qkv = malloc(nqkv * 4), *out = malloc(nout * 4);
    double *ref = malloc(nout * sizeof *ref);
    vt_rng_normal((uint64_t)N * 7 + desc.kind, 0, 0, qkv, nqkv);
    vt_tensor tq = vt_tensor_f32_3d(qkv, B, N, 3 * C), to = vt_tensor_f32_3d(out, B, N, C);
    vt_attn_args a;
    memset(&a, 0, sizeof a);
    a.desc = desc;
    a.B = B;
    a.Nq = a.Nk = N;
    a.heads = heads;
    a.head_dim = d;
    a.q = a.k = a.v = &tq;
    a.off_k = (size_t)C;
    a.off_v = 2 * (size_t)C;
    a.ld_q = a.ld_k = a.ld_v = 3 * (size_t)C;
    a.out = &to;
    a.ld_o = (size_t)C;
    ck_assert_msg(be->iface->attention(be, &a) == 0, "%s", vt_context_error(ctx));
    reference(&a, ref);
    double md = 0, mr = 0;
    for (size_t i = 0; i < nout; i++) {
        md = fmax(md, fabs(out[i] - ref[i]));
        mr = fmax(mr, fabs(ref[i]));
    }
    ck_assert_msg(mr > 0 && md / mr <= TOL, "kind %d grid %dx%dx%d k %dx%dx%d dil %dx%dx%d causal %d axis %d win %d: rel %.3g",
                  desc.kind, desc.grid[0], desc.grid[1], desc.grid[2], desc.kernel[0], desc.kernel[1], desc.kernel[2],
                  desc.dilation[0], desc.dilation[1], desc.dilation[2], desc.causal_t, desc.axis, desc.window, md / mr);
    free(qkv), free(out), free(ref);
}

static vt_attn_desc make(vt_attn_kind kind, int T, int H, int W) {
    vt_attn_desc d;
    memset(&d, 0, sizeof d);
    d.kind = kind;
    d.grid[0] = T;
    d.grid[1] = H;
    d.grid[2] = W;
    for (int i = 0; i < 3; i++) d.kernel[i] = d.dilation[i] = 1;
    return d;
}

START_TEST(window_rule_by_hand) {
    int w[8];
    natten_window(0, 7, 3, 1, w);
    ck_assert(w[0] == 0 && w[1] == 1 && w[2] == 2);
    natten_window(6, 7, 3, 1, w);
    ck_assert(w[0] == 4 && w[1] == 5 && w[2] == 6);
    natten_window(3, 7, 3, 1, w);
    ck_assert(w[0] == 2 && w[1] == 3 && w[2] == 4);
    natten_window(0, 7, 3, 2, w);
    ck_assert(w[0] == 0 && w[1] == 2 && w[2] == 4);
    natten_window(1, 7, 3, 2, w);
    ck_assert(w[0] == 1 && w[1] == 3 && w[2] == 5);
    natten_window(6, 7, 3, 2, w);
    ck_assert(w[0] == 2 && w[1] == 4 && w[2] == 6);
    /* and the engine agrees on exactly those windows: a 1×1×7 grid, k = 3,
     * dilation 2, checked through outputs against the reference */
    vt_attn_desc d = make(VT_ATTN_NEIGHBORHOOD, 1, 1, 7);
    d.kernel[2] = 3;
    d.dilation[2] = 2;
    check_self(d, 1, 1, 4);
}
END_TEST

START_TEST(full_and_cross) {
    check_self(make(VT_ATTN_FULL, 1, 7, 9), 2, 3, 8);
    check_self(make(VT_ATTN_FULL, 1, 23, 29), 1, 2, 16); /* 667 tokens: several key chunks */
    check_self(make(VT_ATTN_FULL, 3, 5, 7), 2, 1, 33);    /* odd head dim */
    /* cross with a padding mask of different length per batch item, and a row of
     * a batch item with every key padded out */
    const int B = 3, Nq = 37, Nk = 11, heads = 2, d = 12, C = heads * d;
    float *q = malloc(B * Nq * C * 4), *kv = malloc(B * Nk * 2 * C * 4), *out = malloc(B * Nq * C * 4);
    float mask[3 * 11];
    double *ref = malloc(B * Nq * C * sizeof *ref);
    vt_rng_normal(1, 0, 0, q, B * Nq * C);
    vt_rng_normal(2, 0, 0, kv, B * Nk * 2 * C);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < Nk; k++) mask[b * Nk + k] = b == 2 ? 0.0f : (k < (b == 0 ? 5 : 11) ? 1.0f : 0.0f);
    vt_tensor tq = vt_tensor_f32_3d(q, B, Nq, C), tkv = vt_tensor_f32_3d(kv, B, Nk, 2 * C), to = vt_tensor_f32_3d(out, B, Nq, C);
    vt_tensor tm = vt_tensor_f32_2d(mask, B, Nk);
    vt_attn_args a;
    memset(&a, 0, sizeof a);
    a.desc.kind = VT_ATTN_CROSS;
    a.B = B;
    a.Nq = Nq;
    a.Nk = Nk;
    a.heads = heads;
    a.head_dim = d;
    a.q = &tq;
    a.k = a.v = &tkv;
    a.off_v = (size_t)C;
    a.ld_q = (size_t)C;
    a.ld_k = a.ld_v = 2 * (size_t)C;
    a.out = &to;
    a.ld_o = (size_t)C;
    a.key_mask = &tm;
    ck_assert_int_eq(be->iface->attention(be, &a), 0);
    reference(&a, ref);
    double md = 0, mr = 0;
    for (int i = 0; i < B * Nq * C; i++) {
        md = fmax(md, fabs(out[i] - ref[i]));
        mr = fmax(mr, fabs(ref[i]));
    }
    ck_assert(md / mr <= TOL);
    for (int i = 2 * Nq * C; i < 3 * Nq * C; i++) ck_assert(out[i] == 0.0f); /* fully masked: zeros */
    free(q), free(kv), free(out), free(ref);
}
END_TEST

START_TEST(neighborhood_2d) {
    int grids[][2] = {{7, 9}, {5, 11}, {12, 12}, {16, 13}};
    int kernels[] = {3, 5, 7};
    for (size_t g = 0; g < 4; g++)
        for (int ki = 0; ki < 3; ki++)
            for (int dil = 1; dil <= 3; dil++) {
                int k = kernels[ki];
                if (k * dil > grids[g][0] || k * dil > grids[g][1]) continue;
                vt_attn_desc d = make(VT_ATTN_NEIGHBORHOOD, 1, grids[g][0], grids[g][1]);
                d.kernel[1] = d.kernel[2] = k;
                d.dilation[1] = d.dilation[2] = dil;
                check_self(d, 2, 2, 8);
            }
    /* anisotropic kernel and dilation, even kernel */
    vt_attn_desc d = make(VT_ATTN_NEIGHBORHOOD, 1, 9, 14);
    d.kernel[1] = 3;
    d.kernel[2] = 5;
    d.dilation[2] = 2;
    check_self(d, 1, 3, 8);
    d.kernel[1] = 4;
    d.kernel[2] = 6;
    d.dilation[2] = 1;
    check_self(d, 1, 1, 8);
    /* the head dim of DiT models */
    d = make(VT_ATTN_NEIGHBORHOOD, 1, 16, 16);
    d.kernel[1] = d.kernel[2] = 7;
    check_self(d, 1, 2, 64);
}
END_TEST

START_TEST(neighborhood_3d_and_causal) {
    vt_attn_desc d = make(VT_ATTN_NEIGHBORHOOD, 5, 6, 7);
    d.kernel[0] = 3;
    d.kernel[1] = d.kernel[2] = 3;
    check_self(d, 2, 2, 8);
    d.dilation[1] = 2;
    check_self(d, 1, 2, 8);
    d.causal_t = 1;
    check_self(d, 2, 1, 8);
    d.kernel[0] = 2;
    d.dilation[0] = 2;
    check_self(d, 1, 1, 8);
    /* 2D windows on a clip: every frame on its own */
    d = make(VT_ATTN_NEIGHBORHOOD, 4, 7, 5);
    d.kernel[1] = 5;
    d.kernel[2] = 3;
    check_self(d, 1, 2, 8);
    /* T = 1 with a temporal kernel of 1 and 1D along W only */
    d = make(VT_ATTN_NEIGHBORHOOD, 1, 1, 19);
    d.kernel[2] = 5;
    check_self(d, 2, 1, 8);
}
END_TEST

START_TEST(axial_block_grid) {
    for (int axis = 0; axis < 3; axis++) {
        vt_attn_desc d = make(VT_ATTN_AXIAL, 4, 6, 9);
        d.axis = axis;
        check_self(d, 2, 2, 8);
    }
    vt_attn_desc d = make(VT_ATTN_AXIAL, 1, 40, 3);
    d.axis = 1; /* a line longer than one tile of queries */
    check_self(d, 1, 1, 8);
    d = make(VT_ATTN_BLOCK, 1, 8, 12);
    d.window = 4;
    check_self(d, 2, 2, 8);
    d = make(VT_ATTN_BLOCK, 3, 6, 6);
    d.window = 3;
    check_self(d, 1, 1, 8);
    d = make(VT_ATTN_GRID, 1, 8, 12);
    d.window = 4;
    check_self(d, 2, 2, 8);
    d = make(VT_ATTN_GRID, 2, 6, 9);
    d.window = 3;
    check_self(d, 1, 2, 8);
}
END_TEST

START_TEST(errors) {
    float buf[3 * 5 * 5 * 8];
    vt_tensor t = vt_tensor_f32_3d(buf, 1, 25, 24);
    vt_attn_args a;
    memset(&a, 0, sizeof a);
    a.desc = make(VT_ATTN_NEIGHBORHOOD, 1, 5, 5);
    a.desc.kernel[1] = a.desc.kernel[2] = 3;
    a.desc.dilation[2] = 2; /* 3·2 > 5 */
    a.B = 1;
    a.Nq = a.Nk = 25;
    a.heads = 1;
    a.head_dim = 8;
    a.q = a.k = a.v = &t;
    a.off_k = 8;
    a.off_v = 16;
    a.ld_q = a.ld_k = a.ld_v = 24;
    vt_tensor o = vt_tensor_f32_3d(buf, 1, 25, 8);
    a.out = &o;
    ck_assert_int_eq(be->iface->attention(be, &a), VT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "exceeds axis W"));
    a.desc.dilation[2] = 1;
    a.desc.grid[1] = 4; /* grid 1×4×5 ≠ 25 tokens */
    ck_assert_int_eq(be->iface->attention(be, &a), VT_E_SHAPE);
    a.desc = make(VT_ATTN_BLOCK, 1, 5, 5);
    a.desc.window = 2;
    ck_assert_int_eq(be->iface->attention(be, &a), VT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "does not divide"));
}
END_TEST

int main(void) {
    Suite *s = suite_create("attention");
    TCase *tc = tcase_create("attention");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, window_rule_by_hand);
    tcase_add_test(tc, full_and_cross);
    tcase_add_test(tc, neighborhood_2d);
    tcase_add_test(tc, neighborhood_3d_and_causal);
    tcase_add_test(tc, axial_block_grid);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
