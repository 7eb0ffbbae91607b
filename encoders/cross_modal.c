/* Cross-modal fusion blocks over backend ops, and the text→image map, which is
 * computed directly (Nt·Ni scores per head): the backend's attention op never
 * exposes its probabilities, and this map is small. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "cross_modal.h"
#include "vit.h"

typedef struct xblock {
    vt_enc_norm norm_q;    /* (Di) */
    vt_enc_norm norm_kv;   /* (Dt) */
    vt_enc_linear q;       /* (Di, Di) */
    vt_enc_linear kv;      /* (2Di, Dt): keys then values */
    vt_enc_linear proj;    /* (Di, Di) */
    vt_enc_norm norm2;     /* (Di) */
    vt_enc_linear fc1;     /* (M, Di) */
    vt_enc_linear fc2;     /* (Di, M) */
} xblock;

struct vt_cross_modal {
    vt_context *ctx;
    vt_backend *be;
    vt_cross_modal_shape shape;
    xblock *blocks;  /* (depth) */
};

static void free_blocks(vt_cross_modal *cm) {
    for (int i = 0; cm->blocks && i < cm->shape.depth; i++) {
        xblock *b = &cm->blocks[i];
        vt_enc_norm_free(&b->norm_q);
        vt_enc_norm_free(&b->norm_kv);
        vt_enc_linear_free(&b->q);
        vt_enc_linear_free(&b->kv);
        vt_enc_linear_free(&b->proj);
        vt_enc_norm_free(&b->norm2);
        vt_enc_linear_free(&b->fc1);
        vt_enc_linear_free(&b->fc2);
    }
    free(cm->blocks);
    cm->blocks = NULL;
}

int vt_cross_modal_create(vt_context *ctx, vt_backend *be, const vt_st_file *f, vt_cross_modal **out) {
    *out = NULL;
    vt_json *cfg;
    int rc = vt_enc_config(ctx, f, &cfg);
    if (rc) return rc;
    vt_cross_modal *cm = calloc(1, sizeof *cm);
    if (!cm) {
        vt_json_free(cfg);
        return vt_error(ctx, VT_E_NOMEM, "out of memory");
    }
    cm->ctx = ctx;
    cm->be = be;
    vt_cross_modal_shape *s = &cm->shape;
    const vt_json *sec = vt_json_get(cfg, "cross_modal");
    if (!sec || sec->type != VT_JSON_OBJECT) rc = vt_error(ctx, VT_E_FORMAT, "model config: no \"cross_modal\" section (an object)");
    if (!rc) rc = vt_enc_get_int(ctx, sec, "cross_modal", "depth", 1024, &s->depth);
    if (!rc) rc = vt_enc_get_int(ctx, sec, "cross_modal", "heads", 1024, &s->heads);
    if (!rc) rc = vt_enc_get_int(ctx, vt_json_get(cfg, "image_encoder"), "image_encoder", "hidden", 1 << 16, &s->image_dim);
    if (!rc) rc = vt_enc_get_int(ctx, vt_json_get(cfg, "text_encoder"), "text_encoder", "hidden", 1 << 16, &s->text_dim);
    if (!rc && s->image_dim % s->heads)
        rc = vt_error(ctx, VT_E_FORMAT, "model config: image_encoder.hidden %d is not a multiple of cross_modal.heads %d",
                      s->image_dim, s->heads);
    double r = sec ? vt_json_get_num(sec, "mlp_ratio", 4.0) : 4.0;
    if (!rc && !(r > 0 && r <= 64)) rc = vt_error(ctx, VT_E_FORMAT, "model config: cross_modal.mlp_ratio must be in (0, 64]");
    vt_json_free(cfg);
    s->mlp_hidden = (int)(s->image_dim * r);
    if (!rc && s->mlp_hidden < 1) rc = vt_error(ctx, VT_E_FORMAT, "model config: cross_modal.mlp_ratio gives an empty MLP");
    if (!rc && !(cm->blocks = calloc((size_t)s->depth, sizeof *cm->blocks))) rc = vt_error(ctx, VT_E_NOMEM, "out of memory");
    const int Di = s->image_dim, Dt = s->text_dim, M = s->mlp_hidden;
    char name[128];
    for (int i = 0; !rc && i < s->depth; i++) {
        xblock *b = &cm->blocks[i];
#define NAME(x) (snprintf(name, sizeof name, "cross_modal.blocks.%d.%s", i, x), name)
        if ((rc = vt_enc_load_norm(ctx, f, NAME("norm_q"), Di, &b->norm_q)) ||
            (rc = vt_enc_load_norm(ctx, f, NAME("norm_kv"), Dt, &b->norm_kv)) ||
            (rc = vt_enc_load_linear(ctx, f, NAME("attn.q"), Di, Di, &b->q)) ||
            (rc = vt_enc_load_linear(ctx, f, NAME("attn.kv"), 2 * Di, Dt, &b->kv)) ||
            (rc = vt_enc_load_linear(ctx, f, NAME("attn.proj"), Di, Di, &b->proj)) ||
            (rc = vt_enc_load_norm(ctx, f, NAME("norm2"), Di, &b->norm2)) ||
            (rc = vt_enc_load_linear(ctx, f, NAME("mlp.fc1"), M, Di, &b->fc1)))
            break;
        rc = vt_enc_load_linear(ctx, f, NAME("mlp.fc2"), Di, M, &b->fc2);
#undef NAME
    }
    if (rc) {
        vt_cross_modal_destroy(&cm);
        return rc;
    }
    *out = cm;
    return VT_OK;
}

void vt_cross_modal_destroy(vt_cross_modal **cp) {
    if (!cp || !*cp) return;
    free_blocks(*cp);
    free(*cp);
    *cp = NULL;
}

vt_cross_modal_shape vt_cross_modal_get_shape(const vt_cross_modal *cm) { return cm->shape; }

/* map (B, Ni) from q (B, Ni, Di) and the keys in kv (B, Nt, 2Di): for each head
 * and present text token, softmax over image tokens of k·q/√hd; averaged. */
static void text2image(const vt_cross_modal *cm, int B, int Ni, int Nt, const float *q, const float *kv, const float *mask,
                       float *map, double *s) {
    const int Di = cm->shape.image_dim, H = cm->shape.heads, hd = Di / H;
    const double scale = 1.0 / sqrt((double)hd);
    for (int b = 0; b < B; b++) {
        float *m = map + (size_t)b * Ni;
        for (int i = 0; i < Ni; i++) m[i] = 0;
        int present = 0;
        for (int t = 0; t < Nt; t++) present += !mask || mask[(size_t)b * Nt + t] != 0.0f;
        for (int t = 0; t < Nt; t++) {
            if (mask && mask[(size_t)b * Nt + t] == 0.0f) continue;
            const float *k = kv + ((size_t)b * Nt + t) * 2 * Di;
            for (int h = 0; h < H; h++) {
                double mx = -INFINITY, sum = 0;
                for (int i = 0; i < Ni; i++) {
                    const float *qi = q + ((size_t)b * Ni + i) * Di + (size_t)h * hd;
                    double acc = 0;
                    for (int d = 0; d < hd; d++) acc += (double)k[h * hd + d] * qi[d];
                    s[i] = acc * scale;
                    if (s[i] > mx) mx = s[i];
                }
                for (int i = 0; i < Ni; i++) sum += (s[i] = exp(s[i] - mx));
                const double w = 1.0 / (sum * H * present);
                for (int i = 0; i < Ni; i++) m[i] += (float)(s[i] * w);
            }
        }
    }
}

#define CHECK(expr)                   \
    do {                              \
        if ((rc = (expr))) goto done; \
    } while (0)

int vt_cross_modal_forward(vt_cross_modal *cm, int B, int Ni, const float *image, int Nt, const float *text,
                           const float *text_mask, float *fused, float *map) {
    const vt_cross_modal_shape *s = &cm->shape;
    const int Di = s->image_dim, Dt = s->text_dim, M = s->mlp_hidden;
    vt_backend *be = cm->be;
    if (B < 1 || Ni < 1 || Nt < 1)
        return vt_error(cm->ctx, VT_E_SHAPE, "cross-modal: needs B, image and text tokens >= 1 (got %d, %d, %d)", B, Ni, Nt);
    if (text_mask)
        for (int b = 0; b < B; b++) {
            int present = 0;
            for (int t = 0; t < Nt; t++) present += text_mask[(size_t)b * Nt + t] != 0.0f;
            if (!present) return vt_error(cm->ctx, VT_E_INVALID, "cross-modal: text %d has no present token", b);
        }
    const int64_t BI = (int64_t)B * Ni, BT = (int64_t)B * Nt;
    float *xn = malloc((size_t)BI * Di * sizeof(float));                  /* (B, Ni, Di) */
    float *qh = malloc((size_t)BI * (Di > M ? Di : M) * sizeof(float));   /* (B, Ni, Di | M) */
    float *ao = malloc((size_t)BI * Di * sizeof(float));                  /* (B, Ni, Di) */
    float *tn = malloc((size_t)BT * Dt * sizeof(float));                  /* (B, Nt, Dt) */
    float *kv = malloc((size_t)BT * 2 * Di * sizeof(float));              /* (B, Nt, 2Di) */
    float *m01 = malloc((size_t)BT * sizeof(float));                      /* (B, Nt) */
    double *sc = malloc((size_t)Ni * sizeof(double));                     /* (Ni) map scores */
    int rc = VT_OK;
    if (!xn || !qh || !ao || !tn || !kv || !m01 || !sc) {
        rc = vt_error(cm->ctx, VT_E_NOMEM, "cross-modal: out of memory");
        goto done;
    }
    for (int64_t i = 0; i < BT; i++) m01[i] = text_mask ? text_mask[i] != 0.0f : 1.0f;
    memcpy(fused, image, (size_t)BI * Di * sizeof(float));
    vt_tensor tx = vt_tensor_f32_3d(fused, B, Ni, Di), txn = vt_tensor_f32_3d(xn, B, Ni, Di);
    vt_tensor tq = vt_tensor_f32_3d(qh, B, Ni, Di), tkv = vt_tensor_f32_3d(kv, B, Nt, 2 * Di);
    vt_tensor tao = vt_tensor_f32_3d(ao, B, Ni, Di), tm = vt_tensor_f32_2d(m01, B, Nt);
    for (int i = 0; i < s->depth; i++) {
        const xblock *b = &cm->blocks[i];
        CHECK(vt_enc_norm_apply(be, &b->norm_q, xn, fused, BI));
        CHECK(vt_enc_linear_apply(be, &b->q, qh, xn, BI, VT_ACT_NONE));
        CHECK(vt_enc_norm_apply(be, &b->norm_kv, tn, text, BT));
        CHECK(vt_enc_linear_apply(be, &b->kv, kv, tn, BT, VT_ACT_NONE));
        if (map && i == s->depth - 1) text2image(cm, B, Ni, Nt, qh, kv, text_mask ? m01 : NULL, map, sc);
        vt_attn_args a;
        memset(&a, 0, sizeof a);
        a.desc.kind = VT_ATTN_CROSS;
        a.B = B;
        a.Nq = Ni;
        a.Nk = Nt;
        a.heads = s->heads;
        a.head_dim = Di / s->heads;
        a.q = &tq;
        a.k = a.v = &tkv;
        a.off_v = (size_t)Di;
        a.ld_q = (size_t)Di;
        a.ld_k = a.ld_v = 2 * (size_t)Di;
        a.out = &tao;
        a.ld_o = (size_t)Di;
        a.key_mask = &tm;
        CHECK(be->iface->attention(be, &a));
        CHECK(vt_enc_linear_apply(be, &b->proj, xn, ao, BI, VT_ACT_NONE));
        CHECK(be->iface->binary(be, &tx, &tx, &txn, VT_BIN_ADD));
        CHECK(vt_enc_norm_apply(be, &b->norm2, xn, fused, BI));
        CHECK(vt_enc_linear_apply(be, &b->fc1, qh, xn, BI, VT_ACT_GELU_ERF));
        CHECK(vt_enc_linear_apply(be, &b->fc2, xn, qh, BI, VT_ACT_NONE));
        CHECK(be->iface->binary(be, &tx, &tx, &txn, VT_BIN_ADD));
    }
done:
    free(xn);
    free(qh);
    free(ao);
    free(tn);
    free(kv);
    free(m01);
    free(sc);
    return rc;
}
