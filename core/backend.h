/* The backend interface (DESIGN §3): buffers and one entry per op, as a struct of
 * function pointers, so the CPU (OpenBLAS) and Vulkan backends are interchangeable.
 * Every op returns 0 or a negative vt_status with the reason in the context; a
 * backend may decline an op it lacks with VT_E_UNSUPPORTED. */
#ifndef VT_CORE_BACKEND_H
#define VT_CORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include "vitrail.h"
#include "tensor.h"

typedef struct vt_backend vt_backend;

typedef struct vt_buffer {
    vt_backend *backend;
    size_t size;     /* bytes */
    void *host;      /* host address when the memory is host-visible, else NULL */
    void *impl;      /* backend-private */
} vt_buffer;

typedef enum vt_act { VT_ACT_NONE = 0, VT_ACT_GELU_TANH, VT_ACT_GELU_ERF, VT_ACT_SILU } vt_act;
typedef enum vt_binop { VT_BIN_ADD = 0, VT_BIN_MUL } vt_binop;

/* Patch token feature order. CPQ = (c, [pt,] p, q): a Conv2d/Conv3d patch embedding's
 * weight flattened (DiT's x_embedder). PQC = ([pt,] p, q, c): DiT's final layer and
 * unpatchify (einsum 'nhwpqc->nchpwq'). */
typedef enum vt_patch_order { VT_PATCH_CPQ = 0, VT_PATCH_PQC = 1 } vt_patch_order;

/* Attention patterns of DESIGN §4 over a (T, H, W) token grid, T outermost. */
typedef enum vt_attn_kind {
    VT_ATTN_FULL = 0,
    VT_ATTN_NEIGHBORHOOD,  /* kernel/dilation per axis, NATTEN border rule */
    VT_ATTN_AXIAL,         /* along `axis` only */
    VT_ATTN_BLOCK,         /* non-overlapping window x window blocks (MaxViT) */
    VT_ATTN_GRID,          /* dilated window x window grid (MaxViT) */
    VT_ATTN_CROSS,         /* keys/values from a separate set, with key_mask */
} vt_attn_kind;

typedef struct vt_attn_desc {
    vt_attn_kind kind;
    int grid[3];      /* (T, H, W) of the query tokens; Nq = T*H*W (self patterns) */
    int kernel[3];    /* NEIGHBORHOOD window per axis (T, H, W); 1 = that axis not attended */
    int dilation[3];  /* NEIGHBORHOOD dilation per axis, >= 1 */
    int causal_t;     /* NEIGHBORHOOD: only keys with t' <= t */
    int axis;         /* AXIAL: 0 = T, 1 = H, 2 = W */
    int window;       /* BLOCK: P; GRID: G */
    float scale;      /* 0 means 1/sqrt(head_dim) */
} vt_attn_desc;

/* q element (b, n, h, i) is at q->data + off_q + (b*Nq + n)*ld_q + h*head_dim + i
 * (in floats), likewise k, v, out; so q, k, v may be views into one fused qkv
 * projection of shape (B, N, 3*heads*head_dim) without copies. */
typedef struct vt_attn_args {
    vt_attn_desc desc;
    int B, Nq, Nk, heads, head_dim;
    const vt_tensor *q, *k, *v;
    size_t off_q, off_k, off_v, ld_q, ld_k, ld_v;   /* floats */
    vt_tensor *out;
    size_t off_o, ld_o;
    const vt_tensor *key_mask;  /* (optional) (B, Nk): nonzero = key present */
} vt_attn_args;

struct vt_backend_iface {
    const char *name;
    void (*destroy)(vt_backend *be);

    int (*buffer_alloc)(vt_backend *be, size_t bytes, vt_buffer **out);
    void (*buffer_free)(vt_backend *be, vt_buffer *buf);
    int (*upload)(vt_backend *be, vt_buffer *dst, size_t off, const void *src, size_t n);
    int (*download)(vt_backend *be, const vt_buffer *src, size_t off, void *dst, size_t n);
    int (*synchronize)(vt_backend *be);   /* (optional) waits for queued work */

    /* y (M, N) = act(x (M, K) · wᵀ + bias (N)), w (N, K) in torch.nn.Linear layout;
     * leading dims of x and y are flattened into M. bias is optional. */
    int (*linear)(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w,
                  const vt_tensor *bias, vt_act act);
    /* c[i] (M, N) = alpha · op(a[i]) · op(b[i]) for i < batch; a is (batch, M, K), or
     * (batch, K, M) when trans_a; b is (batch, K, N), or (batch, N, K) when trans_b. */
    int (*matmul_batched)(vt_backend *be, vt_tensor *c, const vt_tensor *a, int trans_a,
                          const vt_tensor *b, int trans_b, float alpha);
    /* Over the last dim. w and b optional (no affine when NULL). */
    int (*layernorm)(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w,
                     const vt_tensor *b, float eps);
    int (*rmsnorm)(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, float eps);
    /* adaLN: y = x·(1 + scale) + shift; x, y (B, N, D); shift, scale (B, D). */
    int (*modulate)(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *shift,
                    const vt_tensor *scale);
    /* Gated residual: x += gate ⊙ y; x, y (B, N, D); gate (B, D). */
    int (*gated_add)(vt_backend *be, vt_tensor *x, const vt_tensor *y, const vt_tensor *gate);
    /* Row softmax over the last dim, max-subtracted. */
    int (*softmax)(vt_backend *be, vt_tensor *y, const vt_tensor *x);
    /* y = act(x), elementwise. */
    int (*activation)(vt_backend *be, vt_tensor *y, const vt_tensor *x, vt_act act);
    /* y = a op b; b has a's shape or a suffix of it (broadcast over leading dims). */
    int (*binary)(vt_backend *be, vt_tensor *y, const vt_tensor *a, const vt_tensor *b, vt_binop op);
    /* y = x · s */
    int (*scale)(vt_backend *be, vt_tensor *y, const vt_tensor *x, float s);
    /* x (B, C, H, W) -> tokens (B, (H/p)(W/p), C·p·p), or x (B, C, T, H, W) ->
     * (B, (T/pt)(H/p)(W/p), C·pt·p·p); tokens row-major over (t, h, w). */
    int (*patchify)(vt_backend *be, vt_tensor *tokens, const vt_tensor *x, int p, int pt,
                    vt_patch_order order);
    int (*unpatchify)(vt_backend *be, vt_tensor *x, const vt_tensor *tokens, int p, int pt,
                      vt_patch_order order);
    /* y (B, Co, Ho, Wo) = conv(x (B, Ci, H, W), w (Co, Ci, kh, kw)) + bias (Co); zero padding. */
    int (*conv2d)(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w,
                  const vt_tensor *bias, int stride, int pad);
    /* y (B, C, H·f, W·f) = nearest upsampling of x (B, C, H, W). */
    int (*upsample_nearest)(vt_backend *be, vt_tensor *y, const vt_tensor *x, int factor);
    /* (optional until the attention issue) softmax(q·kᵀ·scale)·v over the allowed keys. */
    int (*attention)(vt_backend *be, const vt_attn_args *args);
};

struct vt_backend {
    const struct vt_backend_iface *iface;  /* first member, as libplacebo's pl_gpu */
    vt_context *ctx;                        /* errors and the thread pool */
};

/* Shape rules shared by every backend, so all refuse the same inputs with the
 * same message. linear: y (M, N) = x (M, K) · wᵀ (w (N, K)) + bias (N). */
int vt_backend_check_linear(vt_context *ctx, const vt_tensor *y, const vt_tensor *x, const vt_tensor *w,
                            const vt_tensor *bias, int64_t *M, int64_t *N, int64_t *K);
/* matmul: c (B, M, N) = a (B, M, K) · b (B, K, N), a and b optionally transposed
 * (a (B, K, M), b (B, N, K)). */
int vt_backend_check_matmul(vt_context *ctx, const vt_tensor *c, const vt_tensor *a, int trans_a, const vt_tensor *b,
                            int trans_b, int64_t *batch, int64_t *M, int64_t *N, int64_t *K);
/* conv2d: y (B, Co, Ho, Wo) from x (B, Ci, H, W), w (Co, Ci, kh, kw), bias (Co). */
int vt_backend_check_conv2d(vt_context *ctx, const vt_tensor *y, const vt_tensor *x, const vt_tensor *w,
                            const vt_tensor *bias, int stride, int pad);

/* The CPU backend: OpenBLAS sgemm for matrix products, threaded loops for the rest. */
vt_backend *vt_backend_cpu_create(vt_context *ctx);
void vt_backend_destroy(vt_backend **be);

#endif
