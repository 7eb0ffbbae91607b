"""Minimal safetensors reader/writer for the reference tools (no dependency on the
`safetensors` package, which Debian does not ship): 8-byte LE header length,
JSON header, tensor bytes; F32/F16/BF16."""
import json
import struct

import torch

_DT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
_NAME = {v: k for k, v in _DT.items()}


def save(path, tensors, metadata=None):
    """tensors: dict name -> torch tensor (F32/F16/BF16), written in dict order."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().tobytes()
        header[name] = {"dtype": _NAME[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        pad = b"\0" * (-len(raw) % 8)
        blobs += [raw, pad]
        off += len(raw) + len(pad)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    """Returns (dict name -> float32 tensor, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    (hl,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + hl])
    meta = header.pop("__metadata__", {})
    base = 8 + hl
    out = {}
    for name, e in header.items():
        b, en = e["data_offsets"]
        raw = bytearray(data[base + b : base + en])
        dt = _DT[e["dtype"]]
        if dt == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if len(raw) else torch.zeros(0, dtype=dt)
        else:
            t = torch.frombuffer(raw, dtype=dt) if len(raw) else torch.zeros(0, dtype=dt)
        out[name] = t.reshape(e["shape"]).float()
    return out, meta
