"""vitrail's noise, bit for bit (core/rng.c): Philox4x32-10 (Salmon et al., SC'11)
keyed by the seed, counter (block, stream), then Box-Muller in double, rounded once
to float32. Normal number idx of (seed, stream) comes from block idx // 4.

Vectorised with numpy when it is installed; a pure-Python path gives the same
numbers without it (and is the definition the numpy path is checked against).

    python3 vt_rng.py      # known-answer test + numpy/pure-Python agreement
"""
import math
import struct

try:
    import numpy as np
except ImportError:  # PyTorch 2.x no longer requires numpy
    np = None

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK = 0xFFFFFFFF
TWO_PI = 6.283185307179586476925286766559  # the literal core/rng.c uses (== 2 * math.pi)
INV_2_24 = 1.0 / 16777216.0

# Random123's known answer for philox4x32_10 with counter 0 and key 0.
KAT = ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8))


def philox4x32(ctr, key):
    """One block: 4 words (ints) for counter ctr (4 ints) under key (2 ints)."""
    c0, c1, c2, c3 = (int(v) & MASK for v in ctr)
    k0, k1 = (int(v) & MASK for v in key)
    for _ in range(10):
        p0 = M0 * c0
        p1 = M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & MASK, p1 & MASK, ((p0 >> 32) ^ c3 ^ k1) & MASK, p0 & MASK
        k0 = (k0 + W0) & MASK
        k1 = (k1 + W1) & MASK
    return c0, c1, c2, c3


def _philox_np(c0, c1, c2, c3, k0, k1):
    """philox4x32 over numpy uint64 arrays holding 32-bit values (products < 2^64)."""
    m = np.uint64(MASK)
    s32 = np.uint64(32)
    k0, k1 = np.uint64(k0), np.uint64(k1)
    for _ in range(10):
        p0 = np.uint64(M0) * c0
        p1 = np.uint64(M1) * c2
        c0, c1, c2, c3 = (p1 >> s32) ^ c1 ^ k0, p1 & m, (p0 >> s32) ^ c3 ^ k1, p0 & m
        k0 = (k0 + np.uint64(W0)) & m
        k1 = (k1 + np.uint64(W1)) & m
    return c0, c1, c2, c3


def _f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def _block(seed, stream, b):
    return philox4x32((b & MASK, b >> 32, stream, 0), (seed & MASK, (seed >> 32) & MASK))


def normal_py(seed, stream, offset, n):
    """The definition, one number at a time: a list of n Python floats, each exactly
    a float32 value."""
    out = []
    for i in range(n):
        idx = offset + i
        w = _block(seed, stream, idx // 4)
        pair = (idx % 4) // 2
        u1 = ((w[2 * pair] >> 8) + 1.0) * INV_2_24
        u2 = ((w[2 * pair + 1] >> 8) + 1.0) * INV_2_24
        r = math.sqrt(-2.0 * math.log(u1))
        a = TWO_PI * u2
        out.append(_f32(r * math.cos(a) if idx % 2 == 0 else r * math.sin(a)))
    return out


def uniform_py(seed, stream, offset, n):
    """core/rng.c's vt_rng_uniform: (word >> 8) / 2^24 in [0, 1), word idx % 4."""
    out = []
    for i in range(n):
        idx = offset + i
        w = _block(seed, stream, idx // 4)
        out.append(_f32((w[idx % 4] >> 8) * INV_2_24))
    return out


def normal(seed, stream, offset, n):
    """Normals number offset .. offset+n-1 of (seed, stream): a float32 torch tensor (n,).
    seed < 2^64, stream < 2^32, offset + n <= 2^64 as in core/rng.c."""
    import torch

    seed, stream, offset, n = int(seed), int(stream), int(offset), int(n)
    if not (0 <= seed < 1 << 64 and 0 <= stream <= MASK and 0 <= offset and offset + n <= 1 << 64):
        raise ValueError("vt_rng.normal: seed, stream or offset out of range")
    if np is None or n == 0:
        return torch.tensor(normal_py(seed, stream, offset, n), dtype=torch.float32)
    idx = np.arange(n, dtype=np.uint64) + np.uint64(offset)
    blk = idx >> np.uint64(2)
    w = _philox_np(blk & np.uint64(MASK), blk >> np.uint64(32), np.full(n, stream, dtype=np.uint64),
                   np.zeros(n, dtype=np.uint64), seed & MASK, (seed >> 32) & MASK)
    w = np.stack(w, axis=1)  # (n, 4)
    lane = (idx & np.uint64(3)).astype(np.int64)
    pair = lane // 2
    rows = np.arange(n)
    u1 = ((w[rows, 2 * pair] >> np.uint64(8)).astype(np.float64) + 1.0) * INV_2_24
    u2 = ((w[rows, 2 * pair + 1] >> np.uint64(8)).astype(np.float64) + 1.0) * INV_2_24
    r = np.sqrt(-2.0 * np.log(u1))
    a = TWO_PI * u2
    v = np.where(lane % 2 == 0, r * np.cos(a), r * np.sin(a)).astype(np.float32)
    return torch.from_numpy(v)


def self_test():
    """Known answer, and the vectorised path against the definition (including a
    block straddling 2^32 in the counter and a 64-bit seed)."""
    got = philox4x32(*KAT[:2])
    assert got == KAT[2], "philox known answer: %s" % [hex(v) for v in got]
    cases = [(0, 0, 0, 64), (42, 0, 1, 37), (0xFEDCBA9876543210, 7, 3, 29), (5, 0xFFFFFFFF, (1 << 34) - 6, 13)]
    for seed, stream, off, n in cases:
        fast = normal(seed, stream, off, n).tolist()
        slow = normal_py(seed, stream, off, n)
        assert fast == slow, "numpy and pure-Python normals differ for %r" % ((seed, stream, off, n),)


if __name__ == "__main__":
    self_test()
    print("vt_rng: philox known answer ok; vectorised normals equal the definition")
    print("normal(seed=0, stream=0)[:8] =", ["%.9g" % v for v in normal_py(0, 0, 0, 8)])
