/* vt-bench-dit: whole DiT forwards on the CPU backend (DiT-S/2-like and
 * DiT-B/2-like at 256 tokens), in ms and GFLOP/s, against raw OpenBLAS sgemm
 * throughput at the model's own GEMM shapes measured in the same run, with a
 * per-op time breakdown. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "context.h"
#include "dit.h"
#include "rng.h"
#include "safetensors.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- a timing wrapper around the CPU backend's op table ---- */

enum { OP_LINEAR, OP_ATTN, OP_NORM, OP_MODULATE, OP_GATED, OP_ACT, OP_BINARY, OP_LAYOUT, OP_N };
static const char *op_names[OP_N] = {"linear (sgemm)", "attention", "layernorm", "modulate", "gated_add",
                                     "activation", "add", "patchify"};
static double op_time[OP_N];
static double linear_flops;
static const struct vt_backend_iface *inner;

#define TIMED(slot, call)                  \
    do {                                   \
        double t0_ = now();                \
        int rc_ = (call);                  \
        op_time[slot] += now() - t0_;      \
        return rc_;                        \
    } while (0)

static int t_linear(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *b, vt_act a) {
    linear_flops += 2.0 * (double)vt_tensor_numel(y) * (double)w->shape[1];
    TIMED(OP_LINEAR, inner->linear(be, y, x, w, b, a));
}
static int t_attn(vt_backend *be, const vt_attn_args *a) { TIMED(OP_ATTN, inner->attention(be, a)); }
static int t_ln(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *w, const vt_tensor *b, float eps) {
    TIMED(OP_NORM, inner->layernorm(be, y, x, w, b, eps));
}
static int t_mod(vt_backend *be, vt_tensor *y, const vt_tensor *x, const vt_tensor *s, const vt_tensor *c) {
    TIMED(OP_MODULATE, inner->modulate(be, y, x, s, c));
}
static int t_gated(vt_backend *be, vt_tensor *x, const vt_tensor *y, const vt_tensor *g) {
    TIMED(OP_GATED, inner->gated_add(be, x, y, g));
}
static int t_act(vt_backend *be, vt_tensor *y, const vt_tensor *x, vt_act a) { TIMED(OP_ACT, inner->activation(be, y, x, a)); }
static int t_bin(vt_backend *be, vt_tensor *y, const vt_tensor *a, const vt_tensor *b, vt_binop op) {
    TIMED(OP_BINARY, inner->binary(be, y, a, b, op));
}
static int t_patch(vt_backend *be, vt_tensor *t, const vt_tensor *x, int p, int pt, vt_patch_order o) {
    TIMED(OP_LAYOUT, inner->patchify(be, t, x, p, pt, o));
}
static int t_unpatch(vt_backend *be, vt_tensor *x, const vt_tensor *t, int p, int pt, vt_patch_order o) {
    TIMED(OP_LAYOUT, inner->unpatchify(be, x, t, p, pt, o));
}

/* Raw sgemm GFLOP/s at one (M, N, K) with the Linear layout (x · wᵀ). */
static double raw_gemm(int M, int N, int K, double min_time) {
    float *a = malloc((size_t)M * K * 4), *b = malloc((size_t)N * K * 4), *c = malloc((size_t)M * N * 4);
    vt_rng_normal(1, 0, 0, a, (size_t)M * K);
    vt_rng_normal(2, 0, 0, b, (size_t)N * K);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        int it = 0;
        double t0 = now(), el;
        do {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
            it++;
        } while ((el = now() - t0) < min_time / 3);
        if (el / it < best) best = el / it;
    }
    free(a), free(b), free(c);
    return 2.0 * M * N * K / best * 1e-9;
}

static void bench(vt_context *ctx, const char *label, int D, int depth, int heads, int img, int B, double min_time) {
    char cfg[512];
    snprintf(cfg, sizeof cfg,
             "{\"arch\":\"dit\",\"in_channels\":4,\"input_size\":[%d,%d],\"patch_size\":2,\"hidden_size\":%d,"
             "\"depth\":%d,\"num_heads\":%d,\"num_classes\":1000,\"learn_sigma\":true}",
             img, img, D, depth, heads);
    char path[] = "/tmp/vt-bench-dit-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    if (vt_dit_write_random(ctx, cfg, 1, NULL, 0, path)) {
        fprintf(stderr, "vt-bench-dit: %s\n", vt_context_error(ctx));
        exit(1);
    }
    vt_st_file *f;
    vt_backend *be = vt_backend_cpu_create(ctx);
    static struct vt_backend_iface timed;
    inner = be->iface;
    timed = *inner;
    timed.linear = t_linear;
    timed.attention = t_attn;
    timed.layernorm = t_ln;
    timed.modulate = t_mod;
    timed.gated_add = t_gated;
    timed.activation = t_act;
    timed.binary = t_bin;
    timed.patchify = t_patch;
    timed.unpatchify = t_unpatch;
    be->iface = &timed;
    vt_dit *d;
    if (vt_st_open(ctx, path, &f) || vt_dit_create(ctx, be, f, &d)) {
        fprintf(stderr, "vt-bench-dit: %s\n", vt_context_error(ctx));
        exit(1);
    }
    const int N = (img / 2) * (img / 2);
    size_t nx = (size_t)B * 4 * img * img;
    float *x = malloc(nx * 4), *out = malloc(nx * 2 * 4), t[2] = {500, 500};
    int32_t y[2] = {207, 1000}; /* a class and the null class: the CFG pair */
    vt_rng_normal(3, 0, 0, x, nx);
    vt_dit_inputs in = {.batch = B, .frames = 1, .height = img, .width = img, .x = x, .t = t, .y = y};
    vt_dit_forward(d, &in, out); /* warm-up: page in weights, start threads */
    memset(op_time, 0, sizeof op_time);
    linear_flops = 0;
    int it = 0;
    double best = 1e30, t0 = now();
    do {
        double s = now();
        if (vt_dit_forward(d, &in, out)) {
            fprintf(stderr, "vt-bench-dit: %s\n", vt_context_error(ctx));
            exit(1);
        }
        double e = now() - s;
        if (e < best) best = e;
        it++;
    } while (now() - t0 < min_time);
    /* FLOPs: every linear (counted by the wrapper) + attention's QKᵀ and PV. */
    double lin_flops = linear_flops / it;
    double attn_flops = (double)depth * B * 4.0 * N * N * D;
    double flops = lin_flops + attn_flops;
    /* The peer: raw sgemm at this model's dominant shapes (M = tokens), weighted
     * by their FLOP share: qkv (3D), proj (D), fc1 (4D), fc2 (K = 4D). */
    /* The peer runs with OpenBLAS's own threads, as a user calling it would. */
    openblas_set_num_threads(vt_context_threads(ctx));
    double g_qkv = raw_gemm(N * B, 3 * D, D, 0.3), g_proj = raw_gemm(N * B, D, D, 0.3);
    double g_fc1 = raw_gemm(N * B, 4 * D, D, 0.3), g_fc2 = raw_gemm(N * B, D, 4 * D, 0.3);
    openblas_set_num_threads(1);
    double w_sum = 3 + 1 + 4 + 4;
    double peer = w_sum / (3 / g_qkv + 1 / g_proj + 4 / g_fc1 + 4 / g_fc2);
    double gf = flops / best * 1e-9;
    printf("\n%s: depth %d, width %d, %d heads, %d tokens, batch %d\n", label, depth, D, heads, N, B);
    printf("  forward: %.2f ms best of %d, %.2f GFLOP (%.0f%% in linears), %.1f GFLOP/s\n", best * 1e3, it, flops * 1e-9,
           100.0 * lin_flops / flops, gf);
    printf("  raw OpenBLAS sgemm at the model's GEMM shapes (same run): %.1f GFLOP/s  "
           "(qkv %.1f, proj %.1f, fc1 %.1f, fc2 %.1f)\n", peer, g_qkv, g_proj, g_fc1, g_fc2);
    printf("  forward / raw GEMM throughput: %.2f\n", gf / peer);
    double total = 0;
    for (int k = 0; k < OP_N; k++) total += op_time[k];
    printf("  per-op time (mean per forward):\n");
    for (int k = 0; k < OP_N; k++)
        printf("    %-16s %8.3f ms  %5.1f%%\n", op_names[k], op_time[k] / it * 1e3, 100.0 * op_time[k] / total);
    vt_dit_destroy(&d);
    vt_st_close(&f);
    vt_backend_destroy(&be);
    unlink(path);
    free(x), free(out);
}

int main(int argc, char **argv) {
    int threads = 0;
    double min_time = 2.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--time") && i + 1 < argc) min_time = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: vt-bench-dit [--threads N] [--time SECONDS]\n");
            return 2;
        }
    }
    vt_context_params p = vt_context_default_params();
    p.n_threads = threads;
    vt_context *ctx = vt_context_create(&p);
    openblas_set_num_threads(vt_context_threads(ctx));
    printf("vt-bench-dit: CPU backend, %d threads, OpenBLAS %s\n", vt_context_threads(ctx), openblas_get_config());
    printf("GFLOP/s counts every linear and attention's QK^T and PV (4·N²·D per block).\n");
    /* batch 1, and batch 2 as classifier-free guidance runs it (cond + uncond) */
    bench(ctx, "DiT-S/2-like", 384, 12, 6, 32, 1, min_time);
    bench(ctx, "DiT-S/2-like", 384, 12, 6, 32, 2, min_time);
    bench(ctx, "DiT-B/2-like", 768, 12, 12, 32, 1, min_time);
    vt_context_destroy(&ctx);
    return 0;
}
