/* The word-level tokenizer: lowercase, split on non-alphanumerics, look each word
 * up in the model's vocabulary (__metadata__["vocab"]), frame with <bos>/<eos>,
 * pad to max_len. */
#ifndef VT_ENCODERS_TOKENIZER_H
#define VT_ENCODERS_TOKENIZER_H

#include <stdint.h>

#include "vitrail.h"

/* Reserved ids, fixed by the model format (docs/encoders.md). */
#define VT_TOK_PAD 0
#define VT_TOK_UNK 1
#define VT_TOK_BOS 2
#define VT_TOK_EOS 3

typedef struct vt_tokenizer vt_tokenizer;

/* vocab_json: a JSON array of strings, index = id, with "<pad>", "<unk>", "<bos>",
 * "<eos>" at ids 0..3; max_len >= 3 (room for one word). */
int vt_tokenizer_create(vt_context *ctx, const char *vocab_json, int max_len, vt_tokenizer **out);
void vt_tokenizer_destroy(vt_tokenizer **t);
int vt_tokenizer_max_len(const vt_tokenizer *t);
int vt_tokenizer_vocab_size(const vt_tokenizer *t);

/* ids (max_len) = <bos> w1 .. wn <eos> <pad>...; mask (max_len) 1 where present
 * (optional). Words past max_len - 2 are dropped and *truncated set (optional);
 * *n_tokens (optional) counts the present tokens. A prompt with no word at all
 * is VT_E_INVALID. */
int vt_tokenizer_encode(vt_context *ctx, const vt_tokenizer *t, const char *text, int32_t *ids, float *mask, int *n_tokens,
                        int *truncated);

#endif
