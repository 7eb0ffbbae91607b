// Row softmax over the last dim, max-subtracted; a row of only -inf gives zeros
// (as on the CPU), so a fully masked row spreads nothing downstream.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#define WG 128
layout(local_size_x = WG) in;

layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) writeonly buffer BufY { float y[]; };

layout(push_constant) uniform Push {
    uint rows, D, x_off, y_off, groups_x;
} pc;

shared float red[WG];

void main() {
    const uint row = gl_WorkGroupID.y * pc.groups_x + gl_WorkGroupID.x;
    if (row >= pc.rows) return;  // uniform per workgroup
    const uint t = gl_LocalInvocationID.x, D = pc.D;
    const uint xo = pc.x_off + row * D, yo = pc.y_off + row * D;

    float m = -3.4028235e38;  // the lowest finite float: below every real input
    bool any = false;
    for (uint i = t; i < D; i += WG) {
        float v = x[xo + i];
        if (!isinf(v) || v > 0.0) {
            m = max(m, v);
            any = true;
        }
    }
    red[t] = any ? m : NEG_BIG * 1.0e8;  // -1e38 marks "no finite entry"
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1u) {
        if (t < s) red[t] = max(red[t], red[t + s]);
        barrier();
    }
    m = red[0];
    barrier();
    const bool empty = m <= NEG_BIG * 1.0e8;

    float sum = 0.0;
    if (!empty)
        for (uint i = t; i < D; i += WG) {
            float v = x[xo + i];
            sum += isinf(v) && v < 0.0 ? 0.0 : exp(v - m);
        }
    red[t] = sum;
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1u) {
        if (t < s) red[t] += red[t + s];
        barrier();
    }
    const float inv = empty ? 0.0 : 1.0 / red[0];
    for (uint i = t; i < D; i += WG) {
        float v = x[xo + i];
        y[yo + i] = empty || (isinf(v) && v < 0.0) ? 0.0 : exp(v - m) * inv;
    }
}
