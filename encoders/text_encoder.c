/* The text encoder's forward pass over backend ops; the block math is the
 * shared pre-LN stack of vit.c, so text and image encoders compute alike. */
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "text_encoder.h"
#include "vit.h"

struct vt_text_encoder {
    vt_context *ctx;
    vt_backend *be;
    vt_text_encoder_shape shape;
    float *tok_embed;    /* (V, D) */
    float *pos_embed;    /* (1, max_len, D) */
    vt_enc_stack stack;  /* text_encoder.blocks.* and text_encoder.norm */
};

int vt_text_encoder_create(vt_context *ctx, vt_backend *be, const vt_st_file *f, vt_text_encoder **out) {
    *out = NULL;
    vt_json *cfg;
    int rc = vt_enc_config(ctx, f, &cfg);
    if (rc) return rc;
    vt_text_encoder *te = calloc(1, sizeof *te);
    if (!te) {
        vt_json_free(cfg);
        return vt_error(ctx, VT_E_NOMEM, "out of memory");
    }
    te->ctx = ctx;
    te->be = be;
    const vt_json *sec = vt_json_get(cfg, "text_encoder");
    int D = 0, depth = 0, heads = 0, M = 0, V = 0, L = 0;
    rc = vt_enc_parse_dims(ctx, sec, "text_encoder", &D, &depth, &heads, &M);
    if (!rc) rc = vt_enc_get_int(ctx, sec, "text_encoder", "vocab", 1 << 24, &V);
    if (!rc) rc = vt_enc_get_int(ctx, sec, "text_encoder", "max_len", 1 << 16, &L);
    vt_json_free(cfg);
    if (!rc) {
        te->shape = (vt_text_encoder_shape){V, L, D};
        int64_t se[2] = {V, D}, sp[3] = {1, L, D};
        if (!(rc = vt_enc_load(ctx, f, "text_encoder.token_embedding.weight", 2, se, &te->tok_embed)) &&
            !(rc = vt_enc_load(ctx, f, "text_encoder.pos_embed", 3, sp, &te->pos_embed)))
            rc = vt_enc_stack_load(ctx, f, "text_encoder.", depth, D, heads, M, &te->stack);
    }
    if (rc) {
        vt_text_encoder_destroy(&te);
        return rc;
    }
    *out = te;
    return VT_OK;
}

void vt_text_encoder_destroy(vt_text_encoder **tp) {
    if (!tp || !*tp) return;
    vt_text_encoder *te = *tp;
    free(te->tok_embed);
    free(te->pos_embed);
    vt_enc_stack_free(&te->stack);
    free(te);
    *tp = NULL;
}

vt_text_encoder_shape vt_text_encoder_get_shape(const vt_text_encoder *te) { return te->shape; }

int vt_text_encoder_forward(vt_text_encoder *te, int B, int L, const int32_t *ids, const float *mask, float *out) {
    const int D = te->shape.hidden;
    if (B < 1 || L < 1 || L > te->shape.max_len)
        return vt_error(te->ctx, VT_E_SHAPE, "text encoder: ids are (%d, %d); need B >= 1 and 1 <= L <= max_len %d", B, L,
                        te->shape.max_len);
    for (int b = 0; b < B; b++) {
        int present = 0;
        for (int l = 0; l < L; l++) {
            int32_t id = ids[(size_t)b * L + l];
            if (id < 0 || id >= te->shape.vocab)
                return vt_error(te->ctx, VT_E_INVALID, "text encoder: token id %d at (%d, %d) is outside the vocabulary of %d",
                                id, b, l, te->shape.vocab);
            present += !mask || mask[(size_t)b * L + l] != 0.0f;
        }
        /* a row of padding only would make every softmax empty */
        if (!present) return vt_error(te->ctx, VT_E_INVALID, "text encoder: sequence %d has no present token", b);
    }
    for (int b = 0; b < B; b++)
        for (int l = 0; l < L; l++) {
            const float *e = te->tok_embed + (size_t)ids[(size_t)b * L + l] * D;
            const float *p = te->pos_embed + (size_t)l * D;
            float *o = out + ((size_t)b * L + l) * D;
            for (int k = 0; k < D; k++) o[k] = e[k] + p[k];
        }
    float *m01 = NULL; /* (B, L) the mask as 0/1, what the attention op reads */
    if (mask) {
        if (!(m01 = malloc((size_t)B * L * sizeof *m01))) return vt_error(te->ctx, VT_E_NOMEM, "text encoder: out of memory");
        for (size_t i = 0; i < (size_t)B * L; i++) m01[i] = mask[i] != 0.0f;
    }
    int rc = vt_enc_stack_forward(te->ctx, te->be, &te->stack, out, B, L, m01);
    free(m01);
    return rc;
}
