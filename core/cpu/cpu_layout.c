/* Layout ops on the CPU: patchify/unpatchify between (B, C, [T,] H, W) pixels
 * or latents and (B, N, F) tokens, and nearest upsampling. */
#include <string.h>

#include "cpu_ops.h"

typedef struct patch_geom {
    int64_t B, C, T, H, W;  /* the image/video; T = 1 for images */
    int p, pt;
    int64_t nt, nh, nw, F;  /* token grid and features per token */
} patch_geom;

static int geometry(vt_backend *be, const char *op, const vt_tensor *tokens, const vt_tensor *x, int p, int pt,
                    patch_geom *g) {
    int rc;
    if ((rc = vt_cpu_check_f32(be, op, "tokens", tokens)) || (rc = vt_cpu_check_f32(be, op, "x", x))) return rc;
    if (p < 1 || pt < 1) return vt_error(be->ctx, VT_E_INVALID, "%s: patch sizes must be >= 1 (p %d, pt %d)", op, p, pt);
    if (x->ndim == 4) {
        g->T = 1;
        g->H = x->shape[2];
        g->W = x->shape[3];
        if (pt != 1) return vt_error(be->ctx, VT_E_INVALID, "%s: an image has no time axis to patch by %d", op, pt);
    } else if (x->ndim == 5) {
        g->T = x->shape[2];
        g->H = x->shape[3];
        g->W = x->shape[4];
    } else {
        return vt_error(be->ctx, VT_E_SHAPE, "%s: x must be (B, C, H, W) or (B, C, T, H, W)", op);
    }
    g->B = x->shape[0];
    g->C = x->shape[1];
    g->p = p;
    g->pt = pt;
    if (g->H % p || g->W % p || g->T % pt)
        return vt_error(be->ctx, VT_E_SHAPE, "%s: size %lldx%lldx%lld is not a multiple of the patch %dx%dx%d", op,
                        (long long)g->T, (long long)g->H, (long long)g->W, pt, p, p);
    g->nt = g->T / pt;
    g->nh = g->H / p;
    g->nw = g->W / p;
    g->F = g->C * pt * p * p;
    char st[64];
    if (tokens->ndim != 3 || tokens->shape[0] != g->B || tokens->shape[1] != g->nt * g->nh * g->nw || tokens->shape[2] != g->F)
        return vt_error(be->ctx, VT_E_SHAPE, "%s: tokens %s should be (%lld, %lld, %lld)", op,
                        vt_tensor_shape_str(tokens, st, sizeof st), (long long)g->B, (long long)(g->nt * g->nh * g->nw),
                        (long long)g->F);
    if (tokens->data == x->data && vt_tensor_numel(x) > 0)
        return vt_error(be->ctx, VT_E_INVALID, "%s: tokens and x must not share memory", op);
    return VT_OK;
}

/* Index of feature (c, ti, i, j) within a token, by order. */
static inline int64_t feat(const patch_geom *g, vt_patch_order o, int64_t c, int64_t ti, int64_t i, int64_t j) {
    if (o == VT_PATCH_CPQ) return ((c * g->pt + ti) * g->p + i) * g->p + j;
    return (((ti * g->p + i) * g->p + j) * g->C) + c;
}

typedef struct patch_job {
    patch_geom g;
    vt_patch_order order;
    float *tok;
    float *x;
    int to_tokens;
} patch_job;

/* One job item = one (b, c, t, h) row of pixels: contiguous W reads/writes. */
static void patch_rows(void *arg, int64_t r0, int64_t r1, int tid) {
    (void)tid;
    const patch_job *J = arg;
    const patch_geom *g = &J->g;
    for (int64_t r = r0; r < r1; r++) {
        int64_t h = r % g->H, t = (r / g->H) % g->T, c = (r / (g->H * g->T)) % g->C, b = r / (g->H * g->T * g->C);
        float *row = J->x + r * g->W;
        int64_t tt = t / g->pt, ti = t % g->pt, hh = h / g->p, i = h % g->p;
        for (int64_t w = 0; w < g->W; w++) {
            int64_t ww = w / g->p, j = w % g->p;
            int64_t n = (tt * g->nh + hh) * g->nw + ww;
            float *tk = J->tok + (b * (g->nt * g->nh * g->nw) + n) * g->F + feat(g, J->order, c, ti, i, j);
            if (J->to_tokens) *tk = row[w];
            else row[w] = *tk;
        }
    }
}

static int run_patch(vt_backend *be, const char *op, vt_tensor *tokens, vt_tensor *x, int p, int pt, vt_patch_order order,
                     int to_tokens) {
    patch_job J;
    int rc = geometry(be, op, tokens, x, p, pt, &J.g);
    if (rc) return rc;
    J.order = order;
    J.tok = tokens->data;
    J.x = x->data;
    J.to_tokens = to_tokens;
    vt_pool_for(vt_context_pool(be->ctx), J.g.B * J.g.C * J.g.T * J.g.H, 16, patch_rows, &J);
    return VT_OK;
}

int vt_cpu_patchify(vt_backend *be, vt_tensor *tokens, const vt_tensor *x, int p, int pt, vt_patch_order order) {
    return run_patch(be, "patchify", tokens, (vt_tensor *)x, p, pt, order, 1);
}

int vt_cpu_unpatchify(vt_backend *be, vt_tensor *x, const vt_tensor *tokens, int p, int pt, vt_patch_order order) {
    return run_patch(be, "unpatchify", (vt_tensor *)tokens, x, p, pt, order, 0);
}

typedef struct up_job {
    const float *x;  // (planes, H, W)
    float *y;        // (planes, H·f, W·f)
    int64_t H, W;
    int f;
} up_job;

/* One job item = one output row (plane, h): each is written once, contiguously. */
static void up_rows(void *arg, int64_t r0, int64_t r1, int tid) {
    (void)tid;
    const up_job *J = arg;
    const int64_t Hf = J->H * J->f, Wf = J->W * J->f;
    for (int64_t r = r0; r < r1; r++) {
        int64_t pl = r / Hf, h = r % Hf;
        const float *src = J->x + (pl * J->H + h / J->f) * J->W;
        float *dst = J->y + r * Wf;
        for (int64_t w = 0; w < J->W; w++)
            for (int k = 0; k < J->f; k++) dst[w * J->f + k] = src[w];
    }
}

int vt_cpu_upsample_nearest(vt_backend *be, vt_tensor *y, const vt_tensor *x, int f) {
    int rc;
    if ((rc = vt_cpu_check_f32(be, "upsample", "y", y)) || (rc = vt_cpu_check_f32(be, "upsample", "x", x))) return rc;
    if (f < 1) return vt_error(be->ctx, VT_E_INVALID, "upsample: factor %d < 1", f);
    char sx[64], sy[64];
    if (x->ndim != 4 || y->ndim != 4 || y->shape[0] != x->shape[0] || y->shape[1] != x->shape[1] ||
        y->shape[2] != x->shape[2] * f || y->shape[3] != x->shape[3] * f)
        return vt_error(be->ctx, VT_E_SHAPE, "upsample: y %s is not x %s (B, C, H, W) times %d",
                        vt_tensor_shape_str(y, sy, sizeof sy), vt_tensor_shape_str(x, sx, sizeof sx), f);
    if (y->data == x->data && f > 1) return vt_error(be->ctx, VT_E_INVALID, "upsample: y must not alias x");
    up_job J = {x->data, y->data, x->shape[2], x->shape[3], f};
    vt_pool_for(vt_context_pool(be->ctx), x->shape[0] * x->shape[1] * x->shape[2] * f, 16, up_rows, &J);
    return VT_OK;
}
