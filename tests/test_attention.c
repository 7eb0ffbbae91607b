/* Check suite for the attention family (DESIGN §4): every pattern of the CPU
 * backend against one brute-force reference that lists each query's allowed
 * keys from the pattern's definition and runs masked softmax attention in
 * double precision, plus hand-written windows read back from the engine. */
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

/* The positions a query at i sees on an axis of length L with kernel k and
 * dilation d, by NATTEN's definition: the members of i's residue class (the
 * positions ≡ i mod d, in order), k consecutive ones centred on i — for even k,
 * k/2 before it and k/2 − 1 after — slid inward, one step at a time, until the
 * window lies inside the class. Writes them to out in increasing order. */
static int natten_window(int i, int L, int k, int d, int *out) {
    int cls[4096], n = 0, me = 0;
    for (int p = i % d; p < L; p += d) {
        if (p == i) me = n;
        cls[n++] = p;
    }
    int start = me - k / 2;
    while (start < 0) start++;
    while (start + k > n) start--;
    for (int m = 0; m < k; m++) out[m] = cls[start + m];
    return k;
}

/* Along T with causal_t: the k most recent frames of the query's residue
 * class, itself included (fewer at the start: nothing from the future fills in). */
static int causal_window(int i, int k, int d, int *out) {
    int n = 0;
    for (int p = i; p >= 0 && n < k; p -= d) out[n++] = p;
    return n;
}

/* table[i·L + j]: whether a query at coordinate i of axis `ax` may see a key at j. */
static unsigned char *axis_table(const vt_attn_desc *D, int ax) {
    const int L = D->grid[ax];
    unsigned char *t = calloc((size_t)L * L, 1);
    for (int i = 0; i < L; i++) {
        int win[4096], n = 0;
        switch (D->kind) {
        case VT_ATTN_NEIGHBORHOOD:
            if (ax == 0 && D->causal_t) n = causal_window(i, D->kernel[0], D->dilation[0], win);
            else n = natten_window(i, L, D->kernel[ax], D->dilation[ax], win);
            for (int m = 0; m < n; m++) t[i * L + win[m]] = 1;
            break;
        case VT_ATTN_AXIAL:
            for (int j = 0; j < L; j++) t[i * L + j] = ax == D->axis || j == i;
            break;
        case VT_ATTN_BLOCK:
            for (int j = 0; j < L; j++) t[i * L + j] = ax == 0 ? j == i : j / D->window == i / D->window;
            break;
        case VT_ATTN_GRID: {
            /* G×G tokens per group, G apart... i.e. equal coordinates mod L/G */
            int stride = L / D->window;
            for (int j = 0; j < L; j++) t[i * L + j] = ax == 0 ? j == i : j % stride == i % stride;
            break;
        }
        default:
            for (int j = 0; j < L; j++) t[i * L + j] = 1;
            break;
        }
    }
    return t;
}

/* Masked softmax attention in double over the strided layout of vt_attn_args;
 * out is (B, Nq, heads, head_dim). A query with no visible key gets zeros. */
static void reference(const vt_attn_args *a, double *out) {
    const int d = a->head_dim;
    const size_t hd = (size_t)a->heads * d;
    const size_t ldq = a->ld_q ? a->ld_q : hd, ldk = a->ld_k ? a->ld_k : hd, ldv = a->ld_v ? a->ld_v : hd;
    const double scale = a->desc.scale != 0 ? a->desc.scale : 1.0 / sqrt((double)d);
    const float *Q = a->q->data, *K = a->k->data, *V = a->v->data;
    const float *mask = a->key_mask ? a->key_mask->data : NULL;
    const int self = a->desc.kind != VT_ATTN_CROSS && a->desc.kind != VT_ATTN_FULL;
    const vt_attn_desc *D = &a->desc;
    unsigned char *tab[3] = {NULL, NULL, NULL};
    if (self)
        for (int ax = 0; ax < 3; ax++) tab[ax] = axis_table(D, ax);
    double *s = malloc((size_t)(a->Nk ? a->Nk : 1) * sizeof *s);
    for (int b = 0; b < a->B; b++)
        for (int h = 0; h < a->heads; h++)
            for (int q = 0; q < a->Nq; q++) {
                const float *qv = Q + a->off_q + ((size_t)b * a->Nq + q) * ldq + (size_t)h * d;
                const int qc[3] = {self ? q / (D->grid[1] * D->grid[2]) : 0, self ? q / D->grid[2] % D->grid[1] : 0,
                                   self ? q % D->grid[2] : 0};
                double mx = -INFINITY;
                for (int k = 0; k < a->Nk; k++) {
                    int ok = !mask || mask[(size_t)b * a->Nk + k] != 0;
                    if (self) {
                        const int kc[3] = {k / (D->grid[1] * D->grid[2]), k / D->grid[2] % D->grid[1], k % D->grid[2]};
                        for (int ax = 0; ax < 3; ax++) ok = ok && tab[ax][qc[ax] * D->grid[ax] + kc[ax]];
                    }
                    if (!ok) {
                        s[k] = -INFINITY;
                        continue;
                    }
                    const float *kv = K + a->off_k + ((size_t)b * a->Nk + k) * ldk + (size_t)h * d;
                    double dot = 0;
                    for (int c = 0; c < d; c++) dot += (double)qv[c] * kv[c];
                    s[k] = dot * scale;
                    mx = fmax(mx, s[k]);
                }
                double *o = out + (((size_t)b * a->Nq + q) * a->heads + h) * d;
                for (int c = 0; c < d; c++) o[c] = 0;
                if (mx == -INFINITY) continue;
                double sum = 0;
                for (int k = 0; k < a->Nk; k++) {
                    if (s[k] == -INFINITY) continue;
                    double p = exp(s[k] - mx);
                    sum += p;
                    const float *vv = V + a->off_v + ((size_t)b * a->Nk + k) * ldv + (size_t)h * d;
                    for (int c = 0; c < d; c++) o[c] += p * vv[c];
                }
                for (int c = 0; c < d; c++) o[c] /= sum;
            }
    free(s);
    for (int ax = 0; ax < 3; ax++) free(tab[ax]);
}

/* Runs a and compares out with the reference: max|out − ref| / max|ref|. */
static double compare(vt_backend *bk, const vt_attn_args *a) {
    const size_t hd = (size_t)a->heads * a->head_dim, ldo = a->ld_o ? a->ld_o : hd;
    const size_t n = (size_t)a->B * a->Nq * hd;
    double *ref = malloc((n ? n : 1) * sizeof *ref);
    int rc = bk->iface->attention(bk, a);
    ck_assert_msg(rc == 0, "attention failed: %s", vt_context_error(bk->ctx));
    reference(a, ref);
    double md = 0, mr = 0;
    const float *O = a->out->data;
    for (int r = 0; r < a->B * a->Nq; r++)
        for (size_t c = 0; c < hd; c++) {
            double o = O[a->off_o + (size_t)r * ldo + c], e = ref[(size_t)r * hd + c];
            ck_assert_msg(isfinite(o), "output row %d, element %zu is %g", r, c, o);
            md = fmax(md, fabs(o - e));
            mr = fmax(mr, fabs(e));
        }
    free(ref);
    return mr > 0 ? md / mr : md;
}

/* A self-attention pattern on q, k, v read as strided views of one fused qkv
 * buffer (B, N, 3·heads·head_dim), output into a strided view too. */
static void check_self_on(vt_backend *bk, vt_attn_desc desc, int B, int heads, int d) {
    const int N = desc.grid[0] * desc.grid[1] * desc.grid[2], C = heads * d;
    const size_t nqkv = (size_t)B * N * 3 * C, nout = (size_t)B * N * (C + 5);
    float *qkv = malloc(nqkv * 4), *out = malloc(nout * 4);
    vt_rng_normal((uint64_t)N * 7 + desc.kind * 131 + (uint64_t)d, 0, 0, qkv, nqkv);
    vt_tensor tq = vt_tensor_f32_3d(qkv, B, N, 3 * C), to = vt_tensor_f32_3d(out, B, N, C + 5);
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
    a.off_o = 3; /* the output too may be a view with its own stride */
    a.ld_o = (size_t)C + 5;
    double rel = compare(bk, &a);
    ck_assert_msg(rel <= TOL,
                  "kind %d grid %dx%dx%d kernel %dx%dx%d dilation %dx%dx%d causal %d axis %d window %d, B %d heads %d "
                  "d %d: rel %.3g",
                  desc.kind, desc.grid[0], desc.grid[1], desc.grid[2], desc.kernel[0], desc.kernel[1], desc.kernel[2],
                  desc.dilation[0], desc.dilation[1], desc.dilation[2], desc.causal_t, desc.axis, desc.window, B, heads,
                  d, rel);
    free(qkv), free(out);
}

static void check_self(vt_attn_desc desc, int B, int heads, int d) { check_self_on(be, desc, B, heads, d); }

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

static vt_attn_desc nbhd(int T, int H, int W, int kt, int kh, int kw, int dt, int dh, int dw) {
    vt_attn_desc d = make(VT_ATTN_NEIGHBORHOOD, T, H, W);
    d.kernel[0] = kt, d.kernel[1] = kh, d.kernel[2] = kw;
    d.dilation[0] = dt, d.dilation[1] = dh, d.dilation[2] = dw;
    return d;
}

/* ---- windows read back from the engine ----
 * With q = 0 every score is 0, so each query averages the values of exactly the
 * keys it may see; with one-hot values (v of key j = e_j) out[q][j] = 1/|S| for
 * j in the visible set S and 0 elsewhere. */
static float *engine_weights(vt_attn_desc desc) {
    const int N = desc.grid[0] * desc.grid[1] * desc.grid[2];
    float *q = calloc((size_t)N * N, 4), *v = calloc((size_t)N * N, 4), *out = calloc((size_t)N * N, 4);
    for (int j = 0; j < N; j++) v[(size_t)j * N + j] = 1.0f;
    vt_tensor tq = vt_tensor_f32_3d(q, 1, N, N), tv = vt_tensor_f32_3d(v, 1, N, N), to = vt_tensor_f32_3d(out, 1, N, N);
    vt_attn_args a;
    memset(&a, 0, sizeof a);
    a.desc = desc;
    a.B = 1;
    a.Nq = a.Nk = N;
    a.heads = 1;
    a.head_dim = N;
    a.q = a.k = &tq;
    a.v = &tv;
    a.out = &to;
    ck_assert_msg(be->iface->attention(be, &a) == 0, "%s", vt_context_error(ctx));
    free(q), free(v);
    return out;
}

/* Asserts that query qi sees exactly the n keys listed. */
static void expect_window(const float *w, int N, int qi, const int *keys, int n) {
    for (int j = 0; j < N; j++) {
        int listed = 0;
        for (int m = 0; m < n; m++) listed |= keys[m] == j;
        float want = listed ? 1.0f / n : 0.0f;
        ck_assert_msg(fabsf(w[(size_t)qi * N + j] - want) < 1e-6f, "query %d, key %d: weight %g, expected %g", qi, j,
                      w[(size_t)qi * N + j], want);
    }
}

#define EXPECT(w, N, qi, ...)                                         \
    do {                                                              \
        const int keys_[] = {__VA_ARGS__};                            \
        expect_window(w, N, qi, keys_, sizeof keys_ / sizeof *keys_); \
    } while (0)

START_TEST(window_rule_by_hand) {
    /* L = 7, k = 3: centred, shifted inward at both ends */
    float *w = engine_weights(nbhd(1, 1, 7, 1, 1, 3, 1, 1, 1));
    EXPECT(w, 7, 0, 0, 1, 2);
    EXPECT(w, 7, 1, 0, 1, 2);
    EXPECT(w, 7, 2, 1, 2, 3);
    EXPECT(w, 7, 3, 2, 3, 4);
    EXPECT(w, 7, 5, 4, 5, 6);
    EXPECT(w, 7, 6, 4, 5, 6);
    free(w);
    /* dilation 2: the residue classes {0,2,4,6} and {1,3,5}, windows inside them */
    w = engine_weights(nbhd(1, 1, 7, 1, 1, 3, 1, 1, 2));
    EXPECT(w, 7, 0, 0, 2, 4);
    EXPECT(w, 7, 1, 1, 3, 5);
    EXPECT(w, 7, 2, 0, 2, 4);
    EXPECT(w, 7, 3, 1, 3, 5);
    EXPECT(w, 7, 4, 2, 4, 6);
    EXPECT(w, 7, 5, 1, 3, 5);
    EXPECT(w, 7, 6, 2, 4, 6);
    free(w);
    /* even k = 4: two keys before the query, one after, clamped into [0, 3] */
    w = engine_weights(nbhd(1, 1, 7, 1, 1, 4, 1, 1, 1));
    EXPECT(w, 7, 0, 0, 1, 2, 3);
    EXPECT(w, 7, 2, 0, 1, 2, 3);
    EXPECT(w, 7, 3, 1, 2, 3, 4);
    EXPECT(w, 7, 4, 2, 3, 4, 5);
    EXPECT(w, 7, 6, 3, 4, 5, 6);
    free(w);
    /* a line longer than one 16-query tile, k = 5 */
    w = engine_weights(nbhd(1, 1, 20, 1, 1, 5, 1, 1, 1));
    EXPECT(w, 20, 0, 0, 1, 2, 3, 4);
    EXPECT(w, 20, 2, 0, 1, 2, 3, 4);
    EXPECT(w, 20, 3, 1, 2, 3, 4, 5);
    EXPECT(w, 20, 10, 8, 9, 10, 11, 12);
    EXPECT(w, 20, 16, 14, 15, 16, 17, 18);
    EXPECT(w, 20, 17, 15, 16, 17, 18, 19);
    EXPECT(w, 20, 19, 15, 16, 17, 18, 19);
    free(w);
    /* dilation 3 on 20: classes of 7, 7 and 6 positions */
    w = engine_weights(nbhd(1, 1, 20, 1, 1, 3, 1, 1, 3));
    EXPECT(w, 20, 0, 0, 3, 6);
    EXPECT(w, 20, 9, 6, 9, 12);
    EXPECT(w, 20, 18, 12, 15, 18);
    EXPECT(w, 20, 2, 2, 5, 8);
    EXPECT(w, 20, 17, 11, 14, 17);
    EXPECT(w, 20, 19, 13, 16, 19);
    free(w);
    /* the same rule along H (a 5×1 column) and T */
    w = engine_weights(nbhd(1, 5, 1, 1, 3, 1, 1, 1, 1));
    EXPECT(w, 5, 0, 0, 1, 2);
    EXPECT(w, 5, 4, 2, 3, 4);
    free(w);
    /* causal along T, k = 3: the 3 most recent frames, fewer at the start */
    vt_attn_desc c = nbhd(6, 1, 1, 3, 1, 1, 1, 1, 1);
    c.causal_t = 1;
    w = engine_weights(c);
    EXPECT(w, 6, 0, 0);
    EXPECT(w, 6, 1, 0, 1);
    EXPECT(w, 6, 2, 0, 1, 2);
    EXPECT(w, 6, 5, 3, 4, 5);
    free(w);
    /* causal with dilation 2, k = 2: the frame two back in the same class */
    c = nbhd(7, 1, 1, 2, 1, 1, 2, 1, 1);
    c.causal_t = 1;
    w = engine_weights(c);
    EXPECT(w, 7, 0, 0);
    EXPECT(w, 7, 1, 1);
    EXPECT(w, 7, 4, 2, 4);
    EXPECT(w, 7, 5, 3, 5);
    free(w);
    /* 2D: k 3×3 on 4×5, corner (0,0) and the query (3,2) on the bottom edge */
    w = engine_weights(nbhd(1, 4, 5, 1, 3, 3, 1, 1, 1));
    EXPECT(w, 20, 0, 0, 1, 2, 5, 6, 7, 10, 11, 12);
    EXPECT(w, 20, 17, 6, 7, 8, 11, 12, 13, 16, 17, 18);
    free(w);
    /* the reference's own window helper agrees with the hand-written sets */
    int win[8];
    natten_window(6, 7, 3, 2, win);
    ck_assert(win[0] == 2 && win[1] == 4 && win[2] == 6);
    natten_window(3, 7, 4, 1, win);
    ck_assert(win[0] == 1 && win[3] == 4);
}
END_TEST

START_TEST(window_too_large) {
    float buf[7 * 24];
    vt_tensor t = vt_tensor_f32_3d(buf, 1, 7, 24), o = vt_tensor_f32_3d(buf, 1, 7, 8);
    vt_attn_args a;
    memset(&a, 0, sizeof a);
    a.desc = nbhd(1, 1, 7, 1, 1, 4, 1, 1, 2); /* 4·2 = 8 > 7 */
    a.B = 1;
    a.Nq = a.Nk = 7;
    a.heads = 1;
    a.head_dim = 8;
    a.q = a.k = a.v = &t;
    a.off_k = 8;
    a.off_v = 16;
    a.ld_q = a.ld_k = a.ld_v = 24;
    a.out = &o;
    ck_assert_int_eq(be->iface->attention(be, &a), VT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "exceeds axis W of length 7"));
    a.desc = nbhd(7, 1, 1, 8, 1, 1, 1, 1, 1);
    ck_assert_int_eq(be->iface->attention(be, &a), VT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "axis T"));
    a.desc = nbhd(1, 7, 1, 1, 3, 1, 1, 3, 1);
    ck_assert_int_eq(be->iface->attention(be, &a), VT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "axis H"));
    /* k·d = L exactly is allowed: one window per class */
    a.desc = nbhd(1, 1, 7, 1, 1, 3, 1, 1, 2);
    ck_assert_int_eq(be->iface->attention(be, &a), 0);
}
END_TEST

START_TEST(neighborhood_2d) {
    static const int grids[][2] = {{7, 9}, {5, 11}, {12, 12}, {16, 13}, {9, 37}};
    static const int kernels[] = {3, 5, 7};
    for (size_t g = 0; g < sizeof grids / sizeof *grids; g++)
        for (int ki = 0; ki < 3; ki++)
            for (int dil = 1; dil <= 3; dil++) {
                int k = kernels[ki], H = grids[g][0], W = grids[g][1];
                if (k * dil > H || k * dil > W) continue;
                check_self(nbhd(1, H, W, 1, k, k, 1, dil, dil), 2, 2, 8);
            }
    /* anisotropic kernels and dilations, even kernels */
    check_self(nbhd(1, 9, 14, 1, 3, 5, 1, 1, 2), 1, 3, 8);
    check_self(nbhd(1, 9, 14, 1, 4, 6, 1, 1, 1), 1, 1, 8);
    check_self(nbhd(1, 10, 33, 1, 2, 8, 1, 2, 3), 2, 1, 12);
    check_self(nbhd(1, 11, 40, 1, 1, 5, 1, 1, 1), 1, 2, 8); /* 1D along W on every row */
    check_self(nbhd(1, 40, 11, 1, 5, 1, 1, 1, 1), 1, 2, 8); /* 1D along H */
    /* the head dims of DiT models, and dims that are no multiple of 16 */
    check_self(nbhd(1, 16, 16, 1, 7, 7, 1, 1, 1), 1, 2, 64);
    check_self(nbhd(1, 12, 70, 1, 7, 7, 1, 1, 1), 1, 2, 64); /* wider than one packed strip */
    check_self(nbhd(1, 13, 21, 1, 5, 5, 1, 2, 1), 2, 2, 40);
    check_self(nbhd(1, 15, 17, 1, 13, 13, 1, 1, 1), 1, 1, 33);
}
END_TEST

START_TEST(neighborhood_3d_and_causal) {
    check_self(nbhd(3, 5, 7, 3, 3, 3, 1, 1, 1), 2, 2, 8);
    check_self(nbhd(3, 5, 7, 3, 3, 5, 1, 1, 1), 1, 2, 16);
    check_self(nbhd(5, 6, 7, 3, 3, 3, 1, 2, 1), 1, 2, 8);
    check_self(nbhd(6, 6, 7, 2, 3, 3, 3, 1, 2), 2, 1, 8);
    check_self(nbhd(4, 6, 40, 3, 3, 5, 1, 1, 2), 1, 2, 16);
    vt_attn_desc d = nbhd(5, 6, 7, 3, 3, 3, 1, 1, 1);
    d.causal_t = 1;
    check_self(d, 2, 1, 8);
    d = nbhd(7, 5, 6, 2, 3, 3, 2, 1, 1);
    d.causal_t = 1;
    check_self(d, 1, 2, 8);
    d = nbhd(8, 4, 20, 3, 3, 5, 1, 1, 1);
    d.causal_t = 1;
    check_self(d, 1, 2, 16);
    d = nbhd(6, 3, 4, 6, 1, 1, 1, 1, 1); /* causal over the whole clip: all past frames */
    d.causal_t = 1;
    check_self(d, 1, 1, 8);
    /* 2D windows on a clip: kernel 1 along T keeps every frame to itself */
    check_self(nbhd(4, 7, 5, 1, 5, 3, 1, 1, 1), 1, 2, 8);
    /* T = 1 with a 1D window along W */
    check_self(nbhd(1, 1, 19, 1, 1, 5, 1, 1, 1), 2, 1, 8);
}
END_TEST

START_TEST(axial_block_grid) {
    for (int axis = 0; axis < 3; axis++) {
        vt_attn_desc d = make(VT_ATTN_AXIAL, 4, 6, 9);
        d.axis = axis;
        check_self(d, 2, 2, 8);
        d = make(VT_ATTN_AXIAL, 3, 5, 40);
        d.axis = axis;
        check_self(d, 1, 2, 16);
    }
    vt_attn_desc d = make(VT_ATTN_AXIAL, 1, 40, 3);
    d.axis = 1; /* lines longer than one tile of queries */
    check_self(d, 1, 1, 8);
    d = make(VT_ATTN_AXIAL, 20, 2, 3);
    d.axis = 0;
    check_self(d, 2, 3, 8);
    d = make(VT_ATTN_AXIAL, 1, 1, 300);
    d.axis = 2; /* one line longer than a key chunk */
    check_self(d, 1, 1, 8);
    d = make(VT_ATTN_BLOCK, 1, 8, 12);
    d.window = 4;
    check_self(d, 2, 2, 8);
    d = make(VT_ATTN_BLOCK, 3, 6, 6);
    d.window = 3;
    check_self(d, 1, 1, 8);
    d = make(VT_ATTN_BLOCK, 2, 16, 24);
    d.window = 8;
    check_self(d, 1, 2, 16);
    d = make(VT_ATTN_GRID, 1, 8, 12);
    d.window = 4;
    check_self(d, 2, 2, 8);
    d = make(VT_ATTN_GRID, 2, 6, 9);
    d.window = 3;
    check_self(d, 1, 2, 8);
    d = make(VT_ATTN_GRID, 1, 16, 24);
    d.window = 8;
    check_self(d, 1, 2, 64);
}
END_TEST

/* Windows too large for the per-thread buffers: a union gathered chunk by
 * chunk, and one too long for per-coordinate lane masks. */
START_TEST(large_windows) {
    check_self(nbhd(1, 1, 1200, 1, 1, 1050, 1, 1, 1), 1, 1, 40);
    check_self(nbhd(1, 30, 40, 1, 25, 31, 1, 1, 1), 1, 1, 64);
}
END_TEST

START_TEST(full_attention) {
    check_self(make(VT_ATTN_FULL, 1, 7, 9), 2, 3, 8);
    check_self(make(VT_ATTN_FULL, 1, 23, 29), 1, 2, 16); /* 667 tokens: several key chunks and query blocks */
    check_self(make(VT_ATTN_FULL, 3, 5, 7), 2, 1, 33);    /* odd head dim */
    check_self(make(VT_ATTN_FULL, 1, 1, 1), 1, 1, 8);     /* one token */
    check_self(make(VT_ATTN_FULL, 1, 16, 16), 1, 4, 64);
    /* separate q, k, v buffers with the default strides (ld = 0) and an explicit scale */
    const int B = 2, N = 50, heads = 3, d = 20, C = heads * d;
    float *q = malloc((size_t)B * N * C * 4), *k = malloc((size_t)B * N * C * 4), *v = malloc((size_t)B * N * C * 4);
    float *out = malloc((size_t)B * N * C * 4);
    vt_rng_normal(11, 0, 0, q, (size_t)B * N * C);
    vt_rng_normal(12, 0, 0, k, (size_t)B * N * C);
    vt_rng_normal(13, 0, 0, v, (size_t)B * N * C);
    vt_tensor tq = vt_tensor_f32_3d(q, B, N, C), tk = vt_tensor_f32_3d(k, B, N, C), tv = vt_tensor_f32_3d(v, B, N, C);
    vt_tensor to = vt_tensor_f32_3d(out, B, N, C);
    vt_attn_args a;
    memset(&a, 0, sizeof a);
    a.desc.kind = VT_ATTN_FULL;
    a.desc.scale = 0.3f;
    a.B = B;
    a.Nq = a.Nk = N;
    a.heads = heads;
    a.head_dim = d;
    a.q = &tq;
    a.k = &tk;
    a.v = &tv;
    a.out = &to;
    ck_assert(compare(be, &a) <= TOL);
    /* a key mask on full attention: padding tokens of a batch */
    float mask[2 * 50];
    for (int i = 0; i < 2 * 50; i++) mask[i] = (i % 50) < (i < 50 ? 31 : 50) ? 1.0f : 0.0f;
    vt_tensor tm = vt_tensor_f32_2d(mask, B, N);
    a.key_mask = &tm;
    ck_assert(compare(be, &a) <= TOL);
    free(q), free(k), free(v), free(out);
}
END_TEST

/* Cross attention with a padding mask of a different length per batch item. */
static void check_cross(int B, int Nq, int Nk, int heads, int d, const int *present) {
    const int C = heads * d;
    float *q = malloc((size_t)B * Nq * C * 4), *kv = malloc((size_t)B * Nk * 2 * C * 4);
    float *out = malloc((size_t)B * Nq * C * 4), *mask = malloc((size_t)B * Nk * 4);
    vt_rng_normal(1, 0, 0, q, (size_t)B * Nq * C);
    vt_rng_normal(2, 0, 0, kv, (size_t)B * Nk * 2 * C);
    for (int i = 0; i < B * Nq * C; i++) out[i] = NAN; /* every output must be written */
    for (int b = 0; b < B; b++)
        for (int k = 0; k < Nk; k++) mask[b * Nk + k] = k < present[b] ? 1.0f : 0.0f;
    vt_tensor tq = vt_tensor_f32_3d(q, B, Nq, C), tkv = vt_tensor_f32_3d(kv, B, Nk, 2 * C);
    vt_tensor to = vt_tensor_f32_3d(out, B, Nq, C), tm = vt_tensor_f32_2d(mask, B, Nk);
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
    a.ld_k = a.ld_v = 2 * (size_t)C;
    a.out = &to;
    a.key_mask = &tm;
    double rel = compare(be, &a);
    ck_assert_msg(rel <= TOL, "cross Nq %d Nk %d: rel %.3g", Nq, Nk, rel);
    for (int b = 0; b < B; b++)
        if (present[b] == 0) /* no present key: zeros, by definition */
            for (int i = 0; i < Nq * C; i++) ck_assert(out[(size_t)b * Nq * C + i] == 0.0f);
    free(q), free(kv), free(out), free(mask);
}

START_TEST(cross_attention) {
    const int p3[3] = {5, 11, 0};
    check_cross(3, 37, 11, 2, 12, p3);
    const int p2[2] = {77, 300};
    check_cross(2, 20, 300, 2, 16, p2); /* more keys than one chunk */
    const int p1[1] = {1};
    check_cross(1, 5, 4, 1, 64, p1);
    const int p4[4] = {0, 7, 3, 16};
    check_cross(4, 33, 16, 4, 8, p4);
}
END_TEST

/* The result does not depend on the number of threads. */
START_TEST(thread_counts) {
    for (int n = 1; n <= 3; n += 2) {
        vt_context_params p = vt_context_default_params();
        p.n_threads = n;
        vt_context *c = vt_context_create(&p);
        vt_backend *b = vt_backend_cpu_create(c);
        check_self_on(b, nbhd(2, 9, 21, 1, 5, 5, 1, 1, 1), 2, 2, 16);
        check_self_on(b, make(VT_ATTN_FULL, 1, 9, 21), 1, 3, 16);
        vt_backend_destroy(&b);
        vt_context_destroy(&c);
    }
}
END_TEST

START_TEST(errors) {
    float buf[25 * 24];
    vt_tensor t = vt_tensor_f32_3d(buf, 1, 25, 24), o = vt_tensor_f32_3d(buf, 1, 25, 8);
    vt_attn_args a;
    memset(&a, 0, sizeof a);
    a.desc = nbhd(1, 5, 5, 1, 3, 3, 1, 1, 1);
    a.B = 1;
    a.Nq = a.Nk = 25;
    a.heads = 1;
    a.head_dim = 8;
    a.q = a.k = a.v = &t;
    a.off_k = 8;
    a.off_v = 16;
    a.ld_q = a.ld_k = a.ld_v = 24;
    a.out = &o;
    ck_assert_int_eq(be->iface->attention(be, &a), 0);
    vt_attn_args e = a;
    e.desc.grid[1] = 4; /* a 1×4×5 grid is not 25 tokens */
    ck_assert_int_eq(be->iface->attention(be, &e), VT_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "grid"));
    e = a;
    e.Nk = 24; /* self patterns need Nq = Nk */
    ck_assert_int_eq(be->iface->attention(be, &e), VT_E_SHAPE);
    e = a;
    e.desc.kind = VT_ATTN_FULL;
    e.Nk = 24;
    ck_assert_int_eq(be->iface->attention(be, &e), VT_E_SHAPE);
    e = a;
    e.desc = make(VT_ATTN_BLOCK, 1, 5, 5);
    e.desc.window = 2;
    ck_assert_int_eq(be->iface->attention(be, &e), VT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "does not divide"));
    e.desc.kind = VT_ATTN_GRID;
    ck_assert_int_eq(be->iface->attention(be, &e), VT_E_INVALID);
    e.desc = make(VT_ATTN_AXIAL, 1, 5, 5);
    e.desc.axis = 3;
    ck_assert_int_eq(be->iface->attention(be, &e), VT_E_INVALID);
    e = a;
    e.desc.kernel[2] = 0;
    ck_assert_int_eq(be->iface->attention(be, &e), VT_E_INVALID);
    e = a;
    e.desc.kind = (vt_attn_kind)42;
    ck_assert_int_eq(be->iface->attention(be, &e), VT_E_INVALID);
    e = a;
    e.ld_q = 4; /* rows overlapping their own heads */
    ck_assert_int_eq(be->iface->attention(be, &e), VT_E_SHAPE);
    e = a;
    e.off_v = 17; /* the last value row would run past the buffer */
    ck_assert_int_eq(be->iface->attention(be, &e), VT_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "v view"));
    e = a;
    e.heads = 0;
    ck_assert_int_eq(be->iface->attention(be, &e), VT_E_SHAPE);
    e = a;
    e.q = NULL;
    ck_assert_int_eq(be->iface->attention(be, &e), VT_E_INVALID);
    float m[25];
    vt_tensor tm = vt_tensor_f32_2d(m, 1, 24);
    e = a;
    e.desc.kind = VT_ATTN_CROSS;
    e.key_mask = &tm; /* (1, 24) for Nk = 25 */
    ck_assert_int_eq(be->iface->attention(be, &e), VT_E_SHAPE);
    tm = vt_tensor_f32_2d(m, 1, 25);
    e.desc = a.desc; /* a mask on a windowed pattern is not supported */
    ck_assert_int_eq(be->iface->attention(be, &e), VT_E_UNSUPPORTED);
    uint16_t h16[25 * 24];
    vt_tensor th = vt_tensor_make(VT_DTYPE_F16, h16, 3, (int64_t[]){1, 25, 24});
    e = a;
    e.q = &th;
    ck_assert_int_eq(be->iface->attention(be, &e), VT_E_UNSUPPORTED);
}
END_TEST

int main(void) {
    Suite *s = suite_create("attention");
    TCase *tc = tcase_create("attention");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, window_rule_by_hand);
    tcase_add_test(tc, window_too_large);
    tcase_add_test(tc, neighborhood_2d);
    tcase_add_test(tc, neighborhood_3d_and_causal);
    tcase_add_test(tc, axial_block_grid);
    tcase_add_test(tc, large_windows);
    tcase_add_test(tc, full_attention);
    tcase_add_test(tc, cross_attention);
    tcase_add_test(tc, thread_counts);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
