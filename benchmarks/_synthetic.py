"""A deterministic synthetic study of street-like scenes as COCO panoptic (for the benchmarks).

Each image is a scene (sky, buildings, vegetation, road, sidewalk; cars, persons, bicycles and
poles of many sizes) that every annotator re-draws with ordinary tracing noise (stuff borders
shifted by a few pixels, object outlines jittered) and a few habits: one annotator takes part of
the sidewalk for road, one leaves thin unlabelled gaps along borders, one merges touching cars;
everyone misses some small distant objects. Same arguments, same bytes.

Usage (from a benchmark): ``study_dir = synthetic_study(root, images=100, shape=(512, 1024))``
writes (once; later calls reuse it) ``root/<name>/<annotator>/panoptic.json`` + ``png/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from agreement.io import write_coco_panoptic
from agreement.model import Categories, Category, PanopticAnnotation

CATEGORIES = Categories([
    Category(7, "road", False), Category(8, "sidewalk", False), Category(11, "building", False),
    Category(21, "vegetation", False), Category(23, "sky", False), Category(17, "pole", True),
    Category(24, "person", True), Category(26, "car", True), Category(33, "bicycle", True),
])
ANNOTATORS = ("ann_a", "ann_b", "ann_c")
SEED = 20_251_130


def _smooth(rng: np.random.Generator, n: int, amplitude: float, knots: int = 12) -> np.ndarray:
    """A smooth random curve of length ``n`` (linear interpolation of random knots)."""
    x = np.linspace(0, n - 1, knots)
    return np.interp(np.arange(n), x, rng.normal(0, amplitude, knots))


def _scene(rng: np.random.Generator, h: int, w: int) -> dict:
    """The true scene: border curves of the stuff bands and a list of objects."""
    horizon = int(h * rng.uniform(0.3, 0.45))
    scene = {
        "sky": horizon * rng.uniform(0.35, 0.6) + _smooth(rng, w, h * 0.04),
        "horizon": horizon + _smooth(rng, w, h * 0.01, 6),
        "curb": h * rng.uniform(0.72, 0.85) + _smooth(rng, w, h * 0.02, 5) + np.linspace(
            0, h * rng.uniform(-0.1, 0.1), w),
        "trees": [(rng.uniform(0, w), horizon - rng.uniform(0, h * 0.15),
                   rng.uniform(h * 0.04, h * 0.12)) for _ in range(rng.integers(2, 6))],
        "objects": [],
    }
    for _ in range(rng.integers(12, 30)):
        cat = int(rng.choice([26, 26, 24, 24, 33, 17]))
        y = rng.uniform(horizon, h * 0.98)
        scale = 0.15 + 1.3 * (y - horizon) / (h - horizon)  # far objects are small
        size = {26: (0.09, 0.16), 24: (0.12, 0.04), 33: (0.06, 0.08), 17: (0.25, 0.012)}[cat]
        oh, ow = max(3, size[0] * h * scale), max(2, size[1] * w * scale)
        scene["objects"].append((cat, y - oh, rng.uniform(0, w - ow), oh, ow))
    return scene


def _draw(scene: dict, who: int, rng: np.random.Generator, h: int, w: int
          ) -> tuple[np.ndarray, dict[int, int]]:
    """One annotator's drawing of ``scene``: an id map and its id -> category table."""
    yy = np.arange(h, dtype=np.float32)[:, None]
    jitter = 2.0 + who
    sky = scene["sky"] + _smooth(rng, w, jitter)
    horizon = scene["horizon"] + _smooth(rng, w, jitter)
    curb = scene["curb"] + _smooth(rng, w, jitter) + (6 if who == 0 else 0)  # a's curb is lower
    ids = np.where(yy < sky, 1, np.where(yy < horizon, 2, np.where(yy < curb, 3, 4)))
    ids = ids.astype(np.int32)
    cats = {1: 23, 2: 11, 3: 7, 4: 8}
    xx = np.arange(w, dtype=np.float32)[None, :]
    for cx, cy, r in scene["trees"]:
        r2 = r + rng.normal(0, 1.5)
        ids[(xx - cx) ** 2 + ((yy - cy) * 1.3) ** 2 < r2 * r2] = 5
    cats[5] = 21
    if who == 1:  # b takes a strip of sidewalk for road
        x0 = int(w * 0.6)
        strip = (ids[:, x0:] == 4) & (yy < curb[x0:] + h * 0.05)
        ids[:, x0:][strip] = 3
    nxt = 10
    last_car = None
    for cat, y0, x0, oh, ow in scene["objects"]:
        if oh * ow < 300 and rng.random() < 0.25:  # small distant objects get missed
            continue
        d = rng.normal(0, 1.0, 4)
        ya, yb = int(max(0, y0 + d[0])), int(min(h, y0 + oh + d[1]))
        xa, xb = int(max(0, x0 + d[2])), int(min(w, x0 + ow + d[3]))
        if yb <= ya or xb <= xa:
            continue
        seg = nxt
        if cat == 26 and who == 2 and last_car is not None and rng.random() < 0.5:
            seg = last_car  # c merges a car with the previous one
        if cat == 24:  # persons: an ellipse
            cy, cx, ry, rx = (ya + yb) / 2, (xa + xb) / 2, (yb - ya) / 2, (xb - xa) / 2
            sub = ((yy[ya:yb] - cy) / ry) ** 2 + ((xx[:, xa:xb] - cx) / rx) ** 2 < 1
            ids[ya:yb, xa:xb][sub] = seg
        else:
            ids[ya:yb, xa:xb] = seg
        cats[seg] = cat
        if seg == nxt:
            nxt += 1
        last_car = seg if cat == 26 else last_car
    if who == 1:  # b leaves thin gaps along the horizon
        gap = np.abs(yy - horizon) < 1.5
        ids[gap & (xx < w // 2)] = 0
    present = np.unique(ids)
    return ids, {s: c for s, c in cats.items() if s in present}


def _drawings(who: int, images: int, h: int, w: int) -> Iterator[PanopticAnnotation]:
    for i in range(images):
        scene = _scene(np.random.default_rng([SEED, i]), h, w)
        ids, cats = _draw(scene, who, np.random.default_rng([SEED, i, who + 1]), h, w)
        yield PanopticAnnotation.from_map(ids, cats, file_name=f"img_{i:05d}.png", image_id=i + 1)


def synthetic_study(root: str | Path, *, images: int, shape: tuple[int, int] = (512, 1024),
                    annotators: tuple[str, ...] = ANNOTATORS) -> Path:
    """Write (or reuse) a synthetic study folder under ``root``; return its path."""
    h, w = shape
    out = Path(root) / f"streets_{images}x{h}x{w}_{len(annotators)}"
    if (out / "done").exists():
        return out
    for who, a in enumerate(annotators):  # one annotator at a time: memory stays flat
        write_coco_panoptic(_drawings(who, images, h, w), CATEGORIES, out / a / "panoptic.json",
                            out / a / "png")
    (out / "done").write_text("ok\n")
    return out
