/* conv2d on the CPU: im2col into a (Ci·kh·kw, Ho·Wo) matrix per image, then
 * one sgemm with the (Co, Ci·kh·kw) weight. */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "cpu_ops.h"

int vt_cpu_conv2d(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *bias, int stride,
                  int pad) {
    int rc;
    if ((rc = vt_cpu_check_f32(be, "conv2d", "y", y)) || (rc = vt_cpu_check_f32(be, "conv2d", "x", x)) ||
        (rc = vt_cpu_check_f32(be, "conv2d", "w", w)) || (bias && (rc = vt_cpu_check_f32(be, "conv2d", "bias", bias))))
        return rc;
    if (stride < 1 || pad < 0) return vt_error(be->ctx, VT_E_INVALID, "conv2d: stride %d / pad %d invalid", stride, pad);
    if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4)
        return vt_error(be->ctx, VT_E_SHAPE, "conv2d: x (B, Ci, H, W), w (Co, Ci, kh, kw) and y must be 4-d");
    const int64_t B = x->shape[0], Ci = x->shape[1], H = x->shape[2], W = x->shape[3];
    const int64_t Co = w->shape[0], kh = w->shape[2], kw = w->shape[3];
    const int64_t Ho = (H + 2 * pad - kh) / stride + 1, Wo = (W + 2 * pad - kw) / stride + 1;
    char sx[64], sw[64], sy[64];
    if (w->shape[1] != Ci || H + 2 * pad < kh || W + 2 * pad < kw || y->shape[0] != B || y->shape[1] != Co ||
        y->shape[2] != Ho || y->shape[3] != Wo)
        return vt_error(be->ctx, VT_E_SHAPE, "conv2d: x %s, w %s and y %s do not fit (stride %d, pad %d)",
                        vt_tensor_shape_str(x, sx, sizeof sx), vt_tensor_shape_str(w, sw, sizeof sw),
                        vt_tensor_shape_str(y, sy, sizeof sy), stride, pad);
    if (bias && vt_tensor_numel(bias) != Co) return vt_error(be->ctx, VT_E_SHAPE, "conv2d: bias must have %lld elements", (long long)Co);
    const int64_t Kc = Ci * kh * kw, P = Ho * Wo;
    float *col = malloc((size_t)(Kc * P) * sizeof(float));
    if (!col) return vt_error(be->ctx, VT_E_NOMEM, "conv2d: out of memory for im2col (%lld floats)", (long long)(Kc * P));
    const float *X = x->data, *Wt = w->data;
    float *Y = y->data;
    for (int64_t b = 0; b < B; b++) {
        for (int64_t c = 0; c < Ci; c++)
            for (int64_t i = 0; i < kh; i++)
                for (int64_t j = 0; j < kw; j++) {
                    float *dst = col + ((c * kh + i) * kw + j) * P;
                    for (int64_t oh = 0; oh < Ho; oh++) {
                        int64_t ih = oh * stride - pad + i;
                        for (int64_t ow = 0; ow < Wo; ow++) {
                            int64_t iw = ow * stride - pad + j;
                            dst[oh * Wo + ow] = ih >= 0 && ih < H && iw >= 0 && iw < W ? X[((b * Ci + c) * H + ih) * W + iw] : 0.0f;
                        }
                    }
                }
        float *yb = Y + b * Co * P;
        float beta = 0.0f;
        if (bias) {
            const float *bb = bias->data;
            for (int64_t o = 0; o < Co; o++)
                for (int64_t q = 0; q < P; q++) yb[o * P + q] = bb[o];
            beta = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Co, (int)P, (int)Kc, 1.0f, Wt, (int)Kc, col, (int)P,
                    beta, yb, (int)P);
    }
    free(col);
    return VT_OK;
}
