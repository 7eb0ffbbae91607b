/* Dense row-major tensors of up to 5 dims (f32 compute, f16/bf16 storage) and
 * the scalar conversions between the storage types. */
#ifndef VT_CORE_TENSOR_H
#define VT_CORE_TENSOR_H

#include <stdint.h>
#include <stddef.h>
#include "vitrail.h"

/* A view of memory: the tensor owns nothing. Shapes are outermost-first, as in
 * PyTorch: a (B, N, D) tensor has shape {B, N, D} and D is contiguous. */
typedef struct vt_tensor {
    vt_dtype dtype;
    int ndim;
    int64_t shape[VT_MAX_DIMS];
    void *data;   /* host memory (CPU backend, or a host-mapped device buffer); NULL otherwise */
    struct vt_buffer *buf; /* (optional) the backend buffer holding the bytes */
    size_t offset;         /* byte offset of element 0 within buf */
} vt_tensor;

vt_tensor vt_tensor_make(vt_dtype dt, void *data, int ndim, const int64_t *shape);
/* Convenience constructors for f32 views. */
vt_tensor vt_tensor_f32_1d(float *data, int64_t d0);
vt_tensor vt_tensor_f32_2d(float *data, int64_t d0, int64_t d1);
vt_tensor vt_tensor_f32_3d(float *data, int64_t d0, int64_t d1, int64_t d2);

int64_t vt_tensor_numel(const vt_tensor *t);
size_t vt_tensor_nbytes(const vt_tensor *t);
/* Whether a and b have the same ndim and shape. */
int vt_tensor_same_shape(const vt_tensor *a, const vt_tensor *b);
/* Writes "(2, 3, 4)" into buf. */
const char *vt_tensor_shape_str(const vt_tensor *t, char *buf, size_t cap);

/* IEEE half <-> float, round-to-nearest-even, with inf/nan/subnormals. */
uint16_t vt_f32_to_f16(float f);
float vt_f16_to_f32(uint16_t h);
/* bfloat16 <-> float, round-to-nearest-even; NaN stays NaN. */
uint16_t vt_f32_to_bf16(float f);
float vt_bf16_to_f32(uint16_t h);

/* Converts n elements from src (dtype sdt) to f32. */
void vt_convert_to_f32(float *dst, const void *src, vt_dtype sdt, size_t n);
/* Converts n f32 elements to dtype ddt. */
void vt_convert_from_f32(void *dst, vt_dtype ddt, const float *src, size_t n);

#endif
