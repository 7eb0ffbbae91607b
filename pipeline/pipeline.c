/* Pipelines: a preset parsed into an ordered chain of stages, validated before
 * anything runs (every input produced earlier, every parameter known and in
 * range), then run stage by stage over named slots. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "vitrail_stage.h"

#define MAX_STAGES 64
#define MAX_SLOTS 64
#define MAX_PARAMS 32

typedef struct slot {
    char *name;
    vt_value v;
    int set;
} slot;

struct vt_stage_run {
    vt_pipeline *p;
    const vt_stage_desc *d;
    void *priv;
    int n_params;
    char *pname[MAX_PARAMS];  /* every parameter of the spec, defaults filled in */
    char *pval[MAX_PARAMS];
    int line;                 /* preset line, for messages */
    int inited;
};

struct vt_pipeline {
    vt_context *ctx;
    const vt_model *model;
    vt_stage_run stages[MAX_STAGES];
    int n_stages;
    slot slots[MAX_SLOTS];
    int n_slots;
    vt_pipeline_progress_fn progress; /* (optional) */
    void *progress_user;
};

/* ---- slots ---- */

static void value_free(vt_value *v) {
    free(v->text);
    free(v->data);
    free(v->ids);
    free(v->mask);
    memset(v, 0, sizeof *v);
}

static slot *find_slot(const vt_pipeline *p, const char *name) {
    for (int i = 0; i < p->n_slots; i++)
        if (!strcmp(p->slots[i].name, name)) return (slot *)&p->slots[i];
    return NULL;
}

static slot *get_slot(vt_pipeline *p, const char *name, vt_slot_type type) {
    slot *s = find_slot(p, name);
    if (s) return s;
    if (p->n_slots == MAX_SLOTS) return NULL;
    s = &p->slots[p->n_slots];
    memset(s, 0, sizeof *s);
    if (!(s->name = strdup(name))) return NULL;
    s->v.type = type;
    p->n_slots++;
    return s;
}

/* ---- parsing ---- */

static const vt_param_spec *find_param(const vt_stage_desc *d, const char *name) {
    for (const vt_param_spec *ps = d->params; ps && ps->name; ps++)
        if (!strcmp(ps->name, name)) return ps;
    return NULL;
}

/* Checks value text against its spec; returns 0 or the error. */
static int check_param(vt_context *ctx, const vt_stage_desc *d, const vt_param_spec *ps, const char *v, int line) {
    char *end;
    switch (ps->type) {
    case VT_PARAM_INT: {
        long long x = strtoll(v, &end, 10);
        if (end == v || *end)
            return vt_error(ctx, VT_E_INVALID, "preset line %d: %s.%s: '%s' is not an integer", line, d->name, ps->name, v);
        if ((double)x < ps->min || (double)x > ps->max)
            return vt_error(ctx, VT_E_INVALID, "preset line %d: %s.%s = %s is outside %g..%g", line, d->name, ps->name, v,
                            ps->min, ps->max);
        break;
    }
    case VT_PARAM_FLOAT: {
        double x = strtod(v, &end);
        if (end == v || *end || !isfinite(x))
            return vt_error(ctx, VT_E_INVALID, "preset line %d: %s.%s: '%s' is not a number", line, d->name, ps->name, v);
        if (x < ps->min || x > ps->max)
            return vt_error(ctx, VT_E_INVALID, "preset line %d: %s.%s = %s is outside %g..%g", line, d->name, ps->name, v,
                            ps->min, ps->max);
        break;
    }
    case VT_PARAM_ENUM: {
        const char *c = ps->choices;
        size_t n = strlen(v);
        int ok = 0;
        while (c && *c) {
            size_t k = strcspn(c, "|");
            if (k == n && !strncmp(c, v, n)) ok = 1;
            c += k + (c[k] == '|');
        }
        if (!ok)
            return vt_error(ctx, VT_E_INVALID, "preset line %d: %s.%s: '%s' is not one of %s", line, d->name, ps->name, v,
                            ps->choices);
        break;
    }
    case VT_PARAM_STRING: break;
    }
    return VT_OK;
}

static int set_param(vt_pipeline *p, vt_stage_run *r, const char *name, const char *value) {
    const vt_param_spec *ps = find_param(r->d, name);
    if (!ps) return vt_error(p->ctx, VT_E_INVALID, "preset line %d: stage %s has no parameter '%s'", r->line, r->d->name, name);
    int rc = check_param(p->ctx, r->d, ps, value, r->line);
    if (rc) return rc;
    for (int i = 0; i < r->n_params; i++)
        if (!strcmp(r->pname[i], name)) {
            char *nv = strdup(value);
            if (!nv) return vt_error(p->ctx, VT_E_NOMEM, "out of memory");
            free(r->pval[i]);
            r->pval[i] = nv;
            return VT_OK;
        }
    return vt_error(p->ctx, VT_E_INVALID, "stage %s: parameter '%s' missing from its table", r->d->name, name);
}

static int add_stage(vt_pipeline *p, const char *name, int line, vt_stage_run **out) {
    const vt_stage_desc *d = vt_stage_find(name);
    if (!d) return vt_error(p->ctx, VT_E_INVALID, "preset line %d: unknown stage '%s' (see 'vitrail stages')", line, name);
    if (p->n_stages == MAX_STAGES) return vt_error(p->ctx, VT_E_INVALID, "preset: more than %d stages", MAX_STAGES);
    vt_stage_run *r = &p->stages[p->n_stages++];
    memset(r, 0, sizeof *r);
    r->p = p;
    r->d = d;
    r->line = line;
    for (const vt_param_spec *ps = d->params; ps && ps->name; ps++) {
        if (r->n_params == MAX_PARAMS) return vt_error(p->ctx, VT_E_INVALID, "stage %s: too many parameters", d->name);
        r->pname[r->n_params] = strdup(ps->name);
        r->pval[r->n_params] = ps->def ? strdup(ps->def) : NULL;
        if (!r->pname[r->n_params] || (ps->def && !r->pval[r->n_params])) return vt_error(p->ctx, VT_E_NOMEM, "out of memory");
        r->n_params++;
    }
    if (d->priv_size && !(r->priv = calloc(1, d->priv_size))) return vt_error(p->ctx, VT_E_NOMEM, "out of memory");
    *out = r;
    return VT_OK;
}

static int parse(vt_pipeline *p, const char *text) {
    int line = 0;
    const char *s = text;
    while (*s) {
        line++;
        size_t n = strcspn(s, "\n");
        char buf[1024];
        if (n >= sizeof buf) return vt_error(p->ctx, VT_E_INVALID, "preset line %d: longer than %zu characters", line, sizeof buf - 1);
        memcpy(buf, s, n);
        buf[n] = 0;
        s += n + (s[n] == '\n');
        char *hash = strchr(buf, '#');
        if (hash) *hash = 0;
        char *tok = strtok(buf, " \t\r");
        if (!tok) continue;
        vt_stage_run *r = NULL;
        int rc = add_stage(p, tok, line, &r);
        if (rc) return rc;
        while ((tok = strtok(NULL, " \t\r"))) {
            char *eq = strchr(tok, '=');
            if (!eq || eq == tok)
                return vt_error(p->ctx, VT_E_INVALID, "preset line %d: '%s' is not key=value", line, tok);
            *eq = 0;
            if ((rc = set_param(p, r, tok, eq + 1))) return rc;
        }
    }
    if (p->n_stages == 0) return vt_error(p->ctx, VT_E_INVALID, "preset has no stages");
    return VT_OK;
}

/* "stage.param=value" sets the parameter of every stage of that name;
 * "stage#N.param=value" only the N-th (1-based) of them, for presets that run
 * a stage twice (edit_ref reads two images). */
static int apply_override(vt_pipeline *p, const char *ov) {
    const char *dot = strchr(ov, '.'), *eq = strchr(ov, '=');
    if (!dot || !eq || eq < dot)
        return vt_error(p->ctx, VT_E_INVALID, "override '%s' is not stage.param=value", ov);
    char stage[128], name[128];
    snprintf(stage, sizeof stage, "%.*s", (int)(dot - ov), ov);
    snprintf(name, sizeof name, "%.*s", (int)(eq - dot - 1), dot + 1);
    int nth = 0;
    char *hash = strchr(stage, '#');
    if (hash) {
        char *end;
        long v = strtol(hash + 1, &end, 10);
        if (end == hash + 1 || *end || v < 1 || v > MAX_STAGES)
            return vt_error(p->ctx, VT_E_INVALID, "override '%s': '#%s' is not a stage number", ov, hash + 1);
        nth = (int)v;
        *hash = 0;
    }
    int hit = 0, seen = 0;
    for (int i = 0; i < p->n_stages; i++) {
        if (strcmp(p->stages[i].d->name, stage)) continue;
        if (nth && ++seen != nth) continue;
        int rc = set_param(p, &p->stages[i], name, eq + 1);
        if (rc) return rc;
        hit = 1;
    }
    if (!hit && nth)
        return vt_error(p->ctx, VT_E_INVALID, "override '%s': the pipeline has %d stage%s '%s'", ov, seen, seen == 1 ? "" : "s",
                        stage);
    if (!hit) return vt_error(p->ctx, VT_E_INVALID, "override '%s': the pipeline has no stage '%s'", ov, stage);
    return VT_OK;
}

/* Every input produced earlier (or given) with its type; every parameter set. */
static int validate(vt_pipeline *p, const vt_slot_spec *given) {
    const char *names[MAX_SLOTS * 2];
    vt_slot_type types[MAX_SLOTS * 2];
    int n = 0;
    for (const vt_slot_spec *g = given; g && g->name && n < MAX_SLOTS; g++) {
        names[n] = g->name;
        types[n++] = g->type;
    }
    for (int i = 0; i < p->n_stages; i++) {
        const vt_stage_run *r = &p->stages[i];
        for (int k = 0; k < r->n_params; k++)
            if (!r->pval[k])
                return vt_error(p->ctx, VT_E_INVALID, "preset line %d: stage %s needs parameter '%s'", r->line, r->d->name,
                                r->pname[k]);
        for (const vt_slot_spec *in = r->d->inputs; in && in->name; in++) {
            int found = -1;
            for (int k = n - 1; k >= 0 && found < 0; k--)
                if (!strcmp(names[k], in->name)) found = k;
            if (found < 0 && !in->optional)
                return vt_error(p->ctx, VT_E_INVALID, "preset line %d: stage %s reads slot '%s', which no earlier stage produces",
                                r->line, r->d->name, in->name);
            if (found >= 0 && types[found] != in->type)
                return vt_error(p->ctx, VT_E_INVALID, "preset line %d: stage %s reads slot '%s' as %s, but it holds %s", r->line,
                                r->d->name, in->name, vt_slot_type_name(in->type), vt_slot_type_name(types[found]));
        }
        for (const vt_slot_spec *o = r->d->outputs; o && o->name; o++) {
            if (n == MAX_SLOTS * 2) return vt_error(p->ctx, VT_E_INVALID, "preset: too many slots");
            names[n] = o->name;
            types[n++] = o->type;
        }
    }
    return VT_OK;
}

int vt_pipeline_create(vt_context *ctx, const char *preset_text, const vt_slot_spec *given, const char *const *overrides,
                       const vt_model *model, vt_pipeline **out) {
    *out = NULL;
    vt_pipeline *p = calloc(1, sizeof *p);
    if (!p) return vt_error(ctx, VT_E_NOMEM, "out of memory");
    p->ctx = ctx;
    p->model = model;
    int rc = parse(p, preset_text ? preset_text : "");
    for (int i = 0; !rc && overrides && overrides[i]; i++) rc = apply_override(p, overrides[i]);
    if (!rc) rc = validate(p, given);
    /* init in order; a failure still runs every uninit (vt_pipeline_destroy) */
    for (int i = 0; !rc && i < p->n_stages; i++) {
        vt_stage_run *r = &p->stages[i];
        r->inited = 1;
        if (r->d->init) rc = r->d->init(r);
    }
    if (rc) {
        vt_pipeline_destroy(&p);
        return rc;
    }
    *out = p;
    return VT_OK;
}

void vt_pipeline_destroy(vt_pipeline **pp) {
    if (!pp || !*pp) return;
    vt_pipeline *p = *pp;
    for (int i = p->n_stages - 1; i >= 0; i--) {
        vt_stage_run *r = &p->stages[i];
        if (r->inited && r->d->uninit) r->d->uninit(r);
        free(r->priv);
        for (int k = 0; k < r->n_params; k++) {
            free(r->pname[k]);
            free(r->pval[k]);
        }
    }
    for (int i = 0; i < p->n_slots; i++) {
        free(p->slots[i].name);
        value_free(&p->slots[i].v);
    }
    free(p);
    *pp = NULL;
}

int vt_pipeline_set_text(vt_pipeline *p, const char *name, const char *text) {
    slot *s = get_slot(p, name, VT_SLOT_TEXT);
    if (!s) return vt_error(p->ctx, VT_E_NOMEM, "out of memory");
    value_free(&s->v);
    s->v.type = VT_SLOT_TEXT;
    if (!(s->v.text = strdup(text))) return vt_error(p->ctx, VT_E_NOMEM, "out of memory");
    s->set = 1;
    return VT_OK;
}

int vt_pipeline_set_frames(vt_pipeline *p, const char *name, int ndim, const int64_t *shape, const float *data) {
    slot *s = get_slot(p, name, VT_SLOT_FRAMES);
    if (!s) return vt_error(p->ctx, VT_E_NOMEM, "out of memory");
    value_free(&s->v);
    s->v.type = VT_SLOT_FRAMES;
    s->v.ndim = ndim;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)(s->v.shape[i] = shape[i]);
    if (!(s->v.data = malloc((n ? n : 1) * sizeof(float)))) return vt_error(p->ctx, VT_E_NOMEM, "out of memory");
    memcpy(s->v.data, data, n * sizeof(float));
    s->set = 1;
    return VT_OK;
}

void vt_pipeline_set_progress(vt_pipeline *p, vt_pipeline_progress_fn fn, void *user) {
    p->progress = fn;
    p->progress_user = user;
}

int vt_pipeline_set_param(vt_pipeline *p, const char *override) { return apply_override(p, override); }

int vt_pipeline_set_value(vt_pipeline *p, const char *name, const vt_value *v) {
    if (!v || v->ndim < 0 || v->ndim > VT_MAX_DIMS) return vt_error(p->ctx, VT_E_INVALID, "slot '%s': no value or bad rank", name);
    if (v->type == VT_SLOT_TEXT) return vt_pipeline_set_text(p, name, v->text ? v->text : "");
    slot *s = get_slot(p, name, v->type);
    if (!s) return vt_error(p->ctx, VT_E_NOMEM, "out of memory");
    value_free(&s->v);
    s->set = 0;
    vt_value *d = &s->v;
    d->type = v->type;
    d->ndim = v->ndim;
    size_t n = 1, rows = 1;
    for (int i = 0; i < v->ndim; i++) n *= (size_t)(d->shape[i] = v->shape[i]);
    /* masks cover the first two dims: (B, L) of ids and tokens */
    for (int i = 0; i < (v->ndim > 1 ? 2 : v->ndim); i++) rows *= (size_t)v->shape[i];
    if (v->type == VT_SLOT_IDS) {
        if (!v->ids) return vt_error(p->ctx, VT_E_INVALID, "slot '%s': ids missing", name);
        if (!(d->ids = malloc((n ? n : 1) * sizeof *d->ids))) goto oom;
        memcpy(d->ids, v->ids, n * sizeof *d->ids);
    } else {
        if (!v->data) return vt_error(p->ctx, VT_E_INVALID, "slot '%s': data missing", name);
        if (!(d->data = malloc((n ? n : 1) * sizeof *d->data))) goto oom;
        memcpy(d->data, v->data, n * sizeof *d->data);
    }
    if (v->mask) {
        if (!(d->mask = malloc((rows ? rows : 1) * sizeof *d->mask))) goto oom;
        memcpy(d->mask, v->mask, rows * sizeof *d->mask);
    }
    s->set = 1;
    return VT_OK;
oom:
    value_free(d);
    return vt_error(p->ctx, VT_E_NOMEM, "out of memory");
}

int vt_pipeline_run(vt_pipeline *p) {
    for (int i = 0; i < p->n_stages; i++) {
        vt_stage_run *r = &p->stages[i];
        /* between stages is where a cancel lands when no stage reports progress */
        if (p->progress && p->progress(p->progress_user, r->d->name, 0, 0))
            return vt_error(p->ctx, VT_E_CANCELLED, "cancelled before stage %s", r->d->name);
        for (const vt_slot_spec *in = r->d->inputs; in && in->name; in++) {
            slot *s = find_slot(p, in->name);
            if (!in->optional && (!s || !s->set))
                return vt_error(p->ctx, VT_E_INVALID, "stage %s: input slot '%s' was never set", r->d->name, in->name);
        }
        vt_log(p->ctx, VT_LOG_DEBUG, "running stage %s", r->d->name);
        int rc = r->d->run(r);
        if (rc) return rc;
    }
    return VT_OK;
}

const vt_value *vt_pipeline_slot(const vt_pipeline *p, const char *name) {
    const slot *s = find_slot(p, name);
    return s && s->set ? &s->v : NULL;
}

/* ---- the stage-side API ---- */

vt_context *vt_stage_context(vt_stage_run *r) { return r->p->ctx; }
void *vt_stage_priv(vt_stage_run *r) { return r->priv; }
const vt_model *vt_stage_model(vt_stage_run *r) { return r->p->model; }

const char *vt_stage_param_str(vt_stage_run *r, const char *name) {
    for (int i = 0; i < r->n_params; i++)
        if (!strcmp(r->pname[i], name)) return r->pval[i];
    return NULL;
}

double vt_stage_param_num(vt_stage_run *r, const char *name) {
    const char *v = vt_stage_param_str(r, name);
    return v ? strtod(v, NULL) : 0.0;
}

const vt_value *vt_stage_input(vt_stage_run *r, const char *name) { return vt_pipeline_slot(r->p, name); }

static const vt_slot_spec *output_spec(const vt_stage_desc *d, const char *name) {
    for (const vt_slot_spec *o = d->outputs; o && o->name; o++)
        if (!strcmp(o->name, name)) return o;
    return NULL;
}

vt_value *vt_stage_output(vt_stage_run *r, const char *name, int ndim, const int64_t *shape, int with_mask) {
    const vt_slot_spec *o = output_spec(r->d, name);
    if (!o || ndim < 1 || ndim > VT_MAX_DIMS) return NULL;
    slot *s = get_slot(r->p, name, o->type);
    if (!s) return NULL;
    value_free(&s->v);
    s->set = 0;
    vt_value *v = &s->v;
    v->type = o->type;
    v->ndim = ndim;
    size_t n = 1, rows = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)(v->shape[i] = shape[i]);
    for (int i = 0; i < (ndim > 1 ? 2 : 1); i++) rows *= (size_t)shape[i];
    if (o->type == VT_SLOT_IDS) {
        v->ids = calloc(n ? n : 1, sizeof *v->ids);
        v->mask = calloc(n ? n : 1, sizeof *v->mask);
        if (!v->ids || !v->mask) goto oom;
    } else {
        v->data = calloc(n ? n : 1, sizeof *v->data);
        if (!v->data) goto oom;
        if (with_mask && !(v->mask = calloc(rows ? rows : 1, sizeof *v->mask))) goto oom;
    }
    s->set = 1;
    return v;
oom:
    value_free(v);
    return NULL;
}

int vt_stage_output_text(vt_stage_run *r, const char *name, const char *text) {
    const vt_slot_spec *o = output_spec(r->d, name);
    if (!o || o->type != VT_SLOT_TEXT) return vt_stage_error(r, VT_E_INVALID, "no text output slot '%s'", name);
    return vt_pipeline_set_text(r->p, name, text);
}

int vt_stage_progress(vt_stage_run *r, int step, int steps) {
    vt_pipeline *p = r->p;
    return p->progress ? p->progress(p->progress_user, r->d->name, step, steps) : 0;
}

int vt_stage_error(vt_stage_run *r, int code, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vt_error(r->p->ctx, code, "stage %s: %s", r->d->name, msg);
}
