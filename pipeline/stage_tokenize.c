/* Stage tokenize: the prompt to token ids with the model's vocabulary
 * (encoders/tokenizer.c), padded to the text encoder's max_len. */
#include <stdlib.h>

#include "context.h"
#include "model.h"
#include "encoders/tokenizer.h"
#include "encoders/vit.h"
#include "vitrail_stage.h"

static const vt_slot_spec inputs[] = {
    {"prompt", VT_SLOT_TEXT, 0, "the prompt"},
    {NULL, 0, 0, NULL},
};

static const vt_slot_spec outputs[] = {
    {"text.ids", VT_SLOT_IDS, 0, "token ids (1, max_len): <bos> words <eos> <pad>..., mask 1 where present"},
    {NULL, 0, 0, NULL},
};

static const vt_param_spec params[] = {
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

typedef struct priv {
    vt_tokenizer *tok;
} priv;

static int init(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    vt_context *ctx = vt_stage_context(r);
    const vt_model *m = vt_stage_model(r);
    if (!m) return vt_stage_error(r, VT_E_INVALID, "the pipeline has no model (--model)");
    const vt_st_file *f = vt_model_file(m);
    vt_json *cfg;
    int rc = vt_enc_config(ctx, f, &cfg);
    int max_len = 0;
    if (!rc) {
        rc = vt_enc_get_int(ctx, vt_json_get(cfg, "text_encoder"), "text_encoder", "max_len", 1 << 16, &max_len);
        vt_json_free(cfg);
    }
    if (!rc) rc = vt_tokenizer_create(ctx, vt_st_meta(f, "vocab"), max_len, &p->tok);
    return rc ? vt_stage_error(r, rc, "%s", vt_context_error(ctx)) : VT_OK;
}

static int run(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    vt_context *ctx = vt_stage_context(r);
    const vt_value *in = vt_stage_input(r, "prompt");
    const int L = vt_tokenizer_max_len(p->tok);
    int64_t shape[2] = {1, L};
    vt_value *v = vt_stage_output(r, "text.ids", 2, shape, 1);
    if (!v) return vt_stage_error(r, VT_E_NOMEM, "out of memory");
    int truncated = 0, n = 0;
    int rc = vt_tokenizer_encode(ctx, p->tok, in ? in->text : NULL, v->ids, v->mask, &n, &truncated);
    if (rc) return vt_stage_error(r, rc, "%s", vt_context_error(ctx));
    if (truncated) vt_log(ctx, VT_LOG_WARN, "tokenize: the prompt is longer than %d tokens; the rest is ignored", L);
    return VT_OK;
}

static void uninit(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    vt_tokenizer_destroy(&p->tok);
}

const vt_stage_desc vt_stage_tokenize = {
    .api_version = VT_STAGE_API_VERSION,
    .name = "tokenize",
    .summary = "split the prompt into words and map them to the model's vocabulary",
    .inputs = inputs,
    .outputs = outputs,
    .params = params,
    .priv_size = sizeof(priv),
    .init = init,
    .run = run,
    .uninit = uninit,
};
