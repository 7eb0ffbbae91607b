"""Joins the EMA weight parts that train.py wrote into one vitrail model file
(safetensors, F16 weights, config + vocabulary + provenance in __metadata__).

    python3 tools/train/export.py PARTS_DIR OUT.safetensors [--eval TABLE.md]
                                  [--seen-before IMAGES CLIPS]

train.py counts the examples a run saw from its --init weights on; --seen-before
adds what those weights had already seen (their file's "training" metadata
says), so the metadata states the whole history.
"""
import argparse
import hashlib
import json
import os
import sys

import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "reference"))
import st_io  # noqa: E402


def main():
    a = argparse.ArgumentParser()
    a.add_argument("parts")
    a.add_argument("out")
    a.add_argument("--eval", help="a file whose text goes into the metadata as \"eval\"")
    a.add_argument("--name", default="vitrail-shapes-64")
    a.add_argument("--seen-before", nargs=2, type=int, default=[0, 0], metavar=("IMAGES", "CLIPS"),
                   help="images and clips the --init weights had seen before this run")
    args = a.parse_args()
    meta = json.load(open(os.path.join(args.parts, "meta.json")))
    tensors = {}
    for k in range(meta["parts"]):
        tensors.update(torch.load(os.path.join(args.parts, "ema_part%d.pt" % k), map_location="cpu"))
    tensors = {k: v.half().contiguous() for k, v in tensors.items()}
    cfg = meta["config"]
    tr = meta["args"]
    info = {
        "name": args.name,
        "config": json.dumps(cfg, separators=(",", ":")),
        "vocab": json.dumps(meta["vocab"], separators=(",", ":")),
        "weights": "trained: EMA (%.4g) weights, F16" % tr["ema"],
        "training_data": "vitrail shapes world (docs/shapes.md), examples drawn on the fly by vt_shapes_example, "
                         "held-out captions excluded; seed %d" % meta["seed"],
        "training": "rectified flow, logit-normal t, AdamW lr %g, warmup %d, image batch %d, clip batch %d every %d steps, "
                    "CFG dropout %g, bf16 autocast; %d steps, %d images and %d clips seen (tools/train, docs/training.md)"
                    % (tr["lr"], tr["warmup"], tr["image_batch"], tr["clip_batch"], tr["clip_every"], tr["cfg_drop"],
                       meta["step"], meta["seen"]["image"] + args.seen_before[0],
                       meta["seen"]["clip"] + args.seen_before[1]),
        "steps": str(meta["step"]),
    }
    if tr.get("init") or tr.get("shift") or tr.get("anneal"):
        # the last run went on from an earlier run's EMA: say how it differed
        info["training"] += ("; the last run started from an earlier run's EMA weights (--init), with timestep shift %g "
                             "(the config's flow_shift) and the lr annealed over its last %g" %
                             (cfg.get("flow_shift", 1.0), tr.get("anneal") or 0))
    if tr.get("t2i_mix"):
        info["training"] += ("; its text-to-image categories drawn in proportion %s (single, two, counting, colours, "
                             "position, binding: vt_shapes_example_mix)" % tr["t2i_mix"])
    if args.eval:
        info["eval"] = open(args.eval).read()
    tmp = args.out + ".tmp"
    st_io.save(tmp, tensors, info)
    os.replace(tmp, args.out)
    n = sum(v.numel() for v in tensors.values())
    h = hashlib.sha256(open(args.out, "rb").read()).hexdigest()[:16]
    print("%s: %d tensors, %d parameters, %.1f MiB, sha256 %s, step %d"
          % (args.out, len(tensors), n, os.path.getsize(args.out) / 2**20, h, meta["step"]))


if __name__ == "__main__":
    main()
