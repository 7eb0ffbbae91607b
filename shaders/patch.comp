// patchify / unpatchify between pixels x (B, C, [T,] H, W) and tokens
// (B, (T/pt)(H/p)(W/p), F), F in CPQ = (c, pt, p, q) or PQC = (pt, p, q, c)
// order (vt_patch_order). One invocation per pixel element, which has exactly
// one token feature: the two directions are the same map read both ways.
#version 450

layout(local_size_x = 256) in;

layout(std430, binding = 0) buffer BufX { float x[]; };
layout(std430, binding = 1) buffer BufT { float tok[]; };

layout(push_constant) uniform Push {
    uint total;  // B*C*T*H*W
    uint C, T, H, W, p, pt;
    uint order;  // 0 CPQ, 1 PQC
    uint to_tokens;
    uint x_off, t_off;
} pc;

void main() {
    const uint stride = gl_NumWorkGroups.x * 256u;
    const uint nt = pc.T / pc.pt, nh = pc.H / pc.p, nw = pc.W / pc.p;
    const uint F = pc.C * pc.pt * pc.p * pc.p;
    for (uint e = gl_GlobalInvocationID.x; e < pc.total; e += stride) {
        uint w = e % pc.W, h = (e / pc.W) % pc.H, t = (e / (pc.W * pc.H)) % pc.T;
        uint cb = e / (pc.W * pc.H * pc.T), ch = cb % pc.C, bi = cb / pc.C;
        uint tt = t / pc.pt, ti = t % pc.pt, hh = h / pc.p, i = h % pc.p, ww = w / pc.p, j = w % pc.p;
        uint n = (tt * nh + hh) * nw + ww;
        uint f = pc.order == 0u ? ((ch * pc.pt + ti) * pc.p + i) * pc.p + j : ((ti * pc.p + i) * pc.p + j) * pc.C + ch;
        uint ti_idx = pc.t_off + (bi * (nt * nh * nw) + n) * F + f;
        if (pc.to_tokens != 0u) tok[ti_idx] = x[pc.x_off + e];
        else x[pc.x_off + e] = tok[ti_idx];
    }
}
