/* Stage text_encode: token ids to text tokens with the model's text encoder
 * (encoders/text_encoder.c), for the prompt and, when given, the negative
 * prompt; the padding mask travels with the tokens. */
#include <string.h>

#include "backend.h"
#include "context.h"
#include "model.h"
#include "encoders/text_encoder.h"
#include "stage_util.h"
#include "vitrail_stage.h"

static const vt_slot_spec inputs[] = {
    {"text.ids", VT_SLOT_IDS, 0, "token ids (B, L)"},
    {"negative.ids", VT_SLOT_IDS, 1, "a negative prompt's token ids (B, L)"},
    {NULL, 0, 0, NULL},
};

static const vt_slot_spec outputs[] = {
    {"text.tokens", VT_SLOT_TOKENS, 0, "text tokens (B, L, D), with the ids' mask"},
    {"negative.tokens", VT_SLOT_TOKENS, 0, "the negative prompt's tokens (only when its ids are given)"},
    {NULL, 0, 0, NULL},
};

typedef struct priv {
    vt_backend *be;
    vt_text_encoder *te;
} priv;

static int init(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    vt_context *ctx = vt_stage_context(r);
    int rc = vt_stage_cpu_backend(r, &p->be);
    if (rc) return rc;
    rc = vt_text_encoder_create(ctx, p->be, vt_model_file(vt_stage_model(r)), &p->te);
    return rc ? vt_stage_error(r, rc, "%s", vt_context_error(ctx)) : VT_OK;
}

static int encode(vt_stage_run *r, const vt_value *in, const char *in_slot, const char *out_slot) {
    priv *p = vt_stage_priv(r);
    vt_context *ctx = vt_stage_context(r);
    if (in->ndim != 2 || !in->ids) return vt_stage_error(r, VT_E_SHAPE, "%s must be (B, L)", in_slot);
    const int64_t B = in->shape[0], L = in->shape[1];
    const int D = vt_text_encoder_get_shape(p->te).hidden;
    int64_t shape[3] = {B, L, D};
    vt_value *v = vt_stage_output(r, out_slot, 3, shape, 1);
    if (!v) return vt_stage_error(r, VT_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < B * L; i++) v->mask[i] = in->mask ? (in->mask[i] != 0.0f) : 1.0f;
    int rc = vt_text_encoder_forward(p->te, (int)B, (int)L, in->ids, v->mask, v->data);
    return rc ? vt_stage_error(r, rc, "%s", vt_context_error(ctx)) : VT_OK;
}

static int run(vt_stage_run *r) {
    int rc = encode(r, vt_stage_input(r, "text.ids"), "text.ids", "text.tokens");
    const vt_value *neg = vt_stage_input(r, "negative.ids");
    if (!rc && neg) rc = encode(r, neg, "negative.ids", "negative.tokens");
    return rc;
}

static void uninit(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    vt_text_encoder_destroy(&p->te);
    vt_backend_destroy(&p->be);
}

const vt_stage_desc vt_stage_text_encode = {
    .api_version = VT_STAGE_API_VERSION,
    .name = "text_encode",
    .summary = "encode token ids into text tokens with the model's text encoder",
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(priv),
    .init = init,
    .run = run,
    .uninit = uninit,
};
