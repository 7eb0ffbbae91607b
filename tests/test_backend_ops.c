/* Check suite comparing every op of the Vulkan backend with the CPU backend on
 * the same inputs (ggml's test-backend-ops idea), on DiT shapes and odd sizes,
 * by normalised MSE = Σ(vk − cpu)² / Σcpu²: ≤ 1e-7 on the f32 path (the default
 * of this suite), ≤ 1e-6 with f16 weights (one operand rounded to 11 bits:
 * ~1e-8 to 1e-7 on these inputs), ≤ 1e-5 on the cooperative-matrix path (both
 * rounded; run where the device has it). Every GEMM block variant of each path
 * is forced in turn. CI runs it on lavapipe; a missing Vulkan device is a
 * failure, not a skip. With VITRAIL_VK_VALIDATION=1 the validation layer runs
 * (synchronization validation included, which catches a barrier wrongly
 * skipped) and any message it emits fails the test. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "context.h"
#include "rng.h"
#include "vt_check.h"
#include "vulkan/vk_backend.h"
#include "vulkan/vk_internal.h"

#define NMSE_MAX 1e-7
#define NMSE_F16 1e-6
#define NMSE_COOP 1e-5
#define PAD_BITS 0x7fc0deadu /* a NaN around every device tensor: reads of it poison outputs, writes to it show */
#define MAX_TENS 64

static vt_context *ctx;
static vt_backend *cpu, *gpu;
static int validation_lines;   /* validation messages seen through the log, destruction included */
static char validation_first[512];

static void log_sink(void *user, vt_log_level level, const char *msg) {
    (void)user;
    (void)level;
    if (strncmp(msg, "vulkan validation:", 18) == 0 && validation_lines++ == 0)
        snprintf(validation_first, sizeof validation_first, "%s", msg);
}

/* A tensor held twice: host memory for the CPU backend and a Vulkan buffer
 * with the same values, placed at an odd offset between NaN pads. */
typedef struct ten {
    size_t n, pre, post; /* floats of the tensor and of the pads before and after it */
    float *host;
    vt_tensor c;         /* the CPU view */
    vt_buffer *buf;
    vt_tensor g;         /* the Vulkan view */
} ten;

static ten *tens[MAX_TENS];
static int n_tens;

/* A Vulkan backend on the f32 path: the ops are compared at 1e-7 unless a test
 * switches a faster path on. */
static vt_backend *make_gpu(void) {
    vt_backend *g = vt_backend_vulkan_create(ctx, -1);
    ck_assert_msg(g != NULL,
                  "no Vulkan device: %s. This suite compares the Vulkan backend with the CPU backend and needs a Vulkan "
                  "device (on a machine without a GPU: apt-get install mesa-vulkan-drivers for lavapipe)",
                  vt_context_error(ctx));
    ck_assert_int_eq(vt_backend_vulkan_set_f16(g, 0), VT_OK);
    return g;
}

static void setup(void) {
    vt_context_params p = vt_context_default_params();
    p.n_threads = 2;
    p.log = log_sink;
    p.log_min = VT_LOG_WARN;
    ctx = vt_context_create(&p);
    ck_assert_ptr_nonnull(ctx);
    cpu = vt_backend_cpu_create(ctx);
    ck_assert_ptr_nonnull(cpu);
    gpu = make_gpu();
}

static void free_tens(void) {
    for (int i = 0; i < n_tens; i++) {
        if (gpu) gpu->iface->buffer_free(gpu, tens[i]->buf);
        free(tens[i]->host);
        free(tens[i]);
    }
    n_tens = 0;
}

static void teardown(void) {
    free_tens();
    vt_backend_destroy(&gpu);
    vt_backend_destroy(&cpu);
    vt_context_destroy(&ctx);
    ck_assert_msg(validation_lines == 0, "%d Vulkan validation message(s); the first: %s", validation_lines,
                  validation_first);
}

static void ok(int rc) { ck_assert_msg(rc == VT_OK, "%s: %s", vt_status_name(rc), vt_context_error(ctx)); }

/* Where mk() places the next device tensors: 0 at an odd offset (4..28 bytes,
 * not a multiple of the binding alignment: scalar loads), 1 at 16 bytes (the
 * shaders' vec4 paths). */
static int aligned_tens;

/* A tensor of standard normals × scale from `seed` (0: zeros). */
static ten *mk(int ndim, const int64_t *shape, uint64_t seed, float scale) {
    ck_assert_int_lt(n_tens, MAX_TENS);
    ten *t = calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    t->c = vt_tensor_make(VT_DTYPE_F32, NULL, ndim, shape);
    t->n = (size_t)vt_tensor_numel(&t->c);
    t->host = calloc(t->n ? t->n : 1, sizeof(float));
    ck_assert_ptr_nonnull(t->host);
    if (seed) {
        vt_rng_normal(seed, 0, 0, t->host, t->n);
        for (size_t i = 0; i < t->n; i++) t->host[i] *= scale;
    }
    t->c.data = t->host;
    t->pre = aligned_tens ? 4 : 1 + seed % 7; /* bytes 16, or 4..28: not multiples of the binding alignment */
    t->post = 5;
    const size_t total = t->pre + t->n + t->post;
    ok(gpu->iface->buffer_alloc(gpu, total * sizeof(float), &t->buf));
    float *init = malloc(total * sizeof(float));
    ck_assert_ptr_nonnull(init);
    const uint32_t pad = PAD_BITS;
    for (size_t i = 0; i < total; i++) memcpy(&init[i], &pad, 4);
    memcpy(init + t->pre, t->host, t->n * sizeof(float));
    ok(gpu->iface->upload(gpu, t->buf, 0, init, total * sizeof(float)));
    free(init);
    t->g = vt_tensor_make(VT_DTYPE_F32, NULL, ndim, shape);
    t->g.buf = t->buf;
    t->g.offset = t->pre * sizeof(float);
    tens[n_tens++] = t;
    return t;
}

static ten *mk1(int64_t a, uint64_t seed, float s) { return mk(1, (int64_t[]){a}, seed, s); }
static ten *mk2(int64_t a, int64_t b, uint64_t seed, float s) { return mk(2, (int64_t[]){a, b}, seed, s); }
static ten *mk3(int64_t a, int64_t b, int64_t c, uint64_t seed, float s) { return mk(3, (int64_t[]){a, b, c}, seed, s); }
static ten *mk4(int64_t a, int64_t b, int64_t c, int64_t d, uint64_t seed, float s) {
    return mk(4, (int64_t[]){a, b, c, d}, seed, s);
}
static ten *mk5(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, uint64_t seed, float s) {
    return mk(5, (int64_t[]){a, b, c, d, e}, seed, s);
}

#define C(t) ((t) ? &(t)->c : NULL)
#define G(t) ((t) ? &(t)->g : NULL)

/* Downloads t's Vulkan copy, checks the pads are intact and every value finite,
 * and returns Σ(vk − cpu)² / Σcpu² against the CPU copy. */
static double nmse(const ten *t) {
    const size_t total = t->pre + t->n + t->post;
    float *all = malloc(total * sizeof(float));
    ck_assert_ptr_nonnull(all);
    ok(gpu->iface->download(gpu, t->buf, 0, all, total * sizeof(float)));
    for (size_t i = 0; i < total; i++) {
        if (i >= t->pre && i < t->pre + t->n) continue;
        uint32_t bits;
        memcpy(&bits, &all[i], 4);
        ck_assert_msg(bits == PAD_BITS, "a write outside the tensor, %zu floats %s it", i < t->pre ? t->pre - i : i - t->pre - t->n + 1,
                      i < t->pre ? "before" : "after");
    }
    double num = 0, den = 0;
    const float *v = all + t->pre;
    for (size_t i = 0; i < t->n; i++) {
        ck_assert_msg(isfinite(v[i]) == isfinite(t->host[i]), "element %zu: vulkan %g, cpu %g", i, v[i], t->host[i]);
        if (!isfinite(t->host[i])) continue;
        double d = (double)v[i] - t->host[i];
        num += d * d;
        den += (double)t->host[i] * t->host[i];
    }
    free(all);
    return den > 0 ? num / den : num;
}

static double check_bound(const ten *t, const char *op, const char *what, double bound) {
    double e = nmse(t);
    printf("%-12s %-56s nmse %.2e\n", op, what, e);
    fflush(stdout);
    ck_assert_msg(e <= bound, "%s %s: nmse %.3g > %g", op, what, e, bound);
    return e;
}

static void check(const ten *t, const char *op, const char *what) { (void)check_bound(t, op, what, NMSE_MAX); }

static const char *act_name(vt_act a) {
    static const char *n[] = {"none", "gelu_tanh", "gelu_erf", "silu"};
    return n[a];
}

/* ---- linear and matmul ---- */

static void linear_case(int64_t B, int64_t M, int64_t K, int64_t N, int bias, vt_act act, uint64_t seed) {
    ten *x = B ? mk3(B, M, K, seed, 1.0f) : mk2(M, K, seed, 1.0f);
    ten *w = mk2(N, K, seed + 1, 1.0f / sqrtf((float)(K ? K : 1)));
    ten *b = bias ? mk1(N, seed + 2, 0.5f) : NULL;
    ten *y = B ? mk3(B, M, N, seed + 3, 1.0f) : mk2(M, N, seed + 3, 1.0f);
    ok(cpu->iface->linear(cpu, &y->c, &x->c, &w->c, C(b), act));
    ok(gpu->iface->linear(gpu, &y->g, &x->g, &w->g, G(b), act));
    char what[96];
    snprintf(what, sizeof what, "x (%lld,%lld,%lld) N %lld %s %s", (long long)B, (long long)M, (long long)K, (long long)N,
             bias ? "bias" : "no bias", act_name(act));
    check(y, "linear", what);
}

START_TEST(linear_epilogues) {
    for (vt_act a = VT_ACT_NONE; a <= VT_ACT_SILU; a++) {
        linear_case(0, 256, 128, 384, 1, a, 10 + a);  /* tokens × width → qkv */
        linear_case(0, 37, 29, 53, a & 1, a, 20 + a); /* odd */
    }
    linear_case(2, 64, 96, 128, 1, VT_ACT_GELU_TANH, 30); /* 3-d x */
    linear_case(0, 2, 128, 768, 1, VT_ACT_NONE, 31);      /* adaLN: few rows, many outputs */
    linear_case(0, 256, 512, 64, 0, VT_ACT_NONE, 32);     /* long K */
    linear_case(0, 5, 0, 7, 1, VT_ACT_SILU, 33);          /* K = 0: act(bias) */
}
END_TEST

START_TEST(matmul_transposes) {
    const int64_t shapes[][4] = {{3, 37, 29, 53}, {8, 64, 64, 64}, {2, 1, 70, 5}};
    for (int s = 0; s < 3; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                const int64_t bt = shapes[s][0], M = shapes[s][1], K = shapes[s][2], N = shapes[s][3];
                uint64_t seed = 100 + s * 10 + ta * 2 + tb;
                ten *a = ta ? mk3(bt, K, M, seed, 1.0f) : mk3(bt, M, K, seed, 1.0f);
                ten *b = tb ? mk3(bt, N, K, seed + 1, 1.0f) : mk3(bt, K, N, seed + 1, 1.0f);
                ten *c = mk3(bt, M, N, seed + 2, 1.0f);
                float alpha = s == 1 ? 0.125f : 1.0f;
                ok(cpu->iface->matmul_batched(cpu, &c->c, &a->c, ta, &b->c, tb, alpha));
                ok(gpu->iface->matmul_batched(gpu, &c->g, &a->g, ta, &b->g, tb, alpha));
                char what[96];
                snprintf(what, sizeof what, "(%lld, %lld x %lld x %lld)%s%s", (long long)bt, (long long)M, (long long)K,
                         (long long)N, ta ? " aT" : "", tb ? " bT" : "");
                check(c, "matmul", what);
            }
}
END_TEST

/* ---- the matrix paths (F32, F16 weights, COOP) and their block variants ---- */

static double path_bound(vt_vk_path p) { return p == VT_VK_PATH_F32 ? NMSE_MAX : p == VT_VK_PATH_F16 ? NMSE_F16 : NMSE_COOP; }

/* Puts gpu on `path`; 0 (and back on F32) when the device lacks it. */
static int use_path(vt_vk_path path) {
    if (vt_backend_vulkan_set_f16(gpu, path != VT_VK_PATH_F32) != VT_OK ||
        vt_backend_vulkan_set_coop(gpu, path == VT_VK_PATH_COOP) != VT_OK) {
        ok(vt_backend_vulkan_set_f16(gpu, 0));
        return 0;
    }
    ck_assert_int_eq(vt_backend_vulkan_linear_path(gpu), path);
    return 1;
}

static const char *tile_name(int tile) {
    return (const char *[]){"auto", "128x128", "64x64", "32x64", "128x128/8", "128x64"}[tile + 1];
}

static void linear_path_case(vt_vk_path path, int tile, int64_t M, int64_t K, int64_t N, vt_act act, int aligned,
                             uint64_t seed) {
    aligned_tens = aligned;
    ten *x = mk2(M, K, seed, 1.0f), *w = mk2(N, K, seed + 1, 1.0f / sqrtf((float)K)), *b = mk1(N, seed + 2, 0.5f);
    ten *y = mk2(M, N, seed + 3, 1.0f);
    aligned_tens = 0;
    ok(cpu->iface->linear(cpu, &y->c, &x->c, &w->c, &b->c, act));
    ok(gpu->iface->linear(gpu, &y->g, &x->g, &w->g, &b->g, act));
    char what[128];
    char tile_s[24];  /* COOP numbers its own variants (VT_VK_COOP_TILES) */
    if (path == VT_VK_PATH_COOP && tile >= 0) snprintf(tile_s, sizeof tile_s, "variant %d", tile);
    else snprintf(tile_s, sizeof tile_s, "%s", tile_name(tile));
    snprintf(what, sizeof what, "%s %s (%lld,%lld) N %lld %s %s", vt_vk_path_name(path), tile_s, (long long)M,
             (long long)K, (long long)N, act_name(act), aligned ? "aligned" : "odd offsets");
    check_bound(y, "linear", what, path_bound(path));
    free_tens();
}

START_TEST(linear_paths) {
    /* vec4-friendly, odd (scalar loads), K % 8 == 0 with partial slices and
     * blocks (COOP's edges), and few rows (gemv) */
    const int64_t shapes[][3] = {{256, 128, 384}, {37, 29, 53}, {150, 200, 136}, {2, 128, 768}, {5, 29, 53}, {8, 64, 72}};
    const vt_vk_path paths[3] = {VT_VK_PATH_F32, VT_VK_PATH_F16, VT_VK_PATH_COOP};
    for (int pi = 0; pi < 3; pi++) {
        if (!use_path(paths[pi])) {
            printf("linear: no %s path on %s (%s)\n", vt_vk_path_name(paths[pi]), vt_backend_vulkan_device_name(gpu),
                   paths[pi] == VT_VK_PATH_COOP ? vt_backend_vulkan_coop_status(gpu) : "no 16-bit storage");
            continue;
        }
        const int last_tile = paths[pi] == VT_VK_PATH_COOP ? 1 : VT_VK_GEMM_TILES - 1;
        for (int tile = -1; tile <= last_tile; tile++) {
            vt_backend_vulkan_force_tile(gpu, tile);
            for (int s = 0; s < 6; s++)
                for (int al = 0; al < 2; al++)
                    linear_path_case(paths[pi], tile, shapes[s][0], shapes[s][1], shapes[s][2],
                                     (vt_act)((s + al) % 4), al, 1000 + 10 * s + al);
        }
    }
    vt_backend_vulkan_force_tile(gpu, -1);
    ck_assert_int_eq(use_path(VT_VK_PATH_F32), 1);
}
END_TEST

START_TEST(coop_shader_emulated) {
    /* gemm_coop.comp with its fragment operations in plain GLSL: the staging
     * of x (rounded to f16) and of the f16 weights, every emulated variant, partial
     * blocks and slices, and the epilogue, on any device */
    if (vt_backend_vulkan_coop_emulate(gpu, 1) != VT_OK) {
        printf("coop emulation: %s has no 16-bit storage\n", vt_backend_vulkan_device_name(gpu));
        return;
    }
    ck_assert_int_eq(use_path(VT_VK_PATH_COOP), 1);
    double e = -1;
    ok(vt_backend_vulkan_selfcheck(gpu, VT_VK_PATH_COOP, &e));
    printf("self-check coop (emulated fragments): nmse %.2e\n", e);
    ck_assert_msg(e > 0 && e <= NMSE_COOP, "emulated COOP self-check nmse %g", e);
    /* (K = 24: one slice, shorter than any variant's depth) */
    const int64_t shapes[][3] = {{256, 128, 384}, {150, 200, 136}, {9, 8, 17}, {130, 64, 200}, {40, 24, 24}};
    int n_run = 0;
    for (int tile = -1; tile < VT_VK_COOP_TILES; tile++) {
        if (tile >= 0 && !vt_backend_vulkan_coop_tile_usable(gpu, tile)) continue;
        n_run += tile >= 0;
        vt_backend_vulkan_force_tile(gpu, tile);
        for (int s = 0; s < 5; s++)
            linear_path_case(VT_VK_PATH_COOP, tile, shapes[s][0], shapes[s][1], shapes[s][2], (vt_act)(s % 4), 1,
                             1100 + 10 * s);
    }
    vt_backend_vulkan_force_tile(gpu, -1);
    /* the variants with an emulated build: both shipped blocks, two stages,
     * 64-deep slices, 4x4 fragment grids, x rounded to f16 by a pre-pass, and
     * fragments loaded from x16 and w16 without staging (shaders/meson.build;
     * of the shapes only M 256, K 128, N 384 is whole 64x64 blocks with K % 32 == 0;
     * the others take the default variant there) */
    ck_assert_int_eq(n_run, 7);
    /* shapes the shader does not take fall back: odd K, unaligned x */
    linear_path_case(VT_VK_PATH_COOP, -1, 37, 29, 53, VT_ACT_SILU, 1, 1150);
    linear_path_case(VT_VK_PATH_COOP, -1, 64, 64, 64, VT_ACT_NONE, 0, 1151);
    ok(vt_backend_vulkan_coop_emulate(gpu, 0));
    ck_assert_int_eq(use_path(VT_VK_PATH_F32), 1);
}
END_TEST

START_TEST(matmul_blocks) {
    /* every block variant, at odd offsets and aligned (vec4 loads per layout) */
    const int64_t shapes[][4] = {{2, 37, 29, 53}, {3, 64, 64, 64}, {1, 130, 36, 72}};
    for (int tile = 0; tile < VT_VK_GEMM_TILES; tile++) {
        vt_backend_vulkan_force_tile(gpu, tile);
        for (int s = 0; s < 3; s++)
            for (int al = 0; al < 2; al++)
                for (int t = 0; t < 4; t++) {
                    const int ta = t & 1, tb = t >> 1;
                    const int64_t bt = shapes[s][0], M = shapes[s][1], K = shapes[s][2], N = shapes[s][3];
                    const uint64_t seed = 1200 + s * 10 + t;
                    aligned_tens = al;
                    ten *a = ta ? mk3(bt, K, M, seed, 1.0f) : mk3(bt, M, K, seed, 1.0f);
                    ten *b = tb ? mk3(bt, N, K, seed + 1, 1.0f) : mk3(bt, K, N, seed + 1, 1.0f);
                    ten *c = mk3(bt, M, N, seed + 2, 1.0f);
                    aligned_tens = 0;
                    ok(cpu->iface->matmul_batched(cpu, &c->c, &a->c, ta, &b->c, tb, 0.5f));
                    ok(gpu->iface->matmul_batched(gpu, &c->g, &a->g, ta, &b->g, tb, 0.5f));
                    char what[96];
                    snprintf(what, sizeof what, "%s (%lld, %lld x %lld x %lld)%s%s %s", tile_name(tile), (long long)bt,
                             (long long)M, (long long)K, (long long)N, ta ? " aT" : "", tb ? " bT" : "",
                             al ? "aligned" : "odd offsets");
                    check(c, "matmul", what);
                    free_tens();
                }
    }
    vt_backend_vulkan_force_tile(gpu, -1);
}
END_TEST

START_TEST(f16_weights) {
    if (!use_path(VT_VK_PATH_F16)) {
        printf("f16 weights: %s has no 16-bit storage\n", vt_backend_vulkan_device_name(gpu));
        return;
    }
    aligned_tens = 1;
    ten *x = mk2(64, 96, 1300, 1.0f), *w = mk2(80, 96, 1301, 0.1f), *y = mk2(64, 80, 1302, 1.0f);
    ten *w2 = mk2(80, 96, 1303, 1.0f);
    aligned_tens = 0;
    /* the f16 copy is what runs: near the f32 result, not equal to it */
    ok(cpu->iface->linear(cpu, &y->c, &x->c, &w->c, NULL, VT_ACT_NONE));
    ok(gpu->iface->linear(gpu, &y->g, &x->g, &w->g, NULL, VT_ACT_NONE));
    double e = check_bound(y, "linear", "f16 weights", NMSE_F16);
    ck_assert_msg(e > 1e-12, "nmse %.3g: the f16 weights were not used", e);
    /* an upload to the weight buffer reaches the copy (with an op still queued
     * that read the old weights: ordering and the copy's refresh together) */
    ten *y0 = mk2(64, 80, 1304, 1.0f);
    ok(gpu->iface->linear(gpu, &y0->g, &x->g, &w->g, NULL, VT_ACT_NONE));
    ok(cpu->iface->linear(cpu, &y0->c, &x->c, &w->c, NULL, VT_ACT_NONE));
    for (size_t i = 0; i < w->n; i++) w->host[i] = -0.5f * w->host[i] + 0.01f;
    ok(gpu->iface->upload(gpu, w->buf, w->g.offset, w->host, w->n * sizeof(float)));
    ok(cpu->iface->linear(cpu, &y->c, &x->c, &w->c, NULL, VT_ACT_NONE));
    ok(gpu->iface->linear(gpu, &y->g, &x->g, &w->g, NULL, VT_ACT_NONE));
    check_bound(y0, "linear", "f16 weights, queued before an upload", NMSE_F16);
    check_bound(y, "linear", "f16 weights after an upload to them", NMSE_F16);
    /* a matrix an op wrote is an activation, not a weight: read as f32 */
    ok(cpu->iface->scale(cpu, &w2->c, &w2->c, 0.1f));
    ok(gpu->iface->scale(gpu, &w2->g, &w2->g, 0.1f));
    ok(cpu->iface->linear(cpu, &y->c, &x->c, &w2->c, NULL, VT_ACT_NONE));
    ok(gpu->iface->linear(gpu, &y->g, &x->g, &w2->g, NULL, VT_ACT_NONE));
    check_bound(y, "linear", "w written by an op: read as f32", 1e-12);
    ck_assert_int_eq(use_path(VT_VK_PATH_F32), 1);
}
END_TEST

START_TEST(memory_plan) {
    /* where buffers live, on made-up devices: a discrete GPU with all of its
     * VRAM mappable (resizable BAR), one with a 256 MiB window, an integrated
     * GPU whose one heap is the host's, and a CPU driver */
    const VkMemoryPropertyFlags dl = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
                                hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                hc = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
    VkPhysicalDeviceMemoryProperties rebar = {0}, window = {0}, shared = {0};
    rebar.memoryHeapCount = 2;
    rebar.memoryHeaps[0] = (VkMemoryHeap){80ull << 30, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT};
    rebar.memoryHeaps[1] = (VkMemoryHeap){64ull << 30, 0};
    rebar.memoryTypeCount = 3;
    rebar.memoryTypes[0] = (VkMemoryType){dl, 0};
    rebar.memoryTypes[1] = (VkMemoryType){hv | hc, 1};
    rebar.memoryTypes[2] = (VkMemoryType){dl | hv, 0};
    window = rebar;
    window.memoryHeapCount = 3;
    window.memoryHeaps[2] = (VkMemoryHeap){256ull << 20, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT};
    window.memoryTypes[2] = (VkMemoryType){dl | hv, 2};
    shared.memoryHeapCount = 1;
    shared.memoryHeaps[0] = (VkMemoryHeap){16ull << 30, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT};
    shared.memoryTypeCount = 2;
    shared.memoryTypes[0] = (VkMemoryType){dl, 0};
    shared.memoryTypes[1] = (VkMemoryType){dl | hv | hc, 0};
    const VkPhysicalDeviceType dis = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
    struct {
        const VkPhysicalDeviceMemoryProperties *mp;
        VkPhysicalDeviceType type;
        const char *env;
        uint32_t device;
        int mapped;
    } cases[] = {
        {&rebar, dis, NULL, 0, 0},  /* VRAM unmapped, staging copies, even with all of it mappable */
        {&rebar, dis, "", 0, 0},
        {&rebar, dis, "0", 2, 1},   /* mapped only when asked */
        {&rebar, dis, "1", 0, 0},
        {&window, dis, "0", 0, 0},  /* a 256 MiB window is never where buffers go */
        {&shared, VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU, NULL, 1, 1},
        {&shared, VK_PHYSICAL_DEVICE_TYPE_CPU, NULL, 1, 1},
        {&shared, VK_PHYSICAL_DEVICE_TYPE_CPU, "1", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vt_vk_memory m = {99, 99, -1};
        ck_assert_int_eq(vt_vk_memory_plan(cases[i].mp, cases[i].type, cases[i].env, &m), VT_OK);
        ck_assert_msg(m.device == cases[i].device && m.mapped == cases[i].mapped, "case %zu: type %u mapped %d", i,
                      m.device, m.mapped);
        /* staging: host-visible, cached where there is such a type */
        ck_assert_uint_eq(m.staging, 1);
    }
    VkPhysicalDeviceMemoryProperties none = rebar;
    none.memoryTypeCount = 1; /* device-local only: nothing to stage through */
    vt_vk_memory m;
    ck_assert_int_eq(vt_vk_memory_plan(&none, dis, NULL, &m), VT_E_DEVICE);
}
END_TEST

START_TEST(path_selection) {
    /* the rule, on made-up devices */
    const vt_vk_coop_caps good = {.extension = 1, .feature = 1, .shape_16x16x16 = 1, .float16 = 1, .storage16 = 1,
                                  .memory_model = 1, .subgroup_size = 32, .shared_bytes = 49152, .shader_built = 1};
    char why[192];
    ck_assert_int_eq(vt_vk_coop_decide(&good, why, sizeof why), 1);
    struct {
        vt_vk_coop_caps c;
        const char *says;
    } bad[9];
    for (int i = 0; i < 9; i++) bad[i].c = good;
    bad[0].c.shader_built = 0, bad[0].says = "glslc";
    bad[1].c.extension = 0, bad[1].says = "VK_NV_cooperative_matrix";
    bad[2].c.feature = 0, bad[2].says = "cooperativeMatrix feature";
    bad[3].c.shape_16x16x16 = 0, bad[3].says = "16x16x16";
    bad[4].c.float16 = 0, bad[4].says = "shaderFloat16";
    bad[5].c.storage16 = 0, bad[5].says = "16-bit storage";
    bad[6].c.memory_model = 0, bad[6].says = "memory model";
    bad[7].c.subgroup_size = 64, bad[7].says = "subgroups of 64";
    bad[8].c.shared_bytes = 16384, bad[8].says = "shared memory";
    for (int i = 0; i < 9; i++) {
        ck_assert_int_eq(vt_vk_coop_decide(&bad[i].c, why, sizeof why), 0);
        ck_assert_msg(strstr(why, bad[i].says), "case %d: \"%s\" does not say %s", i, why, bad[i].says);
    }
    /* this device: the portable paths check out; COOP either passed its
     * self-check or is refused with the reason */
    double e = -1;
    ok(vt_backend_vulkan_selfcheck(gpu, VT_VK_PATH_F32, &e));
    ck_assert_msg(e <= 1e-12, "F32 blocks disagree: %g", e);
    const int has16 = vt_backend_vulkan_set_f16(gpu, 1) == VT_OK;
    if (has16) {
        ok(vt_backend_vulkan_selfcheck(gpu, VT_VK_PATH_F16, &e));
        printf("self-check f16-weights: nmse %.2e\n", e);
        ck_assert_msg(e > 0 && e <= NMSE_F16, "F16 self-check nmse %g", e);
    }
    const char *st = vt_backend_vulkan_coop_status(gpu);
    printf("cooperative matrix on %s: %s\n", vt_backend_vulkan_device_name(gpu), st);
    int rc = vt_backend_vulkan_set_coop(gpu, 1);
    if (rc == VT_OK) {
        ck_assert_int_eq(vt_backend_vulkan_linear_path(gpu), has16 ? VT_VK_PATH_COOP : VT_VK_PATH_F32);
        ok(vt_backend_vulkan_selfcheck(gpu, VT_VK_PATH_COOP, &e));
        ck_assert_msg(e <= NMSE_COOP, "COOP self-check nmse %g", e);
    } else {
        ck_assert_int_eq(rc, VT_E_UNSUPPORTED);
        ck_assert_msg(strstr(vt_context_error(ctx), st), "%s", vt_context_error(ctx));
        ck_assert_int_eq(vt_backend_vulkan_selfcheck(gpu, VT_VK_PATH_COOP, &e), VT_E_UNSUPPORTED);
        ck_assert_int_ne(vt_backend_vulkan_linear_path(gpu), VT_VK_PATH_COOP);
    }
    ok(vt_backend_vulkan_set_f16(gpu, 0));
    ck_assert_int_eq(vt_backend_vulkan_linear_path(gpu), VT_VK_PATH_F32);
    /* the environment at creation: defaults, and each path turned off */
    vt_backend *b = vt_backend_vulkan_create(ctx, -1);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(vt_backend_vulkan_linear_path(b), !has16 ? VT_VK_PATH_F32 : rc == VT_OK ? VT_VK_PATH_COOP : VT_VK_PATH_F16);
    vt_backend_destroy(&b);
    setenv("VITRAIL_VK_COOP", "0", 1);
    b = vt_backend_vulkan_create(ctx, -1);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(vt_backend_vulkan_linear_path(b), has16 ? VT_VK_PATH_F16 : VT_VK_PATH_F32);
    vt_backend_destroy(&b);
    setenv("VITRAIL_VK_F16", "0", 1);
    b = vt_backend_vulkan_create(ctx, -1);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(vt_backend_vulkan_linear_path(b), VT_VK_PATH_F32);
    vt_backend_destroy(&b);
    unsetenv("VITRAIL_VK_COOP");
    unsetenv("VITRAIL_VK_F16");
}
END_TEST

/* Rows [r0, r0 + rows) of a 2-d tensor, on the CPU (g = 0) or Vulkan side. */
static vt_tensor rows_of(const ten *t, int g, int64_t r0, int64_t rows) {
    vt_tensor v = g ? t->g : t->c;
    const size_t skip = (size_t)(r0 * v.shape[1]);
    v.shape[0] = rows;
    if (g) v.offset += skip * sizeof(float);
    else v.data = (float *)v.data + skip;
    return v;
}

START_TEST(barriers_where_needed) {
    /* the six adaLN products of a block read one vector and write disjoint
     * ones: no barrier between them; a product of their output gets one (read
     * after write), and so does an op overwriting what was just read */
    ten *x = mk2(2, 96, 1400, 1.0f), *w = mk2(6 * 64, 96, 1401, 0.1f), *y = mk2(6 * 2, 64, 1402, 1.0f);
    ten *w2 = mk2(32, 64, 1403, 0.1f), *z = mk2(2, 32, 1404, 1.0f);
    ok(gpu->iface->synchronize(gpu));
    uint64_t c0, b0, c1, b1, c2, b2, c3, b3;
    vt_backend_vulkan_counters(gpu, &c0, &b0);
    for (int g = 0; g < 2; g++) {
        vt_backend *be = g ? gpu : cpu;
        for (int j = 0; j < 6; j++) {
            vt_tensor wj = rows_of(w, g, 64 * j, 64), yj = rows_of(y, g, 2 * j, 2);
            ok(be->iface->linear(be, &yj, g ? &x->g : &x->c, &wj, NULL, VT_ACT_NONE));
        }
        if (g) vt_backend_vulkan_counters(gpu, &c1, &b1);
        vt_tensor y0 = rows_of(y, g, 0, 2);
        ok(be->iface->linear(be, g ? &z->g : &z->c, &y0, g ? &w2->g : &w2->c, NULL, VT_ACT_NONE));
        if (g) vt_backend_vulkan_counters(gpu, &c2, &b2);
        ok(be->iface->scale(be, &y0, &y0, 2.0f));
        if (g) vt_backend_vulkan_counters(gpu, &c3, &b3);
    }
    printf("barriers: %llu for 6 independent products, %llu before a dependent one, %llu before a write after read\n",
           (unsigned long long)(b1 - b0), (unsigned long long)(b2 - b1), (unsigned long long)(b3 - b2));
    ck_assert_msg(c1 - c0 == 6 && b1 == b0, "%llu commands, %llu barriers among independent products",
                  (unsigned long long)(c1 - c0), (unsigned long long)(b1 - b0));
    ck_assert_int_eq(b2 - b1, 1);
    ck_assert_int_eq(b3 - b2, 1);
    check(y, "linear", "six independent products, then y0 *= 2");
    check(z, "linear", "a product of one of them");
}
END_TEST

/* ---- rows: norms, modulate, gated add, softmax ---- */

START_TEST(norms) {
    const int64_t shapes[][3] = {{2, 64, 128}, {3, 37, 53}, {1, 5, 1152}};
    for (int s = 0; s < 3; s++)
        for (int mode = 0; mode < 4; mode++) { /* affine w+b, none, w only, offset rows */
            const int64_t *sh = shapes[s];
            uint64_t seed = 200 + s * 10 + mode;
            ten *x = mk3(sh[0], sh[1], sh[2], seed, mode == 3 ? 0.1f : 1.0f);
            if (mode == 3) {
                /* rows with a large offset: catches a one-pass variance */
                for (size_t i = 0; i < x->n; i++) x->host[i] += 100.0f;
                ok(gpu->iface->upload(gpu, x->buf, x->g.offset, x->host, x->n * sizeof(float)));
            }
            ten *w = mode == 1 ? NULL : mk1(sh[2], seed + 1, 1.0f);
            ten *b = mode == 0 || mode == 3 ? mk1(sh[2], seed + 2, 1.0f) : NULL;
            ten *y = mk3(sh[0], sh[1], sh[2], seed + 3, 1.0f);
            ok(cpu->iface->layernorm(cpu, &y->c, &x->c, C(w), C(b), 1e-6f));
            ok(gpu->iface->layernorm(gpu, &y->g, &x->g, G(w), G(b), 1e-6f));
            char what[96];
            snprintf(what, sizeof what, "(%lld,%lld,%lld) %s", (long long)sh[0], (long long)sh[1], (long long)sh[2],
                     (const char *[]){"affine", "no affine", "weight only", "offset 100"}[mode]);
            check(y, "layernorm", what);
            ten *z = mk3(sh[0], sh[1], sh[2], seed + 4, 1.0f);
            ok(cpu->iface->rmsnorm(cpu, &z->c, &x->c, C(w), 1e-6f));
            ok(gpu->iface->rmsnorm(gpu, &z->g, &x->g, G(w), 1e-6f));
            check(z, "rmsnorm", what);
        }
    /* in place */
    ten *x = mk2(7, 300, 250, 1.0f);
    ok(cpu->iface->layernorm(cpu, &x->c, &x->c, NULL, NULL, 1e-5f));
    ok(gpu->iface->layernorm(gpu, &x->g, &x->g, NULL, NULL, 1e-5f));
    check(x, "layernorm", "(7,300) in place");
}
END_TEST

START_TEST(modulate_gated_add) {
    const int64_t shapes[][3] = {{2, 256, 128}, {3, 37, 53}};
    for (int s = 0; s < 2; s++) {
        const int64_t B = shapes[s][0], N = shapes[s][1], D = shapes[s][2];
        uint64_t seed = 300 + s * 10;
        ten *x = mk3(B, N, D, seed, 1.0f), *shift = mk2(B, D, seed + 1, 1.0f), *scale = mk2(B, D, seed + 2, 0.5f);
        ten *y = mk3(B, N, D, seed + 3, 1.0f);
        ok(cpu->iface->modulate(cpu, &y->c, &x->c, &shift->c, &scale->c));
        ok(gpu->iface->modulate(gpu, &y->g, &x->g, &shift->g, &scale->g));
        char what[64];
        snprintf(what, sizeof what, "(%lld,%lld,%lld)", (long long)B, (long long)N, (long long)D);
        check(y, "modulate", what);
        ten *acc = mk3(B, N, D, seed + 4, 1.0f), *gate = mk2(B, D, seed + 5, 1.0f);
        ok(cpu->iface->gated_add(cpu, &acc->c, &y->c, &gate->c));
        ok(gpu->iface->gated_add(gpu, &acc->g, &y->g, &gate->g));
        check(acc, "gated_add", what);
    }
}
END_TEST

START_TEST(softmax_rows) {
    const int64_t shapes[][2] = {{64, 256}, {37, 53}, {3, 1000}, {4, 1}};
    for (int s = 0; s < 4; s++) {
        ten *x = mk2(shapes[s][0], shapes[s][1], 400 + s, 4.0f);
        ten *y = mk2(shapes[s][0], shapes[s][1], 410 + s, 1.0f);
        ok(cpu->iface->softmax(cpu, &y->c, &x->c));
        ok(gpu->iface->softmax(gpu, &y->g, &x->g));
        char what[64];
        snprintf(what, sizeof what, "(%lld,%lld)", (long long)shapes[s][0], (long long)shapes[s][1]);
        check(y, "softmax", what);
    }
    /* masked entries (-inf) and a fully masked row (zeros), large logits */
    ten *x = mk2(5, 77, 420, 30.0f), *y = mk2(5, 77, 421, 1.0f);
    for (int j = 0; j < 77; j++) {
        x->host[0 * 77 + j] = -INFINITY;
        if (j % 3 == 0) x->host[1 * 77 + j] = -INFINITY;
        if (j != 40) x->host[2 * 77 + j] = -INFINITY;
    }
    ok(gpu->iface->upload(gpu, x->buf, x->g.offset, x->host, x->n * sizeof(float)));
    ok(cpu->iface->softmax(cpu, &y->c, &x->c));
    ok(gpu->iface->softmax(gpu, &y->g, &x->g));
    check(y, "softmax", "(5,77) with -inf entries and rows");
}
END_TEST

/* ---- elementwise ---- */

START_TEST(elementwise) {
    for (vt_act a = VT_ACT_NONE; a <= VT_ACT_SILU; a++) {
        ten *x = mk3(37, 29, 53, 500 + a, 3.0f), *y = mk3(37, 29, 53, 510 + a, 1.0f);
        ok(cpu->iface->activation(cpu, &y->c, &x->c, a));
        ok(gpu->iface->activation(gpu, &y->g, &x->g, a));
        char what[64];
        snprintf(what, sizeof what, "(37,29,53) x 3 %s", act_name(a));
        check(y, "activation", what);
        ok(cpu->iface->activation(cpu, &x->c, &x->c, a)); /* in place */
        ok(gpu->iface->activation(gpu, &x->g, &x->g, a));
        snprintf(what, sizeof what, "(37,29,53) x 3 %s in place", act_name(a));
        check(x, "activation", what);
    }
    /* extremes: saturation of the GELU and SiLU formulas */
    ten *e = mk1(8, 520, 1.0f), *ey = mk1(8, 521, 1.0f);
    const float ext[8] = {-80.f, -30.f, -9.f, -1e-3f, 0.f, 1e-3f, 9.f, 80.f};
    memcpy(e->host, ext, sizeof ext);
    ok(gpu->iface->upload(gpu, e->buf, e->g.offset, ext, sizeof ext));
    for (vt_act a = VT_ACT_GELU_TANH; a <= VT_ACT_SILU; a++) {
        ok(cpu->iface->activation(cpu, &ey->c, &e->c, a));
        ok(gpu->iface->activation(gpu, &ey->g, &e->g, a));
        char what[64];
        snprintf(what, sizeof what, "extremes +-80 %s", act_name(a));
        check(ey, "activation", what);
    }

    const int64_t bshapes[][3] = {{1, 1, 53}, {1, 29, 53}, {37, 29, 53}};
    for (int s = 0; s < 3; s++)
        for (int op = 0; op < 2; op++) {
            ten *a = mk3(37, 29, 53, 530 + s, 1.0f), *y = mk3(37, 29, 53, 540 + s, 1.0f);
            int nd = s == 0 ? 1 : (s == 1 ? 2 : 3);
            ten *b = mk(nd, bshapes[s] + 3 - nd, 550 + s, 1.0f);
            ok(cpu->iface->binary(cpu, &y->c, &a->c, &b->c, (vt_binop)op));
            ok(gpu->iface->binary(gpu, &y->g, &a->g, &b->g, (vt_binop)op));
            char what[64];
            snprintf(what, sizeof what, "(37,29,53) %s b of %d dims", op ? "mul" : "add", nd);
            check(y, "binary", what);
        }
    ten *x = mk2(129, 65, 560, 1.0f), *y = mk2(129, 65, 561, 1.0f);
    ok(cpu->iface->scale(cpu, &y->c, &x->c, -0.37f));
    ok(gpu->iface->scale(gpu, &y->g, &x->g, -0.37f));
    check(y, "scale", "(129,65) by -0.37");
}
END_TEST

/* ---- layout ---- */

START_TEST(patch_layouts) {
    /* (B, C, T, H, W), p, pt; T = 0 marks an image */
    const int cases[][7] = {{2, 4, 0, 16, 16, 2, 1}, {1, 3, 0, 12, 20, 4, 1}, {2, 4, 4, 8, 8, 2, 2},
                            {1, 3, 6, 6, 10, 2, 3},  {1, 5, 3, 7, 7, 7, 1}};
    for (int c = 0; c < 5; c++)
        for (int order = 0; order < 2; order++) {
            const int *k = cases[c];
            const int T = k[2] ? k[2] : 1, p = k[5], pt = k[6];
            const int64_t ntok = (int64_t)(T / pt) * (k[3] / p) * (k[4] / p), F = (int64_t)k[1] * pt * p * p;
            uint64_t seed = 600 + c * 10 + order;
            ten *x = k[2] ? mk5(k[0], k[1], k[2], k[3], k[4], seed, 1.0f) : mk4(k[0], k[1], k[3], k[4], seed, 1.0f);
            ten *tok = mk3(k[0], ntok, F, seed + 1, 1.0f);
            ok(cpu->iface->patchify(cpu, &tok->c, &x->c, p, pt, (vt_patch_order)order));
            ok(gpu->iface->patchify(gpu, &tok->g, &x->g, p, pt, (vt_patch_order)order));
            char what[96];
            snprintf(what, sizeof what, "(%d,%d,%d,%d,%d) p %d pt %d %s", k[0], k[1], T, k[3], k[4], p, pt,
                     order ? "PQC" : "CPQ");
            check(tok, "patchify", what);
            ten *tin = mk3(k[0], ntok, F, seed + 2, 1.0f);
            ten *y = k[2] ? mk5(k[0], k[1], k[2], k[3], k[4], seed + 3, 1.0f) : mk4(k[0], k[1], k[3], k[4], seed + 3, 1.0f);
            ok(cpu->iface->unpatchify(cpu, &y->c, &tin->c, p, pt, (vt_patch_order)order));
            ok(gpu->iface->unpatchify(gpu, &y->g, &tin->g, p, pt, (vt_patch_order)order));
            check(y, "unpatchify", what);
            free_tens(); /* keep the registry small */
        }
}
END_TEST

START_TEST(conv_upsample) {
    /* B, Ci, H, W, Co, kh, kw, stride, pad, bias */
    const int cases[][10] = {{2, 4, 16, 16, 8, 3, 3, 1, 1, 1}, {1, 3, 17, 13, 5, 4, 2, 2, 1, 0},
                             {2, 8, 9, 7, 6, 1, 1, 1, 0, 1},   {1, 2, 11, 14, 3, 3, 3, 3, 0, 1},
                             {1, 16, 8, 8, 32, 3, 3, 1, 1, 1}};
    for (int c = 0; c < 5; c++) {
        const int *k = cases[c];
        const int Ho = (k[2] + 2 * k[8] - k[5]) / k[7] + 1, Wo = (k[3] + 2 * k[8] - k[6]) / k[7] + 1;
        uint64_t seed = 700 + c * 10;
        ten *x = mk4(k[0], k[1], k[2], k[3], seed, 1.0f);
        ten *w = mk4(k[4], k[1], k[5], k[6], seed + 1, 0.3f);
        ten *b = k[9] ? mk1(k[4], seed + 2, 1.0f) : NULL;
        ten *y = mk4(k[0], k[4], Ho, Wo, seed + 3, 1.0f);
        ok(cpu->iface->conv2d(cpu, &y->c, &x->c, &w->c, C(b), k[7], k[8]));
        ok(gpu->iface->conv2d(gpu, &y->g, &x->g, &w->g, G(b), k[7], k[8]));
        char what[96];
        snprintf(what, sizeof what, "x (%d,%d,%d,%d) w (%d,%d,%d,%d) s%d p%d%s", k[0], k[1], k[2], k[3], k[4], k[1], k[5],
                 k[6], k[7], k[8], k[9] ? " bias" : "");
        check(y, "conv2d", what);
    }
    for (int f = 1; f <= 3; f++) {
        ten *x = mk4(2, 3, 5, 7, 750 + f, 1.0f), *y = mk4(2, 3, 5 * f, 7 * f, 760 + f, 1.0f);
        ok(cpu->iface->upsample_nearest(cpu, &y->c, &x->c, f));
        ok(gpu->iface->upsample_nearest(gpu, &y->g, &x->g, f));
        char what[64];
        snprintf(what, sizeof what, "(2,3,5,7) x %d", f);
        check(y, "upsample", what);
    }
}
END_TEST

/* ---- attention ---- */

/* Runs one pattern on both backends and compares. fused: q, k, v are views of
 * one (B, N, 3·heads·D) projection and out a strided view with spare columns.
 * mask_mode (cross/full): 0 none, 1 random padding, 2 also one batch with every
 * key masked. */
static void attn_case(const char *label, vt_attn_desc desc, int B, int Nq, int Nk, int heads, int D, int fused,
                      int mask_mode, uint64_t seed) {
    const size_t hd = (size_t)heads * D;
    vt_attn_args A;
    memset(&A, 0, sizeof A);
    A.desc = desc;
    A.B = B;
    A.Nq = Nq;
    A.Nk = Nk;
    A.heads = heads;
    A.head_dim = D;
    ten *q, *k, *v, *out, *mask = NULL;
    if (fused) {
        q = k = v = mk3(B, Nq, 3 * (int64_t)hd, seed, 1.0f);
        A.ld_q = A.ld_k = A.ld_v = 3 * hd;
        A.off_k = hd;
        A.off_v = 2 * hd;
        out = mk3(B, Nq, (int64_t)hd + 8, seed + 1, 1.0f);
        A.off_o = aligned_tens ? 4 : 3;
        A.ld_o = hd + 8;
    } else {
        q = mk3(B, Nq, (int64_t)hd, seed, 1.0f);
        k = mk3(B, Nk, (int64_t)hd, seed + 2, 1.0f);
        v = mk3(B, Nk, (int64_t)hd, seed + 3, 1.0f);
        out = mk3(B, Nq, (int64_t)hd, seed + 1, 1.0f);
    }
    if (mask_mode) {
        mask = mk2(B, Nk, 0, 1.0f);
        for (int b = 0; b < B; b++)
            for (int j = 0; j < Nk; j++) {
                int present = j < Nk - (b * 7) % (Nk > 1 ? Nk : 1) && (j * 5 + b) % 9 != 4; /* tail padding, holes */
                if (mask_mode == 2 && b == B - 1) present = 0;
                mask->host[(size_t)b * Nk + j] = present ? (j % 2 ? 1.0f : 0.5f) : 0.0f;
            }
        ok(gpu->iface->upload(gpu, mask->buf, mask->g.offset, mask->host, mask->n * sizeof(float)));
    }
    A.q = &q->c, A.k = &k->c, A.v = &v->c, A.out = &out->c, A.key_mask = C(mask);
    ok(cpu->iface->attention(cpu, &A));
    A.q = &q->g, A.k = &k->g, A.v = &v->g, A.out = &out->g, A.key_mask = G(mask);
    ok(gpu->iface->attention(gpu, &A));
    char what[128];
    snprintf(what, sizeof what, "%s B%d Nq%d Nk%d h%d d%d%s%s%s", label, B, Nq, Nk, heads, D, fused ? " fused" : "",
             mask_mode ? " masked" : "", aligned_tens ? " vec4" : "");
    check(out, "attention", what);
    if (mask_mode == 2) {
        /* the batch without keys outputs zeros on the Vulkan side too */
        const size_t per = (size_t)Nq * out->g.shape[2];
        float *o = malloc(per * sizeof(float));
        ck_assert_ptr_nonnull(o);
        ok(gpu->iface->download(gpu, out->buf, out->g.offset + (size_t)(B - 1) * per * sizeof(float), o, per * sizeof(float)));
        for (size_t i = 0; i < per; i++) ck_assert_msg(o[i] == 0.0f, "a query without keys output %g", o[i]);
        free(o);
    }
    free_tens();
}

static vt_attn_desc desc_of(vt_attn_kind kind, int T, int H, int W) {
    vt_attn_desc d;
    memset(&d, 0, sizeof d);
    d.kind = kind;
    d.grid[0] = T;
    d.grid[1] = H;
    d.grid[2] = W;
    for (int i = 0; i < 3; i++) d.kernel[i] = d.dilation[i] = 1;
    return d;
}

static vt_attn_desc hood(int T, int H, int W, int kt, int kh, int kw, int dt, int dh, int dw, int causal) {
    vt_attn_desc d = desc_of(VT_ATTN_NEIGHBORHOOD, T, H, W);
    d.kernel[0] = kt, d.kernel[1] = kh, d.kernel[2] = kw;
    d.dilation[0] = dt, d.dilation[1] = dh, d.dilation[2] = dw;
    d.causal_t = causal;
    return d;
}

START_TEST(attention_full_cross) {
    attn_case("full", desc_of(VT_ATTN_FULL, 1, 16, 16), 2, 256, 256, 4, 64, 1, 0, 800);
    attn_case("full", desc_of(VT_ATTN_FULL, 1, 8, 8), 1, 64, 64, 2, 32, 0, 0, 801);
    attn_case("full", desc_of(VT_ATTN_FULL, 1, 1, 37), 2, 37, 37, 3, 32, 1, 0, 802);
    attn_case("full", desc_of(VT_ATTN_FULL, 1, 1, 200), 1, 200, 200, 2, 128, 0, 0, 803);
    attn_case("full", desc_of(VT_ATTN_FULL, 1, 1, 70), 2, 70, 70, 2, 48, 0, 1, 804);
    vt_attn_desc sc = desc_of(VT_ATTN_FULL, 1, 1, 50);
    sc.scale = 0.05f;
    attn_case("full scale 0.05", sc, 1, 50, 50, 2, 64, 1, 0, 805);
    vt_attn_desc cr = desc_of(VT_ATTN_CROSS, 1, 16, 16);
    attn_case("cross", cr, 2, 256, 77, 4, 64, 0, 1, 810);
    attn_case("cross", cr, 3, 64, 29, 2, 32, 0, 2, 811);
    attn_case("cross", cr, 2, 37, 5, 2, 64, 0, 0, 812);
    attn_case("cross", cr, 1, 100, 300, 2, 32, 0, 1, 813);
}
END_TEST

START_TEST(attention_neighborhood) {
    attn_case("hood 2d 7x7", hood(1, 16, 16, 1, 7, 7, 1, 1, 1, 0), 2, 256, 256, 4, 32, 1, 0, 820);
    attn_case("hood 2d 5x3 dil 2,3", hood(1, 16, 16, 1, 5, 3, 1, 2, 3, 0), 1, 256, 256, 2, 64, 0, 0, 821);
    attn_case("hood 2d 9x5 full-H border", hood(1, 9, 13, 1, 9, 5, 1, 1, 1, 0), 1, 117, 117, 2, 32, 1, 0, 822);
    attn_case("hood 2d even 4x6", hood(1, 10, 12, 1, 4, 6, 1, 1, 1, 0), 1, 120, 120, 2, 32, 0, 0, 823);
    attn_case("hood 2d 3x3 dil 4 (odd classes)", hood(1, 13, 14, 1, 3, 3, 1, 4, 4, 0), 1, 182, 182, 2, 32, 0, 0, 824);
    attn_case("hood 1d 9 dil 4", hood(1, 1, 64, 1, 1, 9, 1, 1, 4, 0), 2, 64, 64, 2, 64, 1, 0, 825);
    attn_case("hood 3d 3x3x3 dil 1,2,1", hood(4, 8, 8, 3, 3, 3, 1, 2, 1, 0), 1, 256, 256, 2, 32, 1, 0, 826);
    attn_case("hood 3d causal 3x5x5", hood(6, 8, 8, 3, 5, 5, 1, 1, 1, 1), 1, 384, 384, 2, 32, 1, 0, 827);
    attn_case("hood 3d causal dil_t 2", hood(6, 6, 6, 2, 3, 3, 2, 1, 1, 1), 1, 216, 216, 2, 32, 0, 0, 828);
    attn_case("hood 3d causal kt 1", hood(3, 5, 5, 1, 3, 3, 1, 1, 1, 1), 2, 75, 75, 2, 32, 0, 0, 829);
}
END_TEST

START_TEST(attention_vec4) {
    /* rows 16-byte aligned with head sizes that are multiples of 4: the shaders
     * read and write whole vec4s (the other tests use odd offsets) */
    aligned_tens = 1;
    attn_case("full", desc_of(VT_ATTN_FULL, 1, 16, 16), 2, 256, 256, 4, 64, 1, 0, 870);
    attn_case("full", desc_of(VT_ATTN_FULL, 1, 1, 70), 2, 70, 70, 2, 72, 0, 1, 871);
    attn_case("cross", desc_of(VT_ATTN_CROSS, 1, 8, 8), 3, 64, 29, 2, 32, 0, 2, 872);
    attn_case("hood 2d 7x7", hood(1, 16, 16, 1, 7, 7, 1, 1, 1, 0), 2, 256, 256, 4, 32, 1, 0, 873);
    attn_case("hood 3d causal 3x5x5", hood(6, 8, 8, 3, 5, 5, 1, 1, 1, 1), 1, 384, 384, 2, 72, 1, 0, 874);
    vt_attn_desc d = desc_of(VT_ATTN_AXIAL, 4, 8, 12);
    d.axis = 0;
    attn_case("axial T", d, 1, 384, 384, 2, 64, 1, 0, 875);
    aligned_tens = 0;
    /* a head size that is no multiple of 4: padded vec4s in registers */
    attn_case("full", desc_of(VT_ATTN_FULL, 1, 1, 33), 1, 33, 33, 2, 30, 0, 0, 876);
    attn_case("hood 2d 3x3", hood(1, 6, 6, 1, 3, 3, 1, 1, 1, 0), 1, 36, 36, 2, 30, 1, 0, 877);
}
END_TEST

START_TEST(attention_axial_block_grid) {
    for (int axis = 0; axis < 3; axis++) {
        vt_attn_desc d = desc_of(VT_ATTN_AXIAL, 4, 8, 12);
        d.axis = axis;
        char label[32];
        snprintf(label, sizeof label, "axial %c", "THW"[axis]);
        attn_case(label, d, 2, 384, 384, 2, 32, axis == 1, 0, 840 + axis);
    }
    vt_attn_desc b = desc_of(VT_ATTN_BLOCK, 2, 16, 16);
    b.window = 4;
    attn_case("block 4", b, 1, 512, 512, 2, 64, 1, 0, 850);
    b = desc_of(VT_ATTN_BLOCK, 1, 12, 12);
    b.window = 3;
    attn_case("block 3", b, 2, 144, 144, 3, 32, 0, 0, 851);
    vt_attn_desc g = desc_of(VT_ATTN_GRID, 2, 16, 16);
    g.window = 4;
    attn_case("grid 4", g, 1, 512, 512, 2, 64, 1, 0, 852);
    g = desc_of(VT_ATTN_GRID, 1, 12, 12);
    g.window = 3;
    attn_case("grid 3", g, 2, 144, 144, 3, 32, 0, 0, 853);
}
END_TEST

/* ---- a DiT block recorded as one command stream ---- */

typedef struct block_tens {
    ten *x, *c6, *h, *m, *qkv, *att, *proj, *mlp, *mlp2;
    ten *wqkv, *bqkv, *wo, *bo, *w1, *b1, *w2, *b2;
} block_tens;

/* adaLN-Zero DiT block on (B, N, Dm) with heads of 32: the op sequence of
 * diffusion/dit.c. c6 holds the six (B, Dm) modulation vectors back to back. */
static void dit_block(vt_backend *be, int g, block_tens *t, int B, int N, int Dm, int heads) {
#define V(x) (g ? &(x)->g : &(x)->c)
    vt_tensor vec[6];
    for (int i = 0; i < 6; i++) {
        /* (B, Dm) vector i: rows of c6 (B, 6, Dm) are not contiguous per vector, so
         * the test lays c6 out as (6, B, Dm) instead */
        vec[i] = *V(t->c6);
        vec[i].ndim = 2;
        vec[i].shape[0] = B;
        vec[i].shape[1] = Dm;
        if (g) vec[i].offset += (size_t)i * B * Dm * sizeof(float);
        else vec[i].data = (float *)vec[i].data + (size_t)i * B * Dm;
    }
    ok(be->iface->layernorm(be, V(t->h), V(t->x), NULL, NULL, 1e-6f));
    ok(be->iface->modulate(be, V(t->m), V(t->h), &vec[0], &vec[1]));
    ok(be->iface->linear(be, V(t->qkv), V(t->m), V(t->wqkv), V(t->bqkv), VT_ACT_NONE));
    vt_attn_args A;
    memset(&A, 0, sizeof A);
    A.desc.kind = VT_ATTN_FULL;
    A.B = B, A.Nq = A.Nk = N, A.heads = heads, A.head_dim = Dm / heads;
    A.q = A.k = A.v = V(t->qkv);
    A.ld_q = A.ld_k = A.ld_v = 3 * (size_t)Dm;
    A.off_k = (size_t)Dm, A.off_v = 2 * (size_t)Dm;
    A.out = V(t->att);
    ok(be->iface->attention(be, &A));
    ok(be->iface->linear(be, V(t->proj), V(t->att), V(t->wo), V(t->bo), VT_ACT_NONE));
    ok(be->iface->gated_add(be, V(t->x), V(t->proj), &vec[2]));
    ok(be->iface->layernorm(be, V(t->h), V(t->x), NULL, NULL, 1e-6f));
    ok(be->iface->modulate(be, V(t->m), V(t->h), &vec[3], &vec[4]));
    ok(be->iface->linear(be, V(t->mlp), V(t->m), V(t->w1), V(t->b1), VT_ACT_GELU_TANH));
    ok(be->iface->linear(be, V(t->mlp2), V(t->mlp), V(t->w2), V(t->b2), VT_ACT_NONE));
    ok(be->iface->gated_add(be, V(t->x), V(t->mlp2), &vec[5]));
#undef V
}

static void run_dit_block(const char *what) {
    const int B = 2, N = 64, Dm = 128, heads = 4;
    const float ws = 1.0f / sqrtf((float)Dm);
    block_tens t = {
        .x = mk3(B, N, Dm, 900, 1.0f),        .c6 = mk3(6, B, Dm, 901, 0.3f),
        .h = mk3(B, N, Dm, 902, 1.0f),        .m = mk3(B, N, Dm, 903, 1.0f),
        .qkv = mk3(B, N, 3 * Dm, 904, 1.0f),  .att = mk3(B, N, Dm, 905, 1.0f),
        .proj = mk3(B, N, Dm, 906, 1.0f),     .mlp = mk3(B, N, 4 * Dm, 907, 1.0f),
        .mlp2 = mk3(B, N, Dm, 908, 1.0f),     .wqkv = mk2(3 * Dm, Dm, 909, ws),
        .bqkv = mk1(3 * Dm, 910, 0.1f),       .wo = mk2(Dm, Dm, 911, ws),
        .bo = mk1(Dm, 912, 0.1f),             .w1 = mk2(4 * Dm, Dm, 913, ws),
        .b1 = mk1(4 * Dm, 914, 0.1f),         .w2 = mk2(Dm, 4 * Dm, 915, ws / 2),
        .b2 = mk1(Dm, 916, 0.1f),
    };
    dit_block(cpu, 0, &t, B, N, Dm, heads);
    dit_block(gpu, 1, &t, B, N, Dm, heads); /* no synchronisation until the download */
    check(t.x, "dit_block", what);
}

START_TEST(dit_block_one_submission) { run_dit_block("(2,64,128) h4: 12 ops, one submission"); }
END_TEST

/* ---- buffers, ordering, errors, device choice ---- */

/* An upload after queued ops must not change what they read: y1 = 2·(3·x)
 * with the first contents, then x is overwritten and y2 = 2·x; and a buffer
 * freed while ops that use it are queued stays alive until they ran. */
static void run_ordering(void) {
    ten *x = mk2(16, 33, 950, 1.0f), *y1 = mk2(16, 33, 951, 1.0f), *y2 = mk2(16, 33, 952, 1.0f);
    ten *tmp = mk2(16, 33, 953, 1.0f);
    ok(cpu->iface->scale(cpu, &tmp->c, &x->c, 3.0f));
    ok(gpu->iface->scale(gpu, &tmp->g, &x->g, 3.0f));
    ok(cpu->iface->scale(cpu, &y1->c, &tmp->c, 2.0f));
    ok(gpu->iface->scale(gpu, &y1->g, &tmp->g, 2.0f));
    float *fresh = malloc(x->n * sizeof(float));
    ck_assert_ptr_nonnull(fresh);
    vt_rng_normal(954, 0, 0, fresh, x->n);
    memcpy(x->host, fresh, x->n * sizeof(float));
    ok(gpu->iface->upload(gpu, x->buf, x->g.offset, fresh, x->n * sizeof(float)));
    free(fresh);
    ok(cpu->iface->scale(cpu, &y2->c, &x->c, 2.0f));
    ok(gpu->iface->scale(gpu, &y2->g, &x->g, 2.0f));
    /* free tmp's buffer with the op that reads it still queued */
    gpu->iface->buffer_free(gpu, tmp->buf);
    tmp->buf = NULL;
    check(y1, "ordering", "ops queued before an upload see the old data");
    check(y2, "ordering", "ops queued after it see the new data");
}

START_TEST(buffers_and_ordering) {
    /* round trip at odd offsets, zero-sized buffers */
    vt_buffer *b = NULL, *z = NULL;
    ok(gpu->iface->buffer_alloc(gpu, 1003, &b));
    ok(gpu->iface->buffer_alloc(gpu, 0, &z));
    char src[1003], dst[1003];
    for (int i = 0; i < 1003; i++) src[i] = (char)(i * 7);
    ok(gpu->iface->upload(gpu, b, 0, src, sizeof src));
    memset(dst, 0, sizeof dst);
    ok(gpu->iface->download(gpu, b, 5, dst, 998));
    ck_assert_int_eq(memcmp(dst, src + 5, 998), 0);
    ck_assert_int_eq(gpu->iface->upload(gpu, b, 1000, src, 4), VT_E_INVALID);
    ck_assert_int_eq(gpu->iface->download(gpu, b, 1004, dst, 0), VT_E_INVALID);
    gpu->iface->buffer_free(gpu, z);

    run_ordering();
    ok(gpu->iface->synchronize(gpu));
    gpu->iface->buffer_free(gpu, b);
}
END_TEST

START_TEST(staging_path) {
    /* the discrete-GPU path on this device: unmapped buffers, staging copies */
    free_tens();
    vt_backend_destroy(&gpu);
    setenv("VITRAIL_VK_STAGING", "1", 1);
    gpu = make_gpu();
    unsetenv("VITRAIL_VK_STAGING");
    ten *probe = mk1(10, 970, 1.0f);
    ck_assert_ptr_null(probe->buf->host);
    run_ordering();
    run_dit_block("(2,64,128) h4, staging buffers");
}
END_TEST

START_TEST(descriptor_pools) {
    /* devices without VK_KHR_push_descriptor: descriptor sets from pools,
     * enough of them to need several pools before the fence recycles them */
    free_tens();
    vt_backend_destroy(&gpu);
    setenv("VITRAIL_VK_PUSH_DESCRIPTORS", "0", 1);
    gpu = make_gpu();
    unsetenv("VITRAIL_VK_PUSH_DESCRIPTORS");
    ten *x = mk2(4, 16, 980, 1.0f), *y = mk2(4, 16, 981, 1.0f);
    for (int i = 0; i < 600; i++) {
        ok(cpu->iface->scale(cpu, i % 2 ? &x->c : &y->c, i % 2 ? &y->c : &x->c, 1.001f));
        ok(gpu->iface->scale(gpu, i % 2 ? &x->g : &y->g, i % 2 ? &y->g : &x->g, 1.001f));
    }
    check(x, "scale", "600 dispatches in one submission, descriptor pools");
    run_dit_block("(2,64,128) h4, descriptor pools");
}
END_TEST

START_TEST(errors) {
    ten *x = mk2(4, 8, 960, 1.0f), *y = mk2(4, 8, 961, 1.0f), *w = mk2(5, 8, 962, 1.0f);
    /* a host tensor is refused with a reason */
    int rc = gpu->iface->activation(gpu, &y->g, &x->c, VT_ACT_SILU);
    ck_assert_int_eq(rc, VT_E_INVALID);
    ck_assert_msg(strstr(vt_context_error(ctx), "not in a buffer"), "%s", vt_context_error(ctx));
    /* F16 is not computed yet */
    vt_tensor h = x->g;
    h.dtype = VT_DTYPE_F16;
    ck_assert_int_eq(gpu->iface->scale(gpu, &y->g, &h, 1.0f), VT_E_UNSUPPORTED);
    /* shapes */
    ck_assert_int_eq(gpu->iface->linear(gpu, &y->g, &x->g, &w->g, NULL, VT_ACT_NONE), VT_E_SHAPE);
    ck_assert_msg(strstr(vt_context_error(ctx), "linear"), "%s", vt_context_error(ctx));
    ck_assert_int_eq(gpu->iface->activation(gpu, &y->g, &x->g, (vt_act)9), VT_E_INVALID);
    /* a view beyond its buffer */
    vt_tensor big = x->g;
    big.shape[0] = 400;
    ck_assert_int_eq(gpu->iface->scale(gpu, &big, &big, 1.0f), VT_E_SHAPE);
    /* a tensor of another backend's buffer */
    vt_tensor foreign = x->c;
    vt_buffer *cb = NULL;
    ok(cpu->iface->buffer_alloc(cpu, 128, &cb));
    foreign.buf = cb;
    ck_assert_int_eq(gpu->iface->scale(gpu, &y->g, &foreign, 1.0f), VT_E_INVALID);
    cpu->iface->buffer_free(cpu, cb);
    /* attention arguments */
    vt_attn_args A;
    memset(&A, 0, sizeof A);
    A.desc = hood(1, 2, 2, 1, 3, 1, 1, 1, 1, 0);
    A.B = 1, A.Nq = A.Nk = 4, A.heads = 1, A.head_dim = 8;
    A.q = A.k = A.v = &x->g;
    A.out = &y->g;
    ck_assert_int_eq(gpu->iface->attention(gpu, &A), VT_E_INVALID); /* kernel 3 > H 2 */
    ck_assert_msg(strstr(vt_context_error(ctx), "kernel"), "%s", vt_context_error(ctx));
    A.desc = desc_of(VT_ATTN_FULL, 1, 1, 4);
    A.head_dim = 512;
    ck_assert_int_eq(gpu->iface->attention(gpu, &A), VT_E_SHAPE); /* views exceed the tensors first */
    A.head_dim = 8;
    A.out = &x->g;
    ck_assert_int_eq(gpu->iface->attention(gpu, &A), VT_E_INVALID); /* out over k and v */
    /* the backend still works after refused calls */
    ok(cpu->iface->activation(cpu, &y->c, &x->c, VT_ACT_SILU));
    ok(gpu->iface->activation(gpu, &y->g, &x->g, VT_ACT_SILU));
    check(y, "activation", "after refused calls");
}
END_TEST

START_TEST(device_choice) {
    /* an explicit index beyond the devices, and VITRAIL_VK_DEVICE naming none */
    vt_backend *none = vt_backend_vulkan_create(ctx, 999);
    ck_assert_ptr_null(none);
    ck_assert_msg(strstr(vt_context_error(ctx), "device 999"), "%s", vt_context_error(ctx));
    setenv("VITRAIL_VK_DEVICE", "no-such-device-xyz", 1);
    none = vt_backend_vulkan_create(ctx, -1);
    ck_assert_ptr_null(none);
    ck_assert_msg(strstr(vt_context_error(ctx), "VITRAIL_VK_DEVICE"), "%s", vt_context_error(ctx));
    /* by part of the name (any case), and by index */
    char part[8];
    snprintf(part, sizeof part, "%.4s", vt_backend_vulkan_device_name(gpu));
    for (char *p = part; *p; p++) *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    setenv("VITRAIL_VK_DEVICE", part, 1);
    vt_backend *byname = vt_backend_vulkan_create(ctx, -1);
    ck_assert_msg(byname != NULL, "VITRAIL_VK_DEVICE=%s: %s", part, vt_context_error(ctx));
    vt_backend_destroy(&byname);
    unsetenv("VITRAIL_VK_DEVICE");
    vt_backend *first = vt_backend_vulkan_create(ctx, 0);
    ck_assert_msg(first != NULL, "device 0: %s", vt_context_error(ctx));
    vt_backend_destroy(&first);
    ck_assert_ptr_null(first);
}
END_TEST

int main(void) {
    Suite *s = suite_create("backend_ops");
    TCase *tc = tcase_create("backend_ops");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, linear_epilogues);
    tcase_add_test(tc, matmul_transposes);
    tcase_add_test(tc, linear_paths);
    tcase_add_test(tc, coop_shader_emulated);
    tcase_add_test(tc, matmul_blocks);
    tcase_add_test(tc, f16_weights);
    tcase_add_test(tc, path_selection);
    tcase_add_test(tc, barriers_where_needed);
    tcase_add_test(tc, norms);
    tcase_add_test(tc, modulate_gated_add);
    tcase_add_test(tc, softmax_rows);
    tcase_add_test(tc, elementwise);
    tcase_add_test(tc, patch_layouts);
    tcase_add_test(tc, conv_upsample);
    tcase_add_test(tc, attention_full_cross);
    tcase_add_test(tc, attention_neighborhood);
    tcase_add_test(tc, attention_axial_block_grid);
    tcase_add_test(tc, attention_vec4);
    tcase_add_test(tc, dit_block_one_submission);
    tcase_add_test(tc, buffers_and_ordering);
    tcase_add_test(tc, staging_path);
    tcase_add_test(tc, memory_plan);
    tcase_add_test(tc, descriptor_pools);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, device_choice);
    suite_add_tcase(s, tc);
    return vt_check_run(s);
}
