/* Samplers around the DiT: DDIM (ε, η), DPM-Solver++(2M) (ε) and Euler for
 * rectified flow (velocity, timestep shift), with classifier-free guidance whose
 * unconditional branch is batched with the conditional one. Deterministic: the
 * noise comes from vt_rng (Philox) keyed by the seed. */
#ifndef VT_DIFFUSION_SAMPLER_H
#define VT_DIFFUSION_SAMPLER_H

#include <stdint.h>

#include "dit.h"

typedef enum vt_sampler_kind { VT_SAMPLER_DDIM = 0, VT_SAMPLER_DPMPP_2M, VT_SAMPLER_EULER } vt_sampler_kind;

typedef struct vt_sample_params {
    vt_sampler_kind kind;
    int steps;        /* >= 1 */
    float cfg;        /* guidance scale; 1 = no guidance (conditional branch only) */
    uint64_t seed;
    float eta;        /* DDIM: 0 = deterministic DDIM, 1 = DDPM-like */
    float shift;      /* Euler: timestep shift s' = shift·s / (1 + (shift - 1)·s); 0 = the model's */
    /* img2img / vid2vid (SDEdit, Meng et al. 2022): with x_ref (shape of out) and
     * strength in (0, 1), only the last n = round(steps·strength) (≥ 1) steps run,
     * from x_ref noised to the level of the first of them. */
    const float *x_ref;
    float strength;   /* 0 or ≥ 1 = from pure noise */
} vt_sample_params;

/* Index of the first step run for a strength (0 when strength is 0 or ≥ 1). */
int vt_sampler_first_step(int steps, float strength);

/* Called after every step (may be NULL); a non-zero return cancels the run. */
typedef int (*vt_step_fn)(void *user, int step, int steps);

/* Parses "ddim", "dpm++2m" / "dpmpp2m", "euler". */
int vt_sampler_parse(const char *name, vt_sampler_kind *kind);
const char *vt_sampler_name(vt_sampler_kind kind);

/* Draws x_T = normal(seed, stream 0) and integrates to x_0.
 * in: batch, frames, height, width, y, cond, cond_mask, cond_len as for a forward
 * (x and t are ignored); out (B, C, [T,] H, W). Starts from `x_init` instead of
 * noise when non-NULL (must then be the noise itself, shape of out). */
int vt_sample(vt_dit *dit, const vt_sample_params *sp, const vt_dit_inputs *in, const float *x_init, float *out,
              vt_step_fn on_step, void *user);

#endif
