// Tiled shared-memory matrix product with an epilogue, the engine of linear,
// matmul_batched and (with -DVT_CONV) conv2d as an implicit GEMM:
//   C[z] (M, N) = act(alpha * A[z] (M, K) . B[z] (K, N) + bias)
// A and B are read through element strides, so transposed operands and
// torch.nn.Linear weights need no copies. With VT_CONV, B is the im2col matrix
// of one image, gathered on the fly from x (B, Ci, H, W): no scratch buffer.
// Later variants (f16 storage, NV cooperative matrices) hang off defines here.
#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#define BM 64
#define BN 64
#define BK 16
#define TM 4   // rows per thread, strided by 16
#define TN 4   // columns per thread, strided by 16

layout(local_size_x = 16, local_size_y = 16) in;

layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) readonly buffer BufB { float b[]; };
layout(std430, binding = 2) writeonly buffer BufC { float c[]; };
layout(std430, binding = 3) readonly buffer BufBias { float bias[]; };

// flags: bits 0-1 activation, bit 2 has bias, bit 3 bias per row (conv2d)
layout(push_constant) uniform Push {
    uint M, N, K;
    uint a_off, a_bs, a_sm, a_sk;
    uint b_off, b_bs, b_sk, b_sn;
    uint c_off, c_bs, c_sm;
    uint bias_off, flags;
    float alpha;
    int H, W, kh, kw, Wo, stride, pad;  // VT_CONV only: the image and the kernel
} pc;

shared float As[BK][BM];
shared float Bs[BK][BN + 1];

float load_a(uint z, uint m, uint k) {
    if (m >= pc.M || k >= pc.K) return 0.0;
    return a[pc.a_off + z * pc.a_bs + m * pc.a_sm + k * pc.a_sk];
}

float load_b(uint z, uint k, uint n) {
    if (k >= pc.K || n >= pc.N) return 0.0;
#ifdef VT_CONV
    // k = (ci, i, j) tap of the kernel, n = (oh, ow) output pixel
    int j = int(k) % pc.kw, i = (int(k) / pc.kw) % pc.kh, ci = int(k) / (pc.kw * pc.kh);
    int oh = int(n) / pc.Wo, ow = int(n) % pc.Wo;
    int ih = oh * pc.stride - pc.pad + i, iw = ow * pc.stride - pc.pad + j;
    if (ih < 0 || ih >= pc.H || iw < 0 || iw >= pc.W) return 0.0;
    return b[pc.b_off + z * pc.b_bs + uint((ci * pc.H + ih) * pc.W + iw)];
#else
    return b[pc.b_off + z * pc.b_bs + k * pc.b_sk + n * pc.b_sn];
#endif
}

void main() {
    const uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    const uint lid = ty * 16u + tx;
    const uint z = gl_WorkGroupID.z;
    const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    // which index runs fastest in a tile load: the one that is contiguous in
    // memory, so neighbouring invocations read neighbouring floats
    const bool a_k_fast = pc.a_sk == 1u;
#ifdef VT_CONV
    const bool b_n_fast = true;
#else
    const bool b_n_fast = pc.b_sn == 1u;
#endif

    float acc[TM][TN];
    for (int i = 0; i < TM; i++)
        for (int j = 0; j < TN; j++) acc[i][j] = 0.0;

    for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
        for (uint e = lid; e < BM * BK; e += 256u) {
            uint mm = a_k_fast ? e / BK : e % BM, kk = a_k_fast ? e % BK : e / BM;
            As[kk][mm] = load_a(z, m0 + mm, k0 + kk);
        }
        for (uint e = lid; e < BK * BN; e += 256u) {
            uint nn = b_n_fast ? e % BN : e / BK, kk = b_n_fast ? e / BN : e % BK;
            Bs[kk][nn] = load_b(z, k0 + kk, n0 + nn);
        }
        barrier();
        for (uint kk = 0u; kk < BK; kk++) {
            float ar[TM], br[TN];
            for (int i = 0; i < TM; i++) ar[i] = As[kk][ty + 16u * uint(i)];
            for (int j = 0; j < TN; j++) br[j] = Bs[kk][tx + 16u * uint(j)];
            for (int i = 0; i < TM; i++)
                for (int j = 0; j < TN; j++) acc[i][j] += ar[i] * br[j];
        }
        barrier();
    }

    const uint act = pc.flags & 3u;
    const bool has_bias = (pc.flags & 4u) != 0u, bias_row = (pc.flags & 8u) != 0u;
    for (int i = 0; i < TM; i++) {
        uint m = m0 + ty + 16u * uint(i);
        if (m >= pc.M) continue;
        for (int j = 0; j < TN; j++) {
            uint n = n0 + tx + 16u * uint(j);
            if (n >= pc.N) continue;
            float v = pc.alpha * acc[i][j];
            if (has_bias) v += bias[pc.bias_off + (bias_row ? m : n)];
            c[pc.c_off + z * pc.c_bs + m * pc.c_sm + n] = vt_act(v, act);
        }
    }
}
