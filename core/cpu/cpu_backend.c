/* The CPU backend: host buffers and the op table; OpenBLAS for every matrix
 * product, the context's thread pool for the rest. */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "cpu_ops.h"

static void cpu_destroy(vt_backend *be) { free(be); }

static int cpu_buffer_alloc(vt_backend *be, size_t bytes, vt_buffer **out) {
    vt_buffer *b = calloc(1, sizeof *b);
    size_t sz = (bytes + 63) & ~(size_t)63;
    if (b) b->host = aligned_alloc(64, sz ? sz : 64);
    if (!b || !b->host) {
        free(b);
        return vt_error(be->ctx, VT_E_NOMEM, "cpu: cannot allocate %zu bytes", bytes);
    }
    b->backend = be;
    b->size = bytes;
    *out = b;
    return VT_OK;
}

static void cpu_buffer_free(vt_backend *be, vt_buffer *b) {
    (void)be;
    if (!b) return;
    free(b->host);
    free(b);
}

static int cpu_upload(vt_backend *be, vt_buffer *dst, size_t off, const void *src, size_t n) {
    if (off > dst->size || n > dst->size - off) return vt_error(be->ctx, VT_E_INVALID, "cpu: upload out of buffer range");
    memcpy((char *)dst->host + off, src, n);
    return VT_OK;
}

static int cpu_download(vt_backend *be, const vt_buffer *src, size_t off, void *dst, size_t n) {
    if (off > src->size || n > src->size - off) return vt_error(be->ctx, VT_E_INVALID, "cpu: download out of buffer range");
    memcpy(dst, (const char *)src->host + off, n);
    return VT_OK;
}

static const struct vt_backend_iface cpu_iface = {
    .name = "cpu",
    .destroy = cpu_destroy,
    .buffer_alloc = cpu_buffer_alloc,
    .buffer_free = cpu_buffer_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .synchronize = NULL,
    .linear = vt_cpu_linear,
    .matmul_batched = vt_cpu_matmul_batched,
    .layernorm = vt_cpu_layernorm,
    .rmsnorm = vt_cpu_rmsnorm,
    .modulate = vt_cpu_modulate,
    .gated_add = vt_cpu_gated_add,
    .softmax = vt_cpu_softmax,
    .activation = vt_cpu_activation,
    .binary = vt_cpu_binary,
    .scale = vt_cpu_scale,
    .patchify = vt_cpu_patchify,
    .unpatchify = vt_cpu_unpatchify,
    .conv2d = vt_cpu_conv2d,
    .upsample_nearest = vt_cpu_upsample_nearest,
    .attention = vt_cpu_attention,
};

vt_backend *vt_backend_cpu_create(vt_context *ctx) {
    vt_backend *be = calloc(1, sizeof *be);
    if (!be) return NULL;
    /* OpenBLAS rests single-threaded: a linear of few rows calls sgemm from
     * every pool worker at once, which must not start a second pool inside the
     * first. A whole large GEMM raises the count for its one call (vt_cpu_sgemm).
     * The count is process-wide: two contexts running ops at once on different
     * threads share it. */
    openblas_set_num_threads(1);
    be->iface = &cpu_iface;
    be->ctx = ctx;
    return be;
}

int vt_cpu_check_f32(vt_backend *be, const char *op, const char *what, const vt_tensor *t) {
    if (!t) return vt_error(be->ctx, VT_E_INVALID, "%s: %s is NULL", op, what);
    if (t->dtype != VT_DTYPE_F32)
        return vt_error(be->ctx, VT_E_UNSUPPORTED, "%s: %s is %s; the CPU backend computes on F32", op, what,
                        vt_dtype_name(t->dtype));
    if (!t->data && vt_tensor_numel(t) > 0)
        return vt_error(be->ctx, VT_E_INVALID, "%s: %s has no host data", op, what);
    return VT_OK;
}

int vt_cpu_check_act(vt_backend *be, const char *op, vt_act act) {
    if (act != VT_ACT_NONE && act != VT_ACT_GELU_TANH && act != VT_ACT_GELU_ERF && act != VT_ACT_SILU)
        return vt_error(be->ctx, VT_E_INVALID, "%s: unknown activation %d", op, (int)act);
    return VT_OK;
}
