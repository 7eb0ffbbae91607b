/* Row-wise ops on the CPU: LayerNorm, RMSNorm, adaLN modulate, gated residual
 * add and softmax, split over rows on the thread pool. */
#include <math.h>
#include <string.h>

#include "cpu_ops.h"

typedef struct row_job {
    float *y;
    const float *x, *w, *b;  /* w, b optional */
    const float *shift, *scale, *gate; /* (B, D) per-batch vectors */
    int64_t D, rows_per_batch;
    float eps;
} row_job;

static int check_rows(vt_backend *be, const char *op, const vt_tensor *y, const vt_tensor *x) {
    int rc;
    if ((rc = vt_cpu_check_f32(be, op, "y", y)) || (rc = vt_cpu_check_f32(be, op, "x", x))) return rc;
    char sx[64], sy[64];
    if (!vt_tensor_same_shape(x, y) || x->ndim < 1)
        return vt_error(be->ctx, VT_E_SHAPE, "%s: x %s and y %s differ", op, vt_tensor_shape_str(x, sx, sizeof sx),
                        vt_tensor_shape_str(y, sy, sizeof sy));
    return VT_OK;
}

static int check_vec(vt_backend *be, const char *op, const char *what, const vt_tensor *v, int64_t n) {
    int rc = vt_cpu_check_f32(be, op, what, v);
    if (rc) return rc;
    if (vt_tensor_numel(v) != n)
        return vt_error(be->ctx, VT_E_SHAPE, "%s: %s has %lld elements, expected %lld", op, what,
                        (long long)vt_tensor_numel(v), (long long)n);
    return VT_OK;
}

static void ln_rows(void *arg, int64_t r0, int64_t r1, int tid) {
    (void)tid;
    const row_job *j = arg;
    const int64_t D = j->D;
    for (int64_t r = r0; r < r1; r++) {
        const float *x = j->x + r * D;
        float *y = j->y + r * D;
        /* Two passes in double: the mean first, then the centred variance, which
         * does not cancel catastrophically for rows with a large offset. */
        double mean = 0, var = 0;
        for (int64_t i = 0; i < D; i++) mean += x[i];
        mean /= (double)D;
        for (int64_t i = 0; i < D; i++) var += ((double)x[i] - mean) * ((double)x[i] - mean);
        var /= (double)D;
        float rstd = (float)(1.0 / sqrt(var + j->eps));
        for (int64_t i = 0; i < D; i++) {
            /* centred in double too: x − (float)mean would carry the mean's
             * rounding, 3e-5 at an offset of 1000, into every output */
            float v = (float)((double)x[i] - mean) * rstd;
            if (j->w) v *= j->w[i];
            if (j->b) v += j->b[i];
            y[i] = v;
        }
    }
}

int vt_cpu_layernorm(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *b, float eps) {
    int rc = check_rows(be, "layernorm", y, x);
    if (rc) return rc;
    int64_t D = x->shape[x->ndim - 1];
    if ((w && (rc = check_vec(be, "layernorm", "weight", w, D))) || (b && (rc = check_vec(be, "layernorm", "bias", b, D))))
        return rc;
    if (D == 0) return VT_OK;
    row_job j = {.y = y->data, .x = x->data, .w = w ? w->data : NULL, .b = b ? b->data : NULL, .D = D, .eps = eps};
    vt_pool_for(vt_context_pool(be->ctx), vt_tensor_numel(x) / D, 8, ln_rows, &j);
    return VT_OK;
}

static void rms_rows(void *arg, int64_t r0, int64_t r1, int tid) {
    (void)tid;
    const row_job *j = arg;
    const int64_t D = j->D;
    for (int64_t r = r0; r < r1; r++) {
        const float *x = j->x + r * D;
        float *y = j->y + r * D;
        double ss = 0;
        for (int64_t i = 0; i < D; i++) ss += (double)x[i] * x[i];
        float rr = (float)(1.0 / sqrt(ss / (double)D + j->eps));
        for (int64_t i = 0; i < D; i++) y[i] = x[i] * rr * (j->w ? j->w[i] : 1.0f);
    }
}

int vt_cpu_rmsnorm(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, float eps) {
    int rc = check_rows(be, "rmsnorm", y, x);
    if (rc) return rc;
    int64_t D = x->shape[x->ndim - 1];
    if (w && (rc = check_vec(be, "rmsnorm", "weight", w, D))) return rc;
    if (D == 0) return VT_OK;
    row_job j = {.y = y->data, .x = x->data, .w = w ? w->data : NULL, .D = D, .eps = eps};
    vt_pool_for(vt_context_pool(be->ctx), vt_tensor_numel(x) / D, 8, rms_rows, &j);
    return VT_OK;
}

/* x, y (B, N, D) with per-batch (B, D) vectors: checks and the row → batch map. */
static int check_bnd(vt_backend *be, const char *op, const vt_tensor *y, const vt_tensor *x, const vt_tensor *v1,
                     const char *n1, const vt_tensor *v2, const char *n2, int64_t *B, int64_t *rows_per_batch) {
    int rc = check_rows(be, op, y, x);
    if (rc) return rc;
    char sx[64];
    if (x->ndim != 3)
        return vt_error(be->ctx, VT_E_SHAPE, "%s: x must be (B, N, D), got %s", op, vt_tensor_shape_str(x, sx, sizeof sx));
    *B = x->shape[0];
    *rows_per_batch = x->shape[1];
    int64_t n = x->shape[0] * x->shape[2];
    if ((rc = check_vec(be, op, n1, v1, n))) return rc;
    if (v2 && (rc = check_vec(be, op, n2, v2, n))) return rc;
    return VT_OK;
}

static void mod_rows(void *arg, int64_t r0, int64_t r1, int tid) {
    (void)tid;
    const row_job *j = arg;
    const int64_t D = j->D;
    for (int64_t r = r0; r < r1; r++) {
        int64_t b = r / j->rows_per_batch;
        const float *sh = j->shift + b * D, *sc = j->scale + b * D, *x = j->x + r * D;
        float *y = j->y + r * D;
        for (int64_t i = 0; i < D; i++) y[i] = x[i] * (1.0f + sc[i]) + sh[i];
    }
}

int vt_cpu_modulate(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *shift, const vt_tensor *scale) {
    int64_t B = 0, R = 0;
    int rc = check_bnd(be, "modulate", y, x, shift, "shift", scale, "scale", &B, &R);
    if (rc) return rc;
    row_job j = {.y = y->data, .x = x->data, .shift = shift->data, .scale = scale->data, .D = x->shape[2], .rows_per_batch = R};
    if (j.D && R) vt_pool_for(vt_context_pool(be->ctx), B * R, 16, mod_rows, &j);
    return VT_OK;
}

static void gated_rows(void *arg, int64_t r0, int64_t r1, int tid) {
    (void)tid;
    const row_job *j = arg;
    const int64_t D = j->D;
    for (int64_t r = r0; r < r1; r++) {
        const float *g = j->gate + (r / j->rows_per_batch) * D, *v = j->x + r * D;
        float *acc = j->y + r * D;
        for (int64_t i = 0; i < D; i++) acc[i] += g[i] * v[i];
    }
}

int vt_cpu_gated_add(vt_backend *be, vt_tensor *x, const vt_tensor *y, const vt_tensor *gate) {
    int64_t B = 0, R = 0;
    int rc = check_bnd(be, "gated_add", x, y, gate, "gate", NULL, NULL, &B, &R);
    if (rc) return rc;
    /* row_job.y is the accumulator (x), row_job.x the added branch (y). */
    row_job j = {.y = x->data, .x = y->data, .gate = gate->data, .D = x->shape[2], .rows_per_batch = R};
    if (j.D && R) vt_pool_for(vt_context_pool(be->ctx), B * R, 16, gated_rows, &j);
    return VT_OK;
}

static void softmax_rows(void *arg, int64_t r0, int64_t r1, int tid) {
    (void)tid;
    const row_job *j = arg;
    const int64_t D = j->D;
    for (int64_t r = r0; r < r1; r++) {
        const float *x = j->x + r * D;
        float *y = j->y + r * D;
        float m = vt_cpu_max(x, (size_t)D);
        if (m == -INFINITY) {
            /* every entry masked out: zeros rather than 0/0, so a fully masked row
             * contributes nothing downstream instead of spreading NaN */
            memset(y, 0, (size_t)D * sizeof *y);
            continue;
        }
        for (int64_t i = 0; i < D; i++) y[i] = x[i] - m;
        vt_cpu_exp_inplace(y, (size_t)D); /* all ≤ 0 after the shift: no overflow */
        float inv = 1.0f / vt_cpu_sum(y, (size_t)D); /* ≥ 1: the max's own term */
        for (int64_t i = 0; i < D; i++) y[i] *= inv;
    }
}

int vt_cpu_softmax(vt_backend *be, vt_tensor *y, const vt_tensor *x) {
    int rc = check_rows(be, "softmax", y, x);
    if (rc) return rc;
    int64_t D = x->shape[x->ndim - 1];
    if (D == 0) return VT_OK;
    row_job j = {.y = y->data, .x = x->data, .D = D};
    vt_pool_for(vt_context_pool(be->ctx), vt_tensor_numel(x) / D, 8, softmax_rows, &j);
    return VT_OK;
}
