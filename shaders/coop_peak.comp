// The throughput of GL_NV_cooperative_matrix MulAdd alone, against which
// gemm_coop.comp is measured (vt_backend_vulkan_coop_peak, vt-bench-gpu peak).
// A workgroup of 4 subgroups (2 x 2, as gemm_coop's coop_8 block of 128x128),
// each holding 4 x 4 f32 accumulator fragments and 4 A + 4 B f16 fragments of
// 16x16, runs pc.iters iterations of its 16 MulAdds:
//   MODE 0  the input fragments loaded once from the buffer: MulAdds only;
//   MODE 1  the 8 input fragments reloaded every iteration from shared memory
//           staged as gemm_coop stages a slice (rows of 32 halves padded by 8),
//           at k 0 and 16 in turn so the loads cannot leave the loop.
// The input buffer holds 256 rows of 32 halves: A rows 0-127, B rows 128-255
// (w's layout: a row of it is a column of B). Each subgroup stores its 16
// accumulators at a place of its own (64 KiB per workgroup), so every MulAdd
// is live; not their sum, since spirv-opt 2022.4 (Debian 12) crashes folding
// an addition of cooperative matrices.
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
#define RW 4u             // a row of 32 halves in the buffer, in uvec4
#define RS 5u             // the same row in shared memory, padded by 8 halves

layout(local_size_x = 128) in;

layout(std430, binding = 0) readonly buffer BufIn { uvec4 in8[]; };  // 8 halves per element
layout(std430, binding = 1) writeonly buffer BufOut { float o[]; };

// vk_peak.c's peak_push
layout(push_constant) uniform Push {
    uint iters;
} pc;

#define ACC_T fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define FH_T fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>

#if MODE == 1
shared uvec4 S[ROWS * RS];
#endif

void main() {
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
#else
    for (uint e = gl_LocalInvocationID.x; e < ROWS * RW; e += 128u) S[(e / RW) * RS + e % RW] = in8[e];
    barrier();
    for (uint it = 0u; it < pc.iters; it++) {
        const uint k = (it & 1u) * 2u;  // halves 0 or 16 of each row
        [[unroll]] for (uint i = 0u; i < F; i++) coopMatLoadNV(fa[i], S, (row_a + i * 16u) * RS + k, RS, false);
        [[unroll]] for (uint j = 0u; j < F; j++) coopMatLoadNV(fb[j], S, (row_b + j * 16u) * RS + k, RS, true);
        [[unroll]] for (uint i = 0u; i < F; i++)
            [[unroll]] for (uint j = 0u; j < F; j++) acc[i][j] = coopMatMulAddNV(fa[i], fb[j], acc[i][j]);
    }
#endif

    const uint at = (gl_WorkGroupID.x * 4u + sg) * F * F * 256u;
    [[unroll]] for (uint i = 0u; i < F; i++)
        [[unroll]] for (uint j = 0u; j < F; j++) coopMatStoreNV(acc[i][j], o, at + (i * F + j) * 256u, 16u, false);
}
