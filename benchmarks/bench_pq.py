"""Throughput of PQ and Boundary PQ per image pair: straightforward implementation vs ours.

Synthetic 1024 x 2048 panoptic maps with ~25 and ~150 segments (Voronoi cells with COCO-size
RGB ids; the second annotator's map is shifted, has merged cells and a void band). For each size
it prints image pairs per second and peak memory (tracemalloc) of

- ``naive``: what the reference implementations do: ``np.unique`` over combined uint64 ids for
  the overlap, a dict loop for matching, and one erosion (a (2d+1)-square minimum filter) per
  mask for the boundary bands;
- ``ours``: compact ids, one ``bincount`` (joint mask + boundary table), all-segment bands;

and, end to end, ``agreement pq``'s work (decode two PNGs + everything) against decoding the two
PNGs to id maps alone (``read_png_ids``), the floor for anything that reads the files.

Usage: ``python benchmarks/bench_pq.py [--repeat 3]``. No assertion: numbers are printed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from scipy import ndimage

from agreement.io import read_coco_panoptic, write_coco_panoptic
from agreement.io._files import read_png_ids
from agreement.labels import compact_ids, overlap_table
from agreement.matching import overlap_from_table
from agreement.metrics.boundary import (
    banded,
    boundary_band,
    boundary_width,
    evaluate_pair,
    joint_overlap,
    joint_overlap_banded,
)
from agreement.model import Categories, Category, ImageInfo, PanopticAnnotation, Study
from agreement.study.pq import evaluate

H, W = 1024, 2048
CATS = Categories([Category(c, f"c{c}", c <= 10) for c in range(1, 21)])


def synthetic_pair(n_segments: int, seed: int = 0) -> tuple[PanopticAnnotation, PanopticAnnotation]:
    """Two annotations of one image: Voronoi cells, and a shifted / merged / voided copy."""
    rng = np.random.default_rng(seed)
    gh, gw = H // 8, W // 8
    seeds = rng.integers(0, [gh, gw], size=(n_segments, 2))
    yy, xx = np.mgrid[0:gh, 0:gw]
    dist = (yy[None] - seeds[:, 0, None, None]) ** 2 + (xx[None] - seeds[:, 1, None, None]) ** 2
    coarse = np.argmin(dist, axis=0).astype(np.int32)
    labels = np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1)
    ids = rng.choice(np.arange(1, 1 << 24), size=n_segments, replace=False).astype(np.int32)
    cats = rng.integers(1, 21, size=n_segments)
    a_ids = ids[labels]
    other = np.roll(labels, (3, 5), axis=(0, 1))
    merge = rng.choice(n_segments, size=max(1, n_segments // 10), replace=False)
    other[np.isin(other, merge)] = merge[0]
    b_ids = ids[other]
    b_ids[:, W // 2 : W // 2 + 40] = 0  # a void band
    used_b = np.unique(b_ids)
    a = PanopticAnnotation.from_map(a_ids, dict(zip(ids.tolist(), cats.tolist(), strict=True)),
                                    file_name="x.png")
    b = PanopticAnnotation.from_map(
        b_ids, {int(i): int(c) for i, c in zip(ids, cats, strict=True) if i in set(used_b)},
        file_name="x.png")
    return a, b


# ---- the straightforward implementation -------------------------------------------------
def naive_pq(ref_ids: np.ndarray, ref_cat: dict, other_ids: np.ndarray, other_cat: dict,
             d: int | None = None) -> dict:
    offset = np.uint64(1 << 24)
    areas_o = dict(zip(*np.unique(other_ids, return_counts=True), strict=True))
    areas_r = dict(zip(*np.unique(ref_ids, return_counts=True), strict=True))
    combined = ref_ids.astype(np.uint64) * offset + other_ids.astype(np.uint64)
    pairs = dict(zip(*np.unique(combined, return_counts=True), strict=True))
    bands_r = bands_o = {}
    if d is not None:
        bands_r = {s: naive_band(ref_ids, s, d) for s in ref_cat}
        bands_o = {s: naive_band(other_ids, s, d) for s in other_cat}
    stats: dict = {}
    for code, inter in pairs.items():
        g, p = int(code // offset), int(code % offset)
        if g == 0 or p == 0 or ref_cat[g] != other_cat[p]:
            continue
        union = areas_o[p] + areas_r[g] - inter - pairs.get(np.uint64(p), 0)
        iou = inter / union
        if d is not None:
            bi = int(np.count_nonzero(bands_r[g] & bands_o[p]))
            bvoid = int(np.count_nonzero(bands_o[p] & (ref_ids == 0)))
            iou = min(iou, bi / (bands_r[g].sum() + bands_o[p].sum() - bi - bvoid))
        if iou > 0.5:
            s = stats.setdefault(ref_cat[g], [0, 0.0])
            s[0] += 1
            s[1] += iou
    return stats


def naive_band(ids: np.ndarray, segment_id: int, d: int) -> np.ndarray:
    mask = (ids == segment_id).view(np.uint8)
    eroded = ndimage.minimum_filter(mask, size=2 * d + 1, mode="constant", cval=0)
    return (mask > eroded)


# ---- ours ---------------------------------------------------------------------------------
def ours(ref: PanopticAnnotation, other: PanopticAnnotation, boundary: bool) -> dict:
    cr, _, _ = compact_ids(ref.ids, ref.segment_ids)
    co, _, _ = compact_ids(other.ids, other.segment_ids)
    nr, no = len(ref.segments), len(other.segments)
    if boundary:
        d = boundary_width(*ref.shape)
        table, bo = joint_overlap(cr, boundary_band(cr, d=d), co, boundary_band(co, d=d), nr, no)
    else:
        table, bo = overlap_table(cr, co, nr + 1, no + 1), None
    return evaluate_pair(overlap_from_table(table, ref.segments, other.segments), bo).counts


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(calls per second from the best of ``repeat`` runs, peak MiB under tracemalloc).

    Best-of-N filters out the noise of a shared machine; tracemalloc sees numpy's buffers.
    """
    fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return 1.0 / best, peak


def end_to_end(a: PanopticAnnotation, b: PanopticAnnotation, repeat: int,
               n_images: int = 4) -> None:
    """Decode + evaluate (both directions, boundary, diagnostics) vs decoding the PNGs only."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, ann in (("a", a), ("b", b)):
            copies = [PanopticAnnotation(ImageInfo(f"x{i}.png", H, W, i), ann.ids, ann.segments)
                      for i in range(n_images)]
            paths.append(write_coco_panoptic(copies, CATS, Path(tmp) / f"{name}.json"))
        pngs = [p.with_suffix("") / f"x{i}.png" for p in paths for i in range(n_images)]
        decode, _ = timed(lambda: [read_png_ids(p) for p in pngs], repeat)
        study = Study({"a": read_coco_panoptic(paths[0]), "b": read_coco_panoptic(paths[1])})
        full, peak = timed(lambda: evaluate(study), repeat)
        per_decode, per_full = 1000 / decode / n_images, 1000 / full / n_images
        print(f"  end to end, per image pair ({n_images} pairs): decode 2 PNGs {per_decode:6.1f} "
              f"ms | evaluate (decode + PQ + Boundary PQ, both roles, diagnostics) "
              f"{per_full:6.1f} ms = {per_full / per_decode:.2f}x decode | peak {peak:.0f} MiB")


def compare(a: PanopticAnnotation, b: PanopticAnnotation, repeat: int) -> None:
    """Naive vs ours for one pair, PQ alone and with Boundary PQ."""
    ra = {s.id: s.category_id for s in a.segments}
    rb = {s.id: s.category_id for s in b.segments}
    d = boundary_width(H, W)
    ca, cb = compact_ids(a.ids, a.segment_ids)[0], compact_ids(b.ids, b.segment_ids)[0]
    ba, bb = banded(ca, boundary_band(ca, d=d)), banded(cb, boundary_band(cb, d=d))
    nr = len(a.segments)
    for label, boundary in (("PQ", False), ("Boundary PQ", True)):
        reps = repeat if (not boundary or nr <= 25) else 1
        nv, nv_mem = timed(partial(naive_pq, np.asarray(a.ids), ra, np.asarray(b.ids), rb,
                                   d if boundary else None), reps)
        us, us_mem = timed(partial(ours, a, b, boundary), repeat)
        print(f"  {label:12} naive {nv:7.2f} pairs/s ({nv_mem:4.0f} MiB peak) | ours "
              f"{us:7.2f} pairs/s ({us_mem:4.0f} MiB peak) | {us / nv:5.1f}x")
        if boundary:  # in a study, compact maps and bands exist once per map
            per_pair = partial(per_extra_pair, a, b, ba, bb)
        else:
            per_pair = partial(per_extra_pair, a, b, ca, cb, plain=True)
        pp, pp_mem = timed(per_pair, repeat)
        print(f"  {'':12} ours, each further pair of an image (maps prepared once): {pp:7.2f} "
              f"pairs/s ({pp_mem:4.0f} MiB peak) | {pp / nv:5.1f}x")


def per_extra_pair(a: PanopticAnnotation, b: PanopticAnnotation, ma: np.ndarray,
                   mb: np.ndarray, *, plain: bool = False) -> dict:
    nr, no = len(a.segments), len(b.segments)
    if plain:
        table, bo = overlap_table(ma, mb, nr + 1, no + 1), None
    else:
        table, bo = joint_overlap_banded(ma, mb, nr, no)
    return evaluate_pair(overlap_from_table(table, a.segments, b.segments), bo).counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    map_mib = H * W * 4 / 2**20
    print(f"{H}x{W} maps (one int32 map = {map_mib:.0f} MiB), best of {args.repeat}")
    for n in (25, 150):
        a, b = synthetic_pair(n)
        print(f"~{n} segments ({len(a.segments)} / {len(b.segments)}), "
              f"d = {boundary_width(H, W)}")
        compare(a, b, args.repeat)
        end_to_end(a, b, args.repeat)


if __name__ == "__main__":
    main()
