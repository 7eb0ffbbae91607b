/* The attention family on the CPU: softmax(q·kᵀ·scale)·v over the keys each
 * query may see (DESIGN §4). Every pattern runs through one tiled engine with an
 * online softmax (FlashAttention's recurrence), so no N×N matrix is ever formed:
 * a tile of up to 16 nearby queries, the union of their allowed keys in chunks,
 * and a window test for the keys a query must not see.
 *
 * The tile is held transposed — 16 queries across one SIMD vector — so that the
 * scores of one key for the whole tile, the per-query softmax statistics and the
 * output update are all 16-wide vector operations, and key and value rows are
 * read in place (no gather, no lock-taking BLAS call per tile). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"

#define TQ 16      /* queries per tile: one vector of 16 floats */
#define TK_MAX 256 /* keys per chunk: scores are TK_MAX × TQ floats = 16 KiB */

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
    float *qt;       /* (d, TQ) scaled queries, transposed; padding lanes are 0 */
    float *ot;       /* (d, TQ) unnormalised output, transposed */
    float *st;       /* (TK_MAX, TQ) scores, then probabilities, key-major */
    float m[TQ], l[TQ];          /* running max and sum per query */
    int qi[TQ];                  /* query token indices */
    int wlo[3][TQ], whi[3][TQ];  /* each query's window [lo, hi) per axis, sub-axis units */
    const float **kp, **vp;      /* (TK_MAX) key and value rows of the chunk */
    int *kc;                     /* (TK_MAX, 3) key sub-axis coordinates */
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

/* Loads nq ≤ TQ queries, scaled and transposed, and resets the statistics. */
static void begin_tile(const attn_plan *P, scratch *S, int b, int h, int nq) {
    const vt_attn_args *a = P->a;
    const int d = a->head_dim;
    memset(S->qt, 0, (size_t)d * TQ * sizeof(float));
    memset(S->ot, 0, (size_t)d * TQ * sizeof(float));
    for (int i = 0; i < nq; i++) {
        const float *src = qrow(a, b, S->qi[i], h);
        for (int c = 0; c < d; c++) S->qt[c * TQ + i] = src[c] * P->scale;
    }
    for (int i = 0; i < TQ; i++) {
        S->m[i] = -INFINITY;
        S->l[i] = 0.0f;
    }
}

/* A tile's 16 queries as one GCC vector: AVX-512 zmm, two AVX2 ymm, or four
 * SSE xmm, whichever the clone targets. Loads and stores go through memcpy, which
 * compiles to unaligned vector moves. */
typedef float v16 __attribute__((vector_size(TQ * sizeof(float))));
#define LD(v, p) memcpy(&(v), (p), sizeof(v16))
#define ST(p, v) memcpy((p), &(v), sizeof(v16))

/* st[j][·] = Σ_c k_j[c] · qt[c][·] for the chunk's nk keys, 8 keys at a time
 * (8 accumulators keep the FMA pipes busy; the query vector is loaded once per c). */
VT_CLONES static void scores(scratch *S, int nk, int d) {
    const float *qt = S->qt;
    int j = 0;
    for (; j + 8 <= nk; j += 8) {
        const float *const *k = S->kp + j;
        v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
        for (int c = 0; c < d; c++) {
            v16 q;
            LD(q, qt + c * TQ);
            a0 += k[0][c] * q;
            a1 += k[1][c] * q;
            a2 += k[2][c] * q;
            a3 += k[3][c] * q;
            a4 += k[4][c] * q;
            a5 += k[5][c] * q;
            a6 += k[6][c] * q;
            a7 += k[7][c] * q;
        }
        float *o = S->st + (size_t)j * TQ;
        ST(o, a0);
        ST(o + TQ, a1);
        ST(o + 2 * TQ, a2);
        ST(o + 3 * TQ, a3);
        ST(o + 4 * TQ, a4);
        ST(o + 5 * TQ, a5);
        ST(o + 6 * TQ, a6);
        ST(o + 7 * TQ, a7);
    }
    for (; j < nk; j++) {
        const float *k0 = S->kp[j];
        v16 a0 = {0};
        for (int c = 0; c < d; c++) {
            v16 q;
            LD(q, qt + c * TQ);
            a0 += k0[c] * q;
        }
        ST(S->st + (size_t)j * TQ, a0);
    }
}

/* -inf where a key lies outside a query's window (windowed patterns). */
VT_CLONES static void mask_windows(scratch *S, int nk) {
    for (int j = 0; j < nk; j++) {
        const int *kc = S->kc + j * 3;
        float *row = S->st + (size_t)j * TQ;
        for (int i = 0; i < TQ; i++) {
            int out = (kc[0] < S->wlo[0][i]) | (kc[0] >= S->whi[0][i]) | (kc[1] < S->wlo[1][i]) |
                      (kc[1] >= S->whi[1][i]) | (kc[2] < S->wlo[2][i]) | (kc[2] >= S->whi[2][i]);
            row[i] = out ? -INFINITY : row[i];
        }
    }
}

/* The online-softmax update: new running max, rescale of the old sum and
 * output by exp(m_old − m_new), probabilities, and ot += vᵀ·p. */
VT_CLONES static void update(scratch *S, int nk, int d) {
    float mx[TQ], corr[TQ], sh[TQ], sum[TQ] = {0};
    for (int i = 0; i < TQ; i++) mx[i] = S->m[i];
    for (int j = 0; j < nk; j++) {
        const float *row = S->st + (size_t)j * TQ;
        for (int i = 0; i < TQ; i++) mx[i] = row[i] > mx[i] ? row[i] : mx[i];
    }
    for (int i = 0; i < TQ; i++) {
        /* a query with nothing visible so far keeps m = -inf and p = 0 */
        sh[i] = mx[i] == -INFINITY ? 0.0f : mx[i];
        corr[i] = vt_exp_lane(S->m[i] - sh[i]);
    }
    for (int j = 0; j < nk; j++) {
        float *row = S->st + (size_t)j * TQ;
        for (int i = 0; i < TQ; i++) {
            row[i] = vt_exp_lane(row[i] - sh[i]);
            sum[i] += row[i];
        }
    }
    for (int i = 0; i < TQ; i++) {
        S->l[i] = S->l[i] * corr[i] + sum[i];
        S->m[i] = mx[i];
    }
    /* ot[c][·] = corr ⊙ ot[c][·] + Σ_j v_j[c] · p_j[·], four channels at a time */
    v16 cv;
    LD(cv, corr);
    int c = 0;
    for (; c + 8 <= d; c += 8) {
        v16 o[8];
        for (int u = 0; u < 8; u++) {
            LD(o[u], S->ot + (c + u) * TQ);
            o[u] *= cv;
        }
        for (int j = 0; j < nk; j++) {
            const float *v = S->vp[j] + c;
            v16 p;
            LD(p, S->st + (size_t)j * TQ);
            o[0] += v[0] * p;
            o[1] += v[1] * p;
            o[2] += v[2] * p;
            o[3] += v[3] * p;
            o[4] += v[4] * p;
            o[5] += v[5] * p;
            o[6] += v[6] * p;
            o[7] += v[7] * p;
        }
        for (int u = 0; u < 8; u++) ST(S->ot + (c + u) * TQ, o[u]);
    }
    for (; c < d; c++) {
        v16 o;
        LD(o, S->ot + c * TQ);
        o *= cv;
        for (int j = 0; j < nk; j++) {
            v16 p;
            LD(p, S->st + (size_t)j * TQ);
            o += S->vp[j][c] * p;
        }
        ST(S->ot + c * TQ, o);
    }
}

/* Writes o / l; a query that saw no key (all masked) outputs zeros. */
static void end_tile(const attn_plan *P, scratch *S, int b, int h, int nq) {
    const vt_attn_args *a = P->a;
    const int d = a->head_dim;
    for (int i = 0; i < nq; i++) {
        float *dst = orow(a, b, S->qi[i], h);
        float inv = S->l[i] > 0.0f ? 1.0f / S->l[i] : 0.0f;
        for (int c = 0; c < d; c++) dst[c] = S->ot[c * TQ + i] * inv;
    }
}

/* ---- FULL and CROSS: query tiles of consecutive tokens, key ranges read in place ---- */

static void run_contiguous(const attn_plan *P, scratch *S, int64_t item) {
    const vt_attn_args *a = P->a;
    const int d = a->head_dim, tiles = (a->Nq + TQ - 1) / TQ;
    const int b = (int)(item / ((int64_t)a->heads * tiles)), h = (int)(item / tiles % a->heads), t = (int)(item % tiles);
    const int q0 = t * TQ, nq = a->Nq - q0 < TQ ? a->Nq - q0 : TQ;
    for (int i = 0; i < nq; i++) S->qi[i] = q0 + i;
    begin_tile(P, S, b, h, nq);
    const float *mask = a->key_mask ? (const float *)a->key_mask->data + (size_t)b * a->Nk : NULL;
    for (int k0 = 0; k0 < a->Nk; k0 += TK_MAX) {
        int nk = 0;
        for (int j = k0; j < a->Nk && j < k0 + TK_MAX; j++) {
            if (mask && mask[j] == 0.0f) continue; /* padding keys are simply left out */
            S->kp[nk] = krow(a, b, j, h);
            S->vp[nk] = vrow(a, b, j, h);
            nk++;
        }
        if (nk == 0) continue;
        scores(S, nk, d);
        update(S, nk, d);
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
                    window(&P->ax[ax], g.Lr[ax], j[ax], &S->wlo[ax][nq], &S->whi[ax][nq]);
                }
                S->qi[nq++] = (pos[0] * H + pos[1]) * W + pos[2];
            }
    for (int i = nq; i < TQ; i++)
        for (int ax = 0; ax < 3; ax++) S->wlo[ax][i] = S->whi[ax][i] = 0; /* padding lanes see nothing */
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
            S->kp[c] = krow(a, b, n, h);
            S->vp[c] = vrow(a, b, n, h);
        }
        scores(S, nk, d);
        mask_windows(S, nk);
        update(S, nk, d);
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
    int budget = TQ;
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
        P.n_items = (int64_t)a->B * a->heads * ((a->Nq + TQ - 1) / TQ);
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
    size_t bytes = vt_cpu_attention_scratch_bytes(nt, a->head_dim);
    char *mem = malloc(bytes);
    if (!mem) return vt_error(be->ctx, VT_E_NOMEM, "attention: out of memory for %d threads' scratch (%zu bytes)", nt, bytes);
    scratch *S = (scratch *)mem;
    char *p = mem + (size_t)nt * sizeof(scratch);
    const size_t d = (size_t)a->head_dim;
    for (int t = 0; t < nt; t++) {
        S[t].qt = (float *)p, p += d * TQ * sizeof(float);
        S[t].ot = (float *)p, p += d * TQ * sizeof(float);
        S[t].st = (float *)p, p += (size_t)TK_MAX * TQ * sizeof(float);
        S[t].kp = (const float **)p, p += TK_MAX * sizeof(float *);
        S[t].vp = (const float **)p, p += TK_MAX * sizeof(float *);
        S[t].kc = (int *)p, p += TK_MAX * 3 * sizeof(int);
    }
    job J = {&P, S};
    vt_pool_for(pool, P.n_items, 1, run_items, &J);
    free(mem);
    return VT_OK;
}

size_t vt_cpu_attention_scratch_bytes(int n_threads, int head_dim) {
    /* per thread: qt and ot (d × 16), the score block (256 × 16), key/value row
     * pointers and key coordinates: independent of the sequence length */
    size_t d = (size_t)head_dim;
    size_t per = sizeof(scratch) + 2 * d * TQ * sizeof(float) + (size_t)TK_MAX * TQ * sizeof(float) +
                 2 * TK_MAX * sizeof(float *) + TK_MAX * 3 * sizeof(int);
    return (size_t)n_threads * per + 64;
}
