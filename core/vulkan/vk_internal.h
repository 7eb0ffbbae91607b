/* Private state of the Vulkan backend, shared by its files: the device, the
 * recording command buffer, pipelines and descriptor pools, and the helpers
 * that every op uses to bind tensors and record a dispatch. */
#ifndef VT_VK_INTERNAL_H
#define VT_VK_INTERNAL_H

#include <stdint.h>

#include <vulkan/vulkan.h>

#include "vk_nv_compat.h"

#include "backend.h"
#include "context.h"
#include "vk_backend.h"

/* Shaders (variants of shaders/meson.build), each with its binding count. */
typedef enum vt_vk_shader {
    VT_VK_SH_CONV2D = 0,
    VT_VK_SH_GEMM_L,     /* register-tiled GEMM, 128x128 blocks */
    VT_VK_SH_GEMM_M,     /* 64x64 */
    VT_VK_SH_GEMM_S,     /* 32x64 */
    VT_VK_SH_GEMM_L_H,   /* the same with f16 B (weights) */
    VT_VK_SH_GEMM_M_H,
    VT_VK_SH_GEMM_S_H,
    VT_VK_SH_GEMM_X,     /* 128x128 blocks with half-depth slices */
    VT_VK_SH_GEMM_W,     /* 128x64 */
    VT_VK_SH_GEMM_X_H,
    VT_VK_SH_GEMM_W_H,
    VT_VK_SH_GEMV,       /* few rows (M <= 8) */
    VT_VK_SH_GEMV_H,
    VT_VK_SH_GEMM_COOP_L, /* NV cooperative matrix, f16 B, 128x128 blocks */
    VT_VK_SH_GEMM_COOP_S, /* 64x64 */
    VT_VK_SH_GEMM_COOP_2, /* candidates 2-9 (vk_matmul.c's coop_tiles) */
    VT_VK_SH_GEMM_COOP_3,
    VT_VK_SH_GEMM_COOP_4,
    VT_VK_SH_GEMM_COOP_5,
    VT_VK_SH_GEMM_COOP_6,
    VT_VK_SH_GEMM_COOP_7,
    VT_VK_SH_GEMM_COOP_8,
    VT_VK_SH_GEMM_COOP_9,
    VT_VK_SH_GEMM_COOP_6H, /* 6 and 2 reading x as f16 (a pre-pass rounds it) */
    VT_VK_SH_GEMM_COOP_2H,
    VT_VK_SH_GEMM_COOP_D8, /* 8, 2 and 6 with DIRECT: fragments from x16 and w16, no staging */
    VT_VK_SH_GEMM_COOP_D2,
    VT_VK_SH_GEMM_COOP_D6,
    VT_VK_SH_GEMM_COOP_D4, /* DIRECT 128x64, and 64x64 in one subgroup */
    VT_VK_SH_GEMM_COOP_D1,
    VT_VK_SH_GEMM_COOP_EMU_L, /* the same, fragments emulated in plain GLSL (tests) */
    VT_VK_SH_GEMM_COOP_EMU_S,
    VT_VK_SH_GEMM_COOP_EMU_6, /* the candidates that fit lavapipe's 32 KiB of shared memory */
    VT_VK_SH_GEMM_COOP_EMU_7,
    VT_VK_SH_GEMM_COOP_EMU_8,
    VT_VK_SH_GEMM_COOP_EMU_6H,
    VT_VK_SH_GEMM_COOP_EMU_D6,
    VT_VK_SH_COOP_PEAK_0, /* MulAdd throughput alone (vk_peak.c; built with the coop variants), */
    VT_VK_SH_COOP_PEAK_1, /* then with gemm_coop's pieces added one at a time (coop_peak.comp's modes) */
    VT_VK_SH_COOP_PEAK_2,
    VT_VK_SH_COOP_PEAK_3,
    VT_VK_SH_COOP_PEAK_4,
    VT_VK_SH_COOP_PEAK_5,
    VT_VK_SH_TO_F16,
    VT_VK_SH_ROWNORM,
    VT_VK_SH_SOFTMAX,
    VT_VK_SH_ELTWISE,
    VT_VK_SH_PATCH,
    VT_VK_SH_UPSAMPLE,
    VT_VK_SH_ATTN_FULL,
    VT_VK_SH_ATTN_WINDOW,
    VT_VK_SH_COUNT
} vt_vk_shader;

#define VT_VK_MAX_BINDINGS 6
#define VT_VK_MAX_SPEC 4
#define VT_VK_MAX_LIVE 64     /* buffer ranges tracked between barriers */
#define VT_VK_PUSH_BYTES 128  /* the minimum every device offers */

/* A buffer's device side (vt_buffer.impl). */
typedef struct vt_vk_buf {
    VkBuffer buf;
    VkDeviceMemory mem;
    VkDeviceSize size;  /* bytes allocated: the request rounded up, at least 16 */
    void *map;          /* persistent mapping when host-visible, else NULL */
    uint64_t id;        /* unique per backend, never reused (keys the f16 copies) */
    uint64_t version;   /* bumped by every upload and every recorded write */
    int gpu_written;    /* a shader or copy has written it: not a weight buffer */
} vt_vk_buf;

/* A byte range of a buffer that a recorded command reads or writes. */
typedef struct vt_vk_range {
    VkBuffer buf;
    VkDeviceSize lo, hi;
    int write;
} vt_vk_range;

/* The f16 copy of a weight view (vk_half.c). */
typedef struct vt_vk_half {
    uint64_t src_id;      /* the f32 buffer */
    VkDeviceSize off;     /* byte offset of the view in it */
    uint64_t count;       /* floats */
    uint64_t version;     /* the source's version when converted */
    vt_vk_buf h;          /* count halves */
} vt_vk_half;

/* A host-visible chunk that staged uploads are carved from until the next fence. */
typedef struct vt_vk_stage {
    vt_vk_buf buf;
    VkDeviceSize used;
} vt_vk_stage;

/* One cached pipeline: a shader with its specialisation constants. */
typedef struct vt_vk_pipe {
    int shader;
    uint32_t spec[VT_VK_MAX_SPEC];
    VkPipeline pipe;
} vt_vk_pipe;

typedef struct vt_vk {
    vt_backend base;  /* first: a vt_vk is a vt_backend */

    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;  /* VK_NULL_HANDLE without validation */
    VkPhysicalDevice phys;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties memprops;
    VkDevice dev;
    VkQueue queue;
    uint32_t qfamily;
    uint32_t mem_device;   /* memory type of storage buffers */
    int device_mapped;     /* whether that type is host-visible and coherent (mapped) */
    uint32_t mem_staging;  /* host-visible coherent type for staging copies */
    int has_f16;           /* storageBuffer16BitAccess enabled: the f16-weight shaders run */
    int has_float16;       /* shaderFloat16 enabled */
    vt_vk_coop_caps coop;  /* what the device offers for the tensor-core GEMM */
    int coop_ok;           /* coop path usable: the caps fit and the self-check passed */
    char coop_why[192];    /* why it is not, or what it uses */
    double coop_nmse;      /* the self-check's error (-1 when not run) */
    int use_f16;           /* linear reads f16 copies of weights (VITRAIL_VK_F16) */
    int use_coop;          /* ... through the coop shader when coop_ok (VITRAIL_VK_COOP) */
    int coop_emulate;      /* test hook: COOP runs gemm_coop.comp's emulated variants */
    uint32_t subgroup_size;
    uint32_t sm_count;     /* multiprocessors (VK_NV_shader_sm_builtins), else a guess */
    int force_tile;        /* -1, or a GEMM block variant to use for every shape (tests) */

    VkCommandPool cmdpool;
    VkCommandBuffer cmd;
    VkFence fence;
    int recording;         /* cmd is begun */
    int pending;           /* commands recorded since it was begun */
    /* ranges accessed since the last barrier: a command that conflicts with one
     * (read after write, write after read or write) gets a barrier first */
    vt_vk_range live[VT_VK_MAX_LIVE];
    int n_live;
    int all_barriers;      /* VITRAIL_VK_BARRIERS=all: a barrier between every two commands */
    uint64_t n_commands, n_barriers;  /* recorded since creation */

    /* descriptors pushed into the command buffer (VK_KHR_push_descriptor) where
     * the device has it, else sets from pools: no allocation per dispatch */
    PFN_vkCmdPushDescriptorSetKHR push_set;
    VkDescriptorSetLayout set_layout[VT_VK_MAX_BINDINGS + 1];  /* by binding count */
    VkPipelineLayout pipe_layout[VT_VK_MAX_BINDINGS + 1];
    VkDescriptorPool *dpools;  /* reset at every synchronize */
    int n_dpools, cur_dpool;
    VkShaderModule modules[VT_VK_SH_COUNT];
    vt_vk_pipe *pipes;
    int n_pipes, cap_pipes;

    /* buffers freed or staged while commands that use them are queued:
     * destroyed after the next fence */
    vt_vk_buf *garbage;
    int n_garbage, cap_garbage;
    VkDeviceSize staged_bytes;
    vt_vk_stage *stages;   /* staging chunks, reused after every fence */
    int n_stages;
    vt_vk_buf readback;    /* host-visible buffer for downloads, grown as needed */
    uint64_t next_id;

    vt_vk_half *halves;    /* open-addressing table of f16 weight copies */
    int cap_halves, n_halves;

    /* coop_peak.comp's input and output (vk_peak.c), kept between calls so a
     * timed batch records dispatches only */
    vt_vk_buf peak_in, peak_out;

    /* x rounded to f16 for the coop variants that read it so (vk_matmul.c),
     * grown as needed; rewritten by every such product */
    vt_vk_buf x16;

    int lost;  /* VK_ERROR_DEVICE_LOST seen: every later call fails */

    /* validation (VITRAIL_VK_VALIDATION=1) */
    int validation;
    int n_messages, n_reported;
    char first_message[768];
} vt_vk;

static inline vt_vk *vt_vk_of(vt_backend *be) { return (vt_vk *)be; }

/* 0 for VK_SUCCESS, else the VkResult as a vt_status with a message naming
 * `what`: out of memory → VT_E_NOMEM, device lost → VT_E_DEVICE (and the
 * backend stays failed), anything else → VT_E_DEVICE. */
int vt_vk_result(vt_vk *vk, VkResult r, const char *what);
const char *vt_vk_result_name(VkResult r);
/* VT_E_DEVICE if the device was lost or a validation message arrived since the
 * last check; 0 otherwise. */
int vt_vk_health(vt_vk *vk, const char *op);

/* ---- vk_device.c ---- */
int vt_vk_device_open(vt_vk *vk, int device_index);

/* Where buffers live (vk_device.c, exposed for tests): the memory type of
 * storage buffers (device), whether they are mapped, and the type of staging
 * buffers. Storage is device-local; mapped only where that memory is the
 * host's own (integrated GPUs, CPU drivers), never a discrete GPU's VRAM
 * unless staging_env is "0" and all of it is mappable; staging_env "1" (any
 * other non-empty value but "0") unmaps everywhere. staging_env is
 * VITRAIL_VK_STAGING's value or NULL. VT_E_DEVICE without host-visible
 * coherent memory. */
typedef struct vt_vk_memory {
    uint32_t device, staging;
    int mapped;
} vt_vk_memory;
int vt_vk_memory_plan(const VkPhysicalDeviceMemoryProperties *mp, VkPhysicalDeviceType type, const char *staging_env,
                      vt_vk_memory *out);
void vt_vk_device_close(vt_vk *vk);

/* ---- vk_buffer.c ---- */
/* A VkBuffer with memory of type `type`, mapped when `map`. */
int vt_vk_buf_create(vt_vk *vk, VkDeviceSize bytes, uint32_t type, int map, vt_vk_buf *out);
void vt_vk_buf_destroy(vt_vk *vk, vt_vk_buf *b);
/* Destroys b now if no queued command may use it, else after the next fence. */
int vt_vk_buf_release(vt_vk *vk, vt_vk_buf *b);
void vt_vk_free_garbage(vt_vk *vk);
void vt_vk_staging_destroy(vt_vk *vk);
/* Whether this build embeds shader sh (the coop variants need a glslc that
 * knows GL_NV_cooperative_matrix). */
int vt_vk_shader_built(vt_vk_shader sh);
int vt_vk_buffer_alloc(vt_backend *be, size_t bytes, vt_buffer **out);
void vt_vk_buffer_free(vt_backend *be, vt_buffer *buf);
int vt_vk_upload(vt_backend *be, vt_buffer *dst, size_t off, const void *src, size_t n);
int vt_vk_download(vt_backend *be, const vt_buffer *src, size_t off, void *dst, size_t n);

/* ---- vk_pipeline.c ---- */
int vt_vk_pipelines_init(vt_vk *vk);
void vt_vk_pipelines_destroy(vt_vk *vk);
/* Begins the command buffer if needed and, when one of the n ranges the next
 * command accesses conflicts with a range accessed since the last barrier,
 * records a barrier first, so the command sees earlier writes and does not
 * overtake earlier reads. Independent commands run without one. */
int vt_vk_begin_command(vt_vk *vk, const vt_vk_range *acc, int n);
/* Submits what was recorded and waits for it; frees per-submission resources. */
int vt_vk_synchronize(vt_backend *be);

/* A range of a buffer bound to one storage-buffer binding. */
typedef struct vt_vk_binding {
    const vt_vk_buf *buf;
    VkDeviceSize offset, range;
    /* the bytes the op touches, for barrier tracking (the binding starts at an
     * aligned offset below them); both 0: the whole binding */
    VkDeviceSize lo, hi;
} vt_vk_binding;

/* Records one dispatch of `shader` (specialised by spec[], VT_VK_MAX_SPEC values,
 * ignored by shaders without constants) with the bindings and push constants. */
int vt_vk_dispatch(vt_vk *vk, vt_vk_shader shader, const uint32_t *spec, const vt_vk_binding *binds, const void *push,
                   uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz);

/* ---- vk_half.c: f16 copies of weights ---- */
/* The f16 copy of floats [first, first + count) of buffer b (a weight buffer:
 * uploaded by the host, never written on the device), converted on first use
 * and again after an upload changed b; *out stays valid until b is freed. */
int vt_vk_half_get(vt_vk *vk, const vt_vk_buf *b, VkDeviceSize off, uint64_t count, const vt_vk_buf **out);
/* Records to_f16.comp: the first n floats of `src` from element src_off,
 * rounded to f16 into dst (the f16 weight copies, the coop GEMM's x16). */
int vt_vk_round_f16(vt_vk *vk, const vt_vk_binding *src, uint32_t src_off, const vt_vk_buf *dst, uint32_t n);
/* Drops the copies made from buffer id (when it is freed). */
void vt_vk_half_forget(vt_vk *vk, uint64_t id);
void vt_vk_half_destroy(vt_vk *vk);

/* ---- vk_matmul.c ---- */
/* Decides the coop path from vk->coop and runs its self-check (device creation). */
int vt_vk_matmul_init(vt_vk *vk);

/* ---- vk_peak.c ---- */
/* Destroys the peak benchmark's buffers (backend teardown, the queue idle). */
void vt_vk_peak_destroy(vt_vk *vk);

/* ---- tensor checks and bindings (vk_ops.c) ---- */
/* Checks that t is an F32 tensor in one of this backend's buffers, with the
 * floats [first, first + count) inside it, and binds them: *bind covers them
 * (from an offset aligned as the device wants) and *elem is the index of float
 * `first` within the bound range. */
int vt_vk_bind(vt_vk *vk, const char *op, const char *what, const vt_tensor *t, uint64_t first, uint64_t count,
               vt_vk_binding *bind, uint32_t *elem);
/* Checks only (dtype, buffer) — for shape checks before binding. */
int vt_vk_check_tensor(vt_vk *vk, const char *op, const char *what, const vt_tensor *t);
/* Whether the byte ranges of two tensors' first n_a / n_b floats overlap. */
int vt_vk_overlap(const vt_tensor *a, uint64_t n_a, const vt_tensor *b, uint64_t n_b);

/* ---- ops ---- */
int vt_vk_linear(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *bias, vt_act act);
int vt_vk_matmul_batched(vt_backend *be, vt_tensor *c, const vt_tensor *a, int trans_a, const vt_tensor *b, int trans_b,
                         float alpha);
int vt_vk_layernorm(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *b, float eps);
int vt_vk_rmsnorm(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, float eps);
int vt_vk_modulate(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *shift, const vt_tensor *scale);
int vt_vk_gated_add(vt_backend *be, vt_tensor *x, const vt_tensor *y, const vt_tensor *gate);
int vt_vk_softmax(vt_backend *be, vt_tensor *y, const vt_tensor *x);
int vt_vk_activation(vt_backend *be, vt_tensor *y, const vt_tensor *x, vt_act act);
int vt_vk_binary(vt_backend *be, vt_tensor *y, const vt_tensor *a, const vt_tensor *b, vt_binop op);
int vt_vk_scale(vt_backend *be, vt_tensor *y, const vt_tensor *x, float s);
int vt_vk_patchify(vt_backend *be, vt_tensor *tokens, const vt_tensor *x, int p, int pt, vt_patch_order order);
int vt_vk_unpatchify(vt_backend *be, vt_tensor *x, const vt_tensor *tokens, int p, int pt, vt_patch_order order);
int vt_vk_conv2d(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *bias, int stride,
                 int pad);
int vt_vk_upsample_nearest(vt_backend *be, vt_tensor *y, const vt_tensor *x, int factor);
int vt_vk_attention(vt_backend *be, const vt_attn_args *a);

#endif
