/* Stage write_video: encodes the "frames" slot (item 0) as MP4 or GIF, chosen by
 * the file name, at the given frame rate. */
#include <stdlib.h>

#include "vitrail_stage.h"

static const vt_slot_spec inputs[] = {
    {"frames", VT_SLOT_FRAMES, 0, "(B, 3, T, H, W) in [-1, 1]; item 0 is written"},
    {NULL, 0, 0, NULL},
};

static const vt_param_spec params[] = {
    {"path", VT_PARAM_STRING, NULL, 0, 0, NULL, "output .mp4 or .gif (temporary name, then renamed)"},
    {"fps", VT_PARAM_FLOAT, "8", 0.1, 1000, NULL, "frames per second"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static int run(vt_stage_run *r) {
    const vt_value *f = vt_stage_input(r, "frames");
    if (f->ndim != 5 || f->shape[1] != 3)
        return vt_stage_error(r, VT_E_SHAPE, "frames must be (B, 3, T, H, W)");
    const int T = (int)f->shape[2], H = (int)f->shape[3], W = (int)f->shape[4];
    const size_t plane = (size_t)W * H;
    vt_video v = {W, H, T, vt_stage_param_num(r, "fps"), 0, malloc((size_t)T * plane * 3)};
    if (!v.pixels) return vt_stage_error(r, VT_E_NOMEM, "out of memory");
    for (int t = 0; t < T; t++)
        for (size_t p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++) {
                float x = (f->data[((size_t)c * T + t) * plane + p] + 1.0f) * 127.5f;
                v.pixels[((size_t)t * plane + p) * 3 + c] = (unsigned char)(x < 0 ? 0 : x > 255 ? 255 : x + 0.5f);
            }
    int rc = vt_video_save(vt_stage_context(r), vt_stage_param_str(r, "path"), &v);
    vt_video_free(&v);
    return rc;
}

const vt_stage_desc vt_stage_write_video = {
    .api_version = VT_STAGE_API_VERSION,
    .name = "write_video",
    .summary = "encode frames as MP4 (H.264 or MPEG-4) or GIF",
    .inputs = inputs,
    .params = params,
    .run = run,
};
