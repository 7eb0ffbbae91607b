/* The DiT forward pass over backend ops: patch embedding, conditioning vector,
 * adaLN-Zero blocks with per-block attention patterns and optional cross-attention,
 * final layer, unpatchify. Weights are converted to f32 once at load. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "context.h"
#include "dit.h"
#include "embed.h"
#include "rng.h"

#define FREQ_DIM 256 /* DiT's TimestepEmbedder frequency_embedding_size */

typedef struct linear_w {
    float *w;  /* (out, in) */
    float *b;  /* (out) */
    int out, in;
} linear_w;

typedef struct block_w {
    linear_w ada;      /* (6D, D) */
    linear_w qkv;      /* (3D, D) */
    linear_w proj;     /* (D, D) */
    linear_w xq;       /* cross_attn.q (D, D) */
    linear_w xkv;      /* cross_attn.kv (2D, D) */
    linear_w xproj;    /* cross_attn.proj (D, D) */
    linear_w fc1;      /* (M, D) */
    linear_w fc2;      /* (D, M) */
} block_w;

struct vt_dit {
    vt_context *ctx;
    vt_backend *be;
    vt_dit_config cfg;
    linear_w x_emb;      /* (D, C·p·p): the Conv2d weight (D, C, p, p) flattened */
    float *pos_embed;    /* (h·w, D) at the trained size */
    float *temp_embed;   /* (T, D) video models only */
    linear_w t_mlp0;     /* (D, 256) */
    linear_w t_mlp2;     /* (D, D) */
    float *y_table;      /* (num_classes + 1, D) */
    linear_w cond_proj;  /* (D, cond_dim) */
    float *cond_null;    /* (1, cond_dim) */
    linear_w cond_pool;  /* (D, D) */
    block_w *blocks;     /* (depth) */
    linear_w final_ada;  /* (2D, D) */
    linear_w final_lin;  /* (p·p·C_out, D) */
    float **owned;       /* every allocation above, freed at destroy */
    int n_owned, cap_owned;
};

/* ---- loading ---- */

static float *own(vt_dit *d, size_t n) {
    if (d->n_owned == d->cap_owned) {
        int cap = d->cap_owned ? d->cap_owned * 2 : 64;
        float **o = realloc(d->owned, (size_t)cap * sizeof *o);
        if (!o) return NULL;
        d->owned = o;
        d->cap_owned = cap;
    }
    float *p = malloc(n * sizeof(float));
    if (p) d->owned[d->n_owned++] = p;
    return p;
}

/* One tensor the config implies: its name, shape and the field it loads into.
 * The loader and the random initialiser share this list, so they cannot drift. */
typedef struct spec {
    char name[96];
    int ndim;
    int64_t shape[4];
    float **dst;
    int optional;          /* computed when absent (pos_embed, temp_embed) */
} spec;

typedef struct specs {
    spec *v;
    int n, cap;
} specs;

static int add(specs *s, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3, float **dst) {
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 64;
        spec *v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        s->v = v;
        s->cap = cap;
    }
    spec *e = &s->v[s->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%.95s", name);
    e->ndim = ndim;
    e->shape[0] = d0;
    e->shape[1] = d1;
    e->shape[2] = d2;
    e->shape[3] = d3;
    e->dst = dst;
    return 0;
}

static int add_linear(specs *s, const char *prefix, int out, int in, linear_w *lw) {
    char name[128];
    lw->out = out;
    lw->in = in;
    snprintf(name, sizeof name, "%.80s.weight", prefix);
    if (add(s, name, 2, out, in, 0, 0, &lw->w)) return -1;
    snprintf(name, sizeof name, "%.80s.bias", prefix);
    return add(s, name, 1, out, 0, 0, 0, &lw->b);
}

/* Every tensor of the model described by d->cfg, in facebookresearch/DiT's order. */
static int dit_specs(vt_dit *d, specs *s) {
    const vt_dit_config *c = &d->cfg;
    const int D = c->hidden, p = c->patch, C = c->in_channels;
    const int h = c->input_h / p, w = c->input_w / p;
    char name[96];
    int e = 0;
    /* The patch embedding is a Conv2d weight (D, C, p, p); as a linear map over
     * CPQ-ordered patches it is the same memory read as (D, C·p·p). */
    e |= add(s, "x_embedder.proj.weight", 4, D, C, p, p, &d->x_emb.w);
    e |= add(s, "x_embedder.proj.bias", 1, D, 0, 0, 0, &d->x_emb.b);
    d->x_emb.out = D;
    d->x_emb.in = C * p * p;
    e |= add(s, "pos_embed", 3, 1, (int64_t)h * w, D, 0, &d->pos_embed);
    s->v[s->n - 1].optional = 1;
    if (c->frames > 0) {
        e |= add(s, "temp_embed", 3, 1, c->frames, D, 0, &d->temp_embed);
        s->v[s->n - 1].optional = 1;
    }
    e |= add_linear(s, "t_embedder.mlp.0", D, FREQ_DIM, &d->t_mlp0);
    e |= add_linear(s, "t_embedder.mlp.2", D, D, &d->t_mlp2);
    if (c->num_classes > 0) e |= add(s, "y_embedder.embedding_table.weight", 2, c->num_classes + 1, D, 0, 0, &d->y_table);
    if (c->cond_dim > 0) {
        e |= add_linear(s, "cond_embedder.proj", D, c->cond_dim, &d->cond_proj);
        e |= add(s, "cond_embedder.null", 2, 1, c->cond_dim, 0, 0, &d->cond_null);
        if (c->cond_pooled) e |= add_linear(s, "cond_embedder.pool", D, D, &d->cond_pool);
    }
    for (int i = 0; i < c->depth; i++) {
        block_w *b = &d->blocks[i];
        struct { const char *n; int o, in; linear_w *lw; int need; } L[] = {
            {"adaLN_modulation.1", 6 * D, D, &b->ada, 1},
            {"attn.qkv", 3 * D, D, &b->qkv, 1},
            {"attn.proj", D, D, &b->proj, 1},
            {"cross_attn.q", D, D, &b->xq, c->cond_dim > 0},
            {"cross_attn.kv", 2 * D, D, &b->xkv, c->cond_dim > 0},
            {"cross_attn.proj", D, D, &b->xproj, c->cond_dim > 0},
            {"mlp.fc1", c->mlp_hidden, D, &b->fc1, 1},
            {"mlp.fc2", D, c->mlp_hidden, &b->fc2, 1},
        };
        for (size_t k = 0; k < sizeof L / sizeof L[0]; k++) {
            if (!L[k].need) continue;
            snprintf(name, sizeof name, "blocks.%d.%s", i, L[k].n);
            e |= add_linear(s, name, L[k].o, L[k].in, L[k].lw);
        }
    }
    e |= add_linear(s, "final_layer.adaLN_modulation.1", 2 * D, D, &d->final_ada);
    e |= add_linear(s, "final_layer.linear", p * p * c->out_channels, D, &d->final_lin);
    return e ? VT_E_NOMEM : VT_OK;
}

/* Loads one spec'd tensor as f32, requiring its exact shape. */
static int load(vt_dit *d, const vt_st_file *f, const spec *e) {
    const vt_st_tensor *t = vt_st_find(f, e->name);
    vt_tensor want_t = vt_tensor_make(VT_DTYPE_F32, NULL, e->ndim, e->shape);
    char want[96];
    vt_tensor_shape_str(&want_t, want, sizeof want);
    if (!t) return vt_error(d->ctx, VT_E_FORMAT, "model: missing tensor %s %s", e->name, want);
    vt_tensor got_t = vt_tensor_make(t->dtype, NULL, t->ndim, t->shape);
    if (!vt_tensor_same_shape(&got_t, &want_t)) {
        char got[96];
        return vt_error(d->ctx, VT_E_FORMAT, "model: tensor %s has shape %s, expected %s", e->name,
                        vt_tensor_shape_str(&got_t, got, sizeof got), want);
    }
    size_t n = (size_t)vt_tensor_numel(&want_t);
    float *p = own(d, n ? n : 1);
    if (!p) return vt_error(d->ctx, VT_E_NOMEM, "model: out of memory loading %s", e->name);
    vt_convert_to_f32(p, t->data, t->dtype, n);
    *e->dst = p;
    return VT_OK;
}

/* A vt_dit with its config parsed and block table allocated, weights not yet set. */
static int dit_alloc(vt_context *ctx, const char *config, vt_dit **out) {
    *out = NULL;
    vt_dit *d = calloc(1, sizeof *d);
    if (!d) return vt_error(ctx, VT_E_NOMEM, "out of memory");
    d->ctx = ctx;
    int rc = vt_dit_config_parse(ctx, config, &d->cfg);
    if (!rc && !(d->blocks = calloc((size_t)d->cfg.depth, sizeof *d->blocks))) rc = vt_error(ctx, VT_E_NOMEM, "out of memory");
    if (rc) {
        free(d);
        return rc;
    }
    *out = d;
    return VT_OK;
}

int vt_dit_create(vt_context *ctx, vt_backend *be, const vt_st_file *file, vt_dit **out) {
    vt_dit *d;
    int rc = dit_alloc(ctx, vt_st_meta(file, "config"), &d);
    if (rc) return rc;
    d->be = be;
    const vt_dit_config *c = &d->cfg;
    specs s = {0};
    rc = dit_specs(d, &s);
    if (rc) rc = vt_error(ctx, rc, "out of memory");
    for (int i = 0; !rc && i < s.n; i++) {
        if (s.v[i].optional && !vt_st_find(file, s.v[i].name)) continue;
        rc = load(d, file, &s.v[i]);
    }
    free(s.v);
    if (!rc && !d->pos_embed) {
        const int h = c->input_h / c->patch, w = c->input_w / c->patch;
        if (!(d->pos_embed = own(d, (size_t)h * w * c->hidden))) rc = vt_error(ctx, VT_E_NOMEM, "out of memory");
        else vt_pos_embed_2d(d->pos_embed, c->hidden, h, w);
    }
    if (!rc && c->frames > 0 && !d->temp_embed) {
        if (!(d->temp_embed = own(d, (size_t)c->frames * c->hidden))) rc = vt_error(ctx, VT_E_NOMEM, "out of memory");
        else vt_pos_embed_1d(d->temp_embed, c->hidden, c->frames);
    }
    if (rc) {
        vt_dit_destroy(&d);
        return rc;
    }
    *out = d;
    return VT_OK;
}

int vt_dit_write_random(vt_context *ctx, const char *config, uint64_t seed, const char *const *meta, size_t n_meta,
                        const char *path) {
    vt_dit *d;
    int rc = dit_alloc(ctx, config, &d);
    if (rc) return rc;
    specs s = {0};
    vt_st_writer *w = vt_st_writer_create();
    rc = dit_specs(d, &s);
    if (rc || !w) rc = vt_error(ctx, VT_E_NOMEM, "out of memory");
    if (!rc) rc = vt_st_writer_add_meta(ctx, w, "config", config);
    for (size_t i = 0; !rc && i < n_meta; i++) rc = vt_st_writer_add_meta(ctx, w, meta[2 * i], meta[2 * i + 1]);
    for (int i = 0; !rc && i < s.n; i++) {
        const spec *e = &s.v[i];
        vt_tensor t = vt_tensor_make(VT_DTYPE_F32, NULL, e->ndim, e->shape);
        size_t n = (size_t)vt_tensor_numel(&t);
        float *v = malloc((n ? n : 1) * sizeof *v);
        if (!v) {
            rc = vt_error(ctx, VT_E_NOMEM, "out of memory");
            break;
        }
        if (!strcmp(e->name, "pos_embed")) {
            vt_pos_embed_2d(v, d->cfg.hidden, d->cfg.input_h / d->cfg.patch, d->cfg.input_w / d->cfg.patch);
        } else if (!strcmp(e->name, "temp_embed")) {
            vt_pos_embed_1d(v, d->cfg.hidden, d->cfg.frames);
        } else {
            /* Normal weights scaled by 1/sqrt(fan-in) (biases 0.02): activations stay
             * O(1) through every block, as a trained network's would. */
            int64_t fan_in = e->ndim >= 2 ? vt_tensor_numel(&t) / e->shape[0] : 0;
            double sd = e->ndim == 1 ? 0.02 : fan_in > 0 ? 1.0 / sqrt((double)fan_in) : 0.02;
            if (strstr(e->name, "embedding_table") || strstr(e->name, "cond_embedder.null")) sd = 1.0;
            vt_rng_normal(seed, (uint32_t)i, 0, v, n);
            for (size_t k = 0; k < n; k++) v[k] = (float)(v[k] * sd);
        }
        rc = vt_st_writer_add_f32(ctx, w, e->name, VT_DTYPE_F16, e->ndim, e->shape, v);
        free(v);
    }
    if (!rc) rc = vt_st_writer_save(ctx, w, path);
    vt_st_writer_destroy(&w);
    free(s.v);
    vt_dit_destroy(&d);
    return rc;
}

void vt_dit_destroy(vt_dit **dp) {
    if (!dp || !*dp) return;
    vt_dit *d = *dp;
    for (int i = 0; i < d->n_owned; i++) free(d->owned[i]);
    free(d->owned);
    free(d->blocks);
    free(d);
    *dp = NULL;
}

const vt_dit_config *vt_dit_get_config(const vt_dit *dit) { return &dit->cfg; }
vt_context *vt_dit_context(const vt_dit *dit) { return dit->ctx; }
const float *vt_dit_null_cond(const vt_dit *dit) { return dit->cond_null; }

/* ---- forward ---- */

#define T1(p, a) vt_tensor_f32_1d((p), (a))
#define T2(p, a, b) vt_tensor_f32_2d((p), (a), (b))
#define T3(p, a, b, c) vt_tensor_f32_3d((p), (a), (b), (c))

/* y (M, out) = act(x (M, in) · Wᵀ + b) */
static int lin(vt_dit *d, float *y, const float *x, int64_t M, const linear_w *lw, vt_act act) {
    vt_tensor ty = T2(y, M, lw->out), tx = T2((float *)x, M, lw->in);
    vt_tensor tw = T2(lw->w, lw->out, lw->in), tb = T1(lw->b, lw->out);
    return d->be->iface->linear(d->be, &ty, &tx, &tw, &tb, act);
}

/* Splits a (B, k·D) modulation into k contiguous (B, D) chunks: chunk j of row b
 * goes to dst[j·B·D + b·D]. */
static void split_chunks(float *dst, const float *src, int B, int k, int D) {
    for (int b = 0; b < B; b++)
        for (int j = 0; j < k; j++) memcpy(dst + ((size_t)j * B + b) * D, src + ((size_t)b * k + j) * D, (size_t)D * sizeof(float));
}

#define CHECK(expr)              \
    do {                         \
        if ((rc = (expr))) goto done; \
    } while (0)

int vt_dit_forward(vt_dit *d, const vt_dit_inputs *in, float *out) {
    const vt_dit_config *c = &d->cfg;
    vt_context *ctx = d->ctx;
    vt_backend *be = d->be;
    const struct vt_backend_iface *op = be->iface;
    const int B = in->batch, D = c->hidden, p = c->patch, C = c->in_channels, Co = c->out_channels;
    const int T = in->frames < 1 ? 1 : in->frames;
    if (B < 1) return vt_error(ctx, VT_E_INVALID, "forward: batch must be >= 1");
    if (in->height != c->input_h || in->width != c->input_w)
        return vt_error(ctx, VT_E_SHAPE, "forward: x is %dx%d but the model takes %dx%d", in->height, in->width,
                        c->input_h, c->input_w);
    if ((c->frames == 0 && T != 1) || (c->frames > 0 && T != c->frames))
        return vt_error(ctx, VT_E_SHAPE, "forward: x has %d frames but the model takes %d", T, c->frames ? c->frames : 1);
    if (c->cond_dim > 0 && (!in->cond || in->cond_len < 1))
        return vt_error(ctx, VT_E_INVALID, "forward: the model needs conditioning tokens 'cond' (B, L, %d)", c->cond_dim);
    if (c->num_classes > 0 && in->y)
        for (int b = 0; b < B; b++)
            if (in->y[b] < 0 || in->y[b] > c->num_classes)
                return vt_error(ctx, VT_E_INVALID, "forward: class label %d is outside 0..%d", in->y[b], c->num_classes);
    const int h = c->input_h / p, w = c->input_w / p, HW = h * w, N = T * HW;
    const int64_t BN = (int64_t)B * N;
    const int L = c->cond_dim > 0 ? in->cond_len : 0;
    const int M = c->mlp_hidden, heads = c->heads, hd = D / heads;

    /* Activations: x, xn, qkv/h1 (the larger of 3D and M per token), attn out,
     * plus small per-batch vectors. Sized once here. */
    size_t wide = (size_t)(3 * D > M ? 3 * D : M);
    if (C * p * p > (int)wide) wide = (size_t)C * p * p;
    if ((size_t)p * p * Co > wide) wide = (size_t)p * p * Co;
    size_t floats = (size_t)BN * (2 * D + wide + D) + (size_t)B * (FREQ_DIM + 16 * D) +
                    (size_t)B * L * (3 * D + 1) + (size_t)N * D + 64 * 16;
    vt_arena *ar = vt_arena_create(floats * sizeof(float) + 64 * 64);
    if (!ar) return vt_error(ctx, VT_E_NOMEM, "forward: out of memory for activations (%zu MiB)", floats * 4 >> 20);
    int rc = VT_OK;
    float *x = vt_arena_floats(ar, (size_t)BN * D);       /* (B, N, D) residual stream */
    float *xn = vt_arena_floats(ar, (size_t)BN * D);      /* (B, N, D) normalised/modulated */
    float *big = vt_arena_floats(ar, (size_t)BN * wide);  /* (B, N, 3D | M | C·p·p) */
    float *ao = vt_arena_floats(ar, (size_t)BN * D);      /* (B, N, D) attention output */
    float *temb = vt_arena_floats(ar, (size_t)B * FREQ_DIM); /* (B, 256) */
    float *cvec = vt_arena_floats(ar, (size_t)B * D);     /* (B, D) conditioning c */
    float *sc = vt_arena_floats(ar, (size_t)B * D);       /* (B, D) SiLU(c), scratch */
    float *mod = vt_arena_floats(ar, (size_t)B * 6 * D);  /* (B, 6D) */
    float *modc = vt_arena_floats(ar, (size_t)B * 6 * D); /* (6, B, D) */
    float *pos = vt_arena_floats(ar, (size_t)N * D);      /* (N, D) pos (+ temporal) embedding */
    float *cproj = L ? vt_arena_floats(ar, (size_t)B * L * D) : NULL;     /* (B, L, D) */
    float *ckv = L ? vt_arena_floats(ar, (size_t)B * L * 2 * D) : NULL;   /* (B, L, 2D) */
    float *cmask = L ? vt_arena_floats(ar, (size_t)B * L) : NULL;         /* (B, L) */
    if (!x || !xn || !big || !ao || !temb || !cvec || !sc || !mod || !modc || !pos || (L && (!cproj || !ckv || !cmask))) {
        rc = vt_error(ctx, VT_E_NOMEM, "forward: activation arena too small (internal sizing error)");
        goto done;
    }

    /* Patch embedding: each frame of x (B, C, T, H, W) is patchified on its own
     * (Latte's per-frame Conv2d). For T = 1 the layout is (B, C, H, W). */
    {
        vt_tensor tok = T3(big, (int64_t)B, N, (int64_t)C * p * p);
        if (T == 1) {
            int64_t sx[4] = {B, C, c->input_h, c->input_w};
            vt_tensor tx = vt_tensor_make(VT_DTYPE_F32, (void *)in->x, 4, sx);
            CHECK(op->patchify(be, &tok, &tx, p, 1, VT_PATCH_CPQ));
        } else {
            int64_t sx[5] = {B, C, T, c->input_h, c->input_w};
            vt_tensor tx = vt_tensor_make(VT_DTYPE_F32, (void *)in->x, 5, sx);
            CHECK(op->patchify(be, &tok, &tx, p, 1, VT_PATCH_CPQ));
        }
        CHECK(lin(d, x, big, BN, &d->x_emb, VT_ACT_NONE));
        for (int t = 0; t < T; t++)
            for (int n = 0; n < HW; n++)
                for (int k = 0; k < D; k++)
                    pos[((size_t)t * HW + n) * D + k] =
                        d->pos_embed[(size_t)n * D + k] + (d->temp_embed ? d->temp_embed[(size_t)t * D + k] : 0.0f);
        vt_tensor tx = T3(x, B, N, D), tp = T2(pos, N, D);
        CHECK(op->binary(be, &tx, &tx, &tp, VT_BIN_ADD));
    }

    /* c = t_mlp(timestep_embedding(t)) + y_embed + pool(cond') */
    vt_timestep_embed(temb, in->t, B, FREQ_DIM, 10000.0f);
    CHECK(lin(d, sc, temb, B, &d->t_mlp0, VT_ACT_SILU));
    CHECK(lin(d, cvec, sc, B, &d->t_mlp2, VT_ACT_NONE));
    if (c->num_classes > 0) {
        for (int b = 0; b < B; b++) {
            int y = in->y ? in->y[b] : c->num_classes;
            for (int k = 0; k < D; k++) cvec[(size_t)b * D + k] += d->y_table[(size_t)y * D + k];
        }
    }
    if (L) {
        CHECK(lin(d, cproj, in->cond, (int64_t)B * L, &d->cond_proj, VT_ACT_NONE));
        for (int i = 0; i < B * L; i++) cmask[i] = in->cond_mask ? (in->cond_mask[i] != 0.0f) : 1.0f;
        if (c->cond_pooled) {
            /* masked mean over the present tokens; a row with none pools to zero */
            for (int b = 0; b < B; b++) {
                double cnt = 0;
                for (int k = 0; k < D; k++) sc[(size_t)b * D + k] = 0;
                for (int l = 0; l < L; l++) {
                    if (cmask[b * L + l] == 0.0f) continue;
                    cnt++;
                    for (int k = 0; k < D; k++) sc[(size_t)b * D + k] += cproj[((size_t)b * L + l) * D + k];
                }
                for (int k = 0; k < D; k++) sc[(size_t)b * D + k] = cnt > 0 ? (float)(sc[(size_t)b * D + k] / cnt) : 0.0f;
            }
            CHECK(lin(d, mod, sc, B, &d->cond_pool, VT_ACT_NONE));
            for (int i = 0; i < B * D; i++) cvec[i] += mod[i];
        }
    }
    /* SiLU(c) feeds every adaLN modulation. */
    {
        vt_tensor ts = T2(sc, B, D), tc = T2(cvec, B, D);
        CHECK(op->activation(be, &ts, &tc, VT_ACT_SILU));
    }

    vt_tensor tx = T3(x, B, N, D), txn = T3(xn, B, N, D), tao = T3(ao, B, N, D);
    for (int i = 0; i < c->depth; i++) {
        const block_w *bw = &d->blocks[i];
        CHECK(lin(d, mod, sc, B, &bw->ada, VT_ACT_NONE));
        split_chunks(modc, mod, B, 6, D);
        vt_tensor shift1 = T2(modc, B, D), scale1 = T2(modc + (size_t)B * D, B, D);
        vt_tensor gate1 = T2(modc + 2 * (size_t)B * D, B, D), shift2 = T2(modc + 3 * (size_t)B * D, B, D);
        vt_tensor scale2 = T2(modc + 4 * (size_t)B * D, B, D), gate2 = T2(modc + 5 * (size_t)B * D, B, D);

        /* self-attention */
        CHECK(op->layernorm(be, &txn, &tx, NULL, NULL, 1e-6f));
        CHECK(op->modulate(be, &txn, &txn, &shift1, &scale1));
        CHECK(lin(d, big, xn, BN, &bw->qkv, VT_ACT_NONE));
        {
            vt_tensor tq = T3(big, B, N, 3 * D);
            vt_attn_args a;
            memset(&a, 0, sizeof a);
            a.desc = c->attn[i];
            a.heads = heads;
            a.head_dim = hd;
            a.q = a.k = a.v = &tq;
            a.off_q = 0;
            a.off_k = (size_t)D;
            a.off_v = 2 * (size_t)D;
            a.ld_q = a.ld_k = a.ld_v = 3 * (size_t)D;
            a.out = &tao;
            a.ld_o = (size_t)D;
            if (c->attn_spatial[i]) {
                /* Frames are contiguous runs of HW tokens: full attention with
                 * the frames as batch, no copy. */
                a.B = B * T;
                a.Nq = a.Nk = HW;
                a.desc.grid[0] = 1;
            } else {
                a.B = B;
                a.Nq = a.Nk = N;
                a.desc.grid[0] = T;
            }
            a.desc.grid[1] = h;
            a.desc.grid[2] = w;
            rc = op->attention(be, &a);
            if (rc) {
                char msg[512];
                snprintf(msg, sizeof msg, "%s", vt_context_error(ctx));
                rc = vt_error(ctx, rc, "block %d (%s): %s", i, c->attn_text[i], msg);
                goto done;
            }
        }
        CHECK(lin(d, xn, ao, BN, &bw->proj, VT_ACT_NONE));
        CHECK(op->gated_add(be, &tx, &txn, &gate1));

        /* cross-attention to the conditioning tokens (PixArt-α: no norm, no gate) */
        if (L) {
            CHECK(lin(d, xn, x, BN, &bw->xq, VT_ACT_NONE));
            CHECK(lin(d, ckv, cproj, (int64_t)B * L, &bw->xkv, VT_ACT_NONE));
            vt_tensor tq = T3(xn, B, N, D), tkv = T3(ckv, B, L, 2 * D), tm = T2(cmask, B, L);
            vt_attn_args a;
            memset(&a, 0, sizeof a);
            a.desc.kind = VT_ATTN_CROSS;
            a.B = B;
            a.Nq = N;
            a.Nk = L;
            a.heads = heads;
            a.head_dim = hd;
            a.q = &tq;
            a.k = a.v = &tkv;
            a.off_v = (size_t)D;
            a.ld_q = (size_t)D;
            a.ld_k = a.ld_v = 2 * (size_t)D;
            a.out = &tao;
            a.ld_o = (size_t)D;
            a.key_mask = &tm;
            CHECK(op->attention(be, &a));
            CHECK(lin(d, xn, ao, BN, &bw->xproj, VT_ACT_NONE));
            CHECK(op->binary(be, &tx, &tx, &txn, VT_BIN_ADD));
        }

        /* MLP */
        CHECK(op->layernorm(be, &txn, &tx, NULL, NULL, 1e-6f));
        CHECK(op->modulate(be, &txn, &txn, &shift2, &scale2));
        CHECK(lin(d, big, xn, BN, &bw->fc1, VT_ACT_GELU_TANH));
        CHECK(lin(d, xn, big, BN, &bw->fc2, VT_ACT_NONE));
        CHECK(op->gated_add(be, &tx, &txn, &gate2));
    }

    /* final layer */
    CHECK(lin(d, mod, sc, B, &d->final_ada, VT_ACT_NONE));
    split_chunks(modc, mod, B, 2, D);
    {
        vt_tensor fshift = T2(modc, B, D), fscale = T2(modc + (size_t)B * D, B, D);
        CHECK(op->layernorm(be, &txn, &tx, NULL, NULL, 1e-6f));
        CHECK(op->modulate(be, &txn, &txn, &fshift, &fscale));
        CHECK(lin(d, big, xn, BN, &d->final_lin, VT_ACT_NONE));
        vt_tensor tok = T3(big, B, N, (int64_t)p * p * Co);
        if (T == 1) {
            int64_t so[4] = {B, Co, c->input_h, c->input_w};
            vt_tensor to = vt_tensor_make(VT_DTYPE_F32, out, 4, so);
            CHECK(op->unpatchify(be, &to, &tok, p, 1, VT_PATCH_PQC));
        } else {
            int64_t so[5] = {B, Co, T, c->input_h, c->input_w};
            vt_tensor to = vt_tensor_make(VT_DTYPE_F32, out, 5, so);
            CHECK(op->unpatchify(be, &to, &tok, p, 1, VT_PATCH_PQC));
        }
    }
done:
    vt_arena_destroy(&ar);
    return rc;
}
