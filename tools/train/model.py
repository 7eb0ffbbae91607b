"""The trainable twin of vitrail's whole chain (docs/encoders.md, docs/model-format.md):
word tokenizer -> text encoder; ViT image encoder -> cross-modal fusion -> token
pruning; DiT denoiser conditioned on [text tokens; pruned image tokens].

Parameter names are the model file's names, so export is a rename-free dump.
The math is the reference's (tools/reference/dit_ref.py, encoders_ref.py) with
two changes that do not alter results, only speed: attention goes through
F.scaled_dot_product_attention with the pattern's structure (spatial = per
frame, temporal = per token across frames, neighborhood = per frame with its
(hw, hw) mask from dit_ref.allowed_mask) instead of one dense (N, N) mask, and
the forward keeps gradients. tools/train/check_export.py checks an exported
model against the C engine.
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "reference"))
import dit_ref  # noqa: E402

LN_EPS = 1e-6


def attend(q, k, v, mask=None):
    """q (B, H, Nq, d), k/v (B, H, Nk, d); mask bool broadcastable to (B, H, Nq, Nk),
    True = may attend. Every query has at least one allowed key here."""
    if k.shape[-2] == 1:
        return v.expand_as(q) if q.shape[-2] != 1 else v  # one key: softmax weight 1
    if hasattr(F, "scaled_dot_product_attention"):
        # CUDA kernels take at most 65535 batch*head blocks in one grid dimension:
        # temporal attention over 256-image batches has 256*256 sequences.
        if q.shape[0] * q.shape[1] > 32768 and (mask is None or mask.shape[0] == 1):
            n = max(1, 32768 // q.shape[1])
            return torch.cat([F.scaled_dot_product_attention(q[i:i + n], k[i:i + n], v[i:i + n], attn_mask=mask)
                              for i in range(0, q.shape[0], n)], 0)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    s = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    return s.softmax(-1) @ v


# ---- encoders (timm blocks: pre-LN, erf GELU, LayerNorm eps 1e-6) ----


class EncAttention(nn.Module):
    def __init__(self, D, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(D, 3 * D)
        self.proj = nn.Linear(D, D)

    def forward(self, x, key_mask=None):
        B, N, D = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        m = None if key_mask is None else key_mask[:, None, None, :].bool()
        o = attend(qkv[0], qkv[1], qkv[2], m)
        return self.proj(o.transpose(1, 2).reshape(B, N, D))


class EncMlp(nn.Module):
    def __init__(self, D, M):
        super().__init__()
        self.fc1 = nn.Linear(D, M)
        self.fc2 = nn.Linear(M, D)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class EncBlock(nn.Module):
    def __init__(self, D, heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(D, eps=LN_EPS)
        self.attn = EncAttention(D, heads)
        self.norm2 = nn.LayerNorm(D, eps=LN_EPS)
        self.mlp = EncMlp(D, int(D * mlp_ratio))

    def forward(self, x, key_mask=None):
        x = x + self.attn(self.norm1(x), key_mask)
        return x + self.mlp(self.norm2(x))


class TextEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        D = c["hidden"]
        self.token_embedding = nn.Embedding(c["vocab"], D)
        self.pos_embed = nn.Parameter(torch.zeros(1, c["max_len"], D))
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.pos_embed, std=0.02)
        self.blocks = nn.ModuleList([EncBlock(D, c["heads"], c.get("mlp_ratio", 4.0)) for _ in range(c["depth"])])
        self.norm = nn.LayerNorm(D, eps=LN_EPS)

    def forward(self, ids, mask):
        x = self.token_embedding(ids) + self.pos_embed[:, : ids.shape[1]]
        for b in self.blocks:
            x = b(x, mask)
        return self.norm(x)


class PatchEmbed(nn.Module):
    def __init__(self, D, p):
        super().__init__()
        self.proj = nn.Conv2d(3, D, kernel_size=p, stride=p)


class ImageEncoder(nn.Module):
    """timm VisionTransformer.forward_features: (B, 3, S, S) in [-1, 1] -> (B, 1 + N, D)."""

    def __init__(self, c):
        super().__init__()
        D, p = c["hidden"], c["patch"]
        n = (c["image_size"] // p) ** 2
        self.patch_embed = PatchEmbed(D, p)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + n, D))
        nn.init.normal_(self.cls_token, std=0.02)
        nn.init.normal_(self.pos_embed, std=0.02)
        self.blocks = nn.ModuleList([EncBlock(D, c["heads"], c.get("mlp_ratio", 4.0)) for _ in range(c["depth"])])
        self.norm = nn.LayerNorm(D, eps=LN_EPS)

    def forward(self, img):
        x = self.patch_embed.proj(img).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed
        for b in self.blocks:
            x = b(x)
        return self.norm(x)


class CrossAttn(nn.Module):
    def __init__(self, Di, Dt):
        super().__init__()
        self.q = nn.Linear(Di, Di)
        self.kv = nn.Linear(Dt, 2 * Di)
        self.proj = nn.Linear(Di, Di)


class CrossBlock(nn.Module):
    def __init__(self, Di, Dt, heads, mlp_ratio):
        super().__init__()
        self.heads = heads
        self.norm_q = nn.LayerNorm(Di, eps=LN_EPS)
        self.norm_kv = nn.LayerNorm(Dt, eps=LN_EPS)
        self.attn = CrossAttn(Di, Dt)
        self.norm2 = nn.LayerNorm(Di, eps=LN_EPS)
        self.mlp = EncMlp(Di, int(Di * mlp_ratio))

    def forward(self, x, text, text_mask, want_map):
        B, Ni, Di = x.shape
        Nt, h = text.shape[1], self.heads
        hd = Di // h
        q = self.attn.q(self.norm_q(x)).reshape(B, Ni, h, hd).transpose(1, 2)
        kv = self.attn.kv(self.norm_kv(text)).reshape(B, Nt, 2, h, hd).permute(2, 0, 3, 1, 4)
        amap = None
        if want_map:  # docs/encoders.md "Text->image map": softmax over image tokens, mean over heads and present text
            with torch.no_grad():
                prob = (kv[0].float() @ q.float().transpose(-1, -2) / math.sqrt(hd)).softmax(-1)  # (B, h, Nt, Ni)
                w = text_mask.float()[:, None, :, None]
                amap = (prob * w).sum((1, 2)) / (h * text_mask.float().sum(1, keepdim=True))
        o = attend(q, kv[0], kv[1], text_mask[:, None, None, :].bool())
        x = x + self.attn.proj(o.transpose(1, 2).reshape(B, Ni, Di))
        return x + self.mlp(self.norm2(x)), amap


class CrossModal(nn.Module):
    def __init__(self, c, Di, Dt):
        super().__init__()
        self.blocks = nn.ModuleList([CrossBlock(Di, Dt, c["heads"], c.get("mlp_ratio", 4.0)) for _ in range(c["depth"])])

    def forward(self, image, text, text_mask):
        amap = None
        for i, b in enumerate(self.blocks):
            image, m = b(image, text, text_mask, i == len(self.blocks) - 1)
            amap = m if m is not None else amap
        return image, amap


def prune(tokens, score, keep_ratio, merge):
    """docs/encoders.md "Token pruning": the k = ceil(r*N - 1e-6) highest scores
    (ties to the lower index), kept in their original order; with merge, every
    dropped token joins its most cosine-similar kept token and each kept token
    becomes the plain average of its group. tokens (B, N, D), score (B, N)."""
    B, N, D = tokens.shape
    k = max(1, min(N, math.ceil(keep_ratio * N - 1e-6)))
    if k == N:
        return tokens
    order = torch.sort(-score.float(), dim=1, stable=True).indices
    kept_idx = order[:, :k].sort(dim=1).values
    kept = tokens.gather(1, kept_idx[..., None].expand(B, k, D))
    if not merge:
        return kept
    drop_idx = order[:, k:]
    dropped = tokens.gather(1, drop_idx[..., None].expand(B, N - k, D))
    with torch.no_grad():
        sim = F.normalize(dropped.float(), dim=-1) @ F.normalize(kept.float(), dim=-1).transpose(1, 2)
        dest = sim.argmax(-1)  # first maximum: the earlier kept token on ties
    sums = kept.float().scatter_add(1, dest[..., None].expand(B, N - k, D), dropped.float())
    cnt = torch.ones(B, k, device=tokens.device).scatter_add(1, dest, torch.ones(B, N - k, device=tokens.device))
    return (sums / cnt[..., None]).to(tokens.dtype)


# ---- the DiT, trainable, pattern-structured attention ----


class TrainDiT(dit_ref.DiT):
    """dit_ref.DiT's parameters and math; forward with gradients; x (B, C, T, H, W)
    with 1 <= T <= frames (T = 1: an image from a video model)."""

    def __init__(self, cfg):
        super().__init__(cfg, dtype=torch.float32)
        self.train()
        self._nb = {}
        for p in self.patterns:
            if p["kind"] not in ("full", "spatial", "temporal", "neighborhood"):
                raise ValueError("trainer: attention kind %s is not wired" % p["kind"])
            if p["kind"] == "neighborhood" and (p["kernel"][0] != 1 or p["causal"]):
                raise ValueError("trainer: only 2D neighborhoods are wired")
        self._init_weights()

    def _init_weights(self):
        """DiT's initialize_weights: xavier linears, zeroed adaLN and final layer."""
        def basic(m):
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        self.apply(basic)
        w = self.x_embedder.proj.weight.data
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.x_embedder.proj.bias)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        for b in self.blocks:
            nn.init.zeros_(b.adaLN_modulation[-1].weight)
            nn.init.zeros_(b.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_layer.adaLN_modulation[-1].weight)
        nn.init.zeros_(self.final_layer.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_layer.linear.weight)
        nn.init.zeros_(self.final_layer.linear.bias)
        if hasattr(self, "cond_embedder"):
            nn.init.normal_(self.cond_embedder.null, std=0.02)

    def _self_attn(self, blk, x, i, T):
        B, N, D = x.shape
        hw = self.h * self.w
        heads = blk.attn.heads
        hd = D // heads
        kind = self.patterns[i]["kind"]
        qkv = blk.attn.qkv(x)  # (B, N, 3D), N = T*hw in (t, row, col) order
        if kind == "temporal":
            qkv = qkv.reshape(B, T, hw, 3, heads, hd).permute(3, 0, 2, 4, 1, 5).reshape(3, B * hw, heads, T, hd)
            o = attend(qkv[0], qkv[1], qkv[2])
            o = o.reshape(B, hw, heads, T, hd).permute(0, 3, 1, 2, 4).reshape(B, N, D)
        else:
            G, L = (B, N) if kind == "full" else (B * T, hw)
            qkv = qkv.reshape(G, L, 3, heads, hd).permute(2, 0, 3, 1, 4)
            m = None
            if kind == "neighborhood":
                key = (i, x.device)
                if key not in self._nb:
                    self._nb[key] = dit_ref.allowed_mask(self.patterns[i], 1, self.h, self.w).to(x.device)[None, None]
                m = self._nb[key]
            o = attend(qkv[0], qkv[1], qkv[2], m).transpose(1, 2).reshape(B, N, D)
        return blk.attn.proj(o)

    def forward(self, x, t, cond, cond_mask):
        """x (B, C, T, H, W); t (B) = s * timestep_scale; cond (B, L, cond_dim);
        cond_mask (B, L) bool/float, nonzero = present. -> (B, C, T, H, W)."""
        B, C, T, H, W = x.shape
        if not 1 <= T <= max(self.T, 1):
            raise ValueError("x has %d frames, the model takes 1..%d" % (T, max(self.T, 1)))
        frames = x.permute(0, 2, 1, 3, 4).reshape(B * T, C, H, W)
        tok = self.x_embedder.proj(frames).flatten(2).transpose(1, 2)
        tok = (tok + self.pos_embed).reshape(B, T, self.h * self.w, self.D)
        if self.T:
            tok = tok + self.temp_embed[0, :T][None, :, None, :]
        xs = tok.reshape(B, T * self.h * self.w, self.D)
        c = self.t_embedder.mlp(dit_ref.timestep_embedding(t, dit_ref.FREQ_DIM, dtype=self.pos_embed.dtype))
        cproj = self.cond_embedder.proj(cond)
        present = cond_mask.bool()
        if self.cfg["cond_pooled"]:
            w_ = present.to(cproj.dtype)
            pooled = (cproj * w_[..., None]).sum(1) / w_.sum(1, keepdim=True).clamp(min=1)
            c = c + self.cond_embedder.pool(pooled)
        heads = self.cfg["num_heads"]
        for i, blk in enumerate(self.blocks):
            sm, scm, gm, sp, scp, gp = blk.adaLN_modulation(c).chunk(6, dim=1)
            xs = xs + gm.unsqueeze(1) * self._self_attn(blk, dit_ref.modulate(blk.norm1(xs), sm, scm), i, T)
            ca = blk.cross_attn
            N, L, D = xs.shape[1], cproj.shape[1], self.D
            q = ca.q(xs).reshape(B, N, heads, D // heads).transpose(1, 2)
            kv = ca.kv(cproj).reshape(B, L, 2, heads, D // heads).permute(2, 0, 3, 1, 4)
            o = attend(q, kv[0], kv[1], present[:, None, None, :])
            xs = xs + ca.proj(o.transpose(1, 2).reshape(B, N, D))
            xs = xs + gp.unsqueeze(1) * blk.mlp(dit_ref.modulate(blk.norm2(xs), sp, scp))
        xs = self.final_layer(xs, c)
        p, Co = self.p, self.Cout
        xs = xs.reshape(B * T, self.h, self.w, p, p, Co)
        xs = torch.einsum("nhwpqc->nchpwq", xs).reshape(B, T, Co, H, W)
        return xs.permute(0, 2, 1, 3, 4)


class Chain(nn.Module):
    """Everything one model file holds. cfg: the file's config (DiT keys plus the
    text_encoder / image_encoder / cross_modal sections)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        dit_keys = {k: v for k, v in cfg.items() if k not in ("text_encoder", "image_encoder", "cross_modal")}
        self.dit = TrainDiT(dit_keys)
        self.text_encoder = TextEncoder(cfg["text_encoder"])
        self.image_encoder = ImageEncoder(cfg["image_encoder"])
        self.cross_modal = CrossModal(cfg["cross_modal"], cfg["image_encoder"]["hidden"], cfg["text_encoder"]["hidden"])

    def condition(self, ids, tmask, src, has_src, keep_ratio, merge=True):
        """-> cond (B, L [+ k], D), mask (B, L [+ k]): [text tokens; pruned fused image
        tokens] as the pipeline's denoise stage concatenates them; rows without a
        source image get their image tokens masked out."""
        text = self.text_encoder(ids, tmask)
        if src is None:
            return text, tmask
        img = self.image_encoder(src)
        fused, amap = self.cross_modal(img, text, tmask)
        pr = prune(fused, amap, keep_ratio, merge)
        m = has_src.to(tmask.dtype)[:, None].expand(-1, pr.shape[1])
        return torch.cat([text, pr], 1), torch.cat([tmask, m], 1)

    def file_tensors(self, dtype=torch.float32):
        """name -> float32 tensor, the model file's names (pos_embed / temp_embed of
        the DiT are fixed sin-cos and left out: the engine computes them)."""
        out = {}
        for k, v in self.dit.state_dict().items():
            if k not in ("pos_embed", "temp_embed"):
                out[k] = v
        for pre, mod in (("text_encoder.", self.text_encoder), ("image_encoder.", self.image_encoder),
                         ("cross_modal.", self.cross_modal)):
            for k, v in mod.state_dict().items():
                out[pre + k] = v
        return {k: v.detach().to(dtype).cpu().contiguous() for k, v in out.items()}

    def load_file_tensors(self, t):
        own = self.file_tensors()
        missing = [k for k in own if k not in t]
        if missing:
            raise ValueError("missing tensors: %s" % missing[:5])
        with torch.no_grad():
            for k, v in t.items():
                if k.startswith(("text_encoder.", "image_encoder.", "cross_modal.")):
                    pre, rest = k.split(".", 1)
                    getattr(self, pre).state_dict()[rest].copy_(v.float())
                elif k in self.dit.state_dict():
                    self.dit.state_dict()[k].copy_(v.float())
