// The linear op on tensor cores through GL_NV_cooperative_matrix:
//   y (M, N) = act(alpha * x (M, K) . w^T + bias),  w (N, K) stored as float16
// with 16x16x16 fragments, f16 inputs and f32 accumulators. A workgroup of
// SG_M x SG_N subgroups (of 32 invocations) computes a BM x BN block of y; each
// subgroup an FM x FN grid of 16x16 fragments. Every BK-deep slice of x (f32,
// rounded to f16 on the way) and of w is staged in shared memory, rows padded by
// 16 bytes against bank conflicts, while the next slice is read into registers.
// STAGES 2 keeps two slices in shared memory, so the next one is written while
// the current one is multiplied and a slice costs one barrier instead of two.
// Which invocation holds which element of an accumulator is the driver's, so
// the epilogue works on whole fragments where the block lies inside y (see
// main), and goes value by value through a per-subgroup 16x16 scratch on y's
// edges.
//
// -DA_HALF reads x as f16 (8 halves per uvec4), rounded by a pre-pass into a
// buffer of the backend's at offset 0: per slice a third less to bring from
// L2 than f32 x, and no conversion in the loop.
//
// -DDIRECT (with A_HALF) stages nothing: every subgroup loads its fragments
// straight from x16 and w16 (L1 and L2 serve the reuse between subgroups and
// workgroups), two k-steps of fragments in flight in registers, and no barrier
// inside the K loop. coop_peak.comp's mode 2 lost 32% of mode 1's MulAdd rate
// to the staging and its barriers alone; this trades them for cache traffic.
// The loads are not bounds-checked: the backend takes it only where M and N
// are whole blocks and K a multiple of 32.
//
// Requirements the backend checks before choosing this shader: K % 8 == 0, x
// rows 16-byte aligned (a_off % 4 == 0), w's f16 copy at offset 0 with rows of
// K halves, subgroups of 32, and the device's 16x16x16 f16 x f16 -> f32 property.
// It is selected at run time only, after a self-check against the portable path.
// -DVT_COOP_EMULATE builds a plain-GLSL stand-in for the fragment operations
// (below), so CI tests everything else of this shader on lavapipe.
#version 450
#ifndef VT_COOP_EMULATE
#pragma use_vulkan_memory_model
#extension GL_NV_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_memory_scope_semantics : require
#endif
#extension GL_EXT_control_flow_attributes : require
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#ifndef SG_M
#define SG_M 2   // subgroups along m
#define SG_N 4   // subgroups along n
#define FM 4     // fragments per subgroup along m
#define FN 2     // fragments per subgroup along n
#endif
#ifndef BK_
#define BK_ 32   // slice depth: 32 or 64
#endif
#ifndef STAGES
#define STAGES 1 // slices resident in shared memory: 1 or 2
#endif
#if defined(DIRECT) && !defined(A_HALF)
#error DIRECT reads x16: it needs A_HALF
#endif
#define BK uint(BK_)
#define NSG (SG_M * SG_N)
#define NT (NSG * 32)
#define BM (SG_M * FM * 16)
#define BN (SG_N * FN * 16)
#define RS ((BK + 8u) / 8u)                  // shared row stride in uvec4 (8 halves each)
#define CHUNKS_A (BM * (BK / 8u) / NT)       // 8-element chunks of a slice per invocation
#define CHUNKS_B (BN * (BK / 8u) / NT)

layout(local_size_x = NT) in;

#ifdef A_HALF
layout(std430, binding = 0) readonly buffer BufA8 { uvec4 a8[]; };  // x rounded to f16, 8 halves per element
#else
layout(std430, binding = 0) readonly buffer BufA4 { vec4 a4[]; };
#endif
layout(std430, binding = 1) readonly buffer BufB8 { uvec4 b8[]; };  // 8 halves per element
layout(std430, binding = 2) writeonly buffer BufC { float c[]; };
layout(std430, binding = 3) readonly buffer BufBias { float bias[]; };

// gemm_push of core/vulkan/vk_ops.c
layout(push_constant) uniform Push {
    uint M, N, K;
    uint a_off, a_bs, a_sm, a_sk;
    uint b_off, b_bs, b_sk, b_sn;
    uint c_off, c_bs, c_sm;
    uint bias_off, flags;
    float alpha;
} pc;

#define A_STAGE (BM * RS)
#define B_STAGE (BN * RS)
#ifndef DIRECT
shared uvec4 As[STAGES * A_STAGE];
shared uvec4 Bs[STAGES * B_STAGE];
#endif
shared float Cs[NSG * 256];

#ifndef DIRECT
uvec4 ra[CHUNKS_A];
uvec4 rb[CHUNKS_B];

// chunk e of a slice: row e / (BK/8), halves [8 (e % (BK/8)), +8) of it
void fetch(uint m0, uint n0, uint k0, uint lid) {
    [[unroll]] for (uint i = 0u; i < CHUNKS_A; i++) {
        const uint e = lid + i * NT;
        const uint m = m0 + e / (BK / 8u), k = k0 + (e % (BK / 8u)) * 8u;
        uvec4 v = uvec4(0u);
        if (m < pc.M && k < pc.K) {
#ifdef A_HALF
            v = a8[(pc.a_off + m * pc.a_sm + k) / 8u];
#else
            const uint at = (pc.a_off + m * pc.a_sm + k) / 4u;
            const vec4 lo = a4[at], hi = a4[at + 1u];
            v = uvec4(packHalf2x16(lo.xy), packHalf2x16(lo.zw), packHalf2x16(hi.xy), packHalf2x16(hi.zw));
#endif
        }
        ra[i] = v;
    }
    [[unroll]] for (uint i = 0u; i < CHUNKS_B; i++) {
        const uint e = lid + i * NT;
        const uint n = n0 + e / (BK / 8u), k = k0 + (e % (BK / 8u)) * 8u;
        rb[i] = (n < pc.N && k < pc.K) ? b8[(pc.b_off + n * pc.b_sn + k) / 8u] : uvec4(0u);
    }
}

// the registers into stage `st` of shared memory
void stash(uint lid, uint st) {
    [[unroll]] for (uint i = 0u; i < CHUNKS_A; i++) {
        const uint e = lid + i * NT;
        As[st * A_STAGE + (e / (BK / 8u)) * RS + e % (BK / 8u)] = ra[i];
    }
    [[unroll]] for (uint i = 0u; i < CHUNKS_B; i++) {
        const uint e = lid + i * NT;
        Bs[st * B_STAGE + (e / (BK / 8u)) * RS + e % (BK / 8u)] = rb[i];
    }
}
#endif

// where fragments are loaded from, and their row strides in uvec4: the staged
// slices, or (DIRECT) x16 and w16 themselves
#ifdef DIRECT
#define SRC_A a8
#define SRC_B b8
#define RS_A (pc.a_sm / 8u)
#define RS_B (pc.b_sn / 8u)
#else
#define SRC_A As
#define SRC_B Bs
#define RS_A RS
#define RS_B RS
#endif

#ifndef VT_COOP_EMULATE
#define SUBGROUP gl_SubgroupID
#define LANE gl_SubgroupInvocationID
#define ACC_T fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define ACC_ZERO ACC_T(0.0)
#define FA_T fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define FB_T fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define LOAD_A(f, at) coopMatLoadNV(f, SRC_A, at, RS_A, false)
#define LOAD_B(f, at) coopMatLoadNV(f, SRC_B, at, RS_B, true)
#define MMA(a, b, c) c = coopMatMulAddNV(a, b, c)
#define STORE_C(c, at) coopMatStoreNV(c, Cs, at, 16u, false)
#define SUBGROUP_SYNC() subgroupMemoryBarrierShared(); subgroupBarrier()
// the direct epilogue: a fragment's elements in whatever order the driver
// holds them (scaling, bias and activation do not depend on the position,
// the bias arrives as a fragment of its own)
#define ACC_LEN(c) (c).length()
#define ACC_EL(c, e) (c)[e]
#define LOAD_ACC(f, at) coopMatLoadNV(f, Cs, at, 16u, false)
#define ACC_ADD(c, f) c = (c) + (f)
#define STORE_Y(f, at, stride) coopMatStoreNV(f, c, at, stride, false)
#else
// -DVT_COOP_EMULATE: the same staging, tiling and epilogue with the fragment
// operations written out in plain GLSL, as this shader reads the NV semantics
// (A row-major and B column-major from uvec4 rows of 8 halves, element and
// stride in uvec4s; the accumulator stored row-major). The backend-ops suite
// runs this variant on lavapipe, which has no cooperative matrices, so the
// index arithmetic around the fragments is tested in CI. "Subgroups" are runs
// of 32 invocations and their barriers whole-workgroup ones.
#define SUBGROUP (gl_LocalInvocationID.x / 32u)
#define LANE (gl_LocalInvocationID.x % 32u)
// an accumulator fragment: invocation `lane` holds row lane / 2, columns
// (lane % 2) * 8 + [0, 8); an input fragment is where it lies in shared memory
struct Acc { float v[8]; };
#define ACC_T Acc
#define ACC_ZERO Acc(float[8](0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0))
#define FA_T uint
#define FB_T uint
#define LOAD_A(f, at) f = (at)
#define LOAD_B(f, at) f = (at)
#define MMA(a, b, c) c = emu_mma(a, b, c)
#define STORE_C(c, at) emu_store(c, at)
#define SUBGROUP_SYNC() barrier()

// half k of the row (A) or column (B) starting at uvec4 `at`
float half_a(uint at, uint k) {
    const vec2 h = unpackHalf2x16(SRC_A[at + k / 8u][(k % 8u) / 2u]);
    return (k % 2u) == 0u ? h.x : h.y;
}
float half_b(uint at, uint k) {
    const vec2 h = unpackHalf2x16(SRC_B[at + k / 8u][(k % 8u) / 2u]);
    return (k % 2u) == 0u ? h.x : h.y;
}

Acc emu_mma(uint a, uint b, Acc c) {
    const uint r = LANE / 2u, c0 = (LANE % 2u) * 8u;
    for (uint q = 0u; q < 8u; q++) {
        float s = c.v[q];
        for (uint k = 0u; k < 16u; k++) s += half_a(a + r * RS_A, k) * half_b(b + (c0 + q) * RS_B, k);
        c.v[q] = s;
    }
    return c;
}

void emu_store(Acc c, uint at) {
    const uint r = LANE / 2u, c0 = (LANE % 2u) * 8u;
    for (uint q = 0u; q < 8u; q++) Cs[at + r * 16u + c0 + q] = c.v[q];
}

#define ACC_LEN(c) 8
#define ACC_EL(c, e) (c).v[e]
#define LOAD_ACC(f, at) f = emu_load_acc(at)
#define ACC_ADD(c, f) for (uint q_ = 0u; q_ < 8u; q_++) c.v[q_] += f.v[q_]
#define STORE_Y(f, at, stride) emu_store_y(f, at, stride)

Acc emu_load_acc(uint at) {
    const uint r = LANE / 2u, c0 = (LANE % 2u) * 8u;
    Acc f;
    for (uint q = 0u; q < 8u; q++) f.v[q] = Cs[at + r * 16u + c0 + q];
    return f;
}

void emu_store_y(Acc f, uint at, uint stride) {
    const uint r = LANE / 2u, c0 = (LANE % 2u) * 8u;
    for (uint q = 0u; q < 8u; q++) c[at + r * stride + c0 + q] = f.v[q];
}
#endif

void main() {
    const uint lid = gl_LocalInvocationID.x;
    const uint sg = SUBGROUP, lane = LANE;
    const uint wm = sg / SG_N, wn = sg % SG_N;
    const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;

    ACC_T acc[FM][FN];
    [[unroll]] for (uint i = 0u; i < FM; i++)
        [[unroll]] for (uint j = 0u; j < FN; j++) acc[i][j] = ACC_ZERO;

#ifdef DIRECT
    // fragment rows of this subgroup in x16 and w16, in uvec4
    const uint ga = (pc.a_off + (m0 + wm * FM * 16u) * pc.a_sm) / 8u;
    const uint gb = (pc.b_off + (n0 + wn * FN * 16u) * pc.b_sn) / 8u;
    // two k-steps in flight: p* is multiplied while q* is being loaded, then
    // the other way round (named, not indexed, so they stay in registers)
    FA_T pa[FM], qa[FM];
    FB_T pb[FN], qb[FN];
    [[unroll]] for (uint i = 0u; i < FM; i++) LOAD_A(pa[i], ga + i * 16u * RS_A);
    [[unroll]] for (uint j = 0u; j < FN; j++) LOAD_B(pb[j], gb + j * 16u * RS_B);
    for (uint k0 = 0u; k0 < pc.K; k0 += 32u) {
        const uint k1 = (k0 + 16u) / 8u;
        [[unroll]] for (uint i = 0u; i < FM; i++) LOAD_A(qa[i], ga + i * 16u * RS_A + k1);
        [[unroll]] for (uint j = 0u; j < FN; j++) LOAD_B(qb[j], gb + j * 16u * RS_B + k1);
        [[unroll]] for (uint i = 0u; i < FM; i++)
            [[unroll]] for (uint j = 0u; j < FN; j++) MMA(pa[i], pb[j], acc[i][j]);
        if (k0 + 32u < pc.K) {
            const uint k2 = (k0 + 32u) / 8u;
            [[unroll]] for (uint i = 0u; i < FM; i++) LOAD_A(pa[i], ga + i * 16u * RS_A + k2);
            [[unroll]] for (uint j = 0u; j < FN; j++) LOAD_B(pb[j], gb + j * 16u * RS_B + k2);
        }
        [[unroll]] for (uint i = 0u; i < FM; i++)
            [[unroll]] for (uint j = 0u; j < FN; j++) MMA(qa[i], qb[j], acc[i][j]);
    }
#else
    fetch(m0, n0, 0u, lid);
#if STAGES == 2
    stash(lid, 0u);
    barrier();
#endif
    uint st = 0u;  // the stage holding slice k0
    for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
#if STAGES == 1
        barrier();  // the previous slice is consumed
        stash(lid, 0u);
        barrier();
#endif
        const bool more = k0 + BK < pc.K;
        if (more) fetch(m0, n0, k0 + BK, lid);
        [[unroll]] for (uint kk = 0u; kk < BK / 16u; kk++) {
            FA_T fa[FM];
            FB_T fb[FN];
            [[unroll]] for (uint i = 0u; i < FM; i++)
                LOAD_A(fa[i], st * A_STAGE + (wm * FM * 16u + i * 16u) * RS + kk * 2u);
            // B (k, n) = w[n][k]: column n of B is a row of the staged w slice
            [[unroll]] for (uint j = 0u; j < FN; j++)
                LOAD_B(fb[j], st * B_STAGE + (wn * FN * 16u + j * 16u) * RS + kk * 2u);
            [[unroll]] for (uint i = 0u; i < FM; i++)
                [[unroll]] for (uint j = 0u; j < FN; j++) MMA(fa[i], fb[j], acc[i][j]);
        }
#if STAGES == 2
        // the other stage was last read in the previous slice, which the
        // barrier ending it closed: it can take the next slice now
        if (more) stash(lid, st ^ 1u);
        barrier();
        st ^= 1u;
#endif
    }
#endif  // DIRECT

    const uint act = pc.flags & 3u;
    const bool has_bias = (pc.flags & 4u) != 0u;
    const uint r = lane / 2u, c0 = (lane % 2u) * 8u;
    const uint bm0 = m0 + wm * FM * 16u, bn0 = n0 + wn * FN * 16u;

    // Direct epilogue, where the workgroup's whole block lies inside y and y's
    // rows start 16-byte aligned (what a fragment store needs): alpha, bias
    // and activation on the fragments, stored straight into y. The bias of a
    // column block comes in as a fragment whose 16 rows are that block of the
    // bias, through the scratch, once per column block. (The condition is the
    // workgroup's, not the subgroup's: the emulated fragments' barriers are
    // the workgroup's.)
    if (m0 + BM <= pc.M && n0 + BN <= pc.N && (pc.c_off % 4u) == 0u && (pc.c_sm % 4u) == 0u) {
        [[unroll]] for (uint j = 0u; j < FN; j++) {
            ACC_T bj = ACC_ZERO;
            if (has_bias) {
                [[unroll]] for (uint q = 0u; q < 8u; q++)
                    Cs[sg * 256u + r * 16u + c0 + q] = bias[pc.bias_off + bn0 + j * 16u + c0 + q];
                SUBGROUP_SYNC();
                LOAD_ACC(bj, sg * 256u);
                SUBGROUP_SYNC();  // read before the next block's bias lands
            }
            [[unroll]] for (uint i = 0u; i < FM; i++) {
                ACC_T v = acc[i][j];
                for (int e = 0; e < ACC_LEN(v); e++) ACC_EL(v, e) *= pc.alpha;
                if (has_bias) ACC_ADD(v, bj);
                if (act != 0u)
                    for (int e = 0; e < ACC_LEN(v); e++) ACC_EL(v, e) = vt_act(ACC_EL(v, e), act);
                STORE_Y(v, pc.c_off + (bm0 + i * 16u) * pc.c_sm + bn0 + j * 16u, pc.c_sm);
            }
        }
        return;
    }

    // Edge epilogue: fragment -> scratch -> alpha, bias, activation -> y, 8
    // values per lane, each checked against y's bounds
    [[unroll]] for (uint i = 0u; i < FM; i++) {
        [[unroll]] for (uint j = 0u; j < FN; j++) {
            STORE_C(acc[i][j], sg * 256u);
            SUBGROUP_SYNC();
            const uint m = bm0 + i * 16u + r;
            const uint nb = bn0 + j * 16u + c0;
            if (m < pc.M) {
                [[unroll]] for (uint q = 0u; q < 8u; q++) {
                    const uint n = nb + q;
                    if (n >= pc.N) continue;
                    float v = pc.alpha * Cs[sg * 256u + r * 16u + c0 + q];
                    if (has_bias) v += bias[pc.bias_off + n];
                    c[pc.c_off + m * pc.c_sm + n] = vt_act(v, act);
                }
            }
            SUBGROUP_SYNC();  // the scratch is read before the next fragment lands
        }
    }
}
