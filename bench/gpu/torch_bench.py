#!/usr/bin/env python3
"""The PyTorch (CUDA) side of bench/gpu: the same shapes vt-bench-gpu runs on
vitrail's Vulkan backend, timed with CUDA events, printed one line per case as
`name ms GFLOP/s` so run.sh can pair them. Eager mode, as a user's first try
would be; f32 with TF32 off (f32 means f32, as on vitrail's f32 path) and f16
(half weights and activations, as PyTorch users run half models).
    python3 torch_bench.py [--quick]"""
import math
import os
import sys

import torch
import torch.nn.functional as F



def timed(fn, reps=20, warm=3):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(3):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(reps):
            fn()
        e.record()
        torch.cuda.synchronize()
        best = min(best, s.elapsed_time(e) / reps)
    return best


class Block(torch.nn.Module):
    def __init__(self, D, heads):
        super().__init__()
        self.h = heads
        self.qkv, self.proj = torch.nn.Linear(D, 3 * D), torch.nn.Linear(D, D)
        self.fc1, self.fc2 = torch.nn.Linear(D, 4 * D), torch.nn.Linear(4 * D, D)
        self.ada = torch.nn.Linear(D, 6 * D)
        self.n1 = torch.nn.LayerNorm(D, elementwise_affine=False, eps=1e-6)
        self.n2 = torch.nn.LayerNorm(D, elementwise_affine=False, eps=1e-6)

    def forward(self, x, c, frames=1, temporal=False):
        B, N, D = x.shape
        s1, c1, g1, s2, c2, g2 = self.ada(F.silu(c)).chunk(6, dim=1)
        y = self.n1(x) * (1 + c1[:, None]) + s1[:, None]
        q, k, v = self.qkv(y).reshape(B, N, 3, self.h, D // self.h).permute(2, 0, 3, 1, 4)  # (B, h, N, d)
        if frames > 1:
            # Latte: spatial blocks attend within a frame, temporal ones across frames
            T, HW, dh = frames, N // frames, D // self.h
            if temporal:
                q, k, v = (z.reshape(B, self.h, T, HW, dh).transpose(2, 3).reshape(B, self.h * HW, T, dh) for z in (q, k, v))
            else:
                q, k, v = (z.reshape(B, self.h * T, HW, dh) for z in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v)
        if frames > 1:
            T, HW, dh = frames, N // frames, D // self.h
            a = a.reshape(B, self.h, HW, T, dh).transpose(2, 3) if temporal else a.reshape(B, self.h, T, HW, dh)
            a = a.reshape(B, self.h, N, dh)
        a = a.transpose(1, 2).reshape(B, N, D)
        x = x + g1[:, None] * self.proj(a)
        y = self.n2(x) * (1 + c2[:, None]) + s2[:, None]
        return x + g2[:, None] * self.fc2(F.gelu(self.fc1(y), approximate="tanh"))


class TorchDiT(torch.nn.Module):
    """DiT's blocks (Peebles & Xie 2023) without the embedders, which are a rounding
    error of the cost: the per-block work of a forward."""

    def __init__(self, D, depth, heads):
        super().__init__()
        self.D, self.depth = D, depth
        self.emb = torch.nn.Linear(16, D)
        self.blocks = torch.nn.ModuleList([Block(D, heads) for _ in range(depth)])
        self.final = torch.nn.Linear(D, 32)

    def forward(self, x, c, frames=1):
        x = self.emb(x)
        for i, b in enumerate(self.blocks):
            x = b(x, c, frames, temporal=frames > 1 and i % 2 == 1)
        return self.final(x)

    def flops(self, N):
        D = self.D
        return self.depth * (2 * N * D * D * 12 + 4 * N * N * D)


def main():
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False  # f32 means f32, as in vitrail's f32 path
    torch.backends.cudnn.allow_tf32 = False
    g = torch.Generator(device=dev).manual_seed(0)
    print("# torch %s on %s" % (torch.__version__, torch.cuda.get_device_name(0)), flush=True)

    class Out:  # each case printed as soon as it is measured: a crash or timeout keeps the rest
        def append(self, row):
            print("%s %.4f %.1f" % row, flush=True)

    out = Out()
    # matmul at DiT shapes: tokens x width -> 4 width (the MLP) and width x width
    quick = "--quick" in sys.argv
    shapes = [(256, 384, 1536)] if quick else [(256, 384, 1536), (256, 1152, 4608), (1024, 1152, 4608), (4096, 1152, 1152),
                                                (8192, 1152, 4608)]
    for M, K, N in shapes:
        for dt, name in [(torch.float32, "f32"), (torch.float16, "f16")]:
            x = torch.randn(M, K, device=dev, dtype=dt, generator=g)
            w = torch.randn(N, K, device=dev, dtype=dt, generator=g)
            b = torch.randn(N, device=dev, dtype=dt, generator=g)
            ms = timed(lambda: F.linear(x, w, b))
            out.append(("matmul_%s_%dx%dx%d" % (name, M, K, N), ms, 2.0 * M * N * K / ms * 1e-6))
    # full attention (SDPA), head dim 64, 8 heads, N = 64x64 and 128x128 tokens
    for side in ((32,) if quick else (64, 128)):
        Ntok = side * side
        q, k, v = (torch.randn(1, 8, Ntok, 64, device=dev, generator=g) for _ in range(3))
        ms = timed(lambda: F.scaled_dot_product_attention(q, k, v), reps=5)
        out.append(("attn_full_f32_%dx%d" % (side, side), ms, 4.0 * Ntok * Ntok * 64 * 8 / ms * 1e-6))
    # whole DiT forwards, eager, as facebookresearch/DiT runs them (timm's
    # Attention uses fused SDPA): S/2 and XL/2 at 256 and 1024 tokens, f32 and f16
    dits = [("dit_s2_256", 384, 12, 6, 16)] if quick else [
        ("dit_s2_256", 384, 12, 6, 16), ("dit_s2_1024", 384, 12, 6, 32), ("dit_xl2_256", 1152, 28, 16, 16),
        ("dit_xl2_1024", 1152, 28, 16, 32)]
    for name, D, depth, heads, side in dits:
        m = TorchDiT(D, depth, heads).to(dev).eval()
        x = torch.randn(1, side * side, 4 * 2 * 2, device=dev, generator=g)  # patchified latent tokens
        c = torch.randn(1, D, device=dev, generator=g)
        for dt, suffix in [(torch.float32, "f32"), (torch.float16, "f16")]:
            m, x, c = m.to(dt), x.to(dt), c.to(dt)
            with torch.no_grad():
                ms = timed(lambda: m(x, c), reps=5)
            out.append((name + "_" + suffix, ms, m.flops(side * side) / ms * 1e-6))
        del m
    if not quick:
        m = TorchDiT(384, 12, 6).to(dev).eval()
        x = torch.randn(1, 8 * 256, 16, device=dev, generator=g)
        c = torch.randn(1, 384, device=dev, generator=g)
        for dt, suffix in [(torch.float32, "f32"), (torch.float16, "f16")]:
            m, x, c = m.to(dt), x.to(dt), c.to(dt)
            with torch.no_grad():
                ms = timed(lambda: m(x, c, frames=8), reps=5)
            out.append(("dit_video_8x256_" + suffix, ms, 0.0))


if __name__ == "__main__":
    main()
