/* Elementwise ops on the CPU: activations, add/mul with suffix broadcasting,
 * scaling; split in contiguous chunks over the thread pool. */
#include "cpu_ops.h"

typedef struct ew_job {
    float *y;
    const float *a, *b;
    int64_t nb;     /* elements of b; a's index modulo nb gives b's */
    vt_act act;
    vt_binop op;
    float s;
} ew_job;

static int check_same(vt_backend *be, const char *op, const vt_tensor *y, const vt_tensor *x) {
    int rc;
    if ((rc = vt_cpu_check_f32(be, op, "y", y)) || (rc = vt_cpu_check_f32(be, op, "x", x))) return rc;
    char sx[64], sy[64];
    if (!vt_tensor_same_shape(x, y))
        return vt_error(be->ctx, VT_E_SHAPE, "%s: x %s and y %s differ", op, vt_tensor_shape_str(x, sx, sizeof sx),
                        vt_tensor_shape_str(y, sy, sizeof sy));
    return VT_OK;
}

static void act_chunk(void *arg, int64_t b, int64_t e, int tid) {
    (void)tid;
    const ew_job *j = arg;
    if (j->y != j->a)
        for (int64_t i = b; i < e; i++) j->y[i] = j->a[i];
    vt_cpu_act_inplace(j->y + b, (size_t)(e - b), j->act);
}

int vt_cpu_activation(vt_backend *be, vt_tensor *y, const vt_tensor *x, vt_act act) {
    int rc = check_same(be, "activation", y, x);
    if (rc || (rc = vt_cpu_check_act(be, "activation", act))) return rc;
    ew_job j = {.y = y->data, .a = x->data, .act = act};
    vt_pool_for(vt_context_pool(be->ctx), vt_tensor_numel(x), 4096, act_chunk, &j);
    return VT_OK;
}

static void bin_chunk(void *arg, int64_t b, int64_t e, int tid) {
    (void)tid;
    const ew_job *j = arg;
    /* runs of consecutive b indices, so the inner loops vectorise */
    for (int64_t i = b; i < e;) {
        int64_t k = i % j->nb, len = j->nb - k < e - i ? j->nb - k : e - i;
        float *y = j->y + i;
        const float *a = j->a + i, *bb = j->b + k;
        if (j->op == VT_BIN_ADD)
            for (int64_t t = 0; t < len; t++) y[t] = a[t] + bb[t];
        else
            for (int64_t t = 0; t < len; t++) y[t] = a[t] * bb[t];
        i += len;
    }
}

int vt_cpu_binary(vt_backend *be, vt_tensor *y, const vt_tensor *a, const vt_tensor *b, vt_binop op) {
    int rc = check_same(be, "binary", y, a);
    if (rc || (rc = vt_cpu_check_f32(be, "binary", "b", b))) return rc;
    if (op != VT_BIN_ADD && op != VT_BIN_MUL) return vt_error(be->ctx, VT_E_INVALID, "binary: unknown op %d", (int)op);
    /* b's shape must be a suffix of a's: it repeats over a's leading dims. */
    int ok = b->ndim <= a->ndim;
    for (int i = 0; ok && i < b->ndim; i++) ok = b->shape[b->ndim - 1 - i] == a->shape[a->ndim - 1 - i];
    char sa[64], sb[64];
    if (!ok)
        return vt_error(be->ctx, VT_E_SHAPE, "binary: b %s is not a suffix of a %s", vt_tensor_shape_str(b, sb, sizeof sb),
                        vt_tensor_shape_str(a, sa, sizeof sa));
    ew_job j = {.y = y->data, .a = a->data, .b = b->data, .nb = vt_tensor_numel(b), .op = op};
    if (j.nb == 0) return VT_OK;
    vt_pool_for(vt_context_pool(be->ctx), vt_tensor_numel(a), 4096, bin_chunk, &j);
    return VT_OK;
}

static void scale_chunk(void *arg, int64_t b, int64_t e, int tid) {
    (void)tid;
    const ew_job *j = arg;
    for (int64_t i = b; i < e; i++) j->y[i] = j->a[i] * j->s;
}

int vt_cpu_scale(vt_backend *be, vt_tensor *y, const vt_tensor *x, float s) {
    int rc = check_same(be, "scale", y, x);
    if (rc) return rc;
    ew_job j = {.y = y->data, .a = x->data, .s = s};
    vt_pool_for(vt_context_pool(be->ctx), vt_tensor_numel(x), 4096, scale_chunk, &j);
    return VT_OK;
}
