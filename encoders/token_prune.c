/* Token pruning by score and ToMe-style merging. Selection is a stable sort of
 * indices by score (ties keep the lower index), so the result is exact and
 * reproducible; the sizes here (hundreds of tokens) make O(N log N) moot. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "rng.h"
#include "token_prune.h"

vt_prune_params vt_prune_default_params(void) {
    vt_prune_params p = {0.5f, VT_PRUNE_ATTN, 0, 0};
    return p;
}

int vt_prune_method_parse(const char *s) {
    if (!s) return -1;
    if (!strcmp(s, "attn")) return VT_PRUNE_ATTN;
    if (!strcmp(s, "norm")) return VT_PRUNE_NORM;
    if (!strcmp(s, "random")) return VT_PRUNE_RANDOM;
    return -1;
}

int vt_prune_keep_count(float keep_ratio, int N) {
    /* the 1e-6 absorbs float error in keep_ratio (0.3 · 10 is 3.0000001, not 4) */
    double k = ceil((double)keep_ratio * N - 1e-6);
    if (k < 1) k = 1;
    if (k > N) k = N;
    return (int)k;
}

typedef struct ranked {
    double score;
    int idx;
} ranked;

static int by_score_desc(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static int by_index(const void *a, const void *b) {
    int x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int vt_token_prune(vt_context *ctx, const vt_prune_params *p, int B, int N, int D, const float *tokens, const float *map,
                   float *out, int32_t *kept) {
    if (!p || !tokens || !out || !kept) return vt_error(ctx, VT_E_INVALID, "token prune: missing argument");
    if (B < 1 || N < 1 || D < 1) return vt_error(ctx, VT_E_SHAPE, "token prune: tokens are (%d, %d, %d)", B, N, D);
    if (!(p->keep_ratio > 0.0f && p->keep_ratio <= 1.0f))
        return vt_error(ctx, VT_E_INVALID, "token prune: keep_ratio %g is outside (0, 1]", p->keep_ratio);
    if (p->method == VT_PRUNE_ATTN && !map)
        return vt_error(ctx, VT_E_INVALID, "token prune: method attn needs an attention map (B, N)");
    if (p->method < VT_PRUNE_ATTN || p->method > VT_PRUNE_RANDOM)
        return vt_error(ctx, VT_E_INVALID, "token prune: unknown method %d", (int)p->method);
    const int k = vt_prune_keep_count(p->keep_ratio, N);
    ranked *r = malloc((size_t)N * sizeof *r);       /* (N) */
    float *u = malloc((size_t)N * sizeof *u);        /* (N) random scores */
    double *inv = malloc((size_t)N * sizeof *inv);   /* (N) 1 / L2 norm, for cosines */
    int *count = malloc((size_t)k * sizeof *count);  /* (k) tokens averaged into each kept one */
    if (!r || !u || !inv || !count) {
        free(r);
        free(u);
        free(inv);
        free(count);
        return vt_error(ctx, VT_E_NOMEM, "token prune: out of memory");
    }
    for (int b = 0; b < B; b++) {
        const float *x = tokens + (size_t)b * N * D;
        float *o = out + (size_t)b * k * D;
        int32_t *kb = kept + (size_t)b * k;
        if (p->method == VT_PRUNE_RANDOM) vt_rng_uniform(p->seed, 0, (uint64_t)b * N, u, (size_t)N);
        for (int n = 0; n < N; n++) {
            double nn = 0;
            for (int d = 0; d < D; d++) nn += (double)x[(size_t)n * D + d] * x[(size_t)n * D + d];
            inv[n] = nn > 0 ? 1.0 / sqrt(nn) : 0.0;
            r[n].idx = n;
            r[n].score = p->method == VT_PRUNE_ATTN ? map[(size_t)b * N + n] : p->method == VT_PRUNE_NORM ? sqrt(nn) : u[n];
            if (isnan(r[n].score)) r[n].score = -INFINITY; /* NaN would break the sort's ordering */
        }
        qsort(r, (size_t)N, sizeof *r, by_score_desc);
        for (int j = 0; j < k; j++) kb[j] = r[j].idx;
        qsort(kb, (size_t)k, sizeof *kb, by_index);
        for (int j = 0; j < k; j++) {
            memcpy(o + (size_t)j * D, x + (size_t)kb[j] * D, (size_t)D * sizeof *o);
            count[j] = 1;
        }
        if (!p->merge || k == N) continue;
        /* every dropped token joins the kept token of highest cosine similarity
         * (ties: the earlier kept token); then each sum is divided by its count */
        for (int n = 0, j = 0; n < N; n++) {
            if (j < k && kb[j] == n) {
                j++;
                continue;
            }
            int best = 0;
            double bs = -INFINITY;
            for (int c = 0; c < k; c++) {
                const float *y = x + (size_t)kb[c] * D;
                double dot = 0;
                for (int d = 0; d < D; d++) dot += (double)x[(size_t)n * D + d] * y[d];
                double cs = dot * inv[n] * inv[kb[c]];
                if (cs > bs) {
                    bs = cs;
                    best = c;
                }
            }
            for (int d = 0; d < D; d++) o[(size_t)best * D + d] += x[(size_t)n * D + d];
            count[best]++;
        }
        for (int j = 0; j < k; j++)
            for (int d = 0; d < D; d++) o[(size_t)j * D + d] /= (float)count[j];
    }
    free(r);
    free(u);
    free(inv);
    free(count);
    return VT_OK;
}
