/* vt-bench-gpu: vitrail's Vulkan backend on the shapes of bench/gpu/torch_bench.py
 * (matmul at DiT shapes, full and neighborhood attention, whole DiT forwards),
 * one line per case: `name ms GFLOP/s`. run.sh pairs them with PyTorch's. The
 * CPU backend is not involved; timings include the submit and the wait. */
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
#include "vk_backend.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static vt_backend *be;
static vt_context *ctx;

static void die(const char *what) {
    fprintf(stderr, "vt-bench-gpu: %s: %s\n", what, vt_context_error(ctx));
    exit(1);
}

static vt_buffer *buf_random(size_t n, uint64_t seed) {
    vt_buffer *b;
    if (be->iface->buffer_alloc(be, n * sizeof(float), &b)) die("alloc");
    float *h = malloc(n * sizeof *h);
    vt_rng_normal(seed, 0, 0, h, n);
    if (be->iface->upload(be, b, 0, h, n * sizeof *h)) die("upload");
    free(h);
    return b;
}

static vt_tensor tview(vt_buffer *b, int ndim, int64_t d0, int64_t d1, int64_t d2) {
    int64_t s[3] = {d0, d1, d2};
    vt_tensor t = vt_tensor_make(VT_DTYPE_F32, b->host, ndim, s);
    t.buf = b;
    return t;
}

static void gpu_sync(void) {
    if (be->iface->synchronize && be->iface->synchronize(be)) die("synchronize");
}

/* Best mean time of 3 rounds of `reps` runs, each round one submission wait. */
typedef int (*run_fn)(void *arg);
static double timed(run_fn fn, void *arg, int reps) {
    if (fn(arg)) die("warm-up");
    gpu_sync();
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        double t0 = now();
        for (int i = 0; i < reps; i++)
            if (fn(arg)) die("run");
        gpu_sync();
        double e = (now() - t0) / reps;
        if (e < best) best = e;
    }
    return best * 1e3;
}

typedef struct mm_arg { vt_tensor y, x, w, b; } mm_arg;
static int run_mm(void *a) {
    mm_arg *m = a;
    return be->iface->linear(be, &m->y, &m->x, &m->w, &m->b, VT_ACT_NONE);
}

typedef struct at_arg { vt_attn_args a; } at_arg;
static int run_at(void *a) { return be->iface->attention(be, &((at_arg *)a)->a); }

static void bench_matmul(int M, int K, int N) {
    mm_arg m;
    vt_buffer *bx = buf_random((size_t)M * K, 1), *bw = buf_random((size_t)N * K, 2), *bb = buf_random((size_t)N, 3), *by;
    if (be->iface->buffer_alloc(be, (size_t)M * N * sizeof(float), &by)) die("alloc");
    m.x = tview(bx, 2, M, K, 0);
    m.w = tview(bw, 2, N, K, 0);
    m.b = tview(bb, 1, N, 0, 0);
    m.y = tview(by, 2, M, N, 0);
    double ms = timed(run_mm, &m, 10);
    printf("matmul_f32_%dx%dx%d %.4f %.1f\n", M, K, N, ms, 2.0 * M * N * K / ms * 1e-6);
    fflush(stdout);
    be->iface->buffer_free(be, bx), be->iface->buffer_free(be, bw), be->iface->buffer_free(be, bb), be->iface->buffer_free(be, by);
}

static void bench_attention(const char *name, int side, int kernel, int heads) {
    const int N = side * side, d = 64, C = heads * d;
    at_arg A;
    memset(&A, 0, sizeof A);
    vt_buffer *bq = buf_random((size_t)N * 3 * C, 4), *bo;
    if (be->iface->buffer_alloc(be, (size_t)N * C * sizeof(float), &bo)) die("alloc");
    vt_tensor tq = tview(bq, 3, 1, N, 3 * C), to = tview(bo, 3, 1, N, C);
    A.a.desc.kind = kernel ? VT_ATTN_NEIGHBORHOOD : VT_ATTN_FULL;
    A.a.desc.grid[0] = 1;
    A.a.desc.grid[1] = side;
    A.a.desc.grid[2] = side;
    for (int i = 0; i < 3; i++) A.a.desc.kernel[i] = A.a.desc.dilation[i] = 1;
    if (kernel) A.a.desc.kernel[1] = A.a.desc.kernel[2] = kernel;
    A.a.B = 1;
    A.a.Nq = A.a.Nk = N;
    A.a.heads = heads;
    A.a.head_dim = d;
    A.a.q = A.a.k = A.a.v = &tq;
    A.a.off_k = (size_t)C;
    A.a.off_v = 2 * (size_t)C;
    A.a.ld_q = A.a.ld_k = A.a.ld_v = 3 * (size_t)C;
    A.a.out = &to;
    A.a.ld_o = (size_t)C;
    double keys = kernel ? (double)kernel * kernel : (double)N;
    double ms = timed(run_at, &A, kernel ? 10 : 3);
    printf("%s_%dx%d %.4f %.1f\n", name, side, side, ms, 4.0 * N * keys * d * heads / ms * 1e-6);
    fflush(stdout);
    be->iface->buffer_free(be, bq), be->iface->buffer_free(be, bo);
}

typedef struct dit_arg { vt_dit *d; vt_dit_inputs in; float *out; } dit_arg;
static int run_dit(void *a) {
    dit_arg *da = a;
    return vt_dit_forward(da->d, &da->in, da->out);
}

static void bench_dit(const char *name, int D, int depth, int heads, int img, int frames, const char *attn) {
    char cfg[2048];
    if (frames)
        snprintf(cfg, sizeof cfg,
                 "{\"arch\":\"dit\",\"in_channels\":4,\"input_size\":[%d,%d],\"frames\":%d,\"patch_size\":2,\"hidden_size\":%d,"
                 "\"depth\":%d,\"num_heads\":%d,\"num_classes\":1000,\"learn_sigma\":true,\"attention\":[%s]}",
                 img, img, frames, D, depth, heads, attn);
    else
        snprintf(cfg, sizeof cfg,
                 "{\"arch\":\"dit\",\"in_channels\":4,\"input_size\":[%d,%d],\"patch_size\":2,\"hidden_size\":%d,"
                 "\"depth\":%d,\"num_heads\":%d,\"num_classes\":1000,\"learn_sigma\":true}",
                 img, img, D, depth, heads);
    char path[] = "/tmp/vt-bench-gpu-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    if (vt_dit_write_random(ctx, cfg, 1, NULL, 0, path)) die("model");
    vt_st_file *f;
    dit_arg da;
    if (vt_st_open(ctx, path, &f) || vt_dit_create(ctx, be, f, &da.d)) die(name);
    const int T = frames ? frames : 1;
    size_t nx = (size_t)4 * T * img * img;
    float *x = malloc(nx * 4), t[1] = {500};
    int32_t y[1] = {207};
    da.out = malloc(nx * 2 * 4);
    vt_rng_normal(3, 0, 0, x, nx);
    memset(&da.in, 0, sizeof da.in);
    da.in.batch = 1;
    da.in.frames = T;
    da.in.height = img;
    da.in.width = img;
    da.in.x = x;
    da.in.t = t;
    da.in.y = y;
    double ms = timed(run_dit, &da, 5);
    int N = T * (img / 2) * (img / 2);
    double flops = (double)depth * (24.0 * N * D * D + 4.0 * N * (double)N * D);
    printf("%s %.4f %.1f\n", name, ms, flops / ms * 1e-6);
    fflush(stdout);
    vt_dit_destroy(&da.d);
    vt_st_close(&f);
    unlink(path);
    free(x), free(da.out);
}

int main(void) {
    vt_context_params p = vt_context_default_params();
    ctx = vt_context_create(&p);
    be = vt_backend_vulkan_create(ctx, -1);
    if (!be) die("no Vulkan device");
    fprintf(stderr, "vt-bench-gpu on %s\n", vt_backend_vulkan_device_name(be));
    int shapes[][3] = {{256, 384, 1536}, {1024, 1152, 4608}, {4096, 1152, 1152}, {8192, 1152, 4608}};
    for (int i = 0; i < 4; i++) bench_matmul(shapes[i][0], shapes[i][1], shapes[i][2]);
    for (int side = 64; side <= 128; side *= 2) {
        bench_attention("attn_full_f32", side, 0, 8);
        bench_attention("attn_nbhd7_f32", side, 7, 8);
        bench_attention("attn_nbhd13_f32", side, 13, 8);
    }
    bench_dit("dit_s2_256", 384, 12, 6, 32, 0, NULL);
    bench_dit("dit_s2_1024", 384, 12, 6, 64, 0, NULL);
    bench_dit("dit_xl2_256", 1152, 28, 16, 32, 0, NULL);
    bench_dit("dit_xl2_1024", 1152, 28, 16, 64, 0, NULL);
    /* a clip: 8 frames of 16x16 tokens, spatial and temporal blocks alternating */
    char attn[1024] = "";
    for (int i = 0; i < 12; i++) strcat(attn, i % 2 ? "\"temporal\"," : "\"spatial\",");
    attn[strlen(attn) - 1] = 0;
    bench_dit("dit_video_8x256", 384, 12, 6, 32, 8, attn);
    vt_backend_destroy(&be);
    vt_context_destroy(&ctx);
    return 0;
}
