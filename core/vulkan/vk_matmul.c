/* The matrix products of the Vulkan backend: linear, matmul_batched and conv2d.
 * Argument checks, then the shader for the shape and path (vk_backend.h):
 * few rows -> gemv, else a register-tiled block size that fills the device;
 * f16 weights (F16) where on, the NV cooperative-matrix shader (COOP) where the
 * device offers it and its self-check at creation passed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "vk_internal.h"

typedef struct gemm_push {
    uint32_t M, N, K;
    uint32_t a_off, a_bs, a_sm, a_sk;
    uint32_t b_off, b_bs, b_sk, b_sn;
    uint32_t c_off, c_bs, c_sm;
    uint32_t bias_off, flags;
    float alpha;
    int32_t H, W, kh, kw, Wo, stride, pad; /* conv2d only */
} gemm_push;

#define FLAG_BIAS 4u
#define FLAG_BIAS_ROW 8u
#define GEMV_MAX_M 8u     /* gemv.comp's MMAX */
#define CONV_TILE 64      /* gemm.comp's block */

/* The self-check's bounds on NMSE against the F32 path: f16 weights round one
 * operand (relative error 2^-11, NMSE ~1e-7 on random data), COOP both. */
#define SELFCHECK_F16 1e-6
#define SELFCHECK_COOP 1e-5

/* The block shapes of gemm_tile.comp's variants (VT_VK_GEMM_TILES of them). */
static const struct {
    vt_vk_shader f32, f16;
    uint32_t bm, bn;
} tiles[VT_VK_GEMM_TILES] = {
    {VT_VK_SH_GEMM_L, VT_VK_SH_GEMM_L_H, 128, 128},
    {VT_VK_SH_GEMM_M, VT_VK_SH_GEMM_M_H, 64, 64},
    {VT_VK_SH_GEMM_S, VT_VK_SH_GEMM_S_H, 32, 64},
    {VT_VK_SH_GEMM_X, VT_VK_SH_GEMM_X_H, 128, 128},
    {VT_VK_SH_GEMM_W, VT_VK_SH_GEMM_W_H, 128, 64},
};

/* The blocks of gemm_coop.comp's variants (shaders/meson.build's coop_*):
 * subgroups sg_m x sg_n, each fm x fn fragments of 16x16, slices bk deep,
 * `stages` of them in shared memory. emu: the variant with emulated fragments,
 * NONE where its shared memory exceeds lavapipe's 32 KiB (another variant there
 * has its block shape, depth and stage count); x16: x is first rounded to f16
 * into vk->x16, and the variant reads that; direct: no staging, fragments
 * loaded from x16 and w16 themselves, so only for whole blocks (M and N
 * multiples of the block, K of 32; other products take COOP_DEFAULT). */
#define NONE VT_VK_SH_COUNT
static const struct {
    vt_vk_shader sh, emu;
    uint32_t sg_m, sg_n, fm, fn, bk, stages, x16, direct;
} coop_tiles[VT_VK_COOP_TILES] = {
    {VT_VK_SH_GEMM_COOP_L, VT_VK_SH_GEMM_COOP_EMU_L, 2, 4, 4, 2, 32, 1, 0, 0},
    {VT_VK_SH_GEMM_COOP_S, VT_VK_SH_GEMM_COOP_EMU_S, 2, 2, 2, 2, 32, 1, 0, 0},
    {VT_VK_SH_GEMM_COOP_2, NONE, 2, 4, 4, 2, 32, 2, 0, 0},
    {VT_VK_SH_GEMM_COOP_3, NONE, 2, 4, 4, 2, 64, 1, 0, 0},
    {VT_VK_SH_GEMM_COOP_4, NONE, 2, 2, 4, 4, 32, 2, 0, 0},
    {VT_VK_SH_GEMM_COOP_5, NONE, 2, 2, 4, 4, 64, 1, 0, 0},
    {VT_VK_SH_GEMM_COOP_6, VT_VK_SH_GEMM_COOP_EMU_6, 2, 2, 2, 2, 32, 2, 0, 0},
    {VT_VK_SH_GEMM_COOP_7, VT_VK_SH_GEMM_COOP_EMU_7, 2, 2, 2, 2, 64, 1, 0, 0},
    {VT_VK_SH_GEMM_COOP_8, VT_VK_SH_GEMM_COOP_EMU_8, 2, 2, 4, 4, 32, 1, 0, 0},
    {VT_VK_SH_GEMM_COOP_9, NONE, 4, 2, 4, 4, 32, 1, 0, 0},
    {VT_VK_SH_GEMM_COOP_6H, VT_VK_SH_GEMM_COOP_EMU_6H, 2, 2, 2, 2, 32, 2, 1, 0},
    {VT_VK_SH_GEMM_COOP_2H, NONE, 2, 4, 4, 2, 32, 2, 1, 0},
    {VT_VK_SH_GEMM_COOP_D8, NONE, 2, 2, 4, 4, 32, 0, 1, 1},
    {VT_VK_SH_GEMM_COOP_D2, NONE, 2, 4, 4, 2, 32, 0, 1, 1},
    {VT_VK_SH_GEMM_COOP_D6, VT_VK_SH_GEMM_COOP_EMU_D6, 2, 2, 2, 2, 32, 0, 1, 1},
    {VT_VK_SH_GEMM_COOP_D4, NONE, 2, 2, 4, 2, 32, 0, 1, 1},
    {VT_VK_SH_GEMM_COOP_D1, NONE, 1, 1, 4, 4, 32, 0, 1, 1},
};
/* The variant of products too small for COOP_LARGE (below), and of any the
 * large one cannot take, unless VITRAIL_VK_TILE forces one: 64x64 blocks with
 * two 32-deep slices resident (one barrier a slice). In the block sweep on an
 * H100 (docs/performance.md, 2026-12-07) it beat variant 1 (the same block,
 * one slice resident, the default before) on all four shapes up to
 * 4096x1152x1152, by 5-8%; every 128x128 and 256x128 block reading x as f32
 * was slower than it on each of those shapes. */
#define COOP_DEFAULT 6

/* The variant a product takes where its 128x128 grid gives at least half the
 * multiprocessors a workgroup: variant 2's block reading x rounded to f16.
 * Measured on an H100 (run 7, docs/performance.md, 2026-12-08; every variant
 * in one call, products timed with the pre-pass): 62.0 / 95.5 / 85.7 / 136.1
 * TFLOP/s at 256x1152x4608 / 1024x1152x4608 / 4096x1152x1152 /
 * 8192x1152x4608 (72 to 576 workgroups) against variant 6's 54.2 / 68.7 /
 * 65.1 / 93.0, and 12.1 against 17.9 at 256x384x1536 (24 workgroups). */
#define COOP_LARGE 11

/* Shared memory of coop variant t: the staged slices (rows of bk + 8 halves;
 * none for the direct ones) and a 16x16 f32 scratch per subgroup. */
static uint32_t coop_bm(int t) { return coop_tiles[t].sg_m * coop_tiles[t].fm * 16; }
static uint32_t coop_bn(int t) { return coop_tiles[t].sg_n * coop_tiles[t].fn * 16; }

static uint32_t coop_shared(int t) {
    const uint32_t bm = coop_bm(t), bn = coop_bn(t);
    return coop_tiles[t].stages * (bm + bn) * (coop_tiles[t].bk + 8) * 2 + coop_tiles[t].sg_m * coop_tiles[t].sg_n * 1024;
}

static uint64_t n_groups(uint32_t M, uint32_t N, uint32_t bm, uint32_t bn, uint32_t batch) {
    return (uint64_t)((M + bm - 1) / bm) * ((N + bn - 1) / bn) * batch;
}

/* The block by the product's size, from the block sweep on an H200
 * (docs/performance.md, 2026-12-03; bench/gpu/run.sh's tiles.txt): 128x64 when
 * it gives every multiprocessor two blocks (36.6 TFLOP/s at 8192x1152x4608,
 * against 30.3 for 64x64), 64x64 when that gives each one, else 32x64 to spread
 * a small product wider. The 128x128 blocks (8x8 per invocation) ran at 2.2
 * TFLOP/s there and are never picked; they stay tested, reachable by
 * VITRAIL_VK_TILE. */
static int pick_tile(const vt_vk *vk, uint32_t M, uint32_t N, uint32_t batch) {
    const uint64_t sm = vk->sm_count;
    if (n_groups(M, N, tiles[4].bm, tiles[4].bn, batch) >= 2 * sm) return 4;
    if (n_groups(M, N, tiles[1].bm, tiles[1].bn, batch) >= sm) return 1;
    return 2;
}

static uint64_t numel(const vt_tensor *t) { return (uint64_t)vt_tensor_numel(t); }

/* A product described by its push constants, with a, b, c, bias bound. */
typedef struct gemm_job {
    vt_vk_binding bd[4];
    gemm_push p;
    uint32_t batch;
    int b_half;  /* bd[1] is an f16 copy (offsets in halves) */
} gemm_job;

/* Records the job on `sh` in chunks of the device's workgroup-count limit. */
static int run_blocks(vt_vk *vk, vt_vk_shader sh, const uint32_t *spec, const gemm_job *j, uint32_t bm, uint32_t bn) {
    const uint32_t zmax = vk->props.limits.maxComputeWorkGroupCount[2];
    const uint32_t gx = (j->p.N + bn - 1) / bn, gy = (j->p.M + bm - 1) / bm;
    for (uint32_t z0 = 0; z0 < j->batch; z0 += zmax) {
        gemm_push q = j->p;
        q.a_off += z0 * j->p.a_bs;
        q.b_off += z0 * j->p.b_bs;
        q.c_off += z0 * j->p.c_bs;
        const uint32_t gz = j->batch - z0 < zmax ? j->batch - z0 : zmax;
        int rc = vt_vk_dispatch(vk, sh, spec, j->bd, &q, sizeof q, gx, gy, gz);
        if (rc) return rc;
    }
    return VT_OK;
}

static int aligned4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return ((a | b | c | d) & 3u) == 0; }

/* gemm_tile.comp with its layout constants; tile -1 picks by shape. */
static int run_tile(vt_vk *vk, const gemm_job *j, int tile) {
    const gemm_push *p = &j->p;
    const int a_k = p->a_sk == 1, b_k = p->b_sk == 1;
    /* vec4 rows: 16-byte aligned starts and a multiple of 4 along the
     * contiguous index, so a vec4 is wholly inside or outside the matrix */
    const int vec_a = a_k ? aligned4(p->a_off, p->a_sm, p->a_bs, p->K) : p->a_sm == 1 && aligned4(p->a_off, p->a_sk, p->a_bs, p->M);
    const int vec_b = b_k ? aligned4(p->b_off, p->b_sn, p->b_bs, p->K) : p->b_sn == 1 && aligned4(p->b_off, p->b_sk, p->b_bs, p->N);
    const uint32_t spec[4] = {(uint32_t)a_k, (uint32_t)b_k, (uint32_t)vec_a, (uint32_t)vec_b};
    const int t = tile >= 0 && tile < VT_VK_GEMM_TILES ? tile : pick_tile(vk, p->M, p->N, j->batch);
    return run_blocks(vk, j->b_half ? tiles[t].f16 : tiles[t].f32, spec, j, tiles[t].bm, tiles[t].bn);
}

static int run_gemv(vt_vk *vk, const gemm_job *j) {
    const gemm_push *p = &j->p;
    const uint32_t spec[1] = {(uint32_t)aligned4(p->a_off, p->a_sm, p->b_off, p->b_sn) && p->K % 4 == 0};
    const uint32_t gx = (p->N + 7) / 8;
    return vt_vk_dispatch(vk, j->b_half ? VT_VK_SH_GEMV_H : VT_VK_SH_GEMV, spec, j->bd, p, sizeof *p, gx, 1, 1);
}

/* Whether the coop shader takes this linear: K in whole 8-half chunks and x
 * rows 16-byte aligned (its vec4 reads). */
static int coop_fits(const gemm_job *j) {
    const gemm_push *p = &j->p;
    return j->b_half && p->K % 8 == 0 && p->b_off % 8 == 0 && aligned4(p->a_off, p->a_sm, 0, 0) && p->a_sk == 1 &&
           p->M > GEMV_MAX_M;
}

int vt_backend_vulkan_coop_tile_usable(vt_backend *be, int tile) {
    const vt_vk *vk = vt_vk_of(be);
    return tile >= 0 && tile < VT_VK_COOP_TILES && coop_shared(tile) <= vk->props.limits.maxComputeSharedMemorySize &&
           (!vk->coop_emulate || coop_tiles[tile].emu != NONE);
}

/* Rounds x (j's binding 0: M rows of K floats at a_off, contiguous) into
 * vk->x16 and points a copy of the job at it. The buffer is grown by releasing
 * the old one (destroyed after the fence, commands still queued may read it);
 * the barrier tracking orders this write after the previous product's reads. */
static int x_to_f16(vt_vk *vk, const gemm_job *j, gemm_job *out) {
    const uint64_t n = (uint64_t)j->p.M * j->p.K;
    if (n > UINT32_MAX)
        return vt_error(vk->base.ctx, VT_E_UNSUPPORTED, "linear: %llu values of x are too many for its f16 copy",
                        (unsigned long long)n);
    int rc;
    if (vk->x16.size < n * 2) {
        if (vk->x16.buf && (rc = vt_vk_buf_release(vk, &vk->x16))) return rc;
        if ((rc = vt_vk_buf_create(vk, n * 2, vk->mem_device, 0, &vk->x16))) return rc;
    }
    if ((rc = vt_vk_round_f16(vk, &j->bd[0], j->p.a_off, &vk->x16, (uint32_t)n))) return rc;
    *out = *j;
    out->bd[0] = (vt_vk_binding){.buf = &vk->x16, .offset = 0, .range = vk->x16.size};
    out->p.a_off = 0;
    return VT_OK;
}

/* The coop variant by the product's size: COOP_LARGE where its blocks fill
 * at least half the device, else COOP_DEFAULT (run_coop then falls back where
 * the variant cannot take the product). */
static int pick_coop(vt_vk *vk, const gemm_job *j) {
    const gemm_push *p = &j->p;
    if (vt_backend_vulkan_coop_tile_usable(&vk->base, COOP_LARGE) &&
        2 * n_groups(p->M, p->N, coop_bm(COOP_LARGE), coop_bn(COOP_LARGE), j->batch) >= vk->sm_count)
        return COOP_LARGE;
    return COOP_DEFAULT;
}

static int run_coop(vt_vk *vk, const gemm_job *j, int tile) {
    int t = vt_backend_vulkan_coop_tile_usable(&vk->base, tile) ? tile : pick_coop(vk, j);
    /* an f16 x needs rows of K contiguous values (a linear's x has them) */
    if (coop_tiles[t].x16 && j->p.a_sm != j->p.K) t = COOP_DEFAULT;
    /* the direct variants' loads are unchecked: whole blocks only */
    if (coop_tiles[t].direct && (j->p.M % coop_bm(t) || j->p.N % coop_bn(t) || j->p.K % 32 || j->batch != 1))
        t = COOP_DEFAULT;
    const uint32_t bm = coop_bm(t), bn = coop_bn(t);
    const vt_vk_shader sh = vk->coop_emulate ? coop_tiles[t].emu : coop_tiles[t].sh;
    if (!coop_tiles[t].x16) return run_blocks(vk, sh, NULL, j, bm, bn);
    gemm_job h;
    int rc = x_to_f16(vk, j, &h);
    return rc ? rc : run_blocks(vk, sh, NULL, &h, bm, bn);
}

/* ---- linear ---- */

/* How a linear runs: the path, and for tests and the self-check a forced block
 * shape (-1: by shape; for COOP 0 large, 1 small). */
typedef struct lin_how {
    vt_vk_path path;
    int tile;
} lin_how;

static int linear_with(vt_vk *vk, lin_how how, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *bias,
                       vt_act act) {
    vt_context *ctx = vk->base.ctx;
    int rc;
    if ((rc = vt_vk_health(vk, "linear")) || (rc = vt_vk_check_tensor(vk, "linear", "y", y)) ||
        (rc = vt_vk_check_tensor(vk, "linear", "x", x)) || (rc = vt_vk_check_tensor(vk, "linear", "w", w)) ||
        (bias && (rc = vt_vk_check_tensor(vk, "linear", "bias", bias))))
        return rc;
    if (act != VT_ACT_NONE && act != VT_ACT_GELU_TANH && act != VT_ACT_GELU_ERF && act != VT_ACT_SILU)
        return vt_error(ctx, VT_E_INVALID, "linear: unknown activation %d", (int)act);
    int64_t M, N, K;
    if ((rc = vt_backend_check_linear(ctx, y, x, w, bias, &M, &N, &K))) return rc;
    if (M == 0 || N == 0) return VT_OK;
    if (vt_vk_overlap(y, numel(y), x, numel(x))) return vt_error(ctx, VT_E_INVALID, "linear: y must not alias x");

    gemm_job j;
    memset(&j, 0, sizeof j);
    gemm_push *p = &j.p;
    if ((rc = vt_vk_bind(vk, "linear", "x", x, 0, numel(x), &j.bd[0], &p->a_off)) ||
        (rc = vt_vk_bind(vk, "linear", "y", y, 0, numel(y), &j.bd[2], &p->c_off)))
        return rc;
    /* f16 weights: a buffer only the host wrote (no op's output), K > 0 */
    const vt_vk_buf *wbuf = w->buf->impl;
    if (how.path != VT_VK_PATH_F32 && vk->has_f16 && !wbuf->gpu_written && K > 0) {
        const vt_vk_buf *h;
        if ((rc = vt_vk_half_get(vk, wbuf, w->offset, numel(w), &h))) return rc;
        j.bd[1] = (vt_vk_binding){.buf = h, .offset = 0, .range = h->size};
        p->b_off = 0;
        j.b_half = 1;
    } else if ((rc = vt_vk_bind(vk, "linear", "w", w, 0, numel(w), &j.bd[1], &p->b_off))) {
        return rc;
    }
    if (bias) {
        if ((rc = vt_vk_bind(vk, "linear", "bias", bias, 0, (uint64_t)N, &j.bd[3], &p->bias_off))) return rc;
        p->flags |= FLAG_BIAS;
    } else {
        j.bd[3] = j.bd[0];
    }
    p->M = (uint32_t)M;
    p->N = (uint32_t)N;
    p->K = (uint32_t)K;
    p->a_sm = (uint32_t)K; /* x (M, K) row-major */
    p->a_sk = 1;
    p->b_sk = 1; /* B (K, N) = wᵀ: element (k, n) is w[n][k] */
    p->b_sn = (uint32_t)K;
    p->c_sm = (uint32_t)N;
    p->flags |= (uint32_t)act;
    p->alpha = 1.0f;
    j.batch = 1;
    if (how.path == VT_VK_PATH_COOP && (vk->coop_ok || vk->coop_emulate) && coop_fits(&j)) return run_coop(vk, &j, how.tile);
    if ((uint32_t)M <= GEMV_MAX_M && how.tile < 0) return run_gemv(vk, &j);
    return run_tile(vk, &j, how.tile);
}

vt_vk_path vt_backend_vulkan_linear_path(vt_backend *be) {
    const vt_vk *vk = vt_vk_of(be);
    if (!vk->use_f16 || !vk->has_f16) return VT_VK_PATH_F32;
    return vk->use_coop && (vk->coop_ok || vk->coop_emulate) ? VT_VK_PATH_COOP : VT_VK_PATH_F16;
}

int vt_vk_linear(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *bias, vt_act act) {
    vt_vk *vk = vt_vk_of(be);
    lin_how how = {vt_backend_vulkan_linear_path(be), vk->force_tile};
    return linear_with(vk, how, y, x, w, bias, act);
}

/* ---- matmul_batched ---- */

int vt_vk_matmul_batched(vt_backend *be, vt_tensor *c, const vt_tensor *a, int trans_a, const vt_tensor *b, int trans_b,
                         float alpha) {
    vt_vk *vk = vt_vk_of(be);
    int rc;
    if ((rc = vt_vk_health(vk, "matmul")) || (rc = vt_vk_check_tensor(vk, "matmul", "c", c)) ||
        (rc = vt_vk_check_tensor(vk, "matmul", "a", a)) || (rc = vt_vk_check_tensor(vk, "matmul", "b", b)))
        return rc;
    int64_t batch, M, N, K;
    if ((rc = vt_backend_check_matmul(be->ctx, c, a, trans_a, b, trans_b, &batch, &M, &N, &K))) return rc;
    if (batch == 0 || M == 0 || N == 0) return VT_OK;
    if (vt_vk_overlap(c, numel(c), a, numel(a)) || vt_vk_overlap(c, numel(c), b, numel(b)))
        return vt_error(be->ctx, VT_E_INVALID, "matmul: c must not alias a or b");
    gemm_job j;
    memset(&j, 0, sizeof j);
    gemm_push *p = &j.p;
    if ((rc = vt_vk_bind(vk, "matmul", "a", a, 0, numel(a), &j.bd[0], &p->a_off)) ||
        (rc = vt_vk_bind(vk, "matmul", "b", b, 0, numel(b), &j.bd[1], &p->b_off)) ||
        (rc = vt_vk_bind(vk, "matmul", "c", c, 0, numel(c), &j.bd[2], &p->c_off)))
        return rc;
    j.bd[3] = j.bd[0];
    p->M = (uint32_t)M;
    p->N = (uint32_t)N;
    p->K = (uint32_t)K;
    p->a_bs = (uint32_t)(M * K);
    p->a_sm = trans_a ? 1u : (uint32_t)K; /* a (K, M) when transposed */
    p->a_sk = trans_a ? (uint32_t)M : 1u;
    p->b_bs = (uint32_t)(K * N);
    p->b_sk = trans_b ? 1u : (uint32_t)N; /* b (N, K) when transposed */
    p->b_sn = trans_b ? (uint32_t)K : 1u;
    p->c_bs = (uint32_t)(M * N);
    p->c_sm = (uint32_t)N;
    p->alpha = alpha;
    j.batch = (uint32_t)batch;
    return run_tile(vk, &j, vk->force_tile);
}

/* ---- conv2d: an implicit GEMM (gemm.comp with VT_CONV) ---- */

int vt_vk_conv2d(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *bias, int stride,
                 int pad) {
    vt_vk *vk = vt_vk_of(be);
    int rc;
    if ((rc = vt_vk_health(vk, "conv2d")) || (rc = vt_vk_check_tensor(vk, "conv2d", "y", y)) ||
        (rc = vt_vk_check_tensor(vk, "conv2d", "x", x)) || (rc = vt_vk_check_tensor(vk, "conv2d", "w", w)) ||
        (bias && (rc = vt_vk_check_tensor(vk, "conv2d", "bias", bias))))
        return rc;
    if ((rc = vt_backend_check_conv2d(be->ctx, y, x, w, bias, stride, pad))) return rc;
    const int64_t B = x->shape[0], Ci = x->shape[1], H = x->shape[2], W = x->shape[3];
    const int64_t Co = w->shape[0], kh = w->shape[2], kw = w->shape[3], Ho = y->shape[2], Wo = y->shape[3];
    const int64_t Kc = Ci * kh * kw, P = Ho * Wo;
    if (B == 0 || Co == 0 || P == 0) return VT_OK;
    if (vt_vk_overlap(y, numel(y), x, numel(x))) return vt_error(be->ctx, VT_E_INVALID, "conv2d: y must not alias x");
    gemm_job j;
    memset(&j, 0, sizeof j);
    gemm_push *p = &j.p;
    if ((rc = vt_vk_bind(vk, "conv2d", "w", w, 0, numel(w), &j.bd[0], &p->a_off)) ||
        (rc = vt_vk_bind(vk, "conv2d", "x", x, 0, numel(x), &j.bd[1], &p->b_off)) ||
        (rc = vt_vk_bind(vk, "conv2d", "y", y, 0, numel(y), &j.bd[2], &p->c_off)))
        return rc;
    if (bias) {
        if ((rc = vt_vk_bind(vk, "conv2d", "bias", bias, 0, (uint64_t)Co, &j.bd[3], &p->bias_off))) return rc;
        p->flags |= FLAG_BIAS | FLAG_BIAS_ROW;
    } else {
        j.bd[3] = j.bd[0];
    }
    /* per image: y (Co, P) = w (Co, Kc) · im2col(x) (Kc, P) */
    p->M = (uint32_t)Co;
    p->N = (uint32_t)P;
    p->K = (uint32_t)Kc;
    p->a_sm = (uint32_t)Kc;
    p->a_sk = 1;
    p->b_bs = (uint32_t)(Ci * H * W);
    p->c_bs = (uint32_t)(Co * P);
    p->c_sm = (uint32_t)P;
    p->alpha = 1.0f;
    p->H = (int32_t)H;
    p->W = (int32_t)W;
    p->kh = (int32_t)kh;
    p->kw = (int32_t)kw;
    p->Wo = (int32_t)Wo;
    p->stride = stride;
    p->pad = pad;
    j.batch = (uint32_t)B;
    return run_blocks(vk, VT_VK_SH_CONV2D, NULL, &j, CONV_TILE, CONV_TILE);
}

/* ---- the COOP decision and the self-check ---- */

int vt_vk_coop_decide(const vt_vk_coop_caps *c, char *why, size_t cap) {
    const char *w = NULL;
    char buf[128];
    if (!c->shader_built) w = "this build's glslc could not compile GL_NV_cooperative_matrix shaders";
    else if (!c->extension) w = "the device does not offer VK_NV_cooperative_matrix";
    else if (!c->feature) w = "the device reports the cooperativeMatrix feature off";
    else if (!c->shape_16x16x16) w = "the device lists no 16x16x16 f16 x f16 -> f32 subgroup shape";
    else if (!c->float16) w = "the device lacks shaderFloat16";
    else if (!c->storage16) w = "the device lacks 16-bit storage buffers";
    else if (!c->memory_model) w = "the device lacks the Vulkan memory model";
    else if (c->subgroup_size != 32) {
        snprintf(buf, sizeof buf, "subgroups of %u invocations (the shader is written for 32)", c->subgroup_size);
        w = buf;
    } else if (c->shared_bytes < coop_shared(COOP_DEFAULT)) {
        snprintf(buf, sizeof buf, "%u bytes of shared memory (the shader needs %u)", c->shared_bytes,
                 coop_shared(COOP_DEFAULT));
        w = buf;
    }
    if (why && cap) snprintf(why, cap, "%s", w ? w : "");
    return w == NULL;
}

const char *vt_vk_path_name(vt_vk_path path) {
    switch (path) {
    case VT_VK_PATH_F32: return "f32";
    case VT_VK_PATH_F16: return "f16-weights";
    case VT_VK_PATH_COOP: return "coop-nv";
    default: return "?";
    }
}

static vt_tensor tview(vt_buffer *b, int ndim, int64_t d0, int64_t d1) {
    int64_t s[2] = {d0, d1};
    vt_tensor t = vt_tensor_make(VT_DTYPE_F32, b->host, ndim, s);
    t.buf = b;
    return t;
}

/* y_ref on F32 and y on `path` (the block variants it will run) for one odd-sized
 * linear with bias and GELU; *nmse is the worst Σ(y − y_ref)² / Σ y_ref². */
static int selfcheck(vt_vk *vk, vt_vk_path path, double *nmse) {
    /* M, N not multiples of any block; K a multiple of 8 but not of a slice (32) */
    enum { M = 150, N = 136, K = 200, NX = M * K, NW = N * K };
    vt_backend *be = &vk->base;
    vt_buffer *bx = NULL, *bw = NULL, *bb = NULL, *by0 = NULL, *by = NULL;
    float *h = malloc((size_t)(NX + NW + N) * sizeof *h), *r0 = malloc((size_t)M * N * sizeof *r0),
          *r1 = malloc((size_t)M * N * sizeof *r1);
    int rc = h && r0 && r1 ? VT_OK : vt_error(be->ctx, VT_E_NOMEM, "vulkan: out of host memory for the self-check");
    if (!rc) {
        vt_rng_normal(77, 0, 0, h, (size_t)(NX + NW + N));
        for (int i = 0; i < NW; i++) h[NX + i] *= 1.0f / sqrtf((float)K);
    }
    if (!rc) rc = vt_vk_buffer_alloc(be, NX * sizeof(float), &bx);
    if (!rc) rc = vt_vk_buffer_alloc(be, NW * sizeof(float), &bw);
    if (!rc) rc = vt_vk_buffer_alloc(be, N * sizeof(float), &bb);
    if (!rc) rc = vt_vk_buffer_alloc(be, (size_t)M * N * sizeof(float), &by0);
    if (!rc) rc = vt_vk_buffer_alloc(be, (size_t)M * N * sizeof(float), &by);
    if (!rc) rc = vt_vk_upload(be, bx, 0, h, NX * sizeof(float));
    if (!rc) rc = vt_vk_upload(be, bw, 0, h + NX, NW * sizeof(float));
    if (!rc) rc = vt_vk_upload(be, bb, 0, h + NX + NW, N * sizeof(float));
    vt_tensor tx = bx ? tview(bx, 2, M, K) : (vt_tensor){0}, tw = bw ? tview(bw, 2, N, K) : (vt_tensor){0};
    vt_tensor tb = bb ? tview(bb, 1, N, 0) : (vt_tensor){0};
    vt_tensor ty0 = by0 ? tview(by0, 2, M, N) : (vt_tensor){0}, ty = by ? tview(by, 2, M, N) : (vt_tensor){0};
    if (!rc) rc = linear_with(vk, (lin_how){VT_VK_PATH_F32, -1}, &ty0, &tx, &tw, &tb, VT_ACT_GELU_TANH);
    if (!rc) rc = vt_vk_download(be, by0, 0, r0, (size_t)M * N * sizeof(float));
    double worst = 0;
    /* COOP: the variants products will take (the two of the size rule, and
     * the one VITRAIL_VK_TILE forces); the portable paths: all their blocks */
    int check[VT_VK_GEMM_TILES > 3 ? VT_VK_GEMM_TILES : 3], variants = 0;
    if (path == VT_VK_PATH_COOP) {
        check[variants++] = COOP_DEFAULT;
        if (vt_backend_vulkan_coop_tile_usable(be, COOP_LARGE)) check[variants++] = COOP_LARGE;
        if (vk->force_tile != COOP_DEFAULT && vk->force_tile != COOP_LARGE &&
            vt_backend_vulkan_coop_tile_usable(be, vk->force_tile))
            check[variants++] = vk->force_tile;
    } else
        for (; variants < VT_VK_GEMM_TILES; variants++) check[variants] = variants;
    for (int v = 0; !rc && v < variants; v++) {
        rc = linear_with(vk, (lin_how){path, check[v]}, &ty, &tx, &tw, &tb, VT_ACT_GELU_TANH);
        if (!rc) rc = vt_vk_download(be, by, 0, r1, (size_t)M * N * sizeof(float));
        double num = 0, den = 0;
        for (int i = 0; !rc && i < M * N; i++) {
            const double d = (double)r1[i] - r0[i];
            num += isfinite(d) ? d * d : INFINITY;
            den += (double)r0[i] * r0[i];
        }
        if (!rc && !(num / den <= worst)) worst = num / den; /* NaN counts as worst */
    }
    vt_vk_buffer_free(be, bx);
    vt_vk_buffer_free(be, bw);
    vt_vk_buffer_free(be, bb);
    vt_vk_buffer_free(be, by0);
    vt_vk_buffer_free(be, by);
    free(h);
    free(r0);
    free(r1);
    *nmse = worst;
    return rc;
}

int vt_backend_vulkan_selfcheck(vt_backend *be, vt_vk_path path, double *nmse) {
    vt_vk *vk = vt_vk_of(be);
    *nmse = -1;
    if (path != VT_VK_PATH_F32 && !vk->has_f16)
        return vt_error(be->ctx, VT_E_UNSUPPORTED, "vulkan: %s has no 16-bit storage for the %s path", vk->props.deviceName,
                        vt_vk_path_name(path));
    if (path == VT_VK_PATH_COOP && !vk->coop_ok && !vk->coop_emulate)
        return vt_error(be->ctx, VT_E_UNSUPPORTED, "vulkan: no coop path on %s: %s", vk->props.deviceName, vk->coop_why);
    return selfcheck(vk, path, nmse);
}

int vt_vk_matmul_init(vt_vk *vk) {
    char why[160];
    vk->coop_ok = 0;
    vk->coop_nmse = -1;
    if (!vt_vk_coop_decide(&vk->coop, why, sizeof why)) {
        snprintf(vk->coop_why, sizeof vk->coop_why, "%s", why);
        return VT_OK;
    }
    if (!vk->use_coop) {
        snprintf(vk->coop_why, sizeof vk->coop_why, "turned off (VITRAIL_VK_COOP=0)");
        return VT_OK;
    }
    /* The device offers it: the shader must still agree with the portable one.
     * A failure of any kind other than a lost device turns the path off, and
     * the backend runs on the portable shaders as on any other device. */
    vk->coop_ok = 1;
    double e = -1;
    int rc = selfcheck(vk, VT_VK_PATH_COOP, &e);
    vk->coop_nmse = e;
    if (vk->lost) return rc;
    if (rc) {
        vk->coop_ok = 0;
        snprintf(vk->coop_why, sizeof vk->coop_why, "self-check failed: %s", vt_context_error(vk->base.ctx));
        vt_log(vk->base.ctx, VT_LOG_WARN, "vulkan: cooperative-matrix GEMM off: %s", vk->coop_why);
        return VT_OK;
    }
    if (!(e <= SELFCHECK_COOP)) {
        vk->coop_ok = 0;
        snprintf(vk->coop_why, sizeof vk->coop_why, "self-check NMSE %.3g against the portable path exceeds %g", e,
                 SELFCHECK_COOP);
        vt_log(vk->base.ctx, VT_LOG_WARN, "vulkan: cooperative-matrix GEMM off: %s", vk->coop_why);
        return VT_OK;
    }
    snprintf(vk->coop_why, sizeof vk->coop_why, "NV cooperative matrix 16x16x16 f16 x f16 -> f32, self-check NMSE %.2g", e);
    return VT_OK;
}

int vt_backend_vulkan_set_f16(vt_backend *be, int on) {
    vt_vk *vk = vt_vk_of(be);
    if (on && !vk->has_f16)
        return vt_error(be->ctx, VT_E_UNSUPPORTED, "vulkan: %s has no 16-bit storage buffers: f16 weights are not available",
                        vk->props.deviceName);
    vk->use_f16 = on != 0;
    return VT_OK;
}

int vt_backend_vulkan_set_coop(vt_backend *be, int on) {
    vt_vk *vk = vt_vk_of(be);
    if (on && !vk->coop_ok && !vk->coop_emulate)
        return vt_error(be->ctx, VT_E_UNSUPPORTED, "vulkan: no cooperative-matrix path on %s: %s", vk->props.deviceName,
                        vk->coop_why);
    vk->use_coop = on != 0;
    return VT_OK;
}

const char *vt_backend_vulkan_coop_status(vt_backend *be) { return vt_vk_of(be)->coop_why; }

int vt_backend_vulkan_coop_emulate(vt_backend *be, int on) {
    vt_vk *vk = vt_vk_of(be);
    if (on && !vk->has_f16)
        return vt_error(be->ctx, VT_E_UNSUPPORTED, "vulkan: %s has no 16-bit storage buffers for the f16 copies",
                        vk->props.deviceName);
    vk->coop_emulate = on != 0;
    return VT_OK;
}

void vt_backend_vulkan_force_tile(vt_backend *be, int tile) { vt_vk_of(be)->force_tile = tile; }

void vt_backend_vulkan_counters(vt_backend *be, uint64_t *commands, uint64_t *barriers) {
    const vt_vk *vk = vt_vk_of(be);
    if (commands) *commands = vk->n_commands;
    if (barriers) *barriers = vk->n_barriers;
}
