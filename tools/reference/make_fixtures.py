#!/usr/bin/env python3
"""Regenerates tests/data/conformance/: small random-weight DiT models of several
configs, forward inputs and outputs, and 4-step sampling runs, all computed by the
reference in this folder. The C engine must reproduce them (tests/test_dit.c).
Deterministic: fixed torch seeds, and vitrail's own RNG for sampling noise.

    /usr/bin/python3 tools/reference/make_fixtures.py [OUT_DIR]
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402
from dit_ref import DiT  # noqa: E402
from samplers import sample  # noqa: E402

CONFIGS = {
    # class labels, learned sigma, full attention, eps prediction
    "img_class_sigma": {
        "arch": "dit", "in_channels": 4, "input_size": [8, 8], "patch_size": 2, "hidden_size": 32,
        "depth": 2, "num_heads": 2, "num_classes": 10, "learn_sigma": True,
    },
    # local, block, grid and axial blocks with pooled cross-attention conditioning
    "img_local_cross": {
        "arch": "dit", "in_channels": 3, "input_size": [16, 16], "patch_size": 2, "hidden_size": 32,
        "depth": 6, "num_heads": 4, "cond_dim": 24, "cond_pooled": True,
        "attention": ["neighborhood 3x3", "block 4", "grid 2", "axial_h", "neighborhood 3x3 dilation 2", "axial_w"],
    },
    # a clip: spatial/temporal blocks (Latte), 3D and causal neighborhoods, velocity model
    "vid_temporal": {
        "arch": "dit", "in_channels": 3, "input_size": [8, 8], "frames": 4, "patch_size": 2, "hidden_size": 32,
        "depth": 4, "num_heads": 2, "cond_dim": 16, "prediction": "v", "timestep_scale": 1000,
        "attention": ["spatial", "temporal", "neighborhood 3x3x3", "neighborhood 3x3x3 causal"],
    },
    # rectified flow with classes
    "img_rf_full": {
        "arch": "dit", "in_channels": 3, "input_size": [12, 12], "patch_size": 2, "hidden_size": 48,
        "depth": 2, "num_heads": 3, "num_classes": 5, "prediction": "v", "flow_shift": 3.0,
        "attention": ["full", "neighborhood 3x3"],
    },
}

SAMPLES = {
    "img_class_sigma": [("ddim_eta0", "ddim", 4.0, 0.0, 0.0), ("ddim_eta05", "ddim", 1.5, 0.5, 0.0)],
    "img_local_cross": [("dpmpp2m", "dpmpp2m", 3.0, 0.0, 0.0)],
    "vid_temporal": [("euler_shift3", "euler", 2.0, 0.0, 3.0)],
    "img_rf_full": [("euler_nocfg", "euler", 1.0, 0.0, 0.0)],
}


def randomise(model, gen):
    """Every parameter random (DiT zero-initialises adaLN and the final layer, which
    would make a conformance test trivially pass): normal / sqrt(fan-in)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            fan_in = p[0].numel() if p.dim() > 1 else 1
            std = 0.05 if p.dim() == 1 else 1.0 / fan_in ** 0.5
            if "embedding_table" in name or name.endswith("null"):
                std = 1.0
            p.copy_(torch.randn(p.shape, generator=gen) * std)


def cond_inputs(cfg, B, gen, full_lengths=False):
    ci = {}
    if cfg.get("num_classes"):
        ci["y"] = torch.tensor([1, cfg["num_classes"]][:B] if B == 2 else [1] * B, dtype=torch.long)
        ci["y"] = torch.randint(0, cfg["num_classes"], (B,), generator=gen)
    if cfg.get("cond_dim"):
        L = 7
        ci["cond"] = torch.randn(B, L, cfg["cond_dim"], generator=gen)
        m = torch.ones(B, L)
        if not full_lengths:
            m[0, 5:] = 0  # 5 of 7 tokens present in the first item, all 7 in the second
        ci["cond_mask"] = m
    return ci


def as_file(ci):
    out = {}
    for k, v in ci.items():
        out[k] = v.float()  # labels travel as F32 (docs/model-format.md)
    return out


def build(out_dir):
    for ci_, (name, cfg) in enumerate(CONFIGS.items()):
        d = os.path.join(out_dir, name)
        os.makedirs(d, exist_ok=True)
        gen = torch.Generator().manual_seed(1000 + ci_)
        model = DiT(cfg)
        randomise(model, gen)
        model.eval()
        st_io.save(os.path.join(d, "model.safetensors"), model.state_for_file(),
                   {"config": json.dumps(cfg), "weights": "random (tools/reference/make_fixtures.py)"})
        B, C, (H, W) = 2, cfg.get("in_channels", 4), cfg["input_size"]
        T = cfg.get("frames", 0)
        shape = (B, C, T, H, W) if T else (B, C, H, W)
        x = torch.randn(shape, generator=gen)
        if cfg.get("prediction") == "v":
            t = torch.tensor([0.3 * cfg.get("timestep_scale", 1000), 0.85 * cfg.get("timestep_scale", 1000)])
        else:
            t = torch.tensor([17.0, 803.0])
        ci = cond_inputs(cfg, B, gen)
        with torch.no_grad():
            out = model(x, t, **ci)
        st_io.save(os.path.join(d, "forward_in.safetensors"), {"x": x, "t": t, **as_file(ci)})
        st_io.save(os.path.join(d, "forward_out.safetensors"), {"out": out})
        for sname, sampler, scale, eta, shift in SAMPLES[name]:
            sci = cond_inputs(cfg, B, gen)
            seed = 42 + len(sname)
            res = sample(model, shape, sampler, 4, scale, seed, eta=eta, shift=shift, cond_inputs=sci)
            meta = {"sampler": sampler, "steps": "4", "cfg": repr(scale), "seed": str(seed), "eta": repr(eta),
                    "shift": repr(shift), "batch": str(B)}
            st_io.save(os.path.join(d, f"sample_{sname}.safetensors"), {"out": res, **as_file(sci)}, meta)
        print(f"{name}: out range {out.abs().max().item():.3f}", file=sys.stderr)


def check_masks():
    """Every neighborhood query sees exactly prod(k) keys (NATTEN's rule)."""
    from dit_ref import allowed_mask, parse_pattern

    for pat, (T, H, W), k in [("neighborhood 3x3", (1, 8, 8), 9), ("neighborhood 3x3 dilation 2", (1, 8, 8), 9),
                              ("neighborhood 3x3x3", (4, 4, 4), 27), ("neighborhood 5x5", (1, 7, 9), 25)]:
        m = allowed_mask(parse_pattern(pat), T, H, W)
        assert (m.sum(1) == k).all(), pat


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "tests", "data", "conformance")
    torch.set_num_threads(1)  # bit-identical across runs
    check_masks()
    build(out_dir)
