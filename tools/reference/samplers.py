"""Reference samplers (diffusion/sampler.c is their C twin): DDIM (eps, eta),
DPM-Solver++(2M) (Lu et al. 2022, data prediction), Euler for rectified flow, with
classifier-free guidance batched as [conditional; unconditional]. Scalars in
float64; tensor updates in float64, rounded to float32 once per step."""
import math

import numpy as np
import torch

import vt_rng


def guided(model, x, t, cond_inputs, scale):
    """The guided prediction for the first C channels."""
    cfg = model.cfg
    C = model.C
    B = x.shape[0]
    guide = scale != 1.0 and (cfg.get("num_classes", 0) or cfg.get("cond_dim", 0))
    y, cond, cmask = cond_inputs.get("y"), cond_inputs.get("cond"), cond_inputs.get("cond_mask")
    if not guide:
        out = model(x, torch.full((B,), float(t)), y=y, cond=cond, cond_mask=cmask)
        return out[:, :C].double()
    xx = torch.cat([x, x])
    yy = None
    if cfg.get("num_classes", 0):
        null = torch.full((B,), cfg["num_classes"], dtype=torch.long)
        yy = torch.cat([y if y is not None else null, null])
    cc = mm = None
    if cfg.get("cond_dim", 0):
        L = cond.shape[1]
        ucond = torch.zeros_like(cond)
        ucond[:, 0] = model.cond_embedder.null.detach()[0]
        umask = torch.zeros(B, L)
        umask[:, 0] = 1
        cc = torch.cat([cond, ucond])
        mm = torch.cat([cmask if cmask is not None else torch.ones(B, L), umask])
    out = model(xx, torch.full((2 * B,), float(t)), y=yy, cond=cc, cond_mask=mm)
    oc, ou = out[:B, :C].double(), out[B:, :C].double()
    return ou + scale * (oc - ou)


def alphas_cumprod(steps):
    betas = np.linspace(1e-4, 0.02, steps, dtype=np.float64)
    return np.cumprod(1.0 - betas)


@torch.no_grad()
def sample(model, shape, sampler, steps, cfg_scale, seed, eta=0.0, shift=0.0, cond_inputs=None):
    cond_inputs = cond_inputs or {}
    n = int(np.prod(shape))
    x = torch.from_numpy(vt_rng.normal(seed, 0, 0, n).reshape(shape))
    mcfg = model.cfg
    if mcfg.get("prediction", "eps") == "v":
        assert sampler == "euler"
        sh = shift if shift > 0 else mcfg.get("flow_shift", 1.0)
        tscale = mcfg.get("timestep_scale", 1000.0)
        for i in range(steps):
            s0, s1 = 1.0 - i / steps, 1.0 - (i + 1) / steps
            s0 = sh * s0 / (1 + (sh - 1) * s0)
            s1 = sh * s1 / (1 + (sh - 1) * s1)
            v = guided(model, x, np.float32(s0 * tscale), cond_inputs, cfg_scale)
            x = (x.double() + (s1 - s0) * v).float()
        return x
    TS = mcfg.get("train_steps", 1000)
    abar = alphas_cumprod(TS)
    k = TS // steps
    prev_x0, lam_prev = None, 0.0
    for i in range(steps):
        t, tn = TS - 1 - i * k, TS - 1 - i * k - k
        a_t, a_n = abar[t], (abar[tn] if tn >= 0 else 1.0)
        eps = guided(model, x, t, cond_inputs, cfg_scale)
        xd = x.double()
        sa, s1a = math.sqrt(a_t), math.sqrt(1 - a_t)
        x0 = (xd - s1a * eps) / sa
        if sampler == "ddim":
            sigma = eta * math.sqrt((1 - a_n) / (1 - a_t)) * math.sqrt(1 - a_t / a_n)
            dirc = math.sqrt(max(1 - a_n - sigma * sigma, 0.0))
            nx = math.sqrt(a_n) * x0 + dirc * eps
            if sigma > 0:
                z = torch.from_numpy(vt_rng.normal(seed, 1 + i, 0, n).reshape(shape)).double()
                nx = nx + sigma * z
            x = nx.float()
        elif sampler in ("dpmpp2m", "dpm++2m"):
            lam = math.log(sa / s1a)
            if a_n >= 1.0:
                x = x0.float()
            else:
                an, sn = math.sqrt(a_n), math.sqrt(1 - a_n)
                h = math.log(an / sn) - lam
                if i == 0:
                    D = x0
                else:
                    r = (lam - lam_prev) / h
                    D = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * prev_x0
                x = ((sn / s1a) * xd - an * (math.exp(-h) - 1) * D).float()
            prev_x0 = x0.float().double()
            lam_prev = lam
        else:
            raise ValueError(sampler)
    return x
