/* Stage image_encode: frames to image tokens with the model's ViT
 * (encoders/vit.c), frame by frame, the frames' tokens concatenated. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "context.h"
#include "model.h"
#include "encoders/vit.h"
#include "stage_util.h"
#include "vitrail_stage.h"

static const vt_slot_spec inputs[] = {
    {"frames", VT_SLOT_FRAMES, 0, "pixels (B, 3, T, S, S) in [-1, 1], S the encoder's image_size"},
    {NULL, 0, 0, NULL},
};

static const vt_slot_spec outputs[] = {
    {"image.tokens", VT_SLOT_TOKENS, 0, "(B, T·(1 + N), D): per frame the class token then N patch tokens"},
    {NULL, 0, 0, NULL},
};

typedef struct priv {
    vt_backend *be;
    vt_vit *vit;
} priv;

static int init(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    vt_context *ctx = vt_stage_context(r);
    int rc = vt_stage_cpu_backend(r, &p->be);
    if (rc) return rc;
    rc = vt_vit_create(ctx, p->be, vt_model_file(vt_stage_model(r)), &p->vit);
    return rc ? vt_stage_error(r, rc, "%s", vt_context_error(ctx)) : VT_OK;
}

static int run(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    vt_context *ctx = vt_stage_context(r);
    const vt_value *in = vt_stage_input(r, "frames");
    const vt_vit_shape sh = vt_vit_get_shape(p->vit);
    const int S = sh.image_size, NT = sh.tokens, D = sh.hidden;
    if (in->ndim != 5 || in->shape[1] != 3 || in->shape[3] != S || in->shape[4] != S || in->shape[0] < 1 || in->shape[2] < 1)
        return vt_stage_error(r, VT_E_SHAPE, "frames must be (B, 3, T, %d, %d): resize them to the encoder's size first", S, S);
    const int64_t B = in->shape[0], T = in->shape[2];
    const size_t plane = (size_t)S * S;
    int64_t shape[3] = {B, T * NT, D};
    float *img = malloc((size_t)B * 3 * plane * sizeof *img);  /* (B, 3, S, S) one frame */
    float *tok = malloc((size_t)B * NT * D * sizeof *tok);     /* (B, 1 + N, D) one frame's tokens */
    vt_value *v = img && tok ? vt_stage_output(r, "image.tokens", 3, shape, 0) : NULL;
    int rc = v ? VT_OK : vt_stage_error(r, VT_E_NOMEM, "out of memory");
    for (int64_t t = 0; !rc && t < T; t++) {
        for (int64_t b = 0; b < B; b++)
            for (int c = 0; c < 3; c++)
                memcpy(img + ((size_t)b * 3 + c) * plane, in->data + (((size_t)b * 3 + c) * T + t) * plane, plane * sizeof *img);
        if ((rc = vt_vit_forward(p->vit, (int)B, img, tok))) {
            rc = vt_stage_error(r, rc, "frame %lld: %s", (long long)t, vt_context_error(ctx));
            break;
        }
        for (int64_t b = 0; b < B; b++)
            memcpy(v->data + ((size_t)b * T * NT + (size_t)t * NT) * D, tok + (size_t)b * NT * D, (size_t)NT * D * sizeof *tok);
    }
    free(img);
    free(tok);
    return rc;
}

static void uninit(vt_stage_run *r) {
    priv *p = vt_stage_priv(r);
    vt_vit_destroy(&p->vit);
    vt_backend_destroy(&p->be);
}

const vt_stage_desc vt_stage_image_encode = {
    .api_version = VT_STAGE_API_VERSION,
    .name = "image_encode",
    .summary = "encode an image or clip into image tokens with the model's ViT, frame by frame",
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(priv),
    .init = init,
    .run = run,
    .uninit = uninit,
};
