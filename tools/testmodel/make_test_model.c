/* Builds the test model: every component in one file (the encoders of
 * tests/data/encoders, and a random-weight DiT conditioned on their text tokens,
 * with neighborhood and full blocks), so every command runs end to end in tests
 * and in README command 1 until the trained default model lands. Its outputs are
 * noise: the weights are random. With --video, a clip model of 4 frames (spatial
 * neighborhood then temporal blocks, as the default model alternates them).
 *   vt-make-test-model ENCODERS.safetensors OUT.safetensors [--video] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "dit.h"
#include "safetensors.h"

/* The DiT part: 16×16 RGB (the image encoder's size, so edit/ref presets can feed
 * it), conditioning width 32 (the text encoder's hidden size). */
static const char *dit_config =
    "\"arch\":\"dit\",\"in_channels\":3,\"input_size\":[16,16],\"patch_size\":4,\"hidden_size\":32,"
    "\"depth\":2,\"num_heads\":2,\"cond_dim\":32,\"prediction\":\"v\",\"attention\":[\"neighborhood 3x3\",\"full\"]";
static const char *dit_video_config =
    "\"arch\":\"dit\",\"in_channels\":3,\"input_size\":[16,16],\"frames\":4,\"patch_size\":4,\"hidden_size\":32,"
    "\"depth\":2,\"num_heads\":2,\"cond_dim\":32,\"prediction\":\"v\",\"attention\":[\"neighborhood 3x3\",\"temporal\"]";

static int fail(vt_context *ctx) {
    fprintf(stderr, "vt-make-test-model: %s\n", vt_context_error(ctx));
    vt_context_destroy(&ctx);
    return 1;
}

int main(int argc, char **argv) {
    int video = argc == 4 && !strcmp(argv[3], "--video");
    if (argc != 3 && !video) {
        fprintf(stderr, "usage: vt-make-test-model ENCODERS.safetensors OUT.safetensors [--video]\n");
        return 2;
    }
    const char *dcfg = video ? dit_video_config : dit_config;
    vt_context *ctx = vt_context_create(NULL);
    vt_st_file *ef = NULL, *df = NULL;
    if (vt_st_open(ctx, argv[1], &ef)) return fail(ctx);
    const char *ecfg = vt_st_meta(ef, "config"), *vocab = vt_st_meta(ef, "vocab");
    if (!ecfg || ecfg[0] != '{' || !vocab) {
        fprintf(stderr, "vt-make-test-model: %s: no encoder config or vocabulary\n", argv[1]);
        return 1;
    }
    char tmp[4096], ditcfg[1024], *cfg = malloc(strlen(ecfg) + 1024);
    snprintf(tmp, sizeof tmp, "%s.dit-part", argv[2]);
    snprintf(ditcfg, sizeof ditcfg, "{%s}", dcfg);
    sprintf(cfg, "{%s,%s", dcfg, ecfg + 1); /* both objects' members in one */
    const char *meta[] = {"weights", "random: the test model, outputs are noise"};
    if (vt_dit_write_random(ctx, ditcfg, 7, meta, 1, tmp) || vt_st_open(ctx, tmp, &df)) return fail(ctx);
    vt_st_writer *w = vt_st_writer_create();
    const vt_st_file *files[2] = {df, ef};
    int rc = 0;
    for (int f = 0; f < 2 && !rc; f++)
        for (size_t i = 0; i < files[f]->n_tensors && !rc; i++) {
            const vt_st_tensor *t = &files[f]->tensors[i];
            size_t n = t->nbytes / vt_dtype_size(t->dtype);
            float *v = malloc((n ? n : 1) * sizeof *v);
            rc = !v || vt_st_read_f32(ctx, files[f], t->name, v, n) ||
                 vt_st_writer_add_f32(ctx, w, t->name, VT_DTYPE_F32, t->ndim, t->shape, v);
            free(v);
        }
    if (!rc)
        rc = vt_st_writer_add_meta(ctx, w, "config", cfg) || vt_st_writer_add_meta(ctx, w, "vocab", vocab) ||
             vt_st_writer_add_meta(ctx, w, "name", video ? "vitrail test clip model (random weights)"
                                                         : "vitrail test model (random weights)") ||
             vt_st_writer_add_meta(ctx, w, meta[0], meta[1]) || vt_st_writer_save(ctx, w, argv[2]);
    vt_st_writer_destroy(&w);
    vt_st_close(&df);
    vt_st_close(&ef);
    remove(tmp);
    free(cfg);
    if (rc) return fail(ctx);
    vt_context_destroy(&ctx);
    return 0;
}
