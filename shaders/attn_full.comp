// Full and cross attention, softmax(q.k^T.scale).v over every (present) key:
// FlashAttention's tiling with an online softmax. A workgroup holds 64 queries
// of one (batch, head), one per invocation with its query and accumulator in
// registers; blocks of BC keys and values are staged in shared memory and shared
// by the 64. No Nq x Nk matrix exists anywhere.
// Specialisation constants: HEAD_DIM (exact head size, so the per-invocation
// arrays have fixed size) and BC (keys per block, sized to the shared memory).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#define WG 64u
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint HEAD_DIM = 64;
layout(constant_id = 1) const uint BC = 32;

layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 2) readonly buffer BufV { float v[]; };
layout(std430, binding = 3) writeonly buffer BufO { float o[]; };
layout(std430, binding = 4) readonly buffer BufM { float key_mask[]; };

// element (b, n, h, i) of q is q[q_off + (b*Nq + n)*ld_q + h*HEAD_DIM + i]; likewise k, v, o
layout(push_constant) uniform Push {
    uint Nq, Nk;
    uint q_off, k_off, v_off, o_off, m_off;
    uint ld_q, ld_k, ld_v, ld_o;
    uint has_mask;
    float scale;
} pc;

shared float Ks[BC * HEAD_DIM];
shared float Vs[BC * HEAD_DIM];
shared float present[BC];

void main() {
    const uint lid = gl_LocalInvocationID.x;
    const uint n = gl_GlobalInvocationID.x, h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
    const bool live = n < pc.Nq;  // inactive invocations still help load and reach every barrier

    float qr[HEAD_DIM], acc[HEAD_DIM];
    const uint qo = pc.q_off + (b * pc.Nq + (live ? n : 0u)) * pc.ld_q + h * HEAD_DIM;
    for (uint c = 0u; c < HEAD_DIM; c++) {
        qr[c] = live ? q[qo + c] * pc.scale : 0.0;
        acc[c] = 0.0;
    }
    float m = NEG_BIG, l = 0.0;

    for (uint j0 = 0u; j0 < pc.Nk; j0 += BC) {
        const uint nk = min(BC, pc.Nk - j0);
        barrier();  // the previous block is consumed
        for (uint e = lid; e < nk * HEAD_DIM; e += WG) {
            uint j = e / HEAD_DIM, c = e % HEAD_DIM;
            uint row = b * pc.Nk + j0 + j;
            Ks[e] = k[pc.k_off + row * pc.ld_k + h * HEAD_DIM + c];
            Vs[e] = v[pc.v_off + row * pc.ld_v + h * HEAD_DIM + c];
        }
        for (uint j = lid; j < BC; j += WG)
            present[j] = j < nk && (pc.has_mask == 0u || key_mask[pc.m_off + b * pc.Nk + j0 + j] != 0.0) ? 1.0 : 0.0;
        barrier();

        float s[BC];
        float mt = m;
        for (uint j = 0u; j < BC; j++) {
            float d = 0.0;
            if (present[j] != 0.0) {
                for (uint c = 0u; c < HEAD_DIM; c++) d += qr[c] * Ks[j * HEAD_DIM + c];
                mt = max(mt, d);
            }
            s[j] = d;
        }
        // online softmax: rescale what was summed under the old max
        const float corr = exp(m - mt);
        l *= corr;
        for (uint c = 0u; c < HEAD_DIM; c++) acc[c] *= corr;
        for (uint j = 0u; j < BC; j++) {
            if (present[j] == 0.0) continue;
            float p = exp(s[j] - mt);
            l += p;
            for (uint c = 0u; c < HEAD_DIM; c++) acc[c] += p * Vs[j * HEAD_DIM + c];
        }
        m = mt;
    }

    if (!live) return;
    // a query that saw no key (every key masked out) outputs zeros
    const float inv = l > 0.0 ? 1.0 / l : 0.0;
    const uint oo = pc.o_off + (b * pc.Nq + n) * pc.ld_o + h * HEAD_DIM;
    for (uint c = 0u; c < HEAD_DIM; c++) o[oo + c] = acc[c] * inv;
}
