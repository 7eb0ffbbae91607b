// Matrix product for few rows (M <= 8: a batch's adaLN modulation, the timestep
// MLP), y (M, N) = act(x (M, K) . w^T + bias) with w (N, K) as torch.nn.Linear
// stores it. Such a product is bound by reading w once, so each group of 32
// invocations owns one output column and streams its row of w with consecutive
// invocations on consecutive k (coalesced; vec4 when VEC), for all M rows of x
// at once; the 32 partial sums meet in shared memory. With -DB_F16 w is float16.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#ifdef B_F16
#extension GL_EXT_shader_16bit_storage : require
#endif
#include "common.glsl"

#define LANES 32u      // invocations per output column
#define COLS 8u        // output columns per workgroup
#define MMAX 8u        // rows of x at most
layout(local_size_x = 256) in;
layout(constant_id = 0) const bool VEC = false;

layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 0) readonly buffer BufA4 { vec4 a4[]; };
#ifdef B_F16
layout(std430, binding = 1) readonly buffer BufB { float16_t b[]; };
layout(std430, binding = 1) readonly buffer BufB4 { f16vec4 b4[]; };
#else
layout(std430, binding = 1) readonly buffer BufB { float b[]; };
layout(std430, binding = 1) readonly buffer BufB4 { vec4 b4[]; };
#endif
layout(std430, binding = 2) writeonly buffer BufC { float c[]; };
layout(std430, binding = 3) readonly buffer BufBias { float bias[]; };

// gemm_push of core/vulkan/vk_ops.c: x rows at a_off + m*a_sm, w row n at
// b_off + n*b_sn (a_sk = b_sk = 1)
layout(push_constant) uniform Push {
    uint M, N, K;
    uint a_off, a_bs, a_sm, a_sk;
    uint b_off, b_bs, b_sk, b_sn;
    uint c_off, c_bs, c_sm;
    uint bias_off, flags;
    float alpha;
} pc;

shared float part[COLS][MMAX][LANES + 1u];

void main() {
    const uint lane = gl_LocalInvocationID.x % LANES, col = gl_LocalInvocationID.x / LANES;
    const uint n = gl_WorkGroupID.x * COLS + col;
    const bool live = n < pc.N;
    const uint wrow = pc.b_off + (live ? n : 0u) * pc.b_sn;
    float acc[MMAX];
    [[unroll]] for (uint m = 0u; m < MMAX; m++) acc[m] = 0.0;

    if (live) {
        if (VEC) {
            for (uint k = lane * 4u; k < pc.K; k += LANES * 4u) {
                const vec4 w = vec4(b4[(wrow + k) / 4u]);
                [[unroll]] for (uint m = 0u; m < MMAX; m++)
                    if (m < pc.M) acc[m] += dot(a4[(pc.a_off + m * pc.a_sm + k) / 4u], w);
            }
        } else {
            for (uint k = lane; k < pc.K; k += LANES) {
                const float w = float(b[wrow + k]);
                [[unroll]] for (uint m = 0u; m < MMAX; m++)
                    if (m < pc.M) acc[m] += a[pc.a_off + m * pc.a_sm + k] * w;
            }
        }
    }
    [[unroll]] for (uint m = 0u; m < MMAX; m++) part[col][m][lane] = acc[m];
    barrier();
    // lane m of the column's group sums row m's 32 partials
    if (live && lane < pc.M) {
        float s = 0.0;
        for (uint i = 0u; i < LANES; i++) s += part[col][lane][i];
        float v = pc.alpha * s;
        if ((pc.flags & 4u) != 0u) v += bias[pc.bias_off + n];
        c[pc.c_off + lane * pc.c_sm + n] = vt_act(v, pc.flags & 3u);
    }
}
