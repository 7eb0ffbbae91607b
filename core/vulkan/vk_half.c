/* f16 copies of weights for the F16 and COOP matrix paths: made by the to_f16
 * shader, in the command stream, the first time a linear op uses a weight view,
 * and kept until the source buffer is freed; an upload to the source makes its
 * copies stale, and the next use converts again. The backend cannot tell
 * weights from activations at upload time, so the copy is made at first use;
 * only buffers that no op has written qualify (the caller checks). */
#include <stdlib.h>
#include <string.h>

#include "vk_internal.h"

static uint64_t mix(uint64_t id, VkDeviceSize off, uint64_t count) {
    uint64_t h = id * UINT64_C(0x9E3779B97F4A7C15) ^ (uint64_t)off * UINT64_C(0xC2B2AE3D27D4EB4F) ^ count;
    h ^= h >> 31;
    h *= UINT64_C(0xD6E8FEB86659FD93);
    return h ^ (h >> 32);
}

/* The slot of (id, off, count): its entry, or the empty slot where it belongs. */
static vt_vk_half *slot(vt_vk_half *t, int cap, uint64_t id, VkDeviceSize off, uint64_t count) {
    const uint64_t mask = (uint64_t)cap - 1;
    for (uint64_t i = mix(id, off, count) & mask;; i = (i + 1) & mask)
        if (t[i].src_id == 0 || (t[i].src_id == id && t[i].off == off && t[i].count == count)) return &t[i];
}

/* Rebuilds the table with room for `need` entries, dropping those of `drop`
 * (0: none), whose copies are released once queued commands are done. */
static int rebuild(vt_vk *vk, int need, uint64_t drop) {
    int cap = 64;
    while (cap < 2 * need) cap *= 2;
    vt_vk_half *t = calloc((size_t)cap, sizeof *t);
    if (!t) return vt_error(vk->base.ctx, VT_E_NOMEM, "vulkan: out of host memory for the f16 weight table");
    int n = 0;
    for (int i = 0; i < vk->cap_halves; i++) {
        vt_vk_half *e = &vk->halves[i];
        if (e->src_id == 0) continue;
        if (e->src_id == drop) {
            (void)vt_vk_buf_release(vk, &e->h); /* a failure here resurfaces at the next call */
            continue;
        }
        *slot(t, cap, e->src_id, e->off, e->count) = *e;
        n++;
    }
    free(vk->halves);
    vk->halves = t;
    vk->cap_halves = cap;
    vk->n_halves = n;
    return VT_OK;
}

typedef struct half_push {
    uint32_t n, x_off;
} half_push;

int vt_vk_round_f16(vt_vk *vk, const vt_vk_binding *src, uint32_t src_off, const vt_vk_buf *dst, uint32_t n) {
    const vt_vk_binding bd[2] = {*src, {.buf = dst, .offset = 0, .range = dst->size}};
    const half_push p = {.n = n, .x_off = src_off};
    const uint64_t groups = ((uint64_t)n + 255) / 256; /* a grid-stride loop beyond 65535 */
    return vt_vk_dispatch(vk, VT_VK_SH_TO_F16, NULL, bd, &p, sizeof p, (uint32_t)(groups > 65535 ? 65535 : groups), 1, 1);
}

int vt_vk_half_get(vt_vk *vk, const vt_vk_buf *b, VkDeviceSize off, uint64_t count, const vt_vk_buf **out) {
    int rc;
    if (2 * (vk->n_halves + 1) > vk->cap_halves && (rc = rebuild(vk, vk->n_halves + 1, 0))) return rc;
    vt_vk_half *e = slot(vk->halves, vk->cap_halves, b->id, off, count);
    if (e->src_id && e->version == b->version) {
        *out = &e->h;
        return VT_OK;
    }
    if (!e->src_id) {
        if (count > UINT32_MAX)
            return vt_error(vk->base.ctx, VT_E_UNSUPPORTED, "vulkan: a weight of %llu values is too large for f16 copies",
                            (unsigned long long)count);
        vt_vk_half fresh = {.src_id = b->id, .off = off, .count = count};
        if ((rc = vt_vk_buf_create(vk, count * 2, vk->mem_device, 0, &fresh.h))) return rc;
        *e = fresh;
        vk->n_halves++;
    }
    /* bind the source from an offset the device accepts; the shader skips ahead */
    const VkDeviceSize align = vk->props.limits.minStorageBufferOffsetAlignment ? vk->props.limits.minStorageBufferOffsetAlignment : 1;
    const VkDeviceSize base = off / align * align;
    const vt_vk_binding src = {.buf = b, .offset = base, .range = off + count * 4 - base};
    if ((rc = vt_vk_round_f16(vk, &src, (uint32_t)((off - base) / 4), &e->h, (uint32_t)count))) return rc;
    e->version = b->version;
    *out = &e->h;
    return VT_OK;
}

void vt_vk_half_forget(vt_vk *vk, uint64_t id) {
    int found = 0;
    for (int i = 0; i < vk->cap_halves && !found; i++) found = vk->halves[i].src_id == id;
    if (found) (void)rebuild(vk, vk->n_halves, id); /* out of memory: the entries stay, unreachable by a new id */
}

void vt_vk_half_destroy(vt_vk *vk) {
    for (int i = 0; i < vk->cap_halves; i++)
        if (vk->halves[i].src_id) vt_vk_buf_destroy(vk, &vk->halves[i].h);
    free(vk->halves);
    vk->halves = NULL;
    vk->cap_halves = vk->n_halves = 0;
}
