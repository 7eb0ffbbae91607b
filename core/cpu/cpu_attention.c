/* The attention family on the CPU: softmax(q·kᵀ·scale)·v over the keys each
 * query may see (DESIGN §4). Every pattern runs through one tiled engine with an
 * online softmax (FlashAttention's recurrence), so no N×N matrix is ever formed:
 * a tile of nearby queries, the union of their allowed keys in chunks, one sgemm
 * for the scores and one for P·V, and a per-pair window test for the keys a
 * query must not see. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "cpu_ops.h"

#define TQ_MAX 64  /* queries per tile */
#define TK_MAX 256 /* keys per chunk: S is TQ_MAX × TK_MAX floats = 64 KiB */

/* How one axis of the (T, H, W) grid restricts keys. Positions are split into
 * `dil` residue classes; within a class (the "sub-axis", index j = i / dil),
 * the keys of sub-index j are [start(j), start(j) + len(j)). */
typedef enum axis_mode { AX_SAME, AX_WINDOW, AX_CAUSAL, AX_BLOCK, AX_ALL } axis_mode;

typedef struct axis_rule {
    axis_mode mode;
    int L;    /* axis length */
    int k;    /* window / block length in sub-axis units */
    int dil;  /* dilation: keys share the query's residue mod dil */
} axis_rule;

static int sub_len(const axis_rule *a, int r) { return (a->L - r + a->dil - 1) / a->dil; }

/* The window of sub-index j (residue class of length Lr), in sub-axis units. */
static void window(const axis_rule *a, int Lr, int j, int *s, int *e) {
    *s = j;
    *e = j + 1;
    switch (a->mode) {
    case AX_SAME: *s = j; *e = j + 1; break;
    case AX_ALL: *s = 0; *e = Lr; break;
    case AX_BLOCK: *s = (j / a->k) * a->k; *e = *s + a->k; break;
    case AX_CAUSAL:
        /* the k most recent positions up to and including j */
        *s = j - a->k + 1 < 0 ? 0 : j - a->k + 1;
        *e = j + 1;
        break;
    case AX_WINDOW: {
        /* NATTEN: centred, shifted inward at the borders so every query sees
         * exactly k keys; for even k the extra key is on the left. */
        int st = j - a->k / 2;
        if (st < 0) st = 0;
        if (st > Lr - a->k) st = Lr - a->k;
        *s = st;
        *e = st + a->k;
        break;
    }
    }
}

typedef struct attn_plan {
    const vt_attn_args *a;
    float scale;
    int contiguous;          /* FULL / CROSS: keys are index ranges, no window test */
    axis_rule ax[3];
    int tile[3];             /* queries per tile along each axis, in sub-axis units */
    /* work decomposition for the windowed path: (b, h, r_t, r_h, r_w, tile) */
    int64_t n_items;
} attn_plan;

typedef struct scratch {
    float *q;      /* (TQ_MAX, d) scaled queries */
    float *k, *v;  /* (TK_MAX, d) gathered keys and values */
    float *s;      /* (TQ_MAX, TK_MAX) scores, then probabilities */
    float *o;      /* (TQ_MAX, d) unnormalised output */
    float *m, *l;  /* (TQ_MAX) running max and sum */
    int *qi;       /* (TQ_MAX) query token indices */
    int *qwin;     /* (TQ_MAX, 6) query windows [s, e) per axis */
    int *kc;       /* (TK_MAX, 3) key sub-axis coordinates */
    int *ki;       /* (TK_MAX) key token indices */
} scratch;

static const float *qrow(const vt_attn_args *a, int b, int n, int h) {
    return (const float *)a->q->data + a->off_q + ((size_t)b * a->Nq + n) * a->ld_q + (size_t)h * a->head_dim;
}
static const float *krow(const vt_attn_args *a, int b, int n, int h) {
    return (const float *)a->k->data + a->off_k + ((size_t)b * a->Nk + n) * a->ld_k + (size_t)h * a->head_dim;
}
static const float *vrow(const vt_attn_args *a, int b, int n, int h) {
    return (const float *)a->v->data + a->off_v + ((size_t)b * a->Nk + n) * a->ld_v + (size_t)h * a->head_dim;
}
static float *orow(const vt_attn_args *a, int b, int n, int h) {
    return (float *)a->out->data + a->off_o + ((size_t)b * a->Nq + n) * a->ld_o + (size_t)h * a->head_dim;
}

/* Loads nq queries (scaled) and resets the running statistics. */
static void begin_tile(const attn_plan *P, scratch *S, int b, int h, int nq) {
    const vt_attn_args *a = P->a;
    const int d = a->head_dim;
    for (int i = 0; i < nq; i++) {
        const float *src = qrow(a, b, S->qi[i], h);
        for (int c = 0; c < d; c++) S->q[i * d + c] = src[c] * P->scale;
        S->m[i] = -INFINITY;
        S->l[i] = 0.0f;
    }
    memset(S->o, 0, (size_t)nq * d * sizeof(float));
}

/* One chunk of nk keys: s = q·kᵀ (masked entries already -inf after `mask`),
 * then the online-softmax update of m, l and o. k and v rows are at kp/vp with
 * row strides ldk/ldv. */
/* Below this many multiply-adds a GEMM call costs more than its arithmetic
 * (axial lines of 8 frames, 2×2 blocks): plain loops instead. */
#define SMALL_MACS 16384

static void chunk_scores(int nq, int nk, int d, const float *q, const float *kp, size_t ldk, float *s) {
    if ((long)nq * nk * d >= SMALL_MACS) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, d, 1.0f, q, d, kp, (int)ldk, 0.0f, s, TK_MAX);
        return;
    }
    for (int i = 0; i < nq; i++)
        for (int j = 0; j < nk; j++) {
            const float *a = q + (size_t)i * d, *b = kp + (size_t)j * ldk;
            float acc[4] = {0, 0, 0, 0};
            int c = 0;
            for (; c + 4 <= d; c += 4) {
                acc[0] += a[c] * b[c];
                acc[1] += a[c + 1] * b[c + 1];
                acc[2] += a[c + 2] * b[c + 2];
                acc[3] += a[c + 3] * b[c + 3];
            }
            for (; c < d; c++) acc[0] += a[c] * b[c];
            s[(size_t)i * TK_MAX + j] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        }
}

static void chunk_update(scratch *S, int nq, int nk, int d, const float *vp, size_t ldv) {
    for (int i = 0; i < nq; i++) {
        float *row = S->s + (size_t)i * TK_MAX;
        float mx = S->m[i];
        for (int j = 0; j < nk; j++) mx = row[j] > mx ? row[j] : mx;
        if (mx == -INFINITY) {
            /* nothing visible yet in this row: contributes nothing */
            for (int j = 0; j < nk; j++) row[j] = 0.0f;
            continue;
        }
        float corr = S->m[i] == -INFINITY ? 0.0f : expf(S->m[i] - mx);
        float sum = 0.0f;
        for (int j = 0; j < nk; j++) {
            float p = row[j] == -INFINITY ? 0.0f : expf(row[j] - mx);
            row[j] = p;
            sum += p;
        }
        S->l[i] = S->l[i] * corr + sum;
        S->m[i] = mx;
        if (corr != 1.0f) {
            float *o = S->o + (size_t)i * d;
            for (int c = 0; c < d; c++) o[c] *= corr;
        }
    }
    if ((long)nq * nk * d >= SMALL_MACS) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, d, nk, 1.0f, S->s, TK_MAX, vp, (int)ldv, 1.0f, S->o, d);
        return;
    }
    for (int i = 0; i < nq; i++) {
        float *o = S->o + (size_t)i * d;
        const float *p = S->s + (size_t)i * TK_MAX;
        for (int j = 0; j < nk; j++) {
            if (p[j] == 0.0f) continue;
            const float *v = vp + (size_t)j * ldv;
            for (int c = 0; c < d; c++) o[c] += p[j] * v[c];
        }
    }
}

/* Writes o / l; a query that saw no key (all masked) outputs zeros. */
static void end_tile(const attn_plan *P, scratch *S, int b, int h, int nq) {
    const vt_attn_args *a = P->a;
    const int d = a->head_dim;
    for (int i = 0; i < nq; i++) {
        float *dst = orow(a, b, S->qi[i], h);
        float inv = S->l[i] > 0.0f ? 1.0f / S->l[i] : 0.0f;
        for (int c = 0; c < d; c++) dst[c] = S->o[(size_t)i * d + c] * inv;
    }
}

/* ---- FULL and CROSS: query tiles of consecutive tokens, key ranges read in place ---- */

static void run_contiguous(const attn_plan *P, scratch *S, int64_t item) {
    const vt_attn_args *a = P->a;
    const int d = a->head_dim, tiles = (a->Nq + TQ_MAX - 1) / TQ_MAX;
    const int b = (int)(item / ((int64_t)a->heads * tiles)), h = (int)(item / tiles % a->heads), t = (int)(item % tiles);
    const int q0 = t * TQ_MAX, nq = a->Nq - q0 < TQ_MAX ? a->Nq - q0 : TQ_MAX;
    for (int i = 0; i < nq; i++) S->qi[i] = q0 + i;
    begin_tile(P, S, b, h, nq);
    const float *mask = a->key_mask ? (const float *)a->key_mask->data + (size_t)b * a->Nk : NULL;
    for (int k0 = 0; k0 < a->Nk; k0 += TK_MAX) {
        int nk = a->Nk - k0 < TK_MAX ? a->Nk - k0 : TK_MAX;
        chunk_scores(nq, nk, d, S->q, krow(a, b, k0, h), a->ld_k, S->s);
        if (mask)
            for (int j = 0; j < nk; j++)
                if (mask[k0 + j] == 0.0f)
                    for (int i = 0; i < nq; i++) S->s[(size_t)i * TK_MAX + j] = -INFINITY;
        chunk_update(S, nq, nk, d, vrow(a, b, k0, h), a->ld_v);
    }
    end_tile(P, S, b, h, nq);
}

/* ---- windowed patterns: a box of queries, the union box of their windows ---- */

typedef struct tile_geom {
    int r[3];        /* residue per axis */
    int Lr[3];       /* sub-axis lengths */
    int j0[3], nj[3]; /* query box in sub-axis units */
    int u0[3], nu[3]; /* key union box in sub-axis units */
} tile_geom;

static int64_t tiles_along(const attn_plan *P, int ax, int r) {
    int Lr = sub_len(&P->ax[ax], r);
    return (Lr + P->tile[ax] - 1) / P->tile[ax];
}

/* Decodes a work item into (b, h) and a tile box; returns 0 when the item is
 * out of range for its residue combination (tiles counts differ per residue). */
static void decode_item(const attn_plan *P, int64_t item, int *b, int *h, tile_geom *g) {
    const vt_attn_args *a = P->a;
    /* items enumerate (b, h, r_t, r_h, r_w, tile_t, tile_h, tile_w) with the
     * tile counts of the *largest* residue class; smaller classes skip extras. */
    int64_t rest = item;
    int64_t tmax[3];
    for (int ax = 2; ax >= 0; ax--) tmax[ax] = tiles_along(P, ax, 0);
    int ti[3], ri[3];
    for (int ax = 2; ax >= 0; ax--) {
        ti[ax] = (int)(rest % tmax[ax]);
        rest /= tmax[ax];
    }
    for (int ax = 2; ax >= 0; ax--) {
        ri[ax] = (int)(rest % P->ax[ax].dil);
        rest /= P->ax[ax].dil;
    }
    *h = (int)(rest % a->heads);
    *b = (int)(rest / a->heads);
    for (int ax = 0; ax < 3; ax++) {
        const axis_rule *R = &P->ax[ax];
        g->r[ax] = ri[ax];
        g->Lr[ax] = sub_len(R, ri[ax]);
        g->j0[ax] = ti[ax] * P->tile[ax];
        int nj = g->Lr[ax] - g->j0[ax];
        g->nj[ax] = nj < P->tile[ax] ? nj : P->tile[ax];
        if (g->nj[ax] <= 0) continue;
        int s0 = 0, e0 = 0, s1 = 0, e1 = 0;
        window(R, g->Lr[ax], g->j0[ax], &s0, &e0);
        window(R, g->Lr[ax], g->j0[ax] + g->nj[ax] - 1, &s1, &e1);
        /* windows move monotonically with j, so the union is [first start, last end) */
        g->u0[ax] = s0;
        g->nu[ax] = e1 - s0;
    }
}

static void run_windowed(const attn_plan *P, scratch *S, int64_t item) {
    const vt_attn_args *a = P->a;
    const int d = a->head_dim, H = a->desc.grid[1], W = a->desc.grid[2];
    int b, h;
    tile_geom g;
    memset(&g, 0, sizeof g);
    decode_item(P, item, &b, &h, &g);
    if (g.nj[0] <= 0 || g.nj[1] <= 0 || g.nj[2] <= 0) return;
    /* queries of the box and their windows */
    int nq = 0;
    for (int jt = 0; jt < g.nj[0]; jt++)
        for (int jh = 0; jh < g.nj[1]; jh++)
            for (int jw = 0; jw < g.nj[2]; jw++) {
                int j[3] = {g.j0[0] + jt, g.j0[1] + jh, g.j0[2] + jw};
                int pos[3];
                for (int ax = 0; ax < 3; ax++) {
                    pos[ax] = g.r[ax] + j[ax] * P->ax[ax].dil;
                    window(&P->ax[ax], g.Lr[ax], j[ax], &S->qwin[nq * 6 + 2 * ax], &S->qwin[nq * 6 + 2 * ax + 1]);
                }
                S->qi[nq++] = (pos[0] * H + pos[1]) * W + pos[2];
            }
    begin_tile(P, S, b, h, nq);
    const int64_t nkeys = (int64_t)g.nu[0] * g.nu[1] * g.nu[2];
    for (int64_t k0 = 0; k0 < nkeys; k0 += TK_MAX) {
        int nk = nkeys - k0 < TK_MAX ? (int)(nkeys - k0) : TK_MAX;
        for (int c = 0; c < nk; c++) {
            int64_t f = k0 + c;
            int u[3];
            u[2] = (int)(f % g.nu[2]);
            u[1] = (int)(f / g.nu[2] % g.nu[1]);
            u[0] = (int)(f / ((int64_t)g.nu[2] * g.nu[1]));
            int pos[3];
            for (int ax = 0; ax < 3; ax++) {
                S->kc[c * 3 + ax] = g.u0[ax] + u[ax];
                pos[ax] = g.r[ax] + (g.u0[ax] + u[ax]) * P->ax[ax].dil;
            }
            int n = (pos[0] * H + pos[1]) * W + pos[2];
            memcpy(S->k + (size_t)c * d, krow(a, b, n, h), (size_t)d * sizeof(float));
            memcpy(S->v + (size_t)c * d, vrow(a, b, n, h), (size_t)d * sizeof(float));
        }
        chunk_scores(nq, nk, d, S->q, S->k, (size_t)d, S->s);
        for (int i = 0; i < nq; i++) {
            const int *w = S->qwin + i * 6;
            float *row = S->s + (size_t)i * TK_MAX;
            for (int c = 0; c < nk; c++) {
                const int *kc = S->kc + c * 3;
                if (kc[0] < w[0] || kc[0] >= w[1] || kc[1] < w[2] || kc[1] >= w[3] || kc[2] < w[4] || kc[2] >= w[5])
                    row[c] = -INFINITY;
            }
        }
        chunk_update(S, nq, nk, d, S->v, (size_t)d);
    }
    end_tile(P, S, b, h, nq);
}

/* ---- planning, validation, threading ---- */

typedef struct job {
    const attn_plan *P;
    scratch *S; /* one per thread */
} job;

static void run_items(void *arg, int64_t i0, int64_t i1, int tid) {
    job *J = arg;
    scratch *S = &J->S[tid];
    for (int64_t i = i0; i < i1; i++) {
        if (J->P->contiguous) run_contiguous(J->P, S, i);
        else run_windowed(J->P, S, i);
    }
}

static int setup_axes(vt_backend *be, attn_plan *P) {
    const vt_attn_desc *D = &P->a->desc;
    static const char *names[3] = {"T", "H", "W"};
    for (int ax = 0; ax < 3; ax++) {
        axis_rule *R = &P->ax[ax];
        R->L = D->grid[ax];
        R->dil = 1;
        R->k = 1;
        R->mode = AX_SAME;
        switch (D->kind) {
        case VT_ATTN_NEIGHBORHOOD: {
            int k = D->kernel[ax], dil = D->dilation[ax];
            if (k < 1 || dil < 1)
                return vt_error(be->ctx, VT_E_INVALID, "attention: neighborhood kernel %d / dilation %d on axis %s must be >= 1",
                                k, dil, names[ax]);
            if ((int64_t)k * dil > R->L)
                return vt_error(be->ctx, VT_E_INVALID,
                                "attention: neighborhood kernel %d x dilation %d exceeds axis %s of length %d", k, dil,
                                names[ax], R->L);
            R->k = k;
            R->dil = dil;
            R->mode = (ax == 0 && D->causal_t) ? AX_CAUSAL : (k == 1 && dil == 1 ? AX_SAME : AX_WINDOW);
            break;
        }
        case VT_ATTN_AXIAL:
            if (D->axis < 0 || D->axis > 2) return vt_error(be->ctx, VT_E_INVALID, "attention: axial axis %d is not 0, 1 or 2", D->axis);
            if (ax == D->axis) R->mode = AX_ALL;
            break;
        case VT_ATTN_BLOCK:
        case VT_ATTN_GRID:
            if (ax == 0) break; /* per frame */
            if (D->window < 1 || R->L % D->window)
                return vt_error(be->ctx, VT_E_INVALID, "attention: %s window %d does not divide axis %s of length %d",
                                D->kind == VT_ATTN_BLOCK ? "block" : "grid", D->window, names[ax], R->L);
            if (D->kind == VT_ATTN_BLOCK) {
                R->mode = AX_BLOCK;
                R->k = D->window;
            } else {
                /* grid G: the residue classes mod L/G, each holding G tokens, all visible */
                R->mode = AX_ALL;
                R->dil = R->L / D->window;
            }
            break;
        default: break;
        }
    }
    /* Tile: along an axis whose window is the whole residue class (axial, grid)
     * every tile has the same union, so take as many queries as fit; a block is
     * its own tile; along a sliding window of k, a tile of t queries computes
     * t + k − 1 keys for k useful ones, so t ≈ 2(k − 1)/3 keeps that waste under
     * 40% while the GEMMs stay large enough; an axis on which each query sees
     * only itself gets tile 1 (a wider tile would compute keys nobody sees). */
    int budget = TQ_MAX;
    for (int ax = 2; ax >= 0; ax--) {
        const axis_rule *R = &P->ax[ax];
        int t;
        if (R->mode == AX_ALL) t = sub_len(R, 0);
        else if (R->mode == AX_BLOCK) t = R->k;
        else if (R->mode == AX_SAME) t = 1;
        else t = 2 * (R->k - 1) / 3;
        if (t > budget) t = budget;
        if (t < 1) t = 1;
        P->tile[ax] = t;
        budget /= t;
        if (budget < 1) budget = 1;
    }
    /* AX_SAME axes: the union is the query box itself, which is what we want. */
    int64_t items = (int64_t)P->a->B * P->a->heads;
    for (int ax = 0; ax < 3; ax++) items *= P->ax[ax].dil * tiles_along(P, ax, 0);
    P->n_items = items;
    return VT_OK;
}

int vt_cpu_attention(vt_backend *be, const vt_attn_args *a) {
    int rc;
    if ((rc = vt_cpu_check_f32(be, "attention", "q", a->q)) || (rc = vt_cpu_check_f32(be, "attention", "k", a->k)) ||
        (rc = vt_cpu_check_f32(be, "attention", "v", a->v)) || (rc = vt_cpu_check_f32(be, "attention", "out", a->out)) ||
        (a->key_mask && (rc = vt_cpu_check_f32(be, "attention", "key_mask", a->key_mask))))
        return rc;
    if (a->B < 1 || a->heads < 1 || a->head_dim < 1 || a->Nq < 0 || a->Nk < 0)
        return vt_error(be->ctx, VT_E_INVALID, "attention: B %d, heads %d, head_dim %d, Nq %d, Nk %d", a->B, a->heads,
                        a->head_dim, a->Nq, a->Nk);
    vt_attn_args A = *a;
    const size_t hd = (size_t)a->heads * a->head_dim;
    if (!A.ld_q) A.ld_q = hd;
    if (!A.ld_k) A.ld_k = hd;
    if (!A.ld_v) A.ld_v = hd;
    if (!A.ld_o) A.ld_o = hd;
    if (A.ld_q < hd || A.ld_k < hd || A.ld_v < hd || A.ld_o < hd)
        return vt_error(be->ctx, VT_E_SHAPE, "attention: a row stride is smaller than heads x head_dim (%zu)", hd);
    /* every row the op touches must lie inside its tensor */
    struct { const vt_tensor *t; size_t off, ld; int n; const char *name; } views[4] = {
        {a->q, A.off_q, A.ld_q, a->Nq, "q"}, {a->k, A.off_k, A.ld_k, a->Nk, "k"},
        {a->v, A.off_v, A.ld_v, a->Nk, "v"}, {a->out, A.off_o, A.ld_o, a->Nq, "out"}};
    for (int i = 0; i < 4; i++) {
        size_t rows = (size_t)a->B * views[i].n;
        if (rows && views[i].off + (rows - 1) * views[i].ld + hd > (size_t)vt_tensor_numel(views[i].t))
            return vt_error(be->ctx, VT_E_SHAPE, "attention: %s view (B %d x N %d, stride %zu, offset %zu) exceeds its tensor",
                            views[i].name, a->B, views[i].n, views[i].ld, views[i].off);
    }
    if (a->key_mask && vt_tensor_numel(a->key_mask) != (int64_t)a->B * a->Nk)
        return vt_error(be->ctx, VT_E_SHAPE, "attention: key_mask must be (B %d, Nk %d)", a->B, a->Nk);
    attn_plan P;
    memset(&P, 0, sizeof P);
    P.a = &A;
    P.scale = a->desc.scale != 0.0f ? a->desc.scale : (float)(1.0 / sqrt((double)a->head_dim));
    if (a->desc.kind == VT_ATTN_CROSS || a->desc.kind == VT_ATTN_FULL) {
        if (a->desc.kind == VT_ATTN_FULL && a->Nq != a->Nk)
            return vt_error(be->ctx, VT_E_SHAPE, "attention: full self-attention needs Nq == Nk (%d, %d)", a->Nq, a->Nk);
        P.contiguous = 1;
        P.n_items = (int64_t)a->B * a->heads * ((a->Nq + TQ_MAX - 1) / TQ_MAX);
    } else {
        const int *g = a->desc.grid;
        if (g[0] < 1 || g[1] < 1 || g[2] < 1 || (int64_t)g[0] * g[1] * g[2] != a->Nq || a->Nq != a->Nk)
            return vt_error(be->ctx, VT_E_SHAPE, "attention: grid %dx%dx%d does not match Nq %d / Nk %d", g[0], g[1], g[2],
                            a->Nq, a->Nk);
        if (a->desc.kind < VT_ATTN_FULL || a->desc.kind > VT_ATTN_CROSS)
            return vt_error(be->ctx, VT_E_INVALID, "attention: unknown pattern %d", (int)a->desc.kind);
        if ((rc = setup_axes(be, &P))) return rc;
    }
    if (a->Nq == 0 || P.n_items == 0) return VT_OK;

    vt_pool *pool = vt_context_pool(be->ctx);
    int nt = vt_pool_threads(pool);
    const size_t d = (size_t)a->head_dim;
    scratch *S = calloc((size_t)nt, sizeof *S);
    size_t per = TQ_MAX * d * 2 + TK_MAX * d * 2 + (size_t)TQ_MAX * TK_MAX + 2 * TQ_MAX;
    float *mem = S ? malloc((size_t)nt * per * sizeof(float)) : NULL;
    int *imem = S ? malloc((size_t)nt * (TQ_MAX * 7 + TK_MAX * 4) * sizeof(int)) : NULL;
    if (!S || !mem || !imem) {
        free(S), free(mem), free(imem);
        return vt_error(be->ctx, VT_E_NOMEM, "attention: out of memory for %d threads' scratch", nt);
    }
    for (int t = 0; t < nt; t++) {
        float *f = mem + (size_t)t * per;
        int *im = imem + (size_t)t * (TQ_MAX * 7 + TK_MAX * 4);
        S[t].q = f, f += TQ_MAX * d;
        S[t].o = f, f += TQ_MAX * d;
        S[t].k = f, f += TK_MAX * d;
        S[t].v = f, f += TK_MAX * d;
        S[t].s = f, f += (size_t)TQ_MAX * TK_MAX;
        S[t].m = f, f += TQ_MAX;
        S[t].l = f;
        S[t].qi = im, im += TQ_MAX;
        S[t].qwin = im, im += TQ_MAX * 6;
        S[t].kc = im, im += TK_MAX * 3;
        S[t].ki = im;
    }
    /* The tiles are small GEMMs run from our own threads: OpenBLAS must not
     * start its threads inside them, so it runs single-threaded meanwhile. */
    int blas_threads = openblas_get_num_threads();
    if (nt > 1) openblas_set_num_threads(1);
    job J = {&P, S};
    vt_pool_for(pool, P.n_items, 1, run_items, &J);
    if (nt > 1) openblas_set_num_threads(blas_threads);
    free(S), free(mem), free(imem);
    return VT_OK;
}

size_t vt_cpu_attention_scratch_bytes(int n_threads, int head_dim) {
    size_t d = (size_t)head_dim;
    size_t per = TQ_MAX * d * 2 + TK_MAX * d * 2 + (size_t)TQ_MAX * TK_MAX + 2 * TQ_MAX;
    return (size_t)n_threads * (per * sizeof(float) + (TQ_MAX * 7 + TK_MAX * 4) * sizeof(int));
}
