"""CPU time of the PQ part's per-image kernel: the pairs' joint tables, matchings and diagnoses.

    PYTHONPATH=. python benchmarks/bench_pairs.py                 # 30 images, 7 repeats
    PYTHONPATH=. python benchmarks/bench_pairs.py --images 100

On the synthetic street study (``benchmarks/_synthetic.py``: 512 x 1024, three annotators,
drawn in memory), with Boundary PQ as the report computes it: the banded maps are built first
(not timed), then each repeat times, with ``time.process_time`` over all images,

- ``joint tables``: :meth:`agreement.image.maps.ImageMaps.pair` of every pair;
- ``evaluate_pair``: both directions' PQ and Boundary PQ matchings and counts;
- ``diagnose``: both directions' segment diagnoses;
- ``evaluate_pairs``: all of it, as the PQ part calls it (pair tables built afresh).

Medians of the repeats are printed. Compare two versions of the code by running the same command
with each on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _synthetic import ANNOTATORS, CATEGORIES, _drawings

from agreement.image.maps import ImageMaps
from agreement.image.pairs import evaluate_pairs
from agreement.matching import diagnose
from agreement.metrics.boundary import evaluate_pair


def images(drawn: list[list], n: int) -> list[ImageMaps]:
    """Fresh maps of the ``n`` images with their banded maps built."""
    out = []
    for i in range(n):
        maps = ImageMaps(drawn[0][i].image.file_name,
                         {a: drawn[k][i] for k, a in enumerate(ANNOTATORS)},
                         categories=CATEGORIES, dilation_ratio=0.02)
        for a in maps.names:
            maps.banded(a)
        out.append(maps)
    return out


def one_repeat(drawn: list[list], n: int) -> dict[str, float]:
    things = CATEGORIES.thing_ids
    times = dict.fromkeys(("joint tables", "evaluate_pair", "diagnose", "evaluate_pairs"), 0.0)
    all_maps = images(drawn, n)
    t = time.process_time()
    tables = [(maps, maps.pair(a, b)) for maps in all_maps for a, b in maps.pairs()]
    times["joint tables"] = time.process_time() - t
    directions = [(table.overlap(ref), table.boundary_overlap(ref))
                  for _, table in tables for ref in (table.a, table.b)]
    t = time.process_time()
    evaluations = [evaluate_pair(ov, bo) for ov, bo in directions]
    times["evaluate_pair"] = time.process_time() - t
    t = time.process_time()
    for (ov, _), ev in zip(directions, evaluations, strict=True):
        diagnose(ov, ev.matches, threshold=0.2, things=things)
    times["diagnose"] = time.process_time() - t
    all_maps = images(drawn, n)
    t = time.process_time()
    for maps in all_maps:
        evaluate_pairs(maps, maps.names)
    times["evaluate_pairs"] = time.process_time() - t
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=30)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)
    drawn = [list(_drawings(who, args.images, 512, 1024)) for who in range(len(ANNOTATORS))]
    one_repeat(drawn, min(args.images, 3))  # warm up (imports, caches)
    runs = [one_repeat(drawn, args.images) for _ in range(args.repeats)]
    print(f"{args.images} images of 512 x 1024, {len(ANNOTATORS)} annotators, "
          f"CPU seconds, median of {args.repeats}:")
    for name in runs[0]:
        print(f"  {name:<16} {statistics.median(r[name] for r in runs):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
