/* The ViT image encoder (timm VisionTransformer names and math) and the pre-LN
 * transformer stack shared with the text encoder, over backend ops. Weights are
 * converted to f32 once at load. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "tensor.h"
#include "vit.h"

/* ---- loading ---- */

int vt_enc_load(vt_context *ctx, const vt_st_file *f, const char *name, int ndim, const int64_t *shape, float **out) {
    *out = NULL;
    vt_tensor want_t = vt_tensor_make(VT_DTYPE_F32, NULL, ndim, shape);
    char want[96], got[96];
    vt_tensor_shape_str(&want_t, want, sizeof want);
    const vt_st_tensor *t = vt_st_find(f, name);
    if (!t) return vt_error(ctx, VT_E_FORMAT, "model: missing tensor %s %s", name, want);
    vt_tensor got_t = vt_tensor_make(t->dtype, NULL, t->ndim, t->shape);
    if (!vt_tensor_same_shape(&got_t, &want_t))
        return vt_error(ctx, VT_E_FORMAT, "model: tensor %s has shape %s, expected %s", name,
                        vt_tensor_shape_str(&got_t, got, sizeof got), want);
    size_t n = (size_t)vt_tensor_numel(&want_t);
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) return vt_error(ctx, VT_E_NOMEM, "model: out of memory loading %s", name);
    int rc = vt_st_read_f32(ctx, f, name, p, n);
    if (rc) {
        free(p);
        return rc;
    }
    *out = p;
    return VT_OK;
}

int vt_enc_load_linear(vt_context *ctx, const vt_st_file *f, const char *prefix, int out, int in, vt_enc_linear *l) {
    char name[160];
    int64_t sw[2] = {out, in}, sb[1] = {out};
    l->out = out;
    l->in = in;
    snprintf(name, sizeof name, "%.140s.weight", prefix);
    int rc = vt_enc_load(ctx, f, name, 2, sw, &l->w);
    if (rc) return rc;
    snprintf(name, sizeof name, "%.140s.bias", prefix);
    return vt_enc_load(ctx, f, name, 1, sb, &l->b);
}

int vt_enc_load_norm(vt_context *ctx, const vt_st_file *f, const char *prefix, int dim, vt_enc_norm *n) {
    char name[160];
    int64_t s[1] = {dim};
    n->dim = dim;
    snprintf(name, sizeof name, "%.140s.weight", prefix);
    int rc = vt_enc_load(ctx, f, name, 1, s, &n->w);
    if (rc) return rc;
    snprintf(name, sizeof name, "%.140s.bias", prefix);
    return vt_enc_load(ctx, f, name, 1, s, &n->b);
}

void vt_enc_linear_free(vt_enc_linear *l) {
    free(l->w);
    free(l->b);
    l->w = l->b = NULL;
}

void vt_enc_norm_free(vt_enc_norm *n) {
    free(n->w);
    free(n->b);
    n->w = n->b = NULL;
}

int vt_enc_linear_apply(vt_backend *be, const vt_enc_linear *l, float *y, const float *x, int64_t M, vt_act act) {
    vt_tensor ty = vt_tensor_f32_2d(y, M, l->out), tx = vt_tensor_f32_2d((float *)x, M, l->in);
    vt_tensor tw = vt_tensor_f32_2d(l->w, l->out, l->in), tb = vt_tensor_f32_1d(l->b, l->out);
    return be->iface->linear(be, &ty, &tx, &tw, &tb, act);
}

int vt_enc_norm_apply(vt_backend *be, const vt_enc_norm *n, float *y, const float *x, int64_t M) {
    vt_tensor ty = vt_tensor_f32_2d(y, M, n->dim), tx = vt_tensor_f32_2d((float *)x, M, n->dim);
    vt_tensor tw = vt_tensor_f32_1d(n->w, n->dim), tb = vt_tensor_f32_1d(n->b, n->dim);
    return be->iface->layernorm(be, &ty, &tx, &tw, &tb, VT_ENC_LN_EPS);
}

int vt_enc_config(vt_context *ctx, const vt_st_file *f, vt_json **out) {
    *out = NULL;
    const char *cfg = vt_st_meta(f, "config");
    if (!cfg) return vt_error(ctx, VT_E_FORMAT, "model: no \"config\" in __metadata__");
    char err[256];
    vt_json *j = vt_json_parse(cfg, strlen(cfg), err, sizeof err);
    if (!j) return vt_error(ctx, VT_E_FORMAT, "model config: %s", err);
    if (j->type != VT_JSON_OBJECT) {
        vt_json_free(j);
        return vt_error(ctx, VT_E_FORMAT, "model config: not a JSON object");
    }
    *out = j;
    return VT_OK;
}

/* A positive integer member, or an error naming section and key. */
int vt_enc_get_int(vt_context *ctx, const vt_json *sec, const char *what, const char *key, int max, int *out) {
    const vt_json *v = vt_json_get(sec, key);
    if (!v || v->type != VT_JSON_NUMBER || !v->is_int || v->integer < 1 || v->integer > max)
        return vt_error(ctx, VT_E_FORMAT, "model config: %s.%s must be an integer in 1..%d", what, key, max);
    *out = (int)v->integer;
    return VT_OK;
}

int vt_enc_parse_dims(vt_context *ctx, const vt_json *sec, const char *what, int *hidden, int *depth, int *heads,
                      int *mlp_hidden) {
    int rc;
    if (!sec || sec->type != VT_JSON_OBJECT)
        return vt_error(ctx, VT_E_FORMAT, "model config: no \"%s\" section (an object)", what);
    if ((rc = vt_enc_get_int(ctx, sec, what, "hidden", 1 << 16, hidden)) || (rc = vt_enc_get_int(ctx, sec, what, "depth", 1024, depth)) ||
        (rc = vt_enc_get_int(ctx, sec, what, "heads", 1024, heads)))
        return rc;
    if (*hidden % *heads)
        return vt_error(ctx, VT_E_FORMAT, "model config: %s.hidden %d is not a multiple of heads %d", what, *hidden, *heads);
    double r = vt_json_get_num(sec, "mlp_ratio", 4.0);
    if (!(r > 0 && r <= 64)) return vt_error(ctx, VT_E_FORMAT, "model config: %s.mlp_ratio must be in (0, 64]", what);
    *mlp_hidden = (int)(*hidden * r); /* timm: int(dim * mlp_ratio) */
    if (*mlp_hidden < 1) return vt_error(ctx, VT_E_FORMAT, "model config: %s.mlp_ratio gives an empty MLP", what);
    return VT_OK;
}

int vt_enc_stack_load(vt_context *ctx, const vt_st_file *f, const char *prefix, int depth, int hidden, int heads,
                      int mlp_hidden, vt_enc_stack *s) {
    memset(s, 0, sizeof *s);
    s->depth = depth;
    s->hidden = hidden;
    s->heads = heads;
    s->mlp_hidden = mlp_hidden;
    if (!(s->blocks = calloc((size_t)depth, sizeof *s->blocks))) return vt_error(ctx, VT_E_NOMEM, "out of memory");
    const int D = hidden, M = mlp_hidden;
    char name[160];
    int rc = VT_OK;
    for (int i = 0; !rc && i < depth; i++) {
        vt_enc_block *b = &s->blocks[i];
        snprintf(name, sizeof name, "%.100sblocks.%d.norm1", prefix, i);
        if ((rc = vt_enc_load_norm(ctx, f, name, D, &b->norm1))) break;
        snprintf(name, sizeof name, "%.100sblocks.%d.attn.qkv", prefix, i);
        if ((rc = vt_enc_load_linear(ctx, f, name, 3 * D, D, &b->qkv))) break;
        snprintf(name, sizeof name, "%.100sblocks.%d.attn.proj", prefix, i);
        if ((rc = vt_enc_load_linear(ctx, f, name, D, D, &b->proj))) break;
        snprintf(name, sizeof name, "%.100sblocks.%d.norm2", prefix, i);
        if ((rc = vt_enc_load_norm(ctx, f, name, D, &b->norm2))) break;
        snprintf(name, sizeof name, "%.100sblocks.%d.mlp.fc1", prefix, i);
        if ((rc = vt_enc_load_linear(ctx, f, name, M, D, &b->fc1))) break;
        snprintf(name, sizeof name, "%.100sblocks.%d.mlp.fc2", prefix, i);
        rc = vt_enc_load_linear(ctx, f, name, D, M, &b->fc2);
    }
    if (!rc) {
        snprintf(name, sizeof name, "%.100snorm", prefix);
        rc = vt_enc_load_norm(ctx, f, name, D, &s->norm);
    }
    if (rc) vt_enc_stack_free(s);
    return rc;
}

void vt_enc_stack_free(vt_enc_stack *s) {
    for (int i = 0; s->blocks && i < s->depth; i++) {
        vt_enc_block *b = &s->blocks[i];
        vt_enc_norm_free(&b->norm1);
        vt_enc_linear_free(&b->qkv);
        vt_enc_linear_free(&b->proj);
        vt_enc_norm_free(&b->norm2);
        vt_enc_linear_free(&b->fc1);
        vt_enc_linear_free(&b->fc2);
    }
    free(s->blocks);
    s->blocks = NULL;
    vt_enc_norm_free(&s->norm);
}

#define CHECK(expr)                   \
    do {                              \
        if ((rc = (expr))) goto done; \
    } while (0)

int vt_enc_stack_forward(vt_context *ctx, vt_backend *be, const vt_enc_stack *s, float *x, int B, int N,
                         const float *key_mask) {
    const int D = s->hidden, M = s->mlp_hidden;
    const int64_t BN = (int64_t)B * N;
    const size_t wide = (size_t)(3 * D > M ? 3 * D : M);
    float *xn = malloc((size_t)BN * D * sizeof *xn);   /* (B, N, D) normalised */
    float *big = malloc((size_t)BN * wide * sizeof *big); /* (B, N, 3D | M) */
    float *ao = malloc((size_t)BN * D * sizeof *ao);   /* (B, N, D) attention output */
    int rc = VT_OK;
    if (!xn || !big || !ao) {
        rc = vt_error(ctx, VT_E_NOMEM, "encoder: out of memory for activations");
        goto done;
    }
    vt_tensor tx = vt_tensor_f32_3d(x, B, N, D), txn = vt_tensor_f32_3d(xn, B, N, D);
    vt_tensor tq = vt_tensor_f32_3d(big, B, N, 3 * D), tao = vt_tensor_f32_3d(ao, B, N, D);
    vt_tensor tm = vt_tensor_f32_2d((float *)key_mask, B, N);
    for (int i = 0; i < s->depth; i++) {
        const vt_enc_block *b = &s->blocks[i];
        CHECK(vt_enc_norm_apply(be, &b->norm1, xn, x, BN));
        CHECK(vt_enc_linear_apply(be, &b->qkv, big, xn, BN, VT_ACT_NONE));
        vt_attn_args a;
        memset(&a, 0, sizeof a);
        a.desc.kind = VT_ATTN_FULL;
        a.desc.grid[0] = a.desc.grid[1] = 1;
        a.desc.grid[2] = N;
        a.B = B;
        a.Nq = a.Nk = N;
        a.heads = s->heads;
        a.head_dim = D / s->heads;
        a.q = a.k = a.v = &tq;
        a.off_k = (size_t)D;
        a.off_v = 2 * (size_t)D;
        a.ld_q = a.ld_k = a.ld_v = 3 * (size_t)D;
        a.out = &tao;
        a.ld_o = (size_t)D;
        a.key_mask = key_mask ? &tm : NULL;
        CHECK(be->iface->attention(be, &a));
        CHECK(vt_enc_linear_apply(be, &b->proj, xn, ao, BN, VT_ACT_NONE));
        CHECK(be->iface->binary(be, &tx, &tx, &txn, VT_BIN_ADD));
        CHECK(vt_enc_norm_apply(be, &b->norm2, xn, x, BN));
        /* erf GELU: nn.GELU's default, what timm and BERT-style encoders train with */
        CHECK(vt_enc_linear_apply(be, &b->fc1, big, xn, BN, VT_ACT_GELU_ERF));
        CHECK(vt_enc_linear_apply(be, &b->fc2, xn, big, BN, VT_ACT_NONE));
        CHECK(be->iface->binary(be, &tx, &tx, &txn, VT_BIN_ADD));
    }
    CHECK(vt_enc_norm_apply(be, &s->norm, x, x, BN));
done:
    free(xn);
    free(big);
    free(ao);
    return rc;
}

/* ---- the ViT ---- */

struct vt_vit {
    vt_context *ctx;
    vt_backend *be;
    vt_vit_shape shape;
    vt_enc_linear patch_embed;  /* (D, 3·p·p): the Conv2d weight (D, 3, p, p) read flat */
    float *cls_token;           /* (1, 1, D) */
    float *pos_embed;           /* (1, 1 + N, D) */
    vt_enc_stack stack;         /* blocks.* and norm */
};

int vt_vit_create(vt_context *ctx, vt_backend *be, const vt_st_file *f, vt_vit **out) {
    *out = NULL;
    vt_json *cfg;
    int rc = vt_enc_config(ctx, f, &cfg);
    if (rc) return rc;
    vt_vit *v = calloc(1, sizeof *v);
    if (!v) {
        vt_json_free(cfg);
        return vt_error(ctx, VT_E_NOMEM, "out of memory");
    }
    v->ctx = ctx;
    v->be = be;
    const vt_json *sec = vt_json_get(cfg, "image_encoder");
    int D = 0, depth = 0, heads = 0, M = 0, S = 0, p = 0;
    rc = vt_enc_parse_dims(ctx, sec, "image_encoder", &D, &depth, &heads, &M);
    if (!rc) rc = vt_enc_get_int(ctx, sec, "image_encoder", "image_size", 1 << 14, &S);
    if (!rc) rc = vt_enc_get_int(ctx, sec, "image_encoder", "patch", 1 << 10, &p);
    if (!rc && S % p) rc = vt_error(ctx, VT_E_FORMAT, "model config: image_encoder.image_size %d is not a multiple of patch %d", S, p);
    vt_json_free(cfg);
    const int N = (S / (p ? p : 1)) * (S / (p ? p : 1));
    if (!rc) {
        int64_t sw[4] = {D, 3, p, p}, sb[1] = {D}, sc[3] = {1, 1, D}, sp[3] = {1, 1 + N, D};
        v->shape = (vt_vit_shape){S, p, D, 1 + N};
        v->patch_embed.out = D;
        v->patch_embed.in = 3 * p * p;
        if (!(rc = vt_enc_load(ctx, f, "image_encoder.patch_embed.proj.weight", 4, sw, &v->patch_embed.w)) &&
            !(rc = vt_enc_load(ctx, f, "image_encoder.patch_embed.proj.bias", 1, sb, &v->patch_embed.b)) &&
            !(rc = vt_enc_load(ctx, f, "image_encoder.cls_token", 3, sc, &v->cls_token)) &&
            !(rc = vt_enc_load(ctx, f, "image_encoder.pos_embed", 3, sp, &v->pos_embed)))
            rc = vt_enc_stack_load(ctx, f, "image_encoder.", depth, D, heads, M, &v->stack);
    }
    if (rc) {
        vt_vit_destroy(&v);
        return rc;
    }
    *out = v;
    return VT_OK;
}

void vt_vit_destroy(vt_vit **vp) {
    if (!vp || !*vp) return;
    vt_vit *v = *vp;
    vt_enc_linear_free(&v->patch_embed);
    free(v->cls_token);
    free(v->pos_embed);
    vt_enc_stack_free(&v->stack);
    free(v);
    *vp = NULL;
}

vt_vit_shape vt_vit_get_shape(const vt_vit *v) { return v->shape; }

int vt_vit_forward(vt_vit *v, int B, const float *images, float *out) {
    const int S = v->shape.image_size, p = v->shape.patch, D = v->shape.hidden, NT = v->shape.tokens, N = NT - 1;
    if (B < 1) return vt_error(v->ctx, VT_E_INVALID, "image encoder: batch must be >= 1");
    float *tok = malloc((size_t)B * N * 3 * p * p * sizeof *tok); /* (B, N, 3·p·p) CPQ patches */
    float *emb = malloc((size_t)B * N * D * sizeof *emb);         /* (B, N, D) */
    int rc = VT_OK;
    if (!tok || !emb) {
        rc = vt_error(v->ctx, VT_E_NOMEM, "image encoder: out of memory");
        goto done;
    }
    int64_t sx[4] = {B, 3, S, S};
    vt_tensor tx = vt_tensor_make(VT_DTYPE_F32, (void *)images, 4, sx);
    vt_tensor tt = vt_tensor_f32_3d(tok, B, N, (int64_t)3 * p * p);
    CHECK(v->be->iface->patchify(v->be, &tt, &tx, p, 1, VT_PATCH_CPQ));
    CHECK(vt_enc_linear_apply(v->be, &v->patch_embed, emb, tok, (int64_t)B * N, VT_ACT_NONE));
    for (int b = 0; b < B; b++) {
        float *o = out + (size_t)b * NT * D;
        for (int k = 0; k < D; k++) o[k] = v->cls_token[k] + v->pos_embed[k];
        for (int n = 0; n < N; n++)
            for (int k = 0; k < D; k++)
                o[(size_t)(n + 1) * D + k] = emb[((size_t)b * N + n) * D + k] + v->pos_embed[(size_t)(n + 1) * D + k];
    }
    CHECK(vt_enc_stack_forward(v->ctx, v->be, &v->stack, out, B, NT, NULL));
done:
    free(tok);
    free(emb);
    return rc;
}
