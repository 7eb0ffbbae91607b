// The throughput of GL_NV_cooperative_matrix MulAdd alone, and then with the
// pieces of gemm_coop.comp added one at a time, so that the GEMM's distance
// from the driver's ceiling can be put on its parts (vt_backend_vulkan_coop_peak,
// vt-bench-gpu peak). A workgroup of 4 subgroups (2 x 2, gemm_coop's coop_8
// block of 128x128), each holding 4 x 4 f32 accumulator fragments and 4 A + 4
// B f16 fragments of 16x16:
//   MODE 0  the input fragments loaded once from the buffer, then pc.iters
//           iterations of 16 MulAdds: MulAdds only;
//   MODE 1  the 8 input fragments reloaded every iteration from shared memory
//           staged as gemm_coop stages a slice (rows of 32 halves padded by 8),
//           at k 0 and 16 in turn so the loads cannot leave the loop;
//   MODE 2  an iteration is one 32-deep slice of the GEMM: barrier, the
//           slice's 128 + 128 rows written to shared memory from registers
//           (the same registers every time), barrier, then 2 x (8 fragment
//           loads + 16 MulAdds);
//   MODE 3  as 2, and the next slice read from the buffer (f16, 8 slices
//           in turn, so from L2) into those registers while the slice computes;
//   MODE 4  as 3 with A read as f32 and rounded to f16 on the way, as
//           gemm_coop reads x.
//   MODE 5  no shared memory: the 8 input fragments loaded every iteration
//           straight from the buffer (128 KiB in all, so from L1 or L2), at
//           k 0, 16, ..., 240 in turn: gemm_coop's DIRECT variants' ceiling.
// Modes 2-4 are gemm_coop's variant 8 without its bounds checks and epilogue.
// Nothing here computes a meaningful product; each subgroup stores its 16
// accumulators at a place of its own (64 KiB per workgroup), so every MulAdd
// is live (not their sum: spirv-opt 2022.4, Debian 12's, crashes folding an
// addition of cooperative matrices).
#version 450
#pragma use_vulkan_memory_model
#extension GL_NV_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_control_flow_attributes : require

#ifndef MODE
#define MODE 0
#endif
#define F 4u              // fragments per subgroup along m and along n
#define ROWS 256u         // input rows: 128 of A, 128 of B
#define RW 4u             // a row of 32 halves in the buffer, in uvec4 (modes 0-1)
#define RS 5u             // a row of 32 halves in shared memory, padded by 8 halves
#define NS 8u             // slices of the input matrices (modes 3-4)
#define KW (NS * RW)      // an input row of NS slices, in uvec4 (modes 2-4)
#define NT 128u
#define CH (128u * RW / NT)  // uvec4 chunks of one 128-row operand slice per invocation

layout(local_size_x = NT) in;

// vk_peak.c's input: modes 0-3 read halves (256 rows of KW uvec4), mode 4 reads
// A's rows as floats from the same bytes (128 rows of NS * 32 floats)
layout(std430, binding = 0) readonly buffer BufIn { uvec4 in8[]; };  // 8 halves per element
layout(std430, binding = 0) readonly buffer BufIn4 { vec4 in4[]; };
layout(std430, binding = 1) writeonly buffer BufOut { float o[]; };

// vk_peak.c's peak_push
layout(push_constant) uniform Push {
    uint iters;
} pc;

#define ACC_T fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define FH_T fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>

#if MODE >= 1 && MODE <= 4
shared uvec4 S[ROWS * RS];
#endif
#if MODE >= 2 && MODE <= 4
uvec4 ra[CH], rb[CH];

// chunk e of a slice: row e / RW, halves [8 (e % RW), +8) of slice s
void fetch(uint s, uint lid) {
    [[unroll]] for (uint i = 0u; i < CH; i++) {
        const uint e = lid + i * NT, r = e / RW, c = e % RW;
#if MODE == 4
        const uint at = (r * NS * 32u + s * 32u + c * 8u) / 4u;
        const vec4 lo = in4[at], hi = in4[at + 1u];
        ra[i] = uvec4(packHalf2x16(lo.xy), packHalf2x16(lo.zw), packHalf2x16(hi.xy), packHalf2x16(hi.zw));
#else
        ra[i] = in8[r * KW + s * RW + c];
#endif
        rb[i] = in8[(128u + r) * KW + s * RW + c];
    }
}
#endif

void main() {
    const uint lid = gl_LocalInvocationID.x;
    const uint sg = gl_SubgroupID, wm = sg / 2u, wn = sg % 2u;
    const uint row_a = wm * F * 16u, row_b = 128u + wn * F * 16u;

    ACC_T acc[F][F];
    [[unroll]] for (uint i = 0u; i < F; i++)
        [[unroll]] for (uint j = 0u; j < F; j++) acc[i][j] = ACC_T(0.0);
    FH_T fa[F], fb[F];

#if MODE == 0
    [[unroll]] for (uint i = 0u; i < F; i++) coopMatLoadNV(fa[i], in8, (row_a + i * 16u) * RW, RW, false);
    [[unroll]] for (uint j = 0u; j < F; j++) coopMatLoadNV(fb[j], in8, (row_b + j * 16u) * RW, RW, true);
    for (uint it = 0u; it < pc.iters; it++) {
        [[unroll]] for (uint i = 0u; i < F; i++)
            [[unroll]] for (uint j = 0u; j < F; j++) acc[i][j] = coopMatMulAddNV(fa[i], fb[j], acc[i][j]);
    }
#elif MODE == 1
    for (uint e = lid; e < ROWS * RW; e += NT) S[(e / RW) * RS + e % RW] = in8[e];
    barrier();
    for (uint it = 0u; it < pc.iters; it++) {
        const uint k = (it & 1u) * 2u;  // halves 0 or 16 of each row
        [[unroll]] for (uint i = 0u; i < F; i++) coopMatLoadNV(fa[i], S, (row_a + i * 16u) * RS + k, RS, false);
        [[unroll]] for (uint j = 0u; j < F; j++) coopMatLoadNV(fb[j], S, (row_b + j * 16u) * RS + k, RS, true);
        [[unroll]] for (uint i = 0u; i < F; i++)
            [[unroll]] for (uint j = 0u; j < F; j++) acc[i][j] = coopMatMulAddNV(fa[i], fb[j], acc[i][j]);
    }
#elif MODE == 5
    for (uint it = 0u; it < pc.iters; it++) {
        const uint k = (it % (NS * 2u)) * 2u;  // uvec4 column of a 16-deep step
        [[unroll]] for (uint i = 0u; i < F; i++) coopMatLoadNV(fa[i], in8, (row_a + i * 16u) * KW + k, KW, false);
        [[unroll]] for (uint j = 0u; j < F; j++) coopMatLoadNV(fb[j], in8, (row_b + j * 16u) * KW + k, KW, true);
        [[unroll]] for (uint i = 0u; i < F; i++)
            [[unroll]] for (uint j = 0u; j < F; j++) acc[i][j] = coopMatMulAddNV(fa[i], fb[j], acc[i][j]);
    }
#else
    fetch(0u, lid);
    for (uint it = 0u; it < pc.iters; it++) {
        barrier();  // the previous slice is consumed
        [[unroll]] for (uint i = 0u; i < CH; i++) {
            const uint e = lid + i * NT;
            S[(e / RW) * RS + e % RW] = ra[i];
            S[(128u + e / RW) * RS + e % RW] = rb[i];
        }
        barrier();
#if MODE >= 3
        fetch((it + 1u) % NS, lid);
#endif
        [[unroll]] for (uint kk = 0u; kk < 2u; kk++) {
            [[unroll]] for (uint i = 0u; i < F; i++) coopMatLoadNV(fa[i], S, (row_a + i * 16u) * RS + kk * 2u, RS, false);
            [[unroll]] for (uint j = 0u; j < F; j++) coopMatLoadNV(fb[j], S, (row_b + j * 16u) * RS + kk * 2u, RS, true);
            [[unroll]] for (uint i = 0u; i < F; i++)
                [[unroll]] for (uint j = 0u; j < F; j++) acc[i][j] = coopMatMulAddNV(fa[i], fb[j], acc[i][j]);
        }
    }
#endif

    const uint at = (gl_WorkGroupID.x * 4u + sg) * F * F * 256u;
    [[unroll]] for (uint i = 0u; i < F; i++)
        [[unroll]] for (uint j = 0u; j < F; j++) coopMatStoreNV(acc[i][j], o, at + (i * F + j) * 256u, 16u, false);
}
