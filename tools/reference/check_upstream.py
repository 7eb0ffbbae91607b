#!/usr/bin/env python3
"""Cross-checks this reference against outside implementations, where they are
installed (not on Debian's python3-torch; e.g. on a machine with pip's torch):

  * the official `safetensors` library reads every fixture file to the same
    tensors and metadata as st_io.py;
  * facebookresearch/DiT's own models.py (needs `timm`), given its path, loads the
    img_class_sigma fixture model with strict=True and gives the forward_out of
    that fixture, and the same outputs as dit_ref.py in float32.

    python3 tools/reference/check_upstream.py [--dit PATH/TO/DiT/models.py]
"""
import argparse
import importlib.util
import json
import os
import sys

import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)

import st_io  # noqa: E402
from dit_ref import DiT as RefDiT  # noqa: E402

FIX = os.path.normpath(os.path.join(_HERE, "..", "..", "tests", "data", "conformance"))


def rel(a, b):
    return ((a.double() - b.double()).abs().max() / b.double().abs().max()).item()


def check_safetensors():
    try:
        from safetensors import safe_open
    except ImportError:
        print("safetensors: not installed, skipped")
        return
    n = 0
    for root, _, files in os.walk(FIX):
        for f in sorted(files):
            p = os.path.join(root, f)
            mine, meta = st_io.load(p)
            with safe_open(p, framework="pt") as sf:
                assert (sf.metadata() or {}) == meta, p
                assert set(sf.keys()) == set(mine), p
                for k in sf.keys():
                    assert torch.equal(sf.get_tensor(k), mine[k]), (p, k)
            n += 1
    print("safetensors: the official library reads all %d fixture files identically" % n)


def check_dit(path):
    spec = importlib.util.spec_from_file_location("dit_upstream_models", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    d = os.path.join(FIX, "img_class_sigma")
    tensors, meta = st_io.load(os.path.join(d, "model.safetensors"))
    cfg = json.loads(meta["config"])
    H, W = cfg["input_size"]
    assert H == W and not cfg.get("cond_dim") and not cfg.get("frames")
    up = mod.DiT(input_size=H, patch_size=cfg["patch_size"], in_channels=cfg["in_channels"],
                 hidden_size=cfg["hidden_size"], depth=cfg["depth"], num_heads=cfg["num_heads"],
                 mlp_ratio=cfg.get("mlp_ratio", 4.0), class_dropout_prob=0.1, num_classes=cfg["num_classes"],
                 learn_sigma=cfg.get("learn_sigma", False))
    up.load_state_dict(tensors, strict=True)  # every name and shape as DiT's state_dict
    up.eval()
    fin, _ = st_io.load(os.path.join(d, "forward_in.safetensors"))
    ref, _ = st_io.load(os.path.join(d, "forward_out.safetensors"))
    with torch.no_grad():
        o_up = up(fin["x"], fin["t"], fin["y"].long())
    mine = RefDiT.from_file(os.path.join(d, "model.safetensors"), dtype=torch.float32)
    o_me = mine(fin["x"], fin["t"], y=fin["y"])
    e1, e2 = rel(o_up, ref["out"]), rel(o_up, o_me)
    print("DiT models.py (float32) vs fixture (float64 reference): rel err %.2e" % e1)
    print("DiT models.py (float32) vs dit_ref.py float32:           rel err %.2e" % e2)
    assert e1 < 1e-5 and e2 < 1e-5


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dit", help="path to facebookresearch/DiT's models.py (needs timm)")
    args = ap.parse_args()
    print("torch", torch.__version__)
    check_safetensors()
    if args.dit:
        check_dit(args.dit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
