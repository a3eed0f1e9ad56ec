"""Benchmark: the writers' encoders against straightforward ones, and a whole consensus export.

* Label Studio brush RLE: ``encode_brush`` (vectorised over runs, from the region's crop)
  against a per-word encoder written from the format description (``tests/_lsenc.py``, the
  layout Label Studio's SDK writes) on full-image masks.
* CVAT mask RLE: ``cvat_mask_rle`` on the tight crop against ``cvat_sdk.masks.encode_mask`` (when
  installed) on the full image.
* ``write_consensus`` of the sample study in each format: images per second.

Both encodings are checked equal (decoded masks, identical run lists); times are medians of
interleaved repeats. Run: ``.venv/bin/python benchmarks/bench_writers.py [--regions 6]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from agreement import consensus
from agreement.image.voting import vote_layer
from agreement.io import load_study, write_consensus
from agreement.io._export_regions import export_regions
from agreement.io._lsrle import decode_brush
from agreement.io._lsrle_encode import encode_brush
from agreement.io.consensus_export import CONSENSUS_FORMATS
from agreement.io.cvat_write import cvat_mask_rle

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from _lsenc import encode_mask as per_word_brush  # noqa: E402


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default=str(ROOT / "data" / "sample" / "batch1"))
    parser.add_argument("--regions", type=int, default=6, help="regions for the brush race")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    study = load_study(args.study)
    cons = {}
    for image, anns in study.iter_images():
        c = consensus(anns, study.categories, image=image).annotation
        cons[image] = (c, vote_layer(anns, c, study.categories))
    first = next(iter(cons.values()))[0]
    h, w = first.shape
    regions = list(export_regions(first, study.categories))
    print(f"{study!r}; first consensus map {w}x{h}, {len(regions)} regions")

    fast_t, slow_t = [], []
    for r in regions[: args.regions]:
        full = np.zeros((h, w), bool)
        full[r.top : r.top + r.mask.shape[0], r.left : r.left + r.mask.shape[1]] = r.mask
        t_fast, fast = timed(lambda r=r: encode_brush(r.mask, top=r.top, left=r.left,
                                                      height=h, width=w), args.repeats)
        t_slow, slow = timed(lambda full=full: per_word_brush(full), 1)
        assert np.array_equal(decode_brush(fast, w, h), full)
        assert np.array_equal(decode_brush(slow, w, h), full)
        fast_t.append(t_fast)
        slow_t.append(t_slow)
    print(f"brush RLE, {len(fast_t)} regions: per-word {statistics.median(slow_t) * 1e3:8.1f} ms"
          f" median, vectorised {statistics.median(fast_t) * 1e3:6.2f} ms; "
          f"x{statistics.median(slow_t) / statistics.median(fast_t):.0f}; masks equal")

    try:
        from cvat_sdk.masks import encode_mask
    except ImportError:
        print("CVAT RLE: cvat-sdk not installed, skipped")
    else:
        ours_t, theirs_t = [], []
        for r in regions:
            full = np.zeros((h, w), bool)
            full[r.top : r.top + r.mask.shape[0], r.left : r.left + r.mask.shape[1]] = r.mask
            t_theirs, theirs = timed(lambda full=full: encode_mask(full), args.repeats)
            t_ours, ours = timed(lambda r=r: cvat_mask_rle(r.mask), args.repeats)
            assert ours == theirs[:-4]
            ours_t.append(t_ours)
            theirs_t.append(t_theirs)
        print(f"CVAT RLE, {len(regions)} regions: cvat-sdk on the image "
              f"{sum(theirs_t) * 1e3:7.2f} ms, ours on the crop {sum(ours_t) * 1e3:7.2f} ms; "
              f"x{sum(theirs_t) / sum(ours_t):.1f}; runs identical")

    for fmt in sorted(CONSENSUS_FORMATS):
        with tempfile.TemporaryDirectory() as tmp:
            items = ((i, c, v) for i, (c, v) in cons.items())
            t = time.perf_counter()
            res = write_consensus(items, study.categories, Path(tmp) / "out", format=fmt)
            took = time.perf_counter() - t
            size = res.export.stat().st_size
        print(f"write_consensus {fmt:13s}: {len(cons)} images in {took:5.2f} s "
              f"({len(cons) / took:5.1f} images/s), export {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
