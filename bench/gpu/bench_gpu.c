/* vt-bench-gpu: vitrail's Vulkan backend on the shapes of bench/gpu/torch_bench.py
 * (issue 6's table): linear at DiT shapes in f32 and f16, full and neighborhood
 * attention, whole DiT forwards in f32 and f16. One line per case on stdout,
 * `name ms GFLOP/s path`, which run.sh pairs with PyTorch's; lines starting
 * with '#' say which device and matrix paths ran. The CPU backend is not
 * involved. Times include recording, the submit and the wait: a batch of runs
 * is recorded into one submission (as a DiT step is) and sized to take about
 * 50 ms, best of 3 batches.
 *   vt-bench-gpu [--quick] [matmul] [attn] [dit] [ditxl] [peak]
 * (--quick: small shapes only, for a smoke test; sections: all but peak when
 * none named, so that run.sh can time-box and retry each alone; ditxl, the
 * DiT-XL/2-like forwards, spends most of its time making the two
 * 675M-parameter models). peak, run only when named, times the driver's
 * cooperative-matrix MulAdd alone (shaders/coop_peak.comp) with its fragments
 * in registers (coop_peak_m0_g<workgroups>) and reloaded from shared memory
 * every iteration (m1), then gemm_coop's slice loop staged from registers
 * (m2), from memory as f16 (m3) and with A as f32 (m4): the ceiling the
 * coop-nv matmul rows are read against, and what each piece of the GEMM costs;
 * "# coop peak: <reason>" where the device has no coop path.
 * VT_BENCH_RETIME=1 times each f16 matmul once more after both results were
 * read back (a '#' line): whether a host read of a large mapped output slows
 * the GPU work after it (the 8192x1152x4608 f16 question, docs/performance.md).
 * "f32" rows run with f16 weights off (VITRAIL_VK_F16=0's path), "f16" rows on
 * the f16 paths: coop-nv (tensor cores) where the device offers it and its
 * self-check passed, else f16-weights (the portable shaders). */
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
static int have_f16;

static void die(const char *what) {
    fprintf(stderr, "vt-bench-gpu: %s: %s\n", what, vt_context_error(ctx));
    exit(1);
}

static vt_buffer *buf_random(size_t n, uint64_t seed, float scale) {
    vt_buffer *b;
    if (be->iface->buffer_alloc(be, n * sizeof(float), &b)) die("alloc");
    float *h = malloc(n * sizeof *h);
    if (!h) die("host memory");
    vt_rng_normal(seed, 0, 0, h, n);
    for (size_t i = 0; i < n; i++) h[i] *= scale;
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

/* Puts the backend on f32 (0) or the f16 paths (1); the path linear takes. */
static const char *precision(int f16) {
    if (f16 && !have_f16) return NULL;
    if (vt_backend_vulkan_set_f16(be, f16)) die("set_f16");
    return vt_vk_path_name(vt_backend_vulkan_linear_path(be));
}

/* Best mean time in ms of 3 batches, each `reps` runs and one wait; reps is
 * sized from a timed first run so a batch takes ~50 ms (at most max_reps). */
typedef int (*run_fn)(void *arg);
static double timed(run_fn fn, void *arg, int max_reps) {
    if (fn(arg)) die("warm-up");
    gpu_sync();
    double t0 = now();
    if (fn(arg)) die("run");
    gpu_sync();
    double one = now() - t0;
    int reps = one > 0 ? (int)(0.05 / one) : max_reps;
    if (reps < 2) reps = 2;
    if (reps > max_reps) reps = max_reps;
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        t0 = now();
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

/* y (M, N) = x (M, K) · wᵀ + b on the benchmark's buffers */
static mm_arg mm_views(vt_buffer *by, vt_buffer *bx, vt_buffer *bw, vt_buffer *bb, int M, int K, int N) {
    return (mm_arg){tview(by, 2, M, N, 0), tview(bx, 2, M, K, 0), tview(bw, 2, N, K, 0), tview(bb, 1, N, 0, 0)};
}

static void bench_matmul(int M, int K, int N) {
    vt_buffer *bx = buf_random((size_t)M * K, 1, 1.0f), *bw = buf_random((size_t)N * K, 2, 1.0f / sqrtf((float)K));
    vt_buffer *bb = buf_random((size_t)N, 3, 0.1f), *by[2] = {NULL, NULL};
    const size_t ny = (size_t)M * N;
    double ms[2] = {0, 0};
    const char *path[2];
    /* both rows are timed before either result is read back: reading a
     * mapped (ReBAR) output on the host is slow and stays out of the
     * timed sequence */
    for (int f16 = 0; f16 < 2; f16++) {
        if (!(path[f16] = precision(f16))) continue;
        if (be->iface->buffer_alloc(be, ny * sizeof(float), &by[f16])) die("alloc");
        mm_arg m = mm_views(by[f16], bx, bw, bb, M, K, N);
        ms[f16] = timed(run_mm, &m, 200);
    }
    /* the f16 row's result against the f32 row's (a fifth column, which
     * table.py ignores): a block variant forced by VITRAIL_VK_TILE that never
     * ran in CI (too much shared memory for lavapipe) is checked here */
    float *ref = malloc(ny * sizeof *ref), *got = malloc(ny * sizeof *got);
    if (!ref || !got) die("host memory");
    for (int f16 = 0; f16 < 2; f16++) {
        if (!by[f16]) continue;
        if (be->iface->download(be, by[f16], 0, f16 ? got : ref, ny * sizeof(float))) die("download");
        printf("matmul_%s_%dx%dx%d %.4f %.1f %s", f16 ? "f16" : "f32", M, K, N, ms[f16],
               2.0 * M * N * K / ms[f16] * 1e-6, path[f16]);
        if (f16) {
            double err = 0, norm = 0;
            for (size_t i = 0; i < ny; i++) err += ((double)got[i] - ref[i]) * ((double)got[i] - ref[i]), norm += (double)ref[i] * ref[i];
            printf(" nmse=%.2e", norm > 0 ? err / norm : err);
        }
        printf("\n");
        fflush(stdout);
    }
    if (getenv("VT_BENCH_RETIME") && by[1]) {
        precision(1);
        mm_arg m = mm_views(by[1], bx, bw, bb, M, K, N);
        double t = timed(run_mm, &m, 200);
        printf("# f16 again after the downloads: %.4f ms %.1f GF/s\n", t, 2.0 * M * N * K / t * 1e-6);
    }
    free(ref), free(got);
    be->iface->buffer_free(be, bx), be->iface->buffer_free(be, bw), be->iface->buffer_free(be, bb);
    for (int f16 = 0; f16 < 2; f16++)
        if (by[f16]) be->iface->buffer_free(be, by[f16]);
}

static void bench_attention(const char *name, int side, int kernel, int heads) {
    const int N = side * side, d = 64, C = heads * d;
    at_arg A;
    memset(&A, 0, sizeof A);
    vt_buffer *bq = buf_random((size_t)N * 3 * C, 4, 1.0f), *bo;
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
    const double keys = kernel ? (double)kernel * kernel : (double)N;
    double ms = timed(run_at, &A, 100);
    printf("%s_%dx%d %.4f %.1f f32\n", name, side, side, ms, 4.0 * N * keys * d * heads / ms * 1e-6);
    fflush(stdout);
    be->iface->buffer_free(be, bq), be->iface->buffer_free(be, bo);
}

typedef struct peak_arg {
    int mode;
    uint32_t groups;
    double flops;
} peak_arg;
#define PEAK_ITERS 4096
static int run_peak(void *a) {
    peak_arg *p = a;
    return vt_backend_vulkan_coop_peak(be, p->mode, PEAK_ITERS, p->groups, &p->flops);
}

/* 8 and 16 workgroups per multiprocessor of an H100 (132 of them), the GPU
 * these rows are for; with 16 accumulators per subgroup only a few workgroups
 * fit a multiprocessor at once, so either count is several full waves. */
static void bench_peak(void) {
    peak_arg probe = {0, 132 * 8, 0};
    int rc = run_peak(&probe);
    if (rc == VT_E_UNSUPPORTED) {
        printf("# coop peak: %s\n", vt_context_error(ctx));
        fflush(stdout);
        return;
    }
    if (rc) die("coop peak");
    gpu_sync();
    printf("# coop peak: per workgroup 4 subgroups x %d iterations of 16 MulAdds of 16x16x16 f16 -> f32 (m0, m1) "
           "or of a 32-deep slice, 32 MulAdds (m2-m4)\n", PEAK_ITERS);
    for (int mode = 0; mode < VT_VK_PEAK_MODES; mode++) {
        for (uint32_t groups = 132 * 8; groups <= 132 * 16; groups *= 2) {
            peak_arg p = {mode, groups, 0};
            double ms = timed(run_peak, &p, 50);
            printf("coop_peak_m%d_g%u %.4f %.1f coop-nv\n", mode, groups, ms, p.flops / ms * 1e-6);
            fflush(stdout);
        }
    }
}

typedef struct dit_arg { vt_dit *d; vt_dit_inputs in; float *out; } dit_arg;
static int run_dit(void *a) {
    dit_arg *da = a;
    return vt_dit_forward(da->d, &da->in, da->out);
}

/* DiT's blocks on `img`² latents (4 channels, patch 2): img 32 gives 256 tokens,
 * 64 gives 1024; frames > 0 makes a clip with the given attention per block.
 * Timed in f32 and in f16 on the same model (the f16 weight copies are made in
 * the warm-up). */
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
    fprintf(stderr, "vt-bench-gpu: %s: making a random model\n", name);
    const double t_make = now();
    char path[] = "/tmp/vt-bench-gpu-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) die("mkstemp");
    close(fd);
    if (vt_dit_write_random(ctx, cfg, 1, NULL, 0, path)) die("model");
    vt_st_file *f;
    dit_arg da;
    if (vt_st_open(ctx, path, &f) || vt_dit_create(ctx, be, f, &da.d)) die(name);
    fprintf(stderr, "vt-bench-gpu: %s: model made and uploaded in %.1f s\n", name, now() - t_make);
    const int T = frames ? frames : 1;
    size_t nx = (size_t)4 * T * img * img;
    float *x = malloc(nx * 4), t[1] = {500};
    int32_t y[1] = {207};
    da.out = malloc(nx * 2 * 4);
    if (!x || !da.out) die("host memory");
    vt_rng_normal(3, 0, 0, x, nx);
    memset(&da.in, 0, sizeof da.in);
    da.in.batch = 1;
    da.in.frames = T;
    da.in.height = img;
    da.in.width = img;
    da.in.x = x;
    da.in.t = t;
    da.in.y = y;
    const int N = T * (img / 2) * (img / 2);
    /* 24·N·D² for the linears of a block; attention's QKᵀ and PV: 4·N·keys·D */
    double keys = N;
    if (frames) keys = 0.5 * (img / 2) * (img / 2) + 0.5 * frames; /* spatial and temporal blocks alternate */
    const double flops = (double)depth * (24.0 * N * D * D + 4.0 * N * keys * D);
    for (int f16 = 0; f16 < 2; f16++) {
        const char *p = precision(f16);
        if (!p) continue;
        double ms = timed(run_dit, &da, 20);
        uint64_t c1, b1, c2, b2;
        vt_backend_vulkan_counters(be, &c1, &b1);
        if (run_dit(&da)) die("forward");
        vt_backend_vulkan_counters(be, &c2, &b2);
        printf("%s_%s %.4f %.1f %s\n", name, f16 ? "f16" : "f32", ms, flops / ms * 1e-6, p);
        printf("# %s_%s: %llu commands and %llu barriers per forward\n", name, f16 ? "f16" : "f32",
               (unsigned long long)(c2 - c1), (unsigned long long)(b2 - b1));
        fflush(stdout);
    }
    vt_dit_destroy(&da.d);
    vt_st_close(&f);
    unlink(path);
    free(x), free(da.out);
}

/* Whether `section` is named on the command line (peak runs only then). */
static int named(int argc, char **argv, const char *section) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], section) == 0) return 1;
    return 0;
}

/* Whether a section of the default run runs: named, or no section named. */
static int want(int argc, char **argv, const char *section) {
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-') return named(argc, argv, section);
    return 1;
}

int main(int argc, char **argv) {
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else if (strcmp(argv[i], "matmul") && strcmp(argv[i], "attn") && strcmp(argv[i], "dit") &&
                   strcmp(argv[i], "ditxl") && strcmp(argv[i], "peak")) {
            fprintf(stderr, "usage: vt-bench-gpu [--quick] [matmul] [attn] [dit] [ditxl] [peak]\n");
            return 2;
        }
    }
    vt_context_params p = vt_context_default_params();
    ctx = vt_context_create(&p);
    be = vt_backend_vulkan_create(ctx, -1);
    if (!be) die("no Vulkan device");
    have_f16 = vt_backend_vulkan_set_f16(be, 1) == VT_OK;
    printf("# device: %s\n", vt_backend_vulkan_device_name(be));
    printf("# f16 paths: %s; cooperative matrix: %s\n", have_f16 ? "available" : "none (no 16-bit storage)",
           vt_backend_vulkan_coop_status(be));
    if (have_f16) {
        for (int path = VT_VK_PATH_F16; path <= VT_VK_PATH_COOP; path++) {
            double e;
            if (vt_backend_vulkan_selfcheck(be, (vt_vk_path)path, &e) == VT_OK)
                printf("# self-check %s against f32: NMSE %.2e\n", vt_vk_path_name((vt_vk_path)path), e);
        }
    }
    fflush(stdout);
    if (want(argc, argv, "matmul")) {
        const int shapes[][3] = {{256, 384, 1536}, {256, 1152, 4608}, {1024, 1152, 4608}, {4096, 1152, 1152}, {8192, 1152, 4608}};
        for (int i = 0; i < (quick ? 1 : 5); i++) bench_matmul(shapes[i][0], shapes[i][1], shapes[i][2]);
    }
    if (want(argc, argv, "attn")) {
        for (int side = quick ? 32 : 64; side <= (quick ? 32 : 128); side *= 2) {
            bench_attention("attn_full_f32", side, 0, 8);
            bench_attention("attn_nbhd7_f32", side, 7, 8);
            bench_attention("attn_nbhd13_f32", side, 13, 8);
        }
    }
    if (want(argc, argv, "dit")) {
        bench_dit("dit_s2_256", 384, quick ? 2 : 12, 6, 32, 0, NULL);
        if (!quick) {
            bench_dit("dit_s2_1024", 384, 12, 6, 64, 0, NULL);
            /* a clip: 8 frames of 16x16 tokens, spatial and temporal blocks alternating */
            char attn[1024] = "";
            for (int i = 0; i < 12; i++) strcat(attn, i % 2 ? "\"temporal\"," : "\"spatial\",");
            attn[strlen(attn) - 1] = 0;
            bench_dit("dit_video_8x256", 384, 12, 6, 32, 8, attn);
        }
    }
    if (want(argc, argv, "ditxl") && !quick) {
        bench_dit("dit_xl2_256", 1152, 28, 16, 32, 0, NULL);
        bench_dit("dit_xl2_1024", 1152, 28, 16, 64, 0, NULL);
    }
    if (named(argc, argv, "peak")) bench_peak();
    vt_backend_destroy(&be);
    vt_context_destroy(&ctx);
    return 0;
}
