// Nearest upsampling of (planes, H, W) by an integer factor; one invocation per
// output element.
#version 450

layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer BufX { float x[]; };
layout(std430, binding = 1) writeonly buffer BufY { float y[]; };

layout(push_constant) uniform Push {
    uint total, H, W, f, x_off, y_off;
} pc;

void main() {
    const uint stride = gl_NumWorkGroups.x * 256u;
    const uint Hf = pc.H * pc.f, Wf = pc.W * pc.f;
    for (uint e = gl_GlobalInvocationID.x; e < pc.total; e += stride) {
        uint w = e % Wf, h = (e / Wf) % Hf, pl = e / (Wf * Hf);
        y[pc.y_off + e] = x[pc.x_off + (pl * pc.H + h / pc.f) * pc.W + w / pc.f];
    }
}
