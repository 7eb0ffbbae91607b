/* Stage tokenize: the prompt (and a negative prompt, when given) to token ids
 * with the model's vocabulary (encoders/tokenizer.c), padded to the text
 * encoder's max_len. */
#include <stdlib.h>

#include "context.h"
#include "model.h"
#include "encoders/tokenizer.h"
#include "encoders/vit.h"
#include "vitrail_stage.h"

static const vt_slot_spec inputs[] = {
    {"prompt", VT_SLOT_TEXT, 0, "the prompt"},
    {"negative", VT_SLOT_TEXT, 1, "a negative prompt: what guidance steers away from"},
    {NULL, 0, 0, NULL},
};

static const vt_slot_spec outputs[] = {
    {"text.ids", VT_SLOT_IDS, 0, "token ids (1, max_len): <bos> words <eos> <pad>..., mask 1 where present"},
    {"negative.ids", VT_SLOT_IDS, 0, "the negative prompt's ids, as text.ids (only when one is given)"},
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

static int encode(vt_stage_run *r, const char *in_slot, const char *out_slot) {
    priv *p = vt_stage_priv(r);
    vt_context *ctx = vt_stage_context(r);
    const vt_value *in = vt_stage_input(r, in_slot);
    const int L = vt_tokenizer_max_len(p->tok);
    int64_t shape[2] = {1, L};
    vt_value *v = vt_stage_output(r, out_slot, 2, shape, 1);
    if (!v) return vt_stage_error(r, VT_E_NOMEM, "out of memory");
    int truncated = 0, n = 0;
    int rc = vt_tokenizer_encode(ctx, p->tok, in ? in->text : NULL, v->ids, v->mask, &n, &truncated);
    if (rc) return vt_stage_error(r, rc, "%s: %s", in_slot, vt_context_error(ctx));
    if (truncated) vt_log(ctx, VT_LOG_WARN, "tokenize: the %s is longer than %d tokens; the rest is ignored", in_slot, L);
    return VT_OK;
}

static int run(vt_stage_run *r) {
    int rc = encode(r, "prompt", "text.ids");
    if (!rc && vt_stage_input(r, "negative")) rc = encode(r, "negative", "negative.ids");
    return rc;
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
