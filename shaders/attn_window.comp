// The windowed attention patterns (neighborhood 1D/2D/3D with dilation and
// causal time, axial, block, grid) over a (T, H, W) token grid: one invocation
// per query, which walks the box of keys its window allows with an online
// softmax. Each axis has a rule, as in the CPU engine
// (core/cpu/cpu_attention.c): positions split into `dil` residue classes, and
// within the query's class (sub-index j = pos / dil, class length Lr) the keys
// are the sub-indices [s, e) of:
//   SAME   [j, j+1)                        the axis is batch
//   WINDOW NATTEN: start clamp(j - k/2, 0, Lr - k), k keys
//   CAUSAL [max(0, j-k+1), j+1)
//   BLOCK  [(j/k)k, (j/k)k + k)
//   ALL    [0, Lr)                          axial axis; grid (dil = L/G)
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

#define AX_SAME 0
#define AX_WINDOW 1
#define AX_CAUSAL 2
#define AX_BLOCK 3
#define AX_ALL 4

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint HEAD_DIM = 64;
// rows start 16-byte aligned and HEAD_DIM % 4 == 0: rows are read as vec4s
layout(constant_id = 1) const bool VEC = false;
const uint D4 = (HEAD_DIM + 3u) / 4u;

layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 0) readonly buffer BufQ4 { vec4 q4[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 1) readonly buffer BufK4 { vec4 k4[]; };
layout(std430, binding = 2) readonly buffer BufV { float v[]; };
layout(std430, binding = 2) readonly buffer BufV4 { vec4 v4[]; };
layout(std430, binding = 3) writeonly buffer BufO { float o[]; };
layout(std430, binding = 3) writeonly buffer BufO4 { vec4 o4[]; };

layout(push_constant) uniform Push {
    uint Nq;
    uint q_off, k_off, v_off, o_off;
    uint ld_q, ld_k, ld_v, ld_o;
    float scale;
    int mode[3], L[3], kern[3], dil[3];  // per axis (T, H, W)
} pc;

// vec4 c4 of the row starting at float `base` of q, k or v (zeros past HEAD_DIM)
vec4 row4(uint which, uint base, uint c4) {
    if (VEC) return which == 0u ? q4[base / 4u + c4] : which == 1u ? k4[base / 4u + c4] : v4[base / 4u + c4];
    vec4 r = vec4(0.0);
    for (uint i = 0u; i < 4u; i++) {
        const uint c = 4u * c4 + i;
        if (c < HEAD_DIM) r[i] = which == 0u ? q[base + c] : which == 1u ? k[base + c] : v[base + c];
    }
    return r;
}

void main() {
    const uint n = gl_GlobalInvocationID.x, h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
    if (n >= pc.Nq) return;  // no barriers below

    const int H = pc.L[1], W = pc.L[2];
    const int pos[3] = int[3](int(n) / (H * W), (int(n) / W) % H, int(n) % W);
    int r[3], s[3], e[3];
    for (int ax = 0; ax < 3; ax++) {
        const int d = pc.dil[ax], kk = pc.kern[ax];
        r[ax] = pos[ax] % d;
        const int j = pos[ax] / d, Lr = (pc.L[ax] - r[ax] + d - 1) / d;
        const int mo = pc.mode[ax];
        if (mo == AX_WINDOW) {
            s[ax] = clamp(j - kk / 2, 0, Lr - kk);
            e[ax] = s[ax] + kk;
        } else if (mo == AX_CAUSAL) {
            s[ax] = max(j - kk + 1, 0);
            e[ax] = j + 1;
        } else if (mo == AX_BLOCK) {
            s[ax] = (j / kk) * kk;
            e[ax] = s[ax] + kk;
        } else if (mo == AX_ALL) {
            s[ax] = 0;
            e[ax] = Lr;
        } else {
            s[ax] = j;
            e[ax] = j + 1;
        }
    }
    const int n1 = e[1] - s[1], n2 = e[2] - s[2];
    const int total = (e[0] - s[0]) * n1 * n2;

    vec4 qr[D4], acc[D4];
    const uint qo = pc.q_off + (b * pc.Nq + n) * pc.ld_q + h * HEAD_DIM;
    for (uint c = 0u; c < D4; c++) {
        qr[c] = row4(0u, qo, c) * pc.scale;
        acc[c] = vec4(0.0);
    }
    float m = NEG_BIG, l = 0.0;
    const uint kb = b * pc.Nq, hd = h * HEAD_DIM;

    // one key at a time with an online softmax (rescaled when the running max
    // grows): no per-chunk score array, which a GPU would keep in local memory.
    // [[dont_unroll]]: unrolled around the unrolled channel loops, the key loop
    // made lavapipe's LLVM spend many seconds per variant.
    [[dont_unroll]] for (int i = 0; i < total; i++) {
        const int u2 = i % n2, u1 = (i / n2) % n1, u0 = i / (n2 * n1);
        const int p0 = r[0] + (s[0] + u0) * pc.dil[0];
        const int p1 = r[1] + (s[1] + u1) * pc.dil[1];
        const int p2 = r[2] + (s[2] + u2) * pc.dil[2];
        const uint row = kb + uint((p0 * H + p1) * W + p2);
        const uint ko = pc.k_off + row * pc.ld_k + hd;
        float d = 0.0;
        for (uint c = 0u; c < D4; c++) d += dot(qr[c], row4(1u, ko, c));
        if (d > m) {
            const float corr = exp(m - d);
            l *= corr;
            for (uint c = 0u; c < D4; c++) acc[c] *= corr;
            m = d;
        }
        const float p = exp(d - m);
        l += p;
        const uint vo = pc.v_off + row * pc.ld_v + hd;
        for (uint c = 0u; c < D4; c++) acc[c] += p * row4(2u, vo, c);
    }

    const float inv = l > 0.0 ? 1.0 / l : 0.0;
    const uint oo = pc.o_off + (b * pc.Nq + n) * pc.ld_o + hd;
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
