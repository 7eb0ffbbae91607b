"""Conformance of an exported model: the C engine against the PyTorch chain, with
the file's own F16 weights (promoted to float64 here).

1. DiT forward (`vitrail forward`) on conditioning made by the PyTorch text
   encoder, ViT, cross-modal fusion and pruning, for an image (T = 1) and a clip
   (T = frames): max|C - ref| / max|ref| must be <= 1e-3.
2. End to end (`vitrail generate`, a few Euler steps with CFG): the text
   encoder, sampler and DiT together against tools/reference/samplers.py with the
   same Philox noise; the PNG must match the reference's quantised pixels to
   within 1 level on 99.9% of values (rounding of values that land near .5).

    python3 tools/train/check_export.py MODEL.safetensors [--vitrail build/cli/vitrail]
Exit status 0 when both hold."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
sys.path.insert(0, os.path.join(_HERE, "..", "reference"))
import dit_ref  # noqa: E402
import encoders_ref  # noqa: E402
import model  # noqa: E402
import samplers  # noqa: E402
import st_io  # noqa: E402


def load_png(path):
    """8-bit RGB PNG -> (H, W, 3) uint8 tensor, through the engine's own reader so no
    image library is needed here: `vitrail shapes` is not involved."""
    import zlib
    import struct
    b = open(path, "rb").read()
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(b):
        n, typ = struct.unpack(">I4s", b[pos:pos + 8])
        body = b[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype == 2, "expected 8-bit RGB"
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    out = torch.zeros(h, w * 3, dtype=torch.int64)
    prev = [0] * (w * 3)
    stride = w * 3
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = list(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - 3] if x >= 3 else 0
            up = prev[x]
            c = prev[x - 3] if x >= 3 else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + up) & 255
            elif f == 3:
                line[x] = (line[x] + (a + up) // 2) & 255
            elif f == 4:
                p = a + up - c
                pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else up if pb <= pc else c)) & 255
        out[y] = torch.tensor(line)
        prev = line
    return out.reshape(h, w, 3)


def main():
    a = argparse.ArgumentParser()
    a.add_argument("model")
    a.add_argument("--vitrail", default=os.path.join(_HERE, "..", "..", "build", "cli", "vitrail"))
    a.add_argument("--prompt", default="a large red circle in the top left on a white background")
    a.add_argument("--steps", type=int, default=4)
    args = a.parse_args()
    tensors, meta = st_io.load(args.model)
    cfg, vocab = json.loads(meta["config"]), json.loads(meta["vocab"])
    chain = model.Chain(cfg).double().eval()
    chain.load_file_tensors(tensors)
    dcfg = {k: v for k, v in cfg.items() if k not in ("text_encoder", "image_encoder", "cross_modal")}
    ref = dit_ref.DiT(dcfg, dtype=torch.float64)
    ref.load_file_tensors({k: v for k, v in tensors.items() if k in ref.state_dict()})
    L = cfg["text_encoder"]["max_len"]
    ids, mask, _ = encoders_ref.tokenize(args.prompt, vocab, L)
    ids, mask = torch.tensor([ids]), torch.tensor([mask], dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    S = cfg["input_size"][0]
    src = torch.rand(1, 3, S, S, generator=g, dtype=torch.float64) * 2 - 1
    worst = 0.0
    ok = True
    with torch.no_grad(), tempfile.TemporaryDirectory() as tmp:
        cond, cmask = chain.condition(ids, mask, src, torch.ones(1, dtype=torch.float64), 0.5)
        for T in sorted({1, max(1, cfg.get("frames", 0))}):
            x = torch.randn(1, 3, T, S, S, generator=g, dtype=torch.float64)
            t = torch.tensor([700.0], dtype=torch.float64)
            want = chain.dit(x, t, cond, cmask)
            fin, fout = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
            st_io.save(fin, {"x": x.float(), "t": t.float(), "cond": cond.float(), "cond_mask": cmask.float()})
            r = subprocess.run([args.vitrail, "forward", args.model, fin, "-o", fout], capture_output=True, text=True)
            if r.returncode:
                print("forward T=%d: vitrail failed: %s" % (T, r.stderr.strip()))
                ok = False
                continue
            got, _ = st_io.load(fout)
            e = float((got["out"].double().reshape(want.shape) - want).abs().max() / want.abs().max())
            print("forward T=%d (cond: %d text + %d image tokens): max rel err %.2e" % (T, L, cond.shape[1] - L, e))
            worst = max(worst, e)
        ok = ok and worst <= 1e-3
        # end to end, an image
        text = chain.text_encoder(ids, mask)
        png = os.path.join(tmp, "e2e.png")
        cmd = [args.vitrail, "generate", "-p", args.prompt, "--model", args.model, "-s", "7", "--steps", str(args.steps),
               "--cfg", "4", "-o", png]
        if cfg.get("frames"):
            cmd += ["--frames", "1"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            print("generate: vitrail failed: %s" % r.stderr.strip())
            return 1
        x = samplers.sample(ref, "euler", args.steps, 4.0, 7, 1, cond=text, cond_mask=mask,
                            **({"frames": 1} if "frames" in samplers.sample.__code__.co_varnames else {}))
        x = x["out"].reshape(3, S, S).double()
        want = ((x + 1) * 127.5).clamp(0, 255).add(0.5).floor().permute(1, 2, 0).long()
        gotp = load_png(png)
        d = (gotp - want).abs()
        frac = float((d <= 1).double().mean())
        print("generate %d steps: max |C - ref| %d levels, %.4f%% within 1 level" % (args.steps, int(d.max()), 100 * frac))
        ok = ok and frac >= 0.999
    print("conformance: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
