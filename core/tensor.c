/* Tensor views and the f16/bf16 <-> f32 conversions used by model loading and
 * by every backend's storage formats. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tensor.h"

const char *vt_dtype_name(vt_dtype dt) {
    switch (dt) {
    case VT_DTYPE_F32: return "F32";
    case VT_DTYPE_F16: return "F16";
    case VT_DTYPE_BF16: return "BF16";
    }
    return "?";
}

size_t vt_dtype_size(vt_dtype dt) { return dt == VT_DTYPE_F32 ? 4 : 2; }

vt_tensor vt_tensor_make(vt_dtype dt, void *data, int ndim, const int64_t *shape) {
    vt_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.ndim = ndim < 0 ? 0 : (ndim > VT_MAX_DIMS ? VT_MAX_DIMS : ndim);
    for (int i = 0; i < t.ndim; i++) t.shape[i] = shape[i];
    t.data = data;
    return t;
}

vt_tensor vt_tensor_f32_1d(float *data, int64_t d0) {
    int64_t s[1] = {d0};
    return vt_tensor_make(VT_DTYPE_F32, data, 1, s);
}
vt_tensor vt_tensor_f32_2d(float *data, int64_t d0, int64_t d1) {
    int64_t s[2] = {d0, d1};
    return vt_tensor_make(VT_DTYPE_F32, data, 2, s);
}
vt_tensor vt_tensor_f32_3d(float *data, int64_t d0, int64_t d1, int64_t d2) {
    int64_t s[3] = {d0, d1, d2};
    return vt_tensor_make(VT_DTYPE_F32, data, 3, s);
}

int64_t vt_tensor_numel(const vt_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

size_t vt_tensor_nbytes(const vt_tensor *t) {
    return (size_t)vt_tensor_numel(t) * vt_dtype_size(t->dtype);
}

int vt_tensor_same_shape(const vt_tensor *a, const vt_tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

const char *vt_tensor_shape_str(const vt_tensor *t, char *buf, size_t cap) {
    size_t n = 0;
    if (cap == 0) return buf;
    n += (size_t)snprintf(buf + n, cap - n, "(");
    for (int i = 0; i < t->ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, ")");
    return buf;
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t vt_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t exp = (x >> 23) & 0xffu;
    uint32_t man = x & 0x7fffffu;
    if (exp == 0xffu) /* inf stays inf; NaN keeps a quiet payload bit */
        return (uint16_t)(sign | 0x7c00u | (man ? 0x200u | (man >> 13) : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 0x1f) return (uint16_t)(sign | 0x7c00u); /* overflow to inf */
    if (e <= 0) {
        /* Subnormal half (or zero): shift the full mantissa, round to nearest even. */
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000u;
        int shift = 14 - e;
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = sign | ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1fffu;
    /* A carry out of the mantissa correctly bumps the exponent (up to inf). */
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
    return (uint16_t)h;
}

float vt_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0) {
        if (man == 0) return bits_f32(sign);
        /* subnormal: value = man · 2^-24 */
        float v = (float)man * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (man << 13));
    return bits_f32(sign | ((exp - 15 + 127) << 23) | (man << 13));
}

uint16_t vt_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    uint32_t lsb = (x >> 16) & 1u;
    x += 0x7fffu + lsb;
    return (uint16_t)(x >> 16);
}

float vt_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

void vt_convert_to_f32(float *dst, const void *src, vt_dtype sdt, size_t n) {
    const unsigned char *p = src;
    switch (sdt) {
    case VT_DTYPE_F32: memcpy(dst, src, n * 4); break;
    case VT_DTYPE_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2); /* the source may be unaligned inside a mapping */
            dst[i] = vt_f16_to_f32(h);
        }
        break;
    case VT_DTYPE_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = vt_bf16_to_f32(h);
        }
        break;
    }
}

void vt_convert_from_f32(void *dst, vt_dtype ddt, const float *src, size_t n) {
    unsigned char *p = dst;
    switch (ddt) {
    case VT_DTYPE_F32: memcpy(dst, src, n * 4); break;
    case VT_DTYPE_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h = vt_f32_to_f16(src[i]);
            memcpy(p + 2 * i, &h, 2);
        }
        break;
    case VT_DTYPE_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h = vt_f32_to_bf16(src[i]);
            memcpy(p + 2 * i, &h, 2);
        }
        break;
    }
}
