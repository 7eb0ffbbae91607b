/* vt-bench-ops: GFLOP/s of the CPU backend's linear op (x·Wᵀ + b, and with the
 * tanh-GELU epilogue) next to raw cblas_sgemm on the same operands, measured in
 * the same run, at DiT-like shapes: tokens 256, 1024, 4096 × width 256, 384, 1152. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "context.h"
#include "rng.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Best time of `reps` timed runs of at least `min_time` seconds each. */
typedef struct run_ctx {
    vt_backend *be;
    vt_tensor *y, *x, *w, *b;
    vt_act act;
    int raw, threads;
    const float *X, *W;
    float *Y;
    int M, N, K;
} run_ctx;

static void run_once(run_ctx *r) {
    if (r->raw) {
        /* the peer: OpenBLAS with its own threads, as a user would call it */
        openblas_set_num_threads(r->threads);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r->M, r->N, r->K, 1.0f, r->X, r->K, r->W, r->K, 0.0f, r->Y, r->N);
    } else {
        r->be->iface->linear(r->be, r->y, r->x, r->w, r->b, r->act);
    }
}

static double best_time(run_ctx *r, double min_time) {
    run_once(r);
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        int it = 0;
        double t0 = now(), el;
        do {
            run_once(r);
            it++;
        } while ((el = now() - t0) < min_time);
        if (el / it < best) best = el / it;
    }
    return best;
}

int main(int argc, char **argv) {
    int threads = 0;
    double min_time = 0.2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--time") && i + 1 < argc) min_time = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: vt-bench-ops [--threads N] [--time SECONDS_PER_RUN]\n");
            return 2;
        }
    }
    vt_context_params p = vt_context_default_params();
    p.n_threads = threads;
    vt_context *ctx = vt_context_create(&p);
    vt_backend *be = vt_backend_cpu_create(ctx);
    int nt = vt_context_threads(ctx);
    printf("vt-bench-ops: CPU backend linear vs raw cblas_sgemm (OpenBLAS, %d threads), same operands, same run.\n", nt);
    printf("%s\n", openblas_get_config());
    printf("backend = y = x·Wᵀ + b (bias) and with tanh-GELU; raw = sgemm alone (β = 0); best of 3 runs of ≥ %.2f s\n\n", min_time);
    printf("%6s %6s | %12s %12s %12s | %7s %7s\n", "tokens", "width", "linear GF/s", "+gelu GF/s", "raw GF/s", "linear", "+gelu");
    printf("%6s %6s | %12s %12s %12s | %7s %7s\n", "", "", "", "", "", "/raw", "/raw");
    const int toks[3] = {256, 1024, 4096}, widths[3] = {256, 384, 1152};
    double worst = 1e9;
    for (int ti = 0; ti < 3; ti++)
        for (int wi = 0; wi < 3; wi++) {
            int M = toks[ti], K = widths[wi], N = widths[wi];
            float *X = malloc((size_t)M * K * 4), *W = malloc((size_t)N * K * 4), *B = malloc((size_t)N * 4);
            float *Y = malloc((size_t)M * N * 4);
            vt_rng_normal(1, 0, 0, X, (size_t)M * K);
            vt_rng_normal(2, 0, 0, W, (size_t)N * K);
            vt_rng_normal(3, 0, 0, B, (size_t)N);
            vt_tensor tx = vt_tensor_f32_2d(X, M, K), tw = vt_tensor_f32_2d(W, N, K), tb = vt_tensor_f32_1d(B, N);
            vt_tensor ty = vt_tensor_f32_2d(Y, M, N);
            run_ctx r = {be, &ty, &tx, &tw, &tb, VT_ACT_NONE, 0, nt, X, W, Y, M, N, K};
            /* interleave: backend, raw, backend+gelu, raw again; keep each side's best */
            double tl = best_time(&r, min_time);
            r.raw = 1;
            double tr = best_time(&r, min_time);
            r.raw = 0;
            r.act = VT_ACT_GELU_TANH;
            double tg = best_time(&r, min_time);
            r.raw = 1;
            double tr2 = best_time(&r, min_time);
            if (tr2 < tr) tr = tr2;
            r.raw = 0;
            r.act = VT_ACT_NONE;
            double tl2 = best_time(&r, min_time);
            if (tl2 < tl) tl = tl2;
            double fl = 2.0 * M * N * K * 1e-9;
            printf("%6d %6d | %12.1f %12.1f %12.1f | %7.3f %7.3f\n", M, K, fl / tl, fl / tg, fl / tr, tr / tl, tr / tg);
            if (tr / tl < worst) worst = tr / tl;
            free(X), free(W), free(B), free(Y);
        }
    printf("\nworst linear/raw ratio: %.3f (target >= 0.95)\n", worst);
    vt_backend_destroy(&be);
    vt_context_destroy(&ctx);
    return 0;
}
