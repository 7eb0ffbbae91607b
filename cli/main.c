/* The `vitrail` program: subcommand dispatch, argument parsing and output, as a
 * thin client of the public API (include/vitrail.h) only.
 * Exit codes: 0 ok, 1 runtime failure, 2 usage error. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vitrail.h"
#include "vitrail_stage.h"
#include "cmd_shapes.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

typedef struct cli {
    int n_threads;  /* --threads, 0 = online cores */
    int verbose;    /* -v: debug logs on stderr */
    vt_context *ctx;
} cli;

typedef struct command {
    const char *name;
    const char *summary;
    const char *usage;  /* full --help text */
    int (*run)(cli *c, int argc, char **argv);
} command;

static const char *prog = "vitrail";

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see '%s --help')\n", prog);
    return EXIT_USAGE;
}

static int runtime_error(cli *c) {
    fprintf(stderr, "%s: %s\n", prog, vt_context_error(c->ctx));
    return EXIT_RUNTIME;
}

static void log_stderr(void *user, vt_log_level level, const char *msg) {
    (void)user;
    static const char *names[] = {"debug", "info", "warning", "error"};
    fprintf(stderr, "%s: %s: %s\n", prog, names[level], msg);
}

static int is_help(const char *a) { return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0; }

/* Parses a positive int in [lo, hi]; returns 0 on success. */
static int parse_int(const char *s, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static void human_bytes(uint64_t b, char *buf, size_t cap) {
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* ---- version ---- */

static int cmd_version(cli *c, int argc, char **argv) {
    (void)c;
    if (argc > 1) return usage_error("version: unexpected argument '%s'", argv[1]);
    printf("vitrail %s (vulkan: %s)\n", vt_version(), vt_has_vulkan() ? "yes" : "no");
    return 0;
}

/* ---- devices ---- */

static int cmd_devices(cli *c, int argc, char **argv) {
    if (argc > 1) return usage_error("devices: unexpected argument '%s'", argv[1]);
    vt_device_desc devs[64];
    int n = vt_devices_list(c->ctx, devs, 64);
    if (n < 0) return runtime_error(c);
    if (n > 64) n = 64;
    printf("%-10s %-15s %-10s %s\n", "DEVICE", "TYPE", "MEMORY", "NAME");
    for (int i = 0; i < n; i++) {
        char id[64], mem[32];
        if (strcmp(devs[i].backend, "cpu") == 0)
            snprintf(id, sizeof id, "cpu");
        else
            snprintf(id, sizeof id, "%.15s:%d", devs[i].backend, devs[i].index);
        human_bytes(devs[i].memory, mem, sizeof mem);
        printf("%-10s %-15s %-10s %s\n", id, vt_device_type_name(devs[i].type), mem, devs[i].name);
        printf("%-10s %s\n", "", devs[i].detail);
    }
    if (!vt_has_vulkan())
        printf("This build has no Vulkan backend (configured with -Dvulkan=disabled or without libvulkan-dev): CPU only.\n");
    else if (n == 1)
        printf("No Vulkan device found (install a Vulkan driver, e.g. mesa-vulkan-drivers for lavapipe).\n");
    return 0;
}

/* ---- info ---- */

static int cmd_info(cli *c, int argc, char **argv) {
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) return usage_error("info: unknown option '%s'", argv[i]);
        if (path) return usage_error("info: more than one FILE ('%s')", argv[i]);
        path = argv[i];
    }
    if (!path) return usage_error("info: missing FILE%s", "");
    FILE *pf = fopen(path, "rb");
    unsigned char sig[8] = {0};
    if (pf) {
        if (fread(sig, 1, 8, pf) != 8) memset(sig, 0, 8);
        fclose(pf);
    }
    if (!memcmp(sig, "\x89PNG\r\n\x1a\n", 8)) {
        char *params = NULL;
        vt_image img;
        if (vt_image_load(c->ctx, path, &img) || vt_png_text(c->ctx, path, "parameters", &params)) return runtime_error(c);
        printf("file: %s\nimage: PNG %dx%d\n", path, img.width, img.height);
        printf("parameters: %s\n", params ? params : "(none: not written by vitrail or A1111-style tools)");
        free(params);
        vt_image_free(&img);
        return 0;
    }
    vt_model *m = NULL;
    if (vt_model_open(c->ctx, path, &m) != VT_OK) return runtime_error(c);
    size_t nt = vt_model_tensor_count(m);
    uint64_t total = 0, params = 0;
    for (size_t i = 0; i < nt; i++) {
        vt_tensor_info ti;
        vt_model_tensor_at(m, i, &ti);
        total += ti.nbytes;
        params += ti.nbytes / vt_dtype_size(ti.dtype);
    }
    char sz[32];
    human_bytes(total, sz, sizeof sz);
    printf("file: %s\n", path);
    printf("tensors: %zu, parameters: %llu, data: %s\n", nt, (unsigned long long)params, sz);
    const char *cfg = vt_model_config(m);
    printf("config: %s\n", cfg ? cfg : "(none: no \"config\" in __metadata__)");
    size_t nm = vt_model_metadata_count(m);
    for (size_t i = 0; i < nm; i++) {
        const char *k, *v;
        vt_model_metadata_at(m, i, &k, &v);
        if (strcmp(k, "config") != 0) printf("metadata %s: %s\n", k, v);
    }
    printf("\n%-48s %-5s %s\n", "TENSOR", "DTYPE", "SHAPE");
    for (size_t i = 0; i < nt; i++) {
        vt_tensor_info ti;
        vt_model_tensor_at(m, i, &ti);
        char shape[128];
        int o = snprintf(shape, sizeof shape, "(");
        for (int d = 0; d < ti.ndim && o < (int)sizeof shape; d++)
            o += snprintf(shape + o, sizeof shape - (size_t)o, d ? ", %lld" : "%lld", (long long)ti.shape[d]);
        if (o < (int)sizeof shape) snprintf(shape + o, sizeof shape - (size_t)o, ")");
        printf("%-48s %-5s %s\n", ti.name, vt_dtype_name(ti.dtype), shape);
    }
    vt_model_close(&m);
    return 0;
}

/* ---- create-model ---- */

static char *read_text(const char *path, char *err, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t n = 0, c = 4096;
    char *buf = malloc(c);
    for (size_t r; buf && (r = fread(buf + n, 1, c - n - 1, f)) > 0;) {
        n += r;
        if (n + 1 == c) {
            char *nb = c > (64u << 20) ? NULL : realloc(buf, c *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            } else {
                buf = nb;
            }
        }
    }
    fclose(f);
    if (!buf) {
        snprintf(err, cap, "%s: too large or out of memory", path);
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

static int cmd_create_model(cli *c, int argc, char **argv) {
    const char *cfg = NULL, *out = NULL;
    unsigned long long seed = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
            if (++i >= argc) return usage_error("create-model: %s needs a value", argv[i - 1]);
            out = argv[i];
        } else if (!strcmp(argv[i], "--seed")) {
            if (++i >= argc) return usage_error("create-model: --seed needs a value%s", "");
            char *end;
            errno = 0;
            seed = strtoull(argv[i], &end, 10);
            if (errno || *end || argv[i][0] == '-') return usage_error("create-model: --seed '%s' is not a non-negative integer", argv[i]);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error("create-model: unknown option '%s'", argv[i]);
        } else if (cfg) {
            return usage_error("create-model: more than one CONFIG ('%s')", argv[i]);
        } else {
            cfg = argv[i];
        }
    }
    if (!cfg) return usage_error("create-model: missing CONFIG.json%s", "");
    if (!out) return usage_error("create-model: missing -o OUT.safetensors%s", "");
    char err[512];
    char *json = read_text(cfg, err, sizeof err);
    if (!json) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return EXIT_RUNTIME;
    }
    int rc = vt_model_write_random(c->ctx, json, seed, out);
    free(json);
    if (rc) return runtime_error(c);
    printf("wrote %s\n", out);
    return 0;
}

/* ---- forward ---- */

/* Reads tensor `name` of `m` into a new buffer; *ti gets its info. Absent and
 * optional: returns 0 with *out NULL. */
static int read_input(cli *c, vt_model *m, const char *file, const char *name, int optional, vt_tensor_info *ti,
                      float **out) {
    *out = NULL;
    if (vt_model_tensor_find(m, name, ti) != VT_OK) {
        if (optional) return 0;
        fprintf(stderr, "%s: %s: missing input tensor '%s'\n", prog, file, name);
        return -1;
    }
    size_t n = ti->nbytes / vt_dtype_size(ti->dtype);
    *out = malloc((n ? n : 1) * sizeof(float));
    if (!*out || vt_model_tensor_read_f32(c->ctx, m, name, *out, n)) {
        if (*out) runtime_error(c);
        else fprintf(stderr, "%s: out of memory\n", prog);
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

static int cmd_forward(cli *c, int argc, char **argv) {
    const char *pos[2] = {NULL, NULL}, *out = NULL, *device = "cpu";
    int np = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
            if (++i >= argc) return usage_error("forward: %s needs a value", argv[i - 1]);
            out = argv[i];
        } else if (!strcmp(argv[i], "--device")) {
            if (++i >= argc) return usage_error("forward: --device needs a value%s", "");
            device = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error("forward: unknown option '%s'", argv[i]);
        } else if (np == 2) {
            return usage_error("forward: unexpected argument '%s'", argv[i]);
        } else {
            pos[np++] = argv[i];
        }
    }
    if (np < 2) return usage_error("forward: needs MODEL and IN.safetensors%s", "");
    if (!out) return usage_error("forward: missing -o OUT.safetensors%s", "");
    int rc = EXIT_RUNTIME;
    vt_model *model = NULL, *in = NULL;
    vt_denoiser *dn = NULL;
    float *x = NULL, *t = NULL, *yf = NULL, *cond = NULL, *mask = NULL, *o = NULL;
    int32_t *y = NULL;
    vt_denoiser_params dp = vt_denoiser_default_params();
    dp.device = device;
    if (vt_model_open(c->ctx, pos[0], &model) || vt_denoiser_create(c->ctx, model, &dp, &dn) ||
        vt_model_open(c->ctx, pos[1], &in)) {
        runtime_error(c);
        goto done;
    }
    vt_tensor_info xi, ti, yi, ci, mi;
    if (read_input(c, in, pos[1], "x", 0, &xi, &x) || read_input(c, in, pos[1], "t", 0, &ti, &t) ||
        read_input(c, in, pos[1], "y", 1, &yi, &yf) || read_input(c, in, pos[1], "cond", 1, &ci, &cond) ||
        read_input(c, in, pos[1], "cond_mask", 1, &mi, &mask))
        goto done;
    vt_denoiser_shape sh = vt_denoiser_get_shape(dn);
    int video = xi.ndim == 5;
    if (xi.ndim != 4 && xi.ndim != 5) {
        fprintf(stderr, "%s: %s: 'x' must be (B, C, H, W) or (B, C, T, H, W)\n", prog, pos[1]);
        goto done;
    }
    int B = (int)xi.shape[0];
    if (xi.shape[1] != sh.in_channels) {
        fprintf(stderr, "%s: %s: 'x' has %lld channels, the model takes %d\n", prog, pos[1], (long long)xi.shape[1], sh.in_channels);
        goto done;
    }
    if (ti.ndim != 1 || ti.shape[0] != B) {
        fprintf(stderr, "%s: %s: 't' must have shape (%d)\n", prog, pos[1], B);
        goto done;
    }
    vt_denoise_input di;
    memset(&di, 0, sizeof di);
    di.batch = B;
    di.frames = video ? (int)xi.shape[2] : 1;
    di.height = (int)xi.shape[video ? 3 : 2];
    di.width = (int)xi.shape[video ? 4 : 3];
    di.x = x;
    di.t = t;
    if (yf) {
        if (yi.ndim != 1 || yi.shape[0] != B) {
            fprintf(stderr, "%s: %s: 'y' must have shape (%d)\n", prog, pos[1], B);
            goto done;
        }
        y = malloc((size_t)B * sizeof *y);
        if (!y) goto done;
        for (int b = 0; b < B; b++) y[b] = (int32_t)yf[b]; /* labels travel as F32: safetensors ints are not read */
        di.y = y;
    }
    if (cond) {
        if (ci.ndim != 3 || ci.shape[0] != B || ci.shape[2] != sh.cond_dim) {
            fprintf(stderr, "%s: %s: 'cond' must have shape (%d, L, %d)\n", prog, pos[1], B, sh.cond_dim);
            goto done;
        }
        di.cond = cond;
        di.cond_len = (int)ci.shape[1];
        if (mask) {
            if (mi.ndim != 2 || mi.shape[0] != B || mi.shape[1] != ci.shape[1]) {
                fprintf(stderr, "%s: %s: 'cond_mask' must have shape (%d, %d)\n", prog, pos[1], B, di.cond_len);
                goto done;
            }
            di.cond_mask = mask;
        }
    }
    size_t n_out = (size_t)B * sh.out_channels * di.frames * di.height * di.width;
    o = malloc(n_out * sizeof *o);
    if (!o) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto done;
    }
    if (vt_denoiser_forward(dn, &di, o)) {
        runtime_error(c);
        goto done;
    }
    vt_named_tensor nt;
    memset(&nt, 0, sizeof nt);
    nt.name = "out";
    nt.dtype = VT_DTYPE_F32;
    nt.ndim = xi.ndim;
    for (int k = 0; k < xi.ndim; k++) nt.shape[k] = xi.shape[k];
    nt.shape[1] = sh.out_channels;
    nt.data = o;
    if (vt_tensors_save(c->ctx, out, &nt, 1, NULL, 0)) {
        runtime_error(c);
        goto done;
    }
    rc = 0;
done:
    free(x);
    free(t);
    free(yf);
    free(y);
    free(cond);
    free(mask);
    free(o);
    vt_denoiser_destroy(&dn);
    vt_model_close(&in);
    vt_model_close(&model);
    return rc;
}

/* ---- sample ---- */

/* FNV-1a 64 of the file's bytes, as the short model hash in PNG parameters. */
static int file_hash(const char *path, char out[17]) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    uint64_t h = 1469598103934665603ull;
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < n; i++) h = (h ^ buf[i]) * 1099511628211ull;
    fclose(f);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
    return 0;
}

static int parse_float(const char *s, float *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end) return -1;
    *out = (float)v;
    return 0;
}

static int print_progress(void *user, int step, int steps) {
    (void)user;
    fprintf(stderr, "\rstep %d/%d", step, steps);
    if (step == steps) fprintf(stderr, "\n");
    return 0;
}

/* Sampling options shared by sample and video. */
typedef struct sampling {
    const char *sampler;
    int cls, steps;
    float cfg, eta, shift, strength;
    unsigned long long seed;
} sampling;

static sampling sampling_defaults(void) {
    sampling o = {NULL, -1, 20, 4.0f, 0.0f, 0.0f, 0.5f, 0};
    return o;
}

/* Takes option a with value v if it is a sampling option: 1 taken, 0 not one,
 * EXIT_USAGE after printing the error. */
static int sampling_option(const char *cmd, const char *a, const char *v, sampling *o) {
    char what[96];
    snprintf(what, sizeof what, "%s: %s '%%s'", cmd, a);
    if (!strcmp(a, "--sampler")) o->sampler = v;
    else if (!strcmp(a, "--class")) {
        if (parse_int(v, 0, 1 << 24, &o->cls)) return usage_error(strcat(what, " is not a class index"), v);
    } else if (!strcmp(a, "--steps")) {
        if (parse_int(v, 1, 1000, &o->steps)) return usage_error(strcat(what, " is not in 1..1000"), v);
    } else if (!strcmp(a, "--cfg")) {
        if (parse_float(v, &o->cfg) || o->cfg < 0 || o->cfg > 100) return usage_error(strcat(what, " is not in 0..100"), v);
    } else if (!strcmp(a, "--eta")) {
        if (parse_float(v, &o->eta) || o->eta < 0 || o->eta > 1) return usage_error(strcat(what, " is not in 0..1"), v);
    } else if (!strcmp(a, "--shift")) {
        if (parse_float(v, &o->shift) || o->shift <= 0 || o->shift > 100) return usage_error(strcat(what, " is not in (0, 100]"), v);
    } else if (!strcmp(a, "--strength")) {
        if (parse_float(v, &o->strength) || !(o->strength > 0) || o->strength > 1)
            return usage_error(strcat(what, " is not in (0, 1]"), v);
    } else if (!strcmp(a, "--seed") || !strcmp(a, "-s")) {
        char *end;
        errno = 0;
        o->seed = strtoull(v, &end, 10);
        if (errno || *end || v[0] == '-') return usage_error(strcat(what, " is not a non-negative integer"), v);
    } else {
        return 0;
    }
    return 1;
}

static int cmd_sample(cli *c, int argc, char **argv) {
    const char *model_path = NULL, *out = NULL, *device = "cpu";
    int quiet = 0;
    sampling so = sampling_defaults();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            if (!v) return usage_error("sample: %s needs a value", a);
            i++;
            int took = sampling_option("sample", a, v, &so);
            if (took == EXIT_USAGE) return EXIT_USAGE;
            if (took) continue;
            if (!strcmp(a, "-o") || !strcmp(a, "--output")) out = v;
            else if (!strcmp(a, "--device")) device = v;
            else return usage_error("sample: unknown option '%s'", a);
        } else if (model_path) {
            return usage_error("sample: unexpected argument '%s'", a);
        } else {
            model_path = a;
        }
    }
    if (!model_path) return usage_error("sample: missing MODEL%s", "");
    const char *sampler = so.sampler;
    int cls = so.cls, steps = so.steps;
    float cfg = so.cfg, eta = so.eta, shift = so.shift;
    unsigned long long seed = so.seed;
    if (!out) return usage_error("sample: missing -o OUT.png%s", "");
    vt_model *m = NULL;
    vt_denoiser *dn = NULL;
    float *x = NULL;
    vt_image img = {0};
    int rc = EXIT_RUNTIME;
    vt_denoiser_params dparams = vt_denoiser_default_params();
    dparams.device = device;
    if (vt_model_open(c->ctx, model_path, &m) || vt_denoiser_create(c->ctx, m, &dparams, &dn)) {
        runtime_error(c);
        goto done;
    }
    vt_denoiser_shape sh = vt_denoiser_get_shape(dn);
    if (sh.in_channels != 3 || sh.frames > 0) {
        fprintf(stderr, "%s: sample: %s makes %s with %d channels; only RGB pixel-space image models can be written as PNG\n",
                prog, model_path, sh.frames ? "videos" : "images", sh.in_channels);
        goto done;
    }
    if (sh.cond_dim > 0) {
        fprintf(stderr, "%s: sample: %s needs conditioning tokens (a text prompt); use the generate pipeline\n", prog, model_path);
        goto done;
    }
    if (cls >= 0 && (sh.num_classes == 0 || cls >= sh.num_classes)) {
        fprintf(stderr, "%s: sample: --class %d: the model has %d classes\n", prog, cls, sh.num_classes);
        goto done;
    }
    int32_t y = cls >= 0 ? cls : sh.num_classes; /* none given: the null class, unconditional */
    vt_denoise_input in;
    memset(&in, 0, sizeof in);
    in.batch = 1;
    in.frames = 1;
    in.height = sh.height;
    in.width = sh.width;
    in.y = sh.num_classes ? &y : NULL;
    vt_sample_options o = vt_sample_default_options();
    o.sampler = sampler;
    o.steps = steps;
    o.cfg = cls >= 0 ? cfg : 1.0f;
    o.seed = seed;
    o.eta = eta;
    o.shift = shift;
    o.progress = quiet ? NULL : print_progress;
    size_t n = (size_t)3 * sh.height * sh.width;
    x = malloc(n * sizeof *x);
    img.width = sh.width;
    img.height = sh.height;
    img.pixels = malloc(n);
    if (!x || !img.pixels) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto done;
    }
    if (vt_denoiser_sample(dn, &o, &in, x)) {
        runtime_error(c);
        goto done;
    }
    /* (3, H, W) in [-1, 1] -> (H, W, 3) bytes */
    for (int ch = 0; ch < 3; ch++)
        for (int p = 0; p < sh.height * sh.width; p++) {
            float v = (x[(size_t)ch * sh.height * sh.width + p] + 1.0f) * 127.5f;
            img.pixels[(size_t)p * 3 + ch] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
        }
    char hash[17] = "unknown", params[1024];
    file_hash(model_path, hash);
    const char *base = strrchr(model_path, '/');
    base = base ? base + 1 : model_path;
    char what[32];
    if (cls >= 0) snprintf(what, sizeof what, "class %d", cls);
    else snprintf(what, sizeof what, "unconditional");
    snprintf(params, sizeof params,
             "%s\nSteps: %d, Sampler: %s, CFG scale: %g, Seed: %llu, Size: %dx%d, Model: %.200s, Model hash: %s, Version: vitrail %s",
             what, steps,
             sampler ? sampler : (sh.velocity ? "euler" : "dpm++2m"), o.cfg, seed, sh.width, sh.height, base, hash,
             vt_version());
    if (vt_image_save_png(c->ctx, out, &img, params)) {
        runtime_error(c);
        goto done;
    }
    if (!quiet) fprintf(stderr, "wrote %s\n", out);
    rc = 0;
done:
    free(x);
    vt_image_free(&img);
    vt_denoiser_destroy(&dn);
    vt_model_close(&m);
    return rc;
}

/* ---- stages / run ---- */

static const char *param_type_name(vt_param_type t) {
    switch (t) {
    case VT_PARAM_INT: return "int";
    case VT_PARAM_FLOAT: return "float";
    case VT_PARAM_STRING: return "string";
    case VT_PARAM_ENUM: return "enum";
    }
    return "?";
}

static int cmd_stages(cli *c, int argc, char **argv) {
    (void)c;
    if (argc > 1) return usage_error("stages: unexpected argument '%s'", argv[1]);
    const vt_stage_desc *d;
    for (int i = 0; (d = vt_stage_at(i)); i++) {
        printf("%s: %s\n", d->name, d->summary ? d->summary : "");
        for (const vt_slot_spec *s = d->inputs; s && s->name; s++)
            printf("  in  %-14s %-7s%s %s\n", s->name, vt_slot_type_name(s->type), s->optional ? " (optional)" : "",
                   s->help ? s->help : "");
        for (const vt_slot_spec *s = d->outputs; s && s->name; s++)
            printf("  out %-14s %-7s %s\n", s->name, vt_slot_type_name(s->type), s->help ? s->help : "");
        for (const vt_param_spec *p = d->params; p && p->name; p++) {
            char range[96] = "";
            if (p->type == VT_PARAM_INT || p->type == VT_PARAM_FLOAT) snprintf(range, sizeof range, " [%g..%g]", p->min, p->max);
            if (p->type == VT_PARAM_ENUM) snprintf(range, sizeof range, " [%.90s]", p->choices);
            printf("  param %s=%s (%s%s) %s\n", p->name, p->def ? p->def : "(required)", param_type_name(p->type), range,
                   p->help ? p->help : "");
        }
    }
    return 0;
}

static char *read_text(const char *path, char *err, size_t cap);

/* Finds a preset: a readable path as given, else NAME.txt in $VITRAIL_PRESETS or
 * in the preset folder this build was configured with. */
static char *find_preset(const char *name, char *err, size_t cap) {
    if (access(name, R_OK) == 0) return read_text(name, err, cap);
    const char *dirs[2] = {getenv("VITRAIL_PRESETS"), VT_PRESET_DIR};
    for (int i = 0; i < 2; i++) {
        if (!dirs[i]) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.txt", dirs[i], name);
        if (access(path, R_OK) == 0) return read_text(path, err, cap);
    }
    snprintf(err, cap, "preset '%s': no such file, nor %s.txt in %s (set VITRAIL_PRESETS)", name, name, VT_PRESET_DIR);
    return NULL;
}

/* Shared by run and generate: parse options, build and run the pipeline. */
static int run_pipeline(cli *c, const char *cmdname, const char *preset, const char *prompt, int argc, char **argv, int first) {
    const char *model_path = NULL, *out = NULL, *input = NULL;
    const char *sets[64];
    int n_sets = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1]) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: %s: %s needs a value (see 'vitrail %s --help')\n", prog, cmdname, a, cmdname);
                return EXIT_USAGE;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--model") || !strcmp(a, "-m")) model_path = v;
            else if (!strcmp(a, "-o") || !strcmp(a, "--output")) out = v;
            else if (!strcmp(a, "--prompt") || !strcmp(a, "-p")) prompt = v;
            else if (!strcmp(a, "--preset") || !strcmp(a, "--pipeline")) preset = v;
            else if (!strcmp(a, "-i") || !strcmp(a, "--input")) input = v;
            else if (!strcmp(a, "-s") || !strcmp(a, "--seed") || !strcmp(a, "--steps") || !strcmp(a, "--cfg") ||
                     !strcmp(a, "--sampler") || !strcmp(a, "--strength") || !strcmp(a, "--class") || !strcmp(a, "--device")) {
                /* stable-diffusion.cpp's spellings, as overrides of the denoise stage */
                if (n_sets >= 52) return usage_error("too many options%s", "");
                const char *key = a[1] == 's' && !a[2] ? "seed" : a + 2;
                if (!strcmp(key, "seed") && !strcmp(v, "-1")) {
                    /* -1 picks a seed and says which */
                    static char picked[32];
                    snprintf(picked, sizeof picked, "%llu", (unsigned long long)((unsigned)time(NULL) ^ ((unsigned)getpid() << 16)));
                    fprintf(stderr, "seed: %s\n", picked);
                    v = picked;
                }
                static char buf[8][160];
                static int nb = 0;
                if (nb == 8) return usage_error("too many sampling options%s", "");
                snprintf(buf[nb], sizeof buf[nb], "denoise.%s=%.120s", key, v);
                sets[n_sets++] = buf[nb++];
            }
            else if (!strcmp(a, "--set")) {
                if (n_sets == 60) return usage_error("more than 60 --set options%s", "");
                sets[n_sets++] = v;
            } else {
                fprintf(stderr, "%s: %s: unknown option '%s' (see 'vitrail %s --help')\n", prog, cmdname, a, cmdname);
                return EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "%s: %s: unexpected argument '%s' (see 'vitrail %s --help')\n", prog, cmdname, a, cmdname);
            return EXIT_USAGE;
        }
    }
    if (!preset) return usage_error("run: missing PRESET%s", "");
    if (prompt && !*prompt) {
        fprintf(stderr, "%s: %s: the prompt is empty\n", prog, cmdname);
        return EXIT_USAGE;
    }
    char err[512];
    char *text = find_preset(preset, err, sizeof err);
    if (!text) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return EXIT_RUNTIME;
    }
    /* -o goes to whichever writer the preset ends with, -i to its reader */
    char outset[1100], inset[1100];
    if (out) {
        snprintf(outset, sizeof outset, "%s.path=%.1000s", strstr(text, "write_video") ? "write_video" : "write_image", out);
        sets[n_sets++] = outset;
    }
    if (input) {
        if (!strstr(text, "read_image") && !strstr(text, "read_video")) {
            fprintf(stderr, "%s: %s: -i given, but preset '%s' reads no image or video\n", prog, cmdname, preset);
            free(text);
            return EXIT_USAGE;
        }
        snprintf(inset, sizeof inset, "%s.path=%.1000s", strstr(text, "read_video") ? "read_video" : "read_image", input);
        sets[n_sets++] = inset;
    }
    sets[n_sets] = NULL;
    vt_model *m = NULL;
    vt_pipeline *p = NULL;
    int rc = EXIT_RUNTIME;
    vt_slot_spec given[2] = {{"prompt", VT_SLOT_TEXT, 0, NULL}, {NULL, 0, 0, NULL}};
    if (!prompt) given[0].name = NULL;
    if ((model_path && vt_model_open(c->ctx, model_path, &m)) || vt_pipeline_create(c->ctx, text, given, sets, m, &p) ||
        (prompt && vt_pipeline_set_text(p, "prompt", prompt)) || vt_pipeline_run(p)) {
        runtime_error(c);
        goto done;
    }
    rc = 0;
done:
    vt_pipeline_destroy(&p);
    vt_model_close(&m);
    free(text);
    return rc;
}

static int cmd_run(cli *c, int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '-') return usage_error("run: missing PRESET%s", "");
    return run_pipeline(c, "run", argv[1], NULL, argc, argv, 2);
}

/* edit and animate: a preset that needs an input image (-i) and a prompt (-p). */
static int cmd_image_preset(cli *c, const char *cmdname, const char *preset, int argc, char **argv) {
    int has_i = 0, has_p = 0;
    for (int i = 1; i + 1 < argc; i++) {
        has_i |= !strcmp(argv[i], "-i") || !strcmp(argv[i], "--input");
        has_p |= !strcmp(argv[i], "-p") || !strcmp(argv[i], "--prompt");
    }
    if (!has_i || !has_p) {
        fprintf(stderr, "%s: %s: needs -i INPUT and -p PROMPT (see 'vitrail %s --help')\n", prog, cmdname, cmdname);
        return EXIT_USAGE;
    }
    return run_pipeline(c, cmdname, preset, NULL, argc, argv, 1);
}

static int cmd_edit(cli *c, int argc, char **argv) { return cmd_image_preset(c, "edit", "edit", argc, argv); }
static int cmd_animate(cli *c, int argc, char **argv) { return cmd_image_preset(c, "animate", "img2vid", argc, argv); }

static int cmd_generate(cli *c, int argc, char **argv) {
    /* the prompt is the first argument, or -p PROMPT anywhere */
    if (argc >= 2 && argv[1][0] != '-') return run_pipeline(c, "generate", "txt2img", argv[1], argc, argv, 2);
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "-p") || !strcmp(argv[i], "--prompt")) return run_pipeline(c, "generate", "txt2img", NULL, argc, argv, 1);
    return usage_error("generate: missing the prompt (\"PROMPT\" or -p PROMPT)%s", "");
}

/* ---- video ---- */

/* Blending weight of position j in a window of T frames whose ends overlap
 * their neighbours by `overlap` frames: a ramp up over the first overlap + 1
 * frames and down over the last, so a frame covered by two windows crossfades. */
static float window_weight(int j, int T, int overlap) {
    float a = (float)(j + 1) / (float)(overlap + 1), b = (float)(T - j) / (float)(overlap + 1);
    float w = a < b ? a : b;
    return w < 1.0f ? w : 1.0f;
}

static int cmd_video(cli *c, int argc, char **argv) {
    const char *pos[2] = {NULL, NULL}, *out = NULL;
    int np = 0, overlap = -1, quiet = 0;
    sampling so = sampling_defaults();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            if (!v) return usage_error("video: %s needs a value", a);
            i++;
            int took = sampling_option("video", a, v, &so);
            if (took == EXIT_USAGE) return EXIT_USAGE;
            if (took) continue;
            if (!strcmp(a, "-o") || !strcmp(a, "--output")) out = v;
            else if (!strcmp(a, "--overlap")) {
                if (parse_int(v, 0, 1000, &overlap)) return usage_error("video: --overlap '%s' is not a frame count", v);
            } else {
                return usage_error("video: unknown option '%s'", a);
            }
        } else if (np == 2) {
            return usage_error("video: unexpected argument '%s'", a);
        } else {
            pos[np++] = a;
        }
    }
    if (np < 2) return usage_error("video: needs MODEL and INPUT%s", "");
    const char *sampler = so.sampler;
    int cls = so.cls, steps = so.steps;
    float cfg = so.cfg, shift = so.shift, strength = so.strength;
    unsigned long long seed = so.seed;
    if (!out) return usage_error("video: missing -o OUT.mp4%s", "");
    int rc = EXIT_RUNTIME;
    vt_model *m = NULL;
    vt_denoiser *dn = NULL;
    vt_video_reader *rd = NULL;
    vt_video_writer *wr = NULL;
    unsigned char *frame = NULL, *small = NULL, *big = NULL;
    float *win = NULL, *res = NULL, *acc = NULL, *wsum = NULL;
    if (vt_model_open(c->ctx, pos[0], &m) || vt_denoiser_create(c->ctx, m, NULL, &dn)) {
        runtime_error(c);
        goto done;
    }
    vt_denoiser_shape sh = vt_denoiser_get_shape(dn);
    if (sh.frames < 1 || sh.in_channels != 3 || sh.cond_dim > 0) {
        fprintf(stderr, "%s: video: %s is not an RGB clip model without text conditioning (frames %d, channels %d)\n", prog,
                pos[0], sh.frames, sh.in_channels);
        goto done;
    }
    if (cls >= sh.num_classes) {
        fprintf(stderr, "%s: video: --class %d: the model has %d classes\n", prog, cls, sh.num_classes);
        goto done;
    }
    const int T = sh.frames, h = sh.height, w = sh.width;
    if (overlap < 0) overlap = T / 4;
    if (overlap >= T) {
        fprintf(stderr, "%s: video: --overlap %d must be below the model's %d frames\n", prog, overlap, T);
        goto done;
    }
    const int stride = T - overlap;
    if (vt_video_reader_open(c->ctx, pos[1], NULL, &rd)) {
        runtime_error(c);
        goto done;
    }
    int W, H;
    double fps;
    vt_video_reader_info(rd, &W, &H, &fps, NULL);
    if (vt_video_writer_open(c->ctx, out, W, H, fps, pos[1], &wr)) {
        runtime_error(c);
        goto done;
    }
    const size_t plane = (size_t)w * h, clip = 3 * plane * T;
    frame = malloc((size_t)W * H * 3);
    big = malloc((size_t)W * H * 3);
    small = malloc(plane * 3);
    win = malloc(clip * sizeof *win);   /* (3, T, h, w) the window's input frames */
    res = malloc(clip * sizeof *res);   /* (3, T, h, w) its result */
    acc = calloc(clip, sizeof *acc);    /* (T, h, w, 3) blended results not yet written */
    wsum = calloc(T, sizeof *wsum);     /* (T) their weight sums */
    if (!frame || !big || !small || !win || !res || !acc || !wsum) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto done;
    }
    int32_t y = cls >= 0 ? cls : sh.num_classes;
    vt_denoise_input in;
    memset(&in, 0, sizeof in);
    in.batch = 1;
    in.frames = T;
    in.height = h;
    in.width = w;
    in.y = sh.num_classes ? &y : NULL;
    vt_sample_options o = vt_sample_default_options();
    o.sampler = sampler;
    o.steps = steps;
    o.cfg = cls >= 0 ? cfg : 1.0f;
    o.seed = seed;
    o.shift = shift;
    o.strength = strength;
    o.x_ref = win;
    /* Windows of T frames every `stride`: the first `overlap` frames of a window
     * are the last of the previous one. Only T frames of input and results are
     * held at a time, whatever the file's length. */
    int have = 0, eof = 0, written = 0, total = 0, clips = 0;
    while (!eof || have > overlap || (clips == 0 && have > 0)) {
        while (have < T && !eof) {
            int got = vt_video_reader_next(rd, frame);
            if (got < 0) {
                runtime_error(c);
                goto done;
            }
            if (got == 0) {
                eof = 1;
                break;
            }
            vt_rgb_resize(frame, W, H, small, w, h);
            for (size_t p = 0; p < plane; p++)
                for (int ch = 0; ch < 3; ch++) win[((size_t)ch * T + have) * plane + p] = small[p * 3 + ch] / 127.5f - 1.0f;
            have++;
            total++;
        }
        if (have == 0 || (clips > 0 && have <= overlap)) break;
        int real = have;
        for (int t = have; t < T; t++) /* a short last window repeats its last frame */
            for (int ch = 0; ch < 3; ch++)
                memcpy(win + ((size_t)ch * T + t) * plane, win + ((size_t)ch * T + have - 1) * plane, plane * sizeof(float));
        if (vt_denoiser_sample(dn, &o, &in, res)) {
            runtime_error(c);
            goto done;
        }
        clips++;
        for (int t = 0; t < real; t++) {
            float wt = window_weight(t, T, overlap);
            if (clips == 1 && t < overlap) wt = 1.0f; /* nothing before the first window to fade from */
            for (size_t p = 0; p < plane; p++)
                for (int ch = 0; ch < 3; ch++) acc[((size_t)t * plane + p) * 3 + ch] += wt * res[((size_t)ch * T + t) * plane + p];
            wsum[t] += wt;
        }
        /* frames no later window touches are final: all but the overlap, or all at the end */
        int final = eof && real <= T ? real : stride;
        if (final > real) final = real;
        for (int t = 0; t < final; t++) {
            for (size_t q = 0; q < plane * 3; q++) {
                float v = (acc[(size_t)t * plane * 3 + q] / wsum[t] + 1.0f) * 127.5f;
                small[q] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
            }
            vt_rgb_resize(small, w, h, big, W, H);
            if (vt_video_writer_write(wr, big)) {
                runtime_error(c);
                goto done;
            }
            written++;
        }
        if (!quiet) fprintf(stderr, "\rclip %d: %d frames written", clips, written);
        /* slide: keep the overlap (inputs and partial blends) at the front */
        int keep = real - final;
        for (int ch = 0; ch < 3; ch++)
            memmove(win + (size_t)ch * T * plane, win + ((size_t)ch * T + final) * plane, (size_t)keep * plane * sizeof(float));
        memmove(acc, acc + (size_t)final * plane * 3, (size_t)keep * plane * 3 * sizeof(float));
        memset(acc + (size_t)keep * plane * 3, 0, (size_t)(T - keep) * plane * 3 * sizeof(float));
        memmove(wsum, wsum + final, (size_t)keep * sizeof(float));
        for (int t = keep; t < T; t++) wsum[t] = 0;
        have = keep;
        if (eof && keep == 0) break;
    }
    if (!quiet) fprintf(stderr, "\n");
    if (written != total) {
        fprintf(stderr, "%s: video: internal error: wrote %d of %d frames\n", prog, written, total);
        goto done;
    }
    if (vt_video_writer_close(&wr, 1)) {
        runtime_error(c);
        goto done;
    }
    if (!quiet) fprintf(stderr, "wrote %s: %d frames at %g fps in %d clips\n", out, written, fps, clips);
    rc = 0;
done:
    vt_video_writer_close(&wr, 0);
    vt_video_reader_close(&rd);
    free(frame), free(big), free(small), free(win), free(res), free(acc), free(wsum);
    vt_denoiser_destroy(&dn);
    vt_model_close(&m);
    return rc;
}

static int cmd_shapes(cli *c, int argc, char **argv) { return vt_cli_shapes(c->ctx, argc, argv); }

static const command commands[] = {
    {"version", "print the version and build features",
     "usage: vitrail version\n\nPrints the version and whether this build has the Vulkan backend.\n",
     cmd_version},
    {"devices", "list compute devices (CPU, Vulkan GPUs)",
     "usage: vitrail devices\n\n"
     "Lists the CPU (with its BLAS build and thread count) and, in builds with\n"
     "Vulkan, every Vulkan physical device: its --device name (vulkan:INDEX), type\n"
     "(discrete-gpu, integrated-gpu, cpu-driver such as lavapipe, ...), largest\n"
     "device-local memory heap, and driver.\n",
     cmd_devices},
    {"info", "describe a model file: config, metadata, tensor table",
     "usage: vitrail info FILE\n\n"
     "FILE is a PNG: prints its size and generation parameters. Otherwise FILE is\n"
     "a model (safetensors): prints its config (the \"config\" entry of\n"
     "__metadata__), the other metadata, and a table of tensors (name, dtype,\n"
     "shape). The whole header is validated first: a malformed file is refused\n"
     "with one line naming the problem, and exit code 1.\n",
     cmd_info},
    {"create-model", "write a DiT model with random weights from a config",
     "usage: vitrail create-model CONFIG.json -o OUT.safetensors [--seed N]\n\n"
     "Writes a model whose config is CONFIG.json (keys in docs/model-format.md) and\n"
     "whose weights are seeded random F16 values: for benchmarks, tests and trying\n"
     "an architecture. assets/configs/ holds examples. The file is written to a\n"
     "temporary name and renamed when complete.\n",
     cmd_create_model},
    {"forward", "run one denoiser forward on tensors from a file",
     "usage: vitrail forward MODEL IN.safetensors -o OUT.safetensors [--device cpu]\n\n"
     "Runs one DiT forward. IN holds 'x' (B, C, H, W) or (B, C, T, H, W), 't' (B)\n"
     "(the DDPM step, or t * timestep_scale for velocity models), and as the model\n"
     "needs: 'y' (B) class labels stored as F32, 'cond' (B, L, cond_dim), and\n"
     "'cond_mask' (B, L) with 1 for present tokens. OUT receives 'out'\n"
     "(B, C_out, [T,] H, W) in F32. This is how the engine is checked against\n"
     "another implementation (tools/reference/).\n",
     cmd_forward},
    {"sample", "sample an image from a class-conditional or unconditional model",
     "usage: vitrail sample MODEL -o OUT.png [--class N] [--steps 20] [--cfg 4]\n"
     "                      [--seed 0] [--sampler ddim|dpm++2m|euler] [--eta 0] [--shift S]\n"
     "                      [--device cpu|vulkan|vulkan:INDEX] [-q]\n\n"
     "Draws seeded noise and denoises it with MODEL (an RGB pixel-space DiT):\n"
     "dpm++2m by default for eps models, euler for rectified-flow models. With\n"
     "--class, classifier-free guidance of scale --cfg against the null class;\n"
     "without, an unconditional sample. The PNG carries the generation parameters\n"
     "in a tEXt chunk 'parameters' ('vitrail info OUT.png' prints them); it is\n"
     "written to a temporary name and renamed when complete.\n",
     cmd_sample},
    {"stages", "list every pipeline stage with its slots and parameters",
     "usage: vitrail [--plugin FILE.so] stages\n\n"
     "Lists the built-in stages and those of loaded plugins: the typed slots each\n"
     "reads and writes, and its parameters with defaults and ranges.\n",
     cmd_stages},
    {"generate", "an image or clip from a prompt (the txt2img preset, or --preset)",
     "usage: vitrail generate [-p] \"PROMPT\" --model MODEL [-o OUT] [-s|--seed N] [--steps N] [--cfg F]\n"
     "                        [--sampler euler|ddim|dpm++2m] [--strength F] [--class N] [--device cpu|vulkan[:i]]\n"
     "                        [--pipeline|--preset NAME|FILE] [--set STAGE.PARAM=VALUE]...\n\n"
     "-s -1 picks a seed and prints it. The sampling options set the denoise stage's\n"
     "parameters (--set denoise.steps=30 is the same as --steps 30).\n"
     "Runs a pipeline preset (default txt2img: tokenize, text_encode, denoise,\n"
     "write_image) with PROMPT in its 'prompt' slot. Presets: txt2img, img2img,\n"
     "edit, ref2img, txt2vid, img2vid, vid2vid, class2img (assets/pipelines/).\n"
     "Inputs of the image and video presets are set with --set, e.g.\n"
     "--set read_image.path=in.png; -o sets the output of the preset's writer.\n",
     cmd_generate},
    {"edit", "change an image by an instruction (the edit preset)",
     "usage: vitrail edit -i IN.png -p PROMPT --model MODEL [-o OUT.png] [--strength F] [generate's options]\n\n"
     "The image is encoded, fused with the instruction and pruned to the tokens it\n"
     "attends to; the denoiser starts from the image noised to --strength (SDEdit)\n"
     "and is conditioned on the instruction and those tokens.\n",
     cmd_edit},
    {"animate", "a clip from an image and a prompt (the img2vid preset)",
     "usage: vitrail animate -i IN.png -p PROMPT --model CLIP_MODEL [-o OUT.mp4|.gif] [--strength F] [generate's options]\n\n"
     "Every frame starts from the image (SDEdit at --strength, default 0.8), the clip\n"
     "conditioned on the prompt and the image's pruned tokens.\n",
     cmd_animate},
    {"run", "run a pipeline preset",
     "usage: vitrail [--plugin FILE.so] run PRESET [--model MODEL] [--prompt TEXT] [--set STAGE.PARAM=VALUE]... [-o OUT]\n\n"
     "PRESET is a text file, one stage per line with key=value parameters\n"
     "(assets/pipelines/ holds the presets). The chain is validated before anything\n"
     "runs: unknown stages or parameters, out-of-range values and slots no earlier\n"
     "stage produces are reported naming the stage, slot or parameter. --set\n"
     "overrides a parameter; -o sets write_image.path.\n",
     cmd_run},
    {"video", "process a video file clip by clip with a clip model (vid2vid)",
     "usage: vitrail video MODEL INPUT -o OUT.mp4 [--strength 0.5] [--steps 20] [--class N] [--cfg 4]\n"
     "                     [--seed 0] [--overlap K] [--sampler NAME] [--shift S] [-q]\n\n"
     "Re-renders any video FFmpeg decodes with MODEL, an RGB clip model of T frames\n"
     "(SDEdit: each clip is noised to --strength and denoised). The file is read in\n"
     "windows of T frames that overlap by K (default T/4) and are crossfaded across\n"
     "the overlap; memory stays bounded by one window whatever the length. Frames\n"
     "are scaled to the model's size and the results back to the input's; the output\n"
     "keeps the input's frame count, frame rate and audio stream (copied untouched).\n",
     cmd_video},
    {"shapes", "the shapes world: draw captions and examples, analyse and score images", vt_cli_shapes_usage, cmd_shapes},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_help(FILE *f) {
    fprintf(f,
            "usage: vitrail [GLOBAL OPTIONS] COMMAND [ARGS]\n\n"
            "vitrail %s: diffusion-transformer image and video generation on CPU\n"
            "(OpenBLAS) and GPU (Vulkan).\n\nCommands:\n",
            vt_version());
    for (size_t i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\nGlobal options:\n"
            "  --threads N   CPU worker threads (default: online cores)\n"
            "  --plugin SO   load pipeline stages from a shared object (repeatable)\n"
            "  -v, --verbose debug logging on stderr\n"
            "  -h, --help    this help; 'vitrail COMMAND --help' for a command\n\n"
            "Exit codes: 0 success, 1 runtime failure, 2 usage error.\n");
}

int main(int argc, char **argv) {
    cli c = {0};
    const char *plugins[16];
    int n_plugins = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (is_help(argv[i])) {
            print_help(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("vitrail %s\n", vt_version());
            return 0;
        } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            c.verbose = 1;
        } else if (strcmp(argv[i], "--plugin") == 0) {
            if (i + 1 >= argc) return usage_error("--plugin needs a FILE.so%s", "");
            if (n_plugins == 16) return usage_error("more than 16 --plugin options%s", "");
            plugins[n_plugins++] = argv[++i];
        } else if (strcmp(argv[i], "--threads") == 0) {
            if (i + 1 >= argc) return usage_error("--threads needs a value%s", "");
            if (parse_int(argv[++i], 1, 1024, &c.n_threads))
                return usage_error("--threads: '%s' is not an integer in 1..1024", argv[i]);
        } else {
            return usage_error("unknown option '%s'", argv[i]);
        }
    }
    if (i >= argc) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    const command *cmd = NULL;
    for (size_t k = 0; k < N_COMMANDS; k++)
        if (strcmp(argv[i], commands[k].name) == 0) cmd = &commands[k];
    if (!cmd) return usage_error("unknown command '%s'", argv[i]);
    for (int k = i + 1; k < argc; k++) {
        if (strcmp(argv[k], "--") == 0) break;
        if (is_help(argv[k])) {
            fputs(cmd->usage, stdout);
            return 0;
        }
    }
    vt_context_params p = vt_context_default_params();
    p.n_threads = c.n_threads;
    p.log = log_stderr;
    p.log_min = c.verbose ? VT_LOG_DEBUG : VT_LOG_WARN;
    c.ctx = vt_context_create(&p);
    if (!c.ctx) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return EXIT_RUNTIME;
    }
    for (int k = 0; k < n_plugins; k++)
        if (vt_stage_load_plugin(c.ctx, plugins[k])) {
            int e = runtime_error(&c);
            vt_context_destroy(&c.ctx);
            return e;
        }
    int rc = cmd->run(&c, argc - i, argv + i);
    vt_context_destroy(&c.ctx);
    return rc;
}
