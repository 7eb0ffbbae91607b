"""Minimal safetensors reader/writer for the reference tools, so nothing beyond
PyTorch is needed (Debian ships no `safetensors` package). Layout: 8-byte
little-endian header length, the JSON header (padded with spaces to a multiple of
8), then the tensors back to back. Files written here are also valid for the
official `safetensors` library, which insists that tensors tile the data section
with no gaps: alignment therefore comes from the order (widest element first, the
data section starting 8-aligned), not from padding."""
import json
import struct
import sys

import torch

DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}

if sys.byteorder != "little":
    raise RuntimeError("st_io: safetensors is little-endian; this host is not")


def _itemsize(dt):
    return torch.empty(0, dtype=dt).element_size()


def _raw(t):
    """The tensor's bytes in C order."""
    t = t.detach().cpu().contiguous()
    if t.numel() == 0:
        return b""
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16
        t = t.view(torch.int16)
    try:
        return t.numpy().tobytes()
    except (RuntimeError, TypeError):  # no numpy: go through bytes of a uint8 view
        return bytes(t.reshape(-1).view(torch.uint8).tolist())


def save(path, tensors, metadata=None):
    """tensors: dict name -> torch tensor of a dtype in DTYPES. Deterministic: the same
    inputs give the same bytes. Order in the file: by element size, widest first,
    then in the dict's order."""
    names = list(tensors)
    order = sorted(range(len(names)), key=lambda i: (-_itemsize(tensors[names[i]].dtype), i))
    header, blobs, off = {}, [], 0
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("st_io.save: __metadata__ keys and values must be strings (%r: %r)" % (k, v))
        header["__metadata__"] = dict(metadata)
    for i in order:
        name, t = names[i], tensors[names[i]]
        if name == "__metadata__":
            raise ValueError("st_io.save: '__metadata__' is not a tensor name")
        if t.dtype not in NAMES:
            raise TypeError("st_io.save: %s has dtype %s, not one of %s" % (name, t.dtype, sorted(DTYPES)))
        raw = _raw(t)
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path, dtype=None):
    """Returns (dict name -> tensor, metadata dict). Tensors keep their file dtype,
    or are converted to `dtype` when given. Checks offsets the way vitrail's reader
    does (inside the data section, no overlap, the right byte count)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: shorter than 8 bytes" % path)
    (hl,) = struct.unpack("<Q", data[:8])
    if 8 + hl > len(data):
        raise ValueError("%s: header length %d exceeds the file" % (path, hl))
    header = json.loads(data[8 : 8 + hl].decode("utf-8"))
    meta = header.pop("__metadata__", None) or {}
    base, size = 8 + hl, len(data) - 8 - hl
    out, spans = {}, []
    for name, e in header.items():
        dt = DTYPES[e["dtype"]]
        shape = [int(v) for v in e["shape"]]
        b, en = (int(v) for v in e["data_offsets"])
        n = 1
        for v in shape:
            n *= v
        if not (0 <= b <= en <= size) or en - b != n * _itemsize(dt):
            raise ValueError("%s: tensor %s has bad data_offsets %s" % (path, name, e["data_offsets"]))
        spans.append((b, en, name))
        raw = bytearray(data[base + b : base + en])
        if dt == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if n else torch.zeros(0, dtype=dt)
        else:
            t = torch.frombuffer(raw, dtype=dt) if n else torch.zeros(0, dtype=dt)
        t = t.reshape(shape)
        out[name] = t.to(dtype) if dtype is not None else t
    spans.sort()
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise ValueError("%s: tensors %s and %s overlap" % (path, n0, n1))
    return out, meta
