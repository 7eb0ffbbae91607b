/* vitrail stage plugins: the interface a pipeline stage implements, built in or
 * loaded from a shared object. One stage = one C file = one const descriptor
 * (as FFmpeg's AVFilter); stages talk only through named, typed slots. */
#ifndef VITRAIL_STAGE_H
#define VITRAIL_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "vitrail.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever vt_stage_desc or the functions below change incompatibly; a
 * plugin built against another version is refused when loaded. */
#define VT_STAGE_API_VERSION 1

typedef enum vt_slot_type {
    VT_SLOT_TEXT = 0,   /* a UTF-8 string (a prompt, an instruction) */
    VT_SLOT_IDS = 1,    /* token ids: ids (B, L) int32, mask (B, L) */
    VT_SLOT_TOKENS = 2, /* embeddings: data (B, N, D), mask (B, N) optional */
    VT_SLOT_MAP = 3,    /* a per-token score: data (B, N) */
    VT_SLOT_FRAMES = 4, /* pixels or latents: data (B, C, T, H, W), values in [-1, 1] for pixels */
} vt_slot_type;

const char *vt_slot_type_name(vt_slot_type t);

typedef struct vt_slot_spec {
    const char *name;   /* e.g. "text.tokens"; NULL ends a list */
    vt_slot_type type;
    int optional;       /* an input the stage can do without */
    const char *help;
} vt_slot_spec;

typedef enum vt_param_type { VT_PARAM_INT = 0, VT_PARAM_FLOAT, VT_PARAM_STRING, VT_PARAM_ENUM } vt_param_type;

typedef struct vt_param_spec {
    const char *name;   /* NULL ends a list */
    vt_param_type type;
    const char *def;    /* default, as text; NULL = required */
    double min, max;    /* INT and FLOAT ranges (inclusive) */
    const char *choices;/* ENUM: "a|b|c" */
    const char *help;
} vt_param_spec;

/* A slot's value. Buffers belong to the pipeline. */
typedef struct vt_value {
    vt_slot_type type;
    char *text;                  /* TEXT */
    int ndim;
    int64_t shape[VT_MAX_DIMS];  /* IDS (B, L); TOKENS (B, N, D); MAP (B, N); FRAMES (B, C, T, H, W) */
    float *data;                 /* TOKENS, MAP, FRAMES */
    int32_t *ids;                /* IDS */
    float *mask;                 /* (B, L) or (B, N): nonzero = present; may be NULL (all present) */
} vt_value;

typedef struct vt_stage_run vt_stage_run;

typedef struct vt_stage_desc {
    int api_version;             /* VT_STAGE_API_VERSION */
    const char *name;
    const char *summary;
    const vt_slot_spec *inputs;  /* NULL-name terminated */
    const vt_slot_spec *outputs;
    const vt_param_spec *params;
    size_t priv_size;            /* bytes of zeroed private state, vt_stage_priv() */
    int (*init)(vt_stage_run *r);   /* (optional) after validation, before any run */
    int (*run)(vt_stage_run *r);
    void (*uninit)(vt_stage_run *r); /* (optional) always called, even after a failed init */
} vt_stage_desc;

/* What a plugin shared object exports under the name "vt_plugin_stages". */
typedef const vt_stage_desc *const *(*vt_plugin_entry_fn)(int *count, int *api_version);

/* ---- for stage implementations ---- */

vt_context *vt_stage_context(vt_stage_run *r);
void *vt_stage_priv(vt_stage_run *r);
/* The pipeline's model (NULL when the pipeline has none). */
const vt_model *vt_stage_model(vt_stage_run *r);
/* Parameter values, already validated against the spec. */
const char *vt_stage_param_str(vt_stage_run *r, const char *name);
double vt_stage_param_num(vt_stage_run *r, const char *name);
/* An input slot's value, or NULL for an absent optional input. */
const vt_value *vt_stage_input(vt_stage_run *r, const char *slot);
/* Creates (or replaces) an output slot's value with zeroed buffers of the shape:
 * data for TOKENS/MAP/FRAMES, ids and mask for IDS, mask too for TOKENS when
 * with_mask. NULL when out of memory. */
vt_value *vt_stage_output(vt_stage_run *r, const char *slot, int ndim, const int64_t *shape, int with_mask);
/* Sets a TEXT output. */
int vt_stage_output_text(vt_stage_run *r, const char *slot, const char *text);
/* Reports a long stage's progress (the denoiser: after each sampling step) to the
 * pipeline's progress callback. Non-zero: the caller asked to stop; the stage
 * should return VT_E_CANCELLED at once. */
int vt_stage_progress(vt_stage_run *r, int step, int steps);
/* Records an error naming the stage and returns code. */
int vt_stage_error(vt_stage_run *r, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- pipelines ---- */

typedef struct vt_pipeline vt_pipeline;

/* Registers the stages of a plugin shared object (dlopen); refuses one whose
 * API version differs. Registered stages are visible to every context. */
int vt_stage_load_plugin(vt_context *ctx, const char *path);
/* Iterates the registry: stage i, or NULL past the end. */
const vt_stage_desc *vt_stage_at(int i);
const vt_stage_desc *vt_stage_find(const char *name);

/* Parses a preset (one stage per line: NAME key=value ...; '#' comments) and
 * validates it: unknown stages or parameters, out-of-range values, and inputs no
 * earlier stage (nor `given`, the slots the caller provides) produces are errors
 * naming the stage, slot or parameter. `overrides` are "stage.param=value"
 * strings applied on top (NULL-terminated, may be NULL). */
int vt_pipeline_create(vt_context *ctx, const char *preset_text, const vt_slot_spec *given, const char *const *overrides,
                       const vt_model *model, vt_pipeline **out);
void vt_pipeline_destroy(vt_pipeline **p);
/* Sets a caller-provided slot before running. */
int vt_pipeline_set_text(vt_pipeline *p, const char *slot, const char *text);
int vt_pipeline_set_frames(vt_pipeline *p, const char *slot, int ndim, const int64_t *shape, const float *data);
/* Sets a caller-provided slot of any type from a copy of v (text; ids and mask;
 * data and mask), e.g. to push tokens into a single stage under test. */
int vt_pipeline_set_value(vt_pipeline *p, const char *slot, const vt_value *v);
/* Progress of a run: called with step = steps = 0 before each stage starts, and by
 * long stages as they go (vt_stage_progress). A non-zero return stops the run,
 * which then fails with VT_E_CANCELLED and writes no further output. */
typedef int (*vt_pipeline_progress_fn)(void *user, const char *stage, int step, int steps);
void vt_pipeline_set_progress(vt_pipeline *p, vt_pipeline_progress_fn fn, void *user);
/* Changes a parameter between runs ("stage.param=value", validated like an
 * override): for parameters a stage reads when it runs, such as denoise.seed or
 * write_image.path; parameters read at creation (a device) keep their value. */
int vt_pipeline_set_param(vt_pipeline *p, const char *override);
/* Runs every stage in order. */
int vt_pipeline_run(vt_pipeline *p);
const vt_value *vt_pipeline_slot(const vt_pipeline *p, const char *slot);

#ifdef __cplusplus
}
#endif
#endif
