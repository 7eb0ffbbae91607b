/* The sampling loops. Scalars of the schedules are computed in double; the
 * per-element updates are done in double and rounded once to float. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "rng.h"
#include "sampler.h"

int vt_sampler_parse(const char *name, vt_sampler_kind *kind) {
    if (!strcmp(name, "ddim")) *kind = VT_SAMPLER_DDIM;
    else if (!strcmp(name, "dpm++2m") || !strcmp(name, "dpmpp2m")) *kind = VT_SAMPLER_DPMPP_2M;
    else if (!strcmp(name, "euler")) *kind = VT_SAMPLER_EULER;
    else return VT_E_INVALID;
    return VT_OK;
}

const char *vt_sampler_name(vt_sampler_kind kind) {
    switch (kind) {
    case VT_SAMPLER_DDIM: return "ddim";
    case VT_SAMPLER_DPMPP_2M: return "dpm++2m";
    case VT_SAMPLER_EULER: return "euler";
    }
    return "?";
}

/* The model evaluation of one step: runs the (possibly doubled) batch and writes
 * the guided prediction for the first C channels into pred (B, C, ...). */
typedef struct guided {
    vt_dit *dit;
    const vt_dit_config *cfg;
    vt_dit_inputs in;     /* the batch actually run: B or 2B */
    int B, guide;
    float scale;
    size_t per_item_in;   /* C·T·H·W */
    size_t per_item_out;  /* C_out·T·H·W */
    float *xb;            /* (B', C, T, H, W) */
    float *tb;            /* (B') */
    float *ob;            /* (B', C_out, T, H, W) */
    int32_t *yb;          /* (B') */
    float *condb, *maskb; /* (B', L, cond_dim), (B', L) */
} guided;

static int guided_eval(guided *g, const float *x, double t, float *pred) {
    int nb = g->in.batch;
    for (int r = 0; r < g->guide + 1; r++)
        memcpy(g->xb + (size_t)r * g->B * g->per_item_in, x, (size_t)g->B * g->per_item_in * sizeof(float));
    for (int b = 0; b < nb; b++) g->tb[b] = (float)t;
    g->in.x = g->xb;
    g->in.t = g->tb;
    int rc = vt_dit_forward(g->dit, &g->in, g->ob);
    if (rc) return rc;
    size_t plane = g->per_item_in; /* the first C channels of an output item */
    for (int b = 0; b < g->B; b++) {
        const float *oc = g->ob + (size_t)b * g->per_item_out;
        const float *ou = g->ob + (size_t)(b + g->B) * g->per_item_out;
        float *dst = pred + (size_t)b * plane;
        if (!g->guide) {
            memcpy(dst, oc, plane * sizeof(float));
        } else {
            for (size_t i = 0; i < plane; i++) dst[i] = (float)((double)ou[i] + g->scale * ((double)oc[i] - ou[i]));
        }
    }
    return VT_OK;
}

static void guided_free(guided *g) {
    free(g->xb);
    free(g->tb);
    free(g->ob);
    free(g->yb);
    free(g->condb);
    free(g->maskb);
}

static int guided_init(guided *g, vt_dit *dit, const vt_sample_params *sp, const vt_dit_inputs *in) {
    vt_context *ctx = NULL;
    memset(g, 0, sizeof *g);
    g->dit = dit;
    g->cfg = vt_dit_get_config(dit);
    const vt_dit_config *c = g->cfg;
    int T = in->frames < 1 ? 1 : in->frames;
    g->B = in->batch;
    g->guide = sp->cfg != 1.0f && (c->num_classes > 0 || c->cond_dim > 0);
    g->scale = sp->cfg;
    g->per_item_in = (size_t)c->in_channels * T * in->height * in->width;
    g->per_item_out = (size_t)c->out_channels * T * in->height * in->width;
    int nb = g->B * (g->guide ? 2 : 1);
    g->in = *in;
    g->in.batch = nb;
    g->xb = malloc((size_t)nb * g->per_item_in * sizeof(float));
    g->tb = malloc((size_t)nb * sizeof(float));
    g->ob = malloc((size_t)nb * g->per_item_out * sizeof(float));
    if (!g->xb || !g->tb || !g->ob) return VT_E_NOMEM;
    (void)ctx;
    if (c->num_classes > 0) {
        g->yb = malloc((size_t)nb * sizeof *g->yb);
        if (!g->yb) return VT_E_NOMEM;
        for (int b = 0; b < nb; b++)
            g->yb[b] = b < g->B && in->y ? in->y[b] : c->num_classes; /* second half: the null class */
        g->in.y = g->yb;
    }
    if (c->cond_dim > 0 && g->guide) {
        /* The unconditional rows hold the negative tokens when given, else the null
         * token; both halves are padded to the longer length with masked-out
         * zeros, identical to their own lengths since masked keys weigh nothing
         * (and without a negative prompt the batch's L is the conditional one). */
        int L = in->cond_len, K = c->cond_dim, Lu = in->uncond ? in->uncond_len : 1;
        if (in->uncond && Lu < 1) return VT_E_INVALID;
        int Lb = L > Lu ? L : Lu;
        g->condb = calloc((size_t)nb * Lb * K, sizeof(float));
        g->maskb = calloc((size_t)nb * Lb, sizeof(float));
        if (!g->condb || !g->maskb) return VT_E_NOMEM;
        for (int b = 0; b < g->B; b++) {
            memcpy(g->condb + (size_t)b * Lb * K, in->cond + (size_t)b * L * K, (size_t)L * K * sizeof(float));
            for (int i = 0; i < L; i++) g->maskb[(size_t)b * Lb + i] = in->cond_mask ? in->cond_mask[(size_t)b * L + i] : 1.0f;
        }
        for (int b = g->B; b < nb; b++) {
            int u = b - g->B;
            if (in->uncond) {
                memcpy(g->condb + (size_t)b * Lb * K, in->uncond + (size_t)u * Lu * K, (size_t)Lu * K * sizeof(float));
                for (int i = 0; i < Lu; i++)
                    g->maskb[(size_t)b * Lb + i] = in->uncond_mask ? in->uncond_mask[(size_t)u * Lu + i] : 1.0f;
            } else {
                memcpy(g->condb + (size_t)b * Lb * K, vt_dit_null_cond(dit), (size_t)K * sizeof(float));
                g->maskb[(size_t)b * Lb] = 1.0f;
            }
        }
        g->in.cond = g->condb;
        g->in.cond_mask = g->maskb;
        g->in.cond_len = Lb;
    }
    return VT_OK;
}

int vt_sampler_first_step(int steps, float strength) {
    if (!(strength > 0.0f) || strength >= 1.0f) return 0;
    int n = (int)(steps * (double)strength + 0.5);
    if (n < 1) n = 1;
    if (n > steps) n = steps;
    return steps - n;
}

int vt_sample(vt_dit *dit, const vt_sample_params *sp, const vt_dit_inputs *in, const float *x_init, float *out,
              vt_step_fn on_step, void *user) {
    vt_context *ctx = vt_dit_context(dit);
    const vt_dit_config *c = vt_dit_get_config(dit);
    const int S = sp->steps;
    if (S < 1 || S > 10000) return vt_error(ctx, VT_E_INVALID, "sampler: steps %d is outside 1..10000", S);
    if (in->batch < 1) return vt_error(ctx, VT_E_INVALID, "sampler: batch must be >= 1");
    if (c->prediction == VT_PRED_EPS && sp->kind == VT_SAMPLER_EULER)
        return vt_error(ctx, VT_E_INVALID, "sampler: euler is for velocity (rectified-flow) models; this model predicts eps: use ddim or dpm++2m");
    if (c->prediction == VT_PRED_V && sp->kind != VT_SAMPLER_EULER)
        return vt_error(ctx, VT_E_INVALID, "sampler: %s is for eps models; this rectified-flow model needs euler", vt_sampler_name(sp->kind));
    if (c->prediction == VT_PRED_EPS && S > c->train_steps)
        return vt_error(ctx, VT_E_INVALID, "sampler: %d steps exceed the model's %d training steps", S, c->train_steps);

    guided g;
    int rc = guided_init(&g, dit, sp, in);
    size_t n = (size_t)in->batch * g.per_item_in;
    float *x = out;
    float *pred = malloc(n * sizeof(float));
    float *prev_x0 = malloc(n * sizeof(float));
    float *z = malloc(n * sizeof(float));
    if (rc == VT_E_INVALID) {
        rc = vt_error(ctx, VT_E_INVALID, "sampler: the unconditional tokens need a length >= 1");
        goto done;
    }
    if (rc || !pred || !prev_x0 || !z) {
        rc = vt_error(ctx, VT_E_NOMEM, "sampler: out of memory");
        goto done;
    }
    if (x_init) memcpy(x, x_init, n * sizeof(float));
    else vt_rng_normal(sp->seed, 0, 0, x, n);
    const int i0 = sp->x_ref ? vt_sampler_first_step(S, sp->strength) : 0;

    if (c->prediction == VT_PRED_V) {
        double shift = sp->shift > 0 ? sp->shift : c->flow_shift;
        if (i0 > 0) {
            /* x_s = (1 − s)·x_ref + s·noise at the first step's level */
            double s = 1.0 - (double)i0 / S;
            s = shift * s / (1.0 + (shift - 1.0) * s);
            for (size_t k = 0; k < n; k++) x[k] = (float)((1.0 - s) * sp->x_ref[k] + s * (double)x[k]);
        }
        for (int i = i0; i < S; i++) {
            double s0 = 1.0 - (double)i / S, s1 = 1.0 - (double)(i + 1) / S;
            s0 = shift * s0 / (1.0 + (shift - 1.0) * s0);
            s1 = shift * s1 / (1.0 + (shift - 1.0) * s1);
            if ((rc = guided_eval(&g, x, s0 * c->timestep_scale, pred))) goto done;
            for (size_t k = 0; k < n; k++) x[k] = (float)((double)x[k] + (s1 - s0) * pred[k]);
            if (on_step && on_step(user, i + 1, S)) {
                rc = vt_error(ctx, VT_E_CANCELLED, "sampling cancelled");
                goto done;
            }
        }
    } else {
        /* DiT's linear betas, ᾱ in double; "trailing" timesteps reach t = T-1. */
        const int TS = c->train_steps, k = TS / S;
        double *abar = malloc((size_t)TS * sizeof(double));
        if (!abar) {
            rc = vt_error(ctx, VT_E_NOMEM, "sampler: out of memory");
            goto done;
        }
        double acc = 1.0;
        for (int t = 0; t < TS; t++) {
            double beta = TS > 1 ? 1e-4 + (0.02 - 1e-4) * t / (TS - 1) : 1e-4;
            acc *= 1.0 - beta;
            abar[t] = acc;
        }
        double lambda_prev = 0;
        if (i0 > 0) {
            /* x_t = sqrt(ᾱ_t)·x_ref + sqrt(1 − ᾱ_t)·noise at the first step's t */
            double a0 = abar[TS - 1 - i0 * k];
            for (size_t q = 0; q < n; q++) x[q] = (float)(sqrt(a0) * sp->x_ref[q] + sqrt(1.0 - a0) * (double)x[q]);
        }
        for (int i = i0; i < S; i++) {
            int t = TS - 1 - i * k, tn = t - k;
            double a_t = abar[t], a_n = tn >= 0 ? abar[tn] : 1.0;
            if ((rc = guided_eval(&g, x, (double)t, pred))) {
                free(abar);
                goto done;
            }
            double sa = sqrt(a_t), s1a = sqrt(1.0 - a_t);
            if (sp->kind == VT_SAMPLER_DDIM) {
                double sigma = sp->eta * sqrt((1.0 - a_n) / (1.0 - a_t)) * sqrt(1.0 - a_t / a_n);
                double dir = sqrt(fmax(1.0 - a_n - sigma * sigma, 0.0));
                if (sigma > 0) vt_rng_normal(sp->seed, 1u + (uint32_t)i, 0, z, n);
                for (size_t q = 0; q < n; q++) {
                    double x0 = ((double)x[q] - s1a * pred[q]) / sa;
                    double v = sqrt(a_n) * x0 + dir * pred[q];
                    if (sigma > 0) v += sigma * z[q];
                    x[q] = (float)v;
                }
            } else {
                double lambda_t = log(sa / s1a);
                if (a_n >= 1.0) {
                    for (size_t q = 0; q < n; q++) x[q] = (float)(((double)x[q] - s1a * pred[q]) / sa);
                } else {
                    double an = sqrt(a_n), sn = sqrt(1.0 - a_n);
                    double h = log(an / sn) - lambda_t;
                    double r = i > i0 ? (lambda_t - lambda_prev) / h : 0;
                    for (size_t q = 0; q < n; q++) {
                        double x0 = ((double)x[q] - s1a * pred[q]) / sa;
                        double D = i > i0 ? (1.0 + 0.5 / r) * x0 - (0.5 / r) * prev_x0[q] : x0;
                        prev_x0[q] = (float)x0;
                        x[q] = (float)((sn / s1a) * x[q] - an * (exp(-h) - 1.0) * D);
                    }
                }
                lambda_prev = lambda_t;
            }
            if (on_step && on_step(user, i + 1, S)) {
                free(abar);
                rc = vt_error(ctx, VT_E_CANCELLED, "sampling cancelled");
                goto done;
            }
        }
        free(abar);
    }
done:
    guided_free(&g);
    free(pred);
    free(prev_x0);
    free(z);
    return rc;
}
