/* The public vt_denoiser: a DiT model bound to a backend, with forward and
 * sampling entry points over host arrays. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "context.h"
#include "dit.h"
#include "model.h"
#include "sampler.h"
#include "vt_config.h"
#if VT_HAVE_VULKAN
#include "vulkan/vk_backend.h"
#endif

struct vt_denoiser {
    vt_context *ctx;
    vt_backend *be;
    vt_dit *dit;
};

vt_denoiser_params vt_denoiser_default_params(void) {
    vt_denoiser_params p;
    memset(&p, 0, sizeof p);
    p.device = "cpu";
    return p;
}

vt_sample_options vt_sample_default_options(void) {
    vt_sample_options o;
    memset(&o, 0, sizeof o);
    o.steps = 20;
    o.cfg = 4.0f;
    return o;
}

int vt_denoiser_create(vt_context *ctx, const vt_model *model, const vt_denoiser_params *params, vt_denoiser **out) {
    if (!out) return vt_error(ctx, VT_E_INVALID, "vt_denoiser_create: out is NULL");
    *out = NULL;
    if (!model) return vt_error(ctx, VT_E_INVALID, "vt_denoiser_create: model is NULL");
    const char *dev = params && params->device ? params->device : "cpu";
    char picked[32];
    if (!strcmp(dev, "auto")) {
        /* a real GPU when there is one; a CPU Vulkan driver (lavapipe) is slower
         * than the CPU backend, so it is never picked */
        vt_device_desc devs[16];
        int n = vt_devices_list(ctx, devs, 16), best = -1;
        for (int i = 0; i < n && i < 16; i++) {
            if (strcmp(devs[i].backend, "vulkan")) continue;
            if (devs[i].type == VT_DEVICE_DISCRETE_GPU && (best < 0 || devs[best].type != VT_DEVICE_DISCRETE_GPU)) best = i;
            else if (devs[i].type == VT_DEVICE_INTEGRATED_GPU && best < 0) best = i;
        }
        if (best >= 0) snprintf(picked, sizeof picked, "vulkan:%d", devs[best].index);
        else snprintf(picked, sizeof picked, "cpu");
        dev = picked;
    }
    vt_denoiser *dn = calloc(1, sizeof *dn);
    if (!dn) return vt_error(ctx, VT_E_NOMEM, "out of memory");
    dn->ctx = ctx;
    int rc = VT_OK;
    if (!strcmp(dev, "cpu")) {
        dn->be = vt_backend_cpu_create(ctx);
        if (!dn->be) rc = vt_error(ctx, VT_E_NOMEM, "out of memory creating the CPU backend");
    } else if (!strncmp(dev, "vulkan", 6) && (dev[6] == 0 || dev[6] == ':')) {
#if VT_HAVE_VULKAN
        char *end = NULL;
        long idx = dev[6] == ':' ? strtol(dev + 7, &end, 10) : -1;
        if (dev[6] == ':' && (end == dev + 7 || *end || idx < 0)) {
            rc = vt_error(ctx, VT_E_INVALID, "device '%s': expected vulkan or vulkan:INDEX (see 'vitrail devices')", dev);
        } else {
            /* vulkan alone: VITRAIL_VK_DEVICE, else discrete > integrated > CPU driver */
            dn->be = vt_backend_vulkan_create(ctx, (int)idx);
            if (!dn->be) rc = VT_E_DEVICE; /* the message is the backend's */
        }
#else
        rc = vt_error(ctx, VT_E_UNSUPPORTED, "device '%s': this build has no Vulkan backend", dev);
#endif
    } else {
        rc = vt_error(ctx, VT_E_INVALID, "unknown device '%s' (auto, cpu, vulkan, vulkan:INDEX)", dev);
    }
    if (!rc) rc = vt_dit_create(ctx, dn->be, vt_model_file(model), &dn->dit);
    if (rc) {
        vt_denoiser_destroy(&dn);
        return rc;
    }
    *out = dn;
    return VT_OK;
}

void vt_denoiser_destroy(vt_denoiser **dn) {
    if (!dn || !*dn) return;
    vt_dit_destroy(&(*dn)->dit);
    vt_backend_destroy(&(*dn)->be);
    free(*dn);
    *dn = NULL;
}

static vt_denoiser_shape shape_of(const vt_dit_config *c) {
    vt_denoiser_shape s;
    memset(&s, 0, sizeof s);
    s.in_channels = c->in_channels;
    s.out_channels = c->out_channels;
    s.frames = c->frames;
    s.height = c->input_h;
    s.width = c->input_w;
    s.num_classes = c->num_classes;
    s.cond_dim = c->cond_dim;
    s.velocity = c->prediction == VT_PRED_V;
    return s;
}

vt_denoiser_shape vt_denoiser_get_shape(const vt_denoiser *dn) { return shape_of(vt_dit_get_config(dn->dit)); }

int vt_model_denoiser_shape(vt_context *ctx, const vt_model *model, vt_denoiser_shape *out) {
    if (!model || !out) return vt_error(ctx, VT_E_INVALID, "vt_model_denoiser_shape: model and out are required");
    /* the config struct holds per-block tables: too large for the stack */
    vt_dit_config *c = malloc(sizeof *c);
    if (!c) return vt_error(ctx, VT_E_NOMEM, "out of memory");
    int rc = vt_dit_config_parse(ctx, vt_model_config(model), c);
    if (!rc) *out = shape_of(c);
    free(c);
    return rc;
}

static vt_dit_inputs to_dit(const vt_denoise_input *in) {
    vt_dit_inputs d;
    memset(&d, 0, sizeof d);
    d.batch = in->batch;
    d.frames = in->frames < 1 ? 1 : in->frames;
    d.height = in->height;
    d.width = in->width;
    d.x = in->x;
    d.t = in->t;
    d.y = in->y;
    d.cond = in->cond;
    d.cond_mask = in->cond_mask;
    d.cond_len = in->cond_len;
    d.uncond = in->uncond;
    d.uncond_mask = in->uncond_mask;
    d.uncond_len = in->uncond_len;
    return d;
}

int vt_denoiser_forward(vt_denoiser *dn, const vt_denoise_input *in, float *out) {
    if (!dn || !in || !out || !in->x || !in->t) return vt_error(dn ? dn->ctx : NULL, VT_E_INVALID, "forward: x, t and out are required");
    vt_dit_inputs d = to_dit(in);
    return vt_dit_forward(dn->dit, &d, out);
}

int vt_denoiser_sample(vt_denoiser *dn, const vt_sample_options *opt, const vt_denoise_input *in, float *out) {
    if (!dn || !in || !out) return vt_error(dn ? dn->ctx : NULL, VT_E_INVALID, "sample: input and out are required");
    vt_sample_options o = opt ? *opt : vt_sample_default_options();
    const vt_dit_config *c = vt_dit_get_config(dn->dit);
    vt_sample_params sp;
    memset(&sp, 0, sizeof sp);
    if (o.sampler) {
        if (vt_sampler_parse(o.sampler, &sp.kind))
            return vt_error(dn->ctx, VT_E_INVALID, "unknown sampler '%s' (ddim, dpm++2m, euler)", o.sampler);
    } else {
        sp.kind = c->prediction == VT_PRED_V ? VT_SAMPLER_EULER : VT_SAMPLER_DPMPP_2M;
    }
    sp.steps = o.steps;
    sp.cfg = o.cfg;
    sp.seed = o.seed;
    sp.eta = o.eta;
    sp.shift = o.shift;
    sp.x_ref = o.x_ref;
    sp.strength = o.strength;
    if (o.x_ref && !(o.strength > 0.0f && o.strength <= 1.0f))
        return vt_error(dn->ctx, VT_E_INVALID, "sample: strength %g is outside (0, 1]", o.strength);
    vt_dit_inputs d = to_dit(in);
    return vt_sample(dn->dit, &sp, &d, NULL, out, o.progress, o.progress_user);
}

int vt_model_write_random(vt_context *ctx, const char *config_json, uint64_t seed, const char *path) {
    if (!config_json || !path) return vt_error(ctx, VT_E_INVALID, "vt_model_write_random: config and path are required");
    char seed_s[32];
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)seed);
    const char *meta[] = {"weights", "random (vt_model_write_random)", "seed", seed_s};
    return vt_dit_write_random(ctx, config_json, seed, meta, 2, path);
}
