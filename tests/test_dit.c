/* Check suite for the DiT denoiser and samplers: conformance with the PyTorch
 * reference (tools/reference/) on the committed fixtures in
 * tests/data/conformance/, plus config and weight validation errors. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vt_check.h"
#include "backend.h"
#include "context.h"
#include "dit.h"
#include "rng.h"
#include "sampler.h"
#include "safetensors.h"

#define TOL 1e-4 /* max|C − ref| / max|ref|, the conformance bound */

static vt_context *ctx;
static vt_backend *be;

static void setup(void) {
    vt_context_params p = vt_context_default_params();
    p.n_threads = 2;
    ctx = vt_context_create(&p);
    be = vt_backend_cpu_create(ctx);
    ck_assert_ptr_nonnull(be);
}

static void teardown(void) {
    vt_backend_destroy(&be);
    vt_context_destroy(&ctx);
}

static const char *data_dir(void) {
    const char *d = getenv("VT_TEST_DATA");
    return d ? d : "tests/data";
}

/* Loads tensor `name` (any float dtype) into a new f32 buffer; NULL if absent. */
static float *get(const vt_st_file *f, const char *name, size_t *numel, const vt_st_tensor **info) {
    const vt_st_tensor *t = vt_st_find(f, name);
    if (!t) return NULL;
    size_t n = t->nbytes / vt_dtype_size(t->dtype);
    float *v = malloc((n ? n : 1) * sizeof *v);
    ck_assert_int_eq(vt_st_read_f32(ctx, f, name, v, n), 0);
    if (numel) *numel = n;
    if (info) *info = t;
    return v;
}

static double rel_err(const float *a, const float *ref, size_t n) {
    double md = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert(isfinite(a[i]));
        double d = fabs((double)a[i] - ref[i]);
        if (d > md) md = d;
        if (fabs(ref[i]) > mr) mr = fabs(ref[i]);
    }
    ck_assert(mr > 0); /* a reference of zeros would make the comparison vacuous */
    return md / mr;
}

/* Fills the conditioning inputs of `in` from file f (y, cond, cond_mask). */
static void cond_inputs(const vt_st_file *f, vt_dit_inputs *in, int32_t **ybuf, float **yf, float **cond, float **mask) {
    size_t n;
    const vt_st_tensor *t;
    *yf = get(f, "y", &n, NULL);
    *ybuf = NULL;
    if (*yf) {
        *ybuf = malloc(n * sizeof **ybuf);
        for (size_t i = 0; i < n; i++) (*ybuf)[i] = (int32_t)lrintf((*yf)[i]);
        in->y = *ybuf;
    }
    *cond = get(f, "cond", NULL, &t);
    if (*cond) {
        in->cond = *cond;
        in->cond_len = (int)t->shape[1];
    }
    *mask = get(f, "cond_mask", NULL, NULL);
    in->cond_mask = *mask;
}

typedef struct fixture {
    char dir[512];
    vt_st_file *model;
    vt_dit *dit;
} fixture;

static int open_fixture(fixture *fx, const char *name) {
    snprintf(fx->dir, sizeof fx->dir, "%s/conformance/%s", data_dir(), name);
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", fx->dir);
    ck_assert_msg(vt_st_open(ctx, path, &fx->model) == 0, "%s", vt_context_error(ctx));
    ck_assert_msg(vt_dit_create(ctx, be, fx->model, &fx->dit) == 0, "%s: %s", name, vt_context_error(ctx));
    return 0;
}

static void close_fixture(fixture *fx) {
    vt_dit_destroy(&fx->dit);
    vt_st_close(&fx->model);
}

static int list_configs(char names[][128], int cap) {
    char path[512];
    snprintf(path, sizeof path, "%s/conformance", data_dir());
    DIR *d = opendir(path);
    ck_assert_msg(d != NULL, "no fixtures at %s", path);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < cap) {
        if (e->d_name[0] == '.') continue;
        snprintf(names[n++], 128, "%.100s", e->d_name);
    }
    closedir(d);
    return n;
}

/* Runs forward_in<suffix> through the fixture's model and compares with
 * forward_out<suffix>; returns the relative error. */
static double forward_case(fixture *fx, const char *name, const char *suffix) {
    const vt_dit_config *c = vt_dit_get_config(fx->dit);
    char path[700];
    vt_st_file *fin, *fout;
    snprintf(path, sizeof path, "%s/forward_in%s.safetensors", fx->dir, suffix);
    ck_assert_int_eq(vt_st_open(ctx, path, &fin), 0);
    snprintf(path, sizeof path, "%s/forward_out%s.safetensors", fx->dir, suffix);
    ck_assert_int_eq(vt_st_open(ctx, path, &fout), 0);
    const vt_st_tensor *xt;
    size_t nref;
    float *x = get(fin, "x", NULL, &xt), *t = get(fin, "t", NULL, NULL), *ref = get(fout, "out", &nref, NULL);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(ref);
    vt_dit_inputs in;
    memset(&in, 0, sizeof in);
    in.batch = (int)xt->shape[0];
    in.frames = xt->ndim == 5 ? (int)xt->shape[2] : 1;
    in.height = (int)xt->shape[xt->ndim - 2];
    in.width = (int)xt->shape[xt->ndim - 1];
    in.x = x;
    in.t = t;
    int32_t *y;
    float *yf, *cond, *mask;
    cond_inputs(fin, &in, &y, &yf, &cond, &mask);
    size_t nout = (size_t)in.batch * c->out_channels * in.frames * in.height * in.width;
    ck_assert_uint_eq(nout, nref);
    float *out = malloc(nout * sizeof *out);
    ck_assert_msg(vt_dit_forward(fx->dit, &in, out) == 0, "%s%s: %s", name, suffix, vt_context_error(ctx));
    double e = rel_err(out, ref, nout);
    fprintf(stderr, "conformance forward%-3s %-18s rel err %.2e\n", suffix, name, e);
    ck_assert_msg(e <= TOL, "%s%s: forward rel err %.3e > %.0e", name, suffix, e, TOL);
    free(x), free(t), free(ref), free(out), free(y), free(yf), free(cond), free(mask);
    vt_st_close(&fin);
    vt_st_close(&fout);
    return e;
}

START_TEST(forward_matches_reference) {
    char names[32][128];
    int n = list_configs(names, 32);
    ck_assert_int_ge(n, 5); /* image full/class/sigma, local+cross, video temporal, fewer frames, rectified flow */
    for (int i = 0; i < n; i++) {
        fixture fx;
        open_fixture(&fx, names[i]);
        forward_case(&fx, names[i], "");
        close_fixture(&fx);
    }
}
END_TEST

/* A clip model of F frames takes any 1 <= T <= F (T = 1: an image): checked
 * against the reference on T < F (forward_in_T<n> fixtures), and T > F or too
 * few frames for a 3D window are refused with a message. */
START_TEST(forward_fewer_frames) {
    char names[32][128];
    int n = list_configs(names, 32), runs = 0, saw_t1 = 0;
    for (int i = 0; i < n; i++) {
        fixture fx;
        open_fixture(&fx, names[i]);
        DIR *d = opendir(fx.dir);
        struct dirent *e;
        while ((e = readdir(d))) {
            int T;
            char rest[64];
            if (sscanf(e->d_name, "forward_in_T%d%63s", &T, rest) != 2 || strcmp(rest, ".safetensors")) continue;
            ck_assert_int_lt(T, vt_dit_get_config(fx.dit)->frames);
            char suffix[16];
            snprintf(suffix, sizeof suffix, "_T%d", T);
            forward_case(&fx, names[i], suffix);
            saw_t1 |= T == 1;
            runs++;
        }
        closedir(d);
        close_fixture(&fx);
    }
    ck_assert_int_ge(runs, 2);
    ck_assert(saw_t1);

    /* more frames than the model has, or fewer than a 3D window spans */
    fixture fx;
    open_fixture(&fx, "vid_temporal"); /* frames 4, a 3x3x3 and a 2x3x3 dilation 2 window */
    const vt_dit_config *c = vt_dit_get_config(fx.dit);
    size_t per = (size_t)c->in_channels * c->input_h * c->input_w;
    float *x = calloc(per * 5, sizeof *x), *out = malloc(per * 5 * sizeof *out), t[1] = {500}, cond[16] = {0};
    vt_dit_inputs in = {.batch = 1, .frames = 5, .height = c->input_h, .width = c->input_w, .x = x, .t = t,
                        .cond = cond, .cond_len = 1};
    ck_assert_int_eq(vt_dit_forward(fx.dit, &in, out), VT_E_SHAPE);
    ck_assert_msg(strstr(vt_context_error(ctx), "1..4") != NULL, "%s", vt_context_error(ctx));
    in.frames = 2;
    ck_assert_int_eq(vt_dit_forward(fx.dit, &in, out), VT_E_SHAPE);
    ck_assert_msg(strstr(vt_context_error(ctx), "needs at least 3 frames") != NULL, "%s", vt_context_error(ctx));
    free(x), free(out);
    close_fixture(&fx);
}
END_TEST

START_TEST(sampling_matches_reference) {
    char names[32][128];
    int n = list_configs(names, 32), runs = 0;
    for (int i = 0; i < n; i++) {
        fixture fx;
        open_fixture(&fx, names[i]);
        const vt_dit_config *c = vt_dit_get_config(fx.dit);
        DIR *d = opendir(fx.dir);
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strncmp(e->d_name, "sample_", 7) != 0) continue;
            char path[800];
            snprintf(path, sizeof path, "%s/%s", fx.dir, e->d_name);
            vt_st_file *f;
            ck_assert_int_eq(vt_st_open(ctx, path, &f), 0);
            vt_sample_params sp;
            memset(&sp, 0, sizeof sp);
            ck_assert_int_eq(vt_sampler_parse(vt_st_meta(f, "sampler"), &sp.kind), 0);
            sp.steps = atoi(vt_st_meta(f, "steps"));
            sp.cfg = (float)atof(vt_st_meta(f, "cfg"));
            sp.seed = strtoull(vt_st_meta(f, "seed"), NULL, 10);
            sp.eta = vt_st_meta(f, "eta") ? (float)atof(vt_st_meta(f, "eta")) : 0.0f;
            sp.shift = vt_st_meta(f, "shift") ? (float)atof(vt_st_meta(f, "shift")) : 0.0f;
            vt_dit_inputs in;
            memset(&in, 0, sizeof in);
            in.batch = atoi(vt_st_meta(f, "batch"));
            /* a clip model sampled at fewer frames says how many */
            in.frames = vt_st_meta(f, "frames") ? atoi(vt_st_meta(f, "frames")) : c->frames ? c->frames : 1;
            in.height = c->input_h;
            in.width = c->input_w;
            int32_t *y;
            float *yf, *cond, *mask;
            cond_inputs(f, &in, &y, &yf, &cond, &mask);
            size_t nref;
            float *ref = get(f, "out", &nref, NULL);
            float *xref = get(f, "x_ref", NULL, NULL); /* img2img / vid2vid fixtures */
            const vt_st_tensor *ut;
            float *uncond = get(f, "uncond", NULL, &ut), *umask = get(f, "uncond_mask", NULL, NULL); /* a negative prompt */
            if (uncond) {
                in.uncond = uncond;
                in.uncond_mask = umask;
                in.uncond_len = (int)ut->shape[1];
            }
            sp.x_ref = xref;
            sp.strength = vt_st_meta(f, "strength") ? (float)atof(vt_st_meta(f, "strength")) : 1.0f;
            ck_assert_uint_eq(nref, (size_t)in.batch * c->in_channels * in.frames * in.height * in.width);
            float *out = malloc(nref * sizeof *out);
            ck_assert_msg(vt_sample(fx.dit, &sp, &in, NULL, out, NULL, NULL) == 0, "%s: %s", path, vt_context_error(ctx));
            double err = rel_err(out, ref, nref);
            fprintf(stderr, "conformance %-18s %-22s rel err %.2e\n", names[i], e->d_name, err);
            ck_assert_msg(err <= TOL, "%s: sampling rel err %.3e > %.0e", path, err, TOL);
            runs++;
            free(out), free(ref), free(xref), free(y), free(yf), free(cond), free(mask), free(uncond), free(umask);
            vt_st_close(&f);
        }
        closedir(d);
        close_fixture(&fx);
    }
    ck_assert_int_ge(runs, 12); /* ddim (η = 0 and > 0), dpm++2m, euler, each also as SDEdit; euler at T < frames
                                 * and with a negative prompt */
}
END_TEST

/* The same seed gives the same sample, and another seed another one. */
START_TEST(sampling_is_deterministic) {
    fixture fx;
    open_fixture(&fx, "img_class_sigma");
    const vt_dit_config *c = vt_dit_get_config(fx.dit);
    vt_sample_params sp = {VT_SAMPLER_DDIM, 3, 2.0f, 7, 1.0f, 0, NULL, 0};
    int32_t y[1] = {3};
    vt_dit_inputs in = {.batch = 1, .frames = 1, .height = c->input_h, .width = c->input_w, .y = y};
    size_t n = (size_t)c->in_channels * c->input_h * c->input_w;
    float *a = malloc(n * 4), *b = malloc(n * 4);
    ck_assert_int_eq(vt_sample(fx.dit, &sp, &in, NULL, a, NULL, NULL), 0);
    ck_assert_int_eq(vt_sample(fx.dit, &sp, &in, NULL, b, NULL, NULL), 0);
    ck_assert_int_eq(memcmp(a, b, n * 4), 0);
    sp.seed = 8;
    ck_assert_int_eq(vt_sample(fx.dit, &sp, &in, NULL, b, NULL, NULL), 0);
    ck_assert_int_ne(memcmp(a, b, n * 4), 0);
    /* euler on an eps model is refused with a message */
    sp.kind = VT_SAMPLER_EULER;
    ck_assert_int_eq(vt_sample(fx.dit, &sp, &in, NULL, b, NULL, NULL), VT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "euler"));
    free(a), free(b);
    close_fixture(&fx);
}
END_TEST

START_TEST(config_errors) {
    vt_dit_config cfg;
    const char *bad[][2] = {
        {"{\"arch\":\"unet\"}", "arch"},
        {"{\"arch\":\"dit\",\"input_size\":[8,8],\"hidden_size\":32,\"depth\":1}", "num_heads"},
        {"{\"arch\":\"dit\",\"input_size\":[8,8],\"hidden_size\":30,\"depth\":1,\"num_heads\":4}", "divisible"},
        {"{\"arch\":\"dit\",\"input_size\":[9,8],\"hidden_size\":32,\"depth\":1,\"num_heads\":4}", "patch_size"},
        {"{\"arch\":\"dit\",\"input_size\":[8,8],\"hidden_size\":32,\"depth\":2,\"num_heads\":4,\"attention\":[\"full\"]}", "one per block"},
        {"{\"arch\":\"dit\",\"input_size\":[8,8],\"hidden_size\":32,\"depth\":1,\"num_heads\":4,\"attention\":[\"swirl\"]}", "unknown pattern"},
        {"{\"arch\":\"dit\",\"input_size\":[8,8],\"hidden_size\":32,\"depth\":1,\"num_heads\":4,\"attention\":[\"neighborhood 3y3\"]}", "kernel"},
        {"{\"arch\":\"dit\",\"input_size\":[8,8],\"hidden_size\":32,\"depth\":1,\"num_heads\":4,\"attention\":[\"temporal\"]}", "no frames"},
        {"{\"arch\":\"dit\",\"input_size\":[8,8],\"hidden_size\":32,\"depth\":1,\"num_heads\":4,\"prediction\":\"x0\"}", "prediction"},
        {"not json", "JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(vt_dit_config_parse(ctx, bad[i][0], &cfg), VT_E_FORMAT);
        ck_assert_msg(strstr(vt_context_error(ctx), bad[i][1]) != NULL, "'%s' -> '%s'", bad[i][0], vt_context_error(ctx));
    }
    ck_assert_int_eq(vt_dit_config_parse(ctx,
        "{\"arch\":\"dit\",\"input_size\":[8,8],\"hidden_size\":32,\"depth\":3,\"num_heads\":4,\"frames\":4,"
        "\"attention\":[\"neighborhood 3x5x5 dilation 1x2x2 causal\",\"block 2\",\"temporal\"]}", &cfg), 0);
    ck_assert_int_eq(cfg.attn[0].kind, VT_ATTN_NEIGHBORHOOD);
    ck_assert_int_eq(cfg.attn[0].kernel[0], 3);
    ck_assert_int_eq(cfg.attn[0].kernel[2], 5);
    ck_assert_int_eq(cfg.attn[0].dilation[1], 2);
    ck_assert_int_eq(cfg.attn[0].causal_t, 1);
    ck_assert_int_eq(cfg.attn[1].kind, VT_ATTN_BLOCK);
    ck_assert_int_eq(cfg.attn[1].window, 2);
    ck_assert_int_eq(cfg.attn[2].kind, VT_ATTN_AXIAL);
    ck_assert_int_eq(cfg.attn[2].axis, 0);
    ck_assert_int_eq(cfg.mlp_hidden, 128);
}
END_TEST

/* A random model written by vt_dit_write_random loads back; one with a tensor of
 * the wrong shape is refused naming the tensor. */
START_TEST(weights_validation) {
    const char *cfg = "{\"arch\":\"dit\",\"in_channels\":3,\"input_size\":[8,8],\"patch_size\":2,\"hidden_size\":16,"
                      "\"depth\":2,\"num_heads\":2,\"num_classes\":3,\"cond_dim\":8}";
    char path[] = "/tmp/vt-test-dit-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(vt_dit_write_random(ctx, cfg, 5, NULL, 0, path), 0);
    vt_st_file *f;
    ck_assert_int_eq(vt_st_open(ctx, path, &f), 0);
    vt_dit *d;
    ck_assert_msg(vt_dit_create(ctx, be, f, &d) == 0, "%s", vt_context_error(ctx));
    /* forward runs and is finite */
    float x[2 * 3 * 64], t[2] = {10, 900}, cond[2 * 4 * 8], mask[8] = {1, 1, 0, 0, 1, 1, 1, 1}, out[2 * 3 * 64];
    int32_t y[2] = {0, 3};
    vt_rng_normal(1, 0, 0, x, 384);
    vt_rng_normal(2, 0, 0, cond, 64);
    vt_dit_inputs in = {.batch = 2, .frames = 1, .height = 8, .width = 8, .x = x, .t = t, .y = y,
                        .cond = cond, .cond_mask = mask, .cond_len = 4};
    ck_assert_int_eq(vt_dit_forward(d, &in, out), 0);
    for (int i = 0; i < 384; i++) ck_assert(isfinite(out[i]));
    /* wrong input size, bad label, missing cond: clear errors */
    in.height = 16;
    ck_assert_int_eq(vt_dit_forward(d, &in, out), VT_E_SHAPE);
    in.height = 8;
    y[1] = 9;
    ck_assert_int_eq(vt_dit_forward(d, &in, out), VT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "class label 9"));
    y[1] = 1;
    in.cond = NULL;
    ck_assert_int_eq(vt_dit_forward(d, &in, out), VT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "cond"));
    vt_dit_destroy(&d);
    vt_st_close(&f);
    /* the same file under a config with a wider MLP: fc1 has the wrong shape */
    const char *cfg2 = "{\"arch\":\"dit\",\"in_channels\":3,\"input_size\":[8,8],\"patch_size\":2,\"hidden_size\":16,"
                       "\"depth\":2,\"num_heads\":2,\"num_classes\":3,\"cond_dim\":8,\"mlp_ratio\":2}";
    vt_st_writer *w = vt_st_writer_create();
    float v[64 * 16] = {0};
    int64_t s1[2] = {32, 16};
    ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, "x_embedder.proj.weight", VT_DTYPE_F32, 2, s1, v), 0);
    ck_assert_int_eq(vt_st_writer_add_meta(ctx, w, "config", cfg2), 0);
    ck_assert_int_eq(vt_st_writer_save(ctx, w, path), 0);
    vt_st_writer_destroy(&w);
    ck_assert_int_eq(vt_st_open(ctx, path, &f), 0);
    ck_assert_int_eq(vt_dit_create(ctx, be, f, &d), VT_E_FORMAT);
    ck_assert_msg(strstr(vt_context_error(ctx), "x_embedder.proj.weight") != NULL, "%s", vt_context_error(ctx));
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "(16, 3, 2, 2)"));
    vt_st_close(&f);
    unlink(path);
}
END_TEST

int main(void) {
    Suite *s = suite_create("dit");
    TCase *tc = tcase_create("dit");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, config_errors);
    tcase_add_test(tc, weights_validation);
    tcase_add_test(tc, forward_matches_reference);
    tcase_add_test(tc, forward_fewer_frames);
    tcase_add_test(tc, sampling_matches_reference);
    tcase_add_test(tc, sampling_is_deterministic);
    suite_add_tcase(s, tc);
    return vt_check_run(s);
}
