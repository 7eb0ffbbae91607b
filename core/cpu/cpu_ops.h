/* Private declarations shared by the CPU backend's files: one function per op
 * of struct vt_backend_iface, and the checks they share. */
#ifndef VT_CPU_OPS_H
#define VT_CPU_OPS_H

#include "backend.h"
#include "context.h"
#include "threadpool.h"

#include <stdint.h>
#include <string.h>

/* Hot loops are compiled once per ISA and picked at load time (GCC ifunc), so
 * one portable binary uses AVX-512 or AVX2 where the CPU has them. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VT_CLONES
#endif

/* exp(x) for one lane, written to vectorise: x = n·ln2 + r, |r| ≤ ln2/2, e^r by
 * its degree-6 Taylor polynomial (< 2e-8 relative on that range), 2^n built in
 * the exponent bits. Inputs below -87 (and -inf) give exactly 0. */
static inline float vt_exp_lane(float x) {
    const float lo = -87.0f, hi = 88.0f;
    float xc = x < lo ? lo : (x > hi ? hi : x);
    /* round-to-nearest of x·log2(e) by the 1.5·2^23 trick: no libm call */
    float t = xc * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = xc - n * 0.693359375f;  /* ln2 split into a short head ... */
    r = r - n * -2.12194440e-4f;       /* ... and its tail, so r keeps its low bits */
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return x < lo ? 0.0f : p * scale;
}

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

/* C (M, N) = alpha·op(A)·op(B) + beta·C, row-major, as one cblas_sgemm call on
 * `threads` OpenBLAS threads; OpenBLAS is left single-threaded afterwards (the
 * backend's resting state), so that calls from pool workers never nest pools. */
void vt_cpu_sgemm(int threads, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                  int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
/* Whether every extent fits the int of the CBLAS interface; else the error. */
int vt_cpu_check_blas_dims(vt_backend *be, const char *op, int64_t M, int64_t N, int64_t K);

/* Every CPU op takes F32 tensors with host data; returns 0 or the error. */
int vt_cpu_check_f32(vt_backend *be, const char *op, const char *what, const vt_tensor *t);
/* Whether act is one of vt_act's values; else VT_E_INVALID naming op. */
int vt_cpu_check_act(vt_backend *be, const char *op, vt_act act);
/* v[i] = exp(v[i]), vectorised; inputs below -87 (and -inf) give 0. */
void vt_cpu_exp_inplace(float *v, size_t n);
float vt_cpu_max(const float *v, size_t n); /* -inf for n = 0 */
float vt_cpu_sum(const float *v, size_t n);
/* Applies an activation in place to n floats. */
void vt_cpu_act_inplace(float *v, size_t n, vt_act act);

#endif
