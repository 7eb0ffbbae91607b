/* The attention family on Vulkan (DESIGN §4): the same argument checks and axis
 * rules as the CPU engine (core/cpu/cpu_attention.c), then one of two shaders —
 * attn_full for full and cross attention (keys tiled through shared memory,
 * key_mask), attn_window for the windowed patterns (each query walks its own
 * window box). Both keep an online softmax and never form the score matrix. */
#include <math.h>
#include <string.h>

#include "vk_internal.h"

/* Axis rules, as attn_window.comp numbers them. */
enum { AX_SAME = 0, AX_WINDOW, AX_CAUSAL, AX_BLOCK, AX_ALL };

#define MAX_HEAD_DIM 256   /* per-invocation query and accumulator arrays */
#define ATTN_WG 64         /* queries per workgroup, both shaders */
#define SHARED_BUDGET 16384 /* bytes of K and V tiles in attn_full: the least any device offers */

typedef struct full_push {
    uint32_t Nq, Nk;
    uint32_t q_off, k_off, v_off, o_off, m_off;
    uint32_t ld_q, ld_k, ld_v, ld_o;
    uint32_t has_mask;
    float scale;
} full_push;

typedef struct window_push {
    uint32_t Nq;
    uint32_t q_off, k_off, v_off, o_off;
    uint32_t ld_q, ld_k, ld_v, ld_o;
    float scale;
    int32_t mode[3], L[3], kern[3], dil[3];
} window_push;

/* Whether q, k, v and out rows can be read and written as vec4s: element
 * offsets, row strides and the head size all multiples of 4 (bindings start
 * 16-byte aligned). */
static uint32_t vec4_ok(const uint32_t off[4], const uint32_t ld[4], uint32_t d) {
    return ((off[0] | off[1] | off[2] | off[3] | ld[0] | ld[1] | ld[2] | ld[3] | d) & 3u) == 0;
}

/* Per axis (T, H, W): the rule, window length and dilation of the pattern. */
static int setup_axes(vt_vk *vk, const vt_attn_desc *D, window_push *p) {
    static const char *names[3] = {"T", "H", "W"};
    vt_context *ctx = vk->base.ctx;
    for (int ax = 0; ax < 3; ax++) {
        const int L = D->grid[ax];
        int mode = AX_SAME, k = 1, dil = 1;
        switch (D->kind) {
        case VT_ATTN_NEIGHBORHOOD: {
            const int kk = D->kernel[ax], dd = D->dilation[ax];
            if (kk < 1 || dd < 1)
                return vt_error(ctx, VT_E_INVALID,
                                "attention: neighborhood kernel %d and dilation %d on axis %s must be >= 1", kk, dd,
                                names[ax]);
            if ((int64_t)kk * dd > L)
                return vt_error(ctx, VT_E_INVALID, "attention: neighborhood kernel %d x dilation %d exceeds axis %s of length %d",
                                kk, dd, names[ax], L);
            k = kk;
            dil = dd;
            mode = (ax == 0 && D->causal_t) ? AX_CAUSAL : (kk == 1 ? AX_SAME : AX_WINDOW);
            break;
        }
        case VT_ATTN_AXIAL:
            if (D->axis < 0 || D->axis > 2)
                return vt_error(ctx, VT_E_INVALID, "attention: axial axis %d is not 0 (T), 1 (H) or 2 (W)", D->axis);
            if (ax == D->axis) mode = AX_ALL;
            break;
        case VT_ATTN_BLOCK:
        case VT_ATTN_GRID:
            if (ax == 0) break; /* per frame */
            if (D->window < 1 || L % D->window)
                return vt_error(ctx, VT_E_INVALID, "attention: %s window %d does not divide axis %s of length %d",
                                D->kind == VT_ATTN_BLOCK ? "block" : "grid", D->window, names[ax], L);
            if (D->kind == VT_ATTN_BLOCK) {
                mode = AX_BLOCK;
                k = D->window;
            } else {
                /* grid G: the residue classes mod L/G, G tokens each, all visible */
                mode = AX_ALL;
                dil = L / D->window;
            }
            break;
        default: break;
        }
        p->mode[ax] = mode;
        p->L[ax] = L;
        p->kern[ax] = k;
        p->dil[ax] = dil;
    }
    return VT_OK;
}

int vt_vk_attention(vt_backend *be, const vt_attn_args *a) {
    vt_vk *vk = vt_vk_of(be);
    vt_context *ctx = be->ctx;
    int rc;
    if ((rc = vt_vk_health(vk, "attention"))) return rc;
    if (!a) return vt_error(ctx, VT_E_INVALID, "attention: no arguments");
    if ((rc = vt_vk_check_tensor(vk, "attention", "q", a->q)) || (rc = vt_vk_check_tensor(vk, "attention", "k", a->k)) ||
        (rc = vt_vk_check_tensor(vk, "attention", "v", a->v)) || (rc = vt_vk_check_tensor(vk, "attention", "out", a->out)) ||
        (a->key_mask && (rc = vt_vk_check_tensor(vk, "attention", "key_mask", a->key_mask))))
        return rc;
    const vt_attn_kind kind = a->desc.kind;
    if (kind < VT_ATTN_FULL || kind > VT_ATTN_CROSS)
        return vt_error(ctx, VT_E_INVALID, "attention: unknown pattern %d", (int)kind);
    if (a->B < 1 || a->heads < 1 || a->head_dim < 1 || a->Nq < 0 || a->Nk < 0)
        return vt_error(ctx, VT_E_SHAPE, "attention: needs B, heads, head_dim >= 1 and Nq, Nk >= 0 (got %d, %d, %d, %d, %d)",
                        a->B, a->heads, a->head_dim, a->Nq, a->Nk);
    const size_t hd = (size_t)a->heads * a->head_dim;
    size_t ld_q = a->ld_q ? a->ld_q : hd, ld_k = a->ld_k ? a->ld_k : hd, ld_v = a->ld_v ? a->ld_v : hd,
           ld_o = a->ld_o ? a->ld_o : hd;
    if (ld_q < hd || ld_k < hd || ld_v < hd || ld_o < hd)
        return vt_error(ctx, VT_E_SHAPE, "attention: a row stride (q %zu, k %zu, v %zu, out %zu) is below heads x head_dim (%zu)",
                        ld_q, ld_k, ld_v, ld_o, hd);
    struct {
        const vt_tensor *t;
        size_t off, ld;
        int n;
        const char *name;
    } views[4] = {{a->q, a->off_q, ld_q, a->Nq, "q"},
                  {a->k, a->off_k, ld_k, a->Nk, "k"},
                  {a->v, a->off_v, ld_v, a->Nk, "v"},
                  {a->out, a->off_o, ld_o, a->Nq, "out"}};
    uint64_t span[4];
    for (int i = 0; i < 4; i++) {
        size_t rows = (size_t)a->B * views[i].n;
        span[i] = rows ? (rows - 1) * views[i].ld + hd : 0;
        if (rows && views[i].off + span[i] > (size_t)vt_tensor_numel(views[i].t))
            return vt_error(ctx, VT_E_SHAPE,
                            "attention: %s view (B %d x N %d rows of stride %zu from offset %zu) exceeds its tensor of %lld "
                            "floats",
                            views[i].name, a->B, views[i].n, views[i].ld, views[i].off, (long long)vt_tensor_numel(views[i].t));
    }
    if (a->head_dim > MAX_HEAD_DIM)
        return vt_error(ctx, VT_E_UNSUPPORTED, "attention: head_dim %d exceeds the Vulkan shaders' %d", a->head_dim,
                        MAX_HEAD_DIM);
    if (a->key_mask && vt_tensor_numel(a->key_mask) != (int64_t)a->B * a->Nk)
        return vt_error(ctx, VT_E_SHAPE, "attention: key_mask has %lld elements; it must be (B %d, Nk %d)",
                        (long long)vt_tensor_numel(a->key_mask), a->B, a->Nk);
    if (a->key_mask && kind != VT_ATTN_CROSS && kind != VT_ATTN_FULL)
        return vt_error(ctx, VT_E_UNSUPPORTED, "attention: key_mask is for cross and full attention only");
    /* The output must not overlap what other queries read. Views of one fused
     * buffer with the same row stride are fine when their columns are disjoint
     * (out next to q, k, v), and out may replace q row for row: an invocation
     * reads its own query row before it writes its own output row. */
    for (int i = 0; i < 3; i++) {
        if (a->out->buf != views[i].t->buf || !a->Nq || !views[i].n) continue;
        const uint64_t o0 = a->out->offset / 4 + a->off_o, s0 = views[i].t->offset / 4 + views[i].off;
        if (!(o0 < s0 + span[i] && s0 < o0 + span[3])) continue;
        if (ld_o == views[i].ld) {
            const uint64_t delta = (o0 + ld_o - s0 % ld_o) % ld_o;
            if (delta >= hd && delta <= ld_o - hd) continue;
            if (i == 0 && o0 == s0) continue;
        }
        return vt_error(ctx, VT_E_INVALID, "attention: out overlaps %s", views[i].name);
    }

    const float scale = a->desc.scale != 0.0f ? a->desc.scale : (float)(1.0 / sqrt((double)a->head_dim));
    const uint32_t gx = (uint32_t)((a->Nq + ATTN_WG - 1) / ATTN_WG);
    vt_vk_binding bd[5];
    const uint32_t d = (uint32_t)a->head_dim;

    if (kind == VT_ATTN_FULL || kind == VT_ATTN_CROSS) {
        if (kind == VT_ATTN_FULL && a->Nq != a->Nk)
            return vt_error(ctx, VT_E_SHAPE, "attention: full self-attention needs Nq == Nk (got %d and %d)", a->Nq, a->Nk);
        if (a->Nq == 0) return VT_OK;
        full_push p = {.Nq = (uint32_t)a->Nq, .Nk = (uint32_t)a->Nk, .ld_q = (uint32_t)ld_q, .ld_k = (uint32_t)ld_k,
                       .ld_v = (uint32_t)ld_v, .ld_o = (uint32_t)ld_o, .scale = scale};
        if ((rc = vt_vk_bind(vk, "attention", "q", a->q, a->off_q, span[0], &bd[0], &p.q_off)) ||
            (rc = vt_vk_bind(vk, "attention", "k", a->k, a->off_k, span[1], &bd[1], &p.k_off)) ||
            (rc = vt_vk_bind(vk, "attention", "v", a->v, a->off_v, span[2], &bd[2], &p.v_off)) ||
            (rc = vt_vk_bind(vk, "attention", "out", a->out, a->off_o, span[3], &bd[3], &p.o_off)))
            return rc;
        bd[4] = bd[0];
        if (a->key_mask) {
            if ((rc = vt_vk_bind(vk, "attention", "key_mask", a->key_mask, 0, (uint64_t)a->B * a->Nk, &bd[4], &p.m_off)))
                return rc;
            p.has_mask = 1;
        }
        /* keys per shared-memory block: K and V tiles within the budget */
        uint32_t bc = SHARED_BUDGET / (2 * sizeof(float) * d);
        if (bc > 64) bc = 64;
        if (bc < 1) bc = 1;
        const uint32_t off[4] = {p.q_off, p.k_off, p.v_off, p.o_off}, ld[4] = {p.ld_q, p.ld_k, p.ld_v, p.ld_o};
        const uint32_t spec[3] = {d, bc, vec4_ok(off, ld, d)};
        return vt_vk_dispatch(vk, VT_VK_SH_ATTN_FULL, spec, bd, &p, sizeof p, gx, (uint32_t)a->heads, (uint32_t)a->B);
    }

    const int *g = a->desc.grid;
    if (g[0] < 1 || g[1] < 1 || g[2] < 1 || (int64_t)g[0] * g[1] * g[2] != a->Nq || a->Nq != a->Nk)
        return vt_error(ctx, VT_E_SHAPE,
                        "attention: the grid %d x %d x %d (T, H, W) must hold exactly Nq = Nk tokens (got Nq %d, Nk %d)", g[0],
                        g[1], g[2], a->Nq, a->Nk);
    window_push p = {.Nq = (uint32_t)a->Nq, .ld_q = (uint32_t)ld_q, .ld_k = (uint32_t)ld_k, .ld_v = (uint32_t)ld_v,
                     .ld_o = (uint32_t)ld_o, .scale = scale};
    if ((rc = setup_axes(vk, &a->desc, &p))) return rc;
    if ((rc = vt_vk_bind(vk, "attention", "q", a->q, a->off_q, span[0], &bd[0], &p.q_off)) ||
        (rc = vt_vk_bind(vk, "attention", "k", a->k, a->off_k, span[1], &bd[1], &p.k_off)) ||
        (rc = vt_vk_bind(vk, "attention", "v", a->v, a->off_v, span[2], &bd[2], &p.v_off)) ||
        (rc = vt_vk_bind(vk, "attention", "out", a->out, a->off_o, span[3], &bd[3], &p.o_off)))
        return rc;
    const uint32_t off[4] = {p.q_off, p.k_off, p.v_off, p.o_off}, ld[4] = {p.ld_q, p.ld_k, p.ld_v, p.ld_o};
    const uint32_t spec[2] = {d, vec4_ok(off, ld, d)};
    return vt_vk_dispatch(vk, VT_VK_SH_ATTN_WINDOW, spec, bd, &p, sizeof p, gx, (uint32_t)a->heads, (uint32_t)a->B);
}
