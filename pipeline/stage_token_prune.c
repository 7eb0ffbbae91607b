/* Stage token_prune: keep the image tokens that score highest (the text's
 * attention, their norm, or at random), optionally merging the rest into them
 * (encoders/token_prune.c). */
#include <stdlib.h>

#include "context.h"
#include "encoders/token_prune.h"
#include "vitrail_stage.h"

static const vt_slot_spec inputs[] = {
    {"image.fused", VT_SLOT_TOKENS, 0, "image tokens (B, N, D)"},
    {"text2image", VT_SLOT_MAP, 1, "scores (B, N); needed by method=attn"},
    {NULL, 0, 0, NULL},
};

static const vt_slot_spec outputs[] = {
    {"image.pruned", VT_SLOT_TOKENS, 0, "the kept tokens (B, k, D) in their original order, k = ceil(keep_ratio·N)"},
    {"image.kept", VT_SLOT_IDS, 0, "the kept tokens' indices (B, k), increasing"},
    {NULL, 0, 0, NULL},
};

static const vt_param_spec params[] = {
    {"keep_ratio", VT_PARAM_FLOAT, "0.5", 0.000001, 1, NULL, "fraction of tokens kept (rounded up)"},
    {"method", VT_PARAM_ENUM, "attn", 0, 0, "attn|norm|random", "rank by the text-to-image map, the L2 norm, or at random"},
    {"merge", VT_PARAM_INT, "0", 0, 1, NULL, "1: average each dropped token into its most similar kept token"},
    {"seed", VT_PARAM_INT, "0", 0, 9007199254740992.0, NULL, "seed of method=random"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static int run(vt_stage_run *r) {
    vt_context *ctx = vt_stage_context(r);
    const vt_value *x = vt_stage_input(r, "image.fused"), *map = vt_stage_input(r, "text2image");
    vt_prune_params pp = vt_prune_default_params();
    pp.keep_ratio = (float)vt_stage_param_num(r, "keep_ratio");
    pp.method = (vt_prune_method)vt_prune_method_parse(vt_stage_param_str(r, "method"));
    pp.merge = (int)vt_stage_param_num(r, "merge");
    pp.seed = (uint64_t)vt_stage_param_num(r, "seed");
    if (x->ndim != 3 || x->shape[0] < 1 || x->shape[1] < 1)
        return vt_stage_error(r, VT_E_SHAPE, "image.fused must be (B, N, D)");
    const int64_t B = x->shape[0], N = x->shape[1], D = x->shape[2];
    if (pp.method == VT_PRUNE_ATTN && !map)
        return vt_stage_error(r, VT_E_INVALID, "method=attn needs the 'text2image' map (run cross_modal first), or use method=norm");
    if (map && (map->ndim != 2 || map->shape[0] != B || map->shape[1] != N))
        return vt_stage_error(r, VT_E_SHAPE, "text2image must be (%lld, %lld) like image.fused", (long long)B, (long long)N);
    const int k = vt_prune_keep_count(pp.keep_ratio, (int)N);
    int64_t so[3] = {B, k, D}, sk[2] = {B, k};
    vt_value *out = vt_stage_output(r, "image.pruned", 3, so, 0);
    vt_value *kept = out ? vt_stage_output(r, "image.kept", 2, sk, 0) : NULL;
    if (!kept) return vt_stage_error(r, VT_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < B * k; i++) kept->mask[i] = 1.0f;
    int rc = vt_token_prune(ctx, &pp, (int)B, (int)N, (int)D, x->data, map ? map->data : NULL, out->data, kept->ids);
    return rc ? vt_stage_error(r, rc, "%s", vt_context_error(ctx)) : VT_OK;
}

const vt_stage_desc vt_stage_token_prune = {
    .api_version = VT_STAGE_API_VERSION,
    .name = "token_prune",
    .summary = "keep the image tokens the text attends to (or by norm, or at random), optionally merging the rest",
    .inputs = inputs,
    .outputs = outputs,
    .params = params,
    .run = run,
};
