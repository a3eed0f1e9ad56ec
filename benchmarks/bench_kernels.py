"""CPU time of the per-image steps that have compiled kernels, compiled against numpy.

    python benchmarks/bench_kernels.py                 # 30 images of 512 x 1024, 3 annotators
    python benchmarks/bench_kernels.py --images 100 --repeats 7

On the synthetic street study (``benchmarks/_synthetic.py``, drawn in memory), for every image:
validation's per-map checks (:func:`agreement.image.checks.map_findings`: the blob check), the
band windows (:func:`agreement.metrics.boundary.boundary_near` of each map and the opening of
:mod:`agreement.image.regions`: ``_window_any``) and the findings kernel
(:func:`agreement.diagnosis._kernel.maps_record`, on maps whose tuples and pair tables are already
built, as in the report's pass; the leave-one-out consensus it reads is computed inside). Each
step is timed with ``time.process_time`` over all images, with the compiled kernels and with
the numpy fallbacks (``agreement._native.kernels = None``), interleaved; medians of the repeats.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _synthetic import ANNOTATORS, CATEGORIES, _drawings

from agreement import _native
from agreement.diagnosis._kernel import maps_record
from agreement.image.checks import map_findings
from agreement.image.maps import ImageMaps
from agreement.image.regions import _opening
from agreement.metrics.boundary import boundary_near, boundary_width


def studies(images: int, shape: tuple[int, int]) -> list[ImageMaps]:
    """The images' maps, with the tuples and pair tables the pass holds before the findings."""
    drawn = [list(_drawings(who, images, *shape)) for who in range(len(ANNOTATORS))]
    out = []
    for i in range(images):
        maps = ImageMaps(drawn[0][i].image.file_name,
                         {a: drawn[k][i] for k, a in enumerate(ANNOTATORS)}, categories=CATEGORIES)
        maps.tuples(), maps.tuple_labels()
        for a, b in maps.pairs():
            maps.pair(a, b).table_for(a)
        out.append(maps)
    return out


def steps(all_maps: list[ImageMaps]) -> dict:
    def checks() -> None:
        for maps in all_maps:
            for a, ann in maps.annotations.items():
                map_findings(ann, CATEGORIES, {"annotator": a}, min_area=10, max_unlabeled=0.5)

    def windows() -> None:
        for maps in all_maps:
            for ann in maps.annotations.values():
                boundary_near(ann.compact, d=boundary_width(*ann.shape))
                _opening(ann.compact > 0, 2)

    def findings() -> None:
        for maps in all_maps:
            maps._cache = {k: v for k, v in maps._cache.items() if "consensus" not in str(k)}
            maps_record(maps)

    return {"blob check (map_findings)": checks, "band windows (_window_any)": windows,
            "findings kernel (maps_record)": findings}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=30)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    compiled = _native.kernels
    if compiled is None:
        print("compiled kernels not built: nothing to compare")
        return 1
    all_maps = studies(args.images, (512, 1024))
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeats):
        for name, fn in steps(all_maps).items():
            for path, kern in (("compiled", compiled), ("numpy", None)):
                _native.kernels = kern
                t = time.process_time()
                fn()
                times.setdefault((name, path), []).append(time.process_time() - t)
    _native.kernels = compiled
    print(f"{args.images} images of 512 x 1024, 3 annotators; CPU s, median of {args.repeats}")
    for name in steps(all_maps):
        c, n = (float(np.median(times[name, p])) for p in ("compiled", "numpy"))
        print(f"  {name:32s} numpy {n:6.3f}  compiled {c:6.3f}  ({n / c:4.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
