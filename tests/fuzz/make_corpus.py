#!/usr/bin/env python3
"""Writes the fuzz seed corpus: small valid safetensors files of each dtype, with
and without metadata, and a few malformed ones. Standard library only."""
import json, os, struct, sys

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus")
os.makedirs(out, exist_ok=True)

def st(tensors, meta=None, raw_header=None):
    header, data = {}, b""
    if meta is not None:
        header["__metadata__"] = meta
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
        data += b"\0" * (-len(data) % 8)
    h = raw_header if raw_header is not None else json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data

f32 = struct.pack("<4f", 1.0, -2.0, 0.5, 3.25)
f16 = struct.pack("<4H", 0x3C00, 0x3555, 0x7BFF, 0x8000)
uh = b'{"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} '
uh += b" " * (1 - len(uh) % 2)
unpadded = struct.pack("<Q", len(uh)) + uh + f32[:4] + b"\0" * 4 + f16[:4]

seeds = {
    "f32.safetensors": st([("w", "F32", [2, 2], f32)]),
    "f16_meta.safetensors": st([("a", "F16", [4], f16)], {"config": json.dumps({"arch": "dit", "depth": 1})}),
    "bf16_two.safetensors": st([("a", "BF16", [2], f16[:4]), ("b", "F32", [1, 1, 1, 1, 1], f32[:4])], {"k": "v"}),
    "empty_tensor.safetensors": st([("z", "F32", [0, 3], b"")]),
    "overlap.safetensors": st([], raw_header=b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}') + b"\0" * 16,
    "bad_dtype.safetensors": st([("x", "I64", [1], b"\0" * 8)]),
    "escapes.safetensors": st([("\u00e9\\\"", "F32", [1], f32[:4])], {"s": "\ud83d\ude00\n"}),
    "huge_len.safetensors": struct.pack("<Q", 1 << 63) + b"{}",
    "deep.json": b"[" * 70 + b"]" * 70,
    # a header of odd length (so the data is unaligned in memory), tensors out of
    # offset order with a hole between them
    "unpadded.safetensors": unpadded,
}
for name, blob in seeds.items():
    with open(os.path.join(out, name), "wb") as fh:
        fh.write(blob)
print(f"wrote {len(seeds)} seeds to {out}", file=sys.stderr)
