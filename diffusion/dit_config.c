/* Parsing of a DiT model's config JSON and of the per-block attention pattern
 * strings (docs/model-format.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "context.h"
#include "dit.h"
#include "json.h"

/* Reads "KxK" or "KtxKxK" into v[3] (T, H, W); a 2-part form leaves T at `t2d`. */
static int parse_dims(const char *s, int v[3], int t2d) {
    int a, b, c, n = 0;
    if (sscanf(s, "%dx%dx%d%n", &a, &b, &c, &n) == 3 && s[n] == 0) {
        v[0] = a; v[1] = b; v[2] = c;
    } else if (sscanf(s, "%dx%d%n", &a, &b, &n) == 2 && s[n] == 0) {
        v[0] = t2d; v[1] = a; v[2] = b;
    } else if (sscanf(s, "%d%n", &a, &n) == 1 && s[n] == 0) {
        v[0] = t2d; v[1] = a; v[2] = a;
    } else {
        return -1;
    }
    return (v[0] < 1 || v[1] < 1 || v[2] < 1) ? -1 : 0;
}

int vt_dit_parse_attention(vt_context *ctx, const char *s, vt_attn_desc *d, int *spatial) {
    char buf[128], *tok[8];
    int nt = 0;
    memset(d, 0, sizeof *d);
    *spatial = 0;
    d->kernel[0] = d->kernel[1] = d->kernel[2] = 1;
    d->dilation[0] = d->dilation[1] = d->dilation[2] = 1;
    snprintf(buf, sizeof buf, "%s", s);
    for (char *p = strtok(buf, " "); p && nt < 8; p = strtok(NULL, " ")) tok[nt++] = p;
    if (nt == 0) return vt_error(ctx, VT_E_FORMAT, "attention pattern is empty");
    if (nt == 1 && !strcmp(tok[0], "full")) {
        d->kind = VT_ATTN_FULL;
    } else if (nt == 1 && !strcmp(tok[0], "spatial")) {
        d->kind = VT_ATTN_FULL; /* full attention run with the frames as batch */
        *spatial = 1;
    } else if (nt == 1 && !strcmp(tok[0], "temporal")) {
        d->kind = VT_ATTN_AXIAL;
        d->axis = 0;
    } else if (nt == 1 && !strcmp(tok[0], "axial_h")) {
        d->kind = VT_ATTN_AXIAL;
        d->axis = 1;
    } else if (nt == 1 && !strcmp(tok[0], "axial_w")) {
        d->kind = VT_ATTN_AXIAL;
        d->axis = 2;
    } else if (nt == 2 && (!strcmp(tok[0], "block") || !strcmp(tok[0], "grid"))) {
        d->kind = tok[0][0] == 'b' ? VT_ATTN_BLOCK : VT_ATTN_GRID;
        char *end;
        long w = strtol(tok[1], &end, 10);
        if (*end || w < 1 || w > 4096)
            return vt_error(ctx, VT_E_FORMAT, "attention '%s': window '%s' is not a positive integer", s, tok[1]);
        d->window = (int)w;
    } else if (nt >= 2 && !strcmp(tok[0], "neighborhood")) {
        d->kind = VT_ATTN_NEIGHBORHOOD;
        if (parse_dims(tok[1], d->kernel, 1))
            return vt_error(ctx, VT_E_FORMAT, "attention '%s': kernel '%s' is not KxK or KtxKxK", s, tok[1]);
        for (int i = 2; i < nt; i++) {
            if (!strcmp(tok[i], "causal")) {
                d->causal_t = 1;
            } else if (!strcmp(tok[i], "dilation") && i + 1 < nt) {
                if (parse_dims(tok[++i], d->dilation, 1))
                    return vt_error(ctx, VT_E_FORMAT, "attention '%s': dilation '%s' is not DxD or DtxDxD", s, tok[i]);
            } else {
                return vt_error(ctx, VT_E_FORMAT, "attention '%s': unexpected '%s'", s, tok[i]);
            }
        }
    } else {
        return vt_error(ctx, VT_E_FORMAT,
                        "attention '%s': unknown pattern (full, spatial, temporal, axial_h, axial_w, "
                        "neighborhood KxK, block P, grid G)", s);
    }
    return VT_OK;
}

static int get_bool(const vt_json *o, const char *key) {
    const vt_json *v = vt_json_get(o, key);
    return v && v->type == VT_JSON_BOOL ? v->boolean : 0;
}

/* An int member that must be present (when `required`) and within [lo, hi]. */
static int get_int(vt_context *ctx, const vt_json *o, const char *key, int required, int dflt, int lo, int hi,
                   int *out) {
    const vt_json *v = vt_json_get(o, key);
    if (!v) {
        if (required) return vt_error(ctx, VT_E_FORMAT, "model config: missing \"%s\"", key);
        *out = dflt;
        return VT_OK;
    }
    if (v->type != VT_JSON_NUMBER || !v->is_int || v->integer < lo || v->integer > hi)
        return vt_error(ctx, VT_E_FORMAT, "model config: \"%s\" must be an integer in %d..%d", key, lo, hi);
    *out = (int)v->integer;
    return VT_OK;
}

int vt_dit_config_parse(vt_context *ctx, const char *json, vt_dit_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    if (!json) return vt_error(ctx, VT_E_FORMAT, "model has no \"config\" in its metadata");
    char jerr[160];
    vt_json *o = vt_json_parse(json, strlen(json), jerr, sizeof jerr);
    if (!o) return vt_error(ctx, VT_E_FORMAT, "model config: invalid JSON: %s", jerr);
    int rc = VT_OK;
    if (o->type != VT_JSON_OBJECT) {
        rc = vt_error(ctx, VT_E_FORMAT, "model config is not a JSON object");
        goto done;
    }
    const char *arch = vt_json_get_str(o, "arch", NULL);
    if (!arch || strcmp(arch, "dit") != 0) {
        rc = vt_error(ctx, VT_E_FORMAT, "model config: \"arch\" is %s%s%s, not \"dit\"", arch ? "\"" : "",
                      arch ? arch : "missing", arch ? "\"" : "");
        goto done;
    }
    const vt_json *size = vt_json_get(o, "input_size");
    if (!size || size->type != VT_JSON_ARRAY || size->len != 2 || !size->items[0].is_int || !size->items[1].is_int ||
        size->items[0].integer < 1 || size->items[1].integer < 1 || size->items[0].integer > 65536 ||
        size->items[1].integer > 65536) {
        rc = vt_error(ctx, VT_E_FORMAT, "model config: \"input_size\" must be [H, W] of positive integers");
        goto done;
    }
    cfg->input_h = (int)size->items[0].integer;
    cfg->input_w = (int)size->items[1].integer;
    if ((rc = get_int(ctx, o, "in_channels", 0, 4, 1, 4096, &cfg->in_channels)) ||
        (rc = get_int(ctx, o, "frames", 0, 0, 0, 4096, &cfg->frames)) ||
        (rc = get_int(ctx, o, "patch_size", 0, 2, 1, 64, &cfg->patch)) ||
        (rc = get_int(ctx, o, "hidden_size", 1, 0, 1, 65536, &cfg->hidden)) ||
        (rc = get_int(ctx, o, "depth", 1, 0, 1, VT_DIT_MAX_DEPTH, &cfg->depth)) ||
        (rc = get_int(ctx, o, "num_heads", 1, 0, 1, 4096, &cfg->heads)) ||
        (rc = get_int(ctx, o, "num_classes", 0, 0, 0, 1 << 24, &cfg->num_classes)) ||
        (rc = get_int(ctx, o, "cond_dim", 0, 0, 0, 65536, &cfg->cond_dim)) ||
        (rc = get_int(ctx, o, "train_steps", 0, 1000, 1, 1 << 20, &cfg->train_steps)))
        goto done;
    cfg->learn_sigma = get_bool(o, "learn_sigma");
    cfg->cond_pooled = get_bool(o, "cond_pooled");
    cfg->out_channels = cfg->in_channels * (cfg->learn_sigma ? 2 : 1);
    double ratio = vt_json_get_num(o, "mlp_ratio", 4.0);
    cfg->mlp_hidden = (int)(cfg->hidden * ratio); /* int(), as DiT's Mlp(hidden_features=int(D * mlp_ratio)) */
    cfg->timestep_scale = vt_json_get_num(o, "timestep_scale", 1000.0);
    cfg->flow_shift = vt_json_get_num(o, "flow_shift", 1.0);
    if (cfg->hidden % cfg->heads) {
        rc = vt_error(ctx, VT_E_FORMAT, "model config: hidden_size %d is not divisible by num_heads %d", cfg->hidden,
                      cfg->heads);
        goto done;
    }
    if (cfg->hidden % 4) {
        rc = vt_error(ctx, VT_E_FORMAT, "model config: hidden_size %d must be a multiple of 4 (2D sin-cos embedding)",
                      cfg->hidden);
        goto done;
    }
    if (cfg->mlp_hidden < 1 || cfg->mlp_hidden > (1 << 20)) {
        rc = vt_error(ctx, VT_E_FORMAT, "model config: mlp_ratio %g gives an impossible MLP width", ratio);
        goto done;
    }
    if (cfg->input_h % cfg->patch || cfg->input_w % cfg->patch) {
        rc = vt_error(ctx, VT_E_FORMAT, "model config: input_size %dx%d is not a multiple of patch_size %d",
                      cfg->input_h, cfg->input_w, cfg->patch);
        goto done;
    }
    if (cfg->cond_pooled && !cfg->cond_dim) {
        rc = vt_error(ctx, VT_E_FORMAT, "model config: cond_pooled needs cond_dim > 0");
        goto done;
    }
    const char *pred = vt_json_get_str(o, "prediction", "eps");
    if (!strcmp(pred, "eps")) {
        cfg->prediction = VT_PRED_EPS;
    } else if (!strcmp(pred, "v")) {
        cfg->prediction = VT_PRED_V;
    } else {
        rc = vt_error(ctx, VT_E_FORMAT, "model config: prediction \"%s\" is not \"eps\" or \"v\"", pred);
        goto done;
    }
    const char *sched = vt_json_get_str(o, "beta_schedule", "linear");
    if (strcmp(sched, "linear") != 0) {
        rc = vt_error(ctx, VT_E_FORMAT, "model config: beta_schedule \"%s\" is not supported (linear)", sched);
        goto done;
    }
    const vt_json *att = vt_json_get(o, "attention");
    if (att && (att->type != VT_JSON_ARRAY || (int)att->len != cfg->depth)) {
        rc = vt_error(ctx, VT_E_FORMAT, "model config: \"attention\" must be a list of %d pattern strings (one per block)",
                      cfg->depth);
        goto done;
    }
    for (int i = 0; i < cfg->depth; i++) {
        const char *s = "full";
        if (att) {
            if (att->items[i].type != VT_JSON_STRING) {
                rc = vt_error(ctx, VT_E_FORMAT, "model config: attention[%d] is not a string", i);
                goto done;
            }
            s = att->items[i].str;
        }
        snprintf(cfg->attn_text[i], sizeof cfg->attn_text[i], "%s", s);
        if ((rc = vt_dit_parse_attention(ctx, s, &cfg->attn[i], &cfg->attn_spatial[i]))) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", vt_context_error(ctx));
            rc = vt_error(ctx, rc, "model config: block %d: %s", i, msg);
            goto done;
        }
        int needs_frames = cfg->attn[i].kind == VT_ATTN_AXIAL && cfg->attn[i].axis == 0;
        if (needs_frames && cfg->frames == 0) {
            rc = vt_error(ctx, VT_E_FORMAT, "model config: block %d is temporal but the model has no frames", i);
            goto done;
        }
    }
done:
    vt_json_free(o);
    return rc;
}
