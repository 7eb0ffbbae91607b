/* conv2d on the CPU: im2col into a (Ci·kh·kw, Ho·Wo) matrix per image, then one
 * threaded sgemm with the (Co, Ci·kh·kw) weight. */
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"

typedef struct im2col_job {
    const float *x;  // (Ci, H, W): one image
    float *col;      // (Ci·kh·kw, Ho·Wo)
    int64_t H, W, kh, kw, Ho, Wo;
    int stride, pad;
} im2col_job;

/* One item = one row of col, i.e. one (c, i, j) tap over every output pixel. */
static void im2col_rows(void *arg, int64_t r0, int64_t r1, int tid) {
    (void)tid;
    const im2col_job *J = arg;
    const int64_t P = J->Ho * J->Wo;
    for (int64_t r = r0; r < r1; r++) {
        int64_t j = r % J->kw, i = (r / J->kw) % J->kh, c = r / (J->kw * J->kh);
        const float *xc = J->x + c * J->H * J->W;
        float *dst = J->col + r * P;
        for (int64_t oh = 0; oh < J->Ho; oh++) {
            int64_t ih = oh * J->stride - J->pad + i;
            float *d = dst + oh * J->Wo;
            if (ih < 0 || ih >= J->H) {
                memset(d, 0, (size_t)J->Wo * sizeof *d);
                continue;
            }
            const float *xr = xc + ih * J->W;
            for (int64_t ow = 0; ow < J->Wo; ow++) {
                int64_t iw = ow * J->stride - J->pad + j;
                d[ow] = iw >= 0 && iw < J->W ? xr[iw] : 0.0f;
            }
        }
    }
}

int vt_cpu_conv2d(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *bias, int stride,
                  int pad) {
    int rc;
    if ((rc = vt_cpu_check_f32(be, "conv2d", "y", y)) || (rc = vt_cpu_check_f32(be, "conv2d", "x", x)) ||
        (rc = vt_cpu_check_f32(be, "conv2d", "w", w)) || (bias && (rc = vt_cpu_check_f32(be, "conv2d", "bias", bias))))
        return rc;
    if ((rc = vt_backend_check_conv2d(be->ctx, y, x, w, bias, stride, pad))) return rc;
    const int64_t B = x->shape[0], Ci = x->shape[1], H = x->shape[2], W = x->shape[3];
    const int64_t Co = w->shape[0], kh = w->shape[2], kw = w->shape[3], Ho = y->shape[2], Wo = y->shape[3];
    const int64_t Kc = Ci * kh * kw, P = Ho * Wo;
    if ((rc = vt_cpu_check_blas_dims(be, "conv2d", Co, P, Kc))) return rc;
    if (B == 0 || Co == 0 || P == 0) return VT_OK;
    if (y->data == x->data) return vt_error(be->ctx, VT_E_INVALID, "conv2d: y must not alias x");

    /* a 1×1 convolution without stride or padding is already a matmul on x */
    const int direct = kh == 1 && kw == 1 && stride == 1 && pad == 0;
    float *col = NULL;
    if (!direct && Kc > 0 && !(col = malloc((size_t)(Kc * P) * sizeof *col)))
        return vt_error(be->ctx, VT_E_NOMEM, "conv2d: no memory for im2col (%lld floats)", (long long)(Kc * P));
    vt_pool *pool = vt_context_pool(be->ctx);
    const int nt = vt_pool_threads(pool);
    const float *X = x->data, *Wt = w->data, *bb = bias ? bias->data : NULL;
    float *Y = y->data;
    for (int64_t b = 0; b < B; b++) {
        const float *xb = X + b * Ci * H * W, *cols = xb;
        if (col) {
            im2col_job J = {xb, col, H, W, kh, kw, Ho, Wo, stride, pad};
            vt_pool_for(pool, Kc, 4, im2col_rows, &J);
            cols = col;
        }
        /* bias rows first, then the sgemm accumulates onto them (β = 1) */
        float *yb = Y + b * Co * P;
        for (int64_t o = 0; o < Co; o++)
            for (int64_t q = 0; q < P; q++) yb[o * P + q] = bb ? bb[o] : 0.0f;
        if (Kc > 0) vt_cpu_sgemm(nt, 0, 0, Co, P, Kc, 1.0f, Wt, Kc, cols, P, 1.0f, yb, P);
    }
    free(col);
    return VT_OK;
}
