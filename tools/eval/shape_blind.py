"""tools/eval/shape_blind.py PROMPTS IMAGES SEEDS — shape-blind diagnostics of the eval outputs (not the GenEval score): for each
t2i item, is the stated background right, and is every stated colour present
(counts are not checked)? Reads `vitrail shapes analyse` output."""
import subprocess, sys, re, collections
import os
V = os.environ.get("VITRAIL", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "cli", "vitrail"))
prompts, images, seeds = sys.argv[1], sys.argv[2], int(sys.argv[3])
colours = "red orange yellow green cyan blue purple pink brown white gray black".split()
num = {"a": 1, "an": 1, "two": 2, "three": 3}
def analyse(path):
    """(background, [object colours]) as `vitrail shapes analyse` reads the file;
    (None, None) when there is no such file, so a missing output counts as failed
    rather than as an image with no objects in it."""
    if not os.path.exists(path):
        return None, None
    out = subprocess.run([V, "shapes", "analyse", path], capture_output=True, text=True).stdout
    bg = re.search(r"background: (\w+)", out)
    return (bg.group(1) if bg else None), re.findall(r"^\s+\w+\s+(\w+)\s+\w+\s+at", out, re.M)


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
        got_bg, objs = analyse("%s/%s_s%d.png" % (images, f[0], k))
        objs = objs or []
        st = stats[cat]
        st[0] += 1
        if bg:
            st[2] += 1
            st[1] += got_bg == bg
        st[3] += all(c in objs for c in want) if want else bool(objs)
print("%-10s %6s %14s %16s" % ("category", "images", "background ok", "colours present"))
for cat, (n, bgok, bgn, cok) in stats.items():
    print("%-10s %6d %14s %16.3f" % (cat, n, "%d/%d" % (bgok, bgn) if bgn else "-", cok / n))


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
    if src_objs is None:  # add/remove are counted against the source: without it, no answer
        sys.exit("shape_blind.py: no source image %s/sources/%s.png for %s" % (images, f[0], f[0]))
    m = re.match(r"change the background to (\w+)", text)
    if m:
        kind, done = "background", lambda bg, objs: bg == m.group(1)
    elif text.startswith("make the"):
        kind, done = "recolour", lambda bg, objs: text.split()[-1] in objs
    elif text.startswith("add"):
        kind, done = "add", lambda bg, objs: len(objs) > len(src_objs)
    elif text.startswith("remove"):
        kind, done = "remove", lambda bg, objs: len(objs) < len(src_objs)
    else:
        continue
    for k in range(seeds):
        bg, objs = analyse("%s/%s_s%d.png" % (images, f[0], k))
        ok = objs is not None and done(bg, objs)  # a missing output did nothing
        edit[kind][0] += 1
        edit[kind][1] += ok
if edit:
    print("\nedit kind   images  done (shape-blind)")
    for kind, (n, ok) in sorted(edit.items()):
        print("%-10s %6d  %.3f" % (kind, n, ok / n))
