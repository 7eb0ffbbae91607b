/* Check suite for stage pipelines: preset parsing and validation errors, an
 * external stage loaded from a shared object and run between built-in stages,
 * uninit after a failed init, and a class-conditional denoise to PNG. */
#include <check.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vt_check.h"
#include "test_models.h"
#include "context.h"
#include "dit.h"
#include "safetensors.h"
#include "vitrail_stage.h"

static vt_context *ctx;
static char dir[64];

static void setup(void) {
    ctx = vt_context_create(NULL);
    vt_test_mkdtemp(dir, sizeof dir, "pipe");
}

static void teardown(void) {
    vt_test_rmtree(dir);
    vt_context_destroy(&ctx);
}

static const char *plugin_path(void) {
    const char *p = getenv("VT_TEST_PLUGIN");
    return p ? p : "tests/libvt_plugin_example.so";
}

static int load_plugin_once(void) {
    if (vt_stage_find("invert")) return 0;
    return vt_stage_load_plugin(ctx, plugin_path());
}

/* Writes a 5x4 RGB PNG with known pixels. */
static void write_png(const char *path) {
    unsigned char px[4 * 5 * 3];
    for (int i = 0; i < 60; i++) px[i] = (unsigned char)(i * 4);
    vt_image img = {5, 4, px};
    ck_assert_int_eq(vt_image_save_png(ctx, path, &img, NULL), 0);
}

START_TEST(validation_errors) {
    static const vt_slot_spec none[] = {{NULL, 0, 0, NULL}};
    struct { const char *preset; const char *word; } bad[] = {
        {"", "no stages"},
        {"# only a comment\n", "no stages"},
        {"frobnicate\n", "unknown stage 'frobnicate'"},
        {"read_image path=a.png colour=red\n", "no parameter 'colour'"},
        {"read_image path=a.png width=99999\n", "outside 0..16384"},
        {"read_image path=a.png width=ten\n", "not an integer"},
        {"read_image path=a.png resize=squash\n", "not one of crop|fit|stretch"},
        {"read_image\n", "needs parameter 'path'"},
        {"write_image path=o.png\n", "reads slot 'frames', which no earlier stage produces"},
        {"read_image path=a.png nokeyvalue\n", "not key=value"},
        {"denoise steps=0\n", "outside 1..1000"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vt_pipeline *p = NULL;
        ck_assert_int_ne(vt_pipeline_create(ctx, bad[i].preset, none, NULL, NULL, &p), 0);
        ck_assert_ptr_null(p);
        ck_assert_msg(strstr(vt_context_error(ctx), bad[i].word) != NULL, "'%s' -> '%s'", bad[i].preset,
                      vt_context_error(ctx));
    }
    /* a slot given by the caller satisfies the check; a type mismatch does not */
    static const vt_slot_spec text_frames[] = {{"frames", VT_SLOT_TEXT, 0, NULL}, {NULL, 0, 0, NULL}};
    vt_pipeline *p = NULL;
    ck_assert_int_ne(vt_pipeline_create(ctx, "write_image path=o.png\n", text_frames, NULL, NULL, &p), 0);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "holds text"));
    const char *ov[] = {"write_image.path=x.png", NULL};
    static const vt_slot_spec frames[] = {{"frames", VT_SLOT_FRAMES, 0, NULL}, {NULL, 0, 0, NULL}};
    ck_assert_int_eq(vt_pipeline_create(ctx, "write_image path=o.png\n", frames, ov, NULL, &p), 0);
    vt_pipeline_destroy(&p);
    const char *bad_ov[] = {"nostage.path=x", NULL};
    ck_assert_int_ne(vt_pipeline_create(ctx, "write_image path=o.png\n", frames, bad_ov, NULL, &p), 0);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "no stage 'nostage'"));
    /* denoise without a model is refused at init */
    ck_assert_int_ne(vt_pipeline_create(ctx, "denoise\n", none, NULL, NULL, &p), 0);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "no model"));
}
END_TEST

START_TEST(plugin_between_builtins) {
    ck_assert_msg(load_plugin_once() == 0, "%s", vt_context_error(ctx));
    ck_assert_ptr_nonnull(vt_stage_find("invert"));
    char in[128], out[128], preset[512];
    snprintf(in, sizeof in, "%s/in.png", dir);
    snprintf(out, sizeof out, "%s/out.png", dir);
    write_png(in);
    snprintf(preset, sizeof preset, "read_image path=%s\ninvert gain=1\nwrite_image path=%s\n", in, out);
    static const vt_slot_spec none[] = {{NULL, 0, 0, NULL}};
    vt_pipeline *p;
    ck_assert_msg(vt_pipeline_create(ctx, preset, none, NULL, NULL, &p) == 0, "%s", vt_context_error(ctx));
    ck_assert_msg(vt_pipeline_run(p) == 0, "%s", vt_context_error(ctx));
    const vt_value *f = vt_pipeline_slot(p, "frames");
    ck_assert_int_eq(f->ndim, 5);
    ck_assert(f->shape[3] == 4 && f->shape[4] == 5);
    vt_pipeline_destroy(&p);
    /* the written PNG is the negative of the input: 255 - v (±1 for rounding) */
    vt_image a, b;
    ck_assert_int_eq(vt_image_load(ctx, in, &a), 0);
    ck_assert_int_eq(vt_image_load(ctx, out, &b), 0);
    for (int i = 0; i < 60; i++) ck_assert_int_le(abs((255 - a.pixels[i]) - b.pixels[i]), 1);
    vt_image_free(&a);
    vt_image_free(&b);
    /* loading the same plugin twice is refused: its names exist */
    ck_assert_int_eq(vt_stage_load_plugin(ctx, plugin_path()), VT_E_INVALID);
    ck_assert_int_ne(vt_stage_load_plugin(ctx, "/nonexistent/plugin.so"), 0);
}
END_TEST

START_TEST(uninit_after_failed_init) {
    ck_assert_int_eq(load_plugin_once(), 0);
    void *h = dlopen(plugin_path(), RTLD_NOW | RTLD_NOLOAD);
    ck_assert_ptr_nonnull(h);
    int *inits = dlsym(h, "vt_example_inits"), *uninits = dlsym(h, "vt_example_uninits");
    int i0 = *inits, u0 = *uninits;
    static const vt_slot_spec frames[] = {{"frames", VT_SLOT_FRAMES, 0, NULL}, {NULL, 0, 0, NULL}};
    vt_pipeline *p;
    ck_assert_int_eq(vt_pipeline_create(ctx, "invert\nfail_init\n", frames, NULL, NULL, &p), VT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "stage fail_init: refusing on purpose"));
    ck_assert_int_eq(*inits - i0, 1);
    ck_assert_int_eq(*uninits - u0, 2); /* both stages' uninit ran */
    dlclose(h);
}
END_TEST

START_TEST(read_image_resize_policies) {
    char in[128];
    snprintf(in, sizeof in, "%s/in.png", dir);
    write_png(in); /* 5 wide, 4 high */
    static const vt_slot_spec none[] = {{NULL, 0, 0, NULL}};
    const char *modes[] = {"crop", "fit", "stretch"};
    for (int m = 0; m < 3; m++) {
        char preset[256];
        snprintf(preset, sizeof preset, "read_image path=%s width=8 height=8 resize=%s\n", in, modes[m]);
        vt_pipeline *p;
        ck_assert_int_eq(vt_pipeline_create(ctx, preset, none, NULL, NULL, &p), 0);
        ck_assert_int_eq(vt_pipeline_run(p), 0);
        const vt_value *f = vt_pipeline_slot(p, "frames");
        ck_assert(f->shape[3] == 8 && f->shape[4] == 8);
        int black_rows = 0;
        for (int y = 0; y < 8; y++) {
            int black = 1;
            for (int x = 0; x < 8; x++) black &= f->data[y * 8 + x] == -1.0f;
            black_rows += black;
        }
        /* fit letterboxes 5x4 into 8x8 as 8x6 with a black row above and below */
        ck_assert_int_eq(black_rows, m == 1 ? 2 : 0);
        for (int i = 0; i < 3 * 64; i++) ck_assert(f->data[i] >= -1.0f && f->data[i] <= 1.0f);
        vt_pipeline_destroy(&p);
    }
}
END_TEST

START_TEST(denoise_to_png) {
    const char *cfg = "{\"arch\":\"dit\",\"in_channels\":3,\"input_size\":[8,8],\"patch_size\":2,\"hidden_size\":16,"
                      "\"depth\":1,\"num_heads\":2,\"num_classes\":3}";
    char model[128], out[128], preset[256];
    snprintf(model, sizeof model, "%s/m.safetensors", dir);
    snprintf(out, sizeof out, "%s/o.png", dir);
    ck_assert_int_eq(vt_dit_write_random(ctx, cfg, 4, NULL, 0, model), 0);
    vt_model *m;
    ck_assert_int_eq(vt_model_open(ctx, model, &m), 0);
    snprintf(preset, sizeof preset, "denoise steps=3 class=1 sampler=ddim\nwrite_image path=%s\n", out);
    static const vt_slot_spec none[] = {{NULL, 0, 0, NULL}};
    vt_pipeline *p;
    ck_assert_msg(vt_pipeline_create(ctx, preset, none, NULL, m, &p) == 0, "%s", vt_context_error(ctx));
    ck_assert_int_eq(vt_pipeline_run(p), 0);
    vt_pipeline_destroy(&p);
    char *params = NULL;
    ck_assert_int_eq(vt_png_text(ctx, out, "parameters", &params), 0);
    ck_assert_ptr_nonnull(params);
    ck_assert_ptr_nonnull(strstr(params, "Steps: 3, Sampler: ddim"));
    free(params);
    snprintf(preset, sizeof preset, "denoise class=9\n");
    ck_assert_int_ne(vt_pipeline_create(ctx, preset, none, NULL, m, &p), 0);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "3 classes"));
    vt_model_close(&m);
}
END_TEST

/* read_video -> invert (plugin) -> write_video: frame count, size and rate come
 * out as asked, and ffprobe reads the result. */
START_TEST(video_through_pipeline) {
    ck_assert_int_eq(load_plugin_once(), 0);
    char src[128], out[128], preset[512], cmd[512];
    snprintf(src, sizeof src, "%s/src.mp4", dir);
    snprintf(out, sizeof out, "%s/out.mp4", dir);
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -f lavfi -i testsrc=size=64x48:rate=25:duration=1.2 '%s'", src);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(preset, sizeof preset,
             "read_video path=%s fps=10 width=32 height=24\ninvert\nwrite_video path=%s fps=10\n", src, out);
    static const vt_slot_spec none[] = {{NULL, 0, 0, NULL}};
    vt_pipeline *p;
    ck_assert_msg(vt_pipeline_create(ctx, preset, none, NULL, NULL, &p) == 0, "%s", vt_context_error(ctx));
    ck_assert_msg(vt_pipeline_run(p) == 0, "%s", vt_context_error(ctx));
    const vt_value *f = vt_pipeline_slot(p, "frames");
    ck_assert(f->shape[2] == 12 && f->shape[3] == 24 && f->shape[4] == 32);
    vt_pipeline_destroy(&p);
    char probe[160];
    snprintf(probe, sizeof probe, "%s/probe.txt", dir);
    snprintf(cmd, sizeof cmd, "ffprobe -v error -count_frames -show_entries stream=nb_read_frames,width,height,r_frame_rate "
             "-of csv=p=0 '%s' > '%s'", out, probe);
    ck_assert_int_eq(system(cmd), 0);
    FILE *pf = fopen(probe, "r");
    char line[128] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, pf));
    fclose(pf);
    ck_assert_msg(strstr(line, "32,24,10/1,12") != NULL, "%s", line);
}
END_TEST

/* img2img: at a small strength the output stays near the input image, at full
 * strength it does not (the input is then ignored). */
START_TEST(img2img_strength) {
    const char *cfg = "{\"arch\":\"dit\",\"in_channels\":3,\"input_size\":[8,8],\"patch_size\":2,\"hidden_size\":16,"
                      "\"depth\":1,\"num_heads\":2,\"num_classes\":3,\"prediction\":\"v\"}";
    char model[128], in[128], preset[512];
    snprintf(model, sizeof model, "%s/m.safetensors", dir);
    snprintf(in, sizeof in, "%s/in.png", dir);
    write_png(in);
    ck_assert_int_eq(vt_dit_write_random(ctx, cfg, 4, NULL, 0, model), 0);
    vt_model *m;
    ck_assert_int_eq(vt_model_open(ctx, model, &m), 0);
    static const vt_slot_spec none[] = {{NULL, 0, 0, NULL}};
    double diff[2];
    float strengths[2] = {0.05f, 1.0f};
    float ref[3 * 64];
    for (int k = 0; k < 2; k++) {
        snprintf(preset, sizeof preset, "read_image path=%s width=8 height=8\ndenoise steps=20 class=1 strength=%g\n", in,
                 strengths[k]);
        vt_pipeline *p;
        ck_assert_msg(vt_pipeline_create(ctx, preset, none, NULL, m, &p) == 0, "%s", vt_context_error(ctx));
        /* the input as read, for comparison */
        vt_pipeline *rp;
        snprintf(preset, sizeof preset, "read_image path=%s width=8 height=8\n", in);
        ck_assert_int_eq(vt_pipeline_create(ctx, preset, none, NULL, NULL, &rp), 0);
        ck_assert_int_eq(vt_pipeline_run(rp), 0);
        memcpy(ref, vt_pipeline_slot(rp, "frames")->data, sizeof ref);
        vt_pipeline_destroy(&rp);
        ck_assert_int_eq(vt_pipeline_run(p), 0);
        const float *o = vt_pipeline_slot(p, "frames")->data;
        double d = 0;
        for (int i = 0; i < 3 * 64; i++) d += fabs(o[i] - ref[i]);
        diff[k] = d / (3 * 64);
        vt_pipeline_destroy(&p);
    }
    ck_assert_msg(diff[0] < 0.5 && diff[1] > 5 * diff[0], "mean |out - in|: %.3f at 0.05, %.3f at 1", diff[0], diff[1]);
    vt_model_close(&m);
}
END_TEST

/* Every preset in assets/pipelines validates; txt2img runs end to end and records
 * the prompt; edit refuses image tokens of another width than the conditioning. */
START_TEST(presets_end_to_end) {
    char model[256], out[256], preset[2048];
    vt_test_full_model(model, sizeof model);
    vt_model *m;
    ck_assert_int_eq(vt_model_open(ctx, model, &m), 0);
    static const vt_slot_spec prompt[] = {{"prompt", VT_SLOT_TEXT, 0, NULL}, {NULL, 0, 0, NULL}};
    snprintf(out, sizeof out, "%s/t2i.png", dir);
    const char *names[] = {"txt2img", "img2img", "edit", "ref2img", "txt2vid", "img2vid", "vid2vid", "class2img"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/../../assets/pipelines/%s.txt", getenv("VT_TEST_DATA") ? getenv("VT_TEST_DATA") : "tests/data",
                 names[i]);
        FILE *f = fopen(path, "r");
        ck_assert_msg(f != NULL, "%s", path);
        size_t n = fread(preset, 1, sizeof preset - 1, f);
        preset[n] = 0;
        fclose(f);
        vt_pipeline *p = NULL;
        int rc = vt_pipeline_create(ctx, preset, prompt, NULL, m, &p);
        /* the test model is an image model with text conditioning: the clip and class
         * presets fail at run time for that reason, never at validation */
        if (rc) ck_assert_msg(strstr(vt_context_error(ctx), "preset line") == NULL, "%s: %s", names[i], vt_context_error(ctx));
        vt_pipeline_destroy(&p);
    }
    const char *ov[] = {NULL, NULL};
    char o1[300];
    snprintf(o1, sizeof o1, "write_image.path=%s", out);
    ov[0] = o1;
    vt_pipeline *p;
    ck_assert_msg(vt_pipeline_create(ctx, "tokenize\ntext_encode\ndenoise steps=3 cfg=3\nwrite_image path=x.png\n", prompt, ov, m, &p) == 0,
                  "%s", vt_context_error(ctx));
    ck_assert_int_eq(vt_pipeline_set_text(p, "prompt", "a red circle"), 0);
    ck_assert_msg(vt_pipeline_run(p) == 0, "%s", vt_context_error(ctx));
    vt_pipeline_destroy(&p);
    char *params = NULL;
    ck_assert_int_eq(vt_png_text(ctx, out, "parameters", &params), 0);
    ck_assert_ptr_nonnull(params);
    ck_assert_msg(!strncmp(params, "a red circle\nSteps: 3", 21), "%s", params);
    free(params);
    /* an empty prompt is refused by tokenize with a clear message */
    ck_assert_int_eq(vt_pipeline_create(ctx, "tokenize\ntext_encode\ndenoise steps=2\n", prompt, NULL, m, &p), 0);
    ck_assert_int_eq(vt_pipeline_set_text(p, "prompt", "  ,, "), 0);
    ck_assert_int_ne(vt_pipeline_run(p), 0);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "empty"));
    vt_pipeline_destroy(&p);
    vt_model_close(&m);
}
END_TEST

int main(void) {
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("pipeline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, validation_errors);
    tcase_add_test(tc, plugin_between_builtins);
    tcase_add_test(tc, uninit_after_failed_init);
    tcase_add_test(tc, read_image_resize_policies);
    tcase_add_test(tc, denoise_to_png);
    tcase_add_test(tc, video_through_pipeline);
    tcase_add_test(tc, img2img_strength);
    tcase_add_test(tc, presets_end_to_end);
    suite_add_tcase(s, tc);
    return vt_check_run(s);
}
