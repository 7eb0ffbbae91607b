/* Test models built from pieces: the encoder fixture plus a random DiT, so that
 * every stage and command can run end to end in the suites. */
#ifndef VT_TESTS_MODELS_H
#define VT_TESTS_MODELS_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "dit.h"
#include "safetensors.h"

/* A model with everything: the encoder fixture's tensors and vocabulary plus a
 * random DiT whose conditioning width is the text encoder's (32) and whose input
 * is the image encoder's size (16). Returns the path. */
static inline void vt_test_full_model(vt_context *ctx, const char *dir, char *path, size_t cap) {
    char enc[512];
    const char *data = getenv("VT_TEST_DATA");
    snprintf(enc, sizeof enc, "%s/encoders/model.safetensors", data ? data : "tests/data");
    vt_st_file *ef;
    ck_assert_msg(vt_st_open(ctx, enc, &ef) == 0, "%s", vt_context_error(ctx));
    const char *dit = "\"arch\":\"dit\",\"in_channels\":3,\"input_size\":[16,16],\"patch_size\":4,\"hidden_size\":16,"
                      "\"depth\":2,\"num_heads\":2,\"cond_dim\":32,\"attention\":[\"neighborhood 3x3\",\"full\"]";
    char cfg[2048], ditcfg[512];
    const char *ecfg = vt_st_meta(ef, "config");
    snprintf(cfg, sizeof cfg, "{%s,%s", dit, ecfg + 1); /* both objects' members in one */
    snprintf(ditcfg, sizeof ditcfg, "{%s}", dit);
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%.200s/dit.safetensors", dir);
    ck_assert_int_eq(vt_dit_write_random(ctx, ditcfg, 8, NULL, 0, tmp), 0);
    vt_st_file *df;
    ck_assert_int_eq(vt_st_open(ctx, tmp, &df), 0);
    vt_st_writer *w = vt_st_writer_create();
    const vt_st_file *files[2] = {df, ef};
    for (int f = 0; f < 2; f++)
        for (size_t i = 0; i < files[f]->n_tensors; i++) {
            const vt_st_tensor *t = &files[f]->tensors[i];
            size_t n = t->nbytes / vt_dtype_size(t->dtype);
            float *v = malloc((n ? n : 1) * sizeof *v);
            ck_assert_int_eq(vt_st_read_f32(ctx, files[f], t->name, v, n), 0);
            ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, t->name, VT_DTYPE_F32, t->ndim, t->shape, v), 0);
            free(v);
        }
    ck_assert_int_eq(vt_st_writer_add_meta(ctx, w, "config", cfg), 0);
    ck_assert_int_eq(vt_st_writer_add_meta(ctx, w, "vocab", vt_st_meta(ef, "vocab")), 0);
    snprintf(path, cap, "%.200s/full.safetensors", dir);
    ck_assert_int_eq(vt_st_writer_save(ctx, w, path), 0);
    vt_st_writer_destroy(&w);
    vt_st_close(&df);
    vt_st_close(&ef);
}

#endif
