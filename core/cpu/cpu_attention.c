/* The attention family on the CPU: softmax(q·kᵀ·scale)·v over the keys each
 * query may see (DESIGN §4). Every pattern runs through one tiled engine with an
 * online softmax (FlashAttention's recurrence: running max, running sum, and an
 * accumulator rescaled when the max grows), so no N×N matrix is ever formed:
 * the working memory is a few hundred KiB per thread whatever N is.
 *
 * A tile is up to 16 nearby queries, held transposed — 16 queries across one
 * SIMD vector — so that the scores of one key for the whole tile, the softmax
 * statistics and the output update are all 16-wide vector operations. Keys and
 * values are first copied ("packed") into contiguous per-thread buffers: the
 * rows of one head in a fused qkv projection lie 3·heads·head_dim floats apart,
 * which the hardware prefetchers do not follow.
 *
 * Full and cross attention: a block of up to 8 tiles (128 queries) shares each
 * packed chunk of 256 keys, so a head's keys stream from memory once per 128
 * queries, not once per 16 (with 16 the kernel was bound by L3 bandwidth from
 * 64×64 tokens on).
 *
 * Windowed patterns (neighborhood, axial, block, grid): a tile is a small box of
 * queries in the (T, H, W) grid (in each axis' residue class when dilated); the
 * keys computed are the union box of the tile's windows, and a key outside a
 * query's own window is masked to -inf. The box shape is chosen to waste the
 * least (setup_axes: 4×4 for a 7×7 window, whose 10×10 union makes 49% of the
 * computed scores useful). Keys are packed as strips of the union's rows, which
 * the following tiles along W reuse.
 *
 * Conventions: NATTEN's border rule (windows shift inward, so every query sees
 * exactly k keys per axis, within its residue class when dilated); causal_t
 * keeps along T the k most recent frames up to and including the query's own
 * (fewer at the start); a cross-attention query whose keys are all masked out
 * outputs zeros.
 *
 * Why not cblas_sgemm per tile: OpenBLAS serialises concurrent small GEMMs from
 * several threads (its single-threaded path takes a lock), which left the
 * pool's other cores idle; the score kernel below takes no lock and on one core
 * computes a 16×256×64 block at ~130 GFLOP/s where sgemm does a 64×256×64 one at
 * ~100 (measured on the development Xeon). */
/* ISO C mode (-std=c11) turns GCC's floating-point contraction off, which
 * compiles every `acc += k * q` below to a multiply and an add: half the FMA
 * throughput, and the add's latency on the accumulator chain. Fused
 * multiply-adds are also the more accurate. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast")
#elif defined(__clang__)
#pragma clang fp contract(fast)
#endif

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"

#define TQ 16       /* queries per tile: one vector of 16 floats */
#define TK 256      /* keys per packed chunk: scores are TK × TQ floats = 16 KiB */
#define NSUB_MAX 8  /* tiles per full/cross block: 128 queries share each key chunk */
#define TILE_OVERHEAD 10.0 /* windowed: fixed cost of a tile, in keys (transposes, windows) */
#define MASK_CAP 1024 /* windowed: longest union along an axis with per-coordinate lane masks */

/* ---- the windows: how one axis of the (T, H, W) grid restricts keys ----
 * Positions are split into `dil` residue classes; within a class (the
 * "sub-axis", index j = i / dil) the keys of sub-index j are [s(j), e(j)). */
typedef enum axis_mode { AX_SAME, AX_WINDOW, AX_CAUSAL, AX_BLOCK, AX_ALL } axis_mode;

typedef struct axis_rule {
    axis_mode mode;
    int L;    /* axis length */
    int k;    /* window / block length in sub-axis units */
    int dil;  /* dilation: keys share the query's residue mod dil */
} axis_rule;

/* Length of residue class r: positions r, r + dil, … below L. */
static int sub_len(const axis_rule *a, int r) { return (a->L - r + a->dil - 1) / a->dil; }

/* The window of sub-index j in a residue class of length Lr, in sub-axis units. */
static void window(const axis_rule *a, int Lr, int j, int *s, int *e) {
    switch (a->mode) {
    case AX_SAME: *s = j; *e = j + 1; return;
    case AX_ALL: *s = 0; *e = Lr; return;
    case AX_BLOCK: *s = (j / a->k) * a->k; *e = *s + a->k; return;
    case AX_CAUSAL:
        /* NATTEN's causal rule: the k most recent positions, j itself included;
         * near the start there are fewer (no look-ahead to fill the window) */
        *s = j - a->k + 1 < 0 ? 0 : j - a->k + 1;
        *e = j + 1;
        return;
    case AX_WINDOW: {
        /* NATTEN: start j − ⌊k/2⌋, clamped into [0, Lr − k], so every query sees
         * exactly k keys; the window shifts inward at the borders. For even k
         * the centred window has ⌊k/2⌋ keys before j and k/2 − 1 after it. */
        int st = j - a->k / 2;
        if (st > Lr - a->k) st = Lr - a->k;
        if (st < 0) st = 0;
        *s = st;
        *e = st + a->k;
        return;
    }
    }
    *s = j;
    *e = j + 1;
}

typedef struct attn_plan {
    const vt_attn_args *a;
    float scale;
    int contiguous;   /* FULL / CROSS: keys are index ranges, no window test */
    int nsub;         /* FULL / CROSS: tiles per block */
    axis_rule ax[3];
    int tile[3];      /* windowed: queries per tile along each axis, in sub-axis units */
    int64_t tmax[3];  /* windowed: tiles along each axis in residue class 0 (the longest) */
    int64_t n_items;
    int wide;         /* 16-float vectors fit one register (AVX-512): 8-way register blocking, else 4 */
} attn_plan;

/* One tile of queries and its running softmax state. */
typedef struct qtile {
    float *qt;                   /* (d, TQ) scaled queries, transposed; padding lanes are 0 */
    float *ot;                   /* (d, TQ) unnormalised output, transposed */
    float m[TQ], l[TQ];          /* running max and sum per query */
    int qi[TQ];                  /* query token indices */
    int nq;
    int wlo[3][TQ], whi[3][TQ];  /* windowed: each query's window [lo, hi) per axis, sub-axis units */
} qtile;

typedef struct scratch {
    qtile t[NSUB_MAX];
    float *st;                /* (TK, TQ) scores, then probabilities, key-major */
    float *kpk, *vpk;         /* packed key and value rows: a chunk, or a strip (below) */
    const float **kp, **vp;   /* (TK) the rows of the current chunk, in the packed buffers */
    int *kc;                  /* (TK, 3) windowed: key sub-axis coordinates */
    /* windowed: the strip held in kpk/vpk — for (b, h, residues), the key box
     * [u0, u0 + nu) along T and H times the columns [ws, we) along W, row r
     * (t, h) at r·rs floats. Tiles along W reuse it until they leave it. */
    int have_strip;
    int sb, sh, sr[3], su0[2], snu[2], ws, we;
    size_t rs;
    /* windowed: per axis, whether some query's window is narrower than the
     * tile's union (else nothing to mask along it), and then for each union
     * coordinate the lanes (bit i = query i) whose window holds it */
    int need[3];
    uint16_t lanes[3][MASK_CAP];
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

/* Copies key and value row n of (b, h) to kdst and vdst. */
static void pack_row(const vt_attn_args *a, float *kdst, float *vdst, int b, int n, int h) {
    const size_t d = (size_t)a->head_dim;
    memcpy(kdst, krow(a, b, n, h), d * sizeof(float));
    memcpy(vdst, vrow(a, b, n, h), d * sizeof(float));
}

/* Copies n rows of d floats, src rows `ss` floats apart, dst rows `ds` apart,
 * asking for the source rows a few ahead: the rows of one head in a fused
 * multi-head buffer are kilobytes apart, and copied on demand each costs a
 * full memory latency. */
static void copy_rows(float *dst, size_t ds, const float *src, size_t ss, int n, size_t d) {
    enum { AHEAD = 8 };
    for (int i = 0; i < n && i < AHEAD; i++)
        for (size_t off = 0; off < d; off += 16) __builtin_prefetch(src + (size_t)i * ss + off, 0, 3);
    for (int i = 0; i < n; i++) {
        if (i + AHEAD < n)
            for (size_t off = 0; off < d; off += 16) __builtin_prefetch(src + (size_t)(i + AHEAD) * ss + off, 0, 3);
        memcpy(dst + (size_t)i * ds, src + (size_t)i * ss, d * sizeof(float));
    }
}

/* A tile's 16 queries as one GCC vector: AVX-512 zmm, two AVX2 ymm, or four
 * SSE xmm, whichever the clone targets. Loads and stores go through memcpy, which
 * compiles to unaligned vector moves (and keeps v16 out of function signatures,
 * whose ABI would differ between the clones). */
typedef float v16 __attribute__((vector_size(TQ * sizeof(float))));
#define LD(v, p) memcpy(&(v), (p), sizeof(v16))
#define ST(p, v) memcpy((p), &(v), sizeof(v16))

/* st[j][·] = Σ_c k_j[c] · qt[c][·] for the chunk's nk keys, 8 keys at a time
 * (8 accumulators keep the FMA pipes busy; each query vector is loaded once per
 * 8 keys). With AVX-512 each 16-float accumulator is one zmm register. */
VT_CLONES static void scores_wide(const qtile *T, float *st, const float *const *kp, int nk, int d) {
    const float *qt = T->qt;
    int j = 0;
    for (; j + 8 <= nk; j += 8) {
        const float *k0 = kp[j], *k1 = kp[j + 1], *k2 = kp[j + 2], *k3 = kp[j + 3];
        const float *k4 = kp[j + 4], *k5 = kp[j + 5], *k6 = kp[j + 6], *k7 = kp[j + 7];
        v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
        for (int c = 0; c < d; c++) {
            v16 q;
            LD(q, qt + c * TQ);
            a0 += k0[c] * q;
            a1 += k1[c] * q;
            a2 += k2[c] * q;
            a3 += k3[c] * q;
            a4 += k4[c] * q;
            a5 += k5[c] * q;
            a6 += k6[c] * q;
            a7 += k7[c] * q;
        }
        float *o = st + (size_t)j * TQ;
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
        const float *k0 = kp[j];
        v16 a0 = {0};
        for (int c = 0; c < d; c++) {
            v16 q;
            LD(q, qt + c * TQ);
            a0 += k0[c] * q;
        }
        ST(st + (size_t)j * TQ, a0);
    }
}

/* Without AVX-512, GCC lowers a 16-float vector to two halves that it moves
 * through the stack and general registers at every operation (seen in the AVX2
 * clone: vmovq/vpinsrq around each add; full attention at 4096 tokens ran 6x
 * slower than sgemm on the materialised scores). The narrow kernels hold each
 * 16-lane row as two native 8-float vectors instead; per lane the arithmetic is
 * the same, so the results are too. */
typedef float v8 __attribute__((vector_size(8 * sizeof(float))));
#define LD8(v, p) memcpy(&(v), (p), sizeof(v8))
#define ST8(p, v) memcpy((p), &(v), sizeof(v8))

VT_CLONES static void scores_narrow(const qtile *T, float *st, const float *const *kp, int nk, int d) {
    const float *qt = T->qt;
    int j = 0;
    for (; j + 4 <= nk; j += 4) {
        const float *k0 = kp[j], *k1 = kp[j + 1], *k2 = kp[j + 2], *k3 = kp[j + 3];
        v8 a0 = {0}, b0 = {0}, a1 = {0}, b1 = {0}, a2 = {0}, b2 = {0}, a3 = {0}, b3 = {0};
        for (int c = 0; c < d; c++) {
            v8 qa, qb;
            LD8(qa, qt + c * TQ);
            LD8(qb, qt + c * TQ + 8);
            a0 += k0[c] * qa;
            b0 += k0[c] * qb;
            a1 += k1[c] * qa;
            b1 += k1[c] * qb;
            a2 += k2[c] * qa;
            b2 += k2[c] * qb;
            a3 += k3[c] * qa;
            b3 += k3[c] * qb;
        }
        float *o = st + (size_t)j * TQ;
        ST8(o, a0);
        ST8(o + 8, b0);
        ST8(o + TQ, a1);
        ST8(o + TQ + 8, b1);
        ST8(o + 2 * TQ, a2);
        ST8(o + 2 * TQ + 8, b2);
        ST8(o + 3 * TQ, a3);
        ST8(o + 3 * TQ + 8, b3);
    }
    for (; j < nk; j++) {
        const float *k0 = kp[j];
        v8 a0 = {0}, b0 = {0};
        for (int c = 0; c < d; c++) {
            v8 qa, qb;
            LD8(qa, qt + c * TQ);
            LD8(qb, qt + c * TQ + 8);
            a0 += k0[c] * qa;
            b0 += k0[c] * qb;
        }
        ST8(st + (size_t)j * TQ, a0);
        ST8(st + (size_t)j * TQ + 8, b0);
    }
}

/* 16-float vectors are single registers only with AVX-512. VITRAIL_CPU_WIDE=0|1
 * forces one kernel family, so the test suite runs both on any x86 machine. */
static int wide_registers(void) {
    const char *e = getenv("VITRAIL_CPU_WIDE");
    if (e && (e[0] == '0' || e[0] == '1') && !e[1]) return e[0] == '1';
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

static void scores(const qtile *T, float *st, const float *const *kp, int nk, int d, int wide) {
    if (wide) scores_wide(T, st, kp, nk, d);
    else scores_narrow(T, st, kp, nk, d);
}

/* ot[c][·] = corr ⊙ ot[c][·] + Σ_j v_j[c] · p_j[·] with 8-float halves, four
 * channels at a time (eight accumulator registers). */
VT_CLONES static void accumulate_pv_narrow(qtile *T, const float *st, const float *const *vp, int nk, int d,
                                           const float *corr) {
    v8 ca, cb;
    LD8(ca, corr);
    LD8(cb, corr + 8);
    int c = 0;
    for (; c + 4 <= d; c += 4) {
        v8 oa[4], ob[4];
        for (int u = 0; u < 4; u++) {
            LD8(oa[u], T->ot + (c + u) * TQ);
            LD8(ob[u], T->ot + (c + u) * TQ + 8);
            oa[u] *= ca;
            ob[u] *= cb;
        }
        for (int j = 0; j < nk; j++) {
            const float *v = vp[j] + c;
            v8 pa, pb;
            LD8(pa, st + (size_t)j * TQ);
            LD8(pb, st + (size_t)j * TQ + 8);
            for (int u = 0; u < 4; u++) {
                oa[u] += v[u] * pa;
                ob[u] += v[u] * pb;
            }
        }
        for (int u = 0; u < 4; u++) {
            ST8(T->ot + (c + u) * TQ, oa[u]);
            ST8(T->ot + (c + u) * TQ + 8, ob[u]);
        }
    }
    for (; c < d; c++) {
        v8 oa, ob;
        LD8(oa, T->ot + c * TQ);
        LD8(ob, T->ot + c * TQ + 8);
        oa *= ca;
        ob *= cb;
        for (int j = 0; j < nk; j++) {
            v8 pa, pb;
            LD8(pa, st + (size_t)j * TQ);
            LD8(pb, st + (size_t)j * TQ + 8);
            oa += vp[j][c] * pa;
            ob += vp[j][c] * pb;
        }
        ST8(T->ot + c * TQ, oa);
        ST8(T->ot + c * TQ + 8, ob);
    }
}

/* ---- moving queries in and outputs out of the transposed layout ----
 * A 16×16 block is transposed in registers: four stages, each exchanging bit b
 * of the row and column index (it swaps the off-diagonal b×b blocks of every
 * 2b×2b block) with one two-source shuffle per row. Scalar element moves cost as
 * much as the score GEMM of a small windowed tile. */
typedef int v16i __attribute__((vector_size(TQ * sizeof(int))));
#if defined(__clang__)
#define SHUF(x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
#else
#define SHUF(x, y, ...) __builtin_shuffle(x, y, (v16i){__VA_ARGS__})
#endif
#define STAGE(r, b, LO, HI)                           \
    for (int i_ = 0; i_ < 16; i_++)                   \
        if (!(i_ & (b))) {                            \
            v16 x_ = (r)[i_], y_ = (r)[i_ + (b)];     \
            (r)[i_] = SHUF(x_, y_, LO);               \
            (r)[i_ + (b)] = SHUF(x_, y_, HI);         \
        }
#define LO8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define HI8 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define LO4 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define HI4 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define LO2 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define HI2 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define LO1 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define HI1 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31
#define TRANSPOSE16(r)         \
    do {                       \
        STAGE(r, 8, LO8, HI8)  \
        STAGE(r, 4, LO4, HI4)  \
        STAGE(r, 2, LO2, HI2)  \
        STAGE(r, 1, LO1, HI1)  \
    } while (0)

/* Loads the tile's nq queries (qi[] set), scaled and transposed, and resets the
 * statistics and the accumulator. Padding lanes get zero queries. */
VT_CLONES static void begin_tile(const attn_plan *P, qtile *T, int b, int h) {
    const vt_attn_args *a = P->a;
    const int d = a->head_dim, nq = T->nq;
    const float sc = P->scale;
    const float *src[TQ];
    for (int i = 0; i < nq; i++) src[i] = qrow(a, b, T->qi[i], h);
    int c0 = 0;
    for (; c0 + 16 <= d; c0 += 16) {
        v16 r[16];
        for (int i = 0; i < 16; i++) {
            if (i < nq) {
                LD(r[i], src[i] + c0);
                r[i] *= sc;
            } else {
                r[i] = (v16){0};
            }
        }
        TRANSPOSE16(r);
        for (int c = 0; c < 16; c++) ST(T->qt + (size_t)(c0 + c) * TQ, r[c]);
    }
    for (int c = c0; c < d; c++)
        for (int i = 0; i < TQ; i++) T->qt[(size_t)c * TQ + i] = i < nq ? src[i][c] * sc : 0.0f;
    memset(T->ot, 0, (size_t)d * TQ * sizeof(float));
    for (int i = 0; i < TQ; i++) {
        T->m[i] = -INFINITY;
        T->l[i] = 0.0f;
    }
}

/* Writes o / l; a query that saw no key (cross attention with every key masked
 * out) outputs zeros. */
VT_CLONES static void end_tile(const attn_plan *P, const qtile *T, int b, int h) {
    const vt_attn_args *a = P->a;
    const int d = a->head_dim, nq = T->nq;
    float *dst[TQ], inv[TQ];
    for (int i = 0; i < nq; i++) {
        dst[i] = orow(a, b, T->qi[i], h);
        inv[i] = T->l[i] > 0.0f ? 1.0f / T->l[i] : 0.0f;
    }
    int c0 = 0;
    for (; c0 + 16 <= d; c0 += 16) {
        v16 r[16];
        for (int c = 0; c < 16; c++) LD(r[c], T->ot + (size_t)(c0 + c) * TQ);
        TRANSPOSE16(r);
        for (int i = 0; i < nq; i++) {
            r[i] *= inv[i];
            ST(dst[i] + c0, r[i]);
        }
    }
    for (int c = c0; c < d; c++)
        for (int i = 0; i < nq; i++) dst[i][c] = T->ot[(size_t)c * TQ + i] * inv[i];
}

/* -inf where a key lies outside a query's window (windowed patterns): the AND
 * of the key's per-axis lane masks, over the axes that need one, selects the
 * lanes that keep their score. */
VT_CLONES static void mask_lanes(const scratch *S, float *st, const int *kc, const int u0[3], int nk) {
    const v16i bit = {1 << 0, 1 << 1, 1 << 2,  1 << 3,  1 << 4,  1 << 5,  1 << 6,  1 << 7,
                      1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12, 1 << 13, 1 << 14, 1 << 15};
    const v16i ninf = (v16i){0} + (int)0xff800000u; /* the bits of -inf */
    for (int j = 0; j < nk; j++) {
        unsigned m = 0xffffu;
        for (int ax = 0; ax < 3; ax++)
            if (S->need[ax]) m &= S->lanes[ax][kc[j * 3 + ax] - u0[ax]];
        if (m == 0xffffu) continue;
        v16i keep = (((v16i){0} + (int)m) & bit) != 0;
        v16i row;
        LD(row, st + (size_t)j * TQ);
        row = (row & keep) | (ninf & ~keep);
        ST(st + (size_t)j * TQ, row);
    }
}

/* The same by comparisons, for a union too long for lane masks. */
VT_CLONES static void mask_compare(const qtile *T, float *st, const int *kc, int nk) {
    for (int j = 0; j < nk; j++) {
        const int *c = kc + j * 3;
        float *row = st + (size_t)j * TQ;
        for (int i = 0; i < TQ; i++) {
            int out = (c[0] < T->wlo[0][i]) | (c[0] >= T->whi[0][i]) | (c[1] < T->wlo[1][i]) | (c[1] >= T->whi[1][i]) |
                      (c[2] < T->wlo[2][i]) | (c[2] >= T->whi[2][i]);
            row[i] = out ? -INFINITY : row[i];
        }
    }
}

/* ot[c][·] = cv ⊙ ot[c][·] + Σ_j v_j[c] · p_j[·], eight channels at a time (AVX-512) */
VT_CLONES static void accumulate_pv_wide(qtile *T, const float *st, const float *const *vp, int nk, int d, const float *corr) {
    v16 cv;
    LD(cv, corr);
    int c = 0;
    for (; c + 8 <= d; c += 8) {
        v16 o[8];
        for (int u = 0; u < 8; u++) {
            LD(o[u], T->ot + (c + u) * TQ);
            o[u] *= cv;
        }
        for (int j = 0; j < nk; j++) {
            const float *v = vp[j] + c;
            v16 p;
            LD(p, st + (size_t)j * TQ);
            o[0] += v[0] * p;
            o[1] += v[1] * p;
            o[2] += v[2] * p;
            o[3] += v[3] * p;
            o[4] += v[4] * p;
            o[5] += v[5] * p;
            o[6] += v[6] * p;
            o[7] += v[7] * p;
        }
        for (int u = 0; u < 8; u++) ST(T->ot + (c + u) * TQ, o[u]);
    }
    for (; c < d; c++) {
        v16 o;
        LD(o, T->ot + c * TQ);
        o *= cv;
        for (int j = 0; j < nk; j++) {
            v16 p;
            LD(p, st + (size_t)j * TQ);
            o += vp[j][c] * p;
        }
        ST(T->ot + c * TQ, o);
    }
}

/* The online-softmax update: new running max, rescale of the old sum and
 * output by exp(m_old − m_new), probabilities, and ot += vᵀ·p. */
VT_CLONES static void update(qtile *T, float *st, const float *const *vp, int nk, int d, int wide) {
    float mx[TQ], corr[TQ], sh[TQ], sum[TQ] = {0};
    {
        /* the running max as whole vectors (GCC leaves a per-lane loop scalar) */
        v16 m;
        LD(m, T->m);
        for (int j = 0; j < nk; j++) {
            v16 r;
            LD(r, st + (size_t)j * TQ);
            v16i gt = r > m;
            m = (v16)(((v16i)r & gt) | ((v16i)m & ~gt));
        }
        ST(mx, m);
    }
    for (int i = 0; i < TQ; i++) {
        /* a query with nothing visible so far keeps m = -inf and p = 0 */
        sh[i] = mx[i] == -INFINITY ? 0.0f : mx[i];
        corr[i] = vt_exp_lane(T->m[i] - sh[i]);
    }
    for (int j = 0; j < nk; j++) {
        float *row = st + (size_t)j * TQ;
        for (int i = 0; i < TQ; i++) {
            row[i] = vt_exp_lane(row[i] - sh[i]);
            sum[i] += row[i];
        }
    }
    for (int i = 0; i < TQ; i++) {
        T->l[i] = T->l[i] * corr[i] + sum[i];
        T->m[i] = mx[i];
    }
    /* ot[c][·] = corr ⊙ ot[c][·] + Σ_j v_j[c] · p_j[·] */
    if (wide) accumulate_pv_wide(T, st, vp, nk, d, corr);
    else accumulate_pv_narrow(T, st, vp, nk, d, corr);
}

/* ---- FULL and CROSS: blocks of consecutive queries, every (present) key ---- */

static void run_contiguous(const attn_plan *P, scratch *S, int64_t item) {
    const vt_attn_args *a = P->a;
    const int d = a->head_dim, bq = TQ * P->nsub, blocks = (a->Nq + bq - 1) / bq;
    const int b = (int)(item / ((int64_t)a->heads * blocks)), h = (int)(item / blocks % a->heads);
    const int q0 = (int)(item % blocks) * bq;
    int nt = 0;
    for (int q = q0; q < a->Nq && q < q0 + bq; q += TQ, nt++) {
        qtile *T = &S->t[nt];
        T->nq = a->Nq - q < TQ ? a->Nq - q : TQ;
        for (int i = 0; i < T->nq; i++) T->qi[i] = q + i;
        begin_tile(P, T, b, h);
    }
    const float *mask = a->key_mask ? (const float *)a->key_mask->data + (size_t)b * a->Nk : NULL;
    for (int c = 0; c < TK; c++) {
        S->kp[c] = S->kpk + (size_t)c * d;
        S->vp[c] = S->vpk + (size_t)c * d;
    }
    int j = 0;
    while (j < a->Nk) {
        int nk = 0;
        if (!mask) {
            nk = a->Nk - j < TK ? a->Nk - j : TK;
            copy_rows(S->kpk, (size_t)d, krow(a, b, j, h), a->ld_k, nk, (size_t)d);
            copy_rows(S->vpk, (size_t)d, vrow(a, b, j, h), a->ld_v, nk, (size_t)d);
            j += nk;
        } else {
            for (; j < a->Nk && nk < TK; j++) {
                if (mask[j] == 0.0f) continue; /* padding keys are simply left out */
                pack_row(a, S->kpk + (size_t)nk * d, S->vpk + (size_t)nk * d, b, j, h);
                nk++;
            }
        }
        if (nk == 0) break;
        for (int s = 0; s < nt; s++) {
            scores(&S->t[s], S->st, S->kp, nk, d, P->wide);
            update(&S->t[s], S->st, S->vp, nk, d, P->wide);
        }
    }
    for (int s = 0; s < nt; s++) end_tile(P, &S->t[s], b, h);
}

/* ---- windowed patterns: a box of queries, the union box of their windows ---- */

typedef struct tile_geom {
    int r[3];         /* residue per axis */
    int Lr[3];        /* sub-axis lengths */
    int j0[3], nj[3]; /* query box in sub-axis units */
    int u0[3], nu[3]; /* key union box in sub-axis units */
} tile_geom;

/* Decodes a work item into (b, h) and a tile box. Items enumerate
 * (b, r_t, r_h, r_w, tile_t, tile_h, h, tile_w) with the tile counts of the
 * longest residue class; a shorter class leaves its last tiles empty (nj ≤ 0).
 * The heads of one row of tiles run one after the other, so that the rows of a
 * token's other heads, which the prefetchers bring in as neighbours, are used
 * while still cached (worth ~8% at 8 heads; prefetching the next tile's rows,
 * below, is what closed most of the gap to a batch of 8 single-head inputs). */
static void decode_item(const attn_plan *P, int64_t item, int *b, int *h, tile_geom *g) {
    const vt_attn_args *a = P->a;
    int64_t rest = item;
    int ti[3], ri[3];
    ti[2] = (int)(rest % P->tmax[2]);
    rest /= P->tmax[2];
    *h = (int)(rest % a->heads);
    rest /= a->heads;
    for (int ax = 1; ax >= 0; ax--) {
        ti[ax] = (int)(rest % P->tmax[ax]);
        rest /= P->tmax[ax];
    }
    for (int ax = 2; ax >= 0; ax--) {
        ri[ax] = (int)(rest % P->ax[ax].dil);
        rest /= P->ax[ax].dil;
    }
    *b = (int)rest;
    for (int ax = 0; ax < 3; ax++) {
        const axis_rule *R = &P->ax[ax];
        g->r[ax] = ri[ax];
        g->Lr[ax] = sub_len(R, ri[ax]);
        g->j0[ax] = ti[ax] * P->tile[ax];
        int nj = g->Lr[ax] - g->j0[ax];
        g->nj[ax] = nj < P->tile[ax] ? nj : P->tile[ax];
        if (g->nj[ax] <= 0) continue;
        int s0, e0, s1, e1;
        window(R, g->Lr[ax], g->j0[ax], &s0, &e0);
        window(R, g->Lr[ax], g->j0[ax] + g->nj[ax] - 1, &s1, &e1);
        /* window starts and ends never decrease with j, so the union of the
         * box's windows is [first start, last end) */
        g->u0[ax] = s0;
        g->nu[ax] = e1 - s0;
    }
}

/* Token index of sub-axis coordinates u (T, H, W) in residue classes r. */
static int token_of(const attn_plan *P, const int r[3], const int u[3]) {
    const int H = P->a->desc.grid[1], W = P->a->desc.grid[2];
    int pos[3];
    for (int ax = 0; ax < 3; ax++) pos[ax] = r[ax] + u[ax] * P->ax[ax].dil;
    return (pos[0] * H + pos[1]) * W + pos[2];
}

/* Makes the strip in S hold the tile's key union, packing a new one if the held
 * strip does not cover it. A strip is the union's (T, H) box times as many W
 * columns, from the union's first, as the buffers hold: the tiles that follow
 * along W then find their keys packed. Rows are padded by one cache line so that
 * they do not all fall in the same L1 sets. Returns 0 when even the tile's own
 * union does not fit. */
static int ensure_strip(const attn_plan *P, scratch *S, size_t pack_floats, int b, int h, const tile_geom *g) {
    const vt_attn_args *a = P->a;
    const size_t d = (size_t)a->head_dim;
    if (S->have_strip && S->sb == b && S->sh == h && S->ws <= g->u0[2] && g->u0[2] + g->nu[2] <= S->we) {
        int same = 1;
        for (int ax = 0; ax < 3; ax++) same &= S->sr[ax] == g->r[ax];
        for (int ax = 0; ax < 2; ax++) same &= S->su0[ax] == g->u0[ax] && S->snu[ax] == g->nu[ax];
        if (same) return 1;
    }
    S->have_strip = 0;
    const size_t rows = (size_t)g->nu[0] * g->nu[1];
    const size_t per_row = pack_floats / rows; /* floats per (t, h) row of the strip */
    if (per_row < 16 + (size_t)g->nu[2] * d) return 0;
    int cols = (int)((per_row - 16) / d);
    if (cols > g->Lr[2] - g->u0[2]) cols = g->Lr[2] - g->u0[2];
    S->rs = (size_t)cols * d + 16;
    for (int ut = 0; ut < g->nu[0]; ut++)
        for (int uh = 0; uh < g->nu[1]; uh++) {
            size_t row = ((size_t)ut * g->nu[1] + uh) * S->rs;
            /* the row's tokens lie dil_W apart: two strided copies */
            int u[3] = {g->u0[0] + ut, g->u0[1] + uh, g->u0[2]};
            const int n0 = token_of(P, g->r, u);
            const size_t step = (size_t)P->ax[2].dil;
            copy_rows(S->kpk + row, d, krow(a, b, n0, h), step * a->ld_k, cols, d);
            copy_rows(S->vpk + row, d, vrow(a, b, n0, h), step * a->ld_v, cols, d);
        }
    S->have_strip = 1;
    S->sb = b;
    S->sh = h;
    for (int ax = 0; ax < 3; ax++) S->sr[ax] = g->r[ax];
    for (int ax = 0; ax < 2; ax++) {
        S->su0[ax] = g->u0[ax];
        S->snu[ax] = g->nu[ax];
    }
    S->ws = g->u0[2];
    S->we = g->u0[2] + cols;
    return 1;
}

/* Asks for the query and output rows of the tile after this one along W
 * (the next item) while this one computes. Rows of one head lie
 * 3·heads·head_dim floats apart in a fused qkv buffer; with many heads the
 * hardware prefetchers do not follow them, and the output rows' misses filled
 * the store buffer and stalled the next tile's set-up. GCC judges a function
 * of prefetches alone free of effects and deletes its calls, hence noipa. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((noipa))
#endif
static void prefetch_next_tile(const attn_plan *P, const qtile *T, int b, int h) {
    const vt_attn_args *a = P->a;
    const int step = P->tile[2] * P->ax[2].dil;
    const size_t d = (size_t)a->head_dim;
    for (int i = 0; i < T->nq; i++) {
        int n = T->qi[i] + step;
        if (n >= a->Nq) continue;
        const char *q = (const char *)qrow(a, b, n, h);
        char *o = (char *)orow(a, b, n, h);
        for (size_t off = 0; off < d * sizeof(float); off += 64) {
            __builtin_prefetch(q + off, 0, 3);
            __builtin_prefetch(o + off, 1, 3);
        }
    }
}

static void run_windowed(const attn_plan *P, scratch *S, size_t pack_floats, int64_t item) {
    const vt_attn_args *a = P->a;
    const int d = a->head_dim;
    int b, h;
    tile_geom g;
    memset(&g, 0, sizeof g);
    decode_item(P, item, &b, &h, &g);
    if (g.nj[0] <= 0 || g.nj[1] <= 0 || g.nj[2] <= 0) return;
    qtile *T = &S->t[0];
    int nq = 0;
    for (int jt = 0; jt < g.nj[0]; jt++)
        for (int jh = 0; jh < g.nj[1]; jh++)
            for (int jw = 0; jw < g.nj[2]; jw++) {
                int j[3] = {g.j0[0] + jt, g.j0[1] + jh, g.j0[2] + jw};
                for (int ax = 0; ax < 3; ax++) window(&P->ax[ax], g.Lr[ax], j[ax], &T->wlo[ax][nq], &T->whi[ax][nq]);
                T->qi[nq++] = token_of(P, g.r, j);
            }
    for (int i = nq; i < TQ; i++)
        for (int ax = 0; ax < 3; ax++) T->wlo[ax][i] = T->whi[ax][i] = 0; /* padding lanes see nothing */
    T->nq = nq;

    /* what to mask: along an axis where every query's window is the whole union
     * (axial lines, blocks, grids, an axis of kernel 1) nothing; padding lanes
     * compute harmless scores of zero queries and are never written */
    int any = 0, compare = 0;
    for (int ax = 0; ax < 3; ax++) {
        S->need[ax] = 0;
        for (int i = 0; i < nq; i++)
            if (T->wlo[ax][i] != g.u0[ax] || T->whi[ax][i] != g.u0[ax] + g.nu[ax]) S->need[ax] = 1;
        if (!S->need[ax]) continue;
        any = 1;
        if (g.nu[ax] > MASK_CAP) {
            compare = 1;
            continue;
        }
        for (int u = 0; u < g.nu[ax]; u++) {
            unsigned m = 0;
            for (int i = 0; i < nq; i++) m |= (unsigned)(T->wlo[ax][i] <= g.u0[ax] + u && g.u0[ax] + u < T->whi[ax][i]) << i;
            S->lanes[ax][u] = (uint16_t)m;
        }
    }

    begin_tile(P, T, b, h);
    prefetch_next_tile(P, T, b, h);
    const int strip = ensure_strip(P, S, pack_floats, b, h, &g);
    /* the union's keys in (t, h, w) order, TK at a time; u counts like an odometer */
    const int64_t nkeys = (int64_t)g.nu[0] * g.nu[1] * g.nu[2];
    int u[3] = {0, 0, 0};
    for (int64_t k0 = 0; k0 < nkeys; k0 += TK) {
        int nk = nkeys - k0 < TK ? (int)(nkeys - k0) : TK;
        for (int c = 0; c < nk; c++) {
            int kc[3] = {g.u0[0] + u[0], g.u0[1] + u[1], g.u0[2] + u[2]};
            S->kc[c * 3] = kc[0];
            S->kc[c * 3 + 1] = kc[1];
            S->kc[c * 3 + 2] = kc[2];
            if (strip) {
                size_t o = ((size_t)u[0] * g.nu[1] + u[1]) * S->rs + (size_t)(kc[2] - S->ws) * d;
                S->kp[c] = S->kpk + o;
                S->vp[c] = S->vpk + o;
            } else {
                /* a union larger than the buffers: gather it chunk by chunk */
                float *kd = S->kpk + (size_t)c * d, *vd = S->vpk + (size_t)c * d;
                pack_row(a, kd, vd, b, token_of(P, g.r, kc), h);
                S->kp[c] = kd;
                S->vp[c] = vd;
            }
            if (++u[2] == g.nu[2]) {
                u[2] = 0;
                if (++u[1] == g.nu[1]) {
                    u[1] = 0;
                    u[0]++;
                }
            }
        }
        scores(T, S->st, S->kp, nk, d, P->wide);
        if (compare) mask_compare(T, S->st, S->kc, nk);
        else if (any) mask_lanes(S, S->st, S->kc, g.u0, nk);
        update(T, S->st, S->vp, nk, d, P->wide);
    }
    end_tile(P, T, b, h);
}

/* ---- planning, validation, threading ---- */

typedef struct job {
    const attn_plan *P;
    scratch *S;            /* one per thread */
    size_t pack_floats;    /* floats in each of kpk, vpk */
    _Atomic int64_t next;  /* the next unclaimed item */
    int64_t grab;          /* items claimed at a time */
} job;

/* Threads claim runs of consecutive items from a shared counter instead of one
 * fixed share each: item costs differ (border tiles, short residue classes,
 * empty tiles), and a core shared with another process would otherwise hold
 * everyone up. Consecutive items are neighbouring tiles, whose keys are warm. */
static void run_items(void *arg, int64_t i0, int64_t i1, int tid) {
    (void)i0;
    (void)i1;
    job *J = arg;
    scratch *S = &J->S[tid];
    S->have_strip = 0;
    for (;;) {
        int64_t s = atomic_fetch_add_explicit(&J->next, J->grab, memory_order_relaxed);
        if (s >= J->P->n_items) break;
        int64_t e = s + J->grab < J->P->n_items ? s + J->grab : J->P->n_items;
        for (int64_t i = s; i < e; i++) {
            if (J->P->contiguous) run_contiguous(J->P, S, i);
            else run_windowed(J->P, S, J->pack_floats, i);
        }
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
                return vt_error(be->ctx, VT_E_INVALID,
                                "attention: neighborhood kernel %d and dilation %d on axis %s must be >= 1", k, dil,
                                names[ax]);
            if ((int64_t)k * dil > R->L)
                return vt_error(be->ctx, VT_E_INVALID,
                                "attention: neighborhood kernel %d x dilation %d exceeds axis %s of length %d", k, dil,
                                names[ax], R->L);
            R->k = k;
            R->dil = dil;
            R->mode = (ax == 0 && D->causal_t) ? AX_CAUSAL : (k == 1 ? AX_SAME : AX_WINDOW);
            break;
        }
        case VT_ATTN_AXIAL:
            if (D->axis < 0 || D->axis > 2)
                return vt_error(be->ctx, VT_E_INVALID, "attention: axial axis %d is not 0 (T), 1 (H) or 2 (W)", D->axis);
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
    /* The tile box: the (t_T, t_H, t_W) with t_T·t_H·t_W ≤ 16 that minimises
     * the work of the whole grid. A tile costs its union's keys times 16 lanes,
     * whatever the number of its queries, plus a fixed overhead (loading and
     * storing the tile, its windows) worth about TILE_OVERHEAD keys. Per axis,
     * the sum of the union lengths over the tiles depends on t alone, so the
     * grid's cost is separable and the search is over ≤ 16·16·16 products.
     * For a 7×7 window this picks 4×4 (a 10×10 union, 49% of the keys computed
     * useful; 2×8 would give 44%, a 1×16 row 32%); a block is its own tile, an
     * axial line takes 16 queries, time-axial with 8 frames takes 8×1×2. */
    double usum[3][TQ + 1], ntiles[3][TQ + 1];
    int tcap[3];
    for (int ax = 0; ax < 3; ax++) {
        const axis_rule *R = &P->ax[ax];
        const int Lr = sub_len(R, 0);
        tcap[ax] = Lr < TQ ? Lr : TQ;
        for (int t = 1; t <= tcap[ax]; t++) {
            double sum = 0;
            int n = 0;
            for (int j0 = 0; j0 < Lr; j0 += t, n++) {
                int j1 = j0 + t - 1 < Lr - 1 ? j0 + t - 1 : Lr - 1;
                int s0, e0, s1, e1;
                window(R, Lr, j0, &s0, &e0);
                window(R, Lr, j1, &s1, &e1);
                sum += e1 - s0;
            }
            usum[ax][t] = sum;
            ntiles[ax][t] = n;
        }
    }
    double best = -1;
    for (int tt = 1; tt <= tcap[0]; tt++)
        for (int th = 1; th <= tcap[1] && tt * th <= TQ; th++)
            for (int tw = 1; tw <= tcap[2] && tt * th * tw <= TQ; tw++) {
                double cost = usum[0][tt] * usum[1][th] * usum[2][tw] +
                              TILE_OVERHEAD * ntiles[0][tt] * ntiles[1][th] * ntiles[2][tw];
                if (best < 0 || cost < best) {
                    best = cost;
                    P->tile[0] = tt;
                    P->tile[1] = th;
                    P->tile[2] = tw;
                }
            }
    int64_t items = (int64_t)P->a->B * P->a->heads;
    for (int ax = 0; ax < 3; ax++) {
        P->tmax[ax] = (sub_len(&P->ax[ax], 0) + P->tile[ax] - 1) / P->tile[ax];
        items *= P->ax[ax].dil * P->tmax[ax];
    }
    P->n_items = items;
    return VT_OK;
}

/* Floats in each of a thread's packed key and value buffers: 128 KiB each,
 * enough for a 256-key chunk up to head_dim 128 (more above) and, at head_dim
 * 64, for a windowed strip of 512 keys — together with the tiles they stay in a
 * 2 MiB L2. */
static size_t pack_floats(int head_dim) {
    size_t chunk = (size_t)TK * (size_t)head_dim;
    return chunk > 32768 ? chunk : 32768;
}

/* Buffers of one thread: the block's tiles (queries and accumulators), the score
 * block, the packed keys and values, the chunk's row pointers and key
 * coordinates, plus 64 bytes to align them. They depend on head_dim only, never
 * on the sequence length or the pattern. */
static size_t thread_buffer_bytes(int head_dim) {
    size_t d = (size_t)head_dim;
    return (size_t)NSUB_MAX * 2 * d * TQ * sizeof(float) + (size_t)TK * TQ * sizeof(float) +
           2 * pack_floats(head_dim) * sizeof(float) + 2 * (size_t)TK * sizeof(float *) + (size_t)TK * 3 * sizeof(int) +
           64;
}

/* Everything one call allocates, whatever the pattern and sequence length. */
size_t vt_cpu_attention_scratch_bytes(int n_threads, int head_dim) {
    return (size_t)(n_threads < 1 ? 1 : n_threads) * (thread_buffer_bytes(head_dim) + sizeof(scratch));
}

int vt_cpu_attention(vt_backend *be, const vt_attn_args *a) {
    int rc;
    if (!a) return vt_error(be->ctx, VT_E_INVALID, "attention: no arguments");
    if ((rc = vt_cpu_check_f32(be, "attention", "q", a->q)) || (rc = vt_cpu_check_f32(be, "attention", "k", a->k)) ||
        (rc = vt_cpu_check_f32(be, "attention", "v", a->v)) || (rc = vt_cpu_check_f32(be, "attention", "out", a->out)) ||
        (a->key_mask && (rc = vt_cpu_check_f32(be, "attention", "key_mask", a->key_mask))))
        return rc;
    if (a->desc.kind < VT_ATTN_FULL || a->desc.kind > VT_ATTN_CROSS)
        return vt_error(be->ctx, VT_E_INVALID, "attention: unknown pattern %d", (int)a->desc.kind);
    if (a->B < 1 || a->heads < 1 || a->head_dim < 1 || a->Nq < 0 || a->Nk < 0)
        return vt_error(be->ctx, VT_E_SHAPE, "attention: needs B, heads, head_dim >= 1 and Nq, Nk >= 0 (got %d, %d, %d, %d, %d)",
                        a->B, a->heads, a->head_dim, a->Nq, a->Nk);
    vt_attn_args A = *a;
    const size_t hd = (size_t)a->heads * a->head_dim;
    if (!A.ld_q) A.ld_q = hd;
    if (!A.ld_k) A.ld_k = hd;
    if (!A.ld_v) A.ld_v = hd;
    if (!A.ld_o) A.ld_o = hd;
    if (A.ld_q < hd || A.ld_k < hd || A.ld_v < hd || A.ld_o < hd)
        return vt_error(be->ctx, VT_E_SHAPE, "attention: a row stride (q %zu, k %zu, v %zu, out %zu) is below heads x head_dim (%zu)",
                        A.ld_q, A.ld_k, A.ld_v, A.ld_o, hd);
    /* every row the op touches must lie inside its tensor */
    struct {
        const vt_tensor *t;
        size_t off, ld;
        int n;
        const char *name;
    } views[4] = {{a->q, A.off_q, A.ld_q, a->Nq, "q"},
                  {a->k, A.off_k, A.ld_k, a->Nk, "k"},
                  {a->v, A.off_v, A.ld_v, a->Nk, "v"},
                  {a->out, A.off_o, A.ld_o, a->Nq, "out"}};
    for (int i = 0; i < 4; i++) {
        size_t rows = (size_t)a->B * views[i].n;
        if (rows && views[i].off + (rows - 1) * views[i].ld + hd > (size_t)vt_tensor_numel(views[i].t))
            return vt_error(be->ctx, VT_E_SHAPE,
                            "attention: %s view (B %d x N %d rows of stride %zu from offset %zu) exceeds its tensor of %lld "
                            "floats",
                            views[i].name, a->B, views[i].n, views[i].ld, views[i].off,
                            (long long)vt_tensor_numel(views[i].t));
    }
    if (a->key_mask && vt_tensor_numel(a->key_mask) != (int64_t)a->B * a->Nk)
        return vt_error(be->ctx, VT_E_SHAPE, "attention: key_mask has %lld elements; it must be (B %d, Nk %d)",
                        (long long)vt_tensor_numel(a->key_mask), a->B, a->Nk);
    if (a->key_mask && a->desc.kind != VT_ATTN_CROSS && a->desc.kind != VT_ATTN_FULL)
        return vt_error(be->ctx, VT_E_UNSUPPORTED, "attention: key_mask is for cross and full attention only");

    attn_plan P;
    memset(&P, 0, sizeof P);
    P.a = &A;
    P.scale = a->desc.scale != 0.0f ? a->desc.scale : (float)(1.0 / sqrt((double)a->head_dim));
    P.wide = wide_registers();
    vt_pool *pool = vt_context_pool(be->ctx);
    const int nt = vt_pool_threads(pool);
    if (a->desc.kind == VT_ATTN_CROSS || a->desc.kind == VT_ATTN_FULL) {
        if (a->desc.kind == VT_ATTN_FULL && a->Nq != a->Nk)
            return vt_error(be->ctx, VT_E_SHAPE, "attention: full self-attention needs Nq == Nk (got %d and %d)", a->Nq,
                            a->Nk);
        P.contiguous = 1;
        /* the largest block that still leaves every thread several items */
        const int64_t bh = (int64_t)a->B * a->heads;
        P.nsub = NSUB_MAX;
        while (P.nsub > 1 && bh * ((a->Nq + TQ * P.nsub - 1) / (TQ * P.nsub)) < 4 * (int64_t)nt) P.nsub /= 2;
        P.n_items = bh * ((a->Nq + TQ * P.nsub - 1) / (TQ * P.nsub));
    } else {
        const int *g = a->desc.grid;
        if (g[0] < 1 || g[1] < 1 || g[2] < 1 || (int64_t)g[0] * g[1] * g[2] != a->Nq || a->Nq != a->Nk)
            return vt_error(be->ctx, VT_E_SHAPE,
                            "attention: the grid %d x %d x %d (T, H, W) must hold exactly Nq = Nk tokens (got Nq %d, Nk %d)",
                            g[0], g[1], g[2], a->Nq, a->Nk);
        if ((rc = setup_axes(be, &P))) return rc;
    }
    if (a->Nq == 0 || P.n_items == 0) return VT_OK;

    const size_t per = thread_buffer_bytes(a->head_dim);
    char *mem = malloc((size_t)nt * per);
    if (!mem)
        return vt_error(be->ctx, VT_E_NOMEM, "attention: out of memory for %d threads' scratch (%zu bytes)", nt,
                        (size_t)nt * per);
    scratch *S = calloc((size_t)nt, sizeof *S);
    if (!S) {
        free(mem);
        return vt_error(be->ctx, VT_E_NOMEM, "attention: out of memory for %d threads' scratch", nt);
    }
    const size_t d = (size_t)a->head_dim, pf = pack_floats(a->head_dim);
    for (int t = 0; t < nt; t++) {
        /* 64-byte aligned pieces: whole cache lines, no sharing between threads */
        char *p = (char *)(((uintptr_t)(mem + (size_t)t * per) + 63) & ~(uintptr_t)63);
        for (int s = 0; s < NSUB_MAX; s++) {
            S[t].t[s].qt = (float *)p, p += d * TQ * sizeof(float);
            S[t].t[s].ot = (float *)p, p += d * TQ * sizeof(float);
        }
        S[t].st = (float *)p, p += (size_t)TK * TQ * sizeof(float);
        S[t].kpk = (float *)p, p += pf * sizeof(float);
        S[t].vpk = (float *)p, p += pf * sizeof(float);
        S[t].kp = (const float **)p, p += TK * sizeof(float *);
        S[t].vp = (const float **)p, p += TK * sizeof(float *);
        S[t].kc = (int *)p;
    }
    job J;
    J.P = &P;
    J.S = S;
    J.pack_floats = pf;
    atomic_init(&J.next, 0);
    /* about 16 claims per thread: few enough that the counter is cold, many
     * enough to even out */
    J.grab = P.n_items / ((int64_t)nt * 16);
    if (J.grab < 1) J.grab = 1;
    vt_pool_for(pool, nt, 1, run_items, &J);
    free(S);
    free(mem);
    return VT_OK;
}
