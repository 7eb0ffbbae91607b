/* Matrix products on the CPU: the Linear op (x·Wᵀ + b, fused activation) and
 * batched matmul, each one cblas_sgemm call per matrix. */
#include <string.h>

#include <cblas.h>

#include "cpu_ops.h"

typedef struct linear_job {
    float *y;
    const float *x, *w, *bias;
    int64_t M, N, K;
    vt_act act;
    int by_cols;  /* the range is over output columns rather than rows */
} linear_job;

/* One thread's share of y = act(x·wᵀ + b): rows [r0, r1) or columns [r0, r1).
 * OpenBLAS runs single-threaded inside (the backend's threads are the only ones),
 * so the two thread pools never fight over the cores. */
static void linear_rows(void *arg, int64_t r0, int64_t r1, int tid) {
    (void)tid;
    const linear_job *j = arg;
    const int64_t N = j->N, K = j->K;
    int64_t m0 = j->by_cols ? 0 : r0, m1 = j->by_cols ? j->M : r1;
    int64_t n0 = j->by_cols ? r0 : 0, n1 = j->by_cols ? r1 : N;
    float *Y = j->y + m0 * N + n0;
    float beta = 0.0f;
    if (j->bias) {
        /* OpenBLAS makes a pass over C for β = 0 anyway (it zeroes it), so writing
         * the bias there and using β = 1 gives the bias for free. */
        for (int64_t i = m0; i < m1; i++) memcpy(Y + (i - m0) * N, j->bias + n0, (size_t)(n1 - n0) * sizeof(float));
        beta = 1.0f;
    }
    if (K == 0) {
        if (!j->bias)
            for (int64_t i = m0; i < m1; i++) memset(Y + (i - m0) * N, 0, (size_t)(n1 - n0) * sizeof(float));
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(m1 - m0), (int)(n1 - n0), (int)K, 1.0f, j->x + m0 * K,
                    (int)K, j->w + n0 * K, (int)K, beta, Y, (int)N);
    }
    if (j->act != VT_ACT_NONE)
        for (int64_t i = m0; i < m1; i++) vt_cpu_act_inplace(Y + (i - m0) * N, (size_t)(n1 - n0), j->act);
}

/* The epilogue alone, over rows [r0, r1), after a GEMM that ran without it. */
static void act_rows(void *arg, int64_t r0, int64_t r1, int tid) {
    (void)tid;
    const linear_job *j = arg;
    vt_cpu_act_inplace(j->y + r0 * j->N, (size_t)((r1 - r0) * j->N), j->act);
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
    linear_job j = {y->data, x->data, w->data, bias ? bias->data : NULL, M, N, K, act, 0};
    vt_pool *pool = vt_context_pool(be->ctx);
    int nt = vt_pool_threads(pool);
    /* A GEMM with rows enough for every core runs as one OpenBLAS call on
     * OpenBLAS's own threads: measured, splitting it over the pool lost up to half
     * the throughput at DiT shapes (OpenBLAS serialises concurrent mid-size calls).
     * The adaLN projections of a single conditioning vector instead split their
     * output columns over the pool: one memory-bound GEMV becomes nt smaller ones. */
    if (M >= 32 * nt || nt == 1) {
        vt_act act = j.act;
        j.act = VT_ACT_NONE;
        if (nt > 1) openblas_set_num_threads(nt);
        linear_rows(&j, 0, M, 0);
        if (nt > 1) openblas_set_num_threads(1);
        /* The epilogue runs on this thread alone: right after the call OpenBLAS's
         * threads still spin on the other cores, and pool workers would only fight
         * them for time slices (measured: 2-3x slower than one thread). */
        if (act != VT_ACT_NONE) {
            j.act = act;
            act_rows(&j, 0, M, 0);
        }
    } else {
        j.by_cols = 1;
        vt_pool_for(pool, N, 16, linear_rows, &j);
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
