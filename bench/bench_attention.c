/* vt-bench-attention: the CPU attention family at head dim 64 on image and video
 * token grids. Each pattern's time is set against full attention measured in the
 * same run on the same grid and heads, next to the FLOP ratio the pattern could
 * at best gain (N / keys per query) and the fraction of it achieved. Full
 * attention itself is set against the unfused version on OpenBLAS sgemm (the N×N
 * scores materialised), and its working memory against that N×N matrix. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "context.h"
#include "cpu/cpu_ops.h"
#include "rng.h"
#include "threadpool.h"

#define HEAD_DIM 64

static const int head_counts[2] = {1, 8};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(vt_context *ctx, const char *what) {
    fprintf(stderr, "vt-bench-attention: %s: %s\n", what, vt_context_error(ctx));
    exit(1);
}

typedef struct pattern {
    const char *name;
    vt_attn_desc desc;
} pattern;

static vt_attn_desc desc_of(vt_attn_kind kind, const int grid[3]) {
    vt_attn_desc d;
    memset(&d, 0, sizeof d);
    d.kind = kind;
    for (int i = 0; i < 3; i++) {
        d.grid[i] = grid[i];
        d.kernel[i] = d.dilation[i] = 1;
    }
    return d;
}

/* Keys each query sees: the denominator of the theoretical FLOP ratio. */
static double keys_per_query(const vt_attn_desc *d) {
    const int *g = d->grid;
    switch (d->kind) {
    case VT_ATTN_FULL: return (double)g[0] * g[1] * g[2];
    case VT_ATTN_NEIGHBORHOOD: return (double)d->kernel[0] * d->kernel[1] * d->kernel[2];
    case VT_ATTN_AXIAL: return g[d->axis];
    case VT_ATTN_BLOCK:
    case VT_ATTN_GRID: return (double)d->window * d->window;
    default: return 1;
    }
}

/* Best time of several calls: at least `min_reps`, and more until `min_time`
 * seconds have passed (small cases), so the total stays bounded. */
static double time_attention(vt_backend *be, vt_attn_args *a, int min_reps, double min_time) {
    double best = 1e30, t0 = now();
    int reps = 0;
    do {
        double s = now();
        if (be->iface->attention(be, a)) die(be->ctx, "attention");
        double e = now() - s;
        if (e < best) best = e;
        reps++;
    } while (reps < min_reps || now() - t0 < min_time);
    return best;
}

/* The peer for full attention: the unfused textbook version on OpenBLAS with
 * its own threads — S = Q·Kᵀ·scale materialised (N×N floats), a row softmax
 * (the backend's vectorised exp, rows split over the pool) and O = P·V — over
 * the heads one after another, on the same fused qkv layout. */
typedef struct softmax_job {
    float *s;
    int n;
} softmax_job;

static void softmax_rows(void *arg, int64_t r0, int64_t r1, int tid) {
    (void)tid;
    softmax_job *J = arg;
    for (int64_t r = r0; r < r1; r++) {
        float *row = J->s + (size_t)r * J->n;
        float m = vt_cpu_max(row, (size_t)J->n);
        for (int j = 0; j < J->n; j++) row[j] -= m;
        vt_cpu_exp_inplace(row, (size_t)J->n);
        float inv = 1.0f / vt_cpu_sum(row, (size_t)J->n);
        for (int j = 0; j < J->n; j++) row[j] *= inv;
    }
}

static double materialised_ms(vt_context *ctx, const float *qkv, float *out, int N, int heads, int threads) {
    const size_t C = (size_t)heads * HEAD_DIM, ld = 3 * C;
    float *S = malloc((size_t)N * N * sizeof(float));
    if (!S) {
        fprintf(stderr, "vt-bench-attention: out of memory for the N×N peer\n");
        exit(1);
    }
    openblas_set_num_threads(threads);
    softmax_job J = {S, N};
    double best = 1e30;
    for (int rep = 0; rep < 2; rep++) {
        double t0 = now();
        for (int h = 0; h < heads; h++) {
            const float *q = qkv + (size_t)h * HEAD_DIM, *k = q + C, *v = q + 2 * C;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, HEAD_DIM, 0.125f, q, (int)ld, k, (int)ld, 0.0f, S,
                        N);
            vt_pool_for(vt_context_pool(ctx), N, 16, softmax_rows, &J);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, HEAD_DIM, N, 1.0f, S, N, v, (int)ld, 0.0f,
                        out + (size_t)h * HEAD_DIM, (int)C);
        }
        double e = now() - t0;
        if (e < best) best = e;
    }
    /* the backend runs OpenBLAS single-threaded inside its own pool */
    openblas_set_num_threads(1);
    free(S);
    return best * 1e3;
}

static void run_case(vt_backend *be, const char *label, const int grid[3], int heads, const pattern *pats, int npats,
                     double min_time) {
    const int N = grid[0] * grid[1] * grid[2], C = heads * HEAD_DIM;
    /* one fused (1, N, 3·C) qkv buffer read through strided views, as a DiT
     * block's qkv projection leaves it */
    size_t nqkv = (size_t)N * 3 * C, nout = (size_t)N * C;
    float *qkv = malloc(nqkv * 4), *out = malloc(nout * 4);
    if (!qkv || !out) {
        fprintf(stderr, "vt-bench-attention: out of memory at %s\n", label);
        exit(1);
    }
    vt_rng_normal(7, 0, 0, qkv, nqkv);
    vt_tensor tq = vt_tensor_f32_3d(qkv, 1, N, 3 * C), to = vt_tensor_f32_3d(out, 1, N, C);
    vt_attn_args a;
    memset(&a, 0, sizeof a);
    a.B = 1;
    a.Nq = a.Nk = N;
    a.heads = heads;
    a.head_dim = HEAD_DIM;
    a.q = a.k = a.v = &tq;
    a.off_k = (size_t)C;
    a.off_v = 2 * (size_t)C;
    a.ld_q = a.ld_k = a.ld_v = 3 * (size_t)C;
    a.out = &to;
    a.ld_o = (size_t)C;

    double t_full = 0;
    for (int p = 0; p < npats; p++) {
        a.desc = pats[p].desc;
        /* full attention on the big grids costs seconds: one timed call after
         * one warm-up is exact enough at that length */
        double flops = 4.0 * N * keys_per_query(&a.desc) * HEAD_DIM * heads;
        /* a call of several seconds needs neither a warm-up nor repeats */
        const int big = flops > 20e9;
        if (!big && be->iface->attention(be, &a)) die(be->ctx, pats[p].name); /* warm-up */
        double t = time_attention(be, &a, big ? 1 : 3, big ? 0 : min_time);
        if (a.desc.kind == VT_ATTN_FULL) {
            t_full = t;
            printf("%-18s %-9s %5d %10.2f %9s %9s %9s %8.1f\n", pats[p].name, label, heads, t * 1e3, "1.00", "1.0", "-",
                   flops / t * 1e-9);
        } else {
            double speedup = t_full / t, ratio = (double)N / keys_per_query(&a.desc);
            printf("%-18s %-9s %5d %10.3f %9.2f %9.1f %8.0f%% %8.1f\n", pats[p].name, label, heads, t * 1e3, speedup, ratio,
                   100.0 * speedup / ratio, flops / t * 1e-9);
        }
        fflush(stdout);
    }
    free(qkv), free(out);
}

int main(int argc, char **argv) {
    int threads = 0;
    double min_time = 0.25;
    const char *only = NULL; /* run one grid only, by its label */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--time") && i + 1 < argc) min_time = atof(argv[++i]);
        else if (!strcmp(argv[i], "--grid") && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: vt-bench-attention [--threads N] [--time SECONDS_PER_SMALL_CASE] [--grid 64x64]\n");
            return 2;
        }
    }
    vt_context_params cp = vt_context_default_params();
    cp.n_threads = threads;
    vt_context *ctx = vt_context_create(&cp);
    if (!ctx) {
        fprintf(stderr, "vt-bench-attention: cannot create a context\n");
        return 1;
    }
    vt_backend *be = vt_backend_cpu_create(ctx);
    if (!be) die(ctx, "CPU backend");
    const int nt = vt_context_threads(ctx);
    double t_start = now();
    printf("vt-bench-attention: CPU backend, %d threads, head dim %d, batch 1, OpenBLAS %s\n", nt, HEAD_DIM,
           openblas_get_config());
    printf("speedup = full attention's time / the pattern's, both measured in this run on the same grid and heads;\n"
           "ratio = N / keys per query (the FLOP ratio: the most a pattern can gain); achieved = speedup / ratio.\n"
           "GFLOP/s counts 4·N·keys·64·heads (QKᵀ and P·V over the allowed keys only).\n\n");
    printf("%-18s %-9s %5s %10s %9s %9s %9s %8s\n", "pattern", "grid", "heads", "ms", "speedup", "ratio", "achieved",
           "GFLOP/s");

    static const int images[][3] = {{1, 32, 32}, {1, 64, 64}, {1, 128, 128}};
    static const int video[3] = {8, 32, 32};
    for (int gi = 0; gi < 4; gi++) {
        const int *g = gi < 3 ? images[gi] : video;
        pattern pats[12];
        int np = 0;
        pats[np++] = (pattern){"full", desc_of(VT_ATTN_FULL, g)};
        const int ks[2] = {7, 13};
        for (int i = 0; i < 2; i++) {
            vt_attn_desc d = desc_of(VT_ATTN_NEIGHBORHOOD, g);
            d.kernel[1] = d.kernel[2] = ks[i];
            pats[np++] = (pattern){i == 0 ? "neighborhood 7x7" : "neighborhood 13x13", d};
        }
        vt_attn_desc d = desc_of(VT_ATTN_AXIAL, g);
        d.axis = 1;
        pats[np++] = (pattern){"axial H", d};
        d.axis = 2;
        pats[np++] = (pattern){"axial W", d};
        d = desc_of(VT_ATTN_BLOCK, g);
        d.window = 8;
        pats[np++] = (pattern){"block 8", d};
        d = desc_of(VT_ATTN_GRID, g);
        d.window = 8;
        pats[np++] = (pattern){"grid 8", d};
        if (g[0] > 1) {
            d = desc_of(VT_ATTN_AXIAL, g);
            d.axis = 0;
            pats[np++] = (pattern){"axial T", d};
            d = desc_of(VT_ATTN_NEIGHBORHOOD, g);
            d.kernel[0] = 3;
            d.kernel[1] = d.kernel[2] = 7;
            pats[np++] = (pattern){"neighborhood 3x7x7", d};
        }
        char label[32];
        if (g[0] > 1) snprintf(label, sizeof label, "%dx%dx%d", g[0], g[1], g[2]);
        else snprintf(label, sizeof label, "%dx%d", g[1], g[2]);
        if (only && strcmp(only, label)) continue;
        for (int hi = 0; hi < 2; hi++) run_case(be, label, g, head_counts[hi], pats, np, min_time);
    }

    /* Full attention against its unfused peer, and its memory. */
    {
        const int g64[3] = {1, 64, 64}, N = 64 * 64;
        printf("\nfull attention at 64x64 tokens against the materialised version (OpenBLAS sgemm, N×N scores, %d "
               "threads):\n", nt);
        for (int hi = 0; hi < 2; hi++) {
            const int heads = head_counts[hi], C = heads * HEAD_DIM;
            float *qkv = malloc((size_t)N * 3 * C * 4), *out = malloc((size_t)N * C * 4);
            if (!qkv || !out) {
                fprintf(stderr, "vt-bench-attention: out of memory\n");
                return 1;
            }
            vt_rng_normal(7, 0, 0, qkv, (size_t)N * 3 * C);
            vt_tensor tq = vt_tensor_f32_3d(qkv, 1, N, 3 * C), to = vt_tensor_f32_3d(out, 1, N, C);
            vt_attn_args a;
            memset(&a, 0, sizeof a);
            a.desc = desc_of(VT_ATTN_FULL, g64);
            a.B = 1;
            a.Nq = a.Nk = N;
            a.heads = heads;
            a.head_dim = HEAD_DIM;
            a.q = a.k = a.v = &tq;
            a.off_k = (size_t)C;
            a.off_v = 2 * (size_t)C;
            a.ld_q = a.ld_k = a.ld_v = 3 * (size_t)C;
            a.out = &to;
            a.ld_o = (size_t)C;
            if (be->iface->attention(be, &a)) die(ctx, "full");
            double fused = time_attention(be, &a, 2, 0) * 1e3;
            double peer = materialised_ms(ctx, qkv, out, N, heads, nt);
            printf("  %d head%s: fused %.1f ms, materialised %.1f ms: %.2fx\n", heads, heads > 1 ? "s" : " ", fused,
                   peer, peer / fused);
            free(qkv), free(out);
        }
        size_t scratch = vt_cpu_attention_scratch_bytes(nt, HEAD_DIM);
        double nn = (double)N * N * sizeof(float);
        printf("full attention at 64x64 tokens: peak extra working memory %zu bytes (%.1f KiB: %d threads' scratch, "
               "any number of heads)\n  vs the N×N score matrix of one head, %.0f bytes (%.0f MiB): 1/%.0f of it\n",
               scratch, scratch / 1024.0, nt, nn, nn / (1024.0 * 1024.0), nn / scratch);
    }
    printf("\ntotal bench time %.1f s\n", now() - t_start);
    vt_backend_destroy(&be);
    vt_context_destroy(&ctx);
    return 0;
}
