/* A harness for one pipeline stage (GStreamer's GstHarness idea): a pipeline of
 * that stage alone, every input of its descriptor declared as given, so a test
 * pushes slot values in, runs the stage and checks the slots it wrote. */
#ifndef VT_TESTS_STAGE_HARNESS_H
#define VT_TESTS_STAGE_HARNESS_H

#include <check.h>
#include <string.h>

#include "vitrail_stage.h"

typedef struct vt_harness {
    vt_pipeline *p;
    vt_slot_spec given[32]; /* the stage's inputs, NULL-terminated */
} vt_harness;

/* line: the stage and its parameters as a preset line ("denoise steps=2"). */
static inline void vt_harness_create(vt_harness *h, vt_context *ctx, const char *line, const vt_model *m) {
    char name[64];
    size_t n = strcspn(line, " \t");
    ck_assert_uint_lt(n, sizeof name);
    memcpy(name, line, n);
    name[n] = 0;
    const vt_stage_desc *d = vt_stage_find(name);
    ck_assert_msg(d != NULL, "no stage '%s'", name);
    memset(h, 0, sizeof *h);
    int k = 0;
    for (const vt_slot_spec *s = d->inputs; s && s->name && k < 31; s++) h->given[k++] = *s;
    ck_assert_msg(vt_pipeline_create(ctx, line, h->given, NULL, m, &h->p) == 0, "%s: %s", line, vt_context_error(ctx));
}

static inline void vt_harness_push(vt_harness *h, const char *slot, const vt_value *v) {
    ck_assert_int_eq(vt_pipeline_set_value(h->p, slot, v), 0);
}

/* Runs the stage; returns its status. */
static inline int vt_harness_run(vt_harness *h) { return vt_pipeline_run(h->p); }

/* An output slot after the run; fails the test when the stage did not write it. */
static inline const vt_value *vt_harness_pull(vt_harness *h, const char *slot) {
    const vt_value *v = vt_pipeline_slot(h->p, slot);
    ck_assert_msg(v != NULL, "the stage left no '%s'", slot);
    return v;
}

static inline void vt_harness_destroy(vt_harness *h) { vt_pipeline_destroy(&h->p); }

#endif
