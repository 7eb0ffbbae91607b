/* Stage read_video: decodes a video file (anything FFmpeg opens) into the
 * "frames" slot, scaled and resampled in time to the requested size and rate. */
#include <stdlib.h>

#include "stage_util.h"
#include "vitrail_stage.h"

static const vt_slot_spec outputs[] = {
    {"frames", VT_SLOT_FRAMES, 0, "the clip, (1, 3, T, H, W) in [-1, 1]"},
    {NULL, 0, 0, NULL},
};

static const vt_param_spec params[] = {
    {"path", VT_PARAM_STRING, NULL, 0, 0, NULL, "video file (MP4, WebM, MKV, GIF, ...)"},
    {"width", VT_PARAM_INT, "0", 0, 16384, NULL, "target width; 0: the model's, or the file's without a model"},
    {"height", VT_PARAM_INT, "0", 0, 16384, NULL, "target height; 0: the model's, or the file's without a model"},
    {"fps", VT_PARAM_FLOAT, "0", 0, 1000, NULL, "target frame rate (nearest earlier frame); 0 keeps the file's"},
    {"frames", VT_PARAM_INT, "0", 0, 100000, NULL, "at most this many frames; 0 = all"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static int run(vt_stage_run *r) {
    int mh, mw;
    vt_stage_model_input_size(r, &mh, &mw);
    int W = (int)vt_stage_param_num(r, "width"), H = (int)vt_stage_param_num(r, "height");
    vt_video_load_params lp = {W ? W : mw, H ? H : mh, vt_stage_param_num(r, "fps"), (int)vt_stage_param_num(r, "frames")};
    vt_video v;
    int rc = vt_video_load(vt_stage_context(r), vt_stage_param_str(r, "path"), &lp, &v);
    if (rc) return rc;
    int64_t shape[5] = {1, 3, v.frames, v.height, v.width};
    vt_value *out = vt_stage_output(r, "frames", 5, shape, 0);
    if (!out) {
        vt_video_free(&v);
        return vt_stage_error(r, VT_E_NOMEM, "out of memory for %d frames", v.frames);
    }
    const size_t plane = (size_t)v.width * v.height;
    for (int t = 0; t < v.frames; t++)
        for (size_t p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++)
                out->data[((size_t)c * v.frames + t) * plane + p] = v.pixels[((size_t)t * plane + p) * 3 + c] / 127.5f - 1.0f;
    vt_video_free(&v);
    return VT_OK;
}

const vt_stage_desc vt_stage_read_video = {
    .api_version = VT_STAGE_API_VERSION,
    .name = "read_video",
    .summary = "decode a video file into frames, at a chosen size and frame rate",
    .outputs = outputs,
    .params = params,
    .run = run,
};
