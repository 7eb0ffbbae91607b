/* Backend-independent helpers of the backend interface. */
#include "backend.h"
#include "context.h"

void vt_backend_destroy(vt_backend **be) {
    if (!be || !*be) return;
    (*be)->iface->destroy(*be);
    *be = NULL;
}

int vt_backend_check_linear(vt_context *ctx, const vt_tensor *y, const vt_tensor *x, const vt_tensor *w,
                            const vt_tensor *bias, int64_t *Mo, int64_t *No, int64_t *Ko) {
    char sx[64], sw[64], sy[64];
    if (w->ndim != 2 || x->ndim < 1 || y->ndim < 1)
        return vt_error(ctx, VT_E_SHAPE, "linear: w must be (N, K) and x, y at least 1-d; got w %s",
                        vt_tensor_shape_str(w, sw, sizeof sw));
    const int64_t N = w->shape[0], K = w->shape[1];
    if (x->shape[x->ndim - 1] != K)
        return vt_error(ctx, VT_E_SHAPE, "linear: x %s and w %s disagree on K", vt_tensor_shape_str(x, sx, sizeof sx),
                        vt_tensor_shape_str(w, sw, sizeof sw));
    const int64_t M = K ? vt_tensor_numel(x) / K : vt_tensor_numel(y) / (N ? N : 1);
    if (y->shape[y->ndim - 1] != N || vt_tensor_numel(y) != M * N)
        return vt_error(ctx, VT_E_SHAPE, "linear: y %s should be (%lld, %lld) for x %s and w %s",
                        vt_tensor_shape_str(y, sy, sizeof sy), (long long)M, (long long)N,
                        vt_tensor_shape_str(x, sx, sizeof sx), vt_tensor_shape_str(w, sw, sizeof sw));
    if (bias && vt_tensor_numel(bias) != N)
        return vt_error(ctx, VT_E_SHAPE, "linear: bias has %lld elements, w %s has %lld outputs",
                        (long long)vt_tensor_numel(bias), vt_tensor_shape_str(w, sw, sizeof sw), (long long)N);
    *Mo = M;
    *No = N;
    *Ko = K;
    return VT_OK;
}

int vt_backend_check_matmul(vt_context *ctx, const vt_tensor *c, const vt_tensor *a, int trans_a, const vt_tensor *b,
                            int trans_b, int64_t *batch, int64_t *Mo, int64_t *No, int64_t *Ko) {
    char sa[64], sb[64], sc[64];
    if (a->ndim != 3 || b->ndim != 3 || c->ndim != 3)
        return vt_error(ctx, VT_E_SHAPE, "matmul: a %s, b %s and c %s must be 3-d (batch, rows, cols)",
                        vt_tensor_shape_str(a, sa, sizeof sa), vt_tensor_shape_str(b, sb, sizeof sb),
                        vt_tensor_shape_str(c, sc, sizeof sc));
    const int64_t B = a->shape[0];
    const int64_t M = trans_a ? a->shape[2] : a->shape[1], K = trans_a ? a->shape[1] : a->shape[2];
    const int64_t Kb = trans_b ? b->shape[2] : b->shape[1], N = trans_b ? b->shape[1] : b->shape[2];
    if (b->shape[0] != B || c->shape[0] != B || K != Kb || c->shape[1] != M || c->shape[2] != N)
        return vt_error(ctx, VT_E_SHAPE, "matmul: a %s%s, b %s%s and c %s do not fit", vt_tensor_shape_str(a, sa, sizeof sa),
                        trans_a ? "ᵀ" : "", vt_tensor_shape_str(b, sb, sizeof sb), trans_b ? "ᵀ" : "",
                        vt_tensor_shape_str(c, sc, sizeof sc));
    *batch = B;
    *Mo = M;
    *No = N;
    *Ko = K;
    return VT_OK;
}

int vt_backend_check_conv2d(vt_context *ctx, const vt_tensor *y, const vt_tensor *x, const vt_tensor *w,
                            const vt_tensor *bias, int stride, int pad) {
    if (stride < 1 || pad < 0) return vt_error(ctx, VT_E_INVALID, "conv2d: stride %d / pad %d invalid", stride, pad);
    char sx[64], sw[64], sy[64];
    if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4)
        return vt_error(ctx, VT_E_SHAPE, "conv2d: x %s (B, Ci, H, W), w %s (Co, Ci, kh, kw) and y %s must be 4-d",
                        vt_tensor_shape_str(x, sx, sizeof sx), vt_tensor_shape_str(w, sw, sizeof sw),
                        vt_tensor_shape_str(y, sy, sizeof sy));
    const int64_t B = x->shape[0], Ci = x->shape[1], H = x->shape[2], W = x->shape[3];
    const int64_t Co = w->shape[0], kh = w->shape[2], kw = w->shape[3];
    if (kh < 1 || kw < 1 || w->shape[1] != Ci || H + 2 * pad < kh || W + 2 * pad < kw)
        return vt_error(ctx, VT_E_SHAPE, "conv2d: w %s does not fit x %s with padding %d",
                        vt_tensor_shape_str(w, sw, sizeof sw), vt_tensor_shape_str(x, sx, sizeof sx), pad);
    const int64_t Ho = (H + 2 * pad - kh) / stride + 1, Wo = (W + 2 * pad - kw) / stride + 1;
    if (y->shape[0] != B || y->shape[1] != Co || y->shape[2] != Ho || y->shape[3] != Wo)
        return vt_error(ctx, VT_E_SHAPE, "conv2d: y %s should be (%lld, %lld, %lld, %lld) for x %s, w %s, stride %d, pad %d",
                        vt_tensor_shape_str(y, sy, sizeof sy), (long long)B, (long long)Co, (long long)Ho, (long long)Wo,
                        vt_tensor_shape_str(x, sx, sizeof sx), vt_tensor_shape_str(w, sw, sizeof sw), stride, pad);
    if (bias && vt_tensor_numel(bias) != Co)
        return vt_error(ctx, VT_E_SHAPE, "conv2d: bias has %lld elements, w %s has %lld outputs",
                        (long long)vt_tensor_numel(bias), vt_tensor_shape_str(w, sw, sizeof sw), (long long)Co);
    return VT_OK;
}
