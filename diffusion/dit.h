/* The DiT denoiser (Peebles & Xie 2023) with vitrail's extensions: cross-attention
 * to conditioning tokens (PixArt-α placement), video token grids with temporal
 * blocks (Latte), and a per-block attention pattern read from the model config.
 * docs/model-format.md is the contract for the config keys and tensor names. */
#ifndef VT_DIFFUSION_DIT_H
#define VT_DIFFUSION_DIT_H

#include <stdint.h>

#include "backend.h"
#include "safetensors.h"

#define VT_DIT_MAX_DEPTH 256

typedef enum vt_prediction { VT_PRED_EPS = 0, VT_PRED_V = 1 } vt_prediction;

typedef struct vt_dit_config {
    int in_channels;     /* C */
    int out_channels;    /* C, or 2C with learn_sigma */
    int learn_sigma;
    int input_h, input_w; /* H, W the model was trained at */
    int frames;          /* 0 = image model; T >= 1 = video model */
    int patch;           /* p */
    int hidden;          /* D */
    int depth;
    int heads;
    int mlp_hidden;      /* round(D · mlp_ratio) */
    int num_classes;     /* 0 = unconditional on classes */
    int cond_dim;        /* 0 = no cross-attention */
    int cond_pooled;
    vt_prediction prediction;
    int train_steps;
    double timestep_scale;
    double flow_shift;
    vt_attn_desc attn[VT_DIT_MAX_DEPTH]; /* per block; grid filled at forward time */
    int attn_spatial[VT_DIT_MAX_DEPTH];  /* 1: full attention within each frame */
    char attn_text[VT_DIT_MAX_DEPTH][48];
} vt_dit_config;

/* Parses the "config" JSON of a DiT model; errors name the key at fault. */
int vt_dit_config_parse(vt_context *ctx, const char *json, vt_dit_config *cfg);
/* Parses one attention pattern string ("neighborhood 7x7 dilation 2", "temporal", ...). */
int vt_dit_parse_attention(vt_context *ctx, const char *s, vt_attn_desc *d, int *spatial);

typedef struct vt_dit vt_dit;

/* Loads the weights of `file` (converted to f32) for backend `be`. Every tensor the
 * config implies must be present with its exact shape. */
int vt_dit_create(vt_context *ctx, vt_backend *be, const vt_st_file *file, vt_dit **out);
void vt_dit_destroy(vt_dit **dit);
/* Writes a model of the given config with seeded random F16 weights (for
 * benchmarks, tests and the demo model the build makes). meta: n_meta pairs. */
int vt_dit_write_random(vt_context *ctx, const char *config, uint64_t seed, const char *const *meta, size_t n_meta,
                        const char *path);
const vt_dit_config *vt_dit_get_config(const vt_dit *dit);
vt_context *vt_dit_context(const vt_dit *dit);
/* The null conditioning token (cond_dim) used by the unconditional CFG branch. */
const float *vt_dit_null_cond(const vt_dit *dit);

/* One forward on host arrays. */
typedef struct vt_dit_inputs {
    int batch;               /* B */
    int frames;              /* T: 1 for images; 1..cfg.frames for a clip model (1 = an image) */
    int height, width;       /* H, W of x; multiples of p */
    const float *x;          /* (B, C, [T,] H, W) */
    const float *t;          /* (B) DDPM step, or t·timestep_scale for v models */
    const int32_t *y;        /* (optional) (B) class labels; num_classes = null class */
    const float *cond;       /* (optional) (B, L, cond_dim) */
    const float *cond_mask;  /* (optional) (B, L), nonzero = present; NULL = all present */
    int cond_len;            /* L */
    const float *uncond;      /* (optional) (B, Lu, cond_dim): sampling's unconditional branch; forward ignores it */
    const float *uncond_mask; /* (optional) (B, Lu) */
    int uncond_len;           /* Lu */
} vt_dit_inputs;

/* out: (B, C_out, [T,] H, W). */
int vt_dit_forward(vt_dit *dit, const vt_dit_inputs *in, float *out);

#endif
