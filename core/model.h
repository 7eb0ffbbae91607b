/* Internal access to a public vt_model's safetensors mapping, for the modules
 * that build runnable models (diffusion/, encoders/) on top of it. */
#ifndef VT_CORE_MODEL_H
#define VT_CORE_MODEL_H

#include "safetensors.h"
#include "vitrail.h"

const vt_st_file *vt_model_file(const vt_model *model);

#endif
