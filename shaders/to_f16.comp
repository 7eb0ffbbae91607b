// f32 -> f16 copy of a weight tensor, made once when a linear layer first runs
// with f16 weights (core/vulkan/vk_half.c); a grid-stride loop over n values.
#version 450
#extension GL_EXT_shader_16bit_storage : require

layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) writeonly buffer BufH { float16_t h[]; };

layout(push_constant) uniform Push {
    uint n, x_off;
} pc;

void main() {
    const uint stride = gl_NumWorkGroups.x * 256u;
    for (uint i = gl_GlobalInvocationID.x; i < pc.n; i += stride) h[i] = float16_t(x[pc.x_off + i]);
}
