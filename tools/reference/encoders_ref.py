"""Reference implementation of vitrail's encoders (docs/encoders.md) in plain
PyTorch, written from the definitions and not from the C code: the word
tokenizer, the text encoder, the ViT (timm VisionTransformer math), cross-modal
fusion with its text->image map. Functional: every module takes the model's
weight dict `W` (name -> tensor) and the config dict. Runs in any dtype; the
fixtures use float64."""
import math
import re

import torch
import torch.nn.functional as F

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIAL = ["<pad>", "<unk>", "<bos>", "<eos>"]
LN_EPS = 1e-6


def tokenize(text, vocab, max_len):
    """-> (ids list of max_len, mask list, truncated). Words: ASCII alphanumeric runs,
    lowercased. Raises ValueError on a prompt without words."""
    words = [w.lower() for w in re.findall(r"[A-Za-z0-9]+", text)]
    if not words:
        raise ValueError("empty prompt")
    index = {w: i for i, w in enumerate(vocab)}
    room = max_len - 2
    truncated = len(words) > room
    ids = [BOS] + [index.get(w, UNK) for w in words[:room]] + [EOS]  # "<...>" never matches [A-Za-z0-9]+
    mask = [1.0] * len(ids) + [0.0] * (max_len - len(ids))
    ids += [PAD] * (max_len - len(ids))
    return ids, mask, truncated


def _ln(x, W, name):
    return F.layer_norm(x, (x.shape[-1],), W[name + ".weight"], W[name + ".bias"], LN_EPS)


def _lin(x, W, name):
    return F.linear(x, W[name + ".weight"], W[name + ".bias"])


def _attend(q, k, v, heads, key_mask=None):
    """q (B, Nq, D), k, v (B, Nk, D) -> (B, Nq, D); key_mask (B, Nk) 1 = present."""
    B, Nq, D = q.shape
    Nk = k.shape[1]
    hd = D // heads
    q = q.reshape(B, Nq, heads, hd).transpose(1, 2)
    k = k.reshape(B, Nk, heads, hd).transpose(1, 2)
    v = v.reshape(B, Nk, heads, hd).transpose(1, 2)
    s = q @ k.transpose(-1, -2) / math.sqrt(hd)
    if key_mask is not None:
        s = s.masked_fill(key_mask[:, None, None, :] == 0, float("-inf"))
    return (s.softmax(-1) @ v).transpose(1, 2).reshape(B, Nq, D)


def _block(x, W, p, heads, key_mask=None):
    """timm Block, pre-LN, erf GELU."""
    D = x.shape[-1]
    qkv = _lin(_ln(x, W, p + "norm1"), W, p + "attn.qkv")
    q, k, v = qkv[..., :D], qkv[..., D : 2 * D], qkv[..., 2 * D :]
    x = x + _lin(_attend(q, k, v, heads, key_mask), W, p + "attn.proj")
    h = F.gelu(_lin(_ln(x, W, p + "norm2"), W, p + "mlp.fc1"))
    return x + _lin(h, W, p + "mlp.fc2")


def text_encoder(W, cfg, ids, mask):
    """ids (B, L) long, mask (B, L) -> (B, L, D)."""
    c = cfg["text_encoder"]
    L = ids.shape[1]
    x = W["text_encoder.token_embedding.weight"][ids] + W["text_encoder.pos_embed"][:, :L]
    for i in range(c["depth"]):
        x = _block(x, W, "text_encoder.blocks.%d." % i, c["heads"], mask)
    return _ln(x, W, "text_encoder.norm")


def vit(W, cfg, images):
    """images (B, 3, S, S) -> (B, 1 + N, D), class token first (timm forward_features)."""
    c = cfg["image_encoder"]
    P = "image_encoder."
    x = F.conv2d(images, W[P + "patch_embed.proj.weight"], W[P + "patch_embed.proj.bias"], stride=c["patch"])
    x = x.flatten(2).transpose(1, 2)
    cls = W[P + "cls_token"].expand(x.shape[0], -1, -1)
    x = torch.cat([cls, x], 1) + W[P + "pos_embed"]
    for i in range(c["depth"]):
        x = _block(x, W, P + "blocks.%d." % i, c["heads"])
    return _ln(x, W, P + "norm")


def cross_modal(W, cfg, image, text, text_mask):
    """image (B, Ni, Di), text (B, Nt, Dt), text_mask (B, Nt) -> (fused (B, Ni, Di),
    map (B, Ni)): image tokens attend to the present text tokens; the map is the last
    block's scores with text as queries, softmax over image tokens, mean over heads
    and present text tokens."""
    c = cfg["cross_modal"]
    heads = c["heads"]
    x = image
    Di = image.shape[-1]
    hd = Di // heads
    amap = None
    for i in range(c["depth"]):
        p = "cross_modal.blocks.%d." % i
        q = _lin(_ln(x, W, p + "norm_q"), W, p + "attn.q")
        kv = _lin(_ln(text, W, p + "norm_kv"), W, p + "attn.kv")
        k, v = kv[..., :Di], kv[..., Di:]
        if i == c["depth"] - 1:
            B, Ni, Nt = x.shape[0], x.shape[1], text.shape[1]
            qh = q.reshape(B, Ni, heads, hd).transpose(1, 2)   # (B, H, Ni, hd)
            kh = k.reshape(B, Nt, heads, hd).transpose(1, 2)   # (B, H, Nt, hd)
            prob = (kh @ qh.transpose(-1, -2) / math.sqrt(hd)).softmax(-1)  # (B, H, Nt, Ni)
            w = text_mask[:, None, :, None]
            amap = (prob * w).sum((1, 2)) / (heads * text_mask.sum(1, keepdim=True))
        x = x + _lin(_attend(q, k, v, heads, text_mask), W, p + "attn.proj")
        h = F.gelu(_lin(_ln(x, W, p + "norm2"), W, p + "mlp.fc1"))
        x = x + _lin(h, W, p + "mlp.fc2")
    return x, amap


def encoder_tensor_shapes(cfg):
    """name -> shape of every tensor the three encoders read."""
    out = {}
    t, v, x = cfg["text_encoder"], cfg["image_encoder"], cfg["cross_modal"]

    def block(prefix, D, M):
        for n in ("norm1", "norm2"):
            out[prefix + n + ".weight"] = (D,)
            out[prefix + n + ".bias"] = (D,)
        for n, o, i in (("attn.qkv", 3 * D, D), ("attn.proj", D, D), ("mlp.fc1", M, D), ("mlp.fc2", D, M)):
            out[prefix + n + ".weight"] = (o, i)
            out[prefix + n + ".bias"] = (o,)

    D = t["hidden"]
    out["text_encoder.token_embedding.weight"] = (t["vocab"], D)
    out["text_encoder.pos_embed"] = (1, t["max_len"], D)
    for i in range(t["depth"]):
        block("text_encoder.blocks.%d." % i, D, int(D * t.get("mlp_ratio", 4.0)))
    out["text_encoder.norm.weight"] = out["text_encoder.norm.bias"] = (D,)
    Di, p = v["hidden"], v["patch"]
    n = (v["image_size"] // p) ** 2
    out["image_encoder.patch_embed.proj.weight"] = (Di, 3, p, p)
    out["image_encoder.patch_embed.proj.bias"] = (Di,)
    out["image_encoder.cls_token"] = (1, 1, Di)
    out["image_encoder.pos_embed"] = (1, 1 + n, Di)
    for i in range(v["depth"]):
        block("image_encoder.blocks.%d." % i, Di, int(Di * v.get("mlp_ratio", 4.0)))
    out["image_encoder.norm.weight"] = out["image_encoder.norm.bias"] = (Di,)
    M = int(Di * x.get("mlp_ratio", 4.0))
    for i in range(x["depth"]):
        p = "cross_modal.blocks.%d." % i
        for nm, d in (("norm_q", Di), ("norm_kv", t["hidden"]), ("norm2", Di)):
            out[p + nm + ".weight"] = out[p + nm + ".bias"] = (d,)
        for nm, o, i_ in (("attn.q", Di, Di), ("attn.kv", 2 * Di, t["hidden"]), ("attn.proj", Di, Di),
                          ("mlp.fc1", M, Di), ("mlp.fc2", Di, M)):
            out[p + nm + ".weight"] = (o, i_)
            out[p + nm + ".bias"] = (o,)
    return out
