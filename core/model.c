/* The public immutable model: a validated, memory-mapped safetensors file whose
 * __metadata__ "config" entry holds the architecture. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "model.h"
#include "safetensors.h"

struct vt_model {
    vt_st_file *file;  /* owns the mapping; tensors point into it */
    char name[256];    /* the file's base name, for output metadata */
    char hash[17];     /* FNV-1a 64 of the whole file, 16 hex digits */
};

/* FNV-1a over the mapped file: outputs name the exact model file that made them
 * (the PNG "Model hash"), and a 64-bit hash is plenty to tell files apart. */
static void hash_file(const unsigned char *p, size_t n, char out[17]) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

int vt_model_open(vt_context *ctx, const char *path, vt_model **out) {
    if (!out) return vt_error(ctx, VT_E_INVALID, "vt_model_open: out is NULL");
    *out = NULL;
    if (!path || !*path) return vt_error(ctx, VT_E_INVALID, "model path is empty");
    vt_model *m = calloc(1, sizeof *m);
    if (!m) return vt_error(ctx, VT_E_NOMEM, "%s: out of memory", path);
    int rc = vt_st_open(ctx, path, &m->file);
    if (rc) {
        free(m);
        return rc;
    }
    const char *base = strrchr(path, '/');
    snprintf(m->name, sizeof m->name, "%s", base ? base + 1 : path);
    hash_file(m->file->map, m->file->map_size, m->hash);
    *out = m;
    return VT_OK;
}

void vt_model_close(vt_model **model) {
    if (!model || !*model) return;
    vt_st_close(&(*model)->file);
    free(*model);
    *model = NULL;
}

const char *vt_model_name(const vt_model *model) { return model ? model->name : NULL; }
const char *vt_model_hash(const vt_model *model) { return model ? model->hash : NULL; }

const char *vt_model_config(const vt_model *model) { return vt_model_metadata(model, "config"); }

const char *vt_model_metadata(const vt_model *model, const char *key) {
    return model ? vt_st_meta(model->file, key) : NULL;
}

size_t vt_model_metadata_count(const vt_model *model) { return model ? model->file->n_meta : 0; }

int vt_model_metadata_at(const vt_model *model, size_t i, const char **key, const char **value) {
    if (!model || i >= model->file->n_meta) return VT_E_INVALID;
    if (key) *key = model->file->meta_keys[i];
    if (value) *value = model->file->meta_values[i];
    return VT_OK;
}

size_t vt_model_tensor_count(const vt_model *model) { return model ? model->file->n_tensors : 0; }

int vt_model_tensor_at(const vt_model *model, size_t i, vt_tensor_info *info) {
    if (!model || !info || i >= model->file->n_tensors) return VT_E_INVALID;
    const vt_st_tensor *t = &model->file->tensors[i];
    memset(info, 0, sizeof *info);
    info->name = t->name;
    info->dtype = t->dtype;
    info->ndim = t->ndim;
    for (int d = 0; d < t->ndim; d++) info->shape[d] = t->shape[d];
    info->nbytes = t->nbytes;
    return VT_OK;
}

const vt_st_file *vt_model_file(const vt_model *model) { return model ? model->file : NULL; }

int vt_model_tensor_find(const vt_model *model, const char *name, vt_tensor_info *info) {
    if (!model || !name) return VT_E_INVALID;
    for (size_t i = 0; i < model->file->n_tensors; i++)
        if (strcmp(model->file->tensors[i].name, name) == 0) return vt_model_tensor_at(model, i, info);
    return VT_E_INVALID;
}

int vt_model_tensor_read_f32(vt_context *ctx, const vt_model *model, const char *name, float *dst, size_t numel) {
    if (!model) return vt_error(ctx, VT_E_INVALID, "vt_model_tensor_read_f32: model is NULL");
    return vt_st_read_f32(ctx, model->file, name, dst, numel);
}

int vt_tensors_save(vt_context *ctx, const char *path, const vt_named_tensor *tensors, size_t n,
                    const char *const *meta, size_t n_meta) {
    vt_st_writer *w = vt_st_writer_create();
    if (!w) return vt_error(ctx, VT_E_NOMEM, "%s: out of memory", path);
    int rc = VT_OK;
    for (size_t i = 0; i < n && !rc; i++)
        rc = vt_st_writer_add_f32(ctx, w, tensors[i].name, tensors[i].dtype, tensors[i].ndim, tensors[i].shape,
                                  tensors[i].data);
    for (size_t i = 0; i < n_meta && !rc; i++) rc = vt_st_writer_add_meta(ctx, w, meta[2 * i], meta[2 * i + 1]);
    if (!rc) rc = vt_st_writer_save(ctx, w, path);
    vt_st_writer_destroy(&w);
    return rc;
}
