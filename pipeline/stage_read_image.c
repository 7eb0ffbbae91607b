/* Stage read_image: decodes an image file into the "frames" slot, resized to a
 * target size by a stated policy: crop (scale to cover, centre crop), fit (scale
 * to fit inside, pad with black, letterbox) or stretch. */
#include <stdlib.h>
#include <string.h>

#include <stb_image_resize.h>

#include "stage_util.h"
#include "vitrail_stage.h"

static const vt_slot_spec outputs[] = {
    {"frames", VT_SLOT_FRAMES, 0, "the image, (1, 3, 1, H, W) in [-1, 1]"},
    {NULL, 0, 0, NULL},
};

static const vt_param_spec params[] = {
    {"path", VT_PARAM_STRING, NULL, 0, 0, NULL, "image file (PNG, JPEG, BMP, TGA)"},
    {"width", VT_PARAM_INT, "0", 0, 16384, NULL, "target width; 0: the model's, or the file's without a model"},
    {"height", VT_PARAM_INT, "0", 0, 16384, NULL, "target height; 0: the model's, or the file's without a model"},
    {"resize", VT_PARAM_ENUM, "crop", 0, 0, "crop|fit|stretch", "how the aspect ratio is reconciled"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static int run(vt_stage_run *r) {
    vt_context *ctx = vt_stage_context(r);
    vt_image img;
    int rc = vt_image_load(ctx, vt_stage_param_str(r, "path"), &img);
    if (rc) return rc;
    int W = (int)vt_stage_param_num(r, "width"), H = (int)vt_stage_param_num(r, "height"), mh, mw;
    vt_stage_model_input_size(r, &mh, &mw);
    if (W == 0) W = mw ? mw : img.width;
    if (H == 0) H = mh ? mh : img.height;
    const char *mode = vt_stage_param_str(r, "resize");
    /* the region of the target the scaled image covers, and the source crop */
    int sx = 0, sy = 0, sw = img.width, sh = img.height, dx = 0, dy = 0, dw = W, dh = H;
    if (!strcmp(mode, "crop")) {
        /* keep the largest centred source window with the target's aspect */
        if ((long long)img.width * H > (long long)img.height * W) {
            sw = (int)((long long)img.height * W / H);
            sx = (img.width - sw) / 2;
        } else {
            sh = (int)((long long)img.width * H / W);
            sy = (img.height - sh) / 2;
        }
    } else if (!strcmp(mode, "fit")) {
        if ((long long)img.width * H > (long long)img.height * W) {
            dh = (int)((long long)img.height * W / img.width);
            dy = (H - dh) / 2;
        } else {
            dw = (int)((long long)img.width * H / img.height);
            dx = (W - dw) / 2;
        }
    }
    if (sw < 1) sw = 1;
    if (sh < 1) sh = 1;
    if (dw < 1) dw = 1;
    if (dh < 1) dh = 1;
    unsigned char *tmp = malloc((size_t)dw * dh * 3);
    int64_t shape[5] = {1, 3, 1, H, W};
    vt_value *v = tmp ? vt_stage_output(r, "frames", 5, shape, 0) : NULL;
    if (!v) {
        free(tmp);
        vt_image_free(&img);
        return vt_stage_error(r, VT_E_NOMEM, "out of memory");
    }
    const unsigned char *src = img.pixels + ((size_t)sy * img.width + sx) * 3;
    if (sw == dw && sh == dh) {
        /* no scaling: copy, since a resampling filter would soften the image */
        for (int y = 0; y < dh; y++) memcpy(tmp + (size_t)y * dw * 3, src + (size_t)y * img.width * 3, (size_t)dw * 3);
    } else {
        stbir_resize_uint8(src, sw, sh, img.width * 3, tmp, dw, dh, dw * 3, 3);
    }
    /* padding (fit) is black, i.e. -1 */
    for (size_t i = 0; i < (size_t)3 * W * H; i++) v->data[i] = -1.0f;
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++)
            for (int c = 0; c < 3; c++)
                v->data[((size_t)c * H + dy + y) * W + dx + x] = tmp[((size_t)y * dw + x) * 3 + c] / 127.5f - 1.0f;
    free(tmp);
    vt_image_free(&img);
    return VT_OK;
}

const vt_stage_desc vt_stage_read_image = {
    .api_version = VT_STAGE_API_VERSION,
    .name = "read_image",
    .summary = "decode an image file into frames, resized by crop, fit or stretch",
    .outputs = outputs,
    .params = params,
    .run = run,
};
