"""Ambiguous regions: connected areas of disagreement, described and ranked.

A pixel is *disputed* when its semantic or instance disagreement (see
:mod:`agreement.image.disagreement`) exceeds ``min_disagreement``. The disputed mask is split into a
*thick* part (what survives a morphological opening with a ``(2w+1)`` square, ``w`` = the boundary
tolerance) and a *thin* rest; connected components (8-connectivity, those of
``scipy.ndimage.label``, found over runs of pixels) of each part are regions, the thin ones also
split where the pair (majority class, dissenting class) changes. Per region, every annotator's label
histogram comes from the pixels per (region, tuple of segments); every field of every region is
computed at once with array operations, the sides of merge-split regions excepted. The passes over
the disputed pixels (opening, components, per-region sums) are compiled loops when
``agreement._kernels`` is built, numpy otherwise: the same records, bit for bit.

Kinds, decided in this order:

merge-split
    The region's instance disagreement outweighs its semantic disagreement (or no pixel of it
    is given two classes): annotators agree on the class but not on the instances. Side *b*
    are the annotators outside the majority instance group on most of the region;
    ``merged_by`` lists the annotators whose segment there is at least 1.5 times larger than
    the smallest annotator's (they merged what others split). When no annotator is outside the
    majority group on most of the region, side *b* is the smaller of the mergers and the others.
unlabeled gap (thin)
    A thin region (no ``(2w+1)`` square fits in it) where one of the two classes is void: a band
    some annotators left unlabelled along a boundary.
missed object (thin)
    Another thin region where, on at least half of its pixels, some annotator draws no segment
    border within ``2w`` pixels: a thin structure (a pole, a sign) some annotators did not draw.
boundary placement
    Any other thin region: every annotator draws a border there, between ``class_a`` and
    ``class_b``, at places less than about ``2w`` pixels apart.
missed object
    One of the two classes is a thing, the other is stuff or void: some annotators drew an object
    the others did not.
unlabeled gap
    One of the two classes is void: some annotators left the area unlabelled.
class confusion
    Both classes are labels (stuff or thing, not one of each): the area is given different
    classes.

``class_pair`` is the most frequent pair of two classes (majority class, a dissenting annotator's
class) over the region's pixels (the thing class twice for a merge-split region, and only then:
pixels disputed on the instance alone count as the pair (class, class), which never names a
class confusion); ``class_pairs`` lists every pair covering at least 10 % of the region with its
share. ``class_a`` / ``class_b`` are its two classes and ``annotators_a`` / ``annotators_b`` the
annotators using more of one than the other in the region, ordered so that side *a* has at least
as many annotators (side *b* is the minority, the dissenters); when nobody uses more of
``class_b``, side *b* are those using ``class_b`` at all, if they are fewer than the others (a
dissenter who labels part of the region differently).
``severity`` is the sum over the region of semantic plus instance disagreement (a pixel count
weighted by the share of dissenting annotators).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from .. import _native
from ..metrics.boundary import _window_any as window_any  # 1-D windows of the bands
from ..model import Categories
from ._graph import components
from .disagreement import Heatmaps
from .tuples import take

__all__ = ["KINDS", "REGION_COLUMNS", "ambiguous_regions", "region_records"]

KINDS = ("boundary placement", "class confusion", "merge-split", "missed object", "unlabeled gap")

REGION_COLUMNS = [
    "image", "region", "kind", "class_pair", "class_pairs", "class_a", "class_b", "category_a",
    "category_b",
    "annotators_a", "annotators_b", "merged_by", "area", "bbox_x", "bbox_y", "bbox_w", "bbox_h",
    "mean_disagreement", "severity",
]


def _opening(mask: npt.NDArray[np.bool_], w: int) -> npt.NDArray[np.bool_]:
    """Morphological opening with a ``(2w+1)`` square (window clipped at the image border),
    kept inside ``mask``: erosion is "no unset pixel in the window", dilation "a set pixel in
    the window", each a 1-D window along the rows then the columns
    (``agreement.metrics.boundary._window_any``, log-step shifted ORs over whole maps;
    outside the image counts as set for the erosion, unset for the dilation)."""
    r = int(w)
    eroded = ~window_any(window_any(~mask, r, r, axis=1), r, r, axis=0)
    if not eroded.any():
        return eroded
    return window_any(window_any(eroded, r, r, axis=1), r, r, axis=0) & mask


def _pair_code(h: Heatmaps) -> npt.NDArray[np.int64]:
    """Per tuple, the unordered pair (majority label, first dissenting annotator's label)."""
    k = len(h.category_ids) + 1
    pt = h.per_tuple
    disputed, labels, majority = pt["disputed"], pt["labels"], pt["majority"]
    first = np.argmax(disputed, axis=0)
    other = np.take_along_axis(labels, first[None], 0)[0].astype(np.int64)
    other = np.where(disputed.any(0), other, majority)
    lo, hi = np.minimum(majority, other), np.maximum(majority, other)
    return (lo.astype(np.int64) * k + hi).astype(np.int32 if k * k < 1 << 31 else np.int64)


def _connected(pixels: npt.NDArray[np.int64], shape: tuple[int, int],
               code: npt.NDArray[np.integer] | None = None) -> tuple[npt.NDArray[np.int64], int]:
    """8-connected components of a set of pixels (sorted flat indices) whose neighbours also
    share ``code``: component of each pixel (0-based, numbered in raster order of their first
    pixel, as ``scipy.ndimage.label`` numbers them) and their number.

    Only the given pixels are visited, as runs: pixels next to each other in a row with one
    ``code``. A run touches the runs of the next row that overlap its columns widened by one
    on each side (8-connectivity); those of one code are joined. Runs and rows are in raster
    order, so the runs a run touches are a range found by two binary searches; the components
    of the graph of runs (:func:`agreement.image._graph.components`, numbered from its first
    node, in raster order) give the pixels'.
    """
    w = shape[1]
    n = pixels.size
    if n == 0:
        return np.zeros(0, np.int64), 0
    # int32 positions (an image of fewer than 2**31 pixels, a row to spare): half the memory
    p = pixels.astype(np.int32 if (shape[0] + 1) * w < 1 << 31 else np.int64, copy=False)
    c = np.zeros(n, np.int8) if code is None else code
    row, col = np.divmod(p, p.dtype.type(w))
    start = np.ones(n, bool)  # a run starts: not the next pixel of the row, or another code
    np.not_equal(p[1:], p[:-1] + 1, out=start[1:])
    start[1:] |= col[1:] == 0
    start[1:] |= c[1:] != c[:-1]
    first = np.flatnonzero(start)
    last = np.append(first[1:], n) - 1
    below = (row[first] + 1) * w  # the runs below: ending at or after x0 - 1, starting at or
    lo = np.searchsorted(p[last], below + np.maximum(col[first] - 1, 0))  # before x1 + 1
    hi = np.searchsorted(p[first], below + np.minimum(col[last] + 1, w - 1), side="right")
    touch = np.maximum(hi - lo, 0)
    src = np.repeat(np.arange(first.size, dtype=p.dtype), touch)
    dst = lo[src] + np.arange(src.size) - np.repeat(np.cumsum(touch) - touch, touch)
    same = c[first][src] == c[first][dst]
    src, dst = src[same], dst[same]
    comp, k = components(first.size, src, dst)
    return comp[np.cumsum(start) - 1], k


def _components(mask: npt.NDArray[np.bool_], w: int, code: npt.NDArray[np.integer], *,
                pixels: npt.NDArray[np.intp] | None = None):
    """The disputed pixels (sorted flat indices, ``pixels`` when given), the region of each
    (thick components first, numbered from 1, then thin ones) and the thin flag of each region
    (index 0 unused).

    Thin components are also split where the class pair ``code`` (one value per pixel) changes,
    so that border slivers of different class pairs that touch stay separate regions. Thick
    components are those of ``scipy.ndimage.label`` of the opening (:func:`_connected` of its
    pixels: the same, numbered alike, without a labelled map). With the compiled kernels, the
    opening on bit rows read at the pixels (``opening_at``) and both kinds of components in one
    union-find over the runs (``region_labels``): the same numbers.
    """
    pixels = np.flatnonzero(mask) if pixels is None else pixels
    kern = _native.kernels
    if kern is not None and code.dtype in (np.int32, np.int64) and mask.size:
        at = np.ascontiguousarray(pixels, dtype=np.int64)
        thick8 = np.empty(pixels.size, np.uint8)
        kern.opening_at(at, *mask.shape, int(w), thick8)
        region = np.empty(pixels.size, np.int64)
        n_thick, n_thin = kern.region_labels(at, mask.shape[1], thick8,
                                             np.ascontiguousarray(code), region,
                                             code.dtype.itemsize)
        return pixels, region, np.arange(n_thick + n_thin + 1) > n_thick
    thick = take(_opening(mask, w).reshape(-1), pixels)
    region = np.empty(pixels.size, np.int64)
    lab, n_thick = _connected(pixels[thick], mask.shape)
    region[thick] = lab + 1  # numbered in raster order from 1
    lab, n_thin = _connected(pixels[~thick], mask.shape, code[~thick])
    region[~thick] = lab + 1 + n_thick
    return pixels, region, np.arange(n_thick + n_thin + 1) > n_thick


def _name(label: int, h: Heatmaps, categories: Categories) -> str:
    return "void" if label == 0 else categories.name(h.category_ids[label - 1])


def _merged_by(h: Heatmaps, tuples: npt.NDArray[np.int64], pixels: npt.NDArray[np.int64],
               areas: list[npt.NDArray[np.int64]]) -> tuple[str, ...]:
    """Annotators whose main segment in the region (its tuples and their pixels) is >= 1.5x
    the smallest annotator's."""
    size = {}
    codes = h.tuples.codes[tuples]  # the segments of the region's tuples, (tuples, N)
    for i, name in enumerate(h.annotators):
        segs = codes[:, i]
        if segs.max() > 0:  # (pixel counts: integer sums, exact; ties to the first segment)
            per = np.bincount(segs, weights=pixels)
            per[0] = 0  # (void: no segment; every other one has a pixel)
            size[name] = areas[i][per.argmax()]
    if not size:
        return ()
    small = min(size.values())
    return tuple(n for n, s in size.items() if s >= 1.5 * small)


def _instance_sides(h: Heatmaps, tuples: npt.NDArray[np.int64], pixels: npt.NDArray[np.int64],
                    members: npt.NDArray[np.int64]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Annotators of the class agreeing with the majority instances / dissenting on most
    pixels (the region's tuples and their pixels)."""
    a, b = [], []
    dissent = h.per_tuple["instance_disputed"][:, tuples] @ pixels  # (integer sums: exact)
    for name, m, d in zip(h.annotators, members.tolist(), dissent.tolist(), strict=True):
        if m:
            (b if 2 * d > m else a).append(name)
    return tuple(a), tuple(b)


def _lacking(h: Heatmaps, tolerance: int) -> npt.NDArray[np.bool_]:
    """Pixels where some annotator draws no border within ``tolerance`` pixels."""
    return h.near_count(max(1, tolerance)) < len(h.annotators)


def ambiguous_regions(h: Heatmaps, categories: Categories, *, min_disagreement: float = 0.0,
                      min_area: int | None = None, width: int | None = None) -> pd.DataFrame:
    """Connected regions of disagreement of one image, ranked by severity.

    A table of :func:`region_records` (the parameters and the region fields are documented
    there and in the module notes).

    Examples
    --------
    >>> from agreement import Categories, Category, PanopticAnnotation
    >>> from agreement.image.disagreement import heatmaps
    >>> cats = Categories([Category(7, "road", False), Category(8, "sidewalk", False)])
    >>> road = np.full((20, 20), 7)
    >>> walk = road.copy(); walk[5:15, 5:15] = 8
    >>> anns = {"a": PanopticAnnotation.from_map(road, {7: 7}),
    ...         "b": PanopticAnnotation.from_map(road, {7: 7}),
    ...         "c": PanopticAnnotation.from_map(walk, {7: 7, 8: 8})}
    >>> r = ambiguous_regions(heatmaps(anns, cats, d=1), cats).iloc[0]
    >>> r.kind, r.class_pair, r.annotators_b, int(r.area)
    ('class confusion', 'road <-> sidewalk', ('c',), 100)
    """
    rows = region_records(h, categories, min_disagreement=min_disagreement, min_area=min_area,
                          width=width)
    return pd.DataFrame(rows, columns=REGION_COLUMNS)


def region_records(h: Heatmaps, categories: Categories, *, min_disagreement: float = 0.0,
                   min_area: int | None = None, width: int | None = None) -> list[dict]:
    """Connected regions of disagreement of one image, most severe first, as records.

    Parameters
    ----------
    h : Heatmaps
        The image's heatmaps (:func:`agreement.image.disagreement.heatmaps`).
    categories : Categories
        For names and thing/stuff.
    min_disagreement : float
        A pixel is disputed when its semantic or instance disagreement is above this.
    min_area : int, optional
        Smallest region kept, in pixels; default ``max(16, H * W / 10_000)``.
    width : int, optional
        Half-width of the opening separating thin from thick regions; default ``h.d``.

    Returns
    -------
    list of dict
        One record per region, keys :data:`REGION_COLUMNS` (documented in the module notes),
        sorted by ``severity`` descending (ties: in the order regions are labelled).
    """
    shape = h.shape
    min_area = max(16, shape[0] * shape[1] // 10_000) if min_area is None else int(min_area)
    w = h.d if width is None else int(width)
    pt = h.per_tuple
    pixels = h.pixels_where((pt["semantic"] > min_disagreement)
                            | (pt["instance"] > min_disagreement))
    mask = np.zeros(shape, bool)
    mask.ravel()[pixels] = True
    code = _pair_code(h)
    tup = take(h.tuples.index.reshape(-1), pixels)  # the tuple of each disputed pixel
    pixels, region, thin = _components(mask, w, np.take(code, tup), pixels=pixels)
    area = np.bincount(region, minlength=thin.size)
    keep = np.flatnonzero(area >= min_area)
    keep = keep[keep > 0]
    if keep.size == 0:
        return []
    t = _Tables(h, pixels, region, keep, code, w, tup)
    rows = _describe(h, categories, t, keep, thin[keep], area[keep])
    return sorted(rows, key=lambda row: -row["severity"])  # stable: ties keep label order


def _weighted_counts(keys: npt.NDArray[np.int64], weights: npt.NDArray[np.int64], size: int
                     ) -> npt.NDArray[np.int64]:
    """``np.bincount(keys, weights, minlength=size)`` in integers (the float64 sums of integer
    weights are exact below 2**53)."""
    return np.bincount(keys, weights=weights, minlength=size).astype(np.int64)


def _region_tuples(reg: npt.NDArray[np.int64], tup: npt.NDArray[np.integer], tuples: int
                   ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                              npt.NDArray[np.int64]]:
    """The distinct (region, tuple) pairs of the pixels, in increasing order, and their
    pixels."""
    keys, counts = _count_keys(reg * tuples + tup, (int(reg.max()) + 1) * tuples
                               if reg.size else 0)
    p_reg, p_tup = np.divmod(keys, tuples)
    return p_reg, p_tup, counts


def _count_keys(keys: npt.NDArray[np.int64], size: int,
                weights: npt.NDArray[np.int64] | None = None
                ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The distinct keys in ``[0, size)`` and their counts (the sum of their ``weights``), in
    increasing order."""
    if size <= 1 << 22:
        counts = (np.bincount(keys, minlength=size) if weights is None
                  else _weighted_counts(keys, weights, size))
        present = np.flatnonzero(counts)
        return present.astype(np.int64), counts[present]
    present, inverse = np.unique(keys, return_inverse=True)
    return present, (np.bincount(inverse) if weights is None
                     else _weighted_counts(inverse, weights, present.size))


class _Tables:
    """Per kept region: label histograms per annotator, disagreement sums, class-pair counts."""

    def __init__(self, h: Heatmaps, pixels: npt.NDArray[np.int64],
                 region: npt.NDArray[np.int64], keep: npt.NDArray[np.int64],
                 code: npt.NDArray[np.integer], w: int, tup: npt.NDArray[np.integer]) -> None:
        n = keep.size
        remap = np.full(int(region.max()) + 1, -1, np.int64)
        remap[keep] = np.arange(n)
        k = len(h.category_ids) + 1
        self.k, self.w = k, w
        kern = _native.kernels
        if kern is not None and n * len(h.tuples) <= 1 << 22 and tup.dtype in (np.uint16,
                                                                                 np.int32):
            self._compiled(kern, h, pixels, region, remap, n, tup)
        else:
            self._numpy(h, pixels, region, remap, n, tup)
        keys, counts = _count_keys(self.p_reg * (k * k) + code[self.p_tup], n * k * k,
                                   self.p_count)
        order = np.lexsort((-counts, keys // (k * k)))
        self.pair_region, self.pair_code = keys[order] // (k * k), keys[order] % (k * k)
        self.pair_count = counts[order]
        labels = h.per_tuple["labels"][:, self.p_tup].astype(np.int64)
        labels += (np.arange(labels.shape[0])[:, None] * n + self.p_reg) * k
        self.hist = _weighted_counts(labels.ravel(), np.tile(self.p_count, labels.shape[0]),
                                     labels.shape[0] * n * k).reshape(-1, n, k)
        self.areas: list[npt.NDArray[np.int64]] = []
        self._lacking: npt.NDArray[np.bool_] | None = None
        self._h = h

    def _numpy(self, h: Heatmaps, pixels: npt.NDArray[np.int64], region: npt.NDArray[np.int64],
               remap: npt.NDArray[np.int64], n: int, tup: npt.NDArray[np.integer]) -> None:
        """The per-pixel sums with numpy: a few passes over the kept regions' pixels."""
        flat = remap[region]
        sel = np.flatnonzero(flat >= 0)
        idx = pixels[sel]  # the kept regions' pixels, in raster order
        reg = flat[sel]
        tup = tup[sel]
        pt, k = h.per_tuple, self.k
        # the float sums pixel by pixel, in raster order (their bits: severity and its ties)
        instance = np.take(pt["instance"], tup)
        self.sem = np.bincount(reg, weights=np.take(pt["semantic"], tup), minlength=n)
        self.inst = np.bincount(reg, weights=instance, minlength=n)
        self.inst_label = np.bincount(reg * k + np.take(pt["majority"], tup), weights=instance,
                                      minlength=n * k).reshape(n, k).argmax(1)
        # the counts from the pixels per (region, tuple): a few thousand, not a pixel each
        self.p_reg, self.p_tup, self.p_count = _region_tuples(reg, tup, len(h.tuples))
        self.region, self.pixels = reg, idx  # the kept regions' pixels, in raster order
        rows, cols = np.divmod(idx, h.shape[1])
        top = np.iinfo(np.int64).max
        self.boxes = np.array([[top], [-1], [top], [-1]]).repeat(n, axis=1)  # (y0, y1, x0, x1)
        np.minimum.at(self.boxes[0], reg, rows)  # (every region has a pixel)
        np.maximum.at(self.boxes[1], reg, rows)
        np.minimum.at(self.boxes[2], reg, cols)
        np.maximum.at(self.boxes[3], reg, cols)

    def _compiled(self, kern, h: Heatmaps, pixels: npt.NDArray[np.int64],
                  region: npt.NDArray[np.int64], remap: npt.NDArray[np.int64], n: int,
                  tup: npt.NDArray[np.integer]) -> None:
        """:meth:`_numpy` in one pass (``region_sums``): the same sums, added in the same
        order, and a dense (region, tuple) table instead of a ``bincount`` of keys."""
        pt, k, nt = h.per_tuple, self.k, len(h.tuples)
        sums = np.zeros((n, 2 + k))
        self.boxes = np.empty((4, n), np.int64)
        counts = np.zeros(n * nt, np.int64)
        reg, idx = np.empty(region.size, np.int64), np.empty(region.size, np.int64)
        kept = kern.region_sums(
            region, remap, np.ascontiguousarray(tup), tup.dtype.itemsize,
            pixels.astype(np.int64, copy=False), h.shape[1], pt["semantic"].astype(np.float64),
            pt["instance"].astype(np.float64), pt["majority"].astype(np.int64), k, sums,
            self.boxes, counts, reg, idx)
        self.sem, self.inst = sums[:, 0].copy(), sums[:, 1].copy()
        self.inst_label = sums[:, 2:].argmax(1)
        self.region, self.pixels = reg[:kept], idx[:kept]
        present = np.flatnonzero(counts)
        self.p_reg, self.p_tup = np.divmod(present, nt)
        self.p_count = counts[present]

    def lacking(self) -> npt.NDArray[np.bool_]:
        """:func:`_lacking` with a tolerance of ``2 w``, computed when a region first needs it."""
        if self._lacking is None:
            self._lacking = _lacking(self._h, 2 * self.w)
        return self._lacking


def _first_pairs(t: _Tables, votes: npt.NDArray[np.int64]
                 ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per region, the most frequent (majority, dissent) pair of two classes (a pixel disputed
    on the instance only has the pair (class, class), which names no class disagreement; the
    most frequent pair when no pair has two classes), the class with more votes first."""
    k, n = t.k, votes.shape[0]
    at = np.searchsorted(t.pair_region, np.arange(n))  # pairs: by region, most frequent first
    two = np.flatnonzero(t.pair_code // k != t.pair_code % k)
    regions, first = np.unique(t.pair_region[two], return_index=True)
    at[regions] = two[first]
    c1, c2 = np.divmod(t.pair_code[at], k)
    r = np.arange(n)
    swap = votes[r, c2] > votes[r, c1]
    return np.where(swap, c2, c1), np.where(swap, c1, c2)


def _kinds(t: _Tables, thin: npt.NDArray[np.bool_], area: npt.NDArray[np.int64],
           c1: npt.NDArray[np.int64], c2: npt.NDArray[np.int64],
           thing: npt.NDArray[np.bool_]) -> npt.NDArray[np.str_]:
    """Each region's kind, decided in the order of the module notes (the pixels lacking a
    border are read only when a thin region of two labels needs its borderless share)."""
    merge = (c1 == c2) | (t.inst > t.sem)
    void = (c1 == 0) | (c2 == 0)
    borderless = np.zeros(area.size)
    if np.any(thin & ~merge & ~void):
        lack = np.bincount(t.region[take(t.lacking().reshape(-1), t.pixels)],
                           minlength=area.size)
        borderless = lack / area  # (pixel counts)
    return np.select(
        [merge, thin & void, thin & (borderless >= 0.5), thin, thing[c1] != thing[c2], void],
        ["merge-split", "unlabeled gap", "missed object", "boundary placement", "missed object",
         "unlabeled gap"], "class confusion")


def _sides_of(hist: npt.NDArray[np.int64], c1: npt.NDArray[np.int64],
              c2: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per annotator and region (shape (N, R)): side *a* (uses ``c1``, at least as much as
    ``c2``) and side *b* (uses more ``c2``); when nobody is on side *b*, those of side *a*
    using ``c2`` at all, if they are fewer than the others."""
    h1 = np.take_along_axis(hist, c1[None, :, None], 2)[..., 0]
    h2 = np.take_along_axis(hist, c2[None, :, None], 2)[..., 0]
    a, b = (h1 > 0) & (h1 >= h2), h2 > h1
    some = (h2 > 0) & a
    ns = some.sum(0)
    fix = ~b.any(0) & (0 < 2 * ns) & (2 * ns < a.sum(0))
    return np.where(fix, a & ~some, a), np.where(fix, some, b)


def _name_tuples(mask: npt.NDArray[np.bool_], names: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Per column of ``mask`` (shape (N, R)), the names of its set rows, in order."""
    made: dict[bytes, tuple[str, ...]] = {}
    out = []
    for col in np.ascontiguousarray(mask.T):
        key = col.tobytes()
        if key not in made:
            made[key] = tuple(n for n, on in zip(names, col.tolist(), strict=True) if on)
        out.append(made[key])
    return out


def _pair_names(h: Heatmaps, categories: Categories, t: _Tables, area: npt.NDArray[np.int64]
                ) -> list[str]:
    """Per region, ``"road <-> sidewalk (62%); ..."``: the pairs covering >= 10 % of it."""
    region, code, count = t.pair_region, t.pair_code, t.pair_count
    ok = count >= 0.1 * area[region]
    region, code = region[ok], code[ok]
    share = (100 * count[ok] / area[region]).tolist()
    named: dict[int, str] = {}
    out: list[list[str]] = [[] for _ in range(area.size)]
    for r, c, p in zip(region.tolist(), code.tolist(), share, strict=True):
        if c not in named:
            named[c] = " <-> ".join(sorted((_name(c // t.k, h, categories),
                                            _name(c % t.k, h, categories))))
        out[r].append(f"{named[c]} ({p:.0f}%)")
    return ["; ".join(x) for x in out]


def _merge_split(h: Heatmaps, t: _Tables, r: int
                 ) -> tuple[int, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """A merge-split region's thing class (whose instances are disputed), its two sides and
    the mergers (module notes)."""
    c = int(t.inst_label[r])
    lo, hi = np.searchsorted(t.p_reg, [r, r + 1])
    tuples, pixels = t.p_tup[lo:hi], t.p_count[lo:hi]
    t.areas = t.areas or [np.rint(np.bincount(c, weights=h.tuples.count)).astype(np.int64)
                          for c in h.tuples.codes.T]
    merged = _merged_by(h, tuples, pixels, t.areas)
    side_a, side_b = _instance_sides(h, tuples, pixels, t.hist[:, r, c])
    if not side_b and merged:  # nobody dissents on most of it: mergers vs splitters
        split = tuple(n for n in side_a if n not in merged)
        side_a, side_b = (split, merged) if len(merged) <= len(split) else (merged, split)
    return c, side_a, side_b, merged


def _describe(h: Heatmaps, categories: Categories, t: _Tables, labels: npt.NDArray[np.int64],
              thin: npt.NDArray[np.bool_], area: npt.NDArray[np.int64]) -> list[dict]:
    """The records of the kept regions (labels ``labels``), in their order: every field but
    the sides of the merge-split regions computed for all regions at once."""
    thing = np.array([False] + [categories[c].isthing for c in h.category_ids])
    c1, c2 = _first_pairs(t, t.hist.sum(0))
    kinds = _kinds(t, thin, area, c1, c2, thing)
    a, b = _sides_of(t.hist, c1, c2)
    side_a, side_b = _name_tuples(a, h.annotators), _name_tuples(b, h.annotators)
    merged: list[tuple[str, ...]] = [()] * area.size
    for r in np.flatnonzero(kinds == "merge-split").tolist():
        c, side_a[r], side_b[r], merged[r] = _merge_split(h, t, r)
        c1[r] = c2[r] = c
    swap = [len(x) > len(y) for x, y in zip(side_b, side_a, strict=True)]
    c1, c2 = np.where(swap, c2, c1).tolist(), np.where(swap, c1, c2).tolist()
    names = ["void", *(categories.name(c) for c in h.category_ids)]
    ids = [0, *h.category_ids]
    y0, y1, x0, x1 = t.boxes.tolist()
    severity = t.sem + t.inst
    mean = (severity / area).tolist()
    rows = []
    for r, (label, kind, pairs, sev, size) in enumerate(zip(
            labels.tolist(), kinds.tolist(), _pair_names(h, categories, t, area),
            severity.tolist(), area.tolist(), strict=True)):
        sa, sb = (side_b[r], side_a[r]) if swap[r] else (side_a[r], side_b[r])
        na, nb = names[c1[r]], names[c2[r]]
        rows.append({
            "image": h.image, "region": label, "kind": kind,
            "class_pair": f"{na} <-> {nb}" if na <= nb else f"{nb} <-> {na}",
            "class_pairs": pairs, "class_a": na, "class_b": nb, "category_a": ids[c1[r]],
            "category_b": ids[c2[r]], "annotators_a": sa, "annotators_b": sb,
            "merged_by": merged[r], "area": size, "bbox_x": x0[r], "bbox_y": y0[r],
            "bbox_w": x1[r] - x0[r] + 1, "bbox_h": y1[r] - y0[r] + 1,
            "mean_disagreement": mean[r], "severity": sev})
    return rows
