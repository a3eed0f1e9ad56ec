"""A second kind of hidden scene: rooms (indoor), unlike the street in every way that matters
to the findings.

Large blobs of stuff (ceiling, wall, floor, windows, a rug) and many small things (cups, books,
bottles on tables and shelves; books standing side by side, chairs around a table, now and
then a person). The class set, the layout, the object sizes (most things are a few hundred
pixels at 256 px high) and the borders (long straight wall / floor lines, no perspective road)
differ from the street's, so the findings are benchmarked on more than one kind of study.

Coordinates are on the same 512 x 1024 canvas as the street (:mod:`._scene`); ids follow COCO
panoptic's.
"""

from __future__ import annotations

import numpy as np

from ._scene import PAD, PERSON, H, Layer, Scene, W, blob, densify, shape

__all__ = ["CATEGORIES", "make_room"]

CATEGORIES = [
    {"id": 186, "name": "ceiling", "isthing": 0, "color": [220, 220, 220],
     "supercategory": "ceiling"},
    {"id": 199, "name": "wall", "isthing": 0, "color": [180, 160, 120],
     "supercategory": "wall"},
    {"id": 181, "name": "window", "isthing": 0, "color": [110, 180, 230],
     "supercategory": "window"},
    {"id": 190, "name": "floor", "isthing": 0, "color": [140, 90, 50],
     "supercategory": "floor"},
    {"id": 200, "name": "rug", "isthing": 0, "color": [170, 40, 90],
     "supercategory": "textile"},
    {"id": 1, "name": "person", "isthing": 1, "color": [220, 20, 60],
     "supercategory": "person"},
    {"id": 62, "name": "chair", "isthing": 1, "color": [200, 120, 0],
     "supercategory": "furniture"},
    {"id": 67, "name": "table", "isthing": 1, "color": [120, 70, 20],
     "supercategory": "furniture"},
    {"id": 47, "name": "cup", "isthing": 1, "color": [250, 250, 0],
     "supercategory": "kitchen"},
    {"id": 44, "name": "bottle", "isthing": 1, "color": [0, 200, 120],
     "supercategory": "kitchen"},
    {"id": 84, "name": "book", "isthing": 1, "color": [60, 60, 200],
     "supercategory": "indoor"},
]

CHAIR = [(0.0, 0.0), (0.08, 0.0), (0.1, 0.42), (0.85, 0.42), (0.9, 0.0), (1.0, 0.0),
         (1.0, 0.52), (0.92, 0.55), (0.95, 1.0), (0.82, 1.0), (0.78, 0.55), (0.0, 0.52)]
TABLE = [(0.0, 0.0), (0.05, 0.0), (0.08, 0.85), (0.92, 0.85), (0.95, 0.0), (1.0, 0.0),
         (1.0, 1.0), (0.0, 1.0)]
CUP = [(0.1, 0.0), (0.8, 0.0), (0.9, 0.95), (1.0, 0.8), (1.0, 0.5), (0.88, 0.45), (0.9, 1.0),
       (0.0, 1.0)]
BOTTLE = [(0.1, 0.0), (0.9, 0.0), (0.9, 0.6), (0.62, 0.78), (0.62, 1.0), (0.38, 1.0),
          (0.38, 0.78), (0.1, 0.6)]
BOOK = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]


def _rect(x0: float, y0: float, x1: float, y1: float, step: float = 30.0) -> np.ndarray:
    return densify(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float), step)


def make_room(rng: np.random.Generator) -> Scene:
    """Draw one room: base stuff (ceiling, wall, windows, floor, rug), furniture and many small
    objects. A pure function of ``rng``."""
    ceil = float(rng.uniform(40, 110))
    floor_y = float(rng.uniform(300, 380))
    tilt = float(rng.uniform(-25, 25))  # the wall / floor line is not quite level
    layers = [
        Layer("ceiling", "ceiling", [_rect(-PAD, -PAD, W + PAD, ceil + 30)], 0, base=True),
        Layer("wall", "wall", [densify(np.array(
            [[-PAD, ceil], [W + PAD, ceil - tilt / 3], [W + PAD, floor_y + 30 - tilt],
             [-PAD, floor_y + 30]]), 30)], 1, base=True),
    ]
    windows = []
    for _ in range(int(rng.integers(1, 4))):
        w, h = rng.uniform(90, 200), rng.uniform(60, max(61.0, floor_y - ceil - 120))
        x = rng.uniform(20, W - 20 - w)
        y = rng.uniform(ceil + 20, max(ceil + 21, floor_y - h - 60))
        windows.append(_rect(x, y, x + w, y + h))
    layers.append(Layer("window", "window", windows, 2, base=True))
    floor = densify(np.array([[-PAD, floor_y], [W + PAD, floor_y - tilt], [W + PAD, H + PAD],
                              [-PAD, H + PAD]]), 30)
    layers.append(Layer("floor", "floor", [floor], 3, base=True))
    rugs = []
    if rng.random() < 0.8:
        cx, cy = rng.uniform(250, W - 250), rng.uniform(floor_y + 70, H - 40)
        rugs.append(blob(cx, cy, rng.uniform(150, 260), rng.uniform(40, 70), rng, n=48,
                         rough=0.08))
    if rugs:
        layers.append(Layer("rug", "rug", rugs, 4, base=True))
    n: dict[str, int] = {}

    def add(cat: str, poly: np.ndarray, near: float, tags: set[str] | None = None) -> None:
        n[cat] = n.get(cat, 0) + 1
        layers.append(Layer(f"{cat}{n[cat]}", cat, [poly], near, tags=tags or set(),
                            thing=True))

    for _ in range(int(rng.integers(1, 3))):  # tables with small things on them
        w = rng.uniform(220, 380)
        y = rng.uniform(floor_y + 60, H - 10)
        x = rng.uniform(10, W - 10 - w)
        h = rng.uniform(120, 170)
        add("table", shape(TABLE, x, y, w, h, smooth=0), y)
        top = y - h
        for k in range(int(rng.integers(2, 6))):  # chairs around it, sometimes side by side
            cw = rng.uniform(70, 100)
            cx = x - 0.6 * cw + k * 0.95 * cw if k < 3 else x + w - 0.4 * cw
            cy = y + rng.uniform(4, 30)
            if cy < H + PAD:
                add("chair", shape(CHAIR, cx, cy, cw, 1.9 * cw, smooth=0), cy,
                    {"group:chairs"})
        for _ in range(int(rng.integers(3, 9))):  # cups and bottles on the top
            cat = "cup" if rng.random() < 0.6 else "bottle"
            s = rng.uniform(14, 24) if cat == "cup" else rng.uniform(12, 18)
            hh = s * (1.1 if cat == "cup" else 2.6)
            add(cat, shape(CUP if cat == "cup" else BOTTLE, rng.uniform(x + 5, x + w - s - 5),
                           top + rng.uniform(2, 6), s, hh, smooth=1), y + 0.5)
    for _ in range(int(rng.integers(1, 3))):  # a shelf of books standing side by side
        bx = rng.uniform(10, W - 200)
        by = rng.uniform(ceil + 80, floor_y - 20)
        for k in range(int(rng.integers(4, 10))):
            bw, bh = rng.uniform(9, 16), rng.uniform(40, 60)
            add("book", shape(BOOK, bx, by, bw, bh, smooth=0), by - 100 + 0.01 * k,
                {"group:shelf"})
            bx += bw + rng.uniform(0.5, 2.5)
    if rng.random() < 0.5:  # someone standing in the room
        y = rng.uniform(floor_y + 40, H - 5)
        h = rng.uniform(250, 380)
        x = rng.uniform(60, W - 60)
        add("person", shape(PERSON, x - 0.2 * h, y, 0.4 * h, h), y + 1)
    return Scene(layers, W / 2, floor_y, (0.0, float(W)), 0.0, 0.0)
