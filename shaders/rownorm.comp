// LayerNorm (two passes: mean, then the centred variance) and RMSNorm over the
// last dim; one workgroup per row, tree reductions in shared memory.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#define WG 128
layout(local_size_x = WG) in;

layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) writeonly buffer BufY { float y[]; };
layout(std430, binding = 2) readonly buffer BufW { float w[]; };
layout(std430, binding = 3) readonly buffer BufB { float bb[]; };

// flags: bit 0 rmsnorm (else layernorm), bit 1 has weight, bit 2 has bias
layout(push_constant) uniform Push {
    uint rows, D, x_off, y_off, w_off, b_off, flags, groups_x;
    float eps;
} pc;

shared float red[WG];

float reduce_sum(float v) {
    const uint t = gl_LocalInvocationID.x;
    red[t] = v;
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1u) {
        if (t < s) red[t] += red[t + s];
        barrier();
    }
    float r = red[0];
    barrier();  // red is reused by the next reduction
    return r;
}

void main() {
    // a row per workgroup; rows beyond 65535 groups wrap into the y dimension
    const uint row = gl_WorkGroupID.y * pc.groups_x + gl_WorkGroupID.x;
    if (row >= pc.rows) return;  // uniform per workgroup
    const uint t = gl_LocalInvocationID.x, D = pc.D;
    const uint xo = pc.x_off + row * D, yo = pc.y_off + row * D;
    const bool rms = (pc.flags & 1u) != 0u, has_w = (pc.flags & 2u) != 0u, has_b = (pc.flags & 4u) != 0u;
    float mean = 0.0, rstd;
    if (rms) {
        float ss = 0.0;
        for (uint i = t; i < D; i += WG) ss += x[xo + i] * x[xo + i];
        rstd = 1.0 / sqrt(reduce_sum(ss) / float(D) + pc.eps);
    } else {
        float s = 0.0;
        for (uint i = t; i < D; i += WG) s += x[xo + i];
        mean = reduce_sum(s) / float(D);
        float vs = 0.0;
        for (uint i = t; i < D; i += WG) {
            float d = x[xo + i] - mean;
            vs += d * d;
        }
        rstd = 1.0 / sqrt(reduce_sum(vs) / float(D) + pc.eps);
    }
    for (uint i = t; i < D; i += WG) {
        float v = (x[xo + i] - mean) * rstd;
        if (has_w) v *= w[pc.w_off + i];
        if (has_b) v += bb[pc.b_off + i];
        y[yo + i] = v;
    }
}
