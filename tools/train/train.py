"""Trains vitrail's default model on the shapes world (docs/training.md).

Rectified flow (velocity): x_s = (1 - s) x0 + s eps, target v = eps - x0, the
model sees s * timestep_scale (docs/model-format.md "Sampling": the engine's
Euler sampler integrates exactly this); s ~ logit-normal(0, 1) (Esser et al.
2024, SD3). Multi-task: "image" batches mix text->image and edit (image + text ->
image); "clip" batches mix text->video and animate (first frame + text -> clip).
Conditioning dropout for CFG replaces the tokens by the null token alone (what
the engine's unconditional branch feeds). Token pruning runs with a keep ratio
drawn per batch from {1, 0.5, 0.25}. EMA of the weights; bf16 autocast on CUDA.

Runs are time-boxed (`--time-budget` seconds) and resume from `--ckpt`, because
one command on the GPU machine lasts at most 10 minutes.

    python3 tools/train/train.py --ckpt /tmp/vt/ckpt.pt --time-budget 540 --out OUTDIR
"""
import argparse
import copy
import json
import math
import os
import shutil
import sys
import time

import torch
import torch.nn.functional as F

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
import data  # noqa: E402
import model  # noqa: E402


def parse():
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("--config", default=os.path.join(_HERE, "config.json"))
    a.add_argument("--ckpt", required=True, help="checkpoint to resume from and write to")
    a.add_argument("--out", help="folder for the EMA weights (f16 parts) and the log after the run")
    a.add_argument("--time-budget", type=float, default=540, help="seconds of training in this run")
    a.add_argument("--save-every", type=float, default=0,
                   help="also write the EMA parts to OUT.snap every this many seconds (0: only at the end), so a "
                        "run killed at the machine's limit still leaves weights behind")
    a.add_argument("--max-steps", type=int, default=0, help="stop after this many steps in total (0: no limit)")
    a.add_argument("--image-batch", type=int, default=256)
    a.add_argument("--clip-batch", type=int, default=32)
    a.add_argument("--clip-every", type=int, default=4, help="every Nth step is a clip batch")
    a.add_argument("--lr", type=float, default=3e-4)
    a.add_argument("--warmup", type=int, default=500)
    a.add_argument("--ema", type=float, default=0.999)
    a.add_argument("--cfg-drop", type=float, default=0.1)
    a.add_argument("--seed", type=int, default=2026)
    a.add_argument("--workers", type=int, default=12)
    a.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a.add_argument("--small", action="store_true", help="a tiny model for a CPU smoke test")
    a.add_argument("--init", help="start a new checkpoint from exported EMA parts (a folder --out wrote) or a model "
                   "file (.safetensors, e.g. the shipped default model): "
                   "weights, config, vocabulary and step count; a fresh optimiser")
    a.add_argument("--shift", type=float, default=0,
                   help="timestep shift k (s' = k s / (1 + (k - 1) s)) applied to the logit-normal draws; "
                        "also becomes the model's flow_shift, the sampler's default. 0: keep the config's")
    a.add_argument("--t2i-mix", default="",
                   help="weights of the text-to-image categories single,two,counting,colours,position,binding "
                        "(e.g. 1,2,2,1,1.5,1.5); empty: drawn evenly")
    a.add_argument("--anneal", type=float, default=0,
                   help="fraction of --time-budget at the end over which the learning rate decays linearly to 5%%")
    return a.parse_args()


def as_pixels(u8):
    return u8.float().div_(127.5).sub_(1.0)


def main():
    args = parse()
    t_start = time.time()
    dev = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    if os.path.exists(args.ckpt):
        ck = torch.load(args.ckpt, map_location="cpu", weights_only=False)
        cfg, vocab = ck["config"], ck["vocab"]
        print("resuming at step %d" % ck["step"], flush=True)
    elif args.init:
        ck = None
        if args.init.endswith(".safetensors"):
            # a shipped model file: its F16 EMA weights, config, vocabulary and step count
            sys.path.insert(0, os.path.join(_HERE, "..", "reference"))
            import st_io  # noqa: E402
            tensors, info = st_io.load(args.init)
            meta = {"config": json.loads(info["config"]), "vocab": json.loads(info["vocab"]),
                    "step": int(info.get("steps", 0)), "seen": {"image": 0, "clip": 0}, "tensors": tensors}
        else:
            meta = json.load(open(os.path.join(args.init, "meta.json")))
        cfg, vocab = meta["config"], meta["vocab"]
        print("starting from %s (step %d)" % (args.init, meta["step"]), flush=True)
    else:
        ck = meta = None
        cfg = json.load(open(args.config))
        if args.small:
            cfg.update({"hidden_size": 64, "depth": len(cfg["attention"]), "num_heads": 2})
        vocab = data.build_vocab(data.Shapes())
        cfg["text_encoder"]["vocab"] = len(vocab)
        print("vocabulary: %d words" % len(vocab), flush=True)
    if args.shift:
        cfg["flow_shift"] = args.shift
    shift = float(cfg.get("flow_shift", 1.0))
    torch.manual_seed(args.seed)
    net = model.Chain(cfg)
    prior_log = []
    if ck is None and args.init:
        t = meta.get("tensors") or {}
        for k in range(meta.get("parts", 0)):
            t.update(torch.load(os.path.join(args.init, "ema_part%d.pt" % k), map_location="cpu"))
        net.load_file_tensors({k: v.float() for k, v in t.items()})
        prior_log = meta.get("log", [])
    net = net.to(dev)
    ema = copy.deepcopy(net).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    # fused AdamW (one kernel for all parameters) where this torch has it on this device
    fused = {"fused": True} if dev.type == "cuda" and "fused" in torch.optim.AdamW.__init__.__code__.co_varnames else {}
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.0, betas=(0.9, 0.99), **fused)
    step, seen = 0, {"image": 0, "clip": 0}
    if ck:
        net.load_state_dict(ck["net"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        step, seen = ck["step"], ck["seen"]
        prior_log = ck.get("log", [])
    elif args.init:
        step, seen = meta["step"], meta["seen"]
    step0 = step
    ema_p, net_p = list(ema.parameters()), list(net.parameters())
    n_params = sum(p.numel() for p in net.parameters())
    print("parameters: %d (%.1f MiB as f16)" % (n_params, n_params * 2 / 2**20), flush=True)

    S, T, L = cfg["input_size"][0], cfg["frames"], cfg["text_encoder"]["max_len"]
    mix = [float(x) for x in args.t2i_mix.split(",")] if args.t2i_mix else None
    if mix is not None and (len(mix) != 6 or min(mix) < 0 or sum(mix) <= 0):
        raise SystemExit("--t2i-mix: six non-negative weights, not all 0 (single,two,counting,colours,position,binding)")
    # Each loader starts where the last run stopped, in its own step space.
    n_clip_done = step // args.clip_every
    loaders = {}
    for kind, B, w, start in (("image", args.image_batch, max(1, args.workers * 2 // 3), step - n_clip_done),
                              ("clip", args.clip_batch, max(1, args.workers // 3), n_clip_done)):
        ds = data.Batches(kind, B, S, T, vocab, L, args.seed, start, mix=mix)
        loaders[kind] = iter(torch.utils.data.DataLoader(ds, batch_size=None, num_workers=w, pin_memory=dev.type == "cuda",
                                                         prefetch_factor=4 if w else None, persistent_workers=False))
    null = None
    amp = dev.type == "cuda"
    gen = torch.Generator(device="cpu").manual_seed(args.seed * 7919 + step)
    gdev = torch.Generator(device=dev).manual_seed(args.seed * 104729 + step)
    log, t_last, wait, losses = [], time.time(), 0.0, {"image": [], "clip": []}
    t_snap = t_last
    while True:
        if time.time() - t_start > args.time_budget or (args.max_steps and step >= args.max_steps):
            break
        kind = "clip" if step % args.clip_every == args.clip_every - 1 else "image"
        t0 = time.time()
        b = next(loaders[kind])
        wait += time.time() - t0
        if b["unk"]:
            raise RuntimeError("a caption has a word outside the vocabulary: rebuild the vocabulary")
        x0 = as_pixels(b["x0"].to(dev, non_blocking=True))
        src = as_pixels(b["src"].to(dev, non_blocking=True))
        has = b["has_src"].to(dev)
        ids, tmask = b["ids"].to(dev), b["mask"].to(dev)
        B = x0.shape[0]
        keep = [1.0, 0.5, 0.25][int(torch.randint(0, 3, (1,), generator=gen))]
        lr = args.lr * min(1.0, (step - step0 + 1 if args.init else step + 1) / args.warmup)
        if args.anneal:
            left = args.time_budget - (time.time() - t_start)
            lr *= min(1.0, max(0.05, left / (args.anneal * args.time_budget)))
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=amp):
            cond, cmask = net.condition(ids, tmask, src if has.any() else None, has, keep)
            # CFG dropout: the unconditional input is the null token alone (samplers.py)
            drop = torch.rand(B, generator=gen).to(dev) < args.cfg_drop
            nullrow = torch.zeros_like(cond[0])
            nullrow = torch.cat([net.dit.cond_embedder.null.to(cond.dtype), nullrow[1:]], 0)
            cond = torch.where(drop[:, None, None], nullrow[None], cond)
            nm = torch.zeros_like(cmask[0])
            nm[0] = 1
            cmask = torch.where(drop[:, None], nm[None], cmask)
            s = torch.sigmoid(torch.randn(B, generator=gdev, device=dev))
            # Flat colours stay readable in the mean of 4096 noisy pixels until s ~ 0.98,
            # which plain logit-normal almost never draws: the shift moves training
            # (and, through flow_shift, sampling) toward high noise.
            s = shift * s / (1 + (shift - 1) * s)
            eps = torch.randn(x0.shape, generator=gdev, device=dev)
            sb = s[:, None, None, None, None]
            xs = (1 - sb) * x0 + sb * eps
            pred = net.dit(xs, s * cfg["timestep_scale"], cond, cmask)
            loss = F.mse_loss(pred.float(), (eps - x0).float())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        d = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            if hasattr(torch, "_foreach_lerp_"):  # one launch for all tensors, not one each
                torch._foreach_lerp_(ema_p, net_p, 1 - d)
            else:
                for pe, pn in zip(ema_p, net_p):
                    pe.lerp_(pn, 1 - d)
        step += 1
        seen[kind] += B
        losses[kind].append(loss.item() if step % 25 == 0 else None)
        if step % 200 == 0:
            dt = time.time() - t_last
            li = [v for v in losses["image"] if v is not None]
            lc = [v for v in losses["clip"] if v is not None]
            line = {"step": step, "lr": lr, "loss_image": sum(li) / max(1, len(li)), "loss_clip": sum(lc) / max(1, len(lc)),
                    "s_per_step": dt / 200, "data_wait_frac": wait / dt, "images": seen["image"], "clips": seen["clip"],
                    "elapsed": time.time() - t_start}
            print(json.dumps(line), flush=True)
            log.append(line)
            t_last, wait, losses = time.time(), 0.0, {"image": [], "clip": []}
        if args.out and args.save_every and time.time() - t_snap > args.save_every:
            snap = args.out.rstrip("/") + ".snap"
            write_parts(ema, cfg, vocab, step, seen, args, prior_log + log, snap + ".tmp")
            shutil.rmtree(snap, ignore_errors=True)
            os.replace(snap + ".tmp", snap)  # never a half-written snapshot under the final name
            t_snap = time.time()
    os.makedirs(os.path.dirname(os.path.abspath(args.ckpt)), exist_ok=True)
    torch.save({"config": cfg, "vocab": vocab, "net": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                "step": step, "seen": seen, "log": prior_log + log}, args.ckpt + ".tmp")
    os.replace(args.ckpt + ".tmp", args.ckpt)
    print("saved step %d (%d images, %d clips seen) after %.0f s" % (step, seen["image"], seen["clip"], time.time() - t_start),
          flush=True)
    if args.out:
        write_parts(ema, cfg, vocab, step, seen, args, prior_log + log, args.out)
    os._exit(0)  # the loader workers are endless: do not wait for them


def write_parts(ema, cfg, vocab, step, seen, args, log, out):
    """EMA weights as f16 in parts of at most 15 MiB (the GPU machine returns
    files of at most 16 MiB), with the config and vocabulary; export.py joins them."""
    os.makedirs(out, exist_ok=True)
    t = ema.file_tensors()
    part, size, k = {}, 0, 0
    names = sorted(t)
    for i, n in enumerate(names):
        part[n] = t[n].half()
        size += part[n].numel() * 2
        if size > 15 * 2**20 or i == len(names) - 1:
            torch.save(part, os.path.join(out, "ema_part%d.pt" % k))
            part, size, k = {}, 0, k + 1
    json.dump({"config": cfg, "vocab": vocab, "step": step, "seen": seen, "parts": k, "seed": args.seed,
               "args": vars(args), "log": log}, open(os.path.join(out, "meta.json"), "w"))


if __name__ == "__main__":
    main()
