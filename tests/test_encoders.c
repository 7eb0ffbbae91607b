/* Check suite for the encoders (encoders/): the tokenizer on hand-written cases
 * and on the reference tokenizer's ids, the text encoder, ViT and cross-modal
 * fusion against the PyTorch reference (tools/reference/encoders_ref.py, fixtures
 * in tests/data/encoders/), token pruning against a brute force written here,
 * and the encoder stages chained in a pipeline. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vt_check.h"
#include "backend.h"
#include "context.h"
#include "encoders/cross_modal.h"
#include "encoders/text_encoder.h"
#include "encoders/token_prune.h"
#include "encoders/tokenizer.h"
#include "encoders/vit.h"
#include "json.h"
#include "rng.h"
#include "safetensors.h"
#include "vitrail_stage.h"

#define TOL 1e-4 /* max|C − ref| / max|ref|, the conformance bound */

static vt_context *ctx;
static vt_backend *be;
static vt_st_file *model, *io;

static const char *data_dir(void) {
    const char *d = getenv("VT_TEST_DATA");
    return d ? d : "tests/data";
}

static void setup(void) {
    vt_context_params p = vt_context_default_params();
    p.n_threads = 2;
    ctx = vt_context_create(&p);
    be = vt_backend_cpu_create(ctx);
    ck_assert_ptr_nonnull(be);
    char path[512];
    snprintf(path, sizeof path, "%s/encoders/model.safetensors", data_dir());
    ck_assert_msg(vt_st_open(ctx, path, &model) == 0, "%s", vt_context_error(ctx));
    snprintf(path, sizeof path, "%s/encoders/io.safetensors", data_dir());
    ck_assert_msg(vt_st_open(ctx, path, &io) == 0, "%s", vt_context_error(ctx));
}

static void teardown(void) {
    vt_st_close(&model);
    vt_st_close(&io);
    vt_backend_destroy(&be);
    vt_context_destroy(&ctx);
}

/* Tensor `name` of f as a new f32 buffer; its shape in *t. */
static float *get(const vt_st_file *f, const char *name, const vt_st_tensor **t) {
    const vt_st_tensor *e = vt_st_find(f, name);
    ck_assert_msg(e != NULL, "fixture tensor %s missing", name);
    size_t n = e->nbytes / vt_dtype_size(e->dtype);
    float *v = malloc((n ? n : 1) * sizeof *v);
    ck_assert_int_eq(vt_st_read_f32(ctx, f, name, v, n), 0);
    if (t) *t = e;
    return v;
}

static double rel_err(const float *a, const float *ref, size_t n) {
    double md = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert(isfinite(a[i]));
        double d = fabs((double)a[i] - ref[i]);
        if (d > md) md = d;
        if (fabs(ref[i]) > mr) mr = fabs(ref[i]);
    }
    ck_assert(mr > 0); /* a reference of zeros would make the comparison vacuous */
    return md / mr;
}

static vt_tokenizer *make_tokenizer(int max_len) {
    vt_tokenizer *t = NULL;
    ck_assert_msg(vt_tokenizer_create(ctx, vt_st_meta(model, "vocab"), max_len, &t) == 0, "%s", vt_context_error(ctx));
    return t;
}

/* ---- tokenizer ---- */

/* the ids the Python reference tokenizer gave for the fixture's prompts */
START_TEST(tokenizer_matches_reference) {
    vt_tokenizer *t = make_tokenizer(8);
    const char *pj = vt_st_meta(io, "prompts");
    char err[128];
    vt_json *prompts = vt_json_parse(pj, strlen(pj), err, sizeof err);
    ck_assert_ptr_nonnull(prompts);
    const vt_st_tensor *info;
    float *ids = get(io, "prompt_ids", &info), *mask = get(io, "prompt_mask", NULL), *trunc = get(io, "prompt_trunc", NULL);
    ck_assert_int_eq((int)info->shape[0], (int)prompts->len);
    for (size_t p = 0; p < prompts->len; p++) {
        int32_t got[8];
        float gm[8];
        int n = 0, cut = -1;
        ck_assert_int_eq(vt_tokenizer_encode(ctx, t, prompts->items[p].str, got, gm, &n, &cut), 0);
        int present = 0;
        for (int i = 0; i < 8; i++) {
            ck_assert_msg(got[i] == (int32_t)ids[p * 8 + i], "prompt %zu token %d: %d, reference %g", p, i, got[i], ids[p * 8 + i]);
            ck_assert(gm[i] == mask[p * 8 + i]);
            present += gm[i] != 0;
        }
        ck_assert_int_eq(n, present);
        ck_assert_int_eq(cut, (int)trunc[p]);
    }
    free(ids);
    free(mask);
    free(trunc);
    vt_json_free(prompts);
    vt_tokenizer_destroy(&t);
}
END_TEST

START_TEST(tokenizer_cases) {
    /* vocab: 0 <pad> 1 <unk> 2 <bos> 3 <eos> 4 a 5 red 6 blue 7 green 8 circle 9 square ... 20 2 21 and */
    vt_tokenizer *t = make_tokenizer(8);
    ck_assert_int_eq(vt_tokenizer_vocab_size(t), 22);
    int32_t ids[8];
    float mask[8];
    int n, cut;
    ck_assert_int_eq(vt_tokenizer_encode(ctx, t, "A RED, circle!", ids, mask, &n, &cut), 0);
    const int32_t want1[8] = {2, 4, 5, 8, 3, 0, 0, 0};
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(ids[i], want1[i]);
        ck_assert(mask[i] == (i < 5 ? 1.0f : 0.0f));
    }
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(cut, 0);
    /* unknown words, one very long, UTF-8 as a separator, "<pad>" spelled out */
    char longw[600];
    memset(longw, 'x', sizeof longw - 1);
    longw[sizeof longw - 1] = 0;
    char text[700];
    snprintf(text, sizeof text, "purple %s caf\xc3\xa9 <pad>", longw);
    ck_assert_int_eq(vt_tokenizer_encode(ctx, t, text, ids, NULL, &n, &cut), 0);
    const int32_t want2[8] = {2, 1, 1, 1, 1, 3, 0, 0}; /* purple, xxx..., caf, pad -> <unk>; é separates */
    for (int i = 0; i < 8; i++) ck_assert_int_eq(ids[i], want2[i]);
    /* exactly max_len - 2 words fit; one more is truncated, <eos> kept last */
    ck_assert_int_eq(vt_tokenizer_encode(ctx, t, "a red blue green circle square", ids, mask, &n, &cut), 0);
    ck_assert_int_eq(cut, 0);
    ck_assert_int_eq(n, 8);
    ck_assert_int_eq(ids[7], 3);
    ck_assert_int_eq(vt_tokenizer_encode(ctx, t, "a red blue green circle square 2", ids, mask, &n, &cut), 0);
    ck_assert_int_eq(cut, 1);
    ck_assert_int_eq(ids[6], 9);
    ck_assert_int_eq(ids[7], 3);
    /* empty prompts: a clear error */
    const char *empty[] = {"", "   ", " ,.;!? \t\n", NULL};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(vt_tokenizer_encode(ctx, t, empty[i], ids, mask, &n, &cut), VT_E_INVALID);
        ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "empty"));
    }
    vt_tokenizer_destroy(&t);
    ck_assert_ptr_null(t);
    vt_tokenizer_destroy(&t); /* NULL is fine */
}
END_TEST

START_TEST(tokenizer_bad_vocab) {
    struct { const char *vocab; const char *msg; } bad[] = {
        {NULL, "vocab"},
        {"{\"a\":1}", "array"},
        {"[\"<pad>\",\"<unk>\",\"<bos>\"]", "array"},
        {"[\"<pad>\",\"<bos>\",\"<unk>\",\"<eos>\",\"a\"]", "id 1"},
        {"[\"<pad>\",\"<unk>\",\"<bos>\",\"<eos>\",\"a\",\"a\"]", "twice"},
        {"[\"<pad>\",\"<unk>\",\"<bos>\",\"<eos>\",7]", "not a string"},
        {"[\"<pad>\",", "vocab"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vt_tokenizer *t = (vt_tokenizer *)1;
        ck_assert_int_eq(vt_tokenizer_create(ctx, bad[i].vocab, 8, &t), VT_E_FORMAT);
        ck_assert_ptr_null(t);
        ck_assert_msg(strstr(vt_context_error(ctx), bad[i].msg), "case %zu: %s", i, vt_context_error(ctx));
    }
    vt_tokenizer *t;
    ck_assert_int_ne(vt_tokenizer_create(ctx, "[\"<pad>\",\"<unk>\",\"<bos>\",\"<eos>\"]", 2, &t), 0);
}
END_TEST

/* ---- encoders against PyTorch ---- */

START_TEST(text_encoder_matches_reference) {
    vt_text_encoder *te;
    ck_assert_msg(vt_text_encoder_create(ctx, be, model, &te) == 0, "%s", vt_context_error(ctx));
    const vt_st_tensor *ti, *to;
    float *idf = get(io, "ids", &ti), *mask = get(io, "mask", NULL), *want = get(io, "text_out", &to);
    const int B = (int)ti->shape[0], L = (int)ti->shape[1], D = (int)to->shape[2];
    ck_assert_int_eq(D, vt_text_encoder_get_shape(te).hidden);
    int32_t *ids = malloc((size_t)B * L * sizeof *ids);
    for (int i = 0; i < B * L; i++) ids[i] = (int32_t)idf[i];
    float *out = malloc((size_t)B * L * D * sizeof *out);
    ck_assert_msg(vt_text_encoder_forward(te, B, L, ids, mask, out) == 0, "%s", vt_context_error(ctx));
    double e = rel_err(out, want, (size_t)B * L * D);
    printf("text encoder: max rel err %.3g\n", e);
    ck_assert_msg(e <= TOL, "text encoder: rel err %g", e);
    /* errors: an id outside the vocabulary, a row of padding only, too long */
    ids[3] = 22;
    ck_assert_int_eq(vt_text_encoder_forward(te, B, L, ids, mask, out), VT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "vocabulary"));
    ids[3] = 4;
    float zero[16] = {0};
    ck_assert_int_eq(vt_text_encoder_forward(te, 1, L, ids, zero, out), VT_E_INVALID);
    ck_assert_int_eq(vt_text_encoder_forward(te, 1, 9, ids, NULL, out), VT_E_SHAPE);
    free(ids);
    free(idf);
    free(mask);
    free(want);
    free(out);
    vt_text_encoder_destroy(&te);
}
END_TEST

START_TEST(vit_matches_reference) {
    vt_vit *v;
    ck_assert_msg(vt_vit_create(ctx, be, model, &v) == 0, "%s", vt_context_error(ctx));
    const vt_st_tensor *ti, *to;
    float *img = get(io, "images", &ti), *want = get(io, "image_out", &to);
    vt_vit_shape sh = vt_vit_get_shape(v);
    ck_assert_int_eq(sh.tokens, (int)to->shape[1]);
    ck_assert_int_eq(sh.hidden, (int)to->shape[2]);
    const int B = (int)ti->shape[0];
    size_t n = (size_t)B * sh.tokens * sh.hidden;
    float *out = malloc(n * sizeof *out);
    ck_assert_msg(vt_vit_forward(v, B, img, out) == 0, "%s", vt_context_error(ctx));
    double e = rel_err(out, want, n);
    printf("vit: max rel err %.3g\n", e);
    ck_assert_msg(e <= TOL, "vit: rel err %g", e);
    free(img);
    free(want);
    free(out);
    vt_vit_destroy(&v);
}
END_TEST

START_TEST(cross_modal_matches_reference) {
    vt_cross_modal *cm;
    ck_assert_msg(vt_cross_modal_create(ctx, be, model, &cm) == 0, "%s", vt_context_error(ctx));
    const vt_st_tensor *ti, *tt;
    float *img = get(io, "image_out", &ti), *txt = get(io, "text_out", &tt), *mask = get(io, "mask", NULL);
    float *want = get(io, "fused", NULL), *want_map = get(io, "map", NULL);
    const int B = (int)ti->shape[0], Ni = (int)ti->shape[1], Di = (int)ti->shape[2], Nt = (int)tt->shape[1];
    float *out = malloc((size_t)B * Ni * Di * sizeof *out), *map = malloc((size_t)B * Ni * sizeof *map);
    ck_assert_msg(vt_cross_modal_forward(cm, B, Ni, img, Nt, txt, mask, out, map) == 0, "%s", vt_context_error(ctx));
    double e = rel_err(out, want, (size_t)B * Ni * Di), em = rel_err(map, want_map, (size_t)B * Ni);
    printf("cross-modal: max rel err %.3g (fused), %.3g (map)\n", e, em);
    ck_assert_msg(e <= TOL, "fused: rel err %g", e);
    ck_assert_msg(em <= TOL, "map: rel err %g", em);
    for (int b = 0; b < B; b++) {
        double s = 0;
        for (int i = 0; i < Ni; i++) s += map[b * Ni + i];
        ck_assert_double_eq_tol(s, 1.0, 1e-5);
    }
    /* without a map the fused tokens are the same */
    float *out2 = malloc((size_t)B * Ni * Di * sizeof *out2);
    ck_assert_int_eq(vt_cross_modal_forward(cm, B, Ni, img, Nt, txt, mask, out2, NULL), 0);
    ck_assert_int_eq(memcmp(out, out2, (size_t)B * Ni * Di * sizeof *out), 0);
    float zero[8] = {0};
    ck_assert_int_eq(vt_cross_modal_forward(cm, 1, Ni, img, Nt, txt, zero, out2, NULL), VT_E_INVALID);
    free(out2);
    free(img);
    free(txt);
    free(mask);
    free(want);
    free(want_map);
    free(out);
    free(map);
    vt_cross_modal_destroy(&cm);
}
END_TEST

/* Copies the fixture model into `path` without tensor `drop`, with tensor
 * `reshape` stored flat, and with config `config` (NULL: the fixture's). */
static void write_variant(const char *path, const char *drop, const char *reshape, const char *config) {
    vt_st_writer *w = vt_st_writer_create();
    ck_assert_ptr_nonnull(w);
    for (size_t i = 0; i < model->n_tensors; i++) {
        const vt_st_tensor *t = &model->tensors[i];
        if (drop && !strcmp(t->name, drop)) continue;
        size_t n = t->nbytes / vt_dtype_size(t->dtype);
        float *v = get(model, t->name, NULL);
        int64_t flat[1] = {(int64_t)n};
        int flatten = reshape && !strcmp(t->name, reshape);
        ck_assert_int_eq(vt_st_writer_add_f32(ctx, w, t->name, VT_DTYPE_F32, flatten ? 1 : t->ndim, flatten ? flat : t->shape, v), 0);
        free(v);
    }
    ck_assert_int_eq(vt_st_writer_add_meta(ctx, w, "config", config ? config : vt_st_meta(model, "config")), 0);
    ck_assert_int_eq(vt_st_writer_add_meta(ctx, w, "vocab", vt_st_meta(model, "vocab")), 0);
    ck_assert_int_eq(vt_st_writer_save(ctx, w, path), 0);
    vt_st_writer_destroy(&w);
}

START_TEST(encoder_model_errors) {
    char dir[] = "/tmp/vt-test-enc-XXXXXX", path[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    vt_st_file *f;
    vt_text_encoder *te = NULL;
    vt_vit *v = NULL;
    vt_cross_modal *cm = NULL;

    write_variant(path, "text_encoder.blocks.1.mlp.fc2.bias", NULL, NULL);
    ck_assert_int_eq(vt_st_open(ctx, path, &f), 0);
    ck_assert_int_eq(vt_text_encoder_create(ctx, be, f, &te), VT_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "missing tensor text_encoder.blocks.1.mlp.fc2.bias"));
    ck_assert_ptr_null(te);
    vt_st_close(&f);

    write_variant(path, NULL, "image_encoder.pos_embed", NULL);
    ck_assert_int_eq(vt_st_open(ctx, path, &f), 0);
    ck_assert_int_eq(vt_vit_create(ctx, be, f, &v), VT_E_FORMAT);
    ck_assert_msg(strstr(vt_context_error(ctx), "image_encoder.pos_embed has shape (544), expected (1, 17, 32)"), "%s",
                  vt_context_error(ctx));
    vt_st_close(&f);

    write_variant(path, "cross_modal.blocks.0.attn.kv.weight", NULL, NULL);
    ck_assert_int_eq(vt_st_open(ctx, path, &f), 0);
    ck_assert_int_eq(vt_cross_modal_create(ctx, be, f, &cm), VT_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "cross_modal.blocks.0.attn.kv.weight"));
    vt_st_close(&f);

    /* config faults */
    struct { const char *cfg; const char *msg; } bad[] = {
        {"{\"image_encoder\":{\"image_size\":16,\"patch\":4,\"hidden\":24,\"depth\":2,\"heads\":2}}", "\"text_encoder\""},
        {"{\"text_encoder\":{\"vocab\":22,\"max_len\":8,\"hidden\":32,\"depth\":2,\"heads\":5}}", "multiple of heads"},
        {"{\"text_encoder\":{\"vocab\":22,\"max_len\":8,\"hidden\":32,\"depth\":-1,\"heads\":4}}", "text_encoder.depth"},
        {"[1]", "not a JSON object"},
        {"{\"text_encoder\":", "model config"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_variant(path, NULL, NULL, bad[i].cfg);
        ck_assert_int_eq(vt_st_open(ctx, path, &f), 0);
        ck_assert_int_eq(vt_text_encoder_create(ctx, be, f, &te), VT_E_FORMAT);
        ck_assert_msg(strstr(vt_context_error(ctx), bad[i].msg), "case %zu: %s", i, vt_context_error(ctx));
        vt_st_close(&f);
    }
    write_variant(path, NULL, NULL, "{\"text_encoder\":{\"vocab\":22,\"max_len\":8,\"hidden\":32,\"depth\":2,\"heads\":4}}");
    ck_assert_int_eq(vt_st_open(ctx, path, &f), 0);
    ck_assert_int_eq(vt_vit_create(ctx, be, f, &v), VT_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "image_encoder"));
    ck_assert_int_eq(vt_cross_modal_create(ctx, be, f, &cm), VT_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "cross_modal"));
    vt_st_close(&f);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* ---- token pruning against a brute force ---- */

/* The definition, computed another way: k rounds of "take the best-scoring token
 * not yet taken" (first index wins ties), then the taken set in index order. */
static void brute_keep(const double *score, int N, int k, int *keep) {
    char *taken = calloc((size_t)N, 1);
    for (int r = 0; r < k; r++) {
        int best = -1;
        for (int n = 0; n < N; n++)
            if (!taken[n] && (best < 0 || score[n] > score[best])) best = n;
        taken[best] = 1;
    }
    for (int n = 0, j = 0; n < N; n++)
        if (taken[n]) keep[j++] = n;
    free(taken);
}

static void brute_prune(const vt_prune_params *p, int B, int N, int D, const float *x, const float *map, float *out, int *keep) {
    int k = (int)ceil(p->keep_ratio * (double)N - 1e-6);
    double *s = malloc((size_t)N * sizeof *s);
    float *u = malloc((size_t)N * sizeof *u);
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * N * D;
        vt_rng_uniform(p->seed, 0, (uint64_t)b * N, u, (size_t)N);
        for (int n = 0; n < N; n++) {
            double nn = 0;
            for (int d = 0; d < D; d++) nn += (double)xb[n * D + d] * xb[n * D + d];
            s[n] = p->method == VT_PRUNE_ATTN ? map[b * N + n] : p->method == VT_PRUNE_NORM ? sqrt(nn) : u[n];
        }
        int *kb = keep + b * k;
        brute_keep(s, N, k, kb);
        for (int j = 0; j < k; j++) {
            /* members: the kept token and every dropped token closest to it */
            double acc[64] = {0};
            int cnt = 0;
            for (int n = 0; n < N; n++) {
                int is_kept = 0, best = -1;
                double bs = -2;
                for (int c = 0; c < k; c++) is_kept |= kb[c] == n;
                if (is_kept && n != kb[j]) continue;
                if (!is_kept) {
                    if (!p->merge) continue;
                    for (int c = 0; c < k; c++) {
                        double dot = 0, na = 0, nb = 0;
                        for (int d = 0; d < D; d++) {
                            dot += (double)xb[n * D + d] * xb[kb[c] * D + d];
                            na += (double)xb[n * D + d] * xb[n * D + d];
                            nb += (double)xb[kb[c] * D + d] * xb[kb[c] * D + d];
                        }
                        double cs = dot / sqrt(na * nb);
                        if (cs > bs) {
                            bs = cs;
                            best = c;
                        }
                    }
                    if (best != j) continue;
                }
                for (int d = 0; d < D; d++) acc[d] += xb[n * D + d];
                cnt++;
            }
            for (int d = 0; d < D; d++) out[((size_t)b * k + j) * D + d] = (float)(acc[d] / cnt);
        }
    }
    free(s);
    free(u);
}

START_TEST(token_prune_brute_force) {
    const int B = 2, N = 23, D = 6;
    float x[2 * 23 * 6], map[2 * 23];
    vt_rng_normal(5, 0, 0, x, sizeof x / sizeof x[0]);
    vt_rng_uniform(6, 0, 0, map, sizeof map / sizeof map[0]);
    map[3] = map[4]; /* a tie: the lower index ranks first */
    const float ratios[] = {0.3f, 0.5f, 1.0f, 0.01f, 0.999f};
    for (int m = 0; m < 3; m++)
        for (int merge = 0; merge < 2; merge++)
            for (size_t ri = 0; ri < sizeof ratios / sizeof ratios[0]; ri++) {
                vt_prune_params p = vt_prune_default_params();
                p.method = (vt_prune_method)m;
                p.merge = merge;
                p.keep_ratio = ratios[ri];
                p.seed = 77;
                int k = vt_prune_keep_count(p.keep_ratio, N);
                ck_assert_int_eq(k, (int)ceil(ratios[ri] * (double)N - 1e-6));
                float out[2 * 23 * 6], ref[2 * 23 * 6];
                int32_t kept[2 * 23];
                int rkeep[2 * 23];
                ck_assert_int_eq(vt_token_prune(ctx, &p, B, N, D, x, map, out, kept), 0);
                brute_prune(&p, B, N, D, x, map, ref, rkeep);
                for (int i = 0; i < B * k; i++) {
                    ck_assert_msg(kept[i] == rkeep[i], "method %d merge %d ratio %g: kept[%d] %d, brute force %d", m, merge,
                                  (double)ratios[ri], i, kept[i], rkeep[i]);
                    if (i % k) ck_assert_int_lt(kept[i - 1], kept[i]); /* original order */
                }
                for (int i = 0; i < B * k * D; i++) ck_assert_float_eq_tol(out[i], ref[i], 1e-5f);
            }
    /* k = ceil(keep_ratio·N), where float error must not add a token */
    ck_assert_int_eq(vt_prune_keep_count(0.3f, 10), 3);
    ck_assert_int_eq(vt_prune_keep_count(0.31f, 10), 4);
    ck_assert_int_eq(vt_prune_keep_count(0.5f, 197), 99);
    ck_assert_int_eq(vt_prune_keep_count(1e-6f, 5), 1);
    /* errors */
    vt_prune_params p = vt_prune_default_params();
    float out[2 * 23 * 6];
    int32_t kept[2 * 23];
    ck_assert_int_eq(vt_token_prune(ctx, &p, B, N, D, x, NULL, out, kept), VT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "attention map"));
    p.keep_ratio = 0;
    ck_assert_int_eq(vt_token_prune(ctx, &p, B, N, D, x, map, out, kept), VT_E_INVALID);
    p.keep_ratio = 1.5f;
    ck_assert_int_eq(vt_token_prune(ctx, &p, B, N, D, x, map, out, kept), VT_E_INVALID);
    p.keep_ratio = 0.5f;
    ck_assert_int_eq(vt_token_prune(ctx, &p, B, 0, D, x, map, out, kept), VT_E_SHAPE);
    ck_assert_int_eq(vt_prune_method_parse("norm"), VT_PRUNE_NORM);
    ck_assert_int_eq(vt_prune_method_parse("nope"), -1);
}
END_TEST

/* a merged token is the mean of its group: two identical directions merge */
START_TEST(token_prune_merge_by_hand) {
    /* tokens: a (1,0), 2a (2,0), b (0,1.5), b/3 (0,0.5); keep the 2 of highest norm */
    float x[8] = {1, 0, 2, 0, 0, 1.5f, 0, 0.5f}, out[4];
    int32_t kept[2];
    vt_prune_params p = vt_prune_default_params();
    p.method = VT_PRUNE_NORM;
    p.keep_ratio = 0.5f;
    p.merge = 1;
    ck_assert_int_eq(vt_token_prune(ctx, &p, 1, 4, 2, x, NULL, out, kept), 0);
    ck_assert_int_eq(kept[0], 1);
    ck_assert_int_eq(kept[1], 2);
    ck_assert_float_eq_tol(out[0], 1.5f, 1e-6f);
    ck_assert_float_eq_tol(out[1], 0.0f, 1e-6f);
    ck_assert_float_eq_tol(out[2], 0.0f, 1e-6f);
    ck_assert_float_eq_tol(out[3], 1.0f, 1e-6f);
}
END_TEST

/* ---- the stages, chained ---- */

START_TEST(stages_in_pipeline) {
    /* registered built-ins: a missing one is a failure, not a skip */
    ck_assert_ptr_nonnull(vt_stage_find("tokenize"));
    ck_assert_ptr_nonnull(vt_stage_find("token_prune"));
    char path[512];
    snprintf(path, sizeof path, "%s/encoders/model.safetensors", data_dir());
    vt_model *m;
    ck_assert_int_eq(vt_model_open(ctx, path, &m), 0);
    static const vt_slot_spec given[] = {
        {"prompt", VT_SLOT_TEXT, 0, NULL}, {"frames", VT_SLOT_FRAMES, 0, NULL}, {NULL, 0, 0, NULL}};
    const char *preset = "tokenize\ntext_encode\nimage_encode\ncross_modal\n"
                         "token_prune keep_ratio=0.25 method=attn merge=1\n";
    vt_pipeline *p;
    ck_assert_msg(vt_pipeline_create(ctx, preset, given, NULL, m, &p) == 0, "%s", vt_context_error(ctx));
    /* a two-frame clip: frame t is fixture image t */
    const vt_st_tensor *ti;
    float *img = get(io, "images", &ti), *want_img = get(io, "image_out", NULL), *want_txt = get(io, "text_out", NULL);
    const int S = (int)ti->shape[2], plane = S * S;
    float *clip = malloc((size_t)3 * 2 * plane * sizeof *clip);
    for (int t = 0; t < 2; t++)
        for (int c = 0; c < 3; c++) memcpy(clip + ((size_t)c * 2 + t) * plane, img + ((size_t)t * 3 + c) * plane, (size_t)plane * sizeof *clip);
    int64_t shape[5] = {1, 3, 2, S, S};
    ck_assert_int_eq(vt_pipeline_set_frames(p, "frames", 5, shape, clip), 0);
    ck_assert_int_eq(vt_pipeline_set_text(p, "prompt", "A red circle, on the LEFT"), 0); /* the fixture's batch item 0 */
    ck_assert_msg(vt_pipeline_run(p) == 0, "%s", vt_context_error(ctx));
    const vt_value *ids = vt_pipeline_slot(p, "text.ids"), *tt = vt_pipeline_slot(p, "text.tokens");
    const vt_value *it = vt_pipeline_slot(p, "image.tokens"), *fu = vt_pipeline_slot(p, "image.fused");
    const vt_value *mp = vt_pipeline_slot(p, "text2image"), *pr = vt_pipeline_slot(p, "image.pruned");
    const vt_value *kp = vt_pipeline_slot(p, "image.kept");
    ck_assert(ids && tt && it && fu && mp && pr && kp);
    ck_assert_int_eq((int)ids->shape[1], 8);
    ck_assert(tt->mask && tt->mask[0] == 1.0f && tt->mask[7] == 1.0f); /* 6 words fill all 8 */
    ck_assert_double_le(rel_err(tt->data, want_txt, (size_t)8 * 32), TOL);
    const int NT = 17, Di = 32;
    ck_assert_int_eq((int)it->shape[1], 2 * NT);
    ck_assert_double_le(rel_err(it->data, want_img, (size_t)2 * NT * Di), TOL); /* frames back to back */
    const int k = 9; /* ceil(0.25 · 34) */
    ck_assert_int_eq((int)pr->shape[1], k);
    vt_prune_params pp = vt_prune_default_params();
    pp.keep_ratio = 0.25f;
    pp.merge = 1;
    float ref[9 * 32];
    int rkeep[9];
    brute_prune(&pp, 1, 2 * NT, Di, fu->data, mp->data, ref, rkeep);
    for (int j = 0; j < k; j++) ck_assert_int_eq(kp->ids[j], rkeep[j]);
    for (int i = 0; i < k * Di; i++) ck_assert_float_eq_tol(pr->data[i], ref[i], 1e-5f);
    vt_pipeline_destroy(&p);

    /* an empty prompt and wrong-sized frames: clear errors naming the stage */
    ck_assert_int_eq(vt_pipeline_create(ctx, "tokenize\n", given, NULL, m, &p), 0);
    ck_assert_int_eq(vt_pipeline_set_text(p, "prompt", " ... "), 0);
    ck_assert_int_eq(vt_pipeline_run(p), VT_E_INVALID);
    ck_assert_msg(strstr(vt_context_error(ctx), "tokenize") && strstr(vt_context_error(ctx), "empty"), "%s",
                  vt_context_error(ctx));
    vt_pipeline_destroy(&p);
    ck_assert_int_eq(vt_pipeline_create(ctx, "image_encode\n", given, NULL, m, &p), 0);
    int64_t small[5] = {1, 3, 1, 8, 8};
    ck_assert_int_eq(vt_pipeline_set_frames(p, "frames", 5, small, clip), 0);
    ck_assert_int_eq(vt_pipeline_run(p), VT_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "image_encode"));
    vt_pipeline_destroy(&p);
    /* attn pruning without a map is refused; norm works without one */
    static const vt_slot_spec given_tok[] = {{"image.fused", VT_SLOT_TOKENS, 0, NULL}, {NULL, 0, 0, NULL}};
    ck_assert_int_eq(vt_pipeline_create(ctx, "token_prune method=norm keep_ratio=0.5\n", given_tok, NULL, NULL, &p), 0);
    vt_pipeline_destroy(&p);
    ck_assert_int_eq(vt_pipeline_create(ctx, "token_prune method=median\n", given_tok, NULL, NULL, &p) != 0, 1);
    /* no model: the model-backed stages refuse at init */
    ck_assert_int_ne(vt_pipeline_create(ctx, "tokenize\n", given, NULL, NULL, &p), 0);
    ck_assert_ptr_nonnull(strstr(vt_context_error(ctx), "no model"));
    free(clip);
    free(img);
    free(want_img);
    free(want_txt);
    vt_model_close(&m);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("encoders");
    TCase *tc = tcase_create("encoders");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, tokenizer_matches_reference);
    tcase_add_test(tc, tokenizer_cases);
    tcase_add_test(tc, tokenizer_bad_vocab);
    tcase_add_test(tc, text_encoder_matches_reference);
    tcase_add_test(tc, vit_matches_reference);
    tcase_add_test(tc, cross_modal_matches_reference);
    tcase_add_test(tc, encoder_model_errors);
    tcase_add_test(tc, token_prune_brute_force);
    tcase_add_test(tc, token_prune_merge_by_hand);
    tcase_add_test(tc, stages_in_pipeline);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
