"""The ambiguous regions' tables and descriptions as first written: one region at a time.

A test oracle for :func:`agreement.image.regions.region_records`, which describes every region
of an image at once with array operations: both must give equal records (values and types).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from agreement import _native
from agreement.image.disagreement import Heatmaps, _area_rows
from agreement.image.regions import (
    _components,
    _lacking,
    _name,
    _pair_code,
)
from agreement.model import Categories


def region_records(h: Heatmaps, categories: Categories, *, min_disagreement: float = 0.0,
                   min_area: int | None = None, width: int | None = None) -> list[dict]:
    """:func:`agreement.image.regions.region_records`, one ``_describe`` call per region."""
    shape = h.shape
    min_area = max(16, shape[0] * shape[1] // 10_000) if min_area is None else int(min_area)
    w = h.d if width is None else int(width)
    pt = h.per_tuple
    mask = h.tuples.gather((pt["semantic"] > min_disagreement)
                           | (pt["instance"] > min_disagreement))
    code = _pair_code(h)
    pixels, region, thin = _numpy_components(mask, w, code[h.tuples.index.ravel()[
        np.flatnonzero(mask)]])
    area = np.bincount(region, minlength=thin.size)
    keep = np.flatnonzero(area >= min_area)
    keep = keep[keep > 0]
    if keep.size == 0:
        return []
    t = _Tables(h, pixels, region, keep, code, w)
    thing = np.array([False] + [categories[c].isthing for c in h.category_ids])
    rows = [_describe(h, categories, t, r, int(label), bool(thin[label]), int(area[label]),
                      thing) for r, label in enumerate(keep)]
    return sorted(rows, key=lambda row: -row["severity"])


def _numpy_components(mask: npt.NDArray[np.bool_], w: int, code: npt.NDArray[np.integer]):
    """:func:`agreement.image.regions._components` by numpy (runs of pixels and a graph of
    them), not by the compiled union-find that the tested function uses when it was built."""
    saved, _native.kernels = _native.kernels, None
    try:
        return _components(mask, w, code)
    finally:
        _native.kernels = saved


def _count_keys(keys: npt.NDArray[np.int64], size: int
                ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The distinct keys in ``[0, size)`` and their counts, in increasing order."""
    if size <= 1 << 22:
        counts = np.bincount(keys, minlength=size)
        present = np.flatnonzero(counts)
        return present.astype(np.int64), counts[present]
    return np.unique(keys, return_counts=True)


class _Tables:
    """Per kept region: label histograms per annotator, disagreement sums, class-pair counts."""

    def __init__(self, h: Heatmaps, pixels: npt.NDArray[np.int64],
                 region: npt.NDArray[np.int64], keep: npt.NDArray[np.int64],
                 code: npt.NDArray[np.integer], w: int) -> None:
        n = keep.size
        remap = np.full(int(region.max()) + 1, -1, np.int64)
        remap[keep] = np.arange(n)
        flat = remap[region]
        sel = np.flatnonzero(flat >= 0)
        idx = pixels[sel]  # the kept regions' pixels, in raster order
        reg = flat[sel]
        tup = h.tuples.index.ravel()[idx]
        pt = h.per_tuple
        k = len(h.category_ids) + 1
        self.k, self.w = k, w
        self.hist = np.stack([np.bincount(reg * k + lab[tup], minlength=n * k).reshape(n, k)
                              for lab in pt["labels"]])
        instance = pt["instance"][tup]
        self.sem = np.bincount(reg, weights=pt["semantic"][tup], minlength=n)
        self.inst = np.bincount(reg, weights=instance, minlength=n)
        self.inst_label = np.bincount(reg * k + pt["majority"][tup], weights=instance,
                                      minlength=n * k).reshape(n, k).argmax(1)
        keys, counts = _count_keys(reg * (k * k) + code[tup], n * k * k)
        order = np.lexsort((-counts, keys // (k * k)))
        self.pair_region, self.pair_code = keys[order] // (k * k), keys[order] % (k * k)
        self.pair_count = counts[order]
        # stable: raster order within each region; 16-bit keys sort by radix (5x faster)
        order = np.argsort(reg.astype(np.int16) if n < 1 << 15 else reg, kind="stable")
        self.pixels = idx[order]  # grouped by region
        self.starts = np.searchsorted(reg[order], np.arange(n + 1))
        rows, cols = np.divmod(self.pixels, h.shape[1])
        if n:
            lo = self.starts[:-1]
            self.boxes = np.stack([np.minimum.reduceat(rows, lo), np.maximum.reduceat(rows, lo),
                                   np.minimum.reduceat(cols, lo), np.maximum.reduceat(cols, lo)],
                                  axis=1)
        self.areas: list[npt.NDArray[np.int64]] = []
        self._lacking: npt.NDArray[np.bool_] | None = None
        self._h = h

    def region_pixels(self, r: int) -> npt.NDArray[np.int64]:
        """Flat indices of the pixels of region ``r``."""
        return self.pixels[self.starts[r]:self.starts[r + 1]]

    def lacking(self) -> npt.NDArray[np.bool_]:
        """:func:`_lacking` with a tolerance of ``2 w``, computed when a region first needs it."""
        if self._lacking is None:
            self._lacking = _lacking(self._h, 2 * self.w)
        return self._lacking

    def pairs(self, r: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Class-pair codes of region ``r`` and their pixel counts, most frequent first."""
        lo, hi = np.searchsorted(self.pair_region, [r, r + 1])
        return self.pair_code[lo:hi], self.pair_count[lo:hi]


def _merged_by(h: Heatmaps, tuples: npt.NDArray[np.int32],
               areas: list[npt.NDArray[np.int64]]) -> tuple[str, ...]:
    """Annotators whose main segment in the region is >= 1.5x the smallest annotator's."""
    size = {}
    for i, name in enumerate(h.annotators):
        segs = h.tuples.codes[tuples, i]
        segs = segs[segs > 0]
        if segs.size:
            size[name] = areas[i][np.bincount(segs).argmax()]
    if not size:
        return ()
    small = min(size.values())
    return tuple(n for n, s in size.items() if s >= 1.5 * small)


def _instance_sides(h: Heatmaps, tuples: npt.NDArray[np.int32],
                    members: npt.NDArray[np.int64]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Annotators of the class agreeing with the majority instances / dissenting on most pixels."""
    a, b = [], []
    for i, name in enumerate(h.annotators):
        if members[i] == 0:
            continue
        dissent = int(np.count_nonzero(h.per_tuple["instance_disputed"][i][tuples]))
        (b if 2 * dissent > members[i] else a).append(name)
    return tuple(a), tuple(b)


def _sides(hist: npt.NDArray, c1: int, c2: int, names: tuple[str, ...]):
    a = tuple(n for n, row in zip(names, hist, strict=True) if row[c1] and row[c1] >= row[c2])
    b = tuple(n for n, row in zip(names, hist, strict=True) if row[c2] > row[c1])
    if not b:  # nobody gives c2 most of the region: those who give it at all, if fewer
        some = tuple(n for n, row in zip(names, hist, strict=True) if row[c2] and n in a)
        if 0 < 2 * len(some) < len(a):
            a, b = tuple(n for n in a if n not in some), some
    return a, b



def _kind(thin: bool, instance: float, semantic: float, c1: int, c2: int,
          thing: npt.NDArray[np.bool_], borderless) -> str:
    """The region's kind (module notes); ``borderless()`` is its borderless share, computed
    only when the kind depends on it."""
    if instance > semantic:
        return "merge-split"
    if thin and 0 in (c1, c2):
        return "unlabeled gap"
    if thin:
        return "missed object" if borderless() >= 0.5 else "boundary placement"
    if thing[c1] != thing[c2]:
        return "missed object"
    if 0 in (c1, c2):
        return "unlabeled gap"
    return "class confusion"


def _pair_names(h: Heatmaps, categories: Categories, codes, counts, area: int, k: int) -> str:
    """``"road <-> sidewalk (62%); ..."`` for the pairs covering >= 10 % of the region."""
    out = []
    for c, n in zip(codes, counts, strict=True):
        if n >= 0.1 * area:
            names = sorted((_name(int(c) // k, h, categories), _name(int(c) % k, h, categories)))
            out.append(f"{names[0]} <-> {names[1]} ({100 * n / area:.0f}%)")
    return "; ".join(out)


def _describe(h: Heatmaps, categories: Categories, t: _Tables, r: int, label: int, thin: bool,
              area: int, thing: npt.NDArray[np.bool_]) -> dict:
    votes = t.hist[:, r].sum(0)
    codes, counts = t.pairs(r)
    # the most frequent (majority, dissent) pair of two classes; a pixel disputed on the
    # instance only has the pair (class, class), which names no class disagreement
    two = np.flatnonzero(codes // t.k != codes % t.k)
    c1, c2 = divmod(int(codes[two[0] if two.size else 0]), t.k)
    if votes[c2] > votes[c1]:
        c1, c2 = c2, c1
    inside = t.region_pixels(r)
    kind = ("merge-split" if c1 == c2 else
            _kind(thin, t.inst[r], t.sem[r], c1, c2, thing,
                  lambda: np.count_nonzero(t.lacking().ravel()[inside]) / area))
    merged: tuple[str, ...] = ()
    if kind == "merge-split":  # the thing class whose instances are disputed
        c1 = c2 = int(t.inst_label[r])
        tuples = h.tuples.index.ravel()[inside]
        t.areas = t.areas or [np.rint(np.bincount(c, weights=h.tuples.count)).astype(np.int64)
                              for c in h.tuples.codes.T]
        merged = _merged_by(h, tuples, t.areas)
        side_a, side_b = _instance_sides(h, tuples, t.hist[:, r, c1])
        if not side_b and merged:  # nobody dissents on most of it: mergers vs splitters
            split = tuple(n for n in side_a if n not in merged)
            side_a, side_b = (split, merged) if len(merged) <= len(split) else (merged, split)
    else:
        side_a, side_b = _sides(t.hist[:, r], c1, c2, h.annotators)
    if len(side_b) > len(side_a):
        side_a, side_b, c1, c2 = side_b, side_a, c2, c1
    na, nb = _name(c1, h, categories), _name(c2, h, categories)
    y0, y1, x0, x1 = t.boxes[r]
    return {
        "image": h.image, "region": label, "kind": kind,
        "class_pair": " <-> ".join(sorted((na, nb))),
        "class_pairs": _pair_names(h, categories, codes, counts, area, t.k),
        "class_a": na, "class_b": nb,
        "category_a": 0 if c1 == 0 else h.category_ids[c1 - 1],
        "category_b": 0 if c2 == 0 else h.category_ids[c2 - 1],
        "annotators_a": side_a, "annotators_b": side_b, "merged_by": merged, "area": area,
        "bbox_x": int(x0), "bbox_y": int(y0), "bbox_w": int(x1 - x0 + 1),
        "bbox_h": int(y1 - y0 + 1),
        "mean_disagreement": float((t.sem[r] + t.inst[r]) / area),
        "severity": float(t.sem[r] + t.inst[r]),
    }



def area_weights(n: int, m: int):
    """The ``(m, n)`` sparse matrix averaging ``n`` unit cells into ``m`` equal ones by overlap
    length: the aggregate heatmaps' area average as first written (a sparse product)."""
    from scipy.sparse import csr_matrix

    rows = _area_rows(n, m)
    return csr_matrix((np.concatenate([v for _, v in rows]),
                       (np.concatenate([np.full(c.size, i) for i, (c, _) in enumerate(rows)]),
                        np.concatenate([c for c, _ in rows]))), shape=(m, n))
