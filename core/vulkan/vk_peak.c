/* The throughput of the driver's cooperative-matrix MulAdd alone
 * (shaders/coop_peak.comp), the ceiling gemm_coop.comp is read against
 * (vt-bench-gpu peak): one dispatch per call, recorded like an op. */
#include <stdlib.h>

#include "rng.h"
#include "tensor.h"
#include "vk_internal.h"

#define PEAK_IN_HALVES (256 * 256)        /* coop_peak.comp's ROWS rows of NS slices of 32 halves */
#define PEAK_GROUP_BYTES (4 * 16 * 1024)  /* output per workgroup: 4 subgroups x 16 f32 fragments */

typedef struct peak_push {
    uint32_t iters;
} peak_push;

/* The input (made once: small random halves, so sums stay far from overflow
 * and the tensor cores see data, not zeros) and an output of at least
 * out_bytes. */
static int peak_buffers(vt_vk *vk, VkDeviceSize out_bytes) {
    int rc;
    if (!vk->peak_in.buf) {
        float *u = malloc(PEAK_IN_HALVES * sizeof *u);
        uint16_t *h = malloc(PEAK_IN_HALVES * sizeof *h);
        if (!u || !h) {
            free(u), free(h);
            return vt_error(vk->base.ctx, VT_E_NOMEM, "vulkan: out of host memory for the coop peak's input");
        }
        vt_rng_uniform(5, 0, 0, u, PEAK_IN_HALVES);
        for (int i = 0; i < PEAK_IN_HALVES; i++) h[i] = vt_f32_to_f16((u[i] - 0.5f) * 0.004f);
        vt_vk_buf in;
        rc = vt_vk_buf_create(vk, PEAK_IN_HALVES * sizeof *h, vk->mem_device, 0, &in);
        if (!rc) {
            /* recorded, not written through a mapping: ordered with the queue
             * like an upload, and the data is copied into the command buffer */
            const vt_vk_range acc = {.buf = in.buf, .lo = 0, .hi = in.size, .write = 1};
            if ((rc = vt_vk_begin_command(vk, &acc, 1))) {
                vt_vk_buf_destroy(vk, &in);
            } else {
                /* vkCmdUpdateBuffer takes 64 KiB at most */
                for (size_t o = 0; o < PEAK_IN_HALVES * sizeof *h; o += 65536)
                    vkCmdUpdateBuffer(vk->cmd, in.buf, o, 65536, (const char *)h + o);
                vk->pending++;
                vk->peak_in = in;
            }
        }
        free(u), free(h);
        if (rc) return rc;
    }
    if (vk->peak_out.size < out_bytes) {
        if (vk->peak_out.buf && (rc = vt_vk_buf_release(vk, &vk->peak_out))) return rc;
        if ((rc = vt_vk_buf_create(vk, out_bytes, vk->mem_device, 0, &vk->peak_out))) return rc;
    }
    return VT_OK;
}

int vt_backend_vulkan_coop_peak(vt_backend *be, int mode, uint32_t iters, uint32_t groups, double *flops) {
    vt_vk *vk = vt_vk_of(be);
    int rc;
    if (flops) *flops = 0;
    if (mode < 0 || mode >= VT_VK_PEAK_MODES)
        return vt_error(be->ctx, VT_E_INVALID, "vulkan: coop peak: mode %d is not 0..%d", mode, VT_VK_PEAK_MODES - 1);
    const vt_vk_shader sh = (vt_vk_shader)(VT_VK_SH_COOP_PEAK_0 + mode);
    if ((rc = vt_vk_health(vk, "coop_peak"))) return rc;
    /* the shader needs what the coop GEMM needs (subgroups of 32, the 16x16x16
     * shape, the extension enabled), which coop_ok vouches for */
    if (!vk->coop_ok)
        return vt_error(be->ctx, VT_E_UNSUPPORTED, "vulkan: no cooperative-matrix path on %s: %s", vk->props.deviceName,
                        vk->coop_why);
    if (!vt_vk_shader_built(sh))
        return vt_error(be->ctx, VT_E_UNSUPPORTED, "vulkan: this build lacks the coop peak shader of mode %d", mode);
    const VkDeviceSize out_bytes = (VkDeviceSize)groups * PEAK_GROUP_BYTES;
    if (out_bytes > vk->props.limits.maxStorageBufferRange)
        return vt_error(be->ctx, VT_E_UNSUPPORTED,
                        "vulkan: coop peak: %u workgroups write %llu bytes; %s binds %u at most", groups,
                        (unsigned long long)out_bytes, vk->props.deviceName, vk->props.limits.maxStorageBufferRange);
    if (groups == 0) return VT_OK;
    if ((rc = peak_buffers(vk, out_bytes))) return rc;
    const vt_vk_binding bd[2] = {{.buf = &vk->peak_in, .offset = 0, .range = vk->peak_in.size},
                                 {.buf = &vk->peak_out, .offset = 0, .range = out_bytes}};
    const peak_push p = {iters};
    if ((rc = vt_vk_dispatch(vk, sh, NULL, bd, &p, sizeof p, groups, 1, 1))) return rc;
    /* per subgroup and iteration 16 MulAdds of 16x16x16 (a GEMM slice: 32) */
    if (flops) *flops = (double)groups * 4 * iters * (mode >= 2 && mode <= 4 ? 32 : 16) * 2 * 16 * 16 * 16;
    return VT_OK;
}

void vt_vk_peak_destroy(vt_vk *vk) {
    vt_vk_buf_destroy(vk, &vk->peak_in);
    vt_vk_buf_destroy(vk, &vk->peak_out);
}
