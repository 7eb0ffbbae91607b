/* Vulkan buffers: one VkBuffer with its own memory per vt_buffer, persistently
 * mapped when the device memory is host-visible; uploads and downloads by memcpy
 * or through staging buffers, ordered with the queued ops. */
#include <stdlib.h>
#include <string.h>

#include "vk_internal.h"

/* Staged uploads held at once before a synchronize frees them. */
#define STAGING_CAP ((VkDeviceSize)256 << 20)
/* Staging chunk size, and what stays allocated across fences: uploads between
 * a step's ops (timestep embedding, conditioning) then cost a memcpy, not a
 * vkAllocateMemory each. */
#define STAGE_CHUNK ((VkDeviceSize)4 << 20)
#define STAGE_KEEP ((VkDeviceSize)64 << 20)

int vt_vk_buf_create(vt_vk *vk, VkDeviceSize bytes, uint32_t type, int map, vt_vk_buf *out) {
    memset(out, 0, sizeof *out);
    /* Vulkan forbids empty buffers; 16 bytes also keeps every binding of a
     * small tensor at least one vec4 long */
    VkDeviceSize size = bytes < 16 ? 16 : (bytes + 15) & ~(VkDeviceSize)15;
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = size,
                              .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                       VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    int rc = vt_vk_result(vk, vkCreateBuffer(vk->dev, &bci, NULL, &out->buf), "vkCreateBuffer");
    if (rc) return rc;
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(vk->dev, out->buf, &req);
    if (!(req.memoryTypeBits & (1u << type))) {
        vkDestroyBuffer(vk->dev, out->buf, NULL);
        out->buf = VK_NULL_HANDLE;
        return vt_error(vk->base.ctx, VT_E_DEVICE, "vulkan: buffers cannot live in memory type %u on %s", type,
                        vk->props.deviceName);
    }
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size,
                                .memoryTypeIndex = type};
    VkResult r = vkAllocateMemory(vk->dev, &mai, NULL, &out->mem);
    if (r != VK_SUCCESS) {
        vkDestroyBuffer(vk->dev, out->buf, NULL);
        out->buf = VK_NULL_HANDLE;
        out->mem = VK_NULL_HANDLE;
        if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
            return vt_error(vk->base.ctx, VT_E_NOMEM, "vulkan: cannot allocate %llu bytes of %s memory on %s (%s)",
                            (unsigned long long)bytes, r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? "device" : "host",
                            vk->props.deviceName, vt_vk_result_name(r));
        return vt_vk_result(vk, r, "vkAllocateMemory");
    }
    if ((rc = vt_vk_result(vk, vkBindBufferMemory(vk->dev, out->buf, out->mem, 0), "vkBindBufferMemory")) ||
        (map && (rc = vt_vk_result(vk, vkMapMemory(vk->dev, out->mem, 0, VK_WHOLE_SIZE, 0, &out->map), "vkMapMemory")))) {
        vt_vk_buf_destroy(vk, out);
        return rc;
    }
    out->size = size;
    out->id = ++vk->next_id;
    return VT_OK;
}

void vt_vk_buf_destroy(vt_vk *vk, vt_vk_buf *b) {
    if (b->buf) vkDestroyBuffer(vk->dev, b->buf, NULL);
    if (b->mem) vkFreeMemory(vk->dev, b->mem, NULL); /* unmaps implicitly */
    memset(b, 0, sizeof *b);
}

int vt_vk_buf_release(vt_vk *vk, vt_vk_buf *b) {
    if (!vk->recording || !vk->pending) {
        vt_vk_buf_destroy(vk, b);
        return VT_OK;
    }
    if (vk->n_garbage == vk->cap_garbage) {
        int cap = vk->cap_garbage ? 2 * vk->cap_garbage : 16;
        vt_vk_buf *g = realloc(vk->garbage, (size_t)cap * sizeof *g);
        if (!g) {
            /* cannot defer: wait for the queue instead, then destroy */
            int rc = vt_vk_synchronize(&vk->base);
            vt_vk_buf_destroy(vk, b);
            return rc ? rc : vt_error(vk->base.ctx, VT_E_NOMEM, "vulkan: out of host memory deferring a buffer's release");
        }
        vk->garbage = g;
        vk->cap_garbage = cap;
    }
    vk->garbage[vk->n_garbage++] = *b;
    memset(b, 0, sizeof *b);
    return VT_OK;
}

void vt_vk_free_garbage(vt_vk *vk) {
    for (int i = 0; i < vk->n_garbage; i++) vt_vk_buf_destroy(vk, &vk->garbage[i]);
    vk->n_garbage = 0;
    vk->staged_bytes = 0;
    /* the queue is idle: staging chunks are free again; keep the first ones */
    VkDeviceSize kept = 0;
    int n = 0;
    for (int i = 0; i < vk->n_stages; i++) {
        if (kept + vk->stages[i].buf.size <= STAGE_KEEP) {
            kept += vk->stages[i].buf.size;
            vk->stages[i].used = 0;
            vk->stages[n++] = vk->stages[i];
        } else {
            vt_vk_buf_destroy(vk, &vk->stages[i].buf);
        }
    }
    vk->n_stages = n;
}

void vt_vk_staging_destroy(vt_vk *vk) {
    for (int i = 0; i < vk->n_stages; i++) vt_vk_buf_destroy(vk, &vk->stages[i].buf);
    free(vk->stages);
    vk->stages = NULL;
    vk->n_stages = 0;
    if (vk->readback.buf) vt_vk_buf_destroy(vk, &vk->readback);
}

/* n bytes of staging memory valid until the next fence: *buf, *off. */
static int stage_alloc(vt_vk *vk, VkDeviceSize n, vt_vk_buf **buf, VkDeviceSize *off) {
    for (int i = 0; i < vk->n_stages; i++) {
        vt_vk_stage *s = &vk->stages[i];
        if (s->buf.size - s->used >= n) {
            *buf = &s->buf;
            *off = s->used;
            s->used += (n + 15) & ~(VkDeviceSize)15;
            return VT_OK;
        }
    }
    vt_vk_stage *g = realloc(vk->stages, (size_t)(vk->n_stages + 1) * sizeof *g);
    if (!g) return vt_error(vk->base.ctx, VT_E_NOMEM, "vulkan: out of host memory for a staging chunk");
    vk->stages = g;
    vt_vk_stage *s = &vk->stages[vk->n_stages];
    memset(s, 0, sizeof *s);
    int rc = vt_vk_buf_create(vk, n > STAGE_CHUNK ? n : STAGE_CHUNK, vk->mem_staging, 1, &s->buf);
    if (rc) return rc;
    vk->n_stages++;
    s->used = (n + 15) & ~(VkDeviceSize)15;
    *buf = &s->buf;
    *off = 0;
    return VT_OK;
}

int vt_vk_buffer_alloc(vt_backend *be, size_t bytes, vt_buffer **out) {
    vt_vk *vk = vt_vk_of(be);
    int rc = vt_vk_health(vk, "buffer_alloc");
    if (rc) return rc;
    if (!out) return vt_error(be->ctx, VT_E_INVALID, "vulkan: buffer_alloc: out is NULL");
    *out = NULL;
    vt_buffer *b = calloc(1, sizeof *b);
    vt_vk_buf *impl = calloc(1, sizeof *impl);
    if (!b || !impl) {
        free(b);
        free(impl);
        return vt_error(be->ctx, VT_E_NOMEM, "vulkan: out of host memory for a buffer handle");
    }
    if ((rc = vt_vk_buf_create(vk, bytes, vk->mem_device, vk->device_mapped, impl))) {
        free(b);
        free(impl);
        return rc;
    }
    b->backend = be;
    b->size = bytes;
    b->host = impl->map;
    b->impl = impl;
    *out = b;
    return VT_OK;
}

void vt_vk_buffer_free(vt_backend *be, vt_buffer *buf) {
    if (!buf) return;
    vt_vk *vk = vt_vk_of(be);
    vt_vk_buf *impl = buf->impl;
    if (impl) {
        vt_vk_half_forget(vk, impl->id);
        (void)vt_vk_buf_release(vk, impl);  /* a failure here is reported by the next call */
        free(impl);
    }
    free(buf);
}

static int check_range(vt_vk *vk, const char *op, const vt_buffer *b, size_t off, size_t n) {
    if (!b || b->backend != &vk->base || !b->impl)
        return vt_error(vk->base.ctx, VT_E_INVALID, "vulkan: %s: the buffer is not one of this Vulkan backend's", op);
    if (off > b->size || n > b->size - off)
        return vt_error(vk->base.ctx, VT_E_INVALID, "vulkan: %s of %zu bytes at %zu exceeds the buffer of %zu bytes", op, n,
                        off, b->size);
    return VT_OK;
}

/* Records a copy between buffers after the queued commands. */
static int record_copy(vt_vk *vk, const vt_vk_buf *src, VkDeviceSize soff, vt_vk_buf *dst, VkDeviceSize doff,
                       VkDeviceSize n) {
    const vt_vk_range acc[2] = {{.buf = src->buf, .lo = soff, .hi = soff + n, .write = 0},
                                {.buf = dst->buf, .lo = doff, .hi = doff + n, .write = 1}};
    int rc = vt_vk_begin_command(vk, acc, 2);
    if (rc) return rc;
    dst->version++;
    dst->gpu_written = 1;
    VkBufferCopy region = {.srcOffset = soff, .dstOffset = doff, .size = n};
    vkCmdCopyBuffer(vk->cmd, src->buf, dst->buf, 1, &region);
    vk->pending++;
    return VT_OK;
}

int vt_vk_upload(vt_backend *be, vt_buffer *dst, size_t off, const void *src, size_t n) {
    vt_vk *vk = vt_vk_of(be);
    int rc;
    if ((rc = vt_vk_health(vk, "upload")) || (rc = check_range(vk, "upload", dst, off, n))) return rc;
    if (n == 0) return VT_OK;
    if (!src) return vt_error(be->ctx, VT_E_INVALID, "vulkan: upload: src is NULL");
    vt_vk_buf *d = dst->impl;
    d->version++; /* f16 copies of it are stale from here on */
    const int queued = vk->recording && vk->pending;
    if (d->map && !queued) {
        /* nothing queued can see the old bytes: write them in place */
        memcpy((char *)d->map + off, src, n);
        return VT_OK;
    }
    /* Queued ops must still read the old contents (and the new contents must
     * wait for queued writes): the new bytes go in through staging memory and
     * a copy recorded after those ops. */
    if (vk->staged_bytes + n > STAGING_CAP && (rc = vt_vk_synchronize(be))) return rc;
    if (d->map && !(vk->recording && vk->pending)) {
        memcpy((char *)d->map + off, src, n);
        return VT_OK;
    }
    vt_vk_buf *st = NULL;
    VkDeviceSize soff = 0;
    if ((rc = stage_alloc(vk, n, &st, &soff))) return rc;
    memcpy((char *)st->map + soff, src, n);
    const int was_written = d->gpu_written;
    rc = record_copy(vk, st, soff, d, off, n);
    d->gpu_written = was_written; /* a host upload, though a copy carries it */
    if (rc) return rc;
    vk->staged_bytes += n;
    return VT_OK;
}

int vt_vk_download(vt_backend *be, const vt_buffer *src, size_t off, void *dst, size_t n) {
    vt_vk *vk = vt_vk_of(be);
    int rc;
    if ((rc = vt_vk_health(vk, "download")) || (rc = check_range(vk, "download", src, off, n))) return rc;
    if (n == 0) return VT_OK;
    if (!dst) return vt_error(be->ctx, VT_E_INVALID, "vulkan: download: dst is NULL");
    if ((rc = vt_vk_synchronize(be))) return rc;
    vt_vk_buf *s = src->impl;
    if (s->map) {
        memcpy(dst, (const char *)s->map + off, n);
        return VT_OK;
    }
    /* one readback buffer, grown to the largest download so far */
    if (vk->readback.size < n) {
        if (vk->readback.buf) vt_vk_buf_destroy(vk, &vk->readback);
        if ((rc = vt_vk_buf_create(vk, n, vk->mem_staging, 1, &vk->readback))) return rc;
    }
    if (!(rc = record_copy(vk, s, off, &vk->readback, 0, n)) && !(rc = vt_vk_synchronize(be)))
        memcpy(dst, vk->readback.map, n);
    return rc;
}
