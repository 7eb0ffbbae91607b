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
 * Buffers are device-local; where the host reaches that memory cheaply
 * (integrated GPUs, CPU drivers, fully mappable VRAM) they are mapped and
 * vt_buffer.host points at them, else uploads and downloads go through staging
 * buffers (VITRAIL_VK_STAGING=1 forces that path). Uploads are ordered with the
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

#endif
