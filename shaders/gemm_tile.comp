// Register-tiled matrix product with an epilogue, the portable engine of linear
// and matmul_batched:
//   C[z] (M, N) = act(alpha * A[z] (M, K) . B[z] (K, N) + bias (N))
// A workgroup computes a BM x BN block of C; each invocation a TM x TN patch of
// it, kept in registers, from BK-deep slices of A and B staged in shared memory.
// The tile shape comes from -D defines (one variant per shape in meson), so
// every loop bound is a compile-time constant and the accumulators stay in
// registers. With -DB_F16, B is read as float16 (f16 weights; products and sums
// in f32).
//
// A and B are read through element strides; which index of each is contiguous
// in memory (A_KCONTIG, B_KCONTIG) and whether rows may be read as vec4 (VEC_A,
// VEC_B: every row start 16-byte aligned, the contiguous length a multiple of 4)
// are specialisation constants, so one variant serves x . w^T (linear), plain and
// transposed batched products, and unaligned views (scalar loads).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#ifdef B_F16
#extension GL_EXT_shader_16bit_storage : require
#endif
#include "common.glsl"

#ifndef BM
#define BM 64
#define BN 64
#define TM 4
#define TN 4
#define BK 16
#endif
#define TX (BN / TN)          // invocations along n
#define TY (BM / TM)          // invocations along m
#define NT (TX * TY)
#define A_VEC_PER_T (BM * BK / 4 / NT)  // vec4 loads of A per invocation and slice
#define B_VEC_PER_T (BN * BK / 4 / NT)
#define A_SC_PER_T (BM * BK / NT)       // scalar loads, likewise
#define B_SC_PER_T (BN * BK / NT)

layout(local_size_x = NT) in;
layout(constant_id = 0) const bool A_KCONTIG = true;
layout(constant_id = 1) const bool B_KCONTIG = true;
layout(constant_id = 2) const bool VEC_A = false;
layout(constant_id = 3) const bool VEC_B = false;

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

// the layout of gemm_push in core/vulkan/vk_ops.c (the conv2d fields unused here)
layout(push_constant) uniform Push {
    uint M, N, K;
    uint a_off, a_bs, a_sm, a_sk;
    uint b_off, b_bs, b_sk, b_sn;
    uint c_off, c_bs, c_sm;
    uint bias_off, flags;
    float alpha;
} pc;

// k-major slices: an invocation reads its TM rows (TN columns) as TM/4 (TN/4)
// vec4s, and neighbouring invocations read neighbouring vec4s
shared vec4 As[BK][BM / 4];
shared vec4 Bs[BK][BN / 4];

// registers holding the next slice while the current one is multiplied: a
// vec4 per load in vec4 mode, a float (.x) per load in scalar mode; sized for
// the larger count, the unused entries of the other mode are dead code
vec4 ra[A_SC_PER_T];
vec4 rb[B_SC_PER_T];

float load_a(uint base, uint m, uint k) {
    return (m < pc.M && k < pc.K) ? a[base + m * pc.a_sm + k * pc.a_sk] : 0.0;
}

float load_b(uint base, uint k, uint n) {
    return (k < pc.K && n < pc.N) ? float(b[base + k * pc.b_sk + n * pc.b_sn]) : 0.0;
}

// Global -> registers for the slice starting at k0. In vec4 mode element e of
// the slice is a 4-vector along the contiguous index; in scalar mode consecutive
// invocations take consecutive elements along it (coalesced reads).
void fetch(uint za, uint zb, uint m0, uint n0, uint k0, uint lid) {
    if (VEC_A) {
        [[unroll]] for (uint i = 0u; i < A_VEC_PER_T; i++) {
            const uint e = lid + i * NT;
            vec4 v = vec4(0.0);
            if (A_KCONTIG) {
                const uint m = m0 + e / (BK / 4), k = k0 + (e % (BK / 4)) * 4u;
                if (m < pc.M && k < pc.K) v = a4[(za + m * pc.a_sm + k) / 4u];
            } else {
                const uint k = k0 + e / (BM / 4), m = m0 + (e % (BM / 4)) * 4u;
                if (m < pc.M && k < pc.K) v = a4[(za + k * pc.a_sk + m) / 4u];
            }
            ra[i] = v;
        }
    } else {
        [[unroll]] for (uint i = 0u; i < A_SC_PER_T; i++) {
            const uint e = lid + i * NT;
            const uint m = A_KCONTIG ? e / BK : e % BM, k = A_KCONTIG ? e % BK : e / BM;
            ra[i].x = load_a(za, m0 + m, k0 + k);
        }
    }
    if (VEC_B) {
        [[unroll]] for (uint i = 0u; i < B_VEC_PER_T; i++) {
            const uint e = lid + i * NT;
            vec4 v = vec4(0.0);
            if (B_KCONTIG) {
                const uint n = n0 + e / (BK / 4), k = k0 + (e % (BK / 4)) * 4u;
                if (n < pc.N && k < pc.K) v = vec4(b4[(zb + n * pc.b_sn + k) / 4u]);
            } else {
                const uint k = k0 + e / (BN / 4), n = n0 + (e % (BN / 4)) * 4u;
                if (n < pc.N && k < pc.K) v = vec4(b4[(zb + k * pc.b_sk + n) / 4u]);
            }
            rb[i] = v;
        }
    } else {
        [[unroll]] for (uint i = 0u; i < B_SC_PER_T; i++) {
            const uint e = lid + i * NT;
            const uint n = B_KCONTIG ? e / BK : e % BN, k = B_KCONTIG ? e % BK : e / BN;
            rb[i].x = load_b(zb, k0 + k, n0 + n);
        }
    }
}

// Registers -> shared memory, k-major.
void stash(uint lid) {
    if (VEC_A) {
        [[unroll]] for (uint i = 0u; i < A_VEC_PER_T; i++) {
            const uint e = lid + i * NT;
            if (A_KCONTIG) {
                const uint m = e / (BK / 4), k = (e % (BK / 4)) * 4u;
                As[k][m / 4u][m % 4u] = ra[i].x;
                As[k + 1u][m / 4u][m % 4u] = ra[i].y;
                As[k + 2u][m / 4u][m % 4u] = ra[i].z;
                As[k + 3u][m / 4u][m % 4u] = ra[i].w;
            } else {
                As[e / (BM / 4)][e % (BM / 4)] = ra[i];
            }
        }
    } else {
        [[unroll]] for (uint i = 0u; i < A_SC_PER_T; i++) {
            const uint e = lid + i * NT;
            const uint m = A_KCONTIG ? e / BK : e % BM, k = A_KCONTIG ? e % BK : e / BM;
            As[k][m / 4u][m % 4u] = ra[i].x;
        }
    }
    if (VEC_B) {
        [[unroll]] for (uint i = 0u; i < B_VEC_PER_T; i++) {
            const uint e = lid + i * NT;
            if (B_KCONTIG) {
                const uint n = e / (BK / 4), k = (e % (BK / 4)) * 4u;
                Bs[k][n / 4u][n % 4u] = rb[i].x;
                Bs[k + 1u][n / 4u][n % 4u] = rb[i].y;
                Bs[k + 2u][n / 4u][n % 4u] = rb[i].z;
                Bs[k + 3u][n / 4u][n % 4u] = rb[i].w;
            } else {
                Bs[e / (BN / 4)][e % (BN / 4)] = rb[i];
            }
        }
    } else {
        [[unroll]] for (uint i = 0u; i < B_SC_PER_T; i++) {
            const uint e = lid + i * NT;
            const uint n = B_KCONTIG ? e / BK : e % BN, k = B_KCONTIG ? e % BK : e / BN;
            Bs[k][n / 4u][n % 4u] = rb[i].x;
        }
    }
}

void main() {
    const uint lid = gl_LocalInvocationID.x;
    const uint tx = lid % TX, ty = lid / TX;
    const uint z = gl_WorkGroupID.z;
    const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    const uint za = pc.a_off + z * pc.a_bs, zb = pc.b_off + z * pc.b_bs;

    // the invocation's rows are the vec4 groups ty, ty + TY, ... of the block,
    // its columns the groups tx, tx + TX, ...
    vec4 acc[TM][TN / 4];
    [[unroll]] for (uint i = 0u; i < TM; i++)
        [[unroll]] for (uint j = 0u; j < TN / 4; j++) acc[i][j] = vec4(0.0);

    fetch(za, zb, m0, n0, 0u, lid);
    for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
        barrier();  // the previous slice is consumed
        stash(lid);
        barrier();
        // the next slice's global reads overlap this slice's arithmetic
        if (k0 + BK < pc.K) fetch(za, zb, m0, n0, k0 + BK, lid);
        [[unroll]] for (uint kk = 0u; kk < BK; kk++) {
            vec4 av[TM / 4], bv[TN / 4];
            [[unroll]] for (uint i = 0u; i < TM / 4; i++) av[i] = As[kk][ty + i * TY];
            [[unroll]] for (uint j = 0u; j < TN / 4; j++) bv[j] = Bs[kk][tx + j * TX];
            [[unroll]] for (uint i = 0u; i < TM; i++) {
                const float ai = av[i / 4u][i % 4u];
                [[unroll]] for (uint j = 0u; j < TN / 4; j++) acc[i][j] += ai * bv[j];
            }
        }
    }

    const uint act = pc.flags & 3u;
    const bool has_bias = (pc.flags & 4u) != 0u;
    const uint cz = pc.c_off + z * pc.c_bs;
    [[unroll]] for (uint i = 0u; i < TM; i++) {
        const uint m = m0 + (ty + (i / 4u) * TY) * 4u + i % 4u;
        if (m >= pc.M) continue;
        [[unroll]] for (uint j = 0u; j < TN / 4; j++) {
            const uint nb = n0 + (tx + j * TX) * 4u;
            [[unroll]] for (uint q = 0u; q < 4u; q++) {
                const uint n = nb + q;
                if (n >= pc.N) continue;
                float v = pc.alpha * acc[i][j][q];
                if (has_bias) v += bias[pc.bias_off + n];
                c[cz + m * pc.c_sm + n] = vt_act(v, act);
            }
        }
    }
}
