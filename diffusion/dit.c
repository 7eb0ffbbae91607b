/* The DiT forward pass over backend ops: patch embedding, conditioning vector,
 * adaLN-Zero blocks with per-block attention patterns and optional cross-attention,
 * final layer, unpatchify. Weights are converted to f32 once at load and kept in
 * one backend buffer; activations live in a second one, sized for the largest
 * batch seen; only x, the timestep embedding and the conditioning go up and the
 * output comes down, so the same code runs on the CPU and on a GPU backend. */
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
    float *w;     /* (out, in) host copy while loading, then NULL */
    float *b;     /* (out) likewise */
    size_t woff;  /* floats into the weight buffer of w (out, in) */
    size_t boff;  /* ... and of b (out) */
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
    float *temp_embed;   /* (frames, D) video models only; a clip of T frames uses rows [0, T) */
    linear_w t_mlp0;     /* (D, 256) */
    linear_w t_mlp2;     /* (D, D) */
    float *y_table;      /* (num_classes + 1, D) */
    linear_w cond_proj;  /* (D, cond_dim) */
    float *cond_null;    /* (1, cond_dim) */
    linear_w cond_pool;  /* (D, D) */
    block_w *blocks;     /* (depth) */
    linear_w final_ada;  /* (2D, D) */
    linear_w final_lin;  /* (p·p·C_out, D) */
    float **owned;       /* every host allocation above, freed at destroy */
    int n_owned, cap_owned;
    vt_buffer *wbuf;     /* every weight, f32, then pos (frames·h·w, D) at pos_off */
    size_t pos_off;      /* floats */
    vt_buffer *abuf;     /* activations of the last forward's shape */
    size_t abuf_floats;
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

/* Every linear layer of the model, for the upload below. */
static int all_linears(vt_dit *d, linear_w **out, int cap) {
    int n = 0;
    linear_w *fixed[] = {&d->x_emb, &d->t_mlp0, &d->t_mlp2, &d->cond_proj, &d->cond_pool, &d->final_ada, &d->final_lin};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (fixed[i]->w && n < cap) out[n++] = fixed[i];
    for (int b = 0; b < d->cfg.depth; b++) {
        linear_w *l[] = {&d->blocks[b].ada, &d->blocks[b].qkv, &d->blocks[b].proj, &d->blocks[b].xq,
                         &d->blocks[b].xkv, &d->blocks[b].xproj, &d->blocks[b].fc1, &d->blocks[b].fc2};
        for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
            if (l[i]->w && n < cap) out[n++] = l[i];
    }
    return n;
}

/* Copies every weight and the position embedding into one backend buffer, then
 * drops the host copies of the linear layers (the backend's copy is the one used). */
static int upload_weights(vt_dit *d) {
    const vt_dit_config *c = &d->cfg;
    const int cap = 8 + 8 * c->depth;
    linear_w **l = malloc((size_t)cap * sizeof *l);
    if (!l) return vt_error(d->ctx, VT_E_NOMEM, "out of memory");
    int n = all_linears(d, l, cap);
    const int T = c->frames > 0 ? c->frames : 1, HW = (c->input_h / c->patch) * (c->input_w / c->patch), D = c->hidden;
    size_t total = 0;
    for (int i = 0; i < n; i++) total += (size_t)l[i]->out * l[i]->in + (size_t)l[i]->out;
    d->pos_off = total;
    total += (size_t)T * HW * D;
    int rc = d->be->iface->buffer_alloc(d->be, total * sizeof(float), &d->wbuf);
    size_t off = 0;
    for (int i = 0; !rc && i < n; i++) {
        size_t nw = (size_t)l[i]->out * l[i]->in, nb = (size_t)l[i]->out;
        l[i]->woff = off;
        l[i]->boff = off + nw;
        rc = d->be->iface->upload(d->be, d->wbuf, off * sizeof(float), l[i]->w, nw * sizeof(float));
        if (!rc) rc = d->be->iface->upload(d->be, d->wbuf, (off + nw) * sizeof(float), l[i]->b, nb * sizeof(float));
        off += nw + nb;
    }
    /* the backend holds the weights now: free the host copies (half the memory) */
    for (int i = 0; !rc && i < n; i++)
        for (int k = 0; k < d->n_owned; k++)
            if (d->owned[k] == l[i]->w || d->owned[k] == l[i]->b) {
                free(d->owned[k]);
                d->owned[k] = NULL;
            }
    for (int i = 0; !rc && i < n; i++) l[i]->w = l[i]->b = NULL;
    /* pos (T·h·w, D): the spatial embedding for every frame plus the frame's
     * temporal one, added to the tokens by one broadcast add */
    float *pos = rc ? NULL : malloc((size_t)T * HW * D * sizeof *pos);
    if (!rc && !pos) rc = vt_error(d->ctx, VT_E_NOMEM, "out of memory");
    if (!rc) {
        for (int t = 0; t < T; t++)
            for (int q = 0; q < HW; q++)
                for (int k = 0; k < D; k++)
                    pos[((size_t)t * HW + q) * D + k] =
                        d->pos_embed[(size_t)q * D + k] + (d->temp_embed ? d->temp_embed[(size_t)t * D + k] : 0.0f);
        rc = d->be->iface->upload(d->be, d->wbuf, d->pos_off * sizeof(float), pos, (size_t)T * HW * D * sizeof(float));
    }
    free(pos);
    free(l);
    return rc;
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
    if (!rc) rc = upload_weights(d);
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
    if (d->be && d->wbuf) d->be->iface->buffer_free(d->be, d->wbuf);
    if (d->be && d->abuf) d->be->iface->buffer_free(d->be, d->abuf);
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

/* A view of `n` dims into a backend buffer at `off` floats; data is the host
 * address when the buffer is host-visible (the CPU backend reads it). */
static vt_tensor view(vt_buffer *buf, size_t off, int ndim, int64_t d0, int64_t d1, int64_t d2) {
    int64_t shape[3] = {d0, d1, d2};
    vt_tensor t = vt_tensor_make(VT_DTYPE_F32, buf->host ? (float *)buf->host + off : NULL, ndim, shape);
    t.buf = buf;
    t.offset = off * sizeof(float);
    return t;
}

/* y (M, out) = act(x (M, in) · Wᵀ + b) for the rows [r0, r0 + rows) of a linear's
 * output features (a chunk of an adaLN projection is a view of its weight). */
static int lin_part(vt_dit *d, vt_tensor *y, const vt_tensor *x, const linear_w *lw, int r0, int rows, vt_act act) {
    vt_tensor tw = view(d->wbuf, lw->woff + (size_t)r0 * lw->in, 2, rows, lw->in, 0);
    vt_tensor tb = view(d->wbuf, lw->boff + (size_t)r0, 1, rows, 0, 0);
    return d->be->iface->linear(d->be, y, x, &tw, &tb, act);
}

static int lin(vt_dit *d, vt_tensor *y, const vt_tensor *x, const linear_w *lw, vt_act act) {
    return lin_part(d, y, x, lw, 0, lw->out, act);
}

#define CHECK(expr)                   \
    do {                              \
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
    /* A clip model takes any T in 1..frames: the frame position embedding's rows
     * [0, T) are used, and T = 1 is an image (temporal attention over one frame is
     * the token itself). An image model takes one frame. */
    if ((c->frames == 0 && T != 1) || (c->frames > 0 && T > c->frames))
        return vt_error(ctx, VT_E_SHAPE, "forward: x has %d frames but the model takes %s%d", T, c->frames ? "1.." : "",
                        c->frames ? c->frames : 1);
    for (int i = 0; i < c->depth; i++) {
        const vt_attn_desc *a = &c->attn[i];
        if (a->kind == VT_ATTN_NEIGHBORHOOD && a->kernel[0] * a->dilation[0] > T)
            return vt_error(ctx, VT_E_SHAPE, "forward: block %d (%s) needs at least %d frames, x has %d", i,
                            c->attn_text[i], a->kernel[0] * a->dilation[0], T);
    }
    if (c->cond_dim > 0 && (!in->cond || in->cond_len < 1))
        return vt_error(ctx, VT_E_INVALID, "forward: the model needs conditioning tokens 'cond' (B, L, %d)", c->cond_dim);
    if (c->num_classes > 0 && in->y)
        for (int b = 0; b < B; b++)
            if (in->y[b] < 0 || in->y[b] > c->num_classes)
                return vt_error(ctx, VT_E_INVALID, "forward: class label %d is outside 0..%d", in->y[b], c->num_classes);
    const int h = c->input_h / p, w = c->input_w / p, HW = h * w, N = T * HW;
    const int64_t BN = (int64_t)B * N;
    const int L = c->cond_dim > 0 ? in->cond_len : 0;
    const int M = c->mlp_hidden, heads = c->heads, hd = D / heads, K = c->cond_dim;
    const size_t nx = (size_t)B * C * T * c->input_h * c->input_w, nout = (size_t)B * Co * T * c->input_h * c->input_w;

    /* Activation layout: x, xn, ao (B·N·D each), big (B·N·wide), the input and
     * output images, per-batch vectors, conditioning; offsets in floats. */
    size_t wide = (size_t)(3 * D > M ? 3 * D : M);
    if ((size_t)C * p * p > wide) wide = (size_t)C * p * p;
    if ((size_t)p * p * Co > wide) wide = (size_t)p * p * Co;
    vt_arena *lay = vt_arena_create_layout();
    if (!lay) return vt_error(ctx, VT_E_NOMEM, "forward: out of memory");
#define SLOT(n) (vt_arena_offset(lay, (size_t)(n) * sizeof(float)) / sizeof(float))
    const size_t o_x = SLOT(BN * D), o_xn = SLOT(BN * D), o_ao = SLOT(BN * D), o_big = SLOT((size_t)BN * wide);
    const size_t o_img = SLOT(nx), o_out = SLOT(nout), o_temb = SLOT((size_t)B * FREQ_DIM);
    const size_t o_c = SLOT((size_t)B * D), o_sc = SLOT((size_t)B * D), o_tmp = SLOT((size_t)B * D);
    const size_t o_mod = SLOT((size_t)6 * B * D), o_cond = SLOT((size_t)B * L * K), o_cproj = SLOT((size_t)B * L * D);
    const size_t o_ckv = SLOT((size_t)B * L * 2 * D), o_cmask = SLOT((size_t)B * L), o_pw = SLOT((size_t)B * L);
#undef SLOT
    const size_t total = vt_arena_used(lay) / sizeof(float);
    vt_arena_destroy(&lay);
    int rc = VT_OK;
    if (total > d->abuf_floats) {
        if (d->abuf) op->buffer_free(be, d->abuf);
        d->abuf = NULL;
        d->abuf_floats = 0;
        if ((rc = op->buffer_alloc(be, total * sizeof(float), &d->abuf))) return rc;
        d->abuf_floats = total;
    }
    vt_buffer *ab = d->abuf;
    float *host = malloc(((size_t)B * (FREQ_DIM + D) + (size_t)B * L * 2 + 16) * sizeof(float));
    if (!host) return vt_error(ctx, VT_E_NOMEM, "forward: out of memory");
#define UP(off, ptr, n) CHECK(op->upload(be, ab, (off) * sizeof(float), (ptr), (n) * sizeof(float)))

    vt_tensor tx = view(ab, o_x, 3, B, N, D), txn = view(ab, o_xn, 3, B, N, D), tao = view(ab, o_ao, 3, B, N, D);

    /* Patch embedding: each frame of x (B, C, T, H, W) is patchified on its own
     * (Latte's per-frame Conv2d); for T = 1 the layout is (B, C, H, W). */
    UP(o_img, in->x, nx);
    {
        vt_tensor tok = view(ab, o_big, 3, B, N, (int64_t)C * p * p);
        int64_t sx[5] = {B, C, T, c->input_h, c->input_w};
        vt_tensor ti = vt_tensor_make(VT_DTYPE_F32, ab->host ? (float *)ab->host + o_img : NULL, T == 1 ? 4 : 5, sx);
        if (T == 1) ti.shape[2] = c->input_h, ti.shape[3] = c->input_w;
        ti.buf = ab;
        ti.offset = o_img * sizeof(float);
        CHECK(op->patchify(be, &tok, &ti, p, 1, VT_PATCH_CPQ));
        vt_tensor tok2 = view(ab, o_big, 2, BN, (int64_t)C * p * p, 0);
        vt_tensor tx2 = view(ab, o_x, 2, BN, D, 0);
        CHECK(lin(d, &tx2, &tok2, &d->x_emb, VT_ACT_NONE));
        /* pos is frame-major, so its first T·h·w rows are frames [0, T) */
        vt_tensor tp = view(d->wbuf, d->pos_off, 2, N, D, 0);
        CHECK(op->binary(be, &tx, &tx, &tp, VT_BIN_ADD));
    }

    /* c = t_mlp(timestep_embedding(t)) + y_embed + pool(cond') */
    vt_timestep_embed(host, in->t, B, FREQ_DIM, 10000.0f);
    UP(o_temb, host, (size_t)B * FREQ_DIM);
    vt_tensor ttemb = view(ab, o_temb, 2, B, FREQ_DIM, 0), tc = view(ab, o_c, 2, B, D, 0);
    vt_tensor tsc = view(ab, o_sc, 2, B, D, 0), ttmp = view(ab, o_tmp, 2, B, D, 0);
    CHECK(lin(d, &tsc, &ttemb, &d->t_mlp0, VT_ACT_SILU));
    CHECK(lin(d, &tc, &tsc, &d->t_mlp2, VT_ACT_NONE));
    if (c->num_classes > 0) {
        for (int b = 0; b < B; b++) {
            int y = in->y ? in->y[b] : c->num_classes;
            memcpy(host + (size_t)b * D, d->y_table + (size_t)y * D, (size_t)D * sizeof(float));
        }
        UP(o_tmp, host, (size_t)B * D);
        CHECK(op->binary(be, &tc, &tc, &ttmp, VT_BIN_ADD));
    }
    vt_tensor tcproj = view(ab, o_cproj, 3, B, L, D), tcmask = view(ab, o_cmask, 2, B, L, 0);
    if (L) {
        UP(o_cond, in->cond, (size_t)B * L * K);
        vt_tensor tcond = view(ab, o_cond, 2, (int64_t)B * L, K, 0), tcp2 = view(ab, o_cproj, 2, (int64_t)B * L, D, 0);
        CHECK(lin(d, &tcp2, &tcond, &d->cond_proj, VT_ACT_NONE));
        for (int i = 0; i < B * L; i++) host[i] = in->cond_mask ? (in->cond_mask[i] != 0.0f) : 1.0f;
        UP(o_cmask, host, (size_t)B * L);
        if (c->cond_pooled) {
            /* masked mean as a (1 × L)·(L × D) product per item: weights 1/count on
             * present tokens (a row with none pools to zero) */
            for (int b = 0; b < B; b++) {
                int cnt = 0;
                for (int l = 0; l < L; l++) cnt += host[b * L + l] != 0.0f;
                for (int l = 0; l < L; l++) host[B * L + b * L + l] = cnt ? host[b * L + l] / (float)cnt : 0.0f;
            }
            UP(o_pw, host + B * L, (size_t)B * L);
            vt_tensor tpw = view(ab, o_pw, 3, B, 1, L), tpooled = view(ab, o_tmp, 3, B, 1, D);
            CHECK(op->matmul_batched(be, &tpooled, &tpw, 0, &tcproj, 0, 1.0f));
            vt_tensor tpool2 = view(ab, o_tmp, 2, B, D, 0), tmod1 = view(ab, o_mod, 2, B, D, 0);
            CHECK(lin(d, &tmod1, &tpool2, &d->cond_pool, VT_ACT_NONE));
            CHECK(op->binary(be, &tc, &tc, &tmod1, VT_BIN_ADD));
        }
    }
    /* SiLU(c) feeds every adaLN modulation */
    CHECK(op->activation(be, &tsc, &tc, VT_ACT_SILU));

    vt_tensor chunk[6];
    for (int j = 0; j < 6; j++) chunk[j] = view(ab, o_mod + (size_t)j * B * D, 2, B, D, 0);
    for (int i = 0; i < c->depth; i++) {
        const block_w *bw = &d->blocks[i];
        /* the six modulation vectors, each from its own rows of the adaLN weight,
         * land contiguous as the modulate and gate ops want them */
        for (int j = 0; j < 6; j++) CHECK(lin_part(d, &chunk[j], &tsc, &bw->ada, j * D, D, VT_ACT_NONE));

        /* self-attention */
        CHECK(op->layernorm(be, &txn, &tx, NULL, NULL, 1e-6f));
        CHECK(op->modulate(be, &txn, &txn, &chunk[0], &chunk[1]));
        vt_tensor tqkv = view(ab, o_big, 3, B, N, 3 * D), tqkv2 = view(ab, o_big, 2, BN, 3 * D, 0);
        vt_tensor txn2 = view(ab, o_xn, 2, BN, D, 0), tao2 = view(ab, o_ao, 2, BN, D, 0);
        CHECK(lin(d, &tqkv2, &txn2, &bw->qkv, VT_ACT_NONE));
        {
            vt_attn_args a;
            memset(&a, 0, sizeof a);
            a.desc = c->attn[i];
            a.heads = heads;
            a.head_dim = hd;
            a.q = a.k = a.v = &tqkv;
            a.off_k = (size_t)D;
            a.off_v = 2 * (size_t)D;
            a.ld_q = a.ld_k = a.ld_v = 3 * (size_t)D;
            a.out = &tao;
            a.ld_o = (size_t)D;
            if (c->attn_spatial[i]) {
                /* frames are contiguous runs of HW tokens: full attention with the
                 * frames as batch, no copy */
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
        CHECK(lin(d, &txn2, &tao2, &bw->proj, VT_ACT_NONE));
        CHECK(op->gated_add(be, &tx, &txn, &chunk[2]));

        /* cross-attention to the conditioning tokens (PixArt-α: no norm, no gate) */
        if (L) {
            vt_tensor tx2 = view(ab, o_x, 2, BN, D, 0);
            CHECK(lin(d, &txn2, &tx2, &bw->xq, VT_ACT_NONE));
            vt_tensor tcp2 = view(ab, o_cproj, 2, (int64_t)B * L, D, 0), tkv2 = view(ab, o_ckv, 2, (int64_t)B * L, 2 * D, 0);
            CHECK(lin(d, &tkv2, &tcp2, &bw->xkv, VT_ACT_NONE));
            vt_tensor tkv = view(ab, o_ckv, 3, B, L, 2 * D);
            vt_attn_args a;
            memset(&a, 0, sizeof a);
            a.desc.kind = VT_ATTN_CROSS;
            a.B = B;
            a.Nq = N;
            a.Nk = L;
            a.heads = heads;
            a.head_dim = hd;
            a.q = &txn;
            a.k = a.v = &tkv;
            a.off_v = (size_t)D;
            a.ld_q = (size_t)D;
            a.ld_k = a.ld_v = 2 * (size_t)D;
            a.out = &tao;
            a.ld_o = (size_t)D;
            a.key_mask = &tcmask;
            CHECK(op->attention(be, &a));
            CHECK(lin(d, &txn2, &tao2, &bw->xproj, VT_ACT_NONE));
            CHECK(op->binary(be, &tx, &tx, &txn, VT_BIN_ADD));
        }

        /* MLP */
        CHECK(op->layernorm(be, &txn, &tx, NULL, NULL, 1e-6f));
        CHECK(op->modulate(be, &txn, &txn, &chunk[3], &chunk[4]));
        vt_tensor th = view(ab, o_big, 2, BN, M, 0);
        CHECK(lin(d, &th, &txn2, &bw->fc1, VT_ACT_GELU_TANH));
        CHECK(lin(d, &txn2, &th, &bw->fc2, VT_ACT_NONE));
        CHECK(op->gated_add(be, &tx, &txn, &chunk[5]));
    }

    /* final layer */
    CHECK(lin_part(d, &chunk[0], &tsc, &d->final_ada, 0, D, VT_ACT_NONE));
    CHECK(lin_part(d, &chunk[1], &tsc, &d->final_ada, D, D, VT_ACT_NONE));
    CHECK(op->layernorm(be, &txn, &tx, NULL, NULL, 1e-6f));
    CHECK(op->modulate(be, &txn, &txn, &chunk[0], &chunk[1]));
    {
        vt_tensor txn2 = view(ab, o_xn, 2, BN, D, 0), tf2 = view(ab, o_big, 2, BN, (int64_t)p * p * Co, 0);
        CHECK(lin(d, &tf2, &txn2, &d->final_lin, VT_ACT_NONE));
        vt_tensor tok = view(ab, o_big, 3, B, N, (int64_t)p * p * Co);
        int64_t so[5] = {B, Co, T, c->input_h, c->input_w};
        vt_tensor to = vt_tensor_make(VT_DTYPE_F32, ab->host ? (float *)ab->host + o_out : NULL, T == 1 ? 4 : 5, so);
        if (T == 1) to.shape[2] = c->input_h, to.shape[3] = c->input_w;
        to.buf = ab;
        to.offset = o_out * sizeof(float);
        CHECK(op->unpatchify(be, &to, &tok, p, 1, VT_PATCH_PQC));
    }
    CHECK(op->download(be, ab, o_out * sizeof(float), out, nout * sizeof(float)));
done:
#undef UP
    free(host);
    return rc;
}
