/* Token pruning: keep the k = ceil(keep_ratio·N) highest-scoring tokens of each
 * sequence in their original order, optionally merging every dropped token into
 * its most similar kept token (ToMe-style averaging). */
#ifndef VT_ENCODERS_TOKEN_PRUNE_H
#define VT_ENCODERS_TOKEN_PRUNE_H

#include <stdint.h>

#include "vitrail.h"

typedef enum vt_prune_method {
    VT_PRUNE_ATTN = 0,  /* highest attention-map score (the text→image map) */
    VT_PRUNE_NORM,      /* highest L2 norm of the token */
    VT_PRUNE_RANDOM,    /* highest vt_rng_uniform(seed, stream 0, offset b·N + n) */
} vt_prune_method;

typedef struct vt_prune_params {
    float keep_ratio;       /* (0, 1] */
    vt_prune_method method;
    int merge;              /* average dropped tokens into their nearest kept one */
    uint64_t seed;          /* RANDOM */
} vt_prune_params;

vt_prune_params vt_prune_default_params(void);
/* Parses "attn", "norm", "random"; -1 when unknown. */
int vt_prune_method_parse(const char *s);
/* The number of tokens kept of N: ceil(keep_ratio·N), at least 1 and at most N. */
int vt_prune_keep_count(float keep_ratio, int N);

/* tokens (B, N, D), map (B, N) (needed by ATTN only) -> out (B, k, D) and
 * kept (B, k) token indices, increasing. Ties rank the lower index first. */
int vt_token_prune(vt_context *ctx, const vt_prune_params *p, int B, int N, int D, const float *tokens, const float *map,
                   float *out, int32_t *kept);

#endif
