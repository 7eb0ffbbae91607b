/* vt-bench-prune: what token pruning saves in the denoiser. One DiT step (a
 * forward, CFG batch 2) conditioned on 16 text tokens plus k of 256 image tokens,
 * for keep ratios 1.0, 0.5 and 0.25, in ms and relative to keeping all 256. */
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

int main(int argc, char **argv) {
    int threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: vt-bench-prune [--threads N]\n");
            return 2;
        }
    }
    vt_context_params p = vt_context_default_params();
    p.n_threads = threads;
    vt_context *ctx = vt_context_create(&p);
    /* a DiT-S/2-like denoiser on 32x32 latents (256 tokens) with cross-attention */
    const char *cfg = "{\"arch\":\"dit\",\"in_channels\":4,\"input_size\":[32,32],\"patch_size\":2,\"hidden_size\":384,"
                      "\"depth\":12,\"num_heads\":6,\"cond_dim\":384}";
    char path[] = "/tmp/vt-bench-prune-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    vt_backend *be = vt_backend_cpu_create(ctx);
    vt_st_file *f;
    vt_dit *d;
    if (vt_dit_write_random(ctx, cfg, 1, NULL, 0, path) || vt_st_open(ctx, path, &f) || vt_dit_create(ctx, be, f, &d)) {
        fprintf(stderr, "vt-bench-prune: %s\n", vt_context_error(ctx));
        return 1;
    }
    const int B = 2, Lt = 16, Ni = 256;
    float *x = malloc(sizeof(float) * B * 4 * 32 * 32), *out = malloc(sizeof(float) * B * 4 * 32 * 32);
    float *cond = malloc(sizeof(float) * B * (Lt + Ni) * 384), t[2] = {500, 500};
    vt_rng_normal(1, 0, 0, x, (size_t)B * 4 * 32 * 32);
    vt_rng_normal(2, 0, 0, cond, (size_t)B * (Lt + Ni) * 384);
    printf("vt-bench-prune: DiT-S/2-like step (batch 2 = CFG), 256 latent tokens, %d threads\n", vt_context_threads(ctx));
    printf("conditioning = 16 text tokens + k of 256 image tokens\n\n%-10s %6s %10s %10s\n", "keep", "k", "ms", "vs 1.0");
    double base = 0;
    const float ratios[3] = {1.0f, 0.5f, 0.25f};
    for (int r = 0; r < 3; r++) {
        int k = (int)(ratios[r] * Ni + 0.999f);
        vt_dit_inputs in = {.batch = B, .frames = 1, .height = 32, .width = 32, .x = x, .t = t, .cond = cond,
                            .cond_len = Lt + k};
        vt_dit_forward(d, &in, out);
        double best = 1e30;
        for (int rep = 0; rep < 5; rep++) {
            double s = now();
            if (vt_dit_forward(d, &in, out)) {
                fprintf(stderr, "vt-bench-prune: %s\n", vt_context_error(ctx));
                return 1;
            }
            double e = now() - s;
            if (e < best) best = e;
        }
        if (r == 0) base = best;
        printf("%-10.2f %6d %10.2f %10.2f\n", ratios[r], k, best * 1e3, best / base);
    }
    vt_dit_destroy(&d);
    vt_st_close(&f);
    vt_backend_destroy(&be);
    unlink(path);
    free(x), free(out), free(cond);
    vt_context_destroy(&ctx);
    return 0;
}
