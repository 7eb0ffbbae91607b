/* Stage text_encode: token ids to text tokens with the model's text encoder
 * (encoders/text_encoder.c); the padding mask travels with the tokens. */
#include <string.h>

#include "backend.h"
#include "context.h"
#include "model.h"
#include "encoders/text_encoder.h"
#include "stage_util.h"
#include "vitrail_stage.h"

static const vt_slot_spec inputs[] = {
    {"text.ids", VT_SLOT_IDS, 0, "token ids (B, L)"},
    {NULL, 0, 0, NULL},
};

static const vt_slot_spec outputs[] = {
    {"text.tokens", VT_SLOT_TOKENS, 0, "text tokens (B, L, D), with the ids' mask"},
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

static int run(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    vt_context *ctx = vt_stage_context(r);
    const vt_value *in = vt_stage_input(r, "text.ids");
    if (in->ndim != 2 || !in->ids) return vt_stage_error(r, VT_E_SHAPE, "text.ids must be (B, L)");
    const int64_t B = in->shape[0], L = in->shape[1];
    const int D = vt_text_encoder_get_shape(p->te).hidden;
    int64_t shape[3] = {B, L, D};
    vt_value *v = vt_stage_output(r, "text.tokens", 3, shape, 1);
    if (!v) return vt_stage_error(r, VT_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < B * L; i++) v->mask[i] = in->mask ? (in->mask[i] != 0.0f) : 1.0f;
    int rc = vt_text_encoder_forward(p->te, (int)B, (int)L, in->ids, v->mask, v->data);
    return rc ? vt_stage_error(r, rc, "%s", vt_context_error(ctx)) : VT_OK;
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
