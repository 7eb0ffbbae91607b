// Full and cross attention, softmax(q.k^T.scale).v over every (present) key:
// FlashAttention's tiling with an online softmax. A workgroup holds 64 queries
// of one (batch, head), one per invocation with its query and accumulator in
// registers as vec4s; blocks of BC keys and values are staged in shared memory
// as vec4s and shared by the 64, so each shared read feeds four multiply-adds.
// The softmax is online per key (a running max and sum, rescaled when the max
// grows).
// No Nq x Nk matrix exists anywhere.
// Specialisation constants: HEAD_DIM (exact head size, so the per-invocation
// arrays have fixed size; padded to whole vec4s with zeros), BC (keys per block,
// sized to the shared memory) and VEC (rows start 16-byte aligned and HEAD_DIM
// % 4 == 0: global reads and writes as vec4 too).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

#define WG 64u
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint HEAD_DIM = 64;
layout(constant_id = 1) const uint BC = 32;
layout(constant_id = 2) const bool VEC = false;
const uint D4 = (HEAD_DIM + 3u) / 4u;

layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 0) readonly buffer BufQ4 { vec4 q4[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 1) readonly buffer BufK4 { vec4 k4[]; };
layout(std430, binding = 2) readonly buffer BufV { float v[]; };
layout(std430, binding = 2) readonly buffer BufV4 { vec4 v4[]; };
layout(std430, binding = 3) writeonly buffer BufO { float o[]; };
layout(std430, binding = 3) writeonly buffer BufO4 { vec4 o4[]; };
layout(std430, binding = 4) readonly buffer BufM { float key_mask[]; };

// element (b, n, h, i) of q is q[q_off + (b*Nq + n)*ld_q + h*HEAD_DIM + i]; likewise k, v, o
layout(push_constant) uniform Push {
    uint Nq, Nk;
    uint q_off, k_off, v_off, o_off, m_off;
    uint ld_q, ld_k, ld_v, ld_o;
    uint has_mask;
    float scale;
} pc;

shared vec4 Ks[BC * D4];
shared vec4 Vs[BC * D4];
shared float present[BC];

// vec4 c4 of a row starting at float `base` (zeros past HEAD_DIM)
vec4 row4_k(uint base, uint c4) {
    if (VEC) return k4[base / 4u + c4];
    vec4 r = vec4(0.0);
    for (uint i = 0u; i < 4u; i++)
        if (4u * c4 + i < HEAD_DIM) r[i] = k[base + 4u * c4 + i];
    return r;
}

vec4 row4_v(uint base, uint c4) {
    if (VEC) return v4[base / 4u + c4];
    vec4 r = vec4(0.0);
    for (uint i = 0u; i < 4u; i++)
        if (4u * c4 + i < HEAD_DIM) r[i] = v[base + 4u * c4 + i];
    return r;
}

void main() {
    const uint lid = gl_LocalInvocationID.x;
    const uint n = gl_GlobalInvocationID.x, h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
    const bool live = n < pc.Nq;  // inactive invocations still help load and reach every barrier

    vec4 qr[D4], acc[D4];
    const uint qo = pc.q_off + (b * pc.Nq + (live ? n : 0u)) * pc.ld_q + h * HEAD_DIM;
    for (uint c = 0u; c < D4; c++) {
        vec4 t = vec4(0.0);
        if (live) {
            if (VEC) {
                t = q4[qo / 4u + c];
            } else {
                for (uint i = 0u; i < 4u; i++)
                    if (4u * c + i < HEAD_DIM) t[i] = q[qo + 4u * c + i];
            }
        }
        qr[c] = t * pc.scale;
        acc[c] = vec4(0.0);
    }
    float m = NEG_BIG, l = 0.0;

    for (uint j0 = 0u; j0 < pc.Nk; j0 += BC) {
        const uint nk = min(BC, pc.Nk - j0);
        barrier();  // the previous block is consumed
        for (uint e = lid; e < nk * D4; e += WG) {
            const uint j = e / D4, c = e % D4;
            const uint row = b * pc.Nk + j0 + j;
            Ks[e] = row4_k(pc.k_off + row * pc.ld_k + h * HEAD_DIM, c);
            Vs[e] = row4_v(pc.v_off + row * pc.ld_v + h * HEAD_DIM, c);
        }
        for (uint j = lid; j < BC; j += WG)
            present[j] = j < nk && (pc.has_mask == 0u || key_mask[pc.m_off + b * pc.Nk + j0 + j] != 0.0) ? 1.0 : 0.0;
        barrier();

        // online softmax one key at a time: when a key raises the running max,
        // what was summed so far is rescaled first. No score array, so nothing
        // indexed by a loop counter has to leave registers, and the key loop
        // need not be unrolled ([[dont_unroll]]: unrolled around the unrolled
        // channel loops it costs lavapipe's LLVM minutes per variant).
        [[dont_unroll]] for (uint j = 0u; j < nk; j++) {
            if (present[j] == 0.0) continue;
            float d = 0.0;
            for (uint c = 0u; c < D4; c++) d += dot(qr[c], Ks[j * D4 + c]);
            if (d > m) {
                const float corr = exp(m - d);
                l *= corr;
                for (uint c = 0u; c < D4; c++) acc[c] *= corr;
                m = d;
            }
            const float p = exp(d - m);
            l += p;
            for (uint c = 0u; c < D4; c++) acc[c] += p * Vs[j * D4 + c];
        }
    }

    if (!live) return;
    // a query that saw no key (every key masked out) outputs zeros
    const float inv = l > 0.0 ? 1.0 / l : 0.0;
    const uint oo = pc.o_off + (b * pc.Nq + n) * pc.ld_o + h * HEAD_DIM;
    for (uint c = 0u; c < D4; c++) {
        const vec4 r = acc[c] * inv;
        if (VEC) {
            o4[oo / 4u + c] = r;
        } else {
            for (uint i = 0u; i < 4u; i++)
                if (4u * c + i < HEAD_DIM) o[oo + 4u * c + i] = r[i];
        }
    }
}
