/* The text encoder: token + learned position embeddings, then pre-LN
 * transformer blocks with padding keys masked (docs/encoders.md). */
#ifndef VT_ENCODERS_TEXT_ENCODER_H
#define VT_ENCODERS_TEXT_ENCODER_H

#include <stdint.h>

#include "backend.h"
#include "safetensors.h"

typedef struct vt_text_encoder vt_text_encoder;

typedef struct vt_text_encoder_shape {
    int vocab;    /* V */
    int max_len;  /* the longest sequence, positions embedded */
    int hidden;   /* D */
} vt_text_encoder_shape;

/* Loads text_encoder.* as described by config "text_encoder". */
int vt_text_encoder_create(vt_context *ctx, vt_backend *be, const vt_st_file *f, vt_text_encoder **out);
void vt_text_encoder_destroy(vt_text_encoder **te);
vt_text_encoder_shape vt_text_encoder_get_shape(const vt_text_encoder *te);
/* ids (B, L) with 0 <= id < V, L <= max_len; mask (B, L) (optional, nonzero =
 * present; each row needs one present token) -> out (B, L, D). Padded positions
 * get outputs too (they attend to the present tokens) and are meant to be masked
 * downstream. */
int vt_text_encoder_forward(vt_text_encoder *te, int B, int L, const int32_t *ids, const float *mask, float *out);

#endif
