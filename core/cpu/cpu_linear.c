/* Matrix products on the CPU: the Linear op (x·Wᵀ + b with a fused activation)
 * and batched matmul, both on OpenBLAS sgemm. */
#include <limits.h>
#include <string.h>

#include <cblas.h>

#include "cpu_ops.h"

void vt_cpu_sgemm(int threads, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                  int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (threads > 1) openblas_set_num_threads(threads);
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N,
                (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
    if (threads > 1) openblas_set_num_threads(1);
}

int vt_cpu_check_blas_dims(vt_backend *be, const char *op, int64_t M, int64_t N, int64_t K) {
    if (M > INT_MAX || N > INT_MAX || K > INT_MAX)
        return vt_error(be->ctx, VT_E_UNSUPPORTED, "%s: extents %lld x %lld x %lld exceed the 32-bit int of CBLAS", op,
                        (long long)M, (long long)N, (long long)K);
    return VT_OK;
}

typedef struct linear_job {
    float *y;                  // (M, N)
    const float *x, *w, *bias; // (M, K), (N, K), (N) or NULL
    int64_t M, N, K;
    vt_act act;
} linear_job;

/* Bias rows (or zeros) over rows [r0, r1), ahead of an sgemm with β = 1. */
static void prefill_rows(void *arg, int64_t r0, int64_t r1, int tid) {
    (void)tid;
    const linear_job *j = arg;
    const size_t row = (size_t)j->N * sizeof(float);
    for (int64_t i = r0; i < r1; i++) {
        if (j->bias) memcpy(j->y + i * j->N, j->bias, row);
        else memset(j->y + i * j->N, 0, row);
    }
}

/* y = act(y + bias) over rows [r0, r1), a row at a time so the second step
 * finds the row in L1. */
static void bias_act_rows(void *arg, int64_t r0, int64_t r1, int tid) {
    (void)tid;
    const linear_job *j = arg;
    const int64_t N = j->N;
    for (int64_t i = r0; i < r1; i++) {
        float *row = j->y + i * N;
        if (j->bias)
            for (int64_t k = 0; k < N; k++) row[k] += j->bias[k];
        vt_cpu_act_inplace(row, (size_t)N, j->act);
    }
}

/* One pool thread's output columns [n0, n1) of the whole op, on single-threaded
 * OpenBLAS: for few rows (adaLN's per-image conditioning vectors) the product is a
 * memory-bound GEMV, and splitting W's rows over the pool splits its traffic. */
static void linear_cols(void *arg, int64_t n0, int64_t n1, int tid) {
    (void)tid;
    const linear_job *j = arg;
    const int64_t M = j->M, N = j->N, K = j->K;
    float *Y = j->y + n0;
    for (int64_t i = 0; i < M; i++) {
        if (j->bias) memcpy(Y + i * N, j->bias + n0, (size_t)(n1 - n0) * sizeof(float));
        else memset(Y + i * N, 0, (size_t)(n1 - n0) * sizeof(float));
    }
    if (K > 0) vt_cpu_sgemm(1, 0, 1, M, n1 - n0, K, 1.0f, j->x, K, j->w + n0 * K, K, 1.0f, Y, N);
    if (j->act != VT_ACT_NONE)
        for (int64_t i = 0; i < M; i++) vt_cpu_act_inplace(Y + i * N, (size_t)(n1 - n0), j->act);
}

int vt_cpu_linear(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *bias, vt_act act) {
    int rc;
    if ((rc = vt_cpu_check_f32(be, "linear", "y", y)) || (rc = vt_cpu_check_f32(be, "linear", "x", x)) ||
        (rc = vt_cpu_check_f32(be, "linear", "w", w)) || (bias && (rc = vt_cpu_check_f32(be, "linear", "bias", bias))))
        return rc;
    if ((rc = vt_cpu_check_act(be, "linear", act))) return rc;
    int64_t M, N, K;
    if ((rc = vt_backend_check_linear(be->ctx, y, x, w, bias, &M, &N, &K))) return rc;
    if ((rc = vt_cpu_check_blas_dims(be, "linear", M, N, K))) return rc;
    if (M == 0 || N == 0) return VT_OK;
    if (y->data == x->data) return vt_error(be->ctx, VT_E_INVALID, "linear: y must not alias x");

    linear_job j = {y->data, x->data, w->data, bias ? bias->data : NULL, M, N, K, act};
    vt_pool *pool = vt_context_pool(be->ctx);
    const int nt = vt_pool_threads(pool);
    if (M < 32 * nt && nt > 1) {
        vt_pool_for(pool, N, 16, linear_cols, &j);
        return VT_OK;
    }
    /* Rows enough for every core: one sgemm on OpenBLAS's own threads. Measured
     * on 2 cores, splitting the rows over the pool instead (one single-threaded
     * sgemm per worker) reached 0.4-0.9x of that at most DiT shapes. */
    if (act != VT_ACT_NONE && K > 0) {
        /* With an activation the bias joins the epilogue: one threaded pass adds
         * it and applies act row by row while the row is in L1. OpenBLAS's
         * workers keep polling for a while after the sgemm and slow the pool's
         * workers down, yet measured on 2 cores the pool pass still matched or
         * beat (by up to 15%) the same pass on this thread alone, and on many
         * cores one thread alone would cost about as much as the sgemm. */
        vt_cpu_sgemm(nt, 0, 1, M, N, K, 1.0f, j.x, K, j.w, K, 0.0f, j.y, N);
        vt_pool_for(pool, M, 8, bias_act_rows, &j);
        return VT_OK;
    }
    /* The bias goes into y and the sgemm accumulates onto it (β = 1): for β = 0
     * OpenBLAS makes a pass over y anyway, to zero it, so the bias is free. A
     * small y is filled by this thread alone: pool workers poll for ~0.1 ms after
     * a job and would take that time from OpenBLAS's threads during the sgemm
     * (measured: -5% at 256 x 256 on 2 cores). A large one (beyond L2) is
     * filled by the pool, as OpenBLAS threads its own β pass; at one core's
     * memory bandwidth it would cost, by estimate, a tenth of the sgemm on 16
     * cores (measured on 2: +2-5% at 4096 x 256 and 4096 x 384). */
    if (M * N >= (1 << 20)) vt_pool_for(pool, M, 64, prefill_rows, &j);
    else prefill_rows(&j, 0, M, 0);
    if (K > 0) {
        vt_cpu_sgemm(nt, 0, 1, M, N, K, 1.0f, j.x, K, j.w, K, 1.0f, j.y, N);
    } else if (act != VT_ACT_NONE) {
        j.bias = NULL; /* y = act(bias): the bias is in y already */
        vt_pool_for(pool, M, 8, bias_act_rows, &j);
    }
    return VT_OK;
}

int vt_cpu_matmul_batched(vt_backend *be, vt_tensor *c, const vt_tensor *a, int trans_a, const vt_tensor *b, int trans_b,
                          float alpha) {
    int rc;
    if ((rc = vt_cpu_check_f32(be, "matmul", "c", c)) || (rc = vt_cpu_check_f32(be, "matmul", "a", a)) ||
        (rc = vt_cpu_check_f32(be, "matmul", "b", b)))
        return rc;
    int64_t batch, M, N, K;
    if ((rc = vt_backend_check_matmul(be->ctx, c, a, trans_a, b, trans_b, &batch, &M, &N, &K))) return rc;
    if ((rc = vt_cpu_check_blas_dims(be, "matmul", M, N, K))) return rc;
    if (M == 0 || N == 0) return VT_OK;
    const float *A = a->data, *B = b->data;
    float *C = c->data;
    const int nt = vt_pool_threads(vt_context_pool(be->ctx));
    for (int64_t i = 0; i < batch; i++) {
        if (K == 0) {
            memset(C + i * M * N, 0, (size_t)(M * N) * sizeof(float));
            continue;
        }
        /* one threaded sgemm per matrix: the batch count is often below the core
         * count (heads × images), and per matrix OpenBLAS splits better than we could */
        vt_cpu_sgemm(nt, trans_a, trans_b, M, N, K, alpha, A + i * M * K, a->shape[2], B + i * K * N, b->shape[2], 0.0f,
                     C + i * M * N, N);
    }
    return VT_OK;
}
