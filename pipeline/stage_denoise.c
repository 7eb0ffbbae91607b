/* Stage denoise: the DiT denoiser and its samplers (diffusion/) on the
 * pipeline's model: seeded noise to frames, class-conditional or unconditional;
 * conditioning tokens from earlier stages when the model takes them, a negative
 * prompt's tokens for the guidance's unconditional branch. A clip model makes
 * 1..its frames (1: an image). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitrail_stage.h"

static const vt_slot_spec inputs[] = {
    {"text.tokens", VT_SLOT_TOKENS, 1, "encoded prompt (1, Lt, cond_dim), for models with cross-attention"},
    {"image.pruned", VT_SLOT_TOKENS, 1, "pruned image tokens (1, Li, cond_dim), appended after the text tokens"},
    {"prompt", VT_SLOT_TEXT, 1, "the prompt, recorded in the generation parameters"},
    {"negative", VT_SLOT_TEXT, 1, "the negative prompt, recorded likewise"},
    {"frames", VT_SLOT_FRAMES, 1, "a starting image or clip for img2img / vid2vid (SDEdit at `strength`)"},
    {"negative.tokens", VT_SLOT_TOKENS, 1, "a negative prompt (1, Ln, cond_dim): guidance's unconditional branch"},
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
    {"device", VT_PARAM_STRING, "cpu", 0, 0, NULL, "auto, cpu, vulkan or vulkan:INDEX"},
    {"strength", VT_PARAM_FLOAT, "1", 0.01, 1, NULL, "with input frames: how far to noise them (1 = ignore them)"},
    {"frames", VT_PARAM_INT, "0", 0, 4096, NULL, "frames to make: 1 = an image; 0 = the model's (a clip model makes 1..its frames)"},
    {"width", VT_PARAM_INT, "0", 0, 65536, NULL, "0 = the model's; otherwise must be the model's (it samples at its trained size)"},
    {"height", VT_PARAM_INT, "0", 0, 65536, NULL, "0 = the model's; otherwise must be the model's"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

typedef struct priv {
    vt_denoiser *dn;
} priv;

static int init(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    if (!vt_stage_model(r)) return vt_stage_error(r, VT_E_INVALID, "the pipeline has no model (--model)");
    vt_denoiser_params dp = vt_denoiser_default_params();
    dp.device = vt_stage_param_str(r, "device");
    int rc = vt_denoiser_create(vt_stage_context(r), vt_stage_model(r), &dp, &p->dn);
    if (rc) return rc;
    vt_denoiser_shape sh = vt_denoiser_get_shape(p->dn);
    int cls = (int)vt_stage_param_num(r, "class");
    if (cls >= 0 && cls >= sh.num_classes)
        return vt_stage_error(r, VT_E_INVALID, "class %d: the model has %d classes", cls, sh.num_classes);
    int W = (int)vt_stage_param_num(r, "width"), H = (int)vt_stage_param_num(r, "height");
    if ((W && W != sh.width) || (H && H != sh.height))
        return vt_stage_error(r, VT_E_INVALID, "size %dx%d: this model samples at its trained size, %dx%d", W ? W : sh.width,
                              H ? H : sh.height, sh.width, sh.height);
    int T = (int)vt_stage_param_num(r, "frames");
    if (T > (sh.frames ? sh.frames : 1))
        return vt_stage_error(r, VT_E_INVALID, "frames %d: the model makes 1..%d", T, sh.frames ? sh.frames : 1);
    return VT_OK;
}

/* The sampler's per-step callback, forwarded to the pipeline's progress. */
static int on_step(void *user, int step, int steps) { return vt_stage_progress(user, step, steps); }

static int run(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    vt_denoiser_shape sh = vt_denoiser_get_shape(p->dn);
    /* conditioning = [text tokens; pruned image tokens], each with its mask */
    const vt_value *parts[2] = {vt_stage_input(r, "text.tokens"), vt_stage_input(r, "image.pruned")};
    const char *pname[2] = {"text.tokens", "image.pruned"};
    int L = 0;
    for (int k = 0; k < 2; k++) {
        if (!parts[k]) continue;
        if (!sh.cond_dim) return vt_stage_error(r, VT_E_INVALID, "%s given, but the model takes no conditioning tokens", pname[k]);
        if (parts[k]->ndim != 3 || parts[k]->shape[0] != 1 || parts[k]->shape[2] != sh.cond_dim)
            return vt_stage_error(r, VT_E_SHAPE, "%s must be (1, L, %d) for this model, got width %lld", pname[k], sh.cond_dim,
                                  (long long)(parts[k]->ndim == 3 ? parts[k]->shape[2] : 0));
        L += (int)parts[k]->shape[1];
    }
    if (sh.cond_dim > 0 && L == 0)
        return vt_stage_error(r, VT_E_INVALID, "the model needs conditioning tokens: run tokenize and text_encode before denoise");
    float *cbuf = L ? malloc((size_t)L * sh.cond_dim * sizeof *cbuf) : NULL, *mbuf = L ? malloc((size_t)L * sizeof *mbuf) : NULL;
    if (L && (!cbuf || !mbuf)) {
        free(cbuf), free(mbuf);
        return vt_stage_error(r, VT_E_NOMEM, "out of memory");
    }
    for (int k = 0, at = 0; k < 2; k++) {
        if (!parts[k]) continue;
        int n = (int)parts[k]->shape[1];
        memcpy(cbuf + (size_t)at * sh.cond_dim, parts[k]->data, (size_t)n * sh.cond_dim * sizeof *cbuf);
        for (int i = 0; i < n; i++) mbuf[at + i] = parts[k]->mask ? parts[k]->mask[i] : 1.0f;
        at += n;
    }
    int cls = (int)vt_stage_param_num(r, "class");
    int32_t y = cls >= 0 ? cls : sh.num_classes;
    vt_denoise_input in;
    memset(&in, 0, sizeof in);
    in.batch = 1;
    in.frames = (int)vt_stage_param_num(r, "frames");
    if (!in.frames) in.frames = sh.frames ? sh.frames : 1;
    in.height = sh.height;
    in.width = sh.width;
    in.y = sh.num_classes ? &y : NULL;
    if (L) {
        in.cond = cbuf;
        in.cond_mask = mbuf;
        in.cond_len = L;
    }
    const vt_value *neg = vt_stage_input(r, "negative.tokens");
    if (neg) {
        if (!sh.cond_dim || neg->ndim != 3 || neg->shape[0] != 1 || neg->shape[2] != sh.cond_dim || neg->shape[1] < 1) {
            free(cbuf), free(mbuf);
            return vt_stage_error(r, VT_E_SHAPE, "negative.tokens must be (1, L, %d) for this model", sh.cond_dim);
        }
        in.uncond = neg->data;
        in.uncond_mask = neg->mask;
        in.uncond_len = (int)neg->shape[1];
    }
    vt_sample_options o = vt_sample_default_options();
    const char *smp = vt_stage_param_str(r, "sampler");
    o.sampler = strcmp(smp, "auto") ? smp : NULL;
    o.steps = (int)vt_stage_param_num(r, "steps");
    o.cfg = (float)vt_stage_param_num(r, "cfg");
    if (cls < 0 && !L) o.cfg = 1.0f;
    o.seed = (uint64_t)vt_stage_param_num(r, "seed");
    o.eta = (float)vt_stage_param_num(r, "eta");
    o.shift = (float)vt_stage_param_num(r, "shift");
    o.progress = on_step;
    o.progress_user = r;
    int64_t shape[5] = {1, sh.in_channels, in.frames, sh.height, sh.width};
    /* the starting frames (if any) are copied before the output replaces the slot */
    const vt_value *start = vt_stage_input(r, "frames");
    float *ref = NULL;
    o.strength = (float)vt_stage_param_num(r, "strength");
    int rc = VT_OK;
    if (start && o.strength < 1.0f) {
        /* a single image may start a clip: it is repeated over the model's frames */
        int ok = start->ndim == 5 && start->shape[0] == 1 && start->shape[1] == shape[1] && start->shape[3] == shape[3] &&
                 start->shape[4] == shape[4] && (start->shape[2] == shape[2] || start->shape[2] == 1);
        if (!ok) {
            rc = vt_stage_error(r, VT_E_SHAPE, "input frames are not (1, %d, %d or 1, %d, %d): resize them to the model's size first",
                                sh.in_channels, in.frames, sh.height, sh.width);
            goto out;
        }
        const size_t plane = (size_t)sh.height * sh.width, n = (size_t)sh.in_channels * in.frames * plane;
        if (!(ref = malloc(n * sizeof *ref))) {
            rc = vt_stage_error(r, VT_E_NOMEM, "out of memory");
            goto out;
        }
        for (int ch = 0; ch < sh.in_channels; ch++)
            for (int t = 0; t < in.frames; t++)
                memcpy(ref + ((size_t)ch * in.frames + t) * plane,
                       start->data + ((size_t)ch * start->shape[2] + (start->shape[2] == 1 ? 0 : t)) * plane, plane * sizeof *ref);
        o.x_ref = ref;
    }
    vt_value *v = vt_stage_output(r, "frames", 5, shape, 0);
    rc = v ? vt_denoiser_sample(p->dn, &o, &in, v->data) : vt_stage_error(r, VT_E_NOMEM, "out of memory");
out:
    free(ref);
    free(cbuf);
    free(mbuf);
    if (rc) return rc;
    char text[1024], what[512];
    const vt_value *prompt = vt_stage_input(r, "prompt");
    if (prompt && prompt->text) snprintf(what, sizeof what, "%.400s", prompt->text);
    else if (cls >= 0) snprintf(what, sizeof what, "class %d", cls);
    else snprintf(what, sizeof what, "unconditional");
    char from[64] = "", negp[480] = "", frames[32] = "";
    if (o.x_ref) snprintf(from, sizeof from, ", Denoising strength: %g", o.strength);
    const vt_value *negtext = vt_stage_input(r, "negative");
    if (neg && negtext && negtext->text) snprintf(negp, sizeof negp, "\nNegative prompt: %.400s", negtext->text);
    if (in.frames > 1) snprintf(frames, sizeof frames, ", Frames: %d", in.frames);
    const vt_model *model = vt_stage_model(r);
    snprintf(text, sizeof text,
             "%s%s\nSteps: %d, Sampler: %s, CFG scale: %g, Seed: %llu, Size: %dx%d%s%s, Model: %.200s, Model hash: %s, "
             "Version: vitrail %s",
             what, negp, o.steps, o.sampler ? o.sampler : (sh.velocity ? "euler" : "dpm++2m"), o.cfg,
             (unsigned long long)o.seed, sh.width, sh.height, frames, from, vt_model_name(model), vt_model_hash(model),
             vt_version());
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
