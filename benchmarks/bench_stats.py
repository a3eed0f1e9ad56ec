"""Throughput of the vectorised image bootstrap vs a straightforward loop over resamples.

    python benchmarks/bench_stats.py [--images 500] [--classes 20] [--resamples 2000]

Both compute the same percentile intervals of per-class PQ from the same resamples (checked).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from agreement.compare.comparison import CLASS_METRICS
from agreement.stats import CountTable, bootstrap, permutation_test, resample_weights


def _table(n_images: int, n_classes: int, seed: int = 0) -> CountTable:
    rng = np.random.default_rng(seed)
    tp = rng.poisson(3, (n_images, n_classes))
    fp, fn = rng.poisson(1, (2, n_images, n_classes))
    iou = tp * rng.uniform(0.6, 0.9, (n_images, n_classes))
    values = np.stack([tp, fp, fn, iou], axis=-1).astype(float)
    return CountTable(tuple(map(str, range(n_images))), tuple(range(n_classes)),
                      ("tp", "fp", "fn", "iou_sum"), values)


def _loop(table: CountTable, n_resamples: int, seed: int) -> np.ndarray:
    """The obvious version: one resample at a time, index, sum, compute."""
    stat = CLASS_METRICS["pq"][1]
    weights = resample_weights(table.n_images, n_resamples, np.random.default_rng(seed))
    reps = []
    for w in weights:
        idx = np.repeat(np.arange(table.n_images), w)
        s = table.values[idx].sum(axis=0)
        reps.append(stat({f: s[:, k] for k, f in enumerate(table.fields)}))
    return np.quantile(np.array(reps), [0.025, 0.975], axis=0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=500)
    p.add_argument("--classes", type=int, default=20)
    p.add_argument("--resamples", type=int, default=2000)
    args = p.parse_args()
    table = _table(args.images, args.classes)
    stat = CLASS_METRICS["pq"][1]
    t0 = time.perf_counter()
    fast = bootstrap(table, stat, n_resamples=args.resamples, seed=1)
    t1 = time.perf_counter()
    slow = _loop(table, args.resamples, seed=1)
    t2 = time.perf_counter()
    assert np.allclose(fast.low, slow[0]) and np.allclose(fast.high, slow[1])
    n = args.resamples
    print(f"{args.images} images x {args.classes} classes, {n} resamples")
    print(f"vectorised bootstrap: {t1 - t0:.3f} s ({n / (t1 - t0):,.0f} resamples/s)")
    print(f"loop over resamples:  {t2 - t1:.3f} s ({n / (t2 - t1):,.0f} resamples/s)")
    print(f"speed-up: {(t2 - t1) / (t1 - t0):.1f}x")
    t3 = time.perf_counter()
    permutation_test(table, _table(args.images, args.classes, seed=2), stat, n_resamples=n)
    print(f"unpaired permutation test, {n} arrangements: {time.perf_counter() - t3:.3f} s")


if __name__ == "__main__":
    main()
