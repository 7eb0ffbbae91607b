// The windowed attention patterns (neighborhood 1D/2D/3D with dilation and
// causal time, axial, block, grid) over a (T, H, W) token grid: one invocation
// per query, which walks the box of keys its window allows, BC keys at a time,
// with an online softmax. Each axis has a rule, as in the CPU engine
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
layout(constant_id = 1) const uint BC = 16;

layout(std430, binding = 0) readonly buffer BufQ { float q[]; };
layout(std430, binding = 1) readonly buffer BufK { float k[]; };
layout(std430, binding = 2) readonly buffer BufV { float v[]; };
layout(std430, binding = 3) writeonly buffer BufO { float o[]; };

layout(push_constant) uniform Push {
    uint Nq;
    uint q_off, k_off, v_off, o_off;
    uint ld_q, ld_k, ld_v, ld_o;
    float scale;
    int mode[3], L[3], kern[3], dil[3];  // per axis (T, H, W)
} pc;

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

    float qr[HEAD_DIM], acc[HEAD_DIM];
    const uint qo = pc.q_off + (b * pc.Nq + n) * pc.ld_q + h * HEAD_DIM;
    for (uint c = 0u; c < HEAD_DIM; c++) {
        qr[c] = q[qo + c] * pc.scale;
        acc[c] = 0.0;
    }
    float m = NEG_BIG, l = 0.0;
    const uint kb = b * pc.Nq, hd = h * HEAD_DIM;

    // [[dont_unroll]] on the key loops: unrolled around the unrolled channel
    // loops they made lavapipe's LLVM spend ~10 s compiling the head_dim 32 variant
    [[dont_unroll]] for (int i0 = 0; i0 < total; i0 += int(BC)) {
        const int nk = min(int(BC), total - i0);
        float sc[BC];
        uint row[BC];
        float mt = m;
        [[dont_unroll]] for (int t = 0; t < nk; t++) {
            const int i = i0 + t;
            const int u2 = i % n2, u1 = (i / n2) % n1, u0 = i / (n2 * n1);
            const int p0 = r[0] + (s[0] + u0) * pc.dil[0];
            const int p1 = r[1] + (s[1] + u1) * pc.dil[1];
            const int p2 = r[2] + (s[2] + u2) * pc.dil[2];
            row[t] = kb + uint((p0 * H + p1) * W + p2);
            const uint ko = pc.k_off + row[t] * pc.ld_k + hd;
            float d = 0.0;
            for (uint c = 0u; c < HEAD_DIM; c++) d += qr[c] * k[ko + c];
            sc[t] = d;
            mt = max(mt, d);
        }
        const float corr = exp(m - mt);
        l *= corr;
        for (uint c = 0u; c < HEAD_DIM; c++) acc[c] *= corr;
        [[dont_unroll]] for (int t = 0; t < nk; t++) {
            const float p = exp(sc[t] - mt);
            l += p;
            const uint vo = pc.v_off + row[t] * pc.ld_v + hd;
            for (uint c = 0u; c < HEAD_DIM; c++) acc[c] += p * v[vo + c];
        }
        m = mt;
    }

    const float inv = l > 0.0 ? 1.0 / l : 0.0;
    const uint oo = pc.o_off + (b * pc.Nq + n) * pc.ld_o + hd;
    for (uint c = 0u; c < HEAD_DIM; c++) o[oo + c] = acc[c] * inv;
}
