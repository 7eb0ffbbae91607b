/* Stage write_image: encodes the first frame of the "frames" slot as a PNG, with
 * the pipeline's generation parameters in its tEXt chunk. */
#include <stdlib.h>

#include "vitrail_stage.h"

static const vt_slot_spec inputs[] = {
    {"frames", VT_SLOT_FRAMES, 0, "(B, 3, T, H, W) in [-1, 1]; item 0, frame 0 is written"},
    {"parameters", VT_SLOT_TEXT, 1, "generation parameters for the PNG's tEXt chunk"},
    {NULL, 0, 0, NULL},
};

static const vt_param_spec params[] = {
    {"path", VT_PARAM_STRING, NULL, 0, 0, NULL, "output PNG (written to a temporary name, then renamed)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static int run(vt_stage_run *r) {
    const vt_value *f = vt_stage_input(r, "frames");
    if (f->ndim != 5 || f->shape[1] != 3)
        return vt_stage_error(r, VT_E_SHAPE, "frames must be (B, 3, T, H, W), got %d dims with %lld channels", f->ndim,
                              (long long)(f->ndim > 1 ? f->shape[1] : 0));
    const int64_t T = f->shape[2], H = f->shape[3], W = f->shape[4];
    vt_image img = {(int)W, (int)H, malloc((size_t)W * H * 3)};
    if (!img.pixels) return vt_stage_error(r, VT_E_NOMEM, "out of memory");
    for (int c = 0; c < 3; c++)
        for (int64_t p = 0; p < H * W; p++) {
            float v = (f->data[(size_t)c * T * H * W + p] + 1.0f) * 127.5f;
            img.pixels[p * 3 + c] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
        }
    const vt_value *params_v = vt_stage_input(r, "parameters");
    int rc = vt_image_save_png(vt_stage_context(r), vt_stage_param_str(r, "path"), &img, params_v ? params_v->text : NULL);
    vt_image_free(&img);
    return rc;
}

const vt_stage_desc vt_stage_write_image = {
    .api_version = VT_STAGE_API_VERSION,
    .name = "write_image",
    .summary = "encode frames as a PNG carrying the generation parameters",
    .inputs = inputs,
    .params = params,
    .run = run,
};
