/* vt-bench-e2e: the default generation end to end on the CPU — the txt2img preset
 * (tokenize, text_encode, denoise at 20 Euler steps with CFG, write_image) on the
 * default model at 64x64 — with the time of every stage, then an 8-frame clip
 * (txt2vid). The peer, measured in the same run on the same threads, is raw
 * OpenBLAS sgemm doing the denoiser's linear-layer FLOPs at its shapes, so the
 * ratio says how close the whole chain runs to the machine's GEMM speed on a
 * noisy shared box.
 *
 *   vt-bench-e2e [--model FILE] [--threads N] [--runs N] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blas_rest.h"
#include "vitrail.h"
#include "vitrail_stage.h"

enum { MAX_STAGES = 16 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Stage boundaries from the pipeline's progress events (step = steps = 0 marks a
 * stage's start); the last stage ends when vt_pipeline_run returns. */
typedef struct timing {
    int n;
    const char *name[MAX_STAGES];
    double start[MAX_STAGES];
} timing;

static int on_progress(void *user, const char *stage, int step, int steps) {
    timing *t = user;
    if (step == 0 && steps == 0 && t->n < MAX_STAGES) {
        t->name[t->n] = stage;
        t->start[t->n++] = now();
    }
    return 0;
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    if (!n) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs a preset `runs` times (after one warm-up) and prints the median of every
 * stage and of the total. Returns the median total in seconds, < 0 on failure. */
static double bench_preset(vt_context *ctx, vt_model *m, const char *preset, const char *prompt, const char *out,
                           const char *extra, int runs) {
    char path[1024], outset[1100];
    snprintf(path, sizeof path, "%s/%s.txt", VT_PRESET_DIR, preset);
    char *text = read_text(path);
    if (!text) {
        fprintf(stderr, "vt-bench-e2e: cannot read preset %s\n", path);
        return -1;
    }
    snprintf(outset, sizeof outset, "%s.path=%s", strstr(text, "write_video") ? "write_video" : "write_image", out);
    const char *sets[3] = {outset, extra, NULL};
    vt_slot_spec given[1] = {{"prompt", VT_SLOT_TEXT, 0, NULL}};
    vt_pipeline *p = NULL;
    timing t = {0};
    double stage[MAX_STAGES][32] = {{0}}, total[32] = {0};
    int n_st = 0;
    if (runs > 32) runs = 32;
    if (vt_pipeline_create(ctx, text, given, sets, m, &p) || vt_pipeline_set_text(p, "prompt", prompt)) {
        fprintf(stderr, "vt-bench-e2e: %s\n", vt_context_error(ctx));
        free(text);
        vt_pipeline_destroy(&p);
        return -1;
    }
    free(text);
    vt_pipeline_set_progress(p, on_progress, &t);
    for (int r = -1; r < runs; r++) {
        t.n = 0;
        double t0 = now();
        if (vt_pipeline_run(p)) {
            fprintf(stderr, "vt-bench-e2e: %s\n", vt_context_error(ctx));
            vt_pipeline_destroy(&p);
            return -1;
        }
        double t1 = now();
        if (r < 0) continue; /* warm-up: page faults, thread start, caches */
        n_st = t.n;
        for (int i = 0; i < t.n; i++) stage[i][r] = (i + 1 < t.n ? t.start[i + 1] : t1) - t.start[i];
        total[r] = t1 - t0;
    }
    printf("  %-14s %10s %8s\n", "stage", "median ms", "share");
    qsort(total, runs, sizeof(double), cmp_double);
    double tot = total[runs / 2];
    for (int i = 0; i < n_st; i++) {
        qsort(stage[i], runs, sizeof(double), cmp_double);
        printf("  %-14s %10.1f %7.1f%%\n", t.name[i], 1e3 * stage[i][runs / 2], 100 * stage[i][runs / 2] / tot);
    }
    printf("  %-14s %10.1f\n", "total", 1e3 * tot);
    vt_pipeline_destroy(&p);
    return tot;
}

/* The peer: sgemm with the FLOPs of the denoiser's linear layers for one sample —
 * per block and token qkv (3D^2), projection (D^2), cross-attention query and
 * output (2 D^2), MLP (2 * mlp_ratio D^2); CFG doubles the rows — as one GEMM per
 * block and step: (2 frames*tokens x D) by (D x 14 D). */
static double peer_gemm(int tokens, int D, int depth, int steps) {
    const int M = 2 * tokens, K = D, N = 14 * D;
    float *a = calloc((size_t)M * K, sizeof(float)), *b = calloc((size_t)K * N, sizeof(float)),
          *c = calloc((size_t)M * N, sizeof(float));
    if (!a || !b || !c) return -1;
    for (size_t i = 0; i < (size_t)M * K; i++) a[i] = (float)((i * 7919) % 101) / 101.0f - 0.5f;
    for (size_t i = 0; i < (size_t)K * N; i++) b[i] = (float)((i * 104729) % 97) / 97.0f - 0.5f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a, K, b, N, 0, c, N); /* warm-up */
    double t0 = now();
    for (int s = 0; s < steps * depth; s++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a, K, b, N, 0, c, N);
    double dt = now() - t0;
    free(a);
    free(b);
    free(c);
    return dt;
}

int main(int argc, char **argv) {
    vt_blas_rest_workers(argv); /* as the CLI does */
    const char *model_path = getenv("VITRAIL_MODEL") ? getenv("VITRAIL_MODEL") : VT_DEFAULT_MODEL_SRC;
    int threads = 0, runs = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model_path = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: vt-bench-e2e [--model FILE] [--threads N] [--runs N (default 5)]\n");
            return 2;
        }
    }
    if (runs < 1) runs = 1;
    vt_context_params cp = vt_context_default_params();
    cp.n_threads = threads;
    vt_context *ctx = vt_context_create(&cp);
    vt_model *m = NULL;
    if (!ctx || vt_model_open(ctx, model_path, &m)) {
        fprintf(stderr, "vt-bench-e2e: %s: %s\n", model_path, ctx ? vt_context_error(ctx) : "no context");
        return 1;
    }
    openblas_set_num_threads(vt_context_threads(ctx));
    char png[] = "/tmp/vt-bench-e2e-XXXXXX.png", mp4[] = "/tmp/vt-bench-e2e-XXXXXX.mp4";
    int fd = mkstemps(png, 4);
    if (fd >= 0) close(fd);
    fd = mkstemps(mp4, 4);
    if (fd >= 0) close(fd);
    const char *prompt = "a large red circle in the top left on a white background";
    printf("vt-bench-e2e: %s, %d threads, median of %d runs after a warm-up\n\n", model_path, vt_context_threads(ctx), runs);
    printf("image: txt2img 64x64, 20 Euler steps, CFG 4 (\"%s\")\n", prompt);
    double img = bench_preset(ctx, m, "txt2img", prompt, png, "denoise.steps=20", runs);
    printf("\nclip: txt2vid 8 frames 64x64, 20 steps, CFG 4 (\"a red circle moving left\")\n");
    double clip = bench_preset(ctx, m, "txt2vid", "a red circle moving left", mp4, "denoise.frames=8", runs > 3 ? 3 : runs);
    /* the default model's DiT: 256 tokens a frame, hidden 256, depth 8 */
    double peer = peer_gemm(256, 256, 8, 20);
    printf("\npeer: OpenBLAS sgemm with the image's denoiser linear-layer FLOPs (%.1f GFLOP): %.1f ms\n",
           2.0 * 2 * 256 * 256 * 14 * 256 * 8 * 20 / 1e9, 1e3 * peer);
    if (img > 0 && peer > 0) printf("image total / peer GEMM: %.2fx\n", img / peer);
    printf("goal: image <= 1500 ms on 2 cores: %s\n", img > 0 && img <= 1.5 ? "met" : "not met");
    if (clip > 0 && img > 0) printf("clip / image: %.2fx for 8x the frames\n", clip / img);
    unlink(png);
    unlink(mp4);
    vt_model_close(&m);
    vt_context_destroy(&ctx);
    return img > 0 && clip > 0 ? 0 : 1;
}
