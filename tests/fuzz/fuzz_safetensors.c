/* libFuzzer entry point over the safetensors reader and the JSON parser: any
 * input must be accepted or refused cleanly, never crash, leak or overread. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "context.h"
#include "json.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vt_context_params params = vt_context_default_params();
    vt_context *ctx = vt_context_create(&params);
    if (!ctx) return 0;
    vt_st_file *f = NULL;
    if (vt_st_parse(ctx, "fuzz", data, size, &f) == VT_OK) {
        /* Convert every tensor the reader accepted: ASan then proves its bytes lie
         * inside the input, and UBSan that unaligned ones are read safely. An
         * accepted tensor's nbytes is at most the input size, so this is bounded. */
        for (size_t i = 0; i < f->n_tensors; i++) {
            const vt_st_tensor *t = &f->tensors[i];
            size_t numel = t->nbytes / vt_dtype_size(t->dtype);
            float *dst = malloc(numel ? numel * sizeof *dst : 1);
            if (!dst) break;
            /* names are unique in an accepted file, so the lookup finds t itself */
            if (vt_st_find(f, t->name) != t || vt_st_read_f32(ctx, f, t->name, dst, numel) != VT_OK)
                __builtin_trap();
            free(dst);
        }
        for (size_t i = 0; i < f->n_meta; i++)
            if (vt_st_meta(f, f->meta_keys[i]) == NULL) __builtin_trap();
        vt_st_close(&f);
    } else if (f) {
        __builtin_trap(); /* a refusal must not hand out a file */
    }
    char err[128];
    vt_json_free(vt_json_parse((const char *)data, size, err, sizeof err));
    vt_context_destroy(&ctx);
    return 0;
}
