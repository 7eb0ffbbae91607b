"""tools/eval/shape_blind.py PROMPTS IMAGES SEEDS — shape-blind diagnostics of the eval outputs (not the GenEval score): for each
t2i item, is the stated background right, and is every stated colour present
(counts are not checked)? Reads `vitrail shapes analyse` output."""
import subprocess, sys, re, collections
import os
V = os.environ.get("VITRAIL", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "cli", "vitrail"))
prompts, images, seeds = sys.argv[1], sys.argv[2], int(sys.argv[3])
colours = "red orange yellow green cyan blue purple pink brown white gray black".split()
num = {"a": 1, "an": 1, "two": 2, "three": 3}
stats = collections.defaultdict(lambda: [0, 0, 0, 0])  # items, bg ok (of stated), bg stated, colours ok
for line in open(prompts):
    if line.startswith("#") or line.startswith("id\t"): continue
    f = line.rstrip("\n").split("\t")
    if len(f) < 4 or f[2] != "t2i": continue
    cat, text = f[1], f[3]
    words = text.split()
    bg = None
    m = re.search(r"on an? (\w+) background", text)
    if m: bg = m.group(1)
    body = re.sub(r"on an? \w+ background", "", text)
    want = [w for w in body.split() if w in colours]
    for k in range(seeds):
        out = subprocess.run([V, "shapes", "analyse", "%s/%s_s%d.png" % (images, f[0], k)], capture_output=True, text=True).stdout
        got_bg = re.search(r"background: (\w+)", out)
        objs = re.findall(r"^\s+\w+\s+(\w+)\s+\w+\s+at", out, re.M)
        st = stats[cat]
        st[0] += 1
        if bg:
            st[2] += 1
            st[1] += bool(got_bg and got_bg.group(1) == bg)
        st[3] += all(c in objs for c in want) if want else bool(objs)
print("%-10s %6s %14s %16s" % ("category", "images", "background ok", "colours present"))
for cat, (n, bgok, bgn, cok) in stats.items():
    print("%-10s %6d %14s %16.3f" % (cat, n, "%d/%d" % (bgok, bgn) if bgn else "-", cok / n))


def analyse(path):
    out = subprocess.run([V, "shapes", "analyse", path], capture_output=True, text=True).stdout
    bg = re.search(r"background: (\w+)", out)
    return (bg.group(1) if bg else None), re.findall(r"^\s+\w+\s+(\w+)\s+\w+\s+at", out, re.M)


# Edits, shape-blind: did the instruction's colour change happen (recolour: the new
# colour is present; background: it is the new background), did the object count
# move the right way (add: more objects than the source; remove: fewer)? Moves
# are not scored here.
edit = collections.defaultdict(lambda: [0, 0])
for line in open(prompts):
    f = line.rstrip("\n").split("\t")
    if len(f) < 5 or f[2] != "edit": continue
    text = f[3]
    src_bg, src_objs = analyse("%s/sources/%s.png" % (images, f[0]))
    for k in range(seeds):
        bg, objs = analyse("%s/%s_s%d.png" % (images, f[0], k))
        m = re.match(r"change the background to (\w+)", text)
        if m:
            kind, ok = "background", bg == m.group(1)
        elif text.startswith("make the"):
            kind, ok = "recolour", text.split()[-1] in objs
        elif text.startswith("add"):
            kind, ok = "add", len(objs) > len(src_objs)
        elif text.startswith("remove"):
            kind, ok = "remove", len(objs) < len(src_objs)
        else:
            continue
        edit[kind][0] += 1
        edit[kind][1] += ok
if edit:
    print("\nedit kind   images  done (shape-blind)")
    for kind, (n, ok) in sorted(edit.items()):
        print("%-10s %6d  %.3f" % (kind, n, ok / n))
