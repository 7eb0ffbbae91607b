/* The word-level tokenizer. Words are ASCII alphanumeric runs, lowercased; any
 * other byte (space, punctuation, UTF-8 sequences) separates words, so the
 * result never depends on the locale. The vocabulary is kept sorted for binary
 * search. */
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "json.h"
#include "tokenizer.h"

typedef struct entry {
    char *word;
    int32_t id;
} entry;

struct vt_tokenizer {
    int max_len;
    int n;          /* vocabulary size */
    entry *sorted;  /* (n) by word */
};

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const entry *)a)->word, ((const entry *)b)->word);
}

int vt_tokenizer_create(vt_context *ctx, const char *vocab_json, int max_len, vt_tokenizer **out) {
    *out = NULL;
    if (!vocab_json) return vt_error(ctx, VT_E_FORMAT, "model: no \"vocab\" in __metadata__ (the tokenizer's words)");
    if (max_len < 3) return vt_error(ctx, VT_E_FORMAT, "tokenizer: max_len %d leaves no room for a word", max_len);
    char err[256];
    vt_json *j = vt_json_parse(vocab_json, strlen(vocab_json), err, sizeof err);
    if (!j) return vt_error(ctx, VT_E_FORMAT, "model vocab: %s", err);
    static const char *const special[4] = {"<pad>", "<unk>", "<bos>", "<eos>"};
    int rc = VT_OK;
    if (j->type != VT_JSON_ARRAY || j->len < 4 || j->len > (1u << 30)) {
        rc = vt_error(ctx, VT_E_FORMAT, "model vocab: must be a JSON array of at least 4 strings");
    } else {
        for (size_t i = 0; !rc && i < j->len; i++) {
            if (j->items[i].type != VT_JSON_STRING || strlen(j->items[i].str) != j->items[i].len)
                rc = vt_error(ctx, VT_E_FORMAT, "model vocab: entry %zu is not a string", i);
            else if (i < 4 && strcmp(j->items[i].str, special[i]))
                rc = vt_error(ctx, VT_E_FORMAT, "model vocab: id %zu must be \"%s\", not \"%s\"", i, special[i], j->items[i].str);
        }
    }
    vt_tokenizer *t = NULL;
    if (!rc && (!(t = calloc(1, sizeof *t)) || !(t->sorted = calloc(j->len, sizeof *t->sorted))))
        rc = vt_error(ctx, VT_E_NOMEM, "out of memory");
    if (!rc) {
        t->max_len = max_len;
        for (size_t i = 0; !rc && i < j->len; i++) {
            if (!(t->sorted[i].word = strdup(j->items[i].str))) rc = vt_error(ctx, VT_E_NOMEM, "out of memory");
            t->sorted[i].id = (int32_t)i;
            t->n++;
        }
    }
    if (!rc) {
        qsort(t->sorted, (size_t)t->n, sizeof *t->sorted, cmp_entry);
        for (int i = 1; !rc && i < t->n; i++)
            if (!strcmp(t->sorted[i - 1].word, t->sorted[i].word))
                rc = vt_error(ctx, VT_E_FORMAT, "model vocab: \"%s\" appears twice", t->sorted[i].word);
    }
    vt_json_free(j);
    if (rc) {
        vt_tokenizer_destroy(&t);
        return rc;
    }
    *out = t;
    return VT_OK;
}

void vt_tokenizer_destroy(vt_tokenizer **tp) {
    if (!tp || !*tp) return;
    vt_tokenizer *t = *tp;
    for (int i = 0; t->sorted && i < t->n; i++) free(t->sorted[i].word);
    free(t->sorted);
    free(t);
    *tp = NULL;
}

int vt_tokenizer_max_len(const vt_tokenizer *t) { return t->max_len; }
int vt_tokenizer_vocab_size(const vt_tokenizer *t) { return t->n; }

static int is_alnum(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static int32_t lookup(const vt_tokenizer *t, const char *word) {
    entry key = {(char *)word, 0};
    const entry *e = bsearch(&key, t->sorted, (size_t)t->n, sizeof *t->sorted, cmp_entry);
    /* the special tokens are spelled with <>, which a word can never contain */
    return e ? e->id : VT_TOK_UNK;
}

int vt_tokenizer_encode(vt_context *ctx, const vt_tokenizer *t, const char *text, int32_t *ids, float *mask, int *n_tokens,
                        int *truncated) {
    if (!t || !ids) return vt_error(ctx, VT_E_INVALID, "tokenizer: no tokenizer or output");
    if (!text) text = "";
    const int L = t->max_len;
    int n = 0, words = 0, cut = 0;
    char word[256];
    ids[n++] = VT_TOK_BOS;
    for (const unsigned char *s = (const unsigned char *)text; *s;) {
        if (!is_alnum(*s)) {
            s++;
            continue;
        }
        size_t len = 0;
        int too_long = 0;
        for (; is_alnum(*s); s++) {
            if (len + 1 < sizeof word) word[len++] = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
            else too_long = 1; /* longer than any vocabulary word we accept: unknown */
        }
        word[len] = 0;
        words++;
        if (n >= L - 1) {
            cut = 1;
            continue;
        }
        ids[n++] = too_long ? VT_TOK_UNK : lookup(t, word);
    }
    if (!words) return vt_error(ctx, VT_E_INVALID, "the prompt is empty (no letters or digits to tokenize)");
    ids[n++] = VT_TOK_EOS;
    for (int i = 0; i < L; i++) {
        if (i >= n) ids[i] = VT_TOK_PAD;
        if (mask) mask[i] = i < n ? 1.0f : 0.0f;
    }
    if (n_tokens) *n_tokens = n;
    if (truncated) *truncated = cut;
    return VT_OK;
}
