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

#include "blas_rest.h"
#include "cli.h"
#include "cmd_shapes.h"
#include "vitrail.h"
#include "vitrail_stage.h"

static int is_help(const char *a) { return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0; }

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
static int print_progress(void *user, int step, int steps) {
    (void)user;
    fprintf(stderr, "\rstep %d/%d", step, steps);
    if (step == steps) fprintf(stderr, "\n");
    return 0;
}

/* The sampling options of sample. */
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
    char params[1024];
    char what[32];
    if (cls >= 0) snprintf(what, sizeof what, "class %d", cls);
    else snprintf(what, sizeof what, "unconditional");
    snprintf(params, sizeof params,
             "%s\nSteps: %d, Sampler: %s, CFG scale: %g, Seed: %llu, Size: %dx%d, Model: %.200s, Model hash: %s, Version: vitrail %s",
             what, steps,
             sampler ? sampler : (sh.velocity ? "euler" : "dpm++2m"), o.cfg, seed, sh.width, sh.height, vt_model_name(m), vt_model_hash(m),
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

static int cmd_shapes(cli *c, int argc, char **argv) { return vt_cli_shapes(c->ctx, argc, argv); }

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
    {"generate", "an image or clip from a prompt (txt2img, or txt2vid for clip outputs)",
     "usage: vitrail generate [-p] \"PROMPT\" [-n NEGATIVE] [-o out.png|out.mp4|out.gif|out_%03d.png]\n"
     "                        [-s|--seed N] [--steps N] [--cfg F] [--sampler euler|ddim|dpm++2m] [-W W -H H]\n"
     "                        [--frames N --fps F] [-b|--batch N] [--model FILE] [--pipeline NAME|FILE]\n"
     "                        [--device auto|cpu|vulkan[:i]] [--threads N] [-q|--quiet] [--json]\n"
     "                        [--strength F] [--class N] [-i INPUT] [--set STAGE.PARAM=VALUE]...\n\n"
     "Runs a pipeline preset with PROMPT in its 'prompt' slot: txt2img (tokenize,\n"
     "text_encode, denoise, write_image) for an image, txt2vid for a clip (-o .mp4,\n"
     ".gif or a frame pattern). --frames N: 1 is an image (the default for PNG\n"
     "outputs), more a clip (default: the model's frames); --fps (default 8).\n"
     "-n: the guidance's unconditional branch uses NEGATIVE's tokens instead of the\n"
     "null token. -W/-H must be the model's size (it samples at its trained size).\n"
     "-b N makes N outputs with seeds S, S+1, ...: out.png, out_1.png, ... -s -1\n"
     "picks a seed and prints it. --json prints one JSON object per line: a step\n"
     "event per sampling step, then a done event with the outputs, seeds and timings.\n"
     "Progress goes to stderr when it is a terminal. Ctrl-C stops cleanly: exit 130,\n"
     "no file for the image under way (outputs are written to a temporary name and\n"
     "renamed when complete). Without --model: $VITRAIL_MODEL, else the default model\n"
     "assets/models/vitrail-shapes-64.safetensors. --steps, --cfg, --sampler,\n"
     "--strength, --class, --device, --eta, --shift set the denoise stage's\n"
     "parameters (--set denoise.steps=30 is the same as --steps 30). Other presets\n"
     "(--pipeline): img2img, edit, ref2img, txt2vid, img2vid, vid2vid, class2img\n"
     "(assets/pipelines/); -i sets the input of the preset's reader.\n",
     cmd_generate},
    {"edit", "change an image by an instruction (the edit preset)",
     "usage: vitrail edit -i IN.png -p PROMPT [--ref REF.png] [--model MODEL] [-o OUT.png] [--strength F]\n"
     "                   [generate's options]\n\n"
     "The image is encoded, fused with the instruction and pruned to the tokens it\n"
     "attends to; the denoiser starts from the image noised to --strength (SDEdit,\n"
     "default 0.7) and is conditioned on the instruction and those tokens. With\n"
     "--ref, the tokens come from REF instead (the edit_ref preset) and the\n"
     "denoiser still starts from IN.\n",
     cmd_edit},
    {"animate", "a clip from an image and a prompt (the img2vid preset)",
     "usage: vitrail animate -i IN.png -p PROMPT [--model CLIP_MODEL] [-o OUT.mp4|.gif] [--frames N] [--fps F]\n"
     "                      [--strength F] [generate's options]\n\n"
     "Every frame starts from the image (SDEdit at --strength, default 0.8), the clip\n"
     "conditioned on the prompt and the image's pruned tokens.\n",
     cmd_animate},
    {"run", "run a pipeline preset",
     "usage: vitrail [--plugin FILE.so] run PRESET [--model MODEL] [-p TEXT] [-i INPUT] [-o OUT]\n"
     "                                   [--set STAGE.PARAM=VALUE]... [generate's options]\n\n"
     "PRESET is a text file, one stage per line with key=value parameters\n"
     "(assets/pipelines/ holds the presets). The chain is validated before anything\n"
     "runs: unknown stages or parameters, out-of-range values and slots no earlier\n"
     "stage produces are reported naming the stage, slot or parameter. --set\n"
     "overrides a parameter; -o sets the path of the preset's writer, -i its reader's.\n"
     "Without --model, the default model if it is there (some presets need none).\n",
     cmd_run},
    {"video", "re-render a video file with a clip model, window by window",
     "usage: vitrail video -i IN.mp4 -p PROMPT [-n NEGATIVE] [--strength 0.5] [--model CLIP_MODEL] -o OUT.mp4\n"
     "                     [--steps 20] [--cfg 4] [-s|--seed N] [--overlap K] [--sampler NAME] [--shift S]\n"
     "                     [--class N] [--device D] [--pipeline FILE] [-q] [--json]\n\n"
     "Re-renders any video FFmpeg decodes with a clip model of T frames: each window\n"
     "of T frames runs the vid2vid_window preset (the prompt's tokens; SDEdit: the\n"
     "frames noised to --strength and denoised). Windows overlap by K frames\n"
     "(default T/4) and are crossfaded across the overlap; memory stays bounded by\n"
     "one window whatever the length. Frames are scaled to the model's size and the\n"
     "results back to the input's; the output keeps the input's frame count, frame\n"
     "rate and audio stream (copied untouched). OUT may be .mp4, .gif or a frame\n"
     "pattern such as out_%03d.png. A model without text conditioning takes no -p\n"
     "(--class N for a class-conditional one). Ctrl-C stops cleanly: exit 130, no\n"
     "output left.\n",
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
    vt_blas_rest_workers(argv);
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
    c.ctx = cli_context_create(c.n_threads, c.verbose);
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
