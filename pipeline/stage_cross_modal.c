/* Stage cross_modal: image tokens attend to the text tokens
 * (encoders/cross_modal.c); also the text→image map that token_prune ranks by. */
#include "backend.h"
#include "context.h"
#include "encoders/cross_modal.h"
#include "model.h"
#include "stage_util.h"
#include "vitrail_stage.h"

static const vt_slot_spec inputs[] = {
    {"image.tokens", VT_SLOT_TOKENS, 0, "image tokens (B, Ni, Di)"},
    {"text.tokens", VT_SLOT_TOKENS, 0, "text tokens (B, Nt, Dt), padding masked"},
    {NULL, 0, 0, NULL},
};

static const vt_slot_spec outputs[] = {
    {"image.fused", VT_SLOT_TOKENS, 0, "image tokens after cross-attention to the text (B, Ni, Di)"},
    {"text2image", VT_SLOT_MAP, 0, "text-to-image attention per image token (B, Ni), each row sums to 1"},
    {NULL, 0, 0, NULL},
};

typedef struct priv {
    vt_backend *be;
    vt_cross_modal *cm;
} priv;

static int init(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    vt_context *ctx = vt_stage_context(r);
    int rc = vt_stage_cpu_backend(r, &p->be);
    if (rc) return rc;
    rc = vt_cross_modal_create(ctx, p->be, vt_model_file(vt_stage_model(r)), &p->cm);
    return rc ? vt_stage_error(r, rc, "%s", vt_context_error(ctx)) : VT_OK;
}

static int run(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    vt_context *ctx = vt_stage_context(r);
    const vt_value *img = vt_stage_input(r, "image.tokens"), *txt = vt_stage_input(r, "text.tokens");
    const vt_cross_modal_shape sh = vt_cross_modal_get_shape(p->cm);
    if (img->ndim != 3 || img->shape[2] != sh.image_dim)
        return vt_stage_error(r, VT_E_SHAPE, "image.tokens must be (B, N, %d)", sh.image_dim);
    if (txt->ndim != 3 || txt->shape[2] != sh.text_dim || txt->shape[0] != img->shape[0])
        return vt_stage_error(r, VT_E_SHAPE, "text.tokens must be (%lld, L, %d)", (long long)img->shape[0], sh.text_dim);
    const int64_t B = img->shape[0], Ni = img->shape[1], Nt = txt->shape[1];
    int64_t sf[3] = {B, Ni, sh.image_dim}, sm[2] = {B, Ni};
    vt_value *fused = vt_stage_output(r, "image.fused", 3, sf, 0);
    vt_value *map = fused ? vt_stage_output(r, "text2image", 2, sm, 0) : NULL;
    if (!map) return vt_stage_error(r, VT_E_NOMEM, "out of memory");
    int rc = vt_cross_modal_forward(p->cm, (int)B, (int)Ni, img->data, (int)Nt, txt->data, txt->mask, fused->data, map->data);
    return rc ? vt_stage_error(r, rc, "%s", vt_context_error(ctx)) : VT_OK;
}

static void uninit(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    vt_cross_modal_destroy(&p->cm);
    vt_backend_destroy(&p->be);
}

const vt_stage_desc vt_stage_cross_modal = {
    .api_version = VT_STAGE_API_VERSION,
    .name = "cross_modal",
    .summary = "fuse image tokens with the text by cross-attention; the text-to-image attention map",
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(priv),
    .init = init,
    .run = run,
    .uninit = uninit,
};
