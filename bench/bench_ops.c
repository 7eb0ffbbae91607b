/* vt-bench-ops: GFLOP/s of the CPU backend's linear op (x·Wᵀ + b, then with the
 * tanh-GELU epilogue) against raw cblas_sgemm on the same operands in the same
 * run, at DiT-like shapes: tokens 256, 1024, 4096 × width 256, 384, 1152. */
#include <cblas.h>
#include <math.h>
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
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum { V_LINEAR, V_RAW, V_GELU, N_VARIANTS };

typedef struct shape_run {
    vt_backend *be;
    int threads, M, N, K;
    float *X, *W, *B, *Y;  // (M, K), (N, K), (N), (M, N)
} shape_run;

static void run_variant(const shape_run *r, int v) {
    if (v == V_RAW) {
        /* The peer: one sgemm on OpenBLAS's threads, as a user would call it. The
         * backend leaves OpenBLAS at one thread between its calls, so the peer
         * sets its count on every call, as the backend does. */
        openblas_set_num_threads(r->threads);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r->M, r->N, r->K, 1.0f, r->X, r->K, r->W, r->K, 0.0f, r->Y,
                    r->N);
        return;
    }
    vt_tensor x = vt_tensor_f32_2d(r->X, r->M, r->K), w = vt_tensor_f32_2d(r->W, r->N, r->K);
    vt_tensor b = vt_tensor_f32_1d(r->B, r->N), y = vt_tensor_f32_2d(r->Y, r->M, r->N);
    if (r->be->iface->linear(r->be, &y, &x, &w, &b, v == V_GELU ? VT_ACT_GELU_TANH : VT_ACT_NONE) != 0) abort();
}

/* Seconds per call over back-to-back calls for at least min_time. */
static double timed(const shape_run *r, int v, double min_time) {
    int it = 0;
    double t0 = now(), el;
    do {
        run_variant(r, v);
        it++;
    } while ((el = now() - t0) < min_time);
    return el / it;
}

/* max |linear − (raw sgemm + b)| / max |raw + b|: the bench times a correct op. */
static double check(const shape_run *r) {
    size_t n = (size_t)r->M * r->N;
    float *ref = malloc(n * sizeof *ref);
    if (!ref) return NAN;
    run_variant(r, V_RAW);
    for (size_t i = 0; i < n; i++) ref[i] = r->Y[i] + r->B[i % (size_t)r->N];
    run_variant(r, V_LINEAR);
    double md = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
        md = fmax(md, fabs((double)r->Y[i] - ref[i]));
        mr = fmax(mr, fabs((double)ref[i]));
    }
    free(ref);
    return md / (mr > 0 ? mr : 1);
}

int main(int argc, char **argv) {
    int threads = 0, reps = 5;
    double min_time = 0.2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--time") && i + 1 < argc) min_time = atof(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: vt-bench-ops [--threads N] [--time SECONDS_PER_RUN] [--reps R]\n");
            return 2;
        }
    }
    if (threads < 0 || reps < 1 || !(min_time > 0)) {
        fprintf(stderr, "vt-bench-ops: --threads >= 0, --reps >= 1, --time > 0\n");
        return 2;
    }
    vt_context_params p = vt_context_default_params();
    p.n_threads = threads;
    vt_context *ctx = vt_context_create(&p);
    vt_backend *be = ctx ? vt_backend_cpu_create(ctx) : NULL;
    if (!be) {
        fprintf(stderr, "vt-bench-ops: cannot create the CPU backend\n");
        vt_context_destroy(&ctx);
        return 1;
    }
    const int nt = vt_context_threads(ctx);
    openblas_set_num_threads(nt);

    printf("vt-bench-ops: the CPU backend's linear op vs raw cblas_sgemm, same operands, same run\n");
    printf("  %s; %d threads for both (context and OpenBLAS)\n", openblas_get_config(), nt);
    printf("  backend: y (M, N) = x (M, K) · Wᵀ (K, N) + b (N) [then tanh-GELU], w in nn.Linear layout, K = N = width\n");
    printf("  raw:     cblas_sgemm(RowMajor, NoTrans, Trans, β = 0) alone, no bias\n");
    printf("  GFLOP/s = 2·M·N·K / time (bias and GELU not counted); each figure the best of %d timed runs\n", reps);
    printf("  of >= %.2f s each, the three variants interleaved run by run so load drifts hit all alike.\n", min_time);
    printf("  ratio = backend / raw (target for linear+bias: >= 0.95); check = max rel |linear - (raw + b)|;\n");
    printf("  spread = the raw runs' slowest / fastest: well above 1.05, other load shared the cores.\n\n");
    printf("%-12s %6s %6s | %12s %12s | %6s | %8s %6s\n", "op", "tokens", "width", "backend GF/s", "raw GF/s", "ratio",
           "check", "spread");

    const int toks[3] = {256, 1024, 4096}, widths[3] = {256, 384, 1152};
    double best[3][3][N_VARIANTS], worst_raw[3][3], chk[3][3];
    for (int ti = 0; ti < 3; ti++)
        for (int wi = 0; wi < 3; wi++) {
            shape_run r = {be, nt, toks[ti], widths[wi], widths[wi], NULL, NULL, NULL, NULL};
            r.X = malloc((size_t)r.M * r.K * sizeof(float));
            r.W = malloc((size_t)r.N * r.K * sizeof(float));
            r.B = malloc((size_t)r.N * sizeof(float));
            r.Y = malloc((size_t)r.M * r.N * sizeof(float));
            if (!r.X || !r.W || !r.B || !r.Y) {
                fprintf(stderr, "vt-bench-ops: out of memory\n");
                return 1;
            }
            vt_rng_normal(1, 0, 0, r.X, (size_t)r.M * r.K);
            vt_rng_normal(2, 0, 0, r.W, (size_t)r.N * r.K);
            vt_rng_normal(3, 0, 0, r.B, (size_t)r.N);
            chk[ti][wi] = check(&r);
            for (int v = 0; v < N_VARIANTS; v++) best[ti][wi][v] = 1e30;
            worst_raw[ti][wi] = 0;
            for (int rep = 0; rep < reps; rep++)
                for (int v = 0; v < N_VARIANTS; v++) {
                    double t = timed(&r, v, min_time);
                    if (t < best[ti][wi][v]) best[ti][wi][v] = t;
                    if (v == V_RAW && t > worst_raw[ti][wi]) worst_raw[ti][wi] = t;
                }
            free(r.X), free(r.W), free(r.B), free(r.Y);
        }

    double worst = 1e30;
    for (int op = 0; op < 2; op++) {
        int v = op ? V_GELU : V_LINEAR;
        for (int ti = 0; ti < 3; ti++)
            for (int wi = 0; wi < 3; wi++) {
                double fl = 2.0 * toks[ti] * widths[wi] * widths[wi] * 1e-9;
                double gb = fl / best[ti][wi][v], gr = fl / best[ti][wi][V_RAW];
                printf("%-12s %6d %6d | %12.1f %12.1f | %6.3f | ", op ? "linear+gelu" : "linear+bias", toks[ti], widths[wi],
                       gb, gr, gb / gr);
                if (op) printf("%8s %6s\n", "", "");
                else printf("%8.1e %6.2f\n", chk[ti][wi], worst_raw[ti][wi] / best[ti][wi][V_RAW]);
                if (!op && gb / gr < worst) worst = gb / gr;
            }
        if (!op) printf("\n");
    }
    printf("\nworst linear+bias ratio: %.3f (target >= 0.95)\n", worst);
    vt_backend_destroy(&be);
    vt_context_destroy(&ctx);
    return 0;
}
