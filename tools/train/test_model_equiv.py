"""Checks that the trainer's modules compute what the references compute:
TrainDiT vs dit_ref.DiT (dense masks), the encoders vs encoders_ref, prune vs a
brute-force loop. Run: python3 tools/train/test_model_equiv.py"""
import json
import math
import os
import sys

import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.insert(0, os.path.join(_HERE, "..", "reference"))
import dit_ref  # noqa: E402
import encoders_ref  # noqa: E402
import model  # noqa: E402


def rel(a, b):
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


def main():
    torch.manual_seed(0)
    cfg = json.load(open(os.path.join(_HERE, "config.json")))
    cfg.update({"input_size": [16, 16], "hidden_size": 32, "num_heads": 2, "frames": 3, "cond_dim": 16})
    cfg["attention"] = ["neighborhood 3x3", "spatial", "temporal", "spatial", "neighborhood 3x3", "temporal", "spatial", "full"]
    cfg["text_encoder"].update(vocab=30, max_len=8, hidden=16, heads=2)
    cfg["image_encoder"].update(image_size=16, patch=4, hidden=16, heads=2)
    cfg["cross_modal"].update(heads=2)
    m = model.Chain(cfg).double()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p) * 0.2)
    ref = dit_ref.DiT({k: v for k, v in cfg.items() if k not in ("text_encoder", "image_encoder", "cross_modal")},
                      dtype=torch.float64)
    ref.load_file_tensors(m.dit.state_dict())
    B = 2
    x = torch.randn(B, 3, 3, 16, 16, dtype=torch.float64)
    t = torch.tensor([300.0, 900.0], dtype=torch.float64)
    cond = torch.randn(B, 5, 16, dtype=torch.float64)
    cm = torch.tensor([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], dtype=torch.float64)
    e = rel(m.dit(x, t, cond, cm), ref(x, t, cond=cond, cond_mask=cm))
    print("dit vs reference: %.2e" % e)
    assert e < 1e-12
    # fewer frames than the model has (T = 1: an image): the same semantics on both sides
    for T in (1, 2):
        xs = x[:, :, :T].contiguous()
        e = rel(m.dit(xs, t, cond, cm), ref(xs, t, cond=cond, cond_mask=cm))
        print("dit vs reference at T=%d: %.2e" % (T, e))
        assert e < 1e-12
    # encoders
    W = m.file_tensors(torch.float64)
    ids = torch.randint(0, 30, (B, 8))
    tm = torch.ones(B, 8, dtype=torch.float64)
    tm[1, 5:] = 0
    e1 = rel(m.text_encoder(ids, tm), encoders_ref.text_encoder(W, cfg, ids, tm))
    img = torch.randn(B, 3, 16, 16, dtype=torch.float64)
    e2 = rel(m.image_encoder(img), encoders_ref.vit(W, cfg, img))
    text = encoders_ref.text_encoder(W, cfg, ids, tm)
    vi = encoders_ref.vit(W, cfg, img)
    f1, a1 = m.cross_modal(vi, text, tm)
    f2, a2 = encoders_ref.cross_modal(W, cfg, vi, text, tm)
    e3, e4 = rel(f1, f2), rel(a1, a2)
    print("text %.2e vit %.2e cross %.2e map %.2e" % (e1, e2, e3, e4))
    assert max(e1, e2, e3) < 1e-12 and e4 < 1e-6
    # prune vs brute force
    tok = torch.randn(B, 17, 4, dtype=torch.float64)
    sc = torch.randint(0, 5, (B, 17)).double()  # many ties
    for r in (1.0, 0.5, 0.3, 0.25, 0.06):
        for merge in (False, True):
            got = model.prune(tok, sc, r, merge)
            k = max(1, math.ceil(r * 17 - 1e-6))
            for b in range(B):
                order = sorted(range(17), key=lambda i: (-sc[b, i].item(), i))
                kept = sorted(order[:k])
                exp = [tok[b, i].clone() for i in kept]
                if merge and k < 17:
                    groups = [[tok[b, i]] for i in kept]
                    for d in order[k:]:
                        sims = [float(torch.dot(tok[b, d], tok[b, i]) / (tok[b, d].norm() * tok[b, i].norm())) for i in kept]
                        j = max(range(k), key=lambda j: (sims[j], -j))
                        groups[j].append(tok[b, d])
                    exp = [torch.stack(g).mean(0) for g in groups]
                assert rel(got[b], torch.stack(exp)) < 1e-6, (r, merge, b)
    print("prune: ok")


if __name__ == "__main__":
    main()
