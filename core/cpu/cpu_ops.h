/* Private declarations shared by the CPU backend's files: one function per op
 * of struct vt_backend_iface, and the checks they share. */
#ifndef VT_CPU_OPS_H
#define VT_CPU_OPS_H

#include "backend.h"
#include "context.h"
#include "threadpool.h"

int vt_cpu_linear(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *bias, vt_act act);
int vt_cpu_matmul_batched(vt_backend *be, vt_tensor *c, const vt_tensor *a, int trans_a, const vt_tensor *b, int trans_b,
                          float alpha);
int vt_cpu_layernorm(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *b, float eps);
int vt_cpu_rmsnorm(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, float eps);
int vt_cpu_modulate(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *shift, const vt_tensor *scale);
int vt_cpu_gated_add(vt_backend *be, vt_tensor *x, const vt_tensor *y, const vt_tensor *gate);
int vt_cpu_softmax(vt_backend *be, vt_tensor *y, const vt_tensor *x);
int vt_cpu_activation(vt_backend *be, vt_tensor *y, const vt_tensor *x, vt_act act);
int vt_cpu_binary(vt_backend *be, vt_tensor *y, const vt_tensor *a, const vt_tensor *b, vt_binop op);
int vt_cpu_scale(vt_backend *be, vt_tensor *y, const vt_tensor *x, float s);
int vt_cpu_patchify(vt_backend *be, vt_tensor *tokens, const vt_tensor *x, int p, int pt, vt_patch_order order);
int vt_cpu_unpatchify(vt_backend *be, vt_tensor *x, const vt_tensor *tokens, int p, int pt, vt_patch_order order);
int vt_cpu_conv2d(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *bias, int stride,
                  int pad);
int vt_cpu_upsample_nearest(vt_backend *be, vt_tensor *y, const vt_tensor *x, int factor);
int vt_cpu_attention(vt_backend *be, const vt_attn_args *a);
/* Bytes of scratch the attention op allocates per call (for the memory report). */
size_t vt_cpu_attention_scratch_bytes(int n_threads, int head_dim);

/* Every CPU op takes F32 tensors with host data; returns 0 or the error. */
int vt_cpu_check_f32(vt_backend *be, const char *op, const char *what, const vt_tensor *t);
/* Applies an activation in place to n floats. */
void vt_cpu_act_inplace(float *v, size_t n, vt_act act);

#endif
