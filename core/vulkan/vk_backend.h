/* The Vulkan compute backend (DESIGN §3): the same op table as the CPU backend,
 * run by compute shaders; ops record into one command buffer that is submitted
 * when the caller synchronises or downloads. */
#ifndef VT_VK_BACKEND_H
#define VT_VK_BACKEND_H

#include <stddef.h>

#include "backend.h"

/* Opens Vulkan device `device_index` (an index of vt_devices_list's Vulkan
 * devices, i.e. of vkEnumeratePhysicalDevices), or with -1 the device named by
 * the environment variable VITRAIL_VK_DEVICE (an index, or a case-insensitive
 * part of the device name), or else the best one: a discrete GPU before an
 * integrated one before a CPU driver (lavapipe). Returns NULL with a VT_E_DEVICE
 * (or VT_E_NOMEM) message in ctx when there is no usable device.
 *
 * With VITRAIL_VK_VALIDATION=1 in the environment the Khronos validation layer
 * is enabled (creation fails if it is not installed) and its messages of
 * warning or error severity are captured, never printed: the op during which a
 * message arrives returns VT_E_DEVICE with the message, and
 * vt_backend_vulkan_validation_messages() counts them.
 *
 * Buffers are device-local; where that memory is the host's own (integrated
 * GPUs, CPU drivers) they are mapped and vt_buffer.host points at them, else
 * (discrete GPUs, even with all VRAM mappable) uploads and downloads go through
 * staging buffers (VITRAIL_VK_STAGING=1 forces that path everywhere, =0 maps a
 * discrete GPU's VRAM where all of it is mappable). Uploads are ordered with the
 * queued ops; writing through vt_buffer.host directly is not, so synchronize
 * first. Ops record into one command buffer; synchronize() and download()
 * submit it and wait. */
vt_backend *vt_backend_vulkan_create(vt_context *ctx, int device_index);

/* Validation messages (warning or error severity) captured since creation, and
 * the first one's text into msg (may be NULL); 0 without VITRAIL_VK_VALIDATION.
 * be must be a Vulkan backend. */
int vt_backend_vulkan_validation_messages(vt_backend *be, char *msg, size_t cap);

/* The name of the device the backend runs on (the driver's deviceName). */
const char *vt_backend_vulkan_device_name(vt_backend *be);

/* ---- matrix-product paths ----
 * linear runs on one of three paths:
 *   F32  the portable register-tiled shaders, f32 throughout;
 *   F16  the same shaders reading f16 copies of the weights (f32 products and
 *        sums); a weight is a buffer the host uploaded and no op has written;
 *   COOP the NV cooperative-matrix (tensor core) shader: f16 weights, x rounded
 *        to f16, f32 accumulation.
 * F16 is the default where the device has 16-bit storage (VITRAIL_VK_F16=0 turns
 * it off), and COOP is taken on top of it where the device offers
 * VK_NV_cooperative_matrix with 16x16x16 f16 x f16 -> f32 fragments and the
 * shader passed its self-check at creation (VITRAIL_VK_COOP=0 turns it off,
 * and then the extension is not even enabled).
 * Shapes a path does not fit (e.g. K % 8 != 0 for COOP, unaligned views) fall
 * back to the portable shaders. matmul_batched and conv2d are always F32. */
typedef enum vt_vk_path { VT_VK_PATH_F32 = 0, VT_VK_PATH_F16, VT_VK_PATH_COOP } vt_vk_path;

/* What a device offers towards the COOP path, as read at creation. */
typedef struct vt_vk_coop_caps {
    int extension;          /* VK_NV_cooperative_matrix is listed */
    int feature;            /* its cooperativeMatrix feature */
    int shape_16x16x16;     /* a property M = N = K = 16, A = B = f16, C = D = f32, subgroup scope */
    int float16;            /* shaderFloat16 */
    int storage16;          /* storageBuffer16BitAccess */
    int memory_model;       /* vulkanMemoryModel (the NV SPIR-V extension needs it) */
    unsigned subgroup_size; /* the shader is written for 32 */
    unsigned shared_bytes;  /* maxComputeSharedMemorySize; the 128x128 variant uses 28 KiB */
    int shader_built;       /* this build's glslc compiled gemm_coop.comp */
} vt_vk_coop_caps;

/* The rule: 1 when caps allow the COOP path, else 0 with the first missing
 * piece described in why (cap bytes, may be 0). */
int vt_vk_coop_decide(const vt_vk_coop_caps *caps, char *why, size_t cap);

/* The path linear takes now (for shapes that fit it), and its name. */
vt_vk_path vt_backend_vulkan_linear_path(vt_backend *be);
const char *vt_vk_path_name(vt_vk_path path);
/* Switches f16 weights on or off for later ops (on: VT_E_UNSUPPORTED with a
 * message when the device lacks 16-bit storage). */
int vt_backend_vulkan_set_f16(vt_backend *be, int on);
/* Allows or forbids the COOP path (on: VT_E_UNSUPPORTED with the reason when
 * the device or the self-check ruled it out; it also needs f16 on). */
int vt_backend_vulkan_set_coop(vt_backend *be, int on);
/* Why COOP is off, or what it runs with (for logs and the benchmark). */
const char *vt_backend_vulkan_coop_status(vt_backend *be);
/* Runs a small linear (odd sizes, bias, GELU) on `path` and on F32 and returns
 * their normalised MSE in *nmse: the check COOP passes at creation, callable for
 * any path the device has (VT_E_UNSUPPORTED otherwise). */
int vt_backend_vulkan_selfcheck(vt_backend *be, vt_vk_path path, double *nmse);
/* Test hook: COOP runs on gemm_coop.comp built with its fragment operations
 * emulated in plain GLSL (any device can run it, so CI tests the shader's
 * staging, tiling and epilogue) and is available wherever f16 weights are
 * (VT_E_UNSUPPORTED otherwise); off: back to the real shader, if any. */
int vt_backend_vulkan_coop_emulate(vt_backend *be, int on);
/* The register-tiled GEMM's block variants: 0 128x128, 1 64x64, 2 32x64,
 * 3 128x128 with half-depth slices, 4 128x64. */
#define VT_VK_GEMM_TILES 5
/* The cooperative-matrix GEMM's variants: 0 128x128, 1 64x64, 2-9 candidates
 * of other depths, stage counts, fragment grids and blocks (6 the default),
 * 10 and 11 variants 6 and 2 reading x rounded to f16 by a pre-pass, 12-16
 * blocks (those of 8, 2 and 6, 128x64, 64x64 in one subgroup) loading their
 * fragments from that f16 x and the f16 weights directly, without staging
 * (core/vulkan/vk_matmul.c's coop_tiles). */
#define VT_VK_COOP_TILES 17
/* Test hook: makes every linear and matmul use GEMM block variant `tile` of
 * its path (0 .. VT_VK_GEMM_TILES - 1, COOP 0 .. VT_VK_COOP_TILES - 1; a
 * number the path lacks picks by shape), or with -1 pick by shape again (and
 * gemv for few rows). */
void vt_backend_vulkan_force_tile(vt_backend *be, int tile);
/* Whether COOP variant `tile` runs on this device in the current mode (its
 * shared memory fits; when emulating, an emulated build of it exists). */
int vt_backend_vulkan_coop_tile_usable(vt_backend *be, int tile);
/* Benchmark hook: records one dispatch of the cooperative-matrix
 * microbenchmark (shaders/coop_peak.comp) in `mode` 0-5 (VT_VK_PEAK_MODES):
 * `groups` workgroups of 4 subgroups, each `iters` iterations of 16 MulAdds of
 * 16x16x16 on fragments held in registers (0) or reloaded from shared memory
 * (1), or of one 32-deep GEMM slice, 32 MulAdds, staged from registers (2),
 * read from memory as f16 (3) or A as f32 (4), or 16 MulAdds on fragments
 * loaded from the buffer every iteration (5); the caller submits
 * (synchronize). *flops: the work recorded, groups * 4 * iters * MulAdds *
 * 2 * 16^3. VT_E_UNSUPPORTED with the reason where the COOP path is off or
 * the build lacks the shaders. */
#define VT_VK_PEAK_MODES 6
int vt_backend_vulkan_coop_peak(vt_backend *be, int mode, uint32_t iters, uint32_t groups, double *flops);
/* Commands and barriers recorded since creation. */
void vt_backend_vulkan_counters(vt_backend *be, uint64_t *commands, uint64_t *barriers);

#endif
