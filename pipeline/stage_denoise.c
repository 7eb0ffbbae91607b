/* Stage denoise: the DiT denoiser and its samplers (diffusion/) on the
 * pipeline's model: seeded noise to frames, class-conditional or unconditional;
 * conditioning tokens from earlier stages when the model takes them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrail_stage.h"

static const vt_slot_spec inputs[] = {
    {"cond.tokens", VT_SLOT_TOKENS, 1, "conditioning tokens (B, L, cond_dim), for models with cross-attention"},
    {"frames", VT_SLOT_FRAMES, 1, "a starting image or clip for img2img / vid2vid (SDEdit at `strength`)"},
    {NULL, 0, 0, NULL},
};

static const vt_slot_spec outputs[] = {
    {"frames", VT_SLOT_FRAMES, 0, "the sample, (1, C, T, H, W)"},
    {"parameters", VT_SLOT_TEXT, 0, "the generation parameters, A1111 style"},
    {NULL, 0, 0, NULL},
};

static const vt_param_spec params[] = {
    {"steps", VT_PARAM_INT, "20", 1, 1000, NULL, "sampling steps"},
    {"cfg", VT_PARAM_FLOAT, "4", 0, 100, NULL, "classifier-free guidance scale (1 = none)"},
    {"seed", VT_PARAM_INT, "0", 0, 9007199254740992.0, NULL, "noise seed"},
    {"sampler", VT_PARAM_ENUM, "auto", 0, 0, "auto|ddim|dpm++2m|euler", "auto: dpm++2m for eps models, euler for velocity"},
    {"class", VT_PARAM_INT, "-1", -1, 16777216, NULL, "class label; -1 = unconditional"},
    {"eta", VT_PARAM_FLOAT, "0", 0, 1, NULL, "DDIM eta"},
    {"shift", VT_PARAM_FLOAT, "0", 0, 100, NULL, "rectified-flow timestep shift; 0 = the model's"},
    {"strength", VT_PARAM_FLOAT, "1", 0.01, 1, NULL, "with input frames: how far to noise them (1 = ignore them)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

typedef struct priv {
    vt_denoiser *dn;
} priv;

static int init(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    if (!vt_stage_model(r)) return vt_stage_error(r, VT_E_INVALID, "the pipeline has no model (--model)");
    int rc = vt_denoiser_create(vt_stage_context(r), vt_stage_model(r), NULL, &p->dn);
    if (rc) return rc;
    vt_denoiser_shape sh = vt_denoiser_get_shape(p->dn);
    int cls = (int)vt_stage_param_num(r, "class");
    if (cls >= 0 && cls >= sh.num_classes)
        return vt_stage_error(r, VT_E_INVALID, "class %d: the model has %d classes", cls, sh.num_classes);
    return VT_OK;
}

static int run(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    vt_denoiser_shape sh = vt_denoiser_get_shape(p->dn);
    const vt_value *cond = vt_stage_input(r, "cond.tokens");
    if (sh.cond_dim > 0 && !cond) return vt_stage_error(r, VT_E_INVALID, "the model needs conditioning tokens ('cond.tokens')");
    if (cond && (cond->ndim != 3 || cond->shape[0] != 1 || cond->shape[2] != sh.cond_dim))
        return vt_stage_error(r, VT_E_SHAPE, "cond.tokens must be (1, L, %d)", sh.cond_dim);
    int cls = (int)vt_stage_param_num(r, "class");
    int32_t y = cls >= 0 ? cls : sh.num_classes;
    vt_denoise_input in;
    memset(&in, 0, sizeof in);
    in.batch = 1;
    in.frames = sh.frames ? sh.frames : 1;
    in.height = sh.height;
    in.width = sh.width;
    in.y = sh.num_classes ? &y : NULL;
    if (cond && sh.cond_dim) {
        in.cond = cond->data;
        in.cond_mask = cond->mask;
        in.cond_len = (int)cond->shape[1];
    }
    vt_sample_options o = vt_sample_default_options();
    const char *smp = vt_stage_param_str(r, "sampler");
    o.sampler = strcmp(smp, "auto") ? smp : NULL;
    o.steps = (int)vt_stage_param_num(r, "steps");
    o.cfg = (float)vt_stage_param_num(r, "cfg");
    if (cls < 0 && !cond) o.cfg = 1.0f;
    o.seed = (uint64_t)vt_stage_param_num(r, "seed");
    o.eta = (float)vt_stage_param_num(r, "eta");
    o.shift = (float)vt_stage_param_num(r, "shift");
    int64_t shape[5] = {1, sh.in_channels, in.frames, sh.height, sh.width};
    /* the starting frames (if any) are copied before the output replaces the slot */
    const vt_value *start = vt_stage_input(r, "frames");
    float *ref = NULL;
    o.strength = (float)vt_stage_param_num(r, "strength");
    if (start && o.strength < 1.0f) {
        for (int i = 0; i < 5; i++)
            if (start->ndim != 5 || start->shape[i] != shape[i])
                return vt_stage_error(r, VT_E_SHAPE,
                                      "input frames are not (1, %d, %d, %d, %d): resize them to the model's size first",
                                      sh.in_channels, in.frames, sh.height, sh.width);
        size_t n = (size_t)sh.in_channels * in.frames * sh.height * sh.width;
        if (!(ref = malloc(n * sizeof *ref))) return vt_stage_error(r, VT_E_NOMEM, "out of memory");
        memcpy(ref, start->data, n * sizeof *ref);
        o.x_ref = ref;
    }
    vt_value *v = vt_stage_output(r, "frames", 5, shape, 0);
    int rc = v ? vt_denoiser_sample(p->dn, &o, &in, v->data) : vt_stage_error(r, VT_E_NOMEM, "out of memory");
    free(ref);
    if (rc) return rc;
    char text[512], what[96];
    if (cls >= 0) snprintf(what, sizeof what, "class %d", cls);
    else snprintf(what, sizeof what, "unconditional");
    if (o.x_ref) snprintf(what + strlen(what), sizeof what - strlen(what), ", from frames at strength %g", o.strength);
    snprintf(text, sizeof text, "%s\nSteps: %d, Sampler: %s, CFG scale: %g, Seed: %llu, Size: %dx%d, Version: vitrail %s",
             what, o.steps, o.sampler ? o.sampler : (sh.velocity ? "euler" : "dpm++2m"),
             o.cfg, (unsigned long long)o.seed, sh.width, sh.height, vt_version());
    return vt_stage_output_text(r, "parameters", text);
}

static void uninit(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    vt_denoiser_destroy(&p->dn);
}

const vt_stage_desc vt_stage_denoise = {
    .api_version = VT_STAGE_API_VERSION,
    .name = "denoise",
    .summary = "sample frames with the DiT denoiser (DDIM, DPM-Solver++(2M), Euler; CFG)",
    .inputs = inputs,
    .outputs = outputs,
    .params = params,
    .priv_size = sizeof(priv),
    .init = init,
    .run = run,
    .uninit = uninit,
};
