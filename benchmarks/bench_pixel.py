"""Benchmark: pixel agreement and disagreement heatmaps on 1024 x 2048 maps, 5 annotators.

Compares the vectorised kernels (one bincount per annotator pair; pairwise label comparisons;
separable min/max filters) with a straightforward reference (one boolean mask per class or class
pair; a non-separable dilation), checks they agree, and prints throughput.

Run: ``.venv/bin/python benchmarks/bench_pixel.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import time
from itertools import combinations

import numpy as np

from agreement.image.disagreement import heatmaps
from agreement.image.regions import ambiguous_regions
from agreement.metrics.pixel import agreement_from_counts, label_map, pixel_counts
from agreement.model import Categories, Category, ImageInfo, PanopticAnnotation, Segment

H, W, N = 1024, 2048, 5
CATS = Categories([Category(i, f"stuff{i}", False) for i in range(1, 7)]
                  + [Category(i, f"thing{i}", True) for i in range(7, 10)])


def synthetic_annotator(rng: np.random.Generator, seed_boxes: np.ndarray, k: int
                        ) -> PanopticAnnotation:
    """Horizontal stuff bands with jittered borders, ~30 thing boxes, a few swaps and gaps."""
    ids = np.zeros((H, W), np.int32)
    cuts = np.sort(np.array([150, 320, 480, 620, 800]) + rng.integers(-6, 7, 5))
    edges = [0, *cuts.tolist(), H]
    cats = {}
    for b in range(6):
        ids[edges[b]:edges[b + 1]] = b + 1
        cats[b + 1] = b + 1
    for n, (y, x, h, w, c) in enumerate(seed_boxes):
        dy, dx = rng.integers(-3, 4, 2)
        if rng.random() < 0.05:
            continue  # missed object
        ids[y + dy:y + dy + h, x + dx:x + dx + w] = 100 + n
        cats[100 + n] = int(c)
    for _ in range(3):  # class confusion patches and unlabelled gaps
        y, x = rng.integers(0, H - 80), rng.integers(0, W - 120)
        ids[y:y + 60, x:x + 100] = rng.choice([0, 2, 3])
    if k == 0:
        ids[480:520] = 3  # the systematic annotator
    areas = np.bincount(ids.ravel(), minlength=200 + len(seed_boxes))
    segs = tuple(Segment(s, c, False, int(areas[s])) for s, c in cats.items() if areas[s])
    return PanopticAnnotation(ImageInfo("bench.png", H, W), ids, segs)


def reference_counts(labels: list[np.ndarray], k: int) -> np.ndarray:
    """Confusion per pair from one mask per class pair (K^2 passes per pair)."""
    out = []
    for a, b in combinations(labels, 2):
        t = np.zeros((k, k), np.int64)
        for i in range(k):
            mi = a == i
            for j in range(k):
                t[i, j] = np.count_nonzero(mi & (b == j))
        out.append(t)
    return np.stack(out)


def reference_heatmaps(anns: list[PanopticAnnotation], labels: list[np.ndarray], k: int,
                       d: int) -> tuple[np.ndarray, np.ndarray]:
    """Votes per class (K passes), and boundaries by comparing every window offset."""
    votes = np.stack([sum((lab == c).astype(np.uint8) for lab in labels) for c in range(k)])
    semantic = 1.0 - votes.max(0) / len(labels)
    count = np.zeros((H, W), np.uint8)
    for a in anns:  # the window holds two ids iff some pixel of it differs from the centre
        ids = a.compact
        near = np.zeros((H, W), bool)
        for dy in range(-d, d + 1):
            for dx in range(-d, d + 1):
                ys, yd = slice(max(0, dy), H + min(0, dy)), slice(max(0, -dy), H + min(0, -dy))
                xs, xd = slice(max(0, dx), W + min(0, dx)), slice(max(0, -dx), W + min(0, -dx))
                near[yd, xd] |= ids[ys, xs] != ids[yd, xd]
        count += near
    return semantic, count


def timed(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    boxes = np.stack([rng.integers(0, H - 120, 30), rng.integers(0, W - 200, 30),
                      rng.integers(20, 120, 30), rng.integers(20, 200, 30),
                      rng.integers(7, 10, 30)], axis=1)
    anns = {f"a{k}": synthetic_annotator(rng, boxes, k) for k in range(N)}
    for a in anns.values():
        _ = a.compact
    ids = tuple(CATS)
    k = len(ids) + 1
    mpx = H * W / 1e6

    def fast_counts():
        labels = {n: label_map(a, ids) for n, a in anns.items()}
        return pixel_counts(labels, annotators=list(anns), category_ids=ids, void="label")

    t_fast, counts = timed(fast_counts, args.repeat)
    labels = [label_map(a, ids) for a in anns.values()]
    t_ref, ref = timed(lambda: reference_counts(labels, k), 1)
    assert np.array_equal(counts.pair_tables, ref), "pixel counts disagree with the reference"
    res = agreement_from_counts(counts, categories=CATS)
    print(f"pixel agreement  {H}x{W}, {N} annotators ({len(ref)} pairs, {k} labels)")
    print(f"  vectorised  {t_fast * 1e3:8.1f} ms  {mpx / t_fast:7.1f} Mpx/s (image pixels)")
    print(f"  reference   {t_ref * 1e3:8.1f} ms  {mpx / t_ref:7.1f} Mpx/s   "
          f"speed-up x{t_ref / t_fast:.1f}   (alpha={res.alpha:.4f}, "
          f"fleiss={res.fleiss_kappa:.4f})")

    d = 11
    t_heat, h = timed(lambda: heatmaps(anns, CATS, d=d), args.repeat)
    t_href, (sem_ref, count_ref) = timed(lambda: reference_heatmaps(
        list(anns.values()), labels, k, d), 1)
    np.testing.assert_allclose(h.semantic, sem_ref, rtol=1e-6)
    assert np.array_equal(count_ref, h.boundary_count), "boundary counts disagree"
    t_reg, regions = timed(lambda: ambiguous_regions(h, CATS), args.repeat)
    print(f"heatmaps (semantic, entropy, boundary d={d}, instance) + regions")
    print(f"  heatmaps    {t_heat * 1e3:8.1f} ms  {mpx / t_heat:7.1f} Mpx/s")
    print(f"  reference   {t_href * 1e3:8.1f} ms  {mpx / t_href:7.1f} Mpx/s   "
          f"(semantic + boundary only) speed-up x{t_href / t_heat:.1f}")
    print(f"  regions     {t_reg * 1e3:8.1f} ms  ({len(regions)} regions)")
    total = t_fast + t_heat + t_reg
    print(f"per image, all of the above: {total:.2f} s -> {1 / total:.2f} images/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
