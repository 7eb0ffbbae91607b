/* The NV extension types the Vulkan backend uses, for Vulkan headers that
 * predate them (VK_NV_cooperative_matrix arrived in 1.1.101, VK_NV_shader_sm_
 * builtins in 1.1.125): declared here as the registry defines them, so the
 * backend builds against any 1.1 header and asks the driver at run time. */
#ifndef VT_VK_NV_COMPAT_H
#define VT_VK_NV_COMPAT_H

#include <vulkan/vulkan.h>

#ifndef VK_NV_cooperative_matrix
#define VK_NV_cooperative_matrix 1
#define VT_VK_DECLARED_COOP_NV 1
#define VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV ((VkStructureType)1000249000)
#define VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV ((VkStructureType)1000249001)
typedef enum VkComponentTypeNV {
    VK_COMPONENT_TYPE_FLOAT16_NV = 0,
    VK_COMPONENT_TYPE_FLOAT32_NV = 1,
    VK_COMPONENT_TYPE_MAX_ENUM_NV = 0x7FFFFFFF
} VkComponentTypeNV;
typedef enum VkScopeNV { VK_SCOPE_SUBGROUP_NV = 3, VK_SCOPE_MAX_ENUM_NV = 0x7FFFFFFF } VkScopeNV;
typedef struct VkCooperativeMatrixPropertiesNV {
    VkStructureType sType;
    void *pNext;
    uint32_t MSize, NSize, KSize;
    VkComponentTypeNV AType, BType, CType, DType;
    VkScopeNV scope;
} VkCooperativeMatrixPropertiesNV;
typedef struct VkPhysicalDeviceCooperativeMatrixFeaturesNV {
    VkStructureType sType;
    void *pNext;
    VkBool32 cooperativeMatrix;
    VkBool32 cooperativeMatrixRobustBufferAccess;
} VkPhysicalDeviceCooperativeMatrixFeaturesNV;
typedef VkResult(VKAPI_PTR *PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)(VkPhysicalDevice, uint32_t *,
                                                                                   VkCooperativeMatrixPropertiesNV *);
#endif

#ifndef VK_NV_shader_sm_builtins
#define VK_NV_shader_sm_builtins 1
#define VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_SM_BUILTINS_PROPERTIES_NV ((VkStructureType)1000154001)
typedef struct VkPhysicalDeviceShaderSMBuiltinsPropertiesNV {
    VkStructureType sType;
    void *pNext;
    uint32_t shaderSMCount;
    uint32_t shaderWarpsPerSM;
} VkPhysicalDeviceShaderSMBuiltinsPropertiesNV;
#endif

#endif
