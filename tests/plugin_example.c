/* An external stage plugin, built as a shared object and loaded by the pipeline
 * suite: "invert" negates the frames (x -> -x, i.e. a photographic negative in
 * [-1, 1]); "fail_init" fails in init so the suite can see uninit still runs. */
#include <stdlib.h>
#include <string.h>

#include "vitrail_stage.h"

/* how many times each callback ran, read by the test through dlsym */
int vt_example_inits, vt_example_uninits;

static const vt_slot_spec frames_in[] = {{"frames", VT_SLOT_FRAMES, 0, "input"}, {NULL, 0, 0, NULL}};
static const vt_slot_spec frames_out[] = {{"frames", VT_SLOT_FRAMES, 0, "negated"}, {NULL, 0, 0, NULL}};
static const vt_param_spec invert_params[] = {
    {"gain", VT_PARAM_FLOAT, "1", 0, 10, NULL, "multiplies the negated values"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static int invert_run(vt_stage_run *r) {
    const vt_value *in = vt_stage_input(r, "frames");
    int ndim = in->ndim;
    int64_t shape[VT_MAX_DIMS];
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)(shape[i] = in->shape[i]);
    /* the output replaces the input slot, so keep the input first */
    float *src = malloc(n * sizeof *src);
    if (!src) return vt_stage_error(r, VT_E_NOMEM, "out of memory");
    memcpy(src, in->data, n * sizeof *src);
    float gain = (float)vt_stage_param_num(r, "gain");
    vt_value *out = vt_stage_output(r, "frames", ndim, shape, 0);
    if (!out) {
        free(src);
        return vt_stage_error(r, VT_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) out->data[i] = -gain * src[i];
    free(src);
    return VT_OK;
}

static int fail_init(vt_stage_run *r) {
    vt_example_inits++;
    return vt_stage_error(r, VT_E_INVALID, "refusing on purpose");
}

static int noop_run(vt_stage_run *r) {
    (void)r;
    return VT_OK;
}

static void count_uninit(vt_stage_run *r) {
    (void)r;
    vt_example_uninits++;
}

static const vt_stage_desc invert = {
    .api_version = VT_STAGE_API_VERSION,
    .name = "invert",
    .summary = "negate the frames (example plugin)",
    .inputs = frames_in,
    .outputs = frames_out,
    .params = invert_params,
    .run = invert_run,
    .uninit = count_uninit,
};

static const vt_stage_desc failing = {
    .api_version = VT_STAGE_API_VERSION,
    .name = "fail_init",
    .summary = "fails in init (example plugin)",
    .init = fail_init,
    .run = noop_run,
    .uninit = count_uninit,
};

static const vt_stage_desc *const stages[] = {&invert, &failing};

const vt_stage_desc *const *vt_plugin_stages(int *count, int *api_version);
const vt_stage_desc *const *vt_plugin_stages(int *count, int *api_version) {
    *count = 2;
    *api_version = VT_STAGE_API_VERSION;
    return stages;
}
