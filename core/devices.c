/* Device listing: the CPU (with its BLAS build) and, in Vulkan builds, every
 * Vulkan physical device with its type and largest device-local heap. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "context.h"
#include "vt_config.h"

#if VT_HAVE_VULKAN
#include <vulkan/vulkan.h>
#endif


int vt_has_vulkan(void) { return VT_HAVE_VULKAN; }

const char *vt_device_type_name(vt_device_type t) {
    switch (t) {
    case VT_DEVICE_CPU: return "cpu";
    case VT_DEVICE_DISCRETE_GPU: return "discrete-gpu";
    case VT_DEVICE_INTEGRATED_GPU: return "integrated-gpu";
    case VT_DEVICE_VIRTUAL_GPU: return "virtual-gpu";
    case VT_DEVICE_CPU_DRIVER: return "cpu-driver";
    case VT_DEVICE_OTHER: return "other";
    }
    return "other";
}

static void cpu_name(char *out, size_t cap) {
    snprintf(out, cap, "CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            if (colon) {
                colon++;
                while (*colon == ' ' || *colon == '\t') colon++;
                colon[strcspn(colon, "\n")] = 0;
                snprintf(out, cap, "%s", colon);
            }
            break;
        }
    }
    fclose(f);
}

static void fill(vt_device_desc *out, int cap, int i, const vt_device_desc *d) {
    if (i < cap) out[i] = *d;
}

#if VT_HAVE_VULKAN
static vt_device_type vk_type(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return VT_DEVICE_DISCRETE_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return VT_DEVICE_INTEGRATED_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return VT_DEVICE_VIRTUAL_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return VT_DEVICE_CPU_DRIVER;
    default: return VT_DEVICE_OTHER;
    }
}

/* Appends the Vulkan devices from index `n`; returns the new count. No instance
 * (no loader ICD) means no Vulkan devices, which is not an error for a listing. */
static int list_vulkan(vt_context *ctx, vt_device_desc *out, int cap, int n) {
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "vitrail",
                             .apiVersion = VK_API_VERSION_1_1};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
    VkInstance inst;
    VkResult r = vkCreateInstance(&ci, NULL, &inst);
    if (r != VK_SUCCESS) {
        vt_log(ctx, VT_LOG_INFO, "vulkan: no instance (VkResult %d): no Vulkan driver installed", (int)r);
        return n;
    }
    uint32_t count = 0;
    vkEnumeratePhysicalDevices(inst, &count, NULL);
    VkPhysicalDevice devs[32];
    if (count > 32) count = 32;
    vkEnumeratePhysicalDevices(inst, &count, devs);
    for (uint32_t i = 0; i < count; i++) {
        VkPhysicalDeviceProperties p;
        VkPhysicalDeviceMemoryProperties mp;
        vkGetPhysicalDeviceProperties(devs[i], &p);
        vkGetPhysicalDeviceMemoryProperties(devs[i], &mp);
        vt_device_desc d;
        memset(&d, 0, sizeof d);
        snprintf(d.backend, sizeof d.backend, "vulkan");
        d.index = (int)i;
        snprintf(d.name, sizeof d.name, "%s", p.deviceName);
        d.type = vk_type(p.deviceType);
        for (uint32_t h = 0; h < mp.memoryHeapCount; h++)
            if ((mp.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && mp.memoryHeaps[h].size > d.memory)
                d.memory = mp.memoryHeaps[h].size;
        snprintf(d.detail, sizeof d.detail, "Vulkan %u.%u.%u, driver 0x%x, vendor 0x%04x",
                 VK_VERSION_MAJOR(p.apiVersion), VK_VERSION_MINOR(p.apiVersion),
                 VK_VERSION_PATCH(p.apiVersion), p.driverVersion, p.vendorID);
        fill(out, cap, n++, &d);
    }
    vkDestroyInstance(inst, NULL);
    return n;
}
#endif

int vt_devices_list(vt_context *ctx, vt_device_desc *out, int cap) {
    if (cap > 0 && !out) return vt_error(ctx, VT_E_INVALID, "vt_devices_list: out is NULL");
    vt_device_desc d;
    memset(&d, 0, sizeof d);
    snprintf(d.backend, sizeof d.backend, "cpu");
    cpu_name(d.name, sizeof d.name);
    d.type = VT_DEVICE_CPU;
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    d.memory = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
    snprintf(d.detail, sizeof d.detail, "%d threads, BLAS: %s", vt_context_threads(ctx), openblas_get_config());
    int n = 0;
    fill(out, cap, n++, &d);
#if VT_HAVE_VULKAN
    n = list_vulkan(ctx, out, cap, n);
#endif
    return n;
}
