/* Helpers shared by the built-in stages (not part of the plugin ABI). */
#ifndef VT_PIPELINE_STAGE_UTIL_H
#define VT_PIPELINE_STAGE_UTIL_H

#include "backend.h"
#include "vitrail_stage.h"

/* A CPU backend for a stage that runs one of the model's networks; refuses a
 * pipeline without a model. Returns 0 or the stage error. */
int vt_stage_cpu_backend(vt_stage_run *r, vt_backend **be);

/* The pipeline model's input size ("input_size": [H, W] of its config), so that a
 * preset reads images at whatever size its model takes; 0 when there is none. */
void vt_stage_model_input_size(vt_stage_run *r, int *h, int *w);

#endif
