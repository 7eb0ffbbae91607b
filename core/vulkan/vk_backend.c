/* The Vulkan backend object: its op table, creation (device, pipelines layouts)
 * and destruction, and the small public queries of vk_backend.h. */
#include <stdio.h>
#include <stdlib.h>

#include "vk_internal.h"

static void vk_destroy(vt_backend *be) {
    vt_vk *vk = vt_vk_of(be);
    if (!vk) return;
    if (vk->dev) {
        /* queued work may still reference buffers: finish it first */
        if (vk->recording && !vk->lost) (void)vt_vk_synchronize(be);
        (void)vkDeviceWaitIdle(vk->dev);
        vt_vk_free_garbage(vk);
        vt_vk_half_destroy(vk);
        vt_vk_peak_destroy(vk);
        vt_vk_buf_destroy(vk, &vk->x16);
        vt_vk_staging_destroy(vk);
        vt_vk_pipelines_destroy(vk);
    }
    free(vk->garbage);
    vt_vk_device_close(vk);
    free(vk);
}

static const struct vt_backend_iface vk_iface = {
    .name = "vulkan",
    .destroy = vk_destroy,
    .buffer_alloc = vt_vk_buffer_alloc,
    .buffer_free = vt_vk_buffer_free,
    .upload = vt_vk_upload,
    .download = vt_vk_download,
    .synchronize = vt_vk_synchronize,
    .linear = vt_vk_linear,
    .matmul_batched = vt_vk_matmul_batched,
    .layernorm = vt_vk_layernorm,
    .rmsnorm = vt_vk_rmsnorm,
    .modulate = vt_vk_modulate,
    .gated_add = vt_vk_gated_add,
    .softmax = vt_vk_softmax,
    .activation = vt_vk_activation,
    .binary = vt_vk_binary,
    .scale = vt_vk_scale,
    .patchify = vt_vk_patchify,
    .unpatchify = vt_vk_unpatchify,
    .conv2d = vt_vk_conv2d,
    .upsample_nearest = vt_vk_upsample_nearest,
    .attention = vt_vk_attention,
};

vt_backend *vt_backend_vulkan_create(vt_context *ctx, int device_index) {
    vt_vk *vk = calloc(1, sizeof *vk);
    if (!vk) {
        vt_error(ctx, VT_E_NOMEM, "vulkan: out of host memory for the backend");
        return NULL;
    }
    vk->base.iface = &vk_iface;
    vk->base.ctx = ctx;
    int rc = vt_vk_device_open(vk, device_index);
    if (!rc) rc = vt_vk_pipelines_init(vk);
    if (!rc) rc = vt_vk_matmul_init(vk);
    if (rc) {
        /* keep the failure's message: destruction must not overwrite it */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", vt_context_error(ctx));
        vk_destroy(&vk->base);
        vt_error(ctx, rc, "%s", msg);
        return NULL;
    }
    vt_log(ctx, VT_LOG_INFO, "vulkan: %s (%s memory; linear on %s; cooperative matrix: %s)", vk->props.deviceName,
           vk->device_mapped ? "mapped device" : "device-local + staging", vt_vk_path_name(vt_backend_vulkan_linear_path(&vk->base)),
           vk->coop_why);
    return &vk->base;
}

int vt_backend_vulkan_validation_messages(vt_backend *be, char *msg, size_t cap) {
    if (!be || be->iface != &vk_iface) return 0;
    vt_vk *vk = vt_vk_of(be);
    if (msg && cap) snprintf(msg, cap, "%s", vk->n_messages ? vk->first_message : "");
    return vk->n_messages;
}

const char *vt_backend_vulkan_device_name(vt_backend *be) {
    if (!be || be->iface != &vk_iface) return "";
    return vt_vk_of(be)->props.deviceName;
}
