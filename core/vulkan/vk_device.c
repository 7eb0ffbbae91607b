/* The Vulkan instance and device of the backend: optional validation with a
 * captured debug messenger, physical-device choice (argument, VITRAIL_VK_DEVICE,
 * or discrete > integrated > virtual > CPU driver), the compute queue, memory
 * types, and the VkResult → vt_status mapping. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_internal.h"

const char *vt_vk_result_name(VkResult r) {
    switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED";
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    case VK_ERROR_INVALID_SHADER_NV: return "VK_ERROR_INVALID_SHADER_NV";
    default: return "VkResult";
    }
}

int vt_vk_result(vt_vk *vk, VkResult r, const char *what) {
    if (r == VK_SUCCESS) return VT_OK;
    vt_context *ctx = vk->base.ctx;
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
        return vt_error(ctx, VT_E_NOMEM, "vulkan: %s: out of %s memory (%s)", what,
                        r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? "device" : "host", vt_vk_result_name(r));
    if (r == VK_ERROR_DEVICE_LOST) {
        vk->lost = 1;
        return vt_error(ctx, VT_E_DEVICE, "vulkan: %s: the device was lost (VK_ERROR_DEVICE_LOST); recreate the backend",
                        what);
    }
    return vt_error(ctx, VT_E_DEVICE, "vulkan: %s failed: %s (%d)", what, vt_vk_result_name(r), (int)r);
}

int vt_vk_health(vt_vk *vk, const char *op) {
    if (vk->lost)
        return vt_error(vk->base.ctx, VT_E_DEVICE, "vulkan: %s: the device was lost earlier; recreate the backend", op);
    if (vk->n_messages > vk->n_reported) {
        int n = vk->n_messages - vk->n_reported;
        vk->n_reported = vk->n_messages;
        return vt_error(vk->base.ctx, VT_E_DEVICE, "vulkan: %s: %d validation message(s); first of all: %s", op, n,
                        vk->first_message);
    }
    return VT_OK;
}

/* Validation messages become data, never output: counted, the first kept, and
 * each sent to the context's log at WARN. The op in progress then fails
 * (vt_vk_health), which turns them into test failures. The loader's own
 * general-purpose warnings (e.g. "VK_INSTANCE_LAYERS is set") are not about
 * our usage: they go to the log at DEBUG and count only at error severity. */
static VKAPI_ATTR VkBool32 VKAPI_CALL debug_cb(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
                                               VkDebugUtilsMessageTypeFlagsEXT type,
                                               const VkDebugUtilsMessengerCallbackDataEXT *data, void *user) {
    vt_vk *vk = user;
    const char *msg = data && data->pMessage ? data->pMessage : "(no text)";
    const int error = (sev & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) != 0;
    const int warning = (sev & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) != 0;
    const int about_us =
        (type & (VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT)) != 0;
    if (!(error || (warning && about_us))) {
        vt_log(vk->base.ctx, VT_LOG_DEBUG, "vulkan loader: %s", msg);
        return VK_FALSE;
    }
    if (vk->n_messages++ == 0) snprintf(vk->first_message, sizeof vk->first_message, "%s", msg);
    vt_log(vk->base.ctx, VT_LOG_WARN, "vulkan validation: %s", msg);
    return VK_FALSE;
}

static int has_layer(const char *name) {
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkLayerProperties *l = calloc(n, sizeof *l);
    if (!l) return 0;
    int found = 0;
    if (vkEnumerateInstanceLayerProperties(&n, l) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++) found |= strcmp(l[i].layerName, name) == 0;
    free(l);
    return found;
}

static int has_instance_ext(const char *layer, const char *name) {
    uint32_t n = 0;
    if (vkEnumerateInstanceExtensionProperties(layer, &n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkExtensionProperties *e = calloc(n, sizeof *e);
    if (!e) return 0;
    int found = 0;
    if (vkEnumerateInstanceExtensionProperties(layer, &n, e) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++) found |= strcmp(e[i].extensionName, name) == 0;
    free(e);
    return found;
}

static int has_device_ext(VkPhysicalDevice pd, const char *name) {
    uint32_t n = 0;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkExtensionProperties *e = calloc(n, sizeof *e);
    if (!e) return 0;
    int found = 0;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, e) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++) found |= strcmp(e[i].extensionName, name) == 0;
    free(e);
    return found;
}

static int create_instance(vt_vk *vk) {
    vt_context *ctx = vk->base.ctx;
    const char *val = getenv("VITRAIL_VK_VALIDATION");
    vk->validation = val && *val && strcmp(val, "0") != 0;
    const char *layers[1] = {"VK_LAYER_KHRONOS_validation"};
    const char *exts[2] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME};
    uint32_t n_exts = 0;
    if (vk->validation) {
        if (!has_layer(layers[0]))
            return vt_error(ctx, VT_E_DEVICE,
                            "vulkan: VITRAIL_VK_VALIDATION is set but the layer VK_LAYER_KHRONOS_validation is not "
                            "installed (Debian: vulkan-validationlayers)");
        if (!has_instance_ext(NULL, exts[0]) && !has_instance_ext(layers[0], exts[0]))
            return vt_error(ctx, VT_E_DEVICE, "vulkan: VITRAIL_VK_VALIDATION is set but %s is missing", exts[0]);
        n_exts = 1;
        if (has_instance_ext(layers[0], exts[1])) n_exts = 2;
    }
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "vitrail",
                             .pEngineName = "vitrail",
                             .apiVersion = VK_API_VERSION_1_1};
    /* chained into the instance too, so that messages of vkCreateInstance and
     * vkDestroyInstance themselves are captured */
    VkDebugUtilsMessengerCreateInfoEXT dbg = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = debug_cb,
        .pUserData = vk};
    /* synchronization validation too: barriers missing between dispatches give
     * right answers on lavapipe (it runs dispatches in order) and wrong ones on
     * GPUs, so only this check finds them in CI */
    const VkValidationFeatureEnableEXT enables[1] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                        .enabledValidationFeatureCount = 1,
                                        .pEnabledValidationFeatures = enables};
    if (n_exts == 2) dbg.pNext = &features;
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                               .pNext = vk->validation ? &dbg : NULL,
                               .pApplicationInfo = &app,
                               .enabledLayerCount = vk->validation ? 1u : 0u,
                               .ppEnabledLayerNames = layers,
                               .enabledExtensionCount = n_exts,
                               .ppEnabledExtensionNames = exts};
    VkResult r = vkCreateInstance(&ci, NULL, &vk->instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED) {
        vk->instance = VK_NULL_HANDLE;
        return vt_error(ctx, VT_E_DEVICE,
                        "vulkan: no Vulkan driver (vkCreateInstance: %s); install one, e.g. mesa-vulkan-drivers for the "
                        "lavapipe CPU driver",
                        vt_vk_result_name(r));
    }
    if (r != VK_SUCCESS) {
        vk->instance = VK_NULL_HANDLE;
        return vt_vk_result(vk, r, "vkCreateInstance");
    }
    if (vk->validation) {
        PFN_vkCreateDebugUtilsMessengerEXT create =
            (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(vk->instance, "vkCreateDebugUtilsMessengerEXT");
        if (!create) return vt_error(ctx, VT_E_DEVICE, "vulkan: vkCreateDebugUtilsMessengerEXT is missing");
        dbg.pNext = NULL; /* the features extend the instance only */
        int rc = vt_vk_result(vk, create(vk->instance, &dbg, NULL, &vk->messenger), "vkCreateDebugUtilsMessengerEXT");
        if (rc) return rc;
    }
    return VT_OK;
}

/* Preference of a device type for auto selection; higher is better. */
static int type_rank(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
    }
}

/* The first queue family with compute, or -1. A compute-only family is
 * preferred: on GPUs it is the asynchronous compute engine. */
static int compute_family(VkPhysicalDevice pd) {
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    if (n == 0) return -1;
    VkQueueFamilyProperties *q = calloc(n, sizeof *q);
    if (!q) return -1;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
    int any = -1, only = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!(q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || q[i].queueCount == 0) continue;
        if (any < 0) any = (int)i;
        if (only < 0 && !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) only = (int)i;
    }
    free(q);
    return only >= 0 ? only : any;
}

static int usable(VkPhysicalDevice pd, char *why, size_t cap) {
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(pd, &p);
    if (p.apiVersion < VK_API_VERSION_1_1) {
        snprintf(why, cap, "it supports Vulkan %u.%u only (1.1 needed)", VK_VERSION_MAJOR(p.apiVersion),
                 VK_VERSION_MINOR(p.apiVersion));
        return 0;
    }
    if (compute_family(pd) < 0) {
        snprintf(why, cap, "it has no compute queue");
        return 0;
    }
    return 1;
}

static int contains_nocase(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return 1;
    }
    return n == 0;
}

static int pick_device(vt_vk *vk, int device_index) {
    vt_context *ctx = vk->base.ctx;
    uint32_t n = 0;
    int rc = vt_vk_result(vk, vkEnumeratePhysicalDevices(vk->instance, &n, NULL), "vkEnumeratePhysicalDevices");
    if (rc) return rc;
    if (n == 0)
        return vt_error(ctx, VT_E_DEVICE,
                        "vulkan: the driver reports no device; install one, e.g. mesa-vulkan-drivers for lavapipe");
    VkPhysicalDevice *devs = calloc(n, sizeof *devs);
    if (!devs) return vt_error(ctx, VT_E_NOMEM, "vulkan: out of host memory listing %u devices", n);
    VkResult r = vkEnumeratePhysicalDevices(vk->instance, &n, devs);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        free(devs);
        return vt_vk_result(vk, r, "vkEnumeratePhysicalDevices");
    }
    char why[128];
    int chosen = -1;
    const char *env = getenv("VITRAIL_VK_DEVICE");
    if (device_index < 0 && env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == 0 && end != env) {
            if (v < 0 || v >= (long)n) {
                free(devs);
                return vt_error(ctx, VT_E_DEVICE, "vulkan: VITRAIL_VK_DEVICE=%s, but there are %u device(s) (0..%u)", env,
                                n, n - 1);
            }
            device_index = (int)v;
        } else {
            for (uint32_t i = 0; i < n && device_index < 0; i++) {
                VkPhysicalDeviceProperties p;
                vkGetPhysicalDeviceProperties(devs[i], &p);
                if (contains_nocase(p.deviceName, env)) device_index = (int)i;
            }
            if (device_index < 0) {
                free(devs);
                return vt_error(ctx, VT_E_DEVICE, "vulkan: VITRAIL_VK_DEVICE=%s names none of the %u device(s)", env, n);
            }
        }
    }
    if (device_index >= 0) {
        if ((uint32_t)device_index >= n) {
            free(devs);
            return vt_error(ctx, VT_E_DEVICE, "vulkan: device %d requested, but there are %u device(s)", device_index, n);
        }
        if (!usable(devs[device_index], why, sizeof why)) {
            VkPhysicalDeviceProperties p;
            vkGetPhysicalDeviceProperties(devs[device_index], &p);
            free(devs);
            return vt_error(ctx, VT_E_DEVICE, "vulkan: device %d (%s) is not usable: %s", device_index, p.deviceName, why);
        }
        chosen = device_index;
    } else {
        int best = -1;
        for (uint32_t i = 0; i < n; i++) {
            if (!usable(devs[i], why, sizeof why)) continue;
            VkPhysicalDeviceProperties p;
            vkGetPhysicalDeviceProperties(devs[i], &p);
            int rank = type_rank(p.deviceType);
            if (rank > best) {
                best = rank;
                chosen = (int)i;
            }
        }
        if (chosen < 0) {
            free(devs);
            return vt_error(ctx, VT_E_DEVICE, "vulkan: none of the %u device(s) is usable (Vulkan 1.1 with compute)", n);
        }
    }
    vk->phys = devs[chosen];
    free(devs);
    vkGetPhysicalDeviceProperties(vk->phys, &vk->props);
    vkGetPhysicalDeviceMemoryProperties(vk->phys, &vk->memprops);
    vk->qfamily = (uint32_t)compute_family(vk->phys);
    return VT_OK;
}

/* Storage buffers go to device-local memory. Where that memory is also
 * host-visible and coherent and is the host's own (integrated GPUs, CPU
 * drivers), buffers are mapped and up/downloads are memcpy; on a discrete GPU
 * they go through staging buffers even when the whole VRAM is mappable
 * (resizable BAR): on an H100 (driver 580) a GEMM writing a 151 MB mapped
 * output ran at 16 TFLOP/s after the host had read such an output back, and at
 * 76 with unmapped buffers and staging copies (docs/performance.md, run 6). */
int vt_vk_memory_plan(const VkPhysicalDeviceMemoryProperties *mp, VkPhysicalDeviceType type, const char *staging_env,
                      vt_vk_memory *out) {
    const VkMemoryPropertyFlags dl = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    const int discrete = type == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
    /* "1": the discrete-GPU path (unmapped buffers, staging copies) on any
     * device, so that it is tested on lavapipe too; "0": a discrete GPU's VRAM
     * mapped where all of it is mappable (the choice before run 6, kept for
     * measuring against) */
    const int force_staging = staging_env && *staging_env && strcmp(staging_env, "0") != 0;
    const int map_vram = staging_env && strcmp(staging_env, "0") == 0;
    VkDeviceSize biggest = 0;
    for (uint32_t h = 0; h < mp->memoryHeapCount; h++)
        if ((mp->memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && mp->memoryHeaps[h].size > biggest)
            biggest = mp->memoryHeaps[h].size;
    int local = -1, mapped = -1, staging = -1, staging_cached = -1;
    for (uint32_t i = 0; i < mp->memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = mp->memoryTypes[i].propertyFlags;
        VkDeviceSize heap = mp->memoryHeaps[mp->memoryTypes[i].heapIndex].size;
        if ((f & dl) && local < 0) local = (int)i;
        if ((f & dl) && (f & hv) == hv && mapped < 0 && (!discrete || (map_vram && heap >= biggest))) mapped = (int)i;
        if ((f & hv) == hv) {
            if (staging < 0) staging = (int)i;
            if ((f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) && staging_cached < 0) staging_cached = (int)i;
        }
    }
    if (staging < 0) return VT_E_DEVICE;
    out->staging = (uint32_t)(staging_cached >= 0 ? staging_cached : staging);
    if (force_staging && local >= 0) mapped = -1;
    if (mapped >= 0) {
        out->device = (uint32_t)mapped;
        out->mapped = 1;
    } else if (local >= 0) {
        out->device = (uint32_t)local;
        out->mapped = 0;
    } else {
        /* no device-local type at all: host memory it is */
        out->device = (uint32_t)staging;
        out->mapped = 1;
    }
    return VT_OK;
}

static int pick_memory(vt_vk *vk) {
    vt_vk_memory m;
    if (vt_vk_memory_plan(&vk->memprops, vk->props.deviceType, getenv("VITRAIL_VK_STAGING"), &m))
        return vt_error(vk->base.ctx, VT_E_DEVICE, "vulkan: %s has no host-visible coherent memory", vk->props.deviceName);
    vk->mem_staging = m.staging;
    vk->mem_device = m.device;
    vk->device_mapped = m.mapped;
    return VT_OK;
}

/* Whether the device lists a 16x16x16 f16 x f16 -> f32 subgroup shape. */
static int coop_shape(vt_vk *vk) {
    PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV get = (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)
        vkGetInstanceProcAddr(vk->instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV");
    uint32_t n = 0;
    if (!get || get(vk->phys, &n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkCooperativeMatrixPropertiesNV *p = calloc(n, sizeof *p);
    if (!p) return 0;
    for (uint32_t i = 0; i < n; i++) p[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV;
    int found = 0;
    VkResult r = get(vk->phys, &n, p);
    if (r == VK_SUCCESS || r == VK_INCOMPLETE)
        for (uint32_t i = 0; i < n; i++)
            found |= p[i].MSize == 16 && p[i].NSize == 16 && p[i].KSize == 16 && p[i].AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
                     p[i].BType == VK_COMPONENT_TYPE_FLOAT16_NV && p[i].CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
                     p[i].DType == VK_COMPONENT_TYPE_FLOAT32_NV && p[i].scope == VK_SCOPE_SUBGROUP_NV;
    free(p);
    return found;
}

/* 0 / 1 from an environment variable, `dflt` when unset or empty. */
static int env_flag(const char *name, int dflt) {
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    return strcmp(v, "0") != 0;
}

int vt_vk_device_open(vt_vk *vk, int device_index) {
    int rc;
    if ((rc = create_instance(vk)) || (rc = pick_device(vk, device_index)) || (rc = pick_memory(vk))) return rc;

    /* What the faster matrix paths need: 16-bit storage (f16 weights), and for
     * the cooperative-matrix shader also shaderFloat16, the Vulkan memory model
     * and VK_NV_cooperative_matrix. Only what the device has is enabled; the
     * f32 shaders need no feature or extension. */
    const int has_f16i8 = has_device_ext(vk->phys, "VK_KHR_shader_float16_int8");
    const int has_vmm = has_device_ext(vk->phys, "VK_KHR_vulkan_memory_model");
    const int has_coop = has_device_ext(vk->phys, "VK_NV_cooperative_matrix");
    const int has_sm = has_device_ext(vk->phys, "VK_NV_shader_sm_builtins");
    VkPhysicalDeviceCooperativeMatrixFeaturesNV fcoop = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
    VkPhysicalDeviceVulkanMemoryModelFeatures fvmm = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES};
    VkPhysicalDeviceShaderFloat16Int8Features ff16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDevice16BitStorageFeatures s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &s16};
    void **tail = &s16.pNext;
    if (has_f16i8) *tail = &ff16, tail = &ff16.pNext;
    if (has_vmm) *tail = &fvmm, tail = &fvmm.pNext;
    if (has_coop) *tail = &fcoop, tail = &fcoop.pNext;
    vkGetPhysicalDeviceFeatures2(vk->phys, &f2);

    VkPhysicalDeviceShaderSMBuiltinsPropertiesNV psm = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_SM_BUILTINS_PROPERTIES_NV};
    VkPhysicalDeviceSubgroupProperties psg = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
                                              .pNext = has_sm ? &psm : NULL};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &psg};
    vkGetPhysicalDeviceProperties2(vk->phys, &p2);
    vk->subgroup_size = psg.subgroupSize;
    /* without the NV query: a guess that only steers GEMM block sizes */
    vk->sm_count = has_sm && psm.shaderSMCount ? psm.shaderSMCount : 32;

    vk->has_f16 = s16.storageBuffer16BitAccess != 0;
    vk->has_float16 = has_f16i8 && ff16.shaderFloat16;
    vk->coop = (vt_vk_coop_caps){.extension = has_coop,
                                 .feature = has_coop && fcoop.cooperativeMatrix,
                                 .shape_16x16x16 = has_coop && coop_shape(vk),
                                 .float16 = vk->has_float16,
                                 .storage16 = vk->has_f16,
                                 .memory_model = has_vmm && fvmm.vulkanMemoryModel,
                                 .subgroup_size = psg.subgroupSize,
                                 .shared_bytes = vk->props.limits.maxComputeSharedMemorySize,
                                 .shader_built = vt_vk_shader_built(VT_VK_SH_GEMM_COOP_L) &&
                                                 vt_vk_shader_built(VT_VK_SH_GEMM_COOP_S)};
    /* VITRAIL_VK_COOP=0 keeps the extension off entirely (no self-check runs),
     * the way out should the driver fail on it */
    vk->use_coop = env_flag("VITRAIL_VK_COOP", 1);
    const int want_coop = vk->use_coop && vt_vk_coop_decide(&vk->coop, NULL, 0);

    /* enable exactly what will be used */
    VkPhysicalDevice16BitStorageFeatures e16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
                                                .storageBuffer16BitAccess = vk->has_f16};
    VkPhysicalDeviceShaderFloat16Int8Features ef16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
                                                      .shaderFloat16 = VK_TRUE};
    VkPhysicalDeviceVulkanMemoryModelFeatures evmm = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES,
                                                      .vulkanMemoryModel = VK_TRUE};
    VkPhysicalDeviceCooperativeMatrixFeaturesNV ecoop = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV, .cooperativeMatrix = VK_TRUE};
    const char *exts[5];
    uint32_t n_exts = 0;
    /* VITRAIL_VK_PUSH_DESCRIPTORS=0 takes the descriptor-pool path on any device */
    const int push = has_device_ext(vk->phys, "VK_KHR_push_descriptor") && env_flag("VITRAIL_VK_PUSH_DESCRIPTORS", 1);
    if (push) exts[n_exts++] = "VK_KHR_push_descriptor";
    if (want_coop) {
        e16.pNext = &ef16;
        ef16.pNext = &evmm;
        evmm.pNext = &ecoop;
        exts[n_exts++] = "VK_KHR_shader_float16_int8";
        exts[n_exts++] = "VK_KHR_vulkan_memory_model";
        exts[n_exts++] = "VK_NV_cooperative_matrix";
    }
    if (vk->has_f16 && has_device_ext(vk->phys, "VK_KHR_16bit_storage")) exts[n_exts++] = "VK_KHR_16bit_storage";

    const float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = vk->qfamily,
                                   .queueCount = 1,
                                   .pQueuePriorities = &prio};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &e16,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = n_exts,
                              .ppEnabledExtensionNames = exts};
    if ((rc = vt_vk_result(vk, vkCreateDevice(vk->phys, &dci, NULL, &vk->dev), "vkCreateDevice"))) {
        vk->dev = VK_NULL_HANDLE;
        return rc;
    }
    vkGetDeviceQueue(vk->dev, vk->qfamily, 0, &vk->queue);
    if (push) vk->push_set = (PFN_vkCmdPushDescriptorSetKHR)vkGetDeviceProcAddr(vk->dev, "vkCmdPushDescriptorSetKHR");
    vk->use_f16 = vk->has_f16 && env_flag("VITRAIL_VK_F16", 1);
    /* one block variant for every product (vt_backend_vulkan_force_tile's
     * numbers): for measuring the variants against each other (bench/gpu) */
    const char *tile = getenv("VITRAIL_VK_TILE");
    const int n_tiles = VT_VK_COOP_TILES > VT_VK_GEMM_TILES ? VT_VK_COOP_TILES : VT_VK_GEMM_TILES;
    char *end = NULL;
    const long t = tile && *tile ? strtol(tile, &end, 10) : -1;
    vk->force_tile = end && !*end && t >= 0 && t < n_tiles ? (int)t : -1;
    const char *bar = getenv("VITRAIL_VK_BARRIERS");
    vk->all_barriers = bar && strcmp(bar, "all") == 0;

    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
                                   .queueFamilyIndex = vk->qfamily};
    if ((rc = vt_vk_result(vk, vkCreateCommandPool(vk->dev, &pci, NULL, &vk->cmdpool), "vkCreateCommandPool"))) return rc;
    VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                       .commandPool = vk->cmdpool,
                                       .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                       .commandBufferCount = 1};
    if ((rc = vt_vk_result(vk, vkAllocateCommandBuffers(vk->dev, &cai, &vk->cmd), "vkAllocateCommandBuffers"))) return rc;
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    if ((rc = vt_vk_result(vk, vkCreateFence(vk->dev, &fci, NULL, &vk->fence), "vkCreateFence"))) return rc;
    return vt_vk_health(vk, "device creation");
}

void vt_vk_device_close(vt_vk *vk) {
    if (vk->dev) {
        if (vk->fence) vkDestroyFence(vk->dev, vk->fence, NULL);
        if (vk->cmdpool) vkDestroyCommandPool(vk->dev, vk->cmdpool, NULL);
        vkDestroyDevice(vk->dev, NULL);
        vk->dev = VK_NULL_HANDLE;
    }
    if (vk->instance) {
        if (vk->messenger) {
            PFN_vkDestroyDebugUtilsMessengerEXT destroy =
                (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(vk->instance, "vkDestroyDebugUtilsMessengerEXT");
            if (destroy) destroy(vk->instance, vk->messenger, NULL);
            vk->messenger = VK_NULL_HANDLE;
        }
        vkDestroyInstance(vk->instance, NULL);
        vk->instance = VK_NULL_HANDLE;
    }
}
