/* The SPIR-V modules embedded at build time (shaders/meson.build generates
 * vt_spirv.c with shaders/embed.c): one blob per shader variant, by name. */
#ifndef VT_VK_SPIRV_H
#define VT_VK_SPIRV_H

#include <stddef.h>
#include <stdint.h>

typedef struct vt_spirv_blob {
    const char *name;      /* the variant's name in shaders/meson.build */
    const uint32_t *code;  /* SPIR-V words */
    size_t size;           /* bytes */
} vt_spirv_blob;

extern const vt_spirv_blob vt_spirv_blobs[];
extern const int vt_spirv_count;

#endif
