#!/usr/bin/env python3
"""Regenerates tests/data/conformance/: small random-weight DiT models of several
configs, forward inputs and outputs, and 4-step sampling runs, all computed by the
reference in this folder (tests/test_dit.c checks the C engine against them).

    /usr/bin/python3 tools/reference/make_fixtures.py            # write the fixtures
    /usr/bin/python3 tools/reference/make_fixtures.py --check    # compare with the committed ones
    /usr/bin/python3 tools/reference/make_fixtures.py --out DIR  # write elsewhere

Deterministic: weights and inputs come from vitrail's own Philox generator
(vt_rng.py) with fixed seeds, not from torch's generator, whose streams are not
promised to stay the same across PyTorch versions; the model runs in float64 on
one thread. Before writing, the script builds everything twice and requires the
same bytes, and runs its self-checks (RNG known answer, the attention masks'
key counts, the safetensors round trip, guidance's padded null token).

Per config directory:
  model.safetensors        F32 weights, config JSON in __metadata__["config"]
  forward_in.safetensors   x, t (what the network sees: the DDPM step, or
                           t * timestep_scale for v models), and as needed
                           y (class labels as F32), cond, cond_mask (F32, 1 = present)
  forward_out.safetensors  out
  forward_{in,out}_T<n>.safetensors  the same for a clip model on n < frames frames
  sample_<name>.safetensors  out (x_0), noise (x_T = normal(seed, stream 0)),
                           and the inputs y / cond / cond_mask (/ uncond /
                           uncond_mask: a negative prompt's tokens); __metadata__:
                           sampler, steps, cfg, seed, eta, shift, batch, and
                           frames when a clip model is sampled at fewer frames
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)

import st_io  # noqa: E402
import vt_rng  # noqa: E402
from dit_ref import DiT, allowed_mask, causal_window, natten_window, parse_pattern  # noqa: E402
from samplers import sample, sample_from_fixture  # noqa: E402

DEFAULT_OUT = os.path.normpath(os.path.join(_HERE, "..", "..", "tests", "data", "conformance"))
B = 2  # batch of every forward and sampling run

# name -> (config, fixture parameters). Keep the whole folder under 3 MB.
CONFIGS = {
    # DiT as published: class labels, learned sigma, every block full (the default),
    # eps prediction; the file carries pos_embed as DiT checkpoints do.
    "img_class_sigma": (
        {"arch": "dit", "in_channels": 4, "input_size": [8, 8], "patch_size": 2, "hidden_size": 32, "depth": 3,
         "num_heads": 2, "num_classes": 10, "learn_sigma": True},
        {"seed": 11, "pos_embed": True, "t": [803.0, 17.0], "y": [7, 3],
         "samples": [("ddim_eta0", "ddim", 4.0, 0.0, 0.0, 1234, [1, 8]),
                     ("ddim_eta05", "ddim", 1.5, 0.5, 0.0, 0xFEDCBA9876543210, [0, 9]),
                     ("sdedit_ddim_eta05", "ddim", 1.5, 0.5, 0.0, 99, [2, 4], 0.5)]}),
    # local / block / grid / axial self-attention, cross-attention with pooling,
    # conditioning lengths that differ per item (5 of 7 and 7 of 7), mlp_ratio 2.5
    "img_local_cross": (
        {"arch": "dit", "in_channels": 3, "input_size": [16, 16], "patch_size": 2, "hidden_size": 32, "depth": 6,
         "num_heads": 4, "mlp_ratio": 2.5, "cond_dim": 24, "cond_pooled": True,
         "attention": ["neighborhood 5x3", "block 4", "grid 2", "axial_h", "neighborhood 3x3 dilation 2", "axial_w"]},
        {"seed": 12, "t": [999.0, 250.0], "L": 7, "mask": [[1, 1, 1, 1, 1, 0, 0], [1] * 7],
         "samples": [("dpmpp2m", "dpmpp2m", 3.0, 0.0, 0.0, 777, None),
                     ("sdedit_dpmpp2m", "dpmpp2m", 3.0, 0.0, 0.0, 778, None, 0.6)]}),  # img2img, 2 of 4 steps
    # a clip (Latte): spatial and temporal blocks, 3D and causal neighborhoods (one
    # dilated in time), a 2D neighborhood (stays in its frame), full over the clip;
    # cross-attention with a non-contiguous mask; velocity prediction
    "vid_temporal": (
        {"arch": "dit", "in_channels": 4, "input_size": [8, 8], "frames": 4, "patch_size": 2, "hidden_size": 32,
         "depth": 7, "num_heads": 2, "cond_dim": 16, "prediction": "v", "timestep_scale": 1000,
         "attention": ["spatial", "temporal", "neighborhood 3x3x3", "neighborhood 3x3x3 causal", "neighborhood 3x3",
                       "neighborhood 2x3x3 dilation 2x1x1 causal", "full"]},
        {"seed": 13, "t": [287.5, 850.0], "L": 5, "mask": [[1, 0, 1, 1, 0], [1] * 5],
         "samples": [("euler_shift3", "euler", 2.0, 0.0, 3.0, 2024, None),
                     ("sdedit_euler", "euler", 2.0, 0.0, 3.0, 2025, None, 0.75)]}),  # vid2vid, 3 of 4 steps
    # a clip model run on fewer frames than it has (1 <= T <= frames; T = 1 is an
    # image): the frame embedding's rows [0, T), temporal attention over T frames.
    # The trained default model's block kinds (tools/train/config.json), pooled
    # conditioning, velocity prediction; forwards at T = 1 and 2, samples at 1 and 3.
    "vid_fewer_frames": (
        {"arch": "dit", "in_channels": 3, "input_size": [8, 8], "frames": 4, "patch_size": 2, "hidden_size": 32,
         "depth": 4, "num_heads": 2, "cond_dim": 16, "cond_pooled": True, "prediction": "v", "timestep_scale": 1000,
         "attention": ["neighborhood 3x3", "spatial", "temporal", "full"]},
        {"seed": 15, "t": [412.0, 905.5], "L": 6, "mask": [[1, 1, 1, 0, 0, 0], [1] * 6], "short": [1, 2],
         "samples": [("euler_T1", "euler", 3.0, 0.0, 0.0, 31, None, 1.0, 1),
                     ("sdedit_euler_T3", "euler", 2.0, 0.0, 2.0, 32, None, 0.5, 3),
                     # a negative prompt: 8 tokens (longer than the prompt's 6), the last 3 masked out
                     ("euler_negative", "euler", 3.0, 0.0, 0.0, 33, None, 1.0, 2, 8)]}),
    # rectified flow with classes on a non-square input; full and local blocks
    "img_rf_full": (
        {"arch": "dit", "in_channels": 3, "input_size": [12, 16], "patch_size": 2, "hidden_size": 48, "depth": 2,
         "num_heads": 3, "num_classes": 5, "prediction": "v", "flow_shift": 2.5,
         "attention": ["full", "neighborhood 3x3"]},
        {"seed": 14, "t": [640.0, 31.25], "y": [2, 5],  # 5 = the null class
         "samples": [("euler_nocfg", "euler", 1.0, 0.0, 1.0, 5, [4, 0]),
                     ("euler_cfg_modelshift", "euler", 1.5, 0.0, 0.0, 6, [1, 3])]}),  # shift 0: flow_shift 2.5
}


def init_std(name, t):
    """Every tensor random (DiT zero-initialises adaLN and the final layer, which would
    make the test trivial): weights N(0, 1/fan_in) clamped to std 0.02..0.5, biases
    0.05, the class table and null token 0.5. Activations stay O(1) block after block."""
    if "embedding_table" in name or name == "cond_embedder.null":
        return 0.5
    if t.dim() == 1:
        return 0.05
    fan_in = t[0].numel()
    return min(0.5, max(0.02, fan_in ** -0.5))


def randomise(model, seed):
    """Weights from vt_rng: tensor number i of the file's order draws normal(seed, stream i)."""
    tensors = {}
    for i, (name, t) in enumerate(model.file_tensors().items()):
        if name in ("pos_embed", "temp_embed"):
            tensors[name] = t
        else:
            tensors[name] = vt_rng.normal(seed, i, 0, t.numel()).reshape(t.shape) * init_std(name, t)
    model.load_file_tensors(tensors)


def inputs(cfg, par, stream, y):
    """y / cond / cond_mask for one run (F32 tensors as the fixtures store them)."""
    out = {}
    if cfg.get("num_classes"):
        out["y"] = torch.tensor(y, dtype=torch.float32)
    if cfg.get("cond_dim"):
        L = par["L"]
        # masked positions hold random values too: masking must remove them
        out["cond"] = vt_rng.normal(par["seed"], stream, 0, B * L * cfg["cond_dim"]).reshape(B, L, cfg["cond_dim"])
        out["cond_mask"] = torch.tensor(par["mask"], dtype=torch.float32)
    return out


def fmt(v):
    return "%.9g" % v


def build(out_dir, dtype=torch.float64, log=None):
    """Writes every fixture into out_dir; returns {config: (model, forward out)}."""
    made = {}
    for name, (cfg, par) in CONFIGS.items():
        d = os.path.join(out_dir, name)
        os.makedirs(d, exist_ok=True)
        model = DiT(cfg, dtype=dtype)
        randomise(model, par["seed"])
        st_io.save(os.path.join(d, "model.safetensors"), model.file_tensors(with_pos_embed=par.get("pos_embed", False)),
                   {"config": json.dumps(cfg, separators=(",", ":")), "name": "conformance/" + name,
                    "weights": "random, tools/reference/make_fixtures.py"})
        H, W = cfg["input_size"]
        C, T = cfg["in_channels"], cfg.get("frames", 0)
        shape = (B, C, T, H, W) if T else (B, C, H, W)
        n = 1
        for v in shape:
            n *= v
        fin = {"x": vt_rng.normal(par["seed"], 100, 0, n).reshape(shape), "t": torch.tensor(par["t"]),
               **inputs(cfg, par, 101, par.get("y"))}
        out = model(fin["x"], fin["t"], y=fin.get("y"), cond=fin.get("cond"), cond_mask=fin.get("cond_mask")).float()
        st_io.save(os.path.join(d, "forward_in.safetensors"), fin)
        st_io.save(os.path.join(d, "forward_out.safetensors"), {"out": out})
        if log:
            log("%-16s forward: out %s, max |out| %.3f" % (name, tuple(out.shape), out.abs().max().item()))
        for Ts in par.get("short", []):  # a clip model on Ts < T frames
            sshape = (B, C, Ts, H, W)
            xs = vt_rng.normal(par["seed"], 110 + Ts, 0, B * C * Ts * H * W).reshape(sshape)
            fs = dict(fin, x=xs)
            outs = model(xs, fs["t"], y=fs.get("y"), cond=fs.get("cond"), cond_mask=fs.get("cond_mask")).float()
            st_io.save(os.path.join(d, "forward_in_T%d.safetensors" % Ts), fs)
            st_io.save(os.path.join(d, "forward_out_T%d.safetensors" % Ts), {"out": outs})
            if log:
                log("%-16s forward T=%d: out %s, max |out| %.3f" % (name, Ts, tuple(outs.shape), outs.abs().max().item()))
        for k, spec in enumerate(par["samples"]):
            sname, sampler, scale, eta, shift, seed, y = spec[:7]
            strength = spec[7] if len(spec) > 7 else 1.0  # < 1: SDEdit from a reference x_ref
            frames = spec[8] if len(spec) > 8 else None  # a clip model sampled at fewer frames
            sin = inputs(cfg, par, 102 + k, y)
            if len(spec) > 9:  # the unconditional branch's tokens (a negative prompt), Lu of them
                Lu = spec[9]
                sin["uncond"] = vt_rng.normal(par["seed"], 200 + k, 0, B * Lu * cfg["cond_dim"]).reshape(B, Lu, -1)
                sin["uncond_mask"] = torch.tensor([[1.0] * (Lu - 3) + [0.0] * 3] * B)
            if strength < 1.0:
                sshape = (B, C, frames, H, W) if frames else shape
                ns = 1
                for v in sshape:
                    ns *= v
                sin["x_ref"] = (0.5 * vt_rng.normal(par["seed"], 300 + k, 0, ns)).reshape(sshape)
            res = sample(model, sampler, 4, scale, seed, B, y=sin.get("y"), cond=sin.get("cond"),
                         cond_mask=sin.get("cond_mask"), eta=eta, shift=shift, x_ref=sin.get("x_ref"),
                         strength=strength, frames=frames, uncond=sin.get("uncond"), uncond_mask=sin.get("uncond_mask"))
            meta = {"sampler": sampler, "steps": "4", "cfg": fmt(scale), "seed": str(seed), "eta": fmt(eta),
                    "shift": fmt(shift), "batch": str(B)}
            if strength < 1.0:
                meta["strength"] = fmt(strength)
            if frames:
                meta["frames"] = str(frames)
            st_io.save(os.path.join(d, "sample_%s.safetensors" % sname), {"out": res["out"], "noise": res["noise"], **sin},
                       meta)
            if log:
                log("%-16s sample_%s: max |x0| %.3f" % (name, sname, res["out"].abs().max().item()))
        made[name] = (model, fin, out)
    return made


# ---- self-checks ----


def check_masks():
    """NATTEN windows on known cases, and for every pattern on several grids: the
    number of keys each query sees, that it sees itself, no look-ahead when causal,
    symmetry where the definition is symmetric."""
    known = [((0, 8, 3, 1), [0, 1, 2]), ((7, 8, 3, 1), [5, 6, 7]), ((4, 8, 3, 1), [3, 4, 5]),
             ((4, 8, 4, 1), [2, 3, 4, 5]), ((1, 8, 3, 2), [1, 3, 5]), ((7, 8, 3, 2), [3, 5, 7]),
             ((6, 8, 3, 2), [2, 4, 6]), ((2, 9, 3, 2), [0, 2, 4]), ((8, 9, 3, 2), [4, 6, 8]), ((7, 9, 3, 2), [3, 5, 7])]
    for args, want in known:
        assert natten_window(*args) == want, (args, natten_window(*args), want)
    assert causal_window(3, 3, 1) == [3, 2, 1] and causal_window(1, 3, 1) == [1, 0] and causal_window(3, 2, 2) == [3, 1]

    cases = [
        ("full", (1, 4, 4)), ("full", (3, 2, 4)), ("spatial", (3, 4, 4)), ("temporal", (4, 3, 2)),
        ("axial_h", (2, 4, 6)), ("axial_w", (2, 4, 6)), ("block 4", (1, 8, 8)), ("block 2", (2, 4, 6)),
        ("grid 2", (1, 8, 8)), ("grid 3", (2, 6, 9)),
        ("neighborhood 3x3", (1, 8, 8)), ("neighborhood 5x3", (1, 8, 8)), ("neighborhood 3x3", (3, 4, 5)),
        ("neighborhood 4x4", (1, 7, 9)), ("neighborhood 5x5", (1, 7, 9)), ("neighborhood 3x3 dilation 2", (1, 8, 8)),
        ("neighborhood 3x3 dilation 2", (1, 9, 7)), ("neighborhood 2x3 dilation 3x2", (1, 7, 8)),
        ("neighborhood 3x3x3", (4, 4, 4)), ("neighborhood 3x3x3 causal", (4, 4, 4)),
        ("neighborhood 2x3x3 dilation 2x1x1 causal", (4, 4, 4)), ("neighborhood 2x3x3 dilation 2x1x1", (5, 4, 4)),
        ("neighborhood 3x3x3 causal", (5, 3, 3)), ("neighborhood 1x3x3", (2, 3, 3)),
    ]
    for s, (T, h, w) in cases:
        p = parse_pattern(s)
        m = allowed_mask(p, T, h, w)
        N = T * h * w
        cnt = m.sum(1)
        assert bool(m.diagonal().all()), "%s: a query does not see itself" % s
        kind = p["kind"]
        if kind == "neighborhood":
            kt, kh, kw = p["kernel"]
            if p["causal"]:
                for q in range(N):
                    t = q // (h * w)
                    want = len(causal_window(t, kt, p["dilation"][0])) * kh * kw
                    assert cnt[q] == want, "%s on %s: query %d sees %d keys, not %d" % (s, (T, h, w), q, cnt[q], want)
                    assert not m[q, (t + 1) * h * w:].any(), "%s: query %d sees a later frame" % (s, q)
            else:
                assert bool((cnt == kt * kh * kw).all()), "%s on %s: not every query sees %d keys" % (s, (T, h, w),
                                                                                                    kt * kh * kw)
            continue
        want = {"full": N, "spatial": h * w, "temporal": T, "axial_h": h, "axial_w": w}.get(kind)
        if kind in ("block", "grid"):
            want = p["window"] ** 2
        assert bool((cnt == want).all()), "%s on %s: key counts %s, not %d" % (s, (T, h, w), cnt.unique().tolist(), want)
        assert bool((m == m.T).all()), "%s: not symmetric" % s
    for s, grid in [("neighborhood 5x5 dilation 2", (1, 8, 8)), ("neighborhood 3x3x3", (1, 4, 4)), ("block 3", (1, 8, 8))]:
        try:
            allowed_mask(parse_pattern(s), *grid)
        except ValueError:
            continue
        raise AssertionError("%s on %s should be refused" % (s, grid))


def check_padded_null(made):
    """The unconditional branch pads the null token with masked-out zeros to the batch's
    L; that must equal running it as a one-token sequence."""
    for name, (model, fin, _) in made.items():
        if not model.cfg["cond_dim"]:
            continue
        x, t = fin["x"], fin["t"]
        L = fin["cond"].shape[1]
        null = model.cond_embedder.null.detach().float()
        one = model(x, t, cond=null.expand(B, 1, -1).contiguous(), cond_mask=torch.ones(B, 1))
        pad = torch.zeros(B, L, null.shape[1])
        pad[:, 0] = null[0]
        junk = pad.clone()
        junk[:, 1:] = 7.0
        mask = torch.zeros(B, L)
        mask[:, 0] = 1
        for c in (pad, junk):
            two = model(x, t, cond=c, cond_mask=mask)
            err = (one - two).abs().max().item()
            assert err < 1e-9, "%s: padded null token differs from a one-token sequence by %g" % (name, err)


def check_files(out_dir, made):
    """Every file reads back (with this reader) to what was computed; models reload."""
    for name, (model, fin, out) in made.items():
        d = os.path.join(out_dir, name)
        m2 = DiT.from_file(os.path.join(d, "model.safetensors"), dtype=model.dtype)
        for (k, a), (k2, b) in zip(model.state_dict().items(), m2.state_dict().items()):
            assert k == k2 and torch.equal(a, b), "%s: %s does not reload" % (name, k)
        tin, _ = st_io.load(os.path.join(d, "forward_in.safetensors"))
        assert set(tin) == set(fin) and all(torch.equal(tin[k], fin[k]) for k in fin)
        tout, _ = st_io.load(os.path.join(d, "forward_out.safetensors"))
        assert torch.equal(tout["out"], out)
        for f in sorted(os.listdir(d)):
            if f.startswith("sample_"):
                tensors, meta = st_io.load(os.path.join(d, f))
                again = sample_from_fixture(model, tensors, meta)
                assert torch.equal(again["out"], tensors["out"]), "%s/%s: re-running gives other bytes" % (name, f)
                noise = vt_rng.normal(int(meta["seed"]), 0, 0, tensors["noise"].numel()).reshape(tensors["noise"].shape)
                assert torch.equal(noise, tensors["noise"])


def report_f32(out_dir, made, log):
    """How far the same runs are with the model in float32 (DiT's precision): a
    measure of what tolerance the float32 engine needs."""
    for name, (model, fin, out) in made.items():
        m32 = DiT(model.cfg, dtype=torch.float32)
        m32.load_file_tensors(model.file_tensors())
        o32 = m32(fin["x"], fin["t"], y=fin.get("y"), cond=fin.get("cond"), cond_mask=fin.get("cond_mask"))
        e = (o32.double() - out.double()).abs().max().item() / out.abs().max().item()
        assert e < 1e-5, "%s: float32 and float64 forwards differ by %.3e" % (name, e)
        d = os.path.join(out_dir, name)
        worst = 0.0
        for f in sorted(os.listdir(d)):
            if f.startswith("sample_"):
                tensors, meta = st_io.load(os.path.join(d, f))
                r = sample_from_fixture(m32, tensors, meta)["out"]
                worst = max(worst, (r.double() - tensors["out"].double()).abs().max().item()
                            / tensors["out"].abs().max().item())
        log("%-16s float32 model vs fixture: forward rel err %.2e, samples %.2e" % (name, e, worst))


def check_discriminative(made, log):
    """The forward fixtures would catch an engine that got a block's pattern, the
    conditioning mask, the label or an embedding wrong: each such change moves the
    output by far more than the C test's tolerance."""
    def rel(a, b):
        return (a.double() - b.double()).abs().max().item() / b.abs().max().item()

    def run(model, fin, **kw):
        args = dict(y=fin.get("y"), cond=fin.get("cond"), cond_mask=fin.get("cond_mask"))
        args.update(kw)
        return model(fin["x"], fin["t"], **args)

    least = float("inf")
    for name, (model, fin, out) in made.items():
        changes = []
        for i, s in enumerate(model.cfg["attention"]):
            alt = "spatial" if s == "full" and model.T else ("full" if s != "full" else None)
            if alt is None:
                continue
            cfg = dict(model.cfg)
            cfg["attention"] = list(cfg["attention"])
            cfg["attention"][i] = alt
            m2 = DiT({k: v for k, v in cfg.items() if k not in ("mlp_hidden", "out_channels")}, dtype=model.dtype)
            m2.load_file_tensors(model.file_tensors())
            changes.append(("block %d '%s' -> '%s'" % (i, s, alt), run(m2, fin)))
        if "cond_mask" in fin:
            changes.append(("cond_mask ignored", run(model, fin, cond_mask=None)))
        if "y" in fin:
            changes.append(("other labels", run(model, fin, y=(fin["y"] + 1) % model.cfg["num_classes"])))
        for Ts in CONFIGS[name][1].get("short", []):
            # a clip of Ts frames must take the frame embedding's first Ts rows, not its last
            xs = vt_rng.normal(CONFIGS[name][1]["seed"], 110 + Ts, 0, fin["x"][:, :, :Ts].numel()).reshape(
                fin["x"][:, :, :Ts].shape)
            want = run(model, dict(fin, x=xs))
            with torch.no_grad():
                keep = model.temp_embed.clone()
                model.temp_embed.copy_(torch.roll(keep, -Ts, dims=1))
                got = run(model, dict(fin, x=xs))
                model.temp_embed.copy_(keep)
            e = rel(got, want)
            least = min(least, e)
            assert e > 1e-3, "%s: frame embedding rows moved for T=%d move the forward by only %.2e" % (name, Ts, e)
        with torch.no_grad():
            for buf in ("pos_embed", "temp_embed"):
                if hasattr(model, buf):
                    keep = getattr(model, buf).clone()
                    getattr(model, buf).zero_()
                    changes.append((buf + " left out", run(model, fin)))
                    getattr(model, buf).copy_(keep)
        for what, o in changes:
            e = rel(o, out)
            least = min(least, e)
            assert e > 1e-3, "%s: %s moves the forward by only %.2e" % (name, what, e)
    log("discriminative: every pattern / mask / label / embedding change moves a forward by >= %.1e" % least)


def files_equal(a, b):
    bad = []
    for root, _, files in os.walk(a):
        for f in files:
            pa = os.path.join(root, f)
            pb = os.path.join(b, os.path.relpath(pa, a))
            if not os.path.exists(pb) or open(pa, "rb").read() != open(pb, "rb").read():
                bad.append(os.path.relpath(pa, a))
    for root, _, files in os.walk(b):
        for f in files:
            if not os.path.exists(os.path.join(a, os.path.relpath(os.path.join(root, f), b))):
                bad.append(os.path.relpath(os.path.join(root, f), b))
    return sorted(bad)


def compare_numeric(new_dir, old_dir, log):
    """For --check on another PyTorch: the largest relative difference per file."""
    worst = 0.0
    for root, _, files in os.walk(new_dir):
        for f in sorted(files):
            rel = os.path.relpath(os.path.join(root, f), new_dir)
            po = os.path.join(old_dir, rel)
            if not os.path.exists(po):
                log("%s: missing in %s" % (rel, old_dir))
                worst = float("inf")
                continue
            a, ma = st_io.load(os.path.join(root, f), dtype=torch.float64)
            b, mb = st_io.load(po, dtype=torch.float64)
            if set(a) != set(b) or ma != mb:
                log("%s: different tensors or metadata" % rel)
                worst = float("inf")
                continue
            e = max(((a[k] - b[k]).abs().max() / b[k].abs().max().clamp(min=1e-30)).item() if a[k].numel() else 0.0
                    for k in a)
            worst = max(worst, e)
            if e:
                log("%s: max rel diff %.3e" % (rel, e))
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="fixture folder (default tests/data/conformance)")
    ap.add_argument("--check", action="store_true", help="regenerate in a temporary folder and compare with --out")
    args = ap.parse_args()
    torch.set_num_threads(1)
    log = lambda s: print(s, file=sys.stderr)  # noqa: E731
    vt_rng.self_test()
    check_masks()
    log("self-checks: vt_rng known answer, attention masks: ok")
    tmp = tempfile.mkdtemp(prefix="vt-fixtures-")
    try:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        made = build(a, log=log)
        build(b)
        bad = files_equal(a, b)
        assert not bad, "not deterministic: %s" % bad
        log("deterministic: two builds gave the same bytes")
        check_files(a, made)
        check_padded_null(made)
        report_f32(a, made, log)
        check_discriminative(made, log)
        log("self-checks: files read back, samples re-run, padded null token: ok")
        if args.check:
            bad = files_equal(a, args.out)
            if not bad:
                log("--check: %s holds exactly these bytes" % args.out)
                return 0
            log("--check: %d files differ in bytes: %s" % (len(bad), " ".join(bad)))
            worst = compare_numeric(a, args.out, log)
            log("--check: worst relative difference %.3e" % worst)
            return 0 if worst <= 1e-6 else 1
        for name in CONFIGS:
            dst = os.path.join(args.out, name)
            if os.path.isdir(dst):
                shutil.rmtree(dst)
            shutil.copytree(os.path.join(a, name), dst)
        total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(args.out) for f in fs)
        log("wrote %s (%d bytes)" % (args.out, total))
        assert total < 3 << 20, "fixtures exceed 3 MB"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
