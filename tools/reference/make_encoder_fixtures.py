#!/usr/bin/env python3
"""Regenerates tests/data/encoders/: a random-weight model holding all three
encoders (text, ViT, cross-modal) and a small vocabulary, inputs, and the
outputs of the PyTorch reference (encoders_ref.py); tests/test_encoders.c checks
the C encoders against them.

    /usr/bin/python3 tools/reference/make_encoder_fixtures.py            # write
    /usr/bin/python3 tools/reference/make_encoder_fixtures.py --check    # compare with the committed ones
    /usr/bin/python3 tools/reference/make_encoder_fixtures.py --out DIR  # write elsewhere

Deterministic: weights and inputs come from vitrail's Philox generator
(vt_rng.py), the reference runs in float64 and the results are stored as F32.

Files:
  model.safetensors  F32 weights; __metadata__ "config" (the three sections) and
                     "vocab" (JSON array, index = id)
  io.safetensors     prompt_ids (P, max_len) and prompt_mask, prompt_trunc (P) for
                     the prompts in __metadata__["prompts"] (a JSON array);
                     ids (B, L), mask (B, L) -> text_out (B, L, Dt);
                     images (B, 3, S, S) -> image_out (B, 1+N, Di);
                     (image_out, text_out, mask) -> fused (B, 1+N, Di), map (B, 1+N)
"""
import argparse
import filecmp
import json
import os
import sys
import tempfile

import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)

import encoders_ref as ref  # noqa: E402
import st_io  # noqa: E402
import vt_rng  # noqa: E402

DEFAULT_OUT = os.path.normpath(os.path.join(_HERE, "..", "..", "tests", "data", "encoders"))

VOCAB = ref.SPECIAL + ["a", "red", "blue", "green", "circle", "square", "triangle", "small", "big", "on", "the",
                       "left", "right", "of", "moving", "up", "2", "and"]
CONFIG = {
    "text_encoder": {"vocab": len(VOCAB), "max_len": 8, "hidden": 32, "depth": 2, "heads": 4, "mlp_ratio": 2},
    "image_encoder": {"image_size": 16, "patch": 4, "hidden": 32, "depth": 2, "heads": 2, "mlp_ratio": 2},
    "cross_modal": {"depth": 2, "heads": 2, "mlp_ratio": 2},
}
PROMPTS = ["A red circle", "a BIG blue square, on the left of 2 green triangles!", "purple  hexagon", "Red-circle.",
           "a b c d e f g h i", "small\tgreen\ncircle"]
BATCH_PROMPTS = ["a red circle on the left", "big square"]  # the text encoder's batch (one padded)


def weights(seed=21):
    W = {}
    for i, (name, shape) in enumerate(ref.encoder_tensor_shapes(CONFIG).items()):
        n = 1
        for s in shape:
            n *= s
        z = vt_rng.normal(seed, i, 0, n).double().reshape(shape)
        leaf = name.rsplit(".", 1)[-1]
        if "norm" in name.split(".")[-2] and leaf in ("weight", "bias") and len(shape) == 1:
            # LayerNorm affine near identity, perturbed so a missing affine is caught
            W[name] = (1.0 + 0.2 * z) if leaf == "weight" else 0.1 * z
        elif leaf == "bias":
            W[name] = 0.05 * z
        elif name.endswith(("token_embedding.weight", "pos_embed", "cls_token")):
            W[name] = 0.7 * z
        else:
            fan_in = n // shape[0]
            W[name] = z / fan_in ** 0.5
    return W


def build():
    W = weights()
    L = CONFIG["text_encoder"]["max_len"]
    pids, pmask, ptrunc = [], [], []
    for p in PROMPTS:
        i, m, t = ref.tokenize(p, VOCAB, L)
        pids.append(i)
        pmask.append(m)
        ptrunc.append(float(t))
    ids, mask = zip(*[ref.tokenize(p, VOCAB, L)[:2] for p in BATCH_PROMPTS])
    ids = torch.tensor(ids, dtype=torch.long)
    mask = torch.tensor(mask, dtype=torch.float64)
    S = CONFIG["image_encoder"]["image_size"]
    images = (0.5 * vt_rng.normal(22, 0, 0, 2 * 3 * S * S).double()).clamp(-1, 1).reshape(2, 3, S, S)
    with torch.no_grad():
        text_out = ref.text_encoder(W, CONFIG, ids, mask)
        image_out = ref.vit(W, CONFIG, images)
        fused, amap = ref.cross_modal(W, CONFIG, image_out, text_out, mask)
    # self-checks: the map is a distribution per item; the masked text positions
    # really are ignored (changing a padded id changes no present token's output)
    assert torch.allclose(amap.sum(1), torch.ones(2, dtype=torch.float64))
    ids2 = ids.clone()
    ids2[1, -1] = 5
    t2 = ref.text_encoder(W, CONFIG, ids2, mask)
    assert torch.allclose(t2[1, :4], text_out[1, :4]) and not torch.allclose(t2[1, -1], text_out[1, -1])
    f32 = lambda t: t.to(torch.float32).contiguous()  # noqa: E731
    model = {k: f32(v) for k, v in W.items()}
    meta = {"config": json.dumps(CONFIG), "vocab": json.dumps(VOCAB)}
    io = {
        "prompt_ids": torch.tensor(pids, dtype=torch.float32), "prompt_mask": torch.tensor(pmask, dtype=torch.float32),
        "prompt_trunc": torch.tensor(ptrunc, dtype=torch.float32),
        "ids": f32(ids.double()), "mask": f32(mask), "text_out": f32(text_out),
        "images": f32(images), "image_out": f32(image_out), "fused": f32(fused), "map": f32(amap),
    }
    return (model, meta), (io, {"prompts": json.dumps(PROMPTS)})


def write(out):
    os.makedirs(out, exist_ok=True)
    (model, mmeta), (io, iometa) = build()
    st_io.save(os.path.join(out, "model.safetensors"), model, mmeta)
    st_io.save(os.path.join(out, "io.safetensors"), io, iometa)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="rebuild into a temporary folder and compare bytes")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.check:
        with tempfile.TemporaryDirectory() as d:
            write(d)
            bad = [f for f in ("model.safetensors", "io.safetensors")
                   if not filecmp.cmp(os.path.join(d, f), os.path.join(a.out, f), shallow=False)]
            if bad:
                sys.exit("differs from the committed fixtures: %s" % ", ".join(bad))
            print("encoder fixtures up to date")
        return
    write(a.out)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
