"""The PyTorch reference of vitrail's DiT denoiser (docs/model-format.md).

The shared parts are facebookresearch/DiT models.py (Peebles & Xie 2023) as they
are, with its parameter names: TimestepEmbedder, LabelEmbedder table, adaLN-Zero
blocks, FinalLayer, unpatchify. vitrail's additions: cross-attention to
conditioning tokens (PixArt-alpha placement), an optional pooled conditioning
vector, video token grids (Latte: per-frame patch embedding, temporal sin-cos
embedding), and one attention pattern per block. Every pattern is written as an
explicit boolean (N, N) "may query n see key m" mask built from its definition,
then plain masked softmax attention: slow, and as plain as it can be.

The model runs in float32 (what DiT does, bit for bit the same ops) or float64
(the fixtures: a reference whose own rounding is far below the engine's).
Runs on Debian's python3-torch 1.13 and on PyTorch 2.x.

    python3 dit_ref.py MODEL.safetensors IN.safetensors OUT.safetensors [--f32]

runs one forward: IN holds x, t and, as the model needs them, y, cond, cond_mask
(the layout of tests/data/conformance/*/forward_in.safetensors); OUT gets "out".
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

FREQ_DIM = 256  # DiT's TimestepEmbedder frequency_embedding_size

# ---- config ----

DEFAULTS = {
    "in_channels": 4, "learn_sigma": False, "frames": 0, "patch_size": 2, "mlp_ratio": 4.0, "num_classes": 0,
    "cond_dim": 0, "cond_pooled": False, "prediction": "eps", "beta_schedule": "linear", "train_steps": 1000,
    "timestep_scale": 1000.0, "flow_shift": 1.0,
}


def normalize_config(config):
    """The config with every default filled in, checked the way diffusion/dit_config.c
    checks it. Accepts a dict or a JSON string."""
    if isinstance(config, str):
        config = json.loads(config)
    c = dict(DEFAULTS)
    c.update(config)
    if c.get("arch") != "dit":
        raise ValueError('config: "arch" must be "dit"')
    for k in ("input_size", "hidden_size", "depth", "num_heads"):
        if k not in c:
            raise ValueError('config: missing "%s"' % k)
    H, W = c["input_size"]
    D, p, heads, depth = c["hidden_size"], c["patch_size"], c["num_heads"], c["depth"]
    if D % heads:
        raise ValueError("config: hidden_size %d is not divisible by num_heads %d" % (D, heads))
    if D % 4:
        raise ValueError("config: hidden_size %d must be a multiple of 4 (2D sin-cos embedding)" % D)
    if H % p or W % p:
        raise ValueError("config: input_size %dx%d is not a multiple of patch_size %d" % (H, W, p))
    if c["cond_pooled"] and not c["cond_dim"]:
        raise ValueError("config: cond_pooled needs cond_dim > 0")
    if c["prediction"] not in ("eps", "v"):
        raise ValueError('config: prediction must be "eps" or "v"')
    if c["beta_schedule"] != "linear":
        raise ValueError('config: beta_schedule must be "linear"')
    att = c.get("attention") or ["full"] * depth
    if len(att) != depth:
        raise ValueError("config: attention must list %d patterns (one per block)" % depth)
    c["attention"] = list(att)
    for s in att:
        parse_pattern(s)
    c["mlp_hidden"] = int(round(D * c["mlp_ratio"]))  # spec: round(D * mlp_ratio); DiT: int()
    c["out_channels"] = c["in_channels"] * (2 if c["learn_sigma"] else 1)
    return c


# ---- fixed embeddings (DiT models.py, computed in float64) ----


def sincos_1d(dim, pos):
    """DiT's get_1d_sincos_pos_embed_from_grid: (M, dim) = [sin(pos w_k), cos(pos w_k)],
    w_k = 1 / 10000^(k / (dim/2)), float64."""
    omega = torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0)
    omega = 1.0 / 10000 ** omega
    out = torch.as_tensor(pos, dtype=torch.float64).reshape(-1)[:, None] * omega[None]
    return torch.cat([torch.sin(out), torch.cos(out)], dim=1)


def sincos_2d(dim, h, w):
    """DiT's get_2d_sincos_pos_embed for an (h, w) grid (DiT's is square): grid =
    meshgrid(w, h), the first half embeds the column index, the second half the row.
    (h*w, dim), rows in (row, column) order."""
    col = torch.arange(w, dtype=torch.float64).repeat(h)          # grid[0] of np.meshgrid(grid_w, grid_h)
    row = torch.arange(h, dtype=torch.float64).repeat_interleave(w)  # grid[1]
    return torch.cat([sincos_1d(dim // 2, col), sincos_1d(dim // 2, row)], dim=1)


def timestep_embedding(t, dim, max_period=10000, dtype=torch.float32):
    """DiT's TimestepEmbedder.timestep_embedding, [cos, sin]; in float32 it is DiT's
    code exactly, in float64 the same formula computed in double."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(start=0, end=half, dtype=dtype, device=t.device) / half)
    args = t[:, None].to(dtype) * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


# ---- attention patterns ----

SIMPLE = ("full", "spatial", "temporal", "axial_h", "axial_w")


def _dims(text, what, s):
    """'K' -> (1, K, K); 'KhxKw' -> (1, Kh, Kw); 'KtxKhxKw' as is (dit_config.c)."""
    try:
        d = [int(v) for v in text.split("x")]
    except ValueError:
        d = []
    if not 1 <= len(d) <= 3 or min(d) < 1:
        raise ValueError("attention '%s': %s '%s' is not K, KxK or KtxKxK" % (s, what, text))
    if len(d) == 1:
        return (1, d[0], d[0])
    if len(d) == 2:
        return (1, d[0], d[1])
    return tuple(d)


def parse_pattern(s):
    """A pattern string -> dict(kind, kernel (T, H, W), dilation (T, H, W), causal, window)."""
    tok = s.split()
    p = {"kind": tok[0] if tok else "", "kernel": (1, 1, 1), "dilation": (1, 1, 1), "causal": False, "window": 0}
    if len(tok) == 1 and tok[0] in SIMPLE:
        return p
    if len(tok) == 2 and tok[0] in ("block", "grid"):
        if not tok[1].isdigit() or int(tok[1]) < 1:
            raise ValueError("attention '%s': window is not a positive integer" % s)
        p["window"] = int(tok[1])
        return p
    if len(tok) >= 2 and tok[0] == "neighborhood":
        p["kernel"] = _dims(tok[1], "kernel", s)
        i = 2
        while i < len(tok):
            if tok[i] == "causal":
                p["causal"] = True
                i += 1
            elif tok[i] == "dilation" and i + 1 < len(tok):
                p["dilation"] = _dims(tok[i + 1], "dilation", s)
                i += 2
            else:
                raise ValueError("attention '%s': unexpected '%s'" % (s, tok[i]))
        return p
    raise ValueError("attention '%s': unknown pattern" % s)


def natten_window(i, L, k, d):
    """The positions a query at i sees along one axis of length L (NATTEN): its residue
    class mod d is a sub-axis of length Lr; on it, index j = i // d sees the k
    positions from start = clamp(j - k//2, 0, Lr - k), mapped back to r + d*m."""
    r = i % d
    Lr = len(range(r, L, d))
    if k > Lr:
        raise ValueError("neighborhood: window %d with dilation %d does not fit an axis of %d" % (k, d, L))
    j = i // d
    start = min(max(j - k // 2, 0), Lr - k)
    return [r + d * m for m in range(start, start + k)]


def causal_window(i, k, d):
    """Causal along an axis: the k most recent positions of i's residue class, i
    itself included (fewer near the start)."""
    return [i - d * m for m in range(k) if i - d * m >= 0]


def check_pattern_fits(p, T, h, w):
    """Raises ValueError when the pattern is not defined on a (T, h, w) grid."""
    if p["kind"] == "neighborhood":
        for L, k, d, name in zip((T, h, w), p["kernel"], p["dilation"], "THW"):
            if k * d > L:
                raise ValueError("neighborhood %s: kernel %d x dilation %d exceeds the %d tokens along %s"
                                 % (p["kernel"], k, d, L, name))
    elif p["kind"] in ("block", "grid"):
        P = p["window"]
        if h % P or w % P:
            raise ValueError("%s %d: the %dx%d token grid is not divisible by %d" % (p["kind"], P, h, w, P))
    elif p["kind"] == "temporal" and T < 1:
        raise ValueError("temporal attention needs frames")


def allowed_mask(p, T, h, w):
    """(N, N) bool, N = T*h*w in (t, row, col) order: may query n see key m."""
    check_pattern_fits(p, T, h, w)
    N = T * h * w
    kind = p["kind"]
    if kind == "full":
        return torch.ones(N, N, dtype=torch.bool)
    m = torch.zeros(N, N, dtype=torch.bool)

    def idx(t, r, c):
        return (t * h + r) * w + c

    for t in range(T):
        for r in range(h):
            for c in range(w):
                q = idx(t, r, c)
                if kind == "spatial":
                    keys = [(t, a, b) for a in range(h) for b in range(w)]
                elif kind == "temporal":
                    keys = [(u, r, c) for u in range(T)]
                elif kind == "axial_h":  # its own column, along H
                    keys = [(t, a, c) for a in range(h)]
                elif kind == "axial_w":  # its own row, along W
                    keys = [(t, r, b) for b in range(w)]
                elif kind == "block":
                    P = p["window"]
                    keys = [(t, a, b) for a in range(r // P * P, r // P * P + P) for b in range(c // P * P, c // P * P + P)]
                elif kind == "grid":
                    sh, sw = h // p["window"], w // p["window"]
                    keys = [(t, a, b) for a in range(r % sh, h, sh) for b in range(c % sw, w, sw)]
                elif kind == "neighborhood":
                    (kt, kh, kw), (dt, dh, dw) = p["kernel"], p["dilation"]
                    ts = causal_window(t, kt, dt) if p["causal"] else natten_window(t, T, kt, dt)
                    keys = [(u, a, b) for u in ts for a in natten_window(r, h, kh, dh) for b in natten_window(c, w, kw, dw)]
                else:
                    raise ValueError(kind)
                for u, a, b in keys:
                    m[q, idx(u, a, b)] = True
    return m


def masked_attention(q, k, v, mask):
    """softmax(q k^T / sqrt(d)) v over the allowed keys. q (B, heads, Nq, d), k/v
    (B, heads, Nk, d), mask broadcastable to (B, heads, Nq, Nk) bool or None (all).
    A query with no allowed key outputs zeros."""
    s = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if mask is None:
        return torch.softmax(s, dim=-1) @ v
    mask = mask.expand(s.shape)
    any_ = mask.any(dim=-1, keepdim=True)
    s = s.masked_fill(~mask, float("-inf"))
    s = torch.where(any_, s, torch.zeros_like(s))
    p = torch.softmax(s, dim=-1) * any_.to(s.dtype)
    return p @ v


# ---- modules (parameter names as in the file) ----


class Attention(nn.Module):
    """timm's Attention as DiT uses it: fused qkv with bias, (3, heads, head_dim) order."""

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
    """q from the tokens; k, v = split(kv(cond'), 2, dim=-1), k first; key padding mask."""

    def __init__(self, D, heads):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(D, D)
        self.kv = nn.Linear(D, 2 * D)
        self.proj = nn.Linear(D, D)

    def forward(self, x, cond, present):
        B, N, D = x.shape
        L, h = cond.shape[1], self.heads
        q = self.q(x).reshape(B, N, h, D // h).transpose(1, 2)
        kv = self.kv(cond).reshape(B, L, 2, h, D // h).permute(2, 0, 3, 1, 4)
        o = masked_attention(q, kv[0], kv[1], present[:, None, None, :])
        return self.proj(o.transpose(1, 2).reshape(B, N, D))


class Mlp(nn.Module):
    """timm's Mlp with DiT's tanh GELU."""

    def __init__(self, D, M):
        super().__init__()
        self.fc1 = nn.Linear(D, M)
        self.act = nn.GELU(approximate="tanh")
        self.fc2 = nn.Linear(M, D)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class DiTBlock(nn.Module):
    def __init__(self, D, heads, M, cross):
        super().__init__()
        self.norm1 = nn.LayerNorm(D, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(D, heads)
        if cross:
            self.cross_attn = CrossAttention(D, heads)
        self.norm2 = nn.LayerNorm(D, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(D, M)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(D, 6 * D))

    def forward(self, x, c, mask, cond=None, present=None):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gate_msa.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_msa, scale_msa), mask)
        if cond is not None:  # PixArt-alpha: no norm, no gate
            x = x + self.cross_attn(x, cond, present)
        x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x


class FinalLayer(nn.Module):
    def __init__(self, D, p, Cout):
        super().__init__()
        self.norm_final = nn.LayerNorm(D, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(D, p * p * Cout)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(D, 2 * D))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


class PatchEmbed(nn.Module):
    def __init__(self, C, D, p):
        super().__init__()
        self.proj = nn.Conv2d(C, D, kernel_size=p, stride=p)


class TimestepEmbedder(nn.Module):
    def __init__(self, D):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(FREQ_DIM, D), nn.SiLU(), nn.Linear(D, D))


class LabelEmbedder(nn.Module):
    def __init__(self, num_classes, D):
        super().__init__()
        self.embedding_table = nn.Embedding(num_classes + 1, D)  # last row: the null class


class CondEmbedder(nn.Module):
    def __init__(self, cond_dim, D, pooled):
        super().__init__()
        self.proj = nn.Linear(cond_dim, D)
        self.null = nn.Parameter(torch.zeros(1, cond_dim))
        if pooled:
            self.pool = nn.Linear(D, D)


class DiT(nn.Module):
    """vitrail's DiT. cfg: the config dict (or JSON). dtype: float32 or float64."""

    def __init__(self, cfg, dtype=torch.float32):
        super().__init__()
        cfg = normalize_config(cfg)
        self.cfg = cfg
        D, p, C = cfg["hidden_size"], cfg["patch_size"], cfg["in_channels"]
        H, W = cfg["input_size"]
        self.C, self.p, self.D, self.Cout = C, p, D, cfg["out_channels"]
        self.T = cfg["frames"]
        self.h, self.w = H // p, W // p
        self.x_embedder = PatchEmbed(C, D, p)
        self.t_embedder = TimestepEmbedder(D)
        if cfg["num_classes"]:
            self.y_embedder = LabelEmbedder(cfg["num_classes"], D)
        if cfg["cond_dim"]:
            self.cond_embedder = CondEmbedder(cfg["cond_dim"], D, cfg["cond_pooled"])
        self.register_buffer("pos_embed", sincos_2d(D, self.h, self.w).float().unsqueeze(0))
        if self.T:
            self.register_buffer("temp_embed", sincos_1d(D, torch.arange(self.T)).float().unsqueeze(0))
        self.blocks = nn.ModuleList(
            [DiTBlock(D, cfg["num_heads"], cfg["mlp_hidden"], cfg["cond_dim"] > 0) for _ in range(cfg["depth"])])
        self.final_layer = FinalLayer(D, p, self.Cout)
        self.patterns = [parse_pattern(s) for s in cfg["attention"]]
        T = max(self.T, 1)
        for pat in self.patterns:
            check_pattern_fits(pat, T, self.h, self.w)
        self._masks = {}
        self.to(dtype)
        self.eval()

    @property
    def dtype(self):
        return self.final_layer.linear.weight.dtype

    def mask(self, i, T=None):
        """Block i's allowed-key mask (1, 1, N, N) on a clip of T frames (default: the
        model's), or None for full attention."""
        if self.patterns[i]["kind"] == "full":
            return None
        T = max(self.T, 1) if T is None else T
        if (i, T) not in self._masks:
            self._masks[(i, T)] = allowed_mask(self.patterns[i], T, self.h, self.w)[None, None]
        return self._masks[(i, T)]

    @torch.no_grad()
    def forward(self, x, t, y=None, cond=None, cond_mask=None):
        """x (B, C, H, W), or (B, C, T, H, W) with 1 <= T <= frames for a video model
        (frame position embedding rows [0, T); T = 1 is an image); t (B): the DDPM
        step, or t * timestep_scale for v models; y (B) labels (None: the null class);
        cond (B, L, cond_dim); cond_mask (B, L), nonzero = present (None: all present).
        Returns (B, C_out, [T,] H, W) in the model's dtype."""
        cfg, dt = self.cfg, self.dtype
        H, W = cfg["input_size"]
        video = self.T > 0
        ok = (x.dim() == 5 and x.shape[1] == self.C and 1 <= x.shape[2] <= self.T and tuple(x.shape[3:]) == (H, W)
              if video else tuple(x.shape[1:]) == (self.C, H, W))
        if not ok:
            raise ValueError("forward: x has shape %s, the model takes (B, %s)" % (
                tuple(x.shape), ", ".join(map(str, (self.C, "1..%d" % self.T, H, W) if video else (self.C, H, W)))))
        x = x.to(dt)
        B = x.shape[0]
        T = x.shape[2] if video else 1
        for pat in self.patterns:
            check_pattern_fits(pat, T, self.h, self.w)
        frames = x.permute(0, 2, 1, 3, 4).reshape(B * T, self.C, H, W) if video else x
        tok = self.x_embedder.proj(frames).flatten(2).transpose(1, 2)  # (B*T, h*w, D)
        tok = (tok + self.pos_embed.to(dt)).reshape(B, T, self.h * self.w, self.D)
        if video:
            tok = tok + self.temp_embed.to(dt)[0, :T][None, :, None, :]
        xs = tok.reshape(B, T * self.h * self.w, self.D)

        c = self.t_embedder.mlp(timestep_embedding(torch.as_tensor(t).reshape(B), FREQ_DIM, dtype=dt))
        if cfg["num_classes"]:
            if y is None:
                y = torch.full((B,), cfg["num_classes"], dtype=torch.long)
            y = torch.as_tensor(y).reshape(B)
            y = torch.round(y.double()).long() if y.is_floating_point() else y.long()
            if (y < 0).any() or (y > cfg["num_classes"]).any():
                raise ValueError("forward: class label outside 0..%d" % cfg["num_classes"])
            c = c + self.y_embedder.embedding_table(y)
        cproj = present = None
        if cfg["cond_dim"]:
            if cond is None:
                raise ValueError("forward: the model needs conditioning tokens (B, L, %d)" % cfg["cond_dim"])
            cond = cond.to(dt)
            cproj = self.cond_embedder.proj(cond)  # (B, L, D)
            present = torch.ones(cond.shape[:2], dtype=torch.bool) if cond_mask is None else cond_mask != 0
            if cfg["cond_pooled"]:
                w_ = present.to(dt)
                cnt = w_.sum(1, keepdim=True)
                pooled = (cproj * w_[..., None]).sum(1) / cnt.clamp(min=1)  # no present token: zero
                c = c + self.cond_embedder.pool(pooled)
        for i, blk in enumerate(self.blocks):
            xs = blk(xs, c, self.mask(i, T), cproj, present)
        xs = self.final_layer(xs, c)  # (B, N, p*p*C_out), features (p, q, c)
        p, Co = self.p, self.Cout
        xs = xs.reshape(B * T, self.h, self.w, p, p, Co)
        xs = torch.einsum("nhwpqc->nchpwq", xs).reshape(B * T, Co, self.h * p, self.w * p)
        if video:
            xs = xs.reshape(B, T, Co, H, W).permute(0, 2, 1, 3, 4).contiguous()
        return xs

    # ---- files ----

    def file_tensors(self, with_pos_embed=True):
        """The tensors of a model file, named as docs/model-format.md lists them, float32."""
        sd = {k: v.detach().float().contiguous() for k, v in self.state_dict().items()}
        if not with_pos_embed:
            sd.pop("pos_embed", None)
            sd.pop("temp_embed", None)
        return sd

    def load_file_tensors(self, tensors):
        """Loads file tensors (any float dtype); pos_embed / temp_embed may be absent
        (then computed). Every other tensor must be there with its exact shape."""
        sd = self.state_dict()
        missing = [k for k in sd if k not in tensors and k not in ("pos_embed", "temp_embed")]
        unexpected = [k for k in tensors if k not in sd]
        if missing or unexpected:
            raise ValueError("model file: missing %s, unexpected %s" % (missing, unexpected))
        for k, v in tensors.items():
            if tuple(v.shape) != tuple(sd[k].shape):
                raise ValueError("model file: %s has shape %s, expected %s" % (k, tuple(v.shape), tuple(sd[k].shape)))
        with torch.no_grad():
            for k, v in tensors.items():
                sd[k].copy_(v.to(sd[k].dtype))

    @staticmethod
    def from_file(path, dtype=torch.float32):
        import st_io

        tensors, meta = st_io.load(path)
        if "config" not in meta:
            raise ValueError('%s: no "config" in __metadata__' % path)
        m = DiT(json.loads(meta["config"]), dtype=dtype)
        m.load_file_tensors(tensors)
        return m


def main(argv):
    import st_io

    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 3:
        print("usage: dit_ref.py MODEL.safetensors IN.safetensors OUT.safetensors [--f32]", file=sys.stderr)
        return 2
    dtype = torch.float32 if "--f32" in argv else torch.float64
    model = DiT.from_file(args[0], dtype=dtype)
    inp, _ = st_io.load(args[1])
    out = model(inp["x"], inp["t"], y=inp.get("y"), cond=inp.get("cond"), cond_mask=inp.get("cond_mask"))
    st_io.save(args[2], {"out": out.float()})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
