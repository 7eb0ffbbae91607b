#!/usr/bin/env python3
"""Pairs vt-bench-gpu's lines with torch_bench.py's and prints issue 6's table:
vitrail ms, PyTorch ms and their ratio per case, neighborhood attention against
vitrail's own full attention, and each target of the issue met or not.
    python3 table.py VT_FILE TORCH_FILE [--note TEXT]
Lines of either file starting with '#' are passed through as context."""
import sys


def read(path):
    rows, notes = {}, []
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        return rows, ["(%s unreadable: %s)" % (path, e)]
    for line in lines:
        if line.startswith("#"):
            notes.append(line[1:].strip())
            continue
        f = line.split()
        if len(f) >= 2:
            try:
                rows[f[0]] = (float(f[1]), float(f[2]) if len(f) > 2 else 0.0, f[3] if len(f) > 3 else "")
            except ValueError:
                pass
    return rows, notes


def main():
    args = sys.argv[1:]
    note = ""
    if "--note" in args:
        i = args.index("--note")
        note = args[i + 1] if i + 1 < len(args) else ""
        del args[i:i + 2]
    vt, vt_notes = read(args[0])
    pt, pt_notes = read(args[1])
    out = []
    p = out.append
    p("vitrail (Vulkan) against PyTorch (CUDA, eager) on the same GPU")
    for n in vt_notes:
        if "commands and" not in n:
            p("  vitrail: " + n)
    for n in pt_notes:
        p("  pytorch: " + n)
    if note:
        p("  note: " + note)
    p("")
    p("%-28s %10s %9s %-12s %10s %9s %7s" % ("case", "vitrail ms", "GF/s", "path", "pytorch ms", "GF/s", "vt/pt"))
    names = list(dict.fromkeys(list(vt) + list(pt)))

    def key(n):  # the order: matmul, attention, DiT forwards
        return (0 if n.startswith("matmul") else 1 if n.startswith("attn") else 2, names.index(n))

    ratio = {}
    for n in sorted(names, key=key):
        v, t = vt.get(n), pt.get(n)
        r = ""
        if v and t and v[0] > 0:
            ratio[n] = t[0] / v[0]
            r = "%.2f" % ratio[n]
        p("%-28s %10s %9s %-12s %10s %9s %7s" % (
            n, "%.4f" % v[0] if v else "n/a", "%.0f" % v[1] if v and v[1] else "", v[2] if v else "",
            "%.4f" % t[0] if t else "n/a", "%.0f" % t[1] if t and t[1] else "", r))
    p("vt/pt = PyTorch ms / vitrail ms: vitrail's throughput relative to PyTorch's (1.00 = same, > 1 faster).")
    p("f32 rows: both sides in f32 (PyTorch with TF32 off). f16 rows: PyTorch all-f16; vitrail f16 weights with")
    p("f32 accumulation, on the path named (coop-nv: tensor cores through VK_NV_cooperative_matrix).")
    p("PyTorch has no neighborhood attention (n/a); vitrail's is compared with its own full attention:")
    p("")
    sides = sorted({n[len("attn_full_f32_"):] for n in vt if n.startswith("attn_full_f32_")}, key=lambda x: int(x.split("x")[0]))
    for side in sides:
        f = vt.get("attn_full_f32_" + side)
        for k in ("7", "13"):
            h = vt.get("attn_nbhd%s_f32_%s" % (k, side))
            if f and h and h[0] > 0:
                p("  neighborhood %sx%s at %s tokens: %.1fx faster than vitrail's full attention" % (k, k, side, f[0] / h[0]))
                ratio["nbhd%s_%s" % (k, side)] = f[0] / h[0]
    p("")
    p("issue 6 targets:")

    def target(label, keys, need):
        got = [(ratio[k], k) for k in keys if k in ratio]
        if not got:
            p("  %-52s not measured" % label)
            return
        worst = min(got)
        p("  %-52s worst %.2f (%s), best %.2f: %s" % (label, worst[0], worst[1], max(got)[0],
                                                     "met" if worst[0] >= need else "NOT met"))

    target("matmul f32 >= 0.50 of PyTorch's throughput", [n for n in ratio if n.startswith("matmul_f32")], 0.5)
    target("matmul f16 >= 0.50 of PyTorch's throughput", [n for n in ratio if n.startswith("matmul_f16")], 0.5)
    target("neighborhood 7x7 at 128x128 >= 3x own full attention", ["nbhd7_128x128"], 3.0)
    target("DiT-XL/2 at 256 tokens >= 0.5x PyTorch eager (f32)", ["dit_xl2_256_f32"], 0.5)
    target("DiT-XL/2 at 256 tokens >= 0.5x PyTorch eager (f16)", ["dit_xl2_256_f16"], 0.5)
    print("\n".join(out))


if __name__ == "__main__":
    main()
