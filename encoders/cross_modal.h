/* Cross-modal fusion: image tokens attend to text tokens (pre-LN cross-attention
 * blocks with an MLP), and the text→image attention map that token pruning
 * ranks image tokens by (docs/encoders.md). */
#ifndef VT_ENCODERS_CROSS_MODAL_H
#define VT_ENCODERS_CROSS_MODAL_H

#include "backend.h"
#include "safetensors.h"

typedef struct vt_cross_modal vt_cross_modal;

typedef struct vt_cross_modal_shape {
    int image_dim;  /* Di: image_encoder.hidden */
    int text_dim;   /* Dt: text_encoder.hidden */
    int depth, heads, mlp_hidden;
} vt_cross_modal_shape;

/* Loads cross_modal.* as described by config "cross_modal" (and the hidden sizes
 * of "image_encoder" and "text_encoder"). */
int vt_cross_modal_create(vt_context *ctx, vt_backend *be, const vt_st_file *f, vt_cross_modal **out);
void vt_cross_modal_destroy(vt_cross_modal **cm);
vt_cross_modal_shape vt_cross_modal_get_shape(const vt_cross_modal *cm);
/* image (B, Ni, Di), text (B, Nt, Dt), text_mask (B, Nt) (optional, nonzero =
 * present; each row needs one) -> fused (B, Ni, Di), and map (B, Ni) (optional):
 * the last block's text-to-image attention, softmax over image tokens, averaged
 * over heads and present text tokens (each row sums to 1). */
int vt_cross_modal_forward(vt_cross_modal *cm, int B, int Ni, const float *image, int Nt, const float *text,
                           const float *text_mask, float *fused, float *map);

#endif
