/* Compute pipelines and the command stream: shader modules from the embedded
 * SPIR-V and pipelines per (shader, specialisation) created on first use and
 * cached; descriptor sets from pools recycled at every fence; one command buffer
 * that ops record into (with a barrier between commands) and that
 * vt_vk_synchronize submits and waits for. */
#include <stdlib.h>
#include <string.h>

#include "vk_internal.h"
#include "vk_spirv.h"

#define SETS_PER_POOL 256

static const struct {
    const char *name;  /* the variant's name in shaders/meson.build */
    int bindings;
    int n_spec;
    unsigned writes;   /* bit i: binding i is written (for barrier tracking) */
} shader_info[VT_VK_SH_COUNT] = {
    [VT_VK_SH_CONV2D] = {"conv2d", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_L] = {"gemm_l", 4, 4, 1u << 2},
    [VT_VK_SH_GEMM_M] = {"gemm_m", 4, 4, 1u << 2},
    [VT_VK_SH_GEMM_S] = {"gemm_s", 4, 4, 1u << 2},
    [VT_VK_SH_GEMM_L_H] = {"gemm_l_h", 4, 4, 1u << 2},
    [VT_VK_SH_GEMM_M_H] = {"gemm_m_h", 4, 4, 1u << 2},
    [VT_VK_SH_GEMM_S_H] = {"gemm_s_h", 4, 4, 1u << 2},
    [VT_VK_SH_GEMM_X] = {"gemm_x", 4, 4, 1u << 2},
    [VT_VK_SH_GEMM_W] = {"gemm_w", 4, 4, 1u << 2},
    [VT_VK_SH_GEMM_X_H] = {"gemm_x_h", 4, 4, 1u << 2},
    [VT_VK_SH_GEMM_W_H] = {"gemm_w_h", 4, 4, 1u << 2},
    [VT_VK_SH_GEMV] = {"gemv", 4, 1, 1u << 2},
    [VT_VK_SH_GEMV_H] = {"gemv_h", 4, 1, 1u << 2},
    [VT_VK_SH_GEMM_COOP_L] = {"gemm_coop_l", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_S] = {"gemm_coop_s", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_2] = {"gemm_coop_2", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_3] = {"gemm_coop_3", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_4] = {"gemm_coop_4", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_5] = {"gemm_coop_5", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_6] = {"gemm_coop_6", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_7] = {"gemm_coop_7", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_8] = {"gemm_coop_8", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_9] = {"gemm_coop_9", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_6H] = {"gemm_coop_6h", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_2H] = {"gemm_coop_2h", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_D8] = {"gemm_coop_d8", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_D2] = {"gemm_coop_d2", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_D6] = {"gemm_coop_d6", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_D4] = {"gemm_coop_d4", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_D1] = {"gemm_coop_d1", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_EMU_L] = {"gemm_coop_emu_l", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_EMU_S] = {"gemm_coop_emu_s", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_EMU_6] = {"gemm_coop_emu_6", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_EMU_7] = {"gemm_coop_emu_7", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_EMU_8] = {"gemm_coop_emu_8", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_EMU_6H] = {"gemm_coop_emu_6h", 4, 0, 1u << 2},
    [VT_VK_SH_GEMM_COOP_EMU_D6] = {"gemm_coop_emu_d6", 4, 0, 1u << 2},
    [VT_VK_SH_COOP_PEAK_0] = {"coop_peak_0", 2, 0, 1u << 1},
    [VT_VK_SH_COOP_PEAK_1] = {"coop_peak_1", 2, 0, 1u << 1},
    [VT_VK_SH_COOP_PEAK_2] = {"coop_peak_2", 2, 0, 1u << 1},
    [VT_VK_SH_COOP_PEAK_3] = {"coop_peak_3", 2, 0, 1u << 1},
    [VT_VK_SH_COOP_PEAK_4] = {"coop_peak_4", 2, 0, 1u << 1},
    [VT_VK_SH_COOP_PEAK_5] = {"coop_peak_5", 2, 0, 1u << 1},
    [VT_VK_SH_TO_F16] = {"to_f16", 2, 0, 1u << 1},
    [VT_VK_SH_ROWNORM] = {"rownorm", 4, 0, 1u << 1},
    [VT_VK_SH_SOFTMAX] = {"softmax", 2, 0, 1u << 1},
    [VT_VK_SH_ELTWISE] = {"eltwise", 4, 0, 1u << 0},
    [VT_VK_SH_PATCH] = {"patch", 2, 0, 3u}, /* x or tokens, by direction */
    [VT_VK_SH_UPSAMPLE] = {"upsample", 2, 0, 1u << 1},
    [VT_VK_SH_ATTN_FULL] = {"attn_full", 5, 3, 1u << 3},
    [VT_VK_SH_ATTN_WINDOW] = {"attn_window", 4, 2, 1u << 3},
};

int vt_vk_shader_built(vt_vk_shader sh) {
    for (int i = 0; i < vt_spirv_count; i++)
        if (strcmp(vt_spirv_blobs[i].name, shader_info[sh].name) == 0) return 1;
    return 0;
}

int vt_vk_pipelines_init(vt_vk *vk) {
    VkDescriptorSetLayoutBinding b[VT_VK_MAX_BINDINGS];
    for (int i = 0; i < VT_VK_MAX_BINDINGS; i++)
        b[i] = (VkDescriptorSetLayoutBinding){.binding = (uint32_t)i,
                                              .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                              .descriptorCount = 1,
                                              .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkPushConstantRange pr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = VT_VK_PUSH_BYTES};
    for (int n = 1; n <= VT_VK_MAX_BINDINGS; n++) {
        VkDescriptorSetLayoutCreateInfo sci = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
            .flags = vk->push_set ? VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR : 0,
            .bindingCount = (uint32_t)n,
            .pBindings = b};
        int rc = vt_vk_result(vk, vkCreateDescriptorSetLayout(vk->dev, &sci, NULL, &vk->set_layout[n]),
                              "vkCreateDescriptorSetLayout");
        if (rc) return rc;
        VkPipelineLayoutCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                          .setLayoutCount = 1,
                                          .pSetLayouts = &vk->set_layout[n],
                                          .pushConstantRangeCount = 1,
                                          .pPushConstantRanges = &pr};
        if ((rc = vt_vk_result(vk, vkCreatePipelineLayout(vk->dev, &pci, NULL, &vk->pipe_layout[n]),
                               "vkCreatePipelineLayout")))
            return rc;
    }
    return VT_OK;
}

void vt_vk_pipelines_destroy(vt_vk *vk) {
    if (!vk->dev) return;
    for (int i = 0; i < vk->n_pipes; i++) vkDestroyPipeline(vk->dev, vk->pipes[i].pipe, NULL);
    free(vk->pipes);
    vk->pipes = NULL;
    vk->n_pipes = vk->cap_pipes = 0;
    for (int i = 0; i < VT_VK_SH_COUNT; i++)
        if (vk->modules[i]) vkDestroyShaderModule(vk->dev, vk->modules[i], NULL);
    for (int n = 0; n <= VT_VK_MAX_BINDINGS; n++) {
        if (vk->pipe_layout[n]) vkDestroyPipelineLayout(vk->dev, vk->pipe_layout[n], NULL);
        if (vk->set_layout[n]) vkDestroyDescriptorSetLayout(vk->dev, vk->set_layout[n], NULL);
    }
    for (int i = 0; i < vk->n_dpools; i++) vkDestroyDescriptorPool(vk->dev, vk->dpools[i], NULL);
    free(vk->dpools);
    vk->dpools = NULL;
    vk->n_dpools = 0;
}

static int get_module(vt_vk *vk, vt_vk_shader sh, VkShaderModule *out) {
    if (!vk->modules[sh]) {
        const vt_spirv_blob *blob = NULL;
        for (int i = 0; i < vt_spirv_count; i++)
            if (strcmp(vt_spirv_blobs[i].name, shader_info[sh].name) == 0) blob = &vt_spirv_blobs[i];
        if (!blob)
            return vt_error(vk->base.ctx, VT_E_UNSUPPORTED, "vulkan: shader %s is not in this build", shader_info[sh].name);
        VkShaderModuleCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                       .codeSize = blob->size,
                                       .pCode = blob->code};
        int rc = vt_vk_result(vk, vkCreateShaderModule(vk->dev, &ci, NULL, &vk->modules[sh]), "vkCreateShaderModule");
        if (rc) {
            vk->modules[sh] = VK_NULL_HANDLE;
            return rc;
        }
    }
    *out = vk->modules[sh];
    return VT_OK;
}

static int get_pipeline(vt_vk *vk, vt_vk_shader sh, const uint32_t *spec_in, VkPipeline *out) {
    uint32_t spec[VT_VK_MAX_SPEC] = {0};
    const int ns = shader_info[sh].n_spec;
    for (int i = 0; i < ns; i++) spec[i] = spec_in[i];
    for (int i = 0; i < vk->n_pipes; i++)
        if (vk->pipes[i].shader == (int)sh && memcmp(vk->pipes[i].spec, spec, sizeof spec) == 0) {
            *out = vk->pipes[i].pipe;
            return VT_OK;
        }
    VkShaderModule mod = VK_NULL_HANDLE;
    int rc = get_module(vk, sh, &mod);
    if (rc) return rc;
    if (vk->n_pipes == vk->cap_pipes) {
        int cap = vk->cap_pipes ? 2 * vk->cap_pipes : 16;
        vt_vk_pipe *p = realloc(vk->pipes, (size_t)cap * sizeof *p);
        if (!p) return vt_error(vk->base.ctx, VT_E_NOMEM, "vulkan: out of host memory for the pipeline cache");
        vk->pipes = p;
        vk->cap_pipes = cap;
    }
    VkSpecializationMapEntry me[VT_VK_MAX_SPEC];
    for (int i = 0; i < ns; i++)
        me[i] = (VkSpecializationMapEntry){.constantID = (uint32_t)i, .offset = (uint32_t)(i * 4), .size = 4};
    VkSpecializationInfo si = {.mapEntryCount = (uint32_t)ns, .pMapEntries = me, .dataSize = (size_t)ns * 4, .pData = spec};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = mod,
                  .pName = "main",
                  .pSpecializationInfo = ns ? &si : NULL},
        .layout = vk->pipe_layout[shader_info[sh].bindings]};
    VkPipeline pipe = VK_NULL_HANDLE;
    if ((rc = vt_vk_result(vk, vkCreateComputePipelines(vk->dev, VK_NULL_HANDLE, 1, &ci, NULL, &pipe),
                           "vkCreateComputePipelines")))
        return rc;
    vt_vk_pipe *np = &vk->pipes[vk->n_pipes++];
    np->shader = (int)sh;
    memcpy(np->spec, spec, sizeof spec);
    np->pipe = pipe;
    *out = pipe;
    return VT_OK;
}

/* A descriptor set for `n` bindings, from the current pool or a new one. */
static int alloc_set(vt_vk *vk, int n, VkDescriptorSet *out) {
    for (;;) {
        if (vk->cur_dpool < vk->n_dpools) {
            VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                              .descriptorPool = vk->dpools[vk->cur_dpool],
                                              .descriptorSetCount = 1,
                                              .pSetLayouts = &vk->set_layout[n]};
            VkResult r = vkAllocateDescriptorSets(vk->dev, &ai, out);
            if (r == VK_SUCCESS) return VT_OK;
            if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL)
                return vt_vk_result(vk, r, "vkAllocateDescriptorSets");
            vk->cur_dpool++;
            continue;
        }
        VkDescriptorPool *p = realloc(vk->dpools, (size_t)(vk->n_dpools + 1) * sizeof *p);
        if (!p) return vt_error(vk->base.ctx, VT_E_NOMEM, "vulkan: out of host memory for descriptor pools");
        vk->dpools = p;
        VkDescriptorPoolSize ps = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                   .descriptorCount = SETS_PER_POOL * VT_VK_MAX_BINDINGS};
        VkDescriptorPoolCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                         .maxSets = SETS_PER_POOL,
                                         .poolSizeCount = 1,
                                         .pPoolSizes = &ps};
        int rc = vt_vk_result(vk, vkCreateDescriptorPool(vk->dev, &ci, NULL, &vk->dpools[vk->n_dpools]),
                              "vkCreateDescriptorPool");
        if (rc) return rc;
        vk->cur_dpool = vk->n_dpools++;
    }
}

static int overlaps(const vt_vk_range *a, const vt_vk_range *b) {
    return a->buf == b->buf && a->lo < b->hi && b->lo < a->hi && (a->write || b->write);
}

int vt_vk_begin_command(vt_vk *vk, const vt_vk_range *acc, int n) {
    if (!vk->recording) {
        VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                       .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
        int rc = vt_vk_result(vk, vkBeginCommandBuffer(vk->cmd, &bi), "vkBeginCommandBuffer");
        if (rc) return rc;
        vk->recording = 1;
        vk->pending = 0;
        vk->n_live = 0;
    }
    vk->n_commands++;
    int need = vk->pending && (vk->all_barriers || vk->n_live + n > VT_VK_MAX_LIVE);
    for (int i = 0; !need && i < n; i++)
        for (int j = 0; !need && j < vk->n_live; j++) need = overlaps(&acc[i], &vk->live[j]);
    if (need) {
        /* A full barrier, since commands mix compute and transfer and the ranges
         * are conservative anyway (bindings start at aligned offsets and strided
         * views cover their gaps). Between a DiT block's ops it is needed almost
         * everywhere; it is skipped between independent ones such as the six
         * adaLN products of a block. */
        VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                              .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
                                               VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT,
                              .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                               VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
        const VkPipelineStageFlags st = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
        vkCmdPipelineBarrier(vk->cmd, st, st, 0, 1, &mb, 0, NULL, 0, NULL);
        vk->n_barriers++;
        vk->n_live = 0;
    }
    for (int i = 0; i < n && vk->n_live < VT_VK_MAX_LIVE; i++) vk->live[vk->n_live++] = acc[i];
    return VT_OK;
}

int vt_vk_dispatch(vt_vk *vk, vt_vk_shader shader, const uint32_t *spec, const vt_vk_binding *binds, const void *push,
                   uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz) {
    int rc;
    const char *name = shader_info[shader].name;
    const uint32_t *lim = vk->props.limits.maxComputeWorkGroupCount;
    if (gx == 0 || gy == 0 || gz == 0) return VT_OK;
    if (gx > lim[0] || gy > lim[1] || gz > lim[2])
        return vt_error(vk->base.ctx, VT_E_UNSUPPORTED, "vulkan: %s needs %u x %u x %u workgroups; the device allows %u x %u x %u",
                        name, gx, gy, gz, lim[0], lim[1], lim[2]);
    if (push_bytes > VT_VK_PUSH_BYTES)
        return vt_error(vk->base.ctx, VT_E_INVALID, "vulkan: %s: %u bytes of push constants", name, push_bytes);
    VkPipeline pipe = VK_NULL_HANDLE;
    VkDescriptorSet set = VK_NULL_HANDLE;
    const int nb = shader_info[shader].bindings;
    if ((rc = get_pipeline(vk, shader, spec, &pipe)) || (!vk->push_set && (rc = alloc_set(vk, nb, &set)))) return rc;
    VkDescriptorBufferInfo bi[VT_VK_MAX_BINDINGS];
    VkWriteDescriptorSet wr[VT_VK_MAX_BINDINGS];
    for (int i = 0; i < nb; i++) {
        bi[i] = (VkDescriptorBufferInfo){.buffer = binds[i].buf->buf, .offset = binds[i].offset, .range = binds[i].range};
        wr[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                       .dstSet = set,
                                       .dstBinding = (uint32_t)i,
                                       .descriptorCount = 1,
                                       .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                       .pBufferInfo = &bi[i]};
    }
    if (!vk->push_set) vkUpdateDescriptorSets(vk->dev, (uint32_t)nb, wr, 0, NULL);
    vt_vk_range acc[VT_VK_MAX_BINDINGS];
    for (int i = 0; i < nb; i++) {
        const int w = (shader_info[shader].writes >> i) & 1;
        const int exact = binds[i].hi > binds[i].lo;
        acc[i] = (vt_vk_range){.buf = binds[i].buf->buf,
                               .lo = exact ? binds[i].lo : binds[i].offset,
                               .hi = exact ? binds[i].hi : binds[i].offset + binds[i].range,
                               .write = w};
        if (w) {
            /* the binding is const for the op; the version is the backend's bookkeeping */
            vt_vk_buf *wb = (vt_vk_buf *)binds[i].buf;
            wb->version++;
            wb->gpu_written = 1;
        }
    }
    if ((rc = vt_vk_begin_command(vk, acc, nb))) return rc;
    vkCmdBindPipeline(vk->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
    if (vk->push_set)
        vk->push_set(vk->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, vk->pipe_layout[nb], 0, (uint32_t)nb, wr);
    else
        vkCmdBindDescriptorSets(vk->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, vk->pipe_layout[nb], 0, 1, &set, 0, NULL);
    vkCmdPushConstants(vk->cmd, vk->pipe_layout[nb], VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
    vkCmdDispatch(vk->cmd, gx, gy, gz);
    vk->pending++;
    return vt_vk_health(vk, name);
}

/* After a failure mid-submission: wait for whatever may still run, then drop
 * the recording, so that buffers can be freed safely. */
static void abandon(vt_vk *vk) {
    (void)vkDeviceWaitIdle(vk->dev);
    (void)vkResetCommandPool(vk->dev, vk->cmdpool, 0);
    (void)vkResetFences(vk->dev, 1, &vk->fence);
    vk->recording = vk->pending = 0;
    for (int i = 0; i < vk->n_dpools; i++) (void)vkResetDescriptorPool(vk->dev, vk->dpools[i], 0);
    vk->cur_dpool = 0;
    vt_vk_free_garbage(vk);
}

int vt_vk_synchronize(vt_backend *be) {
    vt_vk *vk = vt_vk_of(be);
    int rc = vt_vk_health(vk, "synchronize");
    if (rc) return rc;
    if (!vk->recording) {
        vt_vk_free_garbage(vk);
        return VT_OK;
    }
    if (vk->pending) {
        /* the host reads results after the fence: make the writes visible to it */
        VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                              .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                              .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_HOST_WRITE_BIT};
        vkCmdPipelineBarrier(vk->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                             VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    }
    if ((rc = vt_vk_result(vk, vkEndCommandBuffer(vk->cmd), "vkEndCommandBuffer"))) {
        abandon(vk);
        return rc;
    }
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &vk->cmd};
    if ((rc = vt_vk_result(vk, vkQueueSubmit(vk->queue, 1, &si, vk->fence), "vkQueueSubmit"))) {
        abandon(vk);
        return rc;
    }
    VkResult r;
    do r = vkWaitForFences(vk->dev, 1, &vk->fence, VK_TRUE, UINT64_C(10000000000));
    while (r == VK_TIMEOUT);
    if ((rc = vt_vk_result(vk, r, "vkWaitForFences"))) {
        abandon(vk);
        return rc;
    }
    vk->recording = vk->pending = 0;
    if ((rc = vt_vk_result(vk, vkResetFences(vk->dev, 1, &vk->fence), "vkResetFences")) ||
        (rc = vt_vk_result(vk, vkResetCommandPool(vk->dev, vk->cmdpool, 0), "vkResetCommandPool")))
        return rc;
    for (int i = 0; i < vk->n_dpools; i++)
        if ((rc = vt_vk_result(vk, vkResetDescriptorPool(vk->dev, vk->dpools[i], 0), "vkResetDescriptorPool"))) return rc;
    vk->cur_dpool = 0;
    vt_vk_free_garbage(vk);
    return vt_vk_health(vk, "synchronize");
}
