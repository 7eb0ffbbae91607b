/* libFuzzer entry point over the safetensors reader and the JSON parser: any
 * input must be accepted or refused cleanly, never crash, leak or overread. */
#include <stddef.h>
#include <stdint.h>

#include "context.h"
#include "json.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vt_context *ctx = vt_context_create(NULL);
    vt_st_file *f = NULL;
    if (vt_st_parse(ctx, "fuzz", data, size, &f) == VT_OK) {
        /* touch every tensor the reader accepted: its bytes must lie in the input */
        float sink = 0;
        for (size_t i = 0; i < f->n_tensors; i++) {
            const unsigned char *p = f->tensors[i].data;
            if (f->tensors[i].nbytes) sink += p[0] + p[f->tensors[i].nbytes - 1];
        }
        (void)sink;
        vt_st_close(&f);
    }
    char err[128];
    vt_json_free(vt_json_parse((const char *)data, size, err, sizeof err));
    vt_context_destroy(&ctx);
    return 0;
}
