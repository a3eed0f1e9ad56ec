"""Throughput of the reader hot paths against straightforward references.

1. Painting shapes with conflict counting (``agreement.io.layers.paint``) vs painting one
   full-size mask at a time and intersecting every pair of full masks.
2. Label Studio brush decoding (``decode_brush``) vs a bit-by-bit decoder like the SDK's.
3. The COCO panoptic reader's index (``read_coco_panoptic``, no PNG decoded): the memory it
   holds once the JSON is parsed and its peak while parsing (``tracemalloc``), for 1,000 and
   10,000 images of 19 segments each: held / peak should grow with the segments only.

Run: ``python benchmarks/bench_readers.py`` (a few minutes: the traced reads are slow).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _lsenc import encode_mask

from agreement.io._shapes import Polygons, Shape
from agreement.io.labelstudio import decode_brush
from agreement.io.layers import paint
from agreement.model import ImageInfo


def shapes(n: int, h: int, w: int, rng: np.random.Generator) -> list[Shape]:
    out = []
    for k in range(n):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, 80)
        t = np.sort(rng.uniform(0, 2 * np.pi, 12))
        pts = np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1).clip(0, [w, h])
        thing = k % 5 != 0
        out.append(Shape(f"s{k}", "c", 1 + k % 3 if thing else 9, thing, Polygons((pts,)),
                         order=k, z_order=int(rng.integers(-2, 3))))
    return out


def reference_paint(shapes: list[Shape], h: int, w: int) -> dict:
    masks = []
    for s in shapes:
        crop, top, left = s.geometry.raster(h, w)
        full = np.zeros((h, w), bool)
        full[top : top + crop.shape[0], left : left + crop.shape[1]] = crop
        masks.append(full)
    order = sorted(range(len(shapes)), key=lambda i: (shapes[i].isthing, shapes[i].z_order, i))
    visible = [np.zeros((h, w), bool) for _ in shapes]
    taken = {}
    for i in order:
        for j in range(len(shapes)):
            px = int(np.count_nonzero(visible[j] & masks[i]))
            same = not (shapes[i].isthing or shapes[j].isthing)  # one stuff segment
            if px and j != i:
                if not same:
                    taken[(shapes[j].name, shapes[i].name)] = px
                visible[j] &= ~masks[i]
        visible[i] = masks[i].copy()
    return taken


def naive_brush(rle: list[int], n: int) -> np.ndarray:
    bits = "".join(format(b, "08b") for b in rle)
    pos = 53
    out, i = [], 0
    sizes = (3, 4, 8, 16)
    while i < n:
        rep, k = int(bits[pos]), int(bits[pos + 1 : pos + 3], 2)
        pos += 3
        length = int(bits[pos : pos + sizes[k]], 2) + 1
        pos += sizes[k]
        if rep:
            out += [int(bits[pos : pos + 8], 2)] * length
            pos += 8
        else:
            for _ in range(length):
                out.append(int(bits[pos : pos + 8], 2))
                pos += 8
        i += length
    return np.array(out, np.uint8)


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def coco_index(root: Path, images: int, segments: int = 19) -> tuple[float, float, float]:
    """Seconds to read a COCO panoptic JSON of ``images`` images, MB held after, MB at peak."""
    from agreement.io import read_coco_panoptic

    doc = {"images": [{"id": k, "file_name": f"img_{k:05d}.png", "height": 64, "width": 128}
                      for k in range(images)],
           "annotations": [{"image_id": k, "file_name": f"img_{k:05d}.png", "segments_info": [
               {"id": j + 1, "category_id": 1 + j % 3, "iscrowd": 0, "area": 40 + j,
                "bbox": [j, j % 7, 20 + j, 12]} for j in range(segments)]}
               for k in range(images)],
           "categories": [{"id": c, "name": f"c{c}", "isthing": c % 2} for c in (1, 2, 3)]}
    path = root / f"pan{images}.json"
    path.write_text(json.dumps(doc))
    (root / "png").mkdir(exist_ok=True)
    del doc
    t = time.perf_counter()
    read_coco_panoptic(path)
    seconds = time.perf_counter() - t
    tracemalloc.start()  # a second read, traced (several times slower)
    src = read_coco_panoptic(path)
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [s.bbox for s in src.segments(f"img_{images - 1:05d}.png")][-1] == (18, 4, 38, 12)
    return seconds, held / 1e6, peak / 1e6


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1000, 10000):
            seconds, held, peak = coco_index(Path(tmp), n)
            print(f"coco panoptic index: {n} images x 19 segments read in {seconds:.2f} s, "
                  f"{held:.1f} MB held ({held * 1e6 / n:.0f} B an image), {peak:.1f} MB at peak")
    rng = np.random.default_rng(0)
    h, w, n = 768, 1024, 120
    sh = shapes(n, h, w, rng)
    res, t_fast = timed(paint, sh, ImageInfo("x", h, w))
    want, t_ref = timed(reference_paint, sh, h, w)
    assert want == {(r.loser, r.winner): r.pixels for r in res.conflicts.itertuples()}
    print(f"paint: {n} shapes on {w}x{h}: {t_fast * 1e3:.0f} ms ({n / t_fast:.0f} shapes/s), "
          f"{len(res.conflicts)} conflicts; reference (pairwise full masks) "
          f"{t_ref * 1e3:.0f} ms; speed-up x{t_ref / t_fast:.1f}")
    yy, xx = np.mgrid[:576, :768]
    mask = (yy - 300) ** 2 + (xx - 400) ** 2 < 150**2
    rle = encode_mask(mask)
    got, t_fast = timed(decode_brush, rle, 768, 576)
    words, t_ref = timed(naive_brush, rle, 4 * 768 * 576)
    assert (got == (words[3::4].reshape(576, 768) >= 128)).all()
    print(f"brush: 768x576 disc, {len(rle)} bytes: {t_fast * 1e3:.1f} ms vs bit-by-bit "
          f"{t_ref * 1e3:.1f} ms; speed-up x{t_ref / t_fast:.1f}")


if __name__ == "__main__":
    main()
