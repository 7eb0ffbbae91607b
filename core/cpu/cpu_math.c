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
