"""The PyTorch reference of vitrail's DiT (docs/model-format.md): the shared parts
exactly as facebookresearch/DiT models.py (Peebles & Xie 2023), plus cross-attention
(PixArt-alpha placement), video token grids with a temporal embedding (Latte), and
one attention pattern per block, implemented as a boolean mask over all keys so the
definition is the plainest possible. Runs on PyTorch 1.13 (Debian) and 2.x."""
import json
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---- fixed embeddings (DiT models.py) ----


def sincos_1d(dim, pos):
    omega = np.arange(dim // 2, dtype=np.float64) / (dim / 2.0)
    omega = 1.0 / 10000 ** omega
    out = np.einsum("m,d->md", np.asarray(pos, dtype=np.float64).reshape(-1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_2d(dim, h, w):
    grid_h = np.arange(h, dtype=np.float32)
    grid_w = np.arange(w, dtype=np.float32)
    grid = np.meshgrid(grid_w, grid_h)  # here w goes first, as in DiT
    grid = np.stack(grid, axis=0).reshape([2, 1, h, w])
    emb_h = sincos_1d(dim // 2, grid[0])
    emb_w = sincos_1d(dim // 2, grid[1])
    return np.concatenate([emb_h, emb_w], axis=1)


def timestep_embedding(t, dim, max_period=10000):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(0, half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


# ---- attention patterns as masks ----


def _dims(text):
    """'K' -> (1, K, K), 'KxK' -> (1, K, K), 'TxKxK' as is (dit_config.c's rule)."""
    d = [int(v) for v in text.split("x")]
    if len(d) == 1:
        return [1, d[0], d[0]]
    if len(d) == 2:
        return [1] + d
    return d


def parse_pattern(s):
    tok = s.split()
    p = {"kind": tok[0], "kernel": [1, 1, 1], "dilation": [1, 1, 1], "causal": False, "window": 0}
    if tok[0] == "neighborhood":
        p["kernel"] = _dims(tok[1])
        i = 2
        while i < len(tok):
            if tok[i] == "causal":
                p["causal"] = True
                i += 1
            elif tok[i] == "dilation":
                p["dilation"] = _dims(tok[i + 1])
                i += 2
            else:
                raise ValueError(s)
    elif tok[0] in ("block", "grid"):
        p["window"] = int(tok[1])
    return p


def natten_window(i, L, k, d):
    """Positions a query at i sees on an axis: its residue class mod d, a window of
    k of them centred on it, shifted inward at the ends (NATTEN)."""
    cls = list(range(i % d, L, d))
    j = cls.index(i)
    start = min(max(j - k // 2, 0), len(cls) - k)
    return set(cls[start : start + k])


def allowed_mask(p, T, H, W):
    """(N, N) boolean: may query n see key m."""
    N = T * H * W
    coords = [(n // (H * W), n // W % H, n % W) for n in range(N)]
    L = (T, H, W)
    m = np.zeros((N, N), dtype=bool)
    kind = p["kind"]
    for q, qc in enumerate(coords):
        if kind == "full":
            m[q, :] = True
            continue
        if kind == "neighborhood":
            sets = []
            for a in range(3):
                if a == 0 and p["causal"]:
                    d, k = p["dilation"][0], p["kernel"][0]
                    sets.append({t for t in range(L[0]) if (qc[0] - t) % d == 0 and t <= qc[0] and (qc[0] - t) // d < k})
                else:
                    sets.append(natten_window(qc[a], L[a], p["kernel"][a], p["dilation"][a]))
            for k_, kc in enumerate(coords):
                m[q, k_] = all(kc[a] in sets[a] for a in range(3))
            continue
        for k_, kc in enumerate(coords):
            if kind == "spatial":
                ok = kc[0] == qc[0]
            elif kind == "temporal":
                ok = kc[1:] == qc[1:]
            elif kind == "axial_h":
                ok = kc[0] == qc[0] and kc[2] == qc[2]
            elif kind == "axial_w":
                ok = kc[0] == qc[0] and kc[1] == qc[1]
            elif kind == "block":
                P = p["window"]
                ok = kc[0] == qc[0] and kc[1] // P == qc[1] // P and kc[2] // P == qc[2] // P
            elif kind == "grid":
                sh, sw = H // p["window"], W // p["window"]
                ok = kc[0] == qc[0] and kc[1] % sh == qc[1] % sh and kc[2] % sw == qc[2] % sw
            else:
                raise ValueError(kind)
            m[q, k_] = ok
    return torch.from_numpy(m)


def masked_attention(q, k, v, mask):
    """q (B, h, Nq, d), k/v (B, h, Nk, d), mask (B or 1, 1, Nq, Nk) bool. A query
    with no visible key outputs zeros."""
    s = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    s = s.masked_fill(~mask, float("-inf"))
    any_ = mask.any(dim=-1, keepdim=True)
    s = torch.where(any_, s, torch.zeros_like(s))
    p = torch.softmax(s, dim=-1) * any_
    return p @ v


# ---- the model ----


class Linear(nn.Linear):
    pass


class Attention(nn.Module):
    def __init__(self, D, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(D, 3 * D)
        self.proj = nn.Linear(D, D)

    def forward(self, x, mask):
        B, N, D = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        o = masked_attention(qkv[0], qkv[1], qkv[2], mask)
        return self.proj(o.transpose(1, 2).reshape(B, N, D))


class CrossAttention(nn.Module):
    def __init__(self, D, heads):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(D, D)
        self.kv = nn.Linear(D, 2 * D)
        self.proj = nn.Linear(D, D)

    def forward(self, x, c, cmask):
        B, N, D = x.shape
        L = c.shape[1]
        h = self.heads
        q = self.q(x).reshape(B, N, h, D // h).transpose(1, 2)
        kv = self.kv(c).reshape(B, L, 2, h, D // h).permute(2, 0, 3, 1, 4)
        mask = (cmask > 0)[:, None, None, :].expand(B, 1, N, L)
        o = masked_attention(q, kv[0], kv[1], mask)
        return self.proj(o.transpose(1, 2).reshape(B, N, D))


class Mlp(nn.Module):
    def __init__(self, D, M):
        super().__init__()
        self.fc1 = nn.Linear(D, M)
        self.act = nn.GELU(approximate="tanh")
        self.fc2 = nn.Linear(M, D)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, D, heads, M, cross):
        super().__init__()
        self.norm1 = nn.LayerNorm(D, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(D, heads)
        self.cross_attn = CrossAttention(D, heads) if cross else None
        self.norm2 = nn.LayerNorm(D, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(D, M)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(D, 6 * D))

    def forward(self, x, c, mask, cond, cmask):
        sh1, sc1, g1, sh2, sc2, g2 = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + g1.unsqueeze(1) * self.attn(modulate(self.norm1(x), sh1, sc1), mask)
        if self.cross_attn is not None:
            x = x + self.cross_attn(x, cond, cmask)
        x = x + g2.unsqueeze(1) * self.mlp(modulate(self.norm2(x), sh2, sc2))
        return x


class Embedder(nn.Module):
    """Holds parameters under the names the file uses (x_embedder.proj, ...)."""


class DiT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        D, p = cfg["hidden_size"], cfg.get("patch_size", 2)
        C = cfg.get("in_channels", 4)
        self.C, self.p, self.D = C, p, D
        self.Cout = C * (2 if cfg.get("learn_sigma") else 1)
        self.T = cfg.get("frames", 0)
        H, W = cfg["input_size"]
        self.h, self.w = H // p, W // p
        depth, heads = cfg["depth"], cfg["num_heads"]
        M = int(round(D * cfg.get("mlp_ratio", 4.0)))
        self.x_embedder = Embedder()
        self.x_embedder.proj = nn.Conv2d(C, D, p, stride=p)
        self.t_embedder = Embedder()
        self.t_embedder.mlp = nn.Sequential(nn.Linear(256, D), nn.SiLU(), nn.Linear(D, D))
        nc = cfg.get("num_classes", 0)
        if nc:
            self.y_embedder = Embedder()
            self.y_embedder.embedding_table = nn.Embedding(nc + 1, D)
        cd = cfg.get("cond_dim", 0)
        if cd:
            self.cond_embedder = Embedder()
            self.cond_embedder.proj = nn.Linear(cd, D)
            self.cond_embedder.null = nn.Parameter(torch.zeros(1, cd))
            if cfg.get("cond_pooled"):
                self.cond_embedder.pool = nn.Linear(D, D)
        self.register_buffer("pos_embed", torch.from_numpy(sincos_2d(D, self.h, self.w)).float().unsqueeze(0))
        if self.T:
            self.register_buffer("temp_embed", torch.from_numpy(sincos_1d(D, np.arange(self.T))).float().unsqueeze(0))
        self.blocks = nn.ModuleList([Block(D, heads, M, cd > 0) for _ in range(depth)])
        self.final_layer = Embedder()
        self.final_layer.norm_final = nn.LayerNorm(D, elementwise_affine=False, eps=1e-6)
        self.final_layer.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(D, 2 * D))
        self.final_layer.linear = nn.Linear(D, p * p * self.Cout)
        pats = cfg.get("attention", ["full"] * depth)
        self.patterns = [parse_pattern(s) for s in pats]
        self._masks = {}

    def mask(self, i, T):
        key = (i, T)
        if key not in self._masks:
            self._masks[key] = allowed_mask(self.patterns[i], T, self.h, self.w)[None, None]
        return self._masks[key]

    def forward(self, x, t, y=None, cond=None, cond_mask=None):
        cfg = self.cfg
        video = x.dim() == 5
        B = x.shape[0]
        T = x.shape[2] if video else 1
        frames = x.permute(0, 2, 1, 3, 4).reshape(B * T, self.C, x.shape[-2], x.shape[-1]) if video else x
        tok = self.x_embedder.proj(frames).flatten(2).transpose(1, 2)  # (B*T, hw, D)
        tok = tok + self.pos_embed
        tok = tok.reshape(B, T, self.h * self.w, self.D)
        if video:
            tok = tok + self.temp_embed[0][None, :, None, :]
        xs = tok.reshape(B, T * self.h * self.w, self.D)
        c = self.t_embedder.mlp(timestep_embedding(t, 256))
        if cfg.get("num_classes", 0):
            if y is None:
                y = torch.full((B,), cfg["num_classes"], dtype=torch.long)
            c = c + self.y_embedder.embedding_table(y.long())
        cproj, cmask = None, None
        if cfg.get("cond_dim", 0):
            cproj = self.cond_embedder.proj(cond)
            cmask = torch.ones(cond.shape[:2]) if cond_mask is None else (cond_mask > 0).float()
            if cfg.get("cond_pooled"):
                cnt = cmask.sum(1, keepdim=True)
                pooled = (cproj * cmask[..., None]).sum(1) / cnt.clamp(min=1)
                pooled = torch.where(cnt > 0, pooled, torch.zeros_like(pooled))
                c = c + self.cond_embedder.pool(pooled)
        for i, blk in enumerate(self.blocks):
            xs = blk(xs, c, self.mask(i, T), cproj, cmask)
        shift, scale = self.final_layer.adaLN_modulation(c).chunk(2, dim=1)
        xs = self.final_layer.linear(modulate(self.final_layer.norm_final(xs), shift, scale))
        # unpatchify per frame: 'nhwpqc->nchpwq'
        p, C = self.p, self.Cout
        xs = xs.reshape(B * T, self.h, self.w, p, p, C)
        xs = torch.einsum("nhwpqc->nchpwq", xs).reshape(B * T, C, self.h * p, self.w * p)
        if video:
            xs = xs.reshape(B, T, C, self.h * p, self.w * p).permute(0, 2, 1, 3, 4)
        return xs

    # ---- files ----

    def state_for_file(self):
        """The tensors as vitrail names them (norm layers have no parameters)."""
        sd = {k: v for k, v in self.state_dict().items()}
        return sd

    @staticmethod
    def from_file(path):
        from st_io import load

        tensors, meta = load(path)
        cfg = json.loads(meta["config"])
        m = DiT(cfg)
        missing, unexpected = m.load_state_dict(tensors, strict=False)
        missing = [k for k in missing if k not in ("pos_embed", "temp_embed")]
        if missing or unexpected:
            raise ValueError(f"missing {missing}, unexpected {unexpected}")
        return m
