"""Throughput of the region measures: one contingency table per pair vs one mask per region.

Usage: ``python benchmarks/bench_region.py [--pairs N] [--bsds ../shared/datasets/bsds500/val]``

Synthetic maps are BSDS-sized (481 x 321) Voronoi partitions with 5-60 regions. The vectorised
path computes, per ordered pair, covering, Rand index, VI and class-agnostic PQ from one table
(:func:`agreement.study.consistency.image_pairs`); the reference loops over regions with
full-size masks (covering and PQ) and uses scikit-learn's contingency for the Rand index and VI.
With ``--bsds`` it also times the whole human-consistency protocol on that folder.

With ``--disputes STUDY`` it times instead the disagreement part's per-image kernel
(:meth:`agreement.study.disputes.DisputesPart.kernel`: tuples, heatmaps, ambiguous regions,
aggregate heatmaps, pair cells, region tally) over the study's images, CPU time in this process
(the maps decoded afresh each round, untimed), ``--repeat`` rounds: its median and best. With
``--regions STUDY`` it times the ambiguous regions alone the same way
(:func:`agreement.image.regions.region_records` and
:meth:`agreement.study.region_tally.RegionTally.of`, the heatmaps made untimed before them).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import mutual_info_score, rand_score

from agreement.io import load_study
from agreement.io.label_maps import annotation_from_labels
from agreement.study.consistency import human_consistency, image_pairs


def voronoi(rng: np.random.Generator, shape=(481, 321)) -> np.ndarray:
    k = int(rng.integers(5, 60))
    seeds = rng.uniform((0, 0), shape, size=(k, 2))
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    d = (yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2
    return (d.argmin(axis=2) + 1).astype(np.int32)


def reference_pair(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, int]:
    """Straightforward: one mask per region (covering, PQ matches), sklearn for RI / VI."""
    ri = rand_score(a.ravel(), b.ravel())
    mi = mutual_info_score(a.ravel(), b.ravel()) / np.log(2)
    h = [-(p * np.log2(p)).sum() for p in (np.bincount(x.ravel())[1:] / x.size for x in (a, b))]
    vi = h[0] + h[1] - 2 * mi
    num, tp = 0.0, 0
    masks_b = [b == s for s in np.unique(b)]
    for r in np.unique(a):
        g = a == r
        ious = [np.sum(g & p) / np.sum(g | p) for p in masks_b]
        num += g.sum() * max(ious)
        tp += sum(i > 0.5 for i in ious)
    return num / a.size, ri, vi, tp


def disputes_kernel(path: str, repeat: int) -> None:
    """CPU seconds of the disagreement part's kernel over every image of a study."""
    from agreement.study.disputes import DisputesPart
    from agreement.study.runner import _Job

    study = load_study(path)
    job, part, rounds = _Job(study, (), False, None, None), DisputesPart(), []
    for _ in range(repeat):
        took = 0.0
        for image in study.images:
            maps = job.load(image)
            t = time.process_time()
            part.kernel(maps)
            took += time.process_time() - t
        rounds.append(took)
    print(f"disagreement kernel, {len(study.images)} images: median {np.median(rounds):.2f} s, "
          f"best {min(rounds):.2f} s CPU ({repeat} rounds)")


def regions_alone(path: str, repeat: int) -> None:
    """CPU seconds of the ambiguous regions and their tally over every image of a study."""
    from agreement.image.regions import region_records
    from agreement.study.disputes import DisputesPart, heatmaps_of
    from agreement.study.region_tally import RegionTally
    from agreement.study.runner import _Job

    study = load_study(path)
    job, part, rounds = _Job(study, (), False, None, None), DisputesPart(), []
    for _ in range(repeat):
        took = [0.0, 0.0]
        for image in study.images:
            maps = job.load(image)
            h = heatmaps_of(maps, d=part.d, void=part.void)
            h.class_counts()  # as the kernel: the class counts, the boundary count first
            h.boundary_count  # noqa: B018
            t = time.process_time()
            regions = region_records(h, maps.categories, min_disagreement=part.min_disagreement,
                                     min_area=part.min_area)
            t1 = time.process_time()
            RegionTally.of(regions)
            took[0] += t1 - t
            took[1] += time.process_time() - t1
        rounds.append(took)
    records, tally = np.array(rounds).T
    print(f"ambiguous regions, {len(study.images)} images: region_records median "
          f"{np.median(records):.3f} s (best {records.min():.3f}), RegionTally.of median "
          f"{np.median(tally):.3f} s (best {tally.min():.3f}), CPU ({repeat} rounds)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--bsds", help="a BSDS .mat folder to time the whole protocol on")
    parser.add_argument("--disputes", help="a study whose disagreement kernel to time")
    parser.add_argument("--regions", help="a study whose ambiguous regions to time")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.disputes:
        disputes_kernel(args.disputes, args.repeat)
        return
    if args.regions:
        regions_alone(args.regions, args.repeat)
        return
    rng = np.random.default_rng(0)
    maps = [voronoi(rng) for _ in range(args.pairs + 1)]
    anns = {f"a{i}": annotation_from_labels(m, file_name="img") for i, m in enumerate(maps)}

    t = time.perf_counter()
    for i in range(args.pairs):
        image_pairs("img", {"x": anns[f"a{i}"], "y": anns[f"a{i + 1}"]})
    fast = (time.perf_counter() - t) / (2 * args.pairs)
    t = time.perf_counter()
    for i in range(args.pairs):
        reference_pair(maps[i], maps[i + 1])
        reference_pair(maps[i + 1], maps[i])
    slow = (time.perf_counter() - t) / (2 * args.pairs)
    print(f"one table per pair : {1 / fast:8.1f} ordered pairs/s ({fast * 1e3:.2f} ms)")
    print(f"mask per region    : {1 / slow:8.1f} ordered pairs/s ({slow * 1e3:.2f} ms)")
    print(f"speed-up           : {slow / fast:8.1f}x")
    if args.bsds:
        t = time.perf_counter()
        result = human_consistency(load_study(args.bsds))
        took = time.perf_counter() - t
        print(f"{args.bsds}: {result.n_images} images, {len(result.pairs)} pairs in {took:.1f} s "
              f"(covering {result.covering:.3f}, PRI {result.pri:.3f}, VI {result.vi:.3f})")


if __name__ == "__main__":
    main()
