"""Reference samplers, the twins of diffusion/sampler.c, step for step:
DDIM (eps models, eta), DPM-Solver++(2M) (Lu et al. 2022, data prediction, eps
models) and Euler for rectified flow (v models, timestep shift), with
classifier-free guidance batched as [conditional; unconditional].

Precision, as the C engine does it: schedule scalars are Python floats (IEEE
double, the same operations in the same order as sampler.c); the state x, the
model's prediction and DPM-Solver's previous x0 are float32 between steps; every
per-element update is computed in float64 and rounded once to float32. The noise
is vitrail's (vt_rng.py): x_T = normal(seed, stream 0), DDIM's step i draws
normal(seed, stream 1 + i).

    python3 samplers.py MODEL.safetensors SAMPLE.safetensors [--f32]

re-runs the sampling run a fixture file describes (its __metadata__ and inputs)
and prints how far the result is from its "out".
"""
import math
import os
import struct
import sys

import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import vt_rng  # noqa: E402

SAMPLERS = ("ddim", "dpmpp2m", "euler")


def f32(v):
    """v rounded to the nearest float32, as a Python float (sampler.c keeps cfg, eta
    and shift as float, and hands the model a float timestep)."""
    return struct.unpack("<f", struct.pack("<f", float(v)))[0]


def canonical(name):
    if name in ("dpm++2m", "dpmpp2m"):
        return "dpmpp2m"
    if name in ("ddim", "euler"):
        return name
    raise ValueError("unknown sampler '%s' (ddim, dpmpp2m / dpm++2m, euler)" % name)


def alphas_cumprod(train_steps):
    """DiT's linear betas 1e-4 .. 0.02 (np.linspace(1e-4, 0.02, n) up to the last bit),
    written as sampler.c computes them so the doubles are identical; abar = cumprod(1 - beta)."""
    out, acc = [], 1.0
    for t in range(train_steps):
        beta = 1e-4 + (0.02 - 1e-4) * t / (train_steps - 1) if train_steps > 1 else 1e-4
        acc *= 1.0 - beta
        out.append(acc)
    return out


def trailing_timesteps(train_steps, steps):
    """'trailing' spacing: k = train_steps // steps, t_i = train_steps - 1 - i*k; the
    step after t_i is t_i - k, with abar = 1 once that is below 0 (the last step)."""
    k = train_steps // steps
    return [train_steps - 1 - i * k for i in range(steps)], k


def flow_times(steps, shift):
    """s_i = 1 - i/S for i = 0..S, shifted s' = shift*s / (1 + (shift - 1)*s)."""
    out = []
    for i in range(steps + 1):
        s = 1.0 - i / steps
        out.append(shift * s / (1.0 + (shift - 1.0) * s))
    return out


class Guided:
    """One model evaluation per step: the guided prediction for the first C channels,
    float32 (B, C, [T,] H, W). Guidance runs when cfg != 1 and the model has classes
    or conditioning tokens; the unconditional half then has y = num_classes and, for
    cond models, the null token cond_embedder.null as the only present token (padded
    to the batch's L with masked-out zeros, which weigh nothing). With uncond (a
    negative prompt's tokens, (B, Lu, cond_dim)) the unconditional half holds those
    instead, both halves padded to max(L, Lu) the same way."""

    def __init__(self, model, batch, cfg_scale, y=None, cond=None, cond_mask=None, uncond=None, uncond_mask=None):
        c = model.cfg
        self.model, self.B, self.C = model, batch, c["in_channels"]
        self.scale = f32(cfg_scale)
        self.guide = self.scale != 1.0 and (c["num_classes"] > 0 or c["cond_dim"] > 0)
        n = 2 if self.guide else 1
        self.y = self.cond = self.mask = None
        if c["num_classes"] > 0:
            null = torch.full((batch,), c["num_classes"], dtype=torch.long)
            yc = null if y is None else torch.round(torch.as_tensor(y).double()).long().reshape(batch)
            self.y = torch.cat([yc, null]) if self.guide else yc
        if c["cond_dim"] > 0:
            if cond is None:
                raise ValueError("sampler: the model needs conditioning tokens 'cond'")
            cond = cond.float()
            L = cond.shape[1]
            mask = torch.ones(batch, L) if cond_mask is None else cond_mask.float()
            if self.guide:
                if uncond is None:
                    uncond = model.cond_embedder.null.detach().float().expand(batch, 1, -1)
                    uncond_mask = torch.ones(batch, 1)
                uncond = uncond.float()
                Lu = uncond.shape[1]
                umask_in = torch.ones(batch, Lu) if uncond_mask is None else uncond_mask.float()
                Lb = max(L, Lu)
                ucond, umask = torch.zeros(batch, Lb, cond.shape[2]), torch.zeros(batch, Lb)
                ucond[:, :Lu], umask[:, :Lu] = uncond, umask_in
                ccond, cmask = torch.zeros(batch, Lb, cond.shape[2]), torch.zeros(batch, Lb)
                ccond[:, :L], cmask[:, :L] = cond, mask
                cond, mask = torch.cat([ccond, ucond]), torch.cat([cmask, umask])
            self.cond, self.mask = cond, mask
        self.n = n

    def __call__(self, x, t):
        B, C = self.B, self.C
        xb = torch.cat([x] * self.n)
        tb = torch.full((B * self.n,), f32(t), dtype=torch.float32)
        out = self.model(xb, tb, y=self.y, cond=self.cond, cond_mask=self.mask).float()  # as the engine's f32 output
        oc = out[:B, :C]
        if not self.guide:
            return oc.contiguous()
        ou = out[B:, :C].double()
        return (ou + self.scale * (oc.double() - ou)).float()


def first_step(steps, strength):
    """SDEdit (Meng et al. 2022): with strength in (0, 1), run only the last
    n = round(steps * strength) (at least 1) steps of the schedule, starting from the
    reference noised to that step's level. Returns the index of the first step run."""
    if strength >= 1.0:
        return 0
    n = int(steps * strength + 0.5)
    n = max(1, min(steps, n))
    return steps - n


def sample(model, sampler, steps, cfg_scale, seed, batch, y=None, cond=None, cond_mask=None, eta=0.0, shift=0.0,
           x_init=None, x_ref=None, strength=1.0, frames=None, uncond=None, uncond_mask=None):
    """Integrates from x_T to x_0. Returns {"out": x_0, "noise": x_T}, float32,
    (batch, C, [T,] H, W). eta: DDIM; shift: Euler, 0 = the model's flow_shift.
    x_ref with strength < 1: img2img / vid2vid (SDEdit), see first_step().
    frames: T of a clip model's sample, 1..frames (None: the model's frames).
    uncond, uncond_mask: the unconditional branch's tokens (a negative prompt)."""
    c = model.cfg
    sampler = canonical(sampler)
    if not 1 <= steps <= 10000:
        raise ValueError("sampler: steps %d is outside 1..10000" % steps)
    if c["prediction"] == "eps" and sampler == "euler":
        raise ValueError("sampler: euler is for velocity (rectified-flow) models; this model predicts eps")
    if c["prediction"] == "v" and sampler != "euler":
        raise ValueError("sampler: %s is for eps models; this rectified-flow model needs euler" % sampler)
    if c["prediction"] == "eps" and steps > c["train_steps"]:
        raise ValueError("sampler: %d steps exceed the model's %d training steps" % (steps, c["train_steps"]))
    H, W = c["input_size"]
    if frames is not None and c["frames"] and not 1 <= frames <= c["frames"]:
        raise ValueError("sampler: frames %d is outside 1..%d" % (frames, c["frames"]))
    T = (frames if frames is not None else c["frames"]) if c["frames"] else 0
    shape = (batch, c["in_channels"]) + ((T,) if T else ()) + (H, W)
    n = 1
    for v in shape:
        n *= v
    x = vt_rng.normal(seed, 0, 0, n).reshape(shape) if x_init is None else x_init.float().reshape(shape).clone()
    noise = x.clone()
    g = Guided(model, batch, cfg_scale, y, cond, cond_mask, uncond, uncond_mask)
    strength = f32(strength)
    i0 = first_step(steps, strength) if x_ref is not None else 0
    ref = x_ref.float().reshape(shape).double() if x_ref is not None else None

    if c["prediction"] == "v":
        sh = f32(shift) if f32(shift) > 0 else float(c["flow_shift"])
        s = flow_times(steps, sh)
        if i0 > 0:
            x = ((1.0 - s[i0]) * ref + s[i0] * x.double()).float()
        for i in range(i0, steps):
            v = g(x, s[i] * c["timestep_scale"])
            x = (x.double() + (s[i + 1] - s[i]) * v.double()).float()
        return {"out": x, "noise": noise}

    abar = alphas_cumprod(c["train_steps"])
    ts, k = trailing_timesteps(c["train_steps"], steps)
    eta = f32(eta)
    prev_x0, lam_prev = None, 0.0
    if i0 > 0:
        a0 = abar[ts[i0]]
        x = (math.sqrt(a0) * ref + math.sqrt(1.0 - a0) * x.double()).float()
    for i, t in enumerate(ts):
        if i < i0:
            continue
        tn = t - k
        a_t, a_n = abar[t], (abar[tn] if tn >= 0 else 1.0)
        eps = g(x, float(t)).double()
        xd = x.double()
        sa, s1a = math.sqrt(a_t), math.sqrt(1.0 - a_t)
        x0 = (xd - s1a * eps) / sa
        if sampler == "ddim":
            sigma = eta * math.sqrt((1.0 - a_n) / (1.0 - a_t)) * math.sqrt(1.0 - a_t / a_n)
            dirc = math.sqrt(max(1.0 - a_n - sigma * sigma, 0.0))
            nx = math.sqrt(a_n) * x0 + dirc * eps
            if sigma > 0:
                z = vt_rng.normal(seed, 1 + i, 0, n).reshape(shape).double()
                nx = nx + sigma * z
            x = nx.float()
        else:  # DPM-Solver++(2M)
            lam = math.log(sa / s1a)
            if a_n >= 1.0:
                x = x0.float()
            else:
                an, sn = math.sqrt(a_n), math.sqrt(1.0 - a_n)
                h = math.log(an / sn) - lam
                if i == i0:
                    D = x0
                else:
                    r = (lam - lam_prev) / h
                    D = (1.0 + 0.5 / r) * x0 - (0.5 / r) * prev_x0.double()
                prev_x0 = x0.float()
                x = ((sn / s1a) * xd - an * (math.exp(-h) - 1.0) * D).float()
            lam_prev = lam
    return {"out": x, "noise": noise}


def sample_from_fixture(model, tensors, meta):
    """Runs the sampling a fixture file describes (metadata strings as the C test reads them)."""
    return sample(model, meta["sampler"], int(meta["steps"]), float(meta["cfg"]), int(meta["seed"]),
                  int(meta["batch"]), y=tensors.get("y"), cond=tensors.get("cond"), cond_mask=tensors.get("cond_mask"),
                  eta=float(meta.get("eta", "0")), shift=float(meta.get("shift", "0")), x_ref=tensors.get("x_ref"),
                  strength=float(meta.get("strength", "1")), frames=int(meta["frames"]) if "frames" in meta else None,
                  uncond=tensors.get("uncond"), uncond_mask=tensors.get("uncond_mask"))


def main(argv):
    import st_io
    from dit_ref import DiT

    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 2:
        print("usage: samplers.py MODEL.safetensors SAMPLE.safetensors [--f32]", file=sys.stderr)
        return 2
    model = DiT.from_file(args[0], dtype=torch.float32 if "--f32" in argv else torch.float64)
    tensors, meta = st_io.load(args[1])
    res = sample_from_fixture(model, tensors, meta)
    ref = tensors["out"].double()
    err = (res["out"].double() - ref).abs().max().item() / ref.abs().max().item()
    print("%s: max|out - ref| / max|ref| = %.3e" % (args[1], err))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
