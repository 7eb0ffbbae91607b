/* Matrix products on the CPU: the Linear op (x·Wᵀ + b, fused activation) and
 * batched matmul, each one cblas_sgemm call per matrix. */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "cpu_ops.h"

void vt_cpu_act_inplace(float *v, size_t n, vt_act act) {
    switch (act) {
    case VT_ACT_NONE: break;
    case VT_ACT_GELU_TANH:
        for (size_t i = 0; i < n; i++) {
            float x = v[i];
            /* 0.7978845608 = sqrt(2/pi) (Hendrycks & Gimpel's tanh approximation) */
            v[i] = 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
        }
        break;
    case VT_ACT_GELU_ERF:
        for (size_t i = 0; i < n; i++) v[i] = 0.5f * v[i] * (1.0f + erff(v[i] * 0.7071067811865476f));
        break;
    case VT_ACT_SILU:
        for (size_t i = 0; i < n; i++) v[i] = v[i] / (1.0f + expf(-v[i]));
        break;
    }
}

typedef struct act_job {
    float *y;
    int64_t n_cols;
    vt_act act;
} act_job;

static void act_rows(void *arg, int64_t b, int64_t e, int tid) {
    (void)tid;
    act_job *j = arg;
    vt_cpu_act_inplace(j->y + b * j->n_cols, (size_t)((e - b) * j->n_cols), j->act);
}

int vt_cpu_linear(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *bias, vt_act act) {
    int rc;
    if ((rc = vt_cpu_check_f32(be, "linear", "y", y)) || (rc = vt_cpu_check_f32(be, "linear", "x", x)) ||
        (rc = vt_cpu_check_f32(be, "linear", "w", w)) || (bias && (rc = vt_cpu_check_f32(be, "linear", "bias", bias))))
        return rc;
    char sx[64], sw[64], sy[64];
    if (w->ndim != 2 || x->ndim < 1 || y->ndim < 1)
        return vt_error(be->ctx, VT_E_SHAPE, "linear: w must be (N, K), got %s", vt_tensor_shape_str(w, sw, sizeof sw));
    const int64_t N = w->shape[0], K = w->shape[1];
    if (x->shape[x->ndim - 1] != K)
        return vt_error(be->ctx, VT_E_SHAPE, "linear: x %s and w %s disagree on K", vt_tensor_shape_str(x, sx, sizeof sx),
                        vt_tensor_shape_str(w, sw, sizeof sw));
    const int64_t M = vt_tensor_numel(x) / K;
    if (y->shape[y->ndim - 1] != N || vt_tensor_numel(y) != M * N)
        return vt_error(be->ctx, VT_E_SHAPE, "linear: y %s should be (%lld, %lld) for x %s and w %s",
                        vt_tensor_shape_str(y, sy, sizeof sy), (long long)M, (long long)N,
                        vt_tensor_shape_str(x, sx, sizeof sx), vt_tensor_shape_str(w, sw, sizeof sw));
    if (bias && vt_tensor_numel(bias) != N)
        return vt_error(be->ctx, VT_E_SHAPE, "linear: bias has %lld elements, w has %lld outputs",
                        (long long)vt_tensor_numel(bias), (long long)N);
    if (M == 0 || N == 0) return VT_OK;
    float *Y = y->data;
    float beta = 0.0f;
    if (bias) {
        /* OpenBLAS makes a pass over C for β = 0 anyway (it zeroes it), so writing
         * the bias there and using β = 1 gives the bias for free. */
        const float *b = bias->data;
        for (int64_t i = 0; i < M; i++) memcpy(Y + i * N, b, (size_t)N * sizeof(float));
        beta = 1.0f;
    }
    if (K == 0) {
        if (!bias) memset(Y, 0, (size_t)(M * N) * sizeof(float));
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, 1.0f, x->data, (int)K, w->data,
                    (int)K, beta, Y, (int)N);
    }
    if (act != VT_ACT_NONE) {
        act_job j = {Y, N, act};
        vt_pool_for(vt_context_pool(be->ctx), M, 16, act_rows, &j);
    }
    return VT_OK;
}

int vt_cpu_matmul_batched(vt_backend *be, vt_tensor *c, const vt_tensor *a, int trans_a, const vt_tensor *b, int trans_b,
                          float alpha) {
    int rc;
    if ((rc = vt_cpu_check_f32(be, "matmul", "c", c)) || (rc = vt_cpu_check_f32(be, "matmul", "a", a)) ||
        (rc = vt_cpu_check_f32(be, "matmul", "b", b)))
        return rc;
    if (a->ndim != 3 || b->ndim != 3 || c->ndim != 3)
        return vt_error(be->ctx, VT_E_SHAPE, "matmul: a, b and c must be 3-d (batch, rows, cols)");
    const int64_t batch = a->shape[0];
    const int64_t M = trans_a ? a->shape[2] : a->shape[1], K = trans_a ? a->shape[1] : a->shape[2];
    const int64_t Kb = trans_b ? b->shape[2] : b->shape[1], N = trans_b ? b->shape[1] : b->shape[2];
    char sa[64], sb[64], sc[64];
    if (b->shape[0] != batch || c->shape[0] != batch || K != Kb || c->shape[1] != M || c->shape[2] != N)
        return vt_error(be->ctx, VT_E_SHAPE, "matmul: a %s%s, b %s%s and c %s do not fit", vt_tensor_shape_str(a, sa, sizeof sa),
                        trans_a ? "ᵀ" : "", vt_tensor_shape_str(b, sb, sizeof sb), trans_b ? "ᵀ" : "",
                        vt_tensor_shape_str(c, sc, sizeof sc));
    const float *A = a->data, *B = b->data;
    float *C = c->data;
    for (int64_t i = 0; i < batch; i++) {
        if (K == 0) {
            memset(C + i * M * N, 0, (size_t)(M * N) * sizeof(float));
            continue;
        }
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)M,
                    (int)N, (int)K, alpha, A + i * M * K, (int)a->shape[2], B + i * K * N, (int)b->shape[2], 0.0f,
                    C + i * M * N, (int)N);
    }
    return VT_OK;
}
