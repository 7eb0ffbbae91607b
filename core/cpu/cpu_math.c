/* Vectorised transcendental loops for the CPU ops: exp, tanh-GELU, SiLU. libm's
 * scalar expf/tanhf cost ~10 ns each, which made the GELU epilogue and the
 * attention softmax dominate DiT forwards; these loops compile to SIMD (one clone
 * per ISA, picked at load time) and stay within a few ulp of libm. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cpu_ops.h"

VT_CLONES void vt_cpu_exp_inplace(float *v, size_t n) {
    for (size_t i = 0; i < n; i++) v[i] = vt_exp_lane(v[i]);
}

VT_CLONES static void gelu_tanh(float *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = v[i];
        /* tanh(u) = 1 − 2/(e^{2u} + 1); 0.7978845608 = sqrt(2/π) (Hendrycks & Gimpel) */
        float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
        float th = 1.0f - 2.0f / (vt_exp_lane(2.0f * u) + 1.0f);
        v[i] = 0.5f * x * (1.0f + th);
    }
}

VT_CLONES static void silu(float *v, size_t n) {
    for (size_t i = 0; i < n; i++) v[i] = v[i] / (1.0f + vt_exp_lane(-v[i]));
}

void vt_cpu_act_inplace(float *v, size_t n, vt_act act) {
    switch (act) {
    case VT_ACT_NONE: break;
    case VT_ACT_GELU_TANH: gelu_tanh(v, n); break;
    case VT_ACT_GELU_ERF:
        for (size_t i = 0; i < n; i++) v[i] = 0.5f * v[i] * (1.0f + erff(v[i] * 0.7071067811865476f));
        break;
    case VT_ACT_SILU: silu(v, n); break;
    }
}

/* ---- a small GEMM for attention tiles ----
 * OpenBLAS serialises concurrent small GEMMs from several threads (its
 * single-threaded path spins on a lock), which left the pool's second core idle
 * in the attention tiles. This kernel needs no lock: C (M×N) = A (M×K)·B (K×N)
 * [+ C], row-major with leading dimensions, blocked 4 rows × 16 columns in GCC
 * vector registers (zmm on AVX-512, ymm pairs on AVX2). */

typedef float v16 __attribute__((vector_size(64)));

/* Unaligned vector load/store as macros: functions passing v16 by value would
 * change the ABI between the clones. */
#define LOAD16(v, p) memcpy(&(v), (p), sizeof(v16))
#define STORE16(p, v) memcpy((p), &(v), sizeof(v16))

VT_CLONES void vt_cpu_gemm_nn(int M, int N, int K, const float *A, size_t lda, const float *B, size_t ldb, float *C,
                              size_t ldc, int accumulate) {
    int j = 0;
    for (; j + 16 <= N; j += 16) {
        int i = 0;
        for (; i + 4 <= M; i += 4) {
            v16 c0, c1, c2, c3;
            if (accumulate) {
                LOAD16(c0, C + (size_t)i * ldc + j);
                LOAD16(c1, C + (size_t)(i + 1) * ldc + j);
                LOAD16(c2, C + (size_t)(i + 2) * ldc + j);
                LOAD16(c3, C + (size_t)(i + 3) * ldc + j);
            } else {
                c0 = c1 = c2 = c3 = (v16){0};
            }
            const float *a0 = A + (size_t)i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
            for (int k = 0; k < K; k++) {
                v16 b;
                LOAD16(b, B + (size_t)k * ldb + j);
                c0 += a0[k] * b;
                c1 += a1[k] * b;
                c2 += a2[k] * b;
                c3 += a3[k] * b;
            }
            STORE16(C + (size_t)i * ldc + j, c0);
            STORE16(C + (size_t)(i + 1) * ldc + j, c1);
            STORE16(C + (size_t)(i + 2) * ldc + j, c2);
            STORE16(C + (size_t)(i + 3) * ldc + j, c3);
        }
        for (; i < M; i++) {
            v16 c = {0};
            if (accumulate) LOAD16(c, C + (size_t)i * ldc + j);
            const float *a = A + (size_t)i * lda;
            for (int k = 0; k < K; k++) {
                v16 b;
                LOAD16(b, B + (size_t)k * ldb + j);
                c += a[k] * b;
            }
            STORE16(C + (size_t)i * ldc + j, c);
        }
    }
    if (j < N) {
        /* the last < 16 columns */
        for (int i = 0; i < M; i++) {
            float *c = C + (size_t)i * ldc;
            const float *a = A + (size_t)i * lda;
            for (int jj = j; jj < N; jj++) {
                float acc = accumulate ? c[jj] : 0.0f;
                for (int k = 0; k < K; k++) acc += a[k] * B[(size_t)k * ldb + jj];
                c[jj] = acc;
            }
        }
    }
}

VT_CLONES float vt_cpu_max(const float *v, size_t n) {
    float m[16];
    for (int k = 0; k < 16; k++) m[k] = -INFINITY;
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) m[k] = v[i + k] > m[k] ? v[i + k] : m[k];
    float r = -INFINITY;
    for (int k = 0; k < 16; k++) r = m[k] > r ? m[k] : r;
    for (; i < n; i++) r = v[i] > r ? v[i] : r;
    return r;
}

VT_CLONES float vt_cpu_sum(const float *v, size_t n) {
    float s[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) s[k] += v[i + k];
    float r = 0.0f;
    for (int k = 0; k < 16; k++) r += s[k];
    for (; i < n; i++) r += v[i];
    return r;
}
