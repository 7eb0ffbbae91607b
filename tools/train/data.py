"""Training data from the shapes world's only implementation: vt_shapes_example()
in libvitrail_shapes.so (shapes/, docs/shapes.md), called through ctypes. No rule
of the world is restated here.

A batch is drawn by one DataLoader worker: `kind` "image" mixes text->image and
edit examples, "clip" mixes text->video and animate examples. Example indices are
disjoint across workers and steps (index = step * batch + row, streams by task),
so a resumed run continues the stream instead of repeating it."""
import ctypes
import os
import re

import numpy as np
import torch

T2I, T2V, EDIT, ANIMATE = 0, 1, 2, 3
TASK_NAMES = {"t2i": T2I, "t2v": T2V, "edit": EDIT, "animate": ANIMATE}
SPECIAL = ["<pad>", "<unk>", "<bos>", "<eos>"]
TEXT_CAP = 512


def find_lib():
    here = os.path.dirname(os.path.abspath(__file__))
    for p in (os.environ.get("VT_SHAPES_LIB", ""), os.path.join(here, "libvitrail_shapes.so"),
              os.path.join(here, "..", "..", "build", "shapes", "libvitrail_shapes.so")):
        if p and os.path.exists(p):
            return p
    raise FileNotFoundError("libvitrail_shapes.so not found: build it (ninja -C build) or set VT_SHAPES_LIB")


class Shapes:
    def __init__(self, path=None):
        self.lib = ctypes.CDLL(path or find_lib())
        f = self.lib.vt_shapes_example
        f.argtypes = [ctypes.c_uint64, ctypes.c_uint64, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                      ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        f.restype = ctypes.c_int
        g = self.lib.vt_shapes_example_mix
        g.argtypes = [ctypes.c_uint64, ctypes.c_uint64, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                      ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        g.restype = ctypes.c_int
        self.text = ctypes.create_string_buffer(TEXT_CAP)

    def example(self, seed, index, task, size, frames, target, source, mix=None):
        """target: uint8 array (frames, size, size, 3); source (size, size, 3) or None;
        mix: None (image categories drawn evenly) or 6 weights (vt_shapes_example_mix)."""
        src = None if source is None else source.ctypes.data
        if mix is None:
            rc = self.lib.vt_shapes_example(seed, index, task, size, frames, target.ctypes.data, src, self.text, TEXT_CAP)
        else:
            w = (ctypes.c_float * 6)(*mix)
            rc = self.lib.vt_shapes_example_mix(seed, index, task, w, size, frames, target.ctypes.data, src,
                                                self.text, TEXT_CAP)
        if rc != 0:
            raise RuntimeError("vt_shapes_example(seed=%d, index=%d, task=%d) failed: %d" % (seed, index, task, rc))
        return self.text.value.decode()


def words(text):
    """The engine's tokenizer's notion of a word (docs/encoders.md): ASCII
    alphanumeric runs, lowercased."""
    return [w.lower() for w in re.findall(r"[A-Za-z0-9]+", text)]


def build_vocab(shapes, size=32, n=4000, seed=12345):
    """Every word the world's captions and instructions use, sorted, after the
    four reserved ids. Taken from the world itself by drawing examples of every
    task, so a grammar change cannot leave a word out silently (train.py also
    checks each batch)."""
    seen = set()
    tgt = np.zeros((8, size, size, 3), np.uint8)
    src = np.zeros((size, size, 3), np.uint8)
    for task in (T2I, T2V, EDIT, ANIMATE):
        for i in range(n):
            seen.update(words(shapes.example(seed, i, task, size, 8, tgt, src)))
    return SPECIAL + sorted(seen)


def tokenize(text, index, max_len):
    """docs/encoders.md: <bos> words <eos> <pad>..., unknown words -> <unk>, truncated."""
    ids = [2] + [index.get(w, 1) for w in words(text)[: max_len - 2]] + [3]
    mask = [1.0] * len(ids) + [0.0] * (max_len - len(ids))
    return ids + [0] * (max_len - len(ids)), mask


class Batches(torch.utils.data.IterableDataset):
    """Endless batches of one kind. Each worker w of W yields steps w, w+W, ..."""

    def __init__(self, kind, batch, size, frames, vocab, max_len, seed, start_step, edit_frac=0.4, animate_frac=0.5,
                 mix=None):
        self.kind, self.B, self.S, self.T = kind, batch, size, frames
        self.index = {w: i for i, w in enumerate(vocab)}
        self.max_len, self.seed, self.start = max_len, seed, start_step
        self.edit_frac, self.animate_frac = edit_frac, animate_frac
        self.mix = mix  # text-to-image category weights (None: even)

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        shapes = Shapes()
        B, S = self.B, self.S
        T = 1 if self.kind == "image" else self.T
        rng = np.random.default_rng(self.seed * 1000003 + wid)
        step = self.start + wid
        while True:
            tgt = np.zeros((B, T, S, S, 3), np.uint8)
            src = np.zeros((B, S, S, 3), np.uint8)
            has = np.zeros(B, np.float32)
            ids = np.zeros((B, self.max_len), np.int64)
            mask = np.zeros((B, self.max_len), np.float32)
            unk = 0
            for r in range(B):
                if self.kind == "image":
                    task = EDIT if rng.random() < self.edit_frac else T2I
                else:
                    task = ANIMATE if rng.random() < self.animate_frac else T2V
                idx = step * B + r
                text = shapes.example(self.seed + task, idx, task, S, T, tgt[r], src[r], self.mix)
                has[r] = task in (EDIT, ANIMATE)
                i_, m_ = tokenize(text, self.index, self.max_len)
                unk += i_.count(1)
                ids[r], mask[r] = i_, m_
            yield {
                "x0": torch.from_numpy(tgt).permute(0, 4, 1, 2, 3),  # (B, 3, T, S, S) uint8
                "src": torch.from_numpy(src).permute(0, 3, 1, 2),    # (B, 3, S, S) uint8
                "has_src": torch.from_numpy(has), "ids": torch.from_numpy(ids), "mask": torch.from_numpy(mask),
                "unk": unk, "step": step,
            }
            step += nw
