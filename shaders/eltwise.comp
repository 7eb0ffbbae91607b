// Elementwise ops in one shader, chosen by a push constant: activation, add and
// mul with suffix broadcasting, scale, adaLN modulate and the gated residual
// add. A grid-stride loop covers any length with a bounded workgroup count.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#define OP_ACT 0u
#define OP_ADD 1u
#define OP_MUL 2u
#define OP_SCALE 3u
#define OP_MODULATE 4u
#define OP_GATED_ADD 5u

layout(local_size_x = 256) in;

// y is the output (the accumulator for OP_GATED_ADD); a the main input; b, c
// the broadcast operands (b: add/mul operand, shift, gate; c: scale)
layout(std430, binding = 0) buffer BufY { float y[]; };
layout(std430, binding = 1) readonly buffer BufA { float a[]; };
layout(std430, binding = 2) readonly buffer BufB { float b[]; };
layout(std430, binding = 3) readonly buffer BufC { float c[]; };

layout(push_constant) uniform Push {
    uint n, op, act;
    uint y_off, a_off, b_off, c_off;
    uint nb;              // OP_ADD, OP_MUL: elements of b; a's index modulo nb gives b's
    uint D, rows_per_b;   // OP_MODULATE, OP_GATED_ADD: (B, N, D) with (B, D) vectors
    float s;              // OP_SCALE
} pc;

void main() {
    const uint stride = gl_NumWorkGroups.x * 256u;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) {
        float v = a[pc.a_off + i];
        float r;
        if (pc.op == OP_ACT) {
            r = vt_act(v, pc.act);
        } else if (pc.op == OP_ADD) {
            r = v + b[pc.b_off + i % pc.nb];
        } else if (pc.op == OP_MUL) {
            r = v * b[pc.b_off + i % pc.nb];
        } else if (pc.op == OP_SCALE) {
            r = v * pc.s;
        } else {
            uint row = i / pc.D, d = i % pc.D;
            uint vec = (row / pc.rows_per_b) * pc.D + d;
            if (pc.op == OP_MODULATE) r = v * (1.0 + c[pc.c_off + vec]) + b[pc.b_off + vec];
            else r = y[pc.y_off + i] + b[pc.b_off + vec] * v;
        }
        y[pc.y_off + i] = r;
    }
}
