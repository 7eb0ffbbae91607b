/* Helpers shared by the built-in stages: the CPU backend a network stage runs
 * on, and the model's input size that image and video readers default to. */
#include <string.h>

#include "context.h"
#include "json.h"
#include "stage_util.h"

int vt_stage_cpu_backend(vt_stage_run *r, vt_backend **be) {
    if (!vt_stage_model(r)) return vt_stage_error(r, VT_E_INVALID, "the pipeline has no model (--model)");
    if (!(*be = vt_backend_cpu_create(vt_stage_context(r))))
        return vt_stage_error(r, VT_E_NOMEM, "out of memory creating the CPU backend");
    return VT_OK;
}

void vt_stage_model_input_size(vt_stage_run *r, int *h, int *w) {
    *h = *w = 0;
    const char *cfg = vt_stage_model(r) ? vt_model_config(vt_stage_model(r)) : NULL;
    if (!cfg) return;
    vt_json *j = vt_json_parse(cfg, strlen(cfg), NULL, 0);
    const vt_json *sz = vt_json_get(j, "input_size");
    if (sz && sz->type == VT_JSON_ARRAY && sz->len == 2 && sz->items[0].is_int && sz->items[1].is_int &&
        sz->items[0].integer > 0 && sz->items[0].integer <= 16384 && sz->items[1].integer > 0 &&
        sz->items[1].integer <= 16384) {
        *h = (int)sz->items[0].integer;
        *w = (int)sz->items[1].integer;
    }
    vt_json_free(j);
}

