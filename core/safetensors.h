/* The safetensors model-file format: an 8-byte little-endian header length, a
 * JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}},
 * then the tensor bytes. Read by mmap with every field validated; written to a
 * temporary name and renamed when complete. */
#ifndef VT_CORE_SAFETENSORS_H
#define VT_CORE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "vitrail.h"

typedef struct vt_st_tensor {
    char *name;
    vt_dtype dtype;
    int ndim;
    int64_t shape[VT_MAX_DIMS];
    size_t offset;       /* from the start of the data section */
    size_t nbytes;
    const void *data;    /* points into the mapping */
} vt_st_tensor;

typedef struct vt_st_file {
    void *map;           /* the whole file, mmap-ed read-only */
    size_t map_size;
    size_t data_start;   /* 8 + header length */
    size_t n_tensors;
    vt_st_tensor *tensors;   /* (n_tensors) in header order */
    size_t n_meta;
    char **meta_keys;        /* (n_meta) */
    char **meta_values;      /* (n_meta) */
} vt_st_file;

/* Validates and maps `path`. Refuses, with a one-line message naming the file and
 * the fault: truncated file, header length larger than the file, invalid JSON,
 * unknown dtype, bad shape, offsets out of range, overlapping or unaligned
 * tensors, shape x dtype != byte length, duplicate names. */
int vt_st_open(vt_context *ctx, const char *path, vt_st_file **out);
/* Same checks on a buffer already in memory (the fuzz entry point); `buf` must
 * outlive the result, which does not own it. */
int vt_st_parse(vt_context *ctx, const char *what, const void *buf, size_t size, vt_st_file **out);
void vt_st_close(vt_st_file **f);

const vt_st_tensor *vt_st_find(const vt_st_file *f, const char *name);
const char *vt_st_meta(const vt_st_file *f, const char *key);

/* Loads a tensor as f32 into dst (numel floats), converting from F16/BF16. */
int vt_st_read_f32(vt_context *ctx, const vt_st_file *f, const char *name, float *dst, size_t numel);

/* ---- writer ---- */

typedef struct vt_st_writer vt_st_writer;

vt_st_writer *vt_st_writer_create(void);
void vt_st_writer_destroy(vt_st_writer **w);
/* The data is copied. f32 `data` is converted to `dtype` on the way in. */
int vt_st_writer_add_f32(vt_context *ctx, vt_st_writer *w, const char *name, vt_dtype dtype,
                         int ndim, const int64_t *shape, const float *data);
int vt_st_writer_add_meta(vt_context *ctx, vt_st_writer *w, const char *key, const char *value);
/* Writes path.tmp-XXXX, fsyncs, renames onto path. */
int vt_st_writer_save(vt_context *ctx, vt_st_writer *w, const char *path);

#endif
