/* The ViT image encoder (timm VisionTransformer, pre-LN), and the pre-LN
 * transformer stack it shares with the text encoder: one definition of the
 * block so the two encoders cannot drift apart. */
#ifndef VT_ENCODERS_VIT_H
#define VT_ENCODERS_VIT_H

#include <stdint.h>

#include "backend.h"
#include "json.h"
#include "safetensors.h"

/* A torch.nn.Linear's weights as f32. */
typedef struct vt_enc_linear {
    float *w;  /* (out, in) */
    float *b;  /* (out) */
    int out, in;
} vt_enc_linear;

/* An affine LayerNorm's weights. */
typedef struct vt_enc_norm {
    float *w;  /* (dim) */
    float *b;  /* (dim) */
    int dim;
} vt_enc_norm;

/* timm Block: x += proj(attn(norm1(x))); x += fc2(gelu(fc1(norm2(x)))). */
typedef struct vt_enc_block {
    vt_enc_norm norm1;     /* (D) */
    vt_enc_linear qkv;     /* (3D, D) */
    vt_enc_linear proj;    /* (D, D) */
    vt_enc_norm norm2;     /* (D) */
    vt_enc_linear fc1;     /* (M, D) */
    vt_enc_linear fc2;     /* (D, M) */
} vt_enc_block;

typedef struct vt_enc_stack {
    int depth, hidden, heads, mlp_hidden;
    vt_enc_block *blocks;  /* (depth) */
    vt_enc_norm norm;      /* (D) the final LayerNorm */
} vt_enc_stack;

#define VT_ENC_LN_EPS 1e-6f /* timm's ViT and our text encoder */

/* Loads tensor `name` as f32 into a new buffer, requiring exactly the shape
 * (ndim dims of `shape`); errors name the tensor and both shapes. */
int vt_enc_load(vt_context *ctx, const vt_st_file *f, const char *name, int ndim, const int64_t *shape, float **out);
int vt_enc_load_linear(vt_context *ctx, const vt_st_file *f, const char *prefix, int out, int in, vt_enc_linear *l);
int vt_enc_load_norm(vt_context *ctx, const vt_st_file *f, const char *prefix, int dim, vt_enc_norm *n);
void vt_enc_linear_free(vt_enc_linear *l);
void vt_enc_norm_free(vt_enc_norm *n);

/* y (M, out) = act(x (M, in) · wᵀ + b) on the backend. */
int vt_enc_linear_apply(vt_backend *be, const vt_enc_linear *l, float *y, const float *x, int64_t M, vt_act act);
int vt_enc_norm_apply(vt_backend *be, const vt_enc_norm *n, float *y, const float *x, int64_t M);

/* Reads an encoder section {hidden, depth, heads, mlp_ratio} of the config;
 * `what` names it in errors. mlp_ratio defaults to 4. */
int vt_enc_parse_dims(vt_context *ctx, const vt_json *sec, const char *what, int *hidden, int *depth, int *heads,
                      int *mlp_hidden);

/* A member of config section `sec` that must be an integer in 1..max; errors
 * name "what.key". */
int vt_enc_get_int(vt_context *ctx, const vt_json *sec, const char *what, const char *key, int max, int *out);

/* Loads `prefix`blocks.N.* and `prefix`norm.* */
int vt_enc_stack_load(vt_context *ctx, const vt_st_file *f, const char *prefix, int depth, int hidden, int heads,
                      int mlp_hidden, vt_enc_stack *s);
void vt_enc_stack_free(vt_enc_stack *s);
/* Runs every block then the final norm, in place on x (B, N, D). key_mask (B, N)
 * (optional, nonzero = present) hides padding keys from self-attention. */
int vt_enc_stack_forward(vt_context *ctx, vt_backend *be, const vt_enc_stack *s, float *x, int B, int N,
                         const float *key_mask);

/* Parses the "config" metadata of f into a JSON tree (caller frees). */
int vt_enc_config(vt_context *ctx, const vt_st_file *f, vt_json **out);

typedef struct vt_vit vt_vit;

typedef struct vt_vit_shape {
    int image_size;  /* H = W the model takes */
    int patch;
    int hidden;      /* D */
    int tokens;      /* 1 + (image_size/patch)², the class token first */
} vt_vit_shape;

/* Loads image_encoder.* as described by config "image_encoder". */
int vt_vit_create(vt_context *ctx, vt_backend *be, const vt_st_file *f, vt_vit **out);
void vt_vit_destroy(vt_vit **v);
vt_vit_shape vt_vit_get_shape(const vt_vit *v);
/* images (B, 3, S, S) in [-1, 1] -> out (B, 1 + N, D), timm forward_features
 * (class token first, after the final norm). */
int vt_vit_forward(vt_vit *v, int B, const float *images, float *out);

#endif
