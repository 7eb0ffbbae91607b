"""vitrail's noise, bit for bit: Philox4x32-10 (Salmon et al., SC'11) keyed by the
seed with counter (block, stream), then Box-Muller in double (core/rng.c)."""
import numpy as np

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK = 0xFFFFFFFF


def philox4x32(c0, c1, c2, c3, k0, k1):
    """Vectorised over numpy uint64 arrays holding 32-bit values."""
    c0, c1, c2, c3 = (np.asarray(x, dtype=np.uint64) for x in (c0, c1, c2, c3))
    k0, k1 = np.uint64(k0), np.uint64(k1)
    for _ in range(10):
        p0 = np.uint64(M0) * c0
        p1 = np.uint64(M1) * c2
        n0 = (p1 >> np.uint64(32)) ^ c1 ^ k0
        n1 = p1 & np.uint64(MASK)
        n2 = (p0 >> np.uint64(32)) ^ c3 ^ k1
        n3 = p0 & np.uint64(MASK)
        c0, c1, c2, c3 = n0, n1, n2, n3
        k0 = (k0 + np.uint64(W0)) & np.uint64(MASK)
        k1 = (k1 + np.uint64(W1)) & np.uint64(MASK)
    return c0, c1, c2, c3


def normal(seed, stream, offset, n):
    """Normals number offset .. offset+n-1 of (seed, stream), as float32."""
    idx = np.arange(offset, offset + n, dtype=np.uint64)
    blk = idx // np.uint64(4)
    w = philox4x32(blk & np.uint64(MASK), blk >> np.uint64(32), np.full_like(blk, stream), np.zeros_like(blk),
                   seed & MASK, (seed >> 32) & MASK)
    w = np.stack(w, axis=1)  # (n, 4)
    lane = (idx % np.uint64(4)).astype(np.int64)
    pair = lane // 2
    rows = np.arange(n)
    u1 = ((w[rows, 2 * pair] >> np.uint64(8)).astype(np.float64) + 1.0) / 16777216.0
    u2 = ((w[rows, 2 * pair + 1] >> np.uint64(8)).astype(np.float64) + 1.0) / 16777216.0
    r = np.sqrt(-2.0 * np.log(u1))
    a = 2.0 * np.pi * u2
    v = np.where(lane % 2 == 0, r * np.cos(a), r * np.sin(a))
    return v.astype(np.float32)


if __name__ == "__main__":
    out = philox4x32([0], [0], [0], [0], 0, 0)
    assert [int(x[0]) for x in out] == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8], out
    print("philox known answer ok")
