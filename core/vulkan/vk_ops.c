/* The Vulkan backend's ops other than attention: argument checks (the same
 * rules and messages as the CPU backend's), tensor bindings, push constants and
 * the dispatch of the shaders in shaders/. */
#include <string.h>

#include "vk_internal.h"

/* ---- tensors and bindings ---- */

int vt_vk_check_tensor(vt_vk *vk, const char *op, const char *what, const vt_tensor *t) {
    vt_context *ctx = vk->base.ctx;
    if (!t) return vt_error(ctx, VT_E_INVALID, "%s: %s is NULL", op, what);
    if (t->dtype != VT_DTYPE_F32)
        return vt_error(ctx, VT_E_UNSUPPORTED, "%s: %s is %s; the Vulkan backend computes on F32 tensors for now", op, what,
                        vt_dtype_name(t->dtype));
    if (!t->buf || t->buf->backend != &vk->base || !t->buf->impl)
        return vt_error(ctx, VT_E_INVALID, "%s: %s is not in a buffer of this Vulkan backend (upload host data first)", op,
                        what);
    if (t->offset % sizeof(float))
        return vt_error(ctx, VT_E_INVALID, "%s: %s starts at byte %zu of its buffer, not a multiple of 4", op, what,
                        t->offset);
    const uint64_t bytes = (uint64_t)vt_tensor_numel(t) * sizeof(float);
    if (t->offset > t->buf->size || bytes > t->buf->size - t->offset) {
        char s[64];
        return vt_error(ctx, VT_E_SHAPE, "%s: %s %s at byte %zu exceeds its buffer of %zu bytes", op, what,
                        vt_tensor_shape_str(t, s, sizeof s), t->offset, t->buf->size);
    }
    return VT_OK;
}

int vt_vk_bind(vt_vk *vk, const char *op, const char *what, const vt_tensor *t, uint64_t first, uint64_t count,
               vt_vk_binding *bind, uint32_t *elem) {
    int rc = vt_vk_check_tensor(vk, op, what, t);
    if (rc) return rc;
    const vt_vk_buf *impl = t->buf->impl;
    const uint64_t start = t->offset + first * sizeof(float);
    uint64_t end = start + count * sizeof(float);
    if (end > t->buf->size)
        return vt_error(vk->base.ctx, VT_E_SHAPE, "%s: %s: floats [%llu, %llu) lie beyond its buffer of %zu bytes", op, what,
                        (unsigned long long)first, (unsigned long long)(first + count), t->buf->size);
    if (end == start) end = start + sizeof(float); /* an empty range is invalid; the buffer has >= 16 bytes */
    if (end > impl->size) end = impl->size;
    /* bind from an offset the device accepts, and at least 16-byte aligned, so
     * that a shader's vec4 view of the binding matches element offsets that are
     * multiples of 4; the shader skips to `first` */
    uint64_t align = vk->props.limits.minStorageBufferOffsetAlignment;
    if (align < 16) align = 16;
    uint64_t base = start / align * align;
    uint64_t range = end - base;
    if (start >= impl->size) {
        /* an empty view at the very end of the buffer: nothing is read */
        base = 0;
        range = impl->size;
    }
    if (range > vk->props.limits.maxStorageBufferRange)
        return vt_error(vk->base.ctx, VT_E_UNSUPPORTED, "%s: %s spans %llu bytes; %s binds at most %u bytes per buffer", op,
                        what, (unsigned long long)range, vk->props.deviceName, vk->props.limits.maxStorageBufferRange);
    bind->buf = impl;
    bind->offset = base;
    bind->range = range;
    bind->lo = start < impl->size ? start : base;
    bind->hi = start < impl->size ? end : base + range;
    *elem = start >= impl->size ? 0u : (uint32_t)((start - base) / sizeof(float));
    return VT_OK;
}

int vt_vk_overlap(const vt_tensor *a, uint64_t n_a, const vt_tensor *b, uint64_t n_b) {
    if (!a || !b || !a->buf || a->buf != b->buf || n_a == 0 || n_b == 0) return 0;
    uint64_t a0 = a->offset, a1 = a0 + n_a * sizeof(float), b0 = b->offset, b1 = b0 + n_b * sizeof(float);
    return a0 < b1 && b0 < a1;
}

static uint64_t numel(const vt_tensor *t) { return (uint64_t)vt_tensor_numel(t); }

static int check_act(vt_vk *vk, const char *op, vt_act act) {
    if (act != VT_ACT_NONE && act != VT_ACT_GELU_TANH && act != VT_ACT_GELU_ERF && act != VT_ACT_SILU)
        return vt_error(vk->base.ctx, VT_E_INVALID, "%s: unknown activation %d", op, (int)act);
    return VT_OK;
}

/* Workgroups of a grid-stride loop over n items, 256 per group. */
static uint32_t stride_groups(uint64_t n) {
    uint64_t g = (n + 255) / 256;
    return (uint32_t)(g > 65535 ? 65535 : g);
}

/* ---- row ops: layernorm, rmsnorm, softmax ---- */

typedef struct norm_push {
    uint32_t rows, D, x_off, y_off, w_off, b_off, flags, groups_x;
    float eps;
} norm_push;

typedef struct softmax_push {
    uint32_t rows, D, x_off, y_off, groups_x;
} softmax_push;

/* One workgroup per row, the rows laid over x and then y of the dispatch. */
static void row_groups(uint32_t rows, uint32_t *gx, uint32_t *gy) {
    *gx = rows < 65535 ? rows : 65535;
    *gy = (rows + *gx - 1) / *gx;
}

static int check_rows(vt_vk *vk, const char *op, const vt_tensor *y, const vt_tensor *x) {
    int rc;
    if ((rc = vt_vk_health(vk, op)) || (rc = vt_vk_check_tensor(vk, op, "y", y)) || (rc = vt_vk_check_tensor(vk, op, "x", x)))
        return rc;
    char sx[64], sy[64];
    if (!vt_tensor_same_shape(x, y) || x->ndim < 1)
        return vt_error(vk->base.ctx, VT_E_SHAPE, "%s: x %s and y %s differ", op, vt_tensor_shape_str(x, sx, sizeof sx),
                        vt_tensor_shape_str(y, sy, sizeof sy));
    return VT_OK;
}

static int check_vec(vt_vk *vk, const char *op, const char *what, const vt_tensor *v, int64_t n) {
    int rc = vt_vk_check_tensor(vk, op, what, v);
    if (rc) return rc;
    if (vt_tensor_numel(v) != n)
        return vt_error(vk->base.ctx, VT_E_SHAPE, "%s: %s has %lld elements, expected %lld", op, what,
                        (long long)vt_tensor_numel(v), (long long)n);
    return VT_OK;
}

static int norm_run(vt_vk *vk, const char *op, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *b,
                    float eps, int rms) {
    int rc = check_rows(vk, op, y, x);
    if (rc) return rc;
    const int64_t D = x->shape[x->ndim - 1];
    if ((w && (rc = check_vec(vk, op, "weight", w, D))) || (b && (rc = check_vec(vk, op, "bias", b, D)))) return rc;
    if (D == 0 || numel(x) == 0) return VT_OK;
    vt_vk_binding bd[4];
    norm_push p = {0};
    if ((rc = vt_vk_bind(vk, op, "x", x, 0, numel(x), &bd[0], &p.x_off)) ||
        (rc = vt_vk_bind(vk, op, "y", y, 0, numel(y), &bd[1], &p.y_off)))
        return rc;
    bd[2] = bd[3] = bd[0];
    p.flags = rms ? 1u : 0u;
    if (w) {
        if ((rc = vt_vk_bind(vk, op, "weight", w, 0, (uint64_t)D, &bd[2], &p.w_off))) return rc;
        p.flags |= 2u;
    }
    if (b) {
        if ((rc = vt_vk_bind(vk, op, "bias", b, 0, (uint64_t)D, &bd[3], &p.b_off))) return rc;
        p.flags |= 4u;
    }
    p.rows = (uint32_t)(numel(x) / (uint64_t)D);
    p.D = (uint32_t)D;
    p.eps = eps;
    uint32_t gx, gy;
    row_groups(p.rows, &gx, &gy);
    p.groups_x = gx;
    return vt_vk_dispatch(vk, VT_VK_SH_ROWNORM, NULL, bd, &p, sizeof p, gx, gy, 1);
}

int vt_vk_layernorm(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *b, float eps) {
    return norm_run(vt_vk_of(be), "layernorm", y, x, w, b, eps, 0);
}

int vt_vk_rmsnorm(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, float eps) {
    return norm_run(vt_vk_of(be), "rmsnorm", y, x, w, NULL, eps, 1);
}

int vt_vk_softmax(vt_backend *be, vt_tensor *y, const vt_tensor *x) {
    vt_vk *vk = vt_vk_of(be);
    int rc = check_rows(vk, "softmax", y, x);
    if (rc) return rc;
    const int64_t D = x->shape[x->ndim - 1];
    if (D == 0 || numel(x) == 0) return VT_OK;
    vt_vk_binding bd[2];
    softmax_push p = {0};
    if ((rc = vt_vk_bind(vk, "softmax", "x", x, 0, numel(x), &bd[0], &p.x_off)) ||
        (rc = vt_vk_bind(vk, "softmax", "y", y, 0, numel(y), &bd[1], &p.y_off)))
        return rc;
    p.rows = (uint32_t)(numel(x) / (uint64_t)D);
    p.D = (uint32_t)D;
    uint32_t gx, gy;
    row_groups(p.rows, &gx, &gy);
    p.groups_x = gx;
    return vt_vk_dispatch(vk, VT_VK_SH_SOFTMAX, NULL, bd, &p, sizeof p, gx, gy, 1);
}

/* ---- elementwise ---- */

enum { EW_ACT = 0, EW_ADD, EW_MUL, EW_SCALE, EW_MODULATE, EW_GATED_ADD };

typedef struct ew_push {
    uint32_t n, op, act;
    uint32_t y_off, a_off, b_off, c_off;
    uint32_t nb, D, rows_per_b;
    float s;
} ew_push;

/* y = op(a, b, c) over y's n elements; b and c optional (NULL binds a). */
static int ew_run(vt_vk *vk, const char *op, ew_push p, const vt_tensor *y, const vt_tensor *a, const vt_tensor *b,
                  const vt_tensor *c) {
    vt_vk_binding bd[4];
    int rc;
    if ((rc = vt_vk_bind(vk, op, "y", y, 0, p.n, &bd[0], &p.y_off)) ||
        (rc = vt_vk_bind(vk, op, "x", a, 0, p.n, &bd[1], &p.a_off)))
        return rc;
    bd[2] = bd[3] = bd[1];
    if (b && (rc = vt_vk_bind(vk, op, "operand", b, 0, numel(b), &bd[2], &p.b_off))) return rc;
    if (c && (rc = vt_vk_bind(vk, op, "scale", c, 0, numel(c), &bd[3], &p.c_off))) return rc;
    return vt_vk_dispatch(vk, VT_VK_SH_ELTWISE, NULL, bd, &p, sizeof p, stride_groups(p.n), 1, 1);
}

static int check_same(vt_vk *vk, const char *op, const vt_tensor *y, const vt_tensor *x) {
    int rc;
    if ((rc = vt_vk_health(vk, op)) || (rc = vt_vk_check_tensor(vk, op, "y", y)) || (rc = vt_vk_check_tensor(vk, op, "x", x)))
        return rc;
    char sx[64], sy[64];
    if (!vt_tensor_same_shape(x, y))
        return vt_error(vk->base.ctx, VT_E_SHAPE, "%s: x %s and y %s differ", op, vt_tensor_shape_str(x, sx, sizeof sx),
                        vt_tensor_shape_str(y, sy, sizeof sy));
    return VT_OK;
}

int vt_vk_activation(vt_backend *be, vt_tensor *y, const vt_tensor *x, vt_act act) {
    vt_vk *vk = vt_vk_of(be);
    int rc = check_same(vk, "activation", y, x);
    if (rc || (rc = check_act(vk, "activation", act))) return rc;
    if (numel(x) == 0) return VT_OK;
    ew_push p = {.n = (uint32_t)numel(x), .op = EW_ACT, .act = (uint32_t)act};
    return ew_run(vk, "activation", p, y, x, NULL, NULL);
}

int vt_vk_binary(vt_backend *be, vt_tensor *y, const vt_tensor *a, const vt_tensor *b, vt_binop op) {
    vt_vk *vk = vt_vk_of(be);
    int rc = check_same(vk, "binary", y, a);
    if (rc || (rc = vt_vk_check_tensor(vk, "binary", "b", b))) return rc;
    if (op != VT_BIN_ADD && op != VT_BIN_MUL) return vt_error(be->ctx, VT_E_INVALID, "binary: unknown op %d", (int)op);
    int ok = b->ndim <= a->ndim;
    for (int i = 0; ok && i < b->ndim; i++) ok = b->shape[b->ndim - 1 - i] == a->shape[a->ndim - 1 - i];
    char sa[64], sb[64];
    if (!ok)
        return vt_error(be->ctx, VT_E_SHAPE, "binary: b %s is not a suffix of a %s", vt_tensor_shape_str(b, sb, sizeof sb),
                        vt_tensor_shape_str(a, sa, sizeof sa));
    if (numel(b) == 0 || numel(a) == 0) return VT_OK;
    ew_push p = {.n = (uint32_t)numel(a), .op = op == VT_BIN_ADD ? EW_ADD : EW_MUL, .nb = (uint32_t)numel(b)};
    return ew_run(vk, "binary", p, y, a, b, NULL);
}

int vt_vk_scale(vt_backend *be, vt_tensor *y, const vt_tensor *x, float s) {
    vt_vk *vk = vt_vk_of(be);
    int rc = check_same(vk, "scale", y, x);
    if (rc) return rc;
    if (numel(x) == 0) return VT_OK;
    ew_push p = {.n = (uint32_t)numel(x), .op = EW_SCALE, .s = s};
    return ew_run(vk, "scale", p, y, x, NULL, NULL);
}

/* x, y (B, N, D) with per-batch (B, D) vectors. */
static int check_bnd(vt_vk *vk, const char *op, const vt_tensor *y, const vt_tensor *x, const vt_tensor *v1,
                     const char *n1, const vt_tensor *v2, const char *n2) {
    int rc = check_rows(vk, op, y, x);
    if (rc) return rc;
    char sx[64];
    if (x->ndim != 3)
        return vt_error(vk->base.ctx, VT_E_SHAPE, "%s: x must be (B, N, D), got %s", op,
                        vt_tensor_shape_str(x, sx, sizeof sx));
    int64_t n = x->shape[0] * x->shape[2];
    if ((rc = check_vec(vk, op, n1, v1, n))) return rc;
    if (v2 && (rc = check_vec(vk, op, n2, v2, n))) return rc;
    return VT_OK;
}

int vt_vk_modulate(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *shift, const vt_tensor *scale) {
    vt_vk *vk = vt_vk_of(be);
    int rc = check_bnd(vk, "modulate", y, x, shift, "shift", scale, "scale");
    if (rc) return rc;
    if (numel(x) == 0) return VT_OK;
    ew_push p = {.n = (uint32_t)numel(x), .op = EW_MODULATE, .D = (uint32_t)x->shape[2], .rows_per_b = (uint32_t)x->shape[1]};
    return ew_run(vk, "modulate", p, y, x, shift, scale);
}

int vt_vk_gated_add(vt_backend *be, vt_tensor *x, const vt_tensor *y, const vt_tensor *gate) {
    vt_vk *vk = vt_vk_of(be);
    int rc = check_bnd(vk, "gated_add", x, y, gate, "gate", NULL, NULL);
    if (rc) return rc;
    if (numel(x) == 0) return VT_OK;
    /* the shader's y is the accumulator (x here), its a the added branch */
    ew_push p = {.n = (uint32_t)numel(x), .op = EW_GATED_ADD, .D = (uint32_t)x->shape[2], .rows_per_b = (uint32_t)x->shape[1]};
    return ew_run(vk, "gated_add", p, x, y, gate, NULL);
}

/* ---- layout: patchify, unpatchify, upsample ---- */

typedef struct patch_push {
    uint32_t total, C, T, H, W, p, pt, order, to_tokens, x_off, t_off;
} patch_push;

static int run_patch(vt_vk *vk, const char *op, const vt_tensor *tokens, const vt_tensor *x, int p, int pt,
                     vt_patch_order order, int to_tokens) {
    vt_context *ctx = vk->base.ctx;
    int rc;
    if ((rc = vt_vk_health(vk, op)) || (rc = vt_vk_check_tensor(vk, op, "tokens", tokens)) ||
        (rc = vt_vk_check_tensor(vk, op, "x", x)))
        return rc;
    if (p < 1 || pt < 1) return vt_error(ctx, VT_E_INVALID, "%s: patch sizes must be >= 1 (p %d, pt %d)", op, p, pt);
    if (order != VT_PATCH_CPQ && order != VT_PATCH_PQC)
        return vt_error(ctx, VT_E_INVALID, "%s: unknown patch order %d", op, (int)order);
    int64_t T, H, W;
    if (x->ndim == 4) {
        T = 1;
        H = x->shape[2];
        W = x->shape[3];
        if (pt != 1) return vt_error(ctx, VT_E_INVALID, "%s: an image has no time axis to patch by %d", op, pt);
    } else if (x->ndim == 5) {
        T = x->shape[2];
        H = x->shape[3];
        W = x->shape[4];
    } else {
        return vt_error(ctx, VT_E_SHAPE, "%s: x must be (B, C, H, W) or (B, C, T, H, W)", op);
    }
    const int64_t B = x->shape[0], C = x->shape[1];
    if (H % p || W % p || T % pt)
        return vt_error(ctx, VT_E_SHAPE, "%s: size %lldx%lldx%lld is not a multiple of the patch %dx%dx%d", op, (long long)T,
                        (long long)H, (long long)W, pt, p, p);
    const int64_t ntok = (T / pt) * (H / p) * (W / p), F = C * pt * p * p;
    char st[64];
    if (tokens->ndim != 3 || tokens->shape[0] != B || tokens->shape[1] != ntok || tokens->shape[2] != F)
        return vt_error(ctx, VT_E_SHAPE, "%s: tokens %s should be (%lld, %lld, %lld)", op,
                        vt_tensor_shape_str(tokens, st, sizeof st), (long long)B, (long long)ntok, (long long)F);
    if (numel(x) == 0) return VT_OK;
    if (vt_vk_overlap(tokens, numel(tokens), x, numel(x)))
        return vt_error(ctx, VT_E_INVALID, "%s: tokens and x must not share memory", op);
    vt_vk_binding bd[2];
    patch_push q = {.total = (uint32_t)numel(x),
                    .C = (uint32_t)C,
                    .T = (uint32_t)T,
                    .H = (uint32_t)H,
                    .W = (uint32_t)W,
                    .p = (uint32_t)p,
                    .pt = (uint32_t)pt,
                    .order = (uint32_t)order,
                    .to_tokens = (uint32_t)to_tokens};
    if ((rc = vt_vk_bind(vk, op, "x", x, 0, numel(x), &bd[0], &q.x_off)) ||
        (rc = vt_vk_bind(vk, op, "tokens", tokens, 0, numel(tokens), &bd[1], &q.t_off)))
        return rc;
    return vt_vk_dispatch(vk, VT_VK_SH_PATCH, NULL, bd, &q, sizeof q, stride_groups(q.total), 1, 1);
}

int vt_vk_patchify(vt_backend *be, vt_tensor *tokens, const vt_tensor *x, int p, int pt, vt_patch_order order) {
    return run_patch(vt_vk_of(be), "patchify", tokens, x, p, pt, order, 1);
}

int vt_vk_unpatchify(vt_backend *be, vt_tensor *x, const vt_tensor *tokens, int p, int pt, vt_patch_order order) {
    return run_patch(vt_vk_of(be), "unpatchify", tokens, x, p, pt, order, 0);
}

typedef struct up_push {
    uint32_t total, H, W, f, x_off, y_off;
} up_push;

int vt_vk_upsample_nearest(vt_backend *be, vt_tensor *y, const vt_tensor *x, int f) {
    vt_vk *vk = vt_vk_of(be);
    int rc;
    if ((rc = vt_vk_health(vk, "upsample")) || (rc = vt_vk_check_tensor(vk, "upsample", "y", y)) ||
        (rc = vt_vk_check_tensor(vk, "upsample", "x", x)))
        return rc;
    if (f < 1) return vt_error(be->ctx, VT_E_INVALID, "upsample: factor %d < 1", f);
    char sx[64], sy[64];
    if (x->ndim != 4 || y->ndim != 4 || y->shape[0] != x->shape[0] || y->shape[1] != x->shape[1] ||
        y->shape[2] != x->shape[2] * f || y->shape[3] != x->shape[3] * f)
        return vt_error(be->ctx, VT_E_SHAPE, "upsample: y %s is not x %s (B, C, H, W) times %d",
                        vt_tensor_shape_str(y, sy, sizeof sy), vt_tensor_shape_str(x, sx, sizeof sx), f);
    if (numel(y) == 0) return VT_OK;
    if (f > 1 && vt_vk_overlap(y, numel(y), x, numel(x)))
        return vt_error(be->ctx, VT_E_INVALID, "upsample: y must not alias x");
    vt_vk_binding bd[2];
    up_push p = {.total = (uint32_t)numel(y), .H = (uint32_t)x->shape[2], .W = (uint32_t)x->shape[3], .f = (uint32_t)f};
    if ((rc = vt_vk_bind(vk, "upsample", "x", x, 0, numel(x), &bd[0], &p.x_off)) ||
        (rc = vt_vk_bind(vk, "upsample", "y", y, 0, numel(y), &bd[1], &p.y_off)))
        return rc;
    return vt_vk_dispatch(vk, VT_VK_SH_UPSAMPLE, NULL, bd, &p, sizeof p, stride_groups(p.total), 1, 1);
}
