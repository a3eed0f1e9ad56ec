"""Disagreement heatmaps: where N >= 2 annotators of one image disagree, per pixel.

All maps come from the N decoded maps of an image in a few whole-map passes (pairwise label
comparisons, separable min/max filters); nothing loops over pixels or builds one mask per segment.

Heatmaps (float32, ``H x W``, 0 where all annotators agree):

semantic
    Share of annotators not agreeing with the majority category of the pixel, ``1 - m / n``.
entropy
    Entropy (bits) of the annotators' categories at the pixel.
boundary
    Share of annotators on the minority side of "draws a segment boundary within ``d`` pixels"
    (``boundary_count`` holds how many do).
instance
    Where the majority category is a *thing*: among the ``m`` annotators giving it, the share
    ``1 - g / m`` outside the largest group ``g`` of annotators whose segments there are matched
    to each other (same category, IoU > 0.5): merges and splits. Same scale as ``semantic``: one
    dissenter of ``n`` gives ``1 / n`` in both.
class ambiguity (:meth:`Heatmaps.class_ambiguity`)
    For one category X, the share of annotators on the minority side of "X or not X".

Void (keyword ``void``): ``"label"`` (default here) counts leaving a pixel unlabelled as a vote
for "void", so unlabelled gaps show up; ``"exclude"`` ignores void votes (``n`` is then the number
of annotators labelling the pixel).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

import numpy as np
import numpy.typing as npt

from .. import _native
from ..errors import AnnotationError
from ..metrics.boundary import _window_any, near_changes, packed_changes
from ..metrics.boundary import boundary_near as _near
from ..metrics.counts import ratio
from ..metrics.pixel import VoidMode, _check_void
from ..model import Categories, PanopticAnnotation
from .maps import ImageMaps
from .tuples import Tuples, take

__all__ = ["Heatmaps", "PairCells", "area_average", "boundary_distance", "boundary_near",
           "grid_cells", "heatmaps", "heatmaps_of", "match_lut", "pair_cells"]


def boundary_distance(shape: tuple[int, int], *, dilation_ratio: float = 0.005) -> int:
    """Boundary tolerance in pixels: ``max(1, round(dilation_ratio * diagonal))``.

    Examples
    --------
    >>> boundary_distance((1024, 2048))
    11
    """
    return max(1, round(dilation_ratio * float(np.hypot(*shape))))


def boundary_near(ids: npt.NDArray[np.integer], d: int) -> npt.NDArray[np.bool_]:
    """Pixels within ``d`` of a border between two segments (void included, image border not).

    A pixel is marked when its ``(2d+1) x (2d+1)`` window holds two different ids; this is
    :func:`agreement.metrics.boundary.boundary_near` (label changes + 1-D windows).

    Examples
    --------
    >>> boundary_near(np.array([[1, 1, 1, 2, 2, 2]]), 1).astype(int).tolist()
    [[0, 0, 1, 1, 0, 0]]
    """
    return _near(ids, d=int(d))


def match_lut(a: PanopticAnnotation, b: PanopticAnnotation) -> npt.NDArray[np.int64]:
    """For each compact id of ``a``, the compact id of its match in ``b`` (-1 when none).

    Peer matching: the panoptic rule of :func:`agreement.matching.match_segments` (same category,
    score > 0.5) with the *plain* IoU ``|A ∩ B| / |A ∪ B|`` as score, so that void plays no role
    and the result does not depend on which annotator comes first; crowd segments match only
    crowd segments of their category (IoU > 0.5), where the panoptic rule never matches them.

    Examples
    --------
    >>> a = PanopticAnnotation.from_map([[1, 1, 2, 2]], {1: 5, 2: 5})
    >>> b = PanopticAnnotation.from_map([[3, 3, 3, 4]], {3: 5, 4: 5})
    >>> match_lut(a, b).tolist()
    [-1, 1, -1]
    """
    if a.shape != b.shape:
        raise AnnotationError(f"annotations must have the same size, got {a.shape[1]}x"
                              f"{a.shape[0]} and {b.shape[1]}x{b.shape[0]} (width x height)",
                              image=a.image.file_name)
    maps = ImageMaps(a.image.file_name, {"a": a, "b": b}, categories=Categories([]))
    return maps.pair("a", "b").match_lut


#: Per-pixel maps (bytes) above which a :class:`Heatmaps` keeps only the :data:`KEEP_LARGE`
#: last read: 16 MB, a float32 map of 4 megapixels (a 2048 x 2048 image); older ones are made
#: again from the tuples when read.
KEEP_BYTES = 16 << 20
KEEP_LARGE = 2


class Heatmaps:
    """The disagreement maps of one image (see the module notes for the definitions).

    Every map but the boundary one depends on a pixel only through its tuple of segments
    (:mod:`agreement.image.tuples`): it is computed per tuple (:attr:`per_tuple`) and read back
    per pixel on first use; the boundary maps are computed on first use too.

    Attributes
    ----------
    image : str
    annotators : tuple of str
        The annotators of the image, in the order of ``labels``.
    category_ids : tuple of int
        Label ``i + 1`` of ``labels`` is ``category_ids[i]``; 0 is void.
    labels, compact : ndarray, shape (N, H, W)
        Each annotator's label map (narrowest unsigned type) and compact segment map.
    n : ndarray of uint8, shape (H, W)
        Annotators voting at each pixel (all of them with ``void="label"``).
    majority : ndarray, shape (H, W)
        Majority label (ties: the label of the first annotator among the tied ones).
    votes : ndarray of uint8, shape (H, W)
        Annotators voting for the majority label.
    tie : ndarray of bool, shape (H, W)
        Two or more labels share the largest vote.
    semantic, entropy, boundary, instance : ndarray of float32, shape (H, W)
    boundary_count : ndarray of uint8, shape (H, W)
    disputed : ndarray of bool, shape (N, H, W)
        ``disputed[i]``: annotator ``i`` gives the pixel another label than ``majority`` (not
        voting counts as not disputed; at ties the other tied labels are disputed).
    instance_disputed : ndarray of bool, shape (N, H, W)
        ``instance_disputed[i]``: annotator ``i`` gives the pixel the majority (thing) category
        but its segment there is not in the largest group of matched segments.
    first : ndarray of bool, shape (N, H, W)
        ``first[i]``: no earlier annotator gives the pixel the same label (to count each label
        once per pixel).
    d : int
        Boundary tolerance used, in pixels.
    void : {"label", "exclude"}
    tuples : Tuples
        The image's tuples of segments.
    per_tuple : dict of str to ndarray
        ``labels``, ``n``, ``majority``, ``votes``, ``tie``, ``semantic``, ``entropy``,
        ``instance``, ``disputed``, ``instance_disputed``, ``first`` per tuple (last axis).
    """

    _MAPS = ("labels", "n", "majority", "votes", "tie", "semantic", "entropy", "instance",
             "disputed", "instance_disputed", "first")

    def __init__(self, image: str, annotators: tuple[str, ...], category_ids: tuple[int, ...],
                 tuples: Tuples, per_tuple: dict[str, np.ndarray],
                 compacts: Sequence[npt.NDArray[np.int32]], d: int, void: VoidMode) -> None:
        self.image, self.annotators, self.category_ids = image, annotators, category_ids
        self.tuples, self.per_tuple = tuples, per_tuple
        self._compacts = tuple(compacts)
        self.d, self.void = d, void
        self._maps: dict[str, np.ndarray] = {}
        self._changes: tuple[np.ndarray, np.ndarray] | None = None
        self._near: tuple[int, np.ndarray] | None = None  # (d, packed bits near a change)
        self._where: tuple[bytes, np.ndarray] | None = None  # (flags, their pixels)
        self._large: list[str] = []  # names of the large maps kept, the last read last

    @property
    def boundary_count(self) -> npt.NDArray[np.uint8]:
        """Annotators drawing a segment boundary within ``d`` pixels (computed on first use)."""
        if "boundary_count" not in self._maps:
            self._maps["boundary_count"] = self.near_count(self.d)
        return self._maps["boundary_count"]

    def near_count(self, d: int) -> npt.NDArray[np.uint8]:
        """Annotators drawing a segment boundary within ``d`` pixels of each pixel (the sum of
        :func:`boundary_near` over the annotators). Every annotator's label changes are packed
        as one bit each into one map, windowed once for all of them
        (:func:`agreement.metrics.boundary.near_changes`) and the bits counted; the packed
        changes are kept for other tolerances, and so are the windowed bits of the smallest
        tolerance asked: a larger one widens them (:meth:`_near_bits`)."""
        n = len(self._compacts)
        if n > 32:
            count = np.zeros(self.shape, np.uint8)
            for comp in self._compacts:
                count += boundary_near(comp, d)
            return count
        return _bit_count(self._near_bits(max(1, int(d))), n)

    def _near_bits(self, d: int) -> np.ndarray:
        """Bit ``i``: annotator ``i`` draws a segment boundary within ``d`` pixels.

        From the bits of a tolerance ``d0 <= d`` computed before, a ``(2e+1)`` square window
        with ``e = d - d0`` (two 1-D windows, fewer and shorter than windowing the changes
        again): the windows of :func:`~agreement.metrics.boundary.near_changes` compose, a
        window of half-width ``d0`` then one of ``e`` being one of ``d`` (also where clipped at
        the image border), so the bits are the same.
        """
        if self._near is not None and self._near[0] <= d:
            d0, bits = self._near
            if d0 == d:
                return bits
            e = d - d0
            return _window_any(_window_any(bits, e, e, axis=1), e, e, axis=0)
        if self._changes is None:
            self._changes = _packed_changes(self.tuples)
        bits = near_changes(*self._changes, d=d)
        self._near = (d, bits)
        return bits

    def pixels_where(self, flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
        """Flat indices of the pixels whose tuple is flagged (``flags``: one per tuple); the
        last ones asked are kept (the regions and the pair cells read the same disputed
        pixels)."""
        key = np.asarray(flags, bool).tobytes()
        if self._where is None or self._where[0] != key:
            self._where = (key, _flagged_pixels(self.tuples.index, np.asarray(flags, bool)))
        return self._where[1]

    @property
    def boundary(self) -> npt.NDArray[np.float32]:
        """Share of annotators on the minority side of "draws a boundary within ``d``"."""
        if "boundary" in self._maps:
            return self._maps["boundary"]  # (not moved to the end of the large ones: cheap)
        return self._keep("boundary", _minority_share(self.boundary_count,
                                                      len(self._compacts)))

    def boundary_mean(self) -> float:
        """``boundary.mean(dtype=np.float64)`` without making the map: from how many pixels
        have each count. The map's values are float32 multiples of a power of two ``2 ** -k``;
        while their sum is below ``2 ** (53 - k)`` every partial sum of the map's mean is exact,
        whatever its order, so the sum of ``pixels x value`` (in integers) is the same number
        (else, and when the map was already made, the map's own mean)."""
        n = len(self._compacts)
        if "boundary" in self._maps or n > 255:
            return float(self.boundary.mean(dtype=np.float64))
        count = self.boundary_count
        pixels = [0] + [np.count_nonzero(count == k) for k in range(1, n + 1)]  # (a bincount
        # widens the counts to intp first: several times slower for a few annotators)
        fractions = [float(v).as_integer_ratio()
                     for v in _minority_share(np.arange(n + 1, dtype=np.uint8), n)]
        scale = max(den for _, den in fractions)  # powers of two: the largest is a multiple
        total = sum(int(p) * num * (scale // den)
                    for p, (num, den) in zip(pixels, fractions, strict=True))
        if total >= 1 << 53 or not count.size:
            return float(self.boundary.mean(dtype=np.float64))
        return total / scale / count.size

    def __getattr__(self, name: str) -> np.ndarray:
        if name in Heatmaps._MAPS:
            if name in self._maps:
                if name in self._large:  # the last read
                    self._large.remove(name)
                    self._large.append(name)
                return self._maps[name]
            return self._keep(name, self.tuples.gather(self.per_tuple[name]))
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _keep(self, name: str, value: np.ndarray) -> np.ndarray:
        """``value``, kept for the next read. Maps larger than :data:`KEEP_BYTES` (those of a
        large photo) are kept :data:`KEEP_LARGE` at most, the last ones read: an older one is
        read back from the tuples again (a gather), so that the image's heatmaps do not all
        stay in memory at full size."""
        self._maps[name] = value
        if value.nbytes > KEEP_BYTES:
            self._large.append(name)
            while len(self._large) > KEEP_LARGE:
                del self._maps[self._large.pop(0)]
        return value

    @property
    def compact(self) -> npt.NDArray[np.int32]:
        """Each annotator's compact segment map, shape (N, H, W)."""
        return np.stack(self._compacts)

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)``."""
        return self.tuples.index.shape  # type: ignore[return-value]

    def area_average(self, name: str, shape: tuple[int, int]) -> npt.NDArray[np.float64]:
        """:func:`area_average` of the heatmap ``name`` (``semantic``, ``entropy``,
        ``instance``, ``boundary``), without making the whole map: the per-tuple values are
        read for a band of rows at a time (the same result)."""
        return self.area_averages((name,), shape)[0]

    def area_averages(self, names: Sequence[str], shape: tuple[int, int]
                      ) -> npt.NDArray[np.float64]:
        """:meth:`area_average` of several heatmaps, shape ``(len(names), *shape)``, in one
        banded pass: each band reads the rows of every map (those read per tuple,
        ``semantic``, ``entropy``, ``instance``, with one ``take`` for all of them, and the
        boundary map from its counts), without making a whole map. When every output cell
        averages a power-of-two block of pixels (:func:`_pool_factor`), from the tuples and
        the boundary counts of the pixels instead (:func:`_pooled_codes`)."""
        fr, fc = _pool_factor(self.shape[0], shape[0]), _pool_factor(self.shape[1], shape[1])
        coded = all(m not in self._maps and (m == "boundary" or (
            m in ("semantic", "entropy", "instance")
            and self.per_tuple[m].dtype == np.float32)) for m in names)
        if fr and fc and coded:
            return self._pooled_averages(names, shape, fr, fc)
        index, n, rows = self.tuples.index, len(self._compacts), self.shape[1]
        per_tuple = [m in ("semantic", "entropy", "instance") and m not in self._maps
                     for m in names]

        def rows_of(name: str) -> Callable[[int, int], np.ndarray]:
            if name == "boundary" and name not in self._maps:
                count = self.boundary_count
                return lambda lo, hi: _minority_share(count[lo:hi], n)
            heat = getattr(self, name)
            return lambda lo, hi: heat[lo:hi]

        others = {i: rows_of(m) for i, m in enumerate(names) if not per_tuple[i]}
        # float32 maps (the heatmaps) in a float32 block; any other type widened to float64
        # (the taps compute in float64 either way: the same bits)
        wide = any(self._maps[m].dtype != np.float32 for m in names if m in self._maps)
        dtype = np.float64 if wide else np.float32
        values = np.zeros((len(names), len(self.tuples)), dtype)
        for i, m in enumerate(names):
            if per_tuple[i]:
                values[i] = self.per_tuple[m]

        def band(lo: int, hi: int) -> np.ndarray:
            block = (np.take(values, index[lo:hi], axis=1) if any(per_tuple)
                     else np.empty((len(names), hi - lo, rows), dtype))
            for i, read in others.items():
                block[i] = read(lo, hi)
            return block

        # (each output cell adds the same terms whatever the maps stacked with it)
        return _area_average_rows(band, self.shape, shape)

    def _pooled_averages(self, names: Sequence[str], shape: tuple[int, int], fr: int,
                         fc: int) -> npt.NDArray[np.float64]:
        """:meth:`area_averages` of per-tuple maps and the boundary map over ``fr x fc``
        blocks: the per-tuple maps from the tuple of each pixel, the boundary map from its
        count."""
        out = np.empty((len(names), *shape))
        per_tuple = [i for i, m in enumerate(names) if m != "boundary"]
        if per_tuple:
            table = np.stack([self.per_tuple[names[i]] for i in per_tuple])
            _pooled_codes(self.tuples.index, table, fr, fc, out=out, planes=per_tuple)
        boundary = [i for i, m in enumerate(names) if m == "boundary"]
        if boundary:
            n = len(self._compacts)
            table = _minority_share(np.arange(n + 1, dtype=np.uint8), n)[None]
            _pooled_codes(self.boundary_count, np.repeat(table, len(boundary), axis=0), fr, fc,
                          out=out, planes=boundary)
        return out

    def label_of(self, category_id: int) -> int:
        """Label index of a category id (0 for void)."""
        if category_id == 0:
            return 0
        if category_id not in self.category_ids:
            raise AnnotationError(f"category must be one of {list(self.category_ids)}, "
                                  f"got {category_id}", image=self.image)
        return self.category_ids.index(category_id) + 1

    def class_ambiguity(self, category_id: int) -> npt.NDArray[np.float32]:
        """Share of annotators on the minority side of "``category_id`` or not" per pixel."""
        label = self.label_of(category_id)
        n = self.per_tuple["n"]
        m = (self.per_tuple["labels"] == label).sum(0, dtype=np.uint8)
        out = np.minimum(m, n - np.minimum(m, n)).astype(np.float32)
        return self.tuples.gather(ratio(out, n.astype(np.float32), undefined=0.0,
                                        dtype=np.float32))

    def class_counts(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Per label: pixels some annotator gives it, and of those the pixels not unanimous.

        Returns two arrays of length ``len(category_ids) + 1`` (index 0 = void); additive over
        images.
        """
        k = len(self.category_ids) + 1
        count = self.tuples.count
        split = self.per_tuple["semantic"] > 0
        claimed = np.zeros(k, np.int64)
        disputed = np.zeros(k, np.int64)
        for lab, first in zip(self.per_tuple["labels"], self.per_tuple["first"], strict=True):
            claimed += _weighted_bincount(lab[first], count[first], k)
            disputed += _weighted_bincount(lab[first & split], count[first & split], k)
        return claimed, disputed


def _packed_changes(tuples: Tuples
                    ) -> tuple[npt.NDArray[np.unsignedinteger], npt.NDArray[np.unsignedinteger]]:
    """Segment changes of up to 32 maps, bit ``i`` for map ``i`` (column ``i`` of the tuples'
    codes): along rows (``(y, x)`` differs from ``(y, x + 1)``) and along columns (from
    ``(y + 1, x)``); last column / row unmarked (:func:`~agreement.metrics.boundary.
    packed_changes`)."""
    index = tuples.index
    n = tuples.codes.shape[1]
    kern = _native.kernels
    if kern is not None and n <= 32 and index.ndim == 2 and index.dtype in _CODE_TYPES:
        # one compiled pass: the bits of the neighbouring pixels whose tuples differ
        dtype = np.dtype(np.uint8 if n <= 8 else np.uint16 if n <= 16 else np.uint32)
        src = np.ascontiguousarray(index)
        codes = np.ascontiguousarray(tuples.codes, dtype=np.int64)
        rows, cols = np.zeros(src.shape, dtype), np.zeros(src.shape, dtype)
        kern.tuple_changes(src, *src.shape, src.itemsize, codes, *codes.shape, rows, cols,
                           dtype.itemsize)
        return rows, cols
    pairs = []
    for x, y in ((index[:, :-1], index[:, 1:]), (index[:-1], index[1:])):
        sel = x != y
        pairs.append((sel, x[sel], y[sel]))
    return packed_changes(index.shape, tuples.codes.T, pairs)


def _flagged_pixels(index: npt.NDArray[np.integer], flags: npt.NDArray[np.bool_]
                    ) -> npt.NDArray[np.intp]:
    """``np.flatnonzero(flags[index])``: two compiled passes over the runs of tuples when the
    kernels are built (one counting, one writing: no per-pixel mask, no array of every pixel),
    else the gather and ``flatnonzero``."""
    kern = _native.kernels
    if kern is None or index.dtype not in _CODE_TYPES or flags.ndim != 1:
        return np.flatnonzero(take(flags, index))
    src, flags = np.ascontiguousarray(index), np.ascontiguousarray(flags)
    k = kern.flagged_pixels(src, src.size, src.itemsize, flags, flags.size, None)  # counted
    out = np.empty(k, np.intp)  # (then written: no array of every pixel)
    kern.flagged_pixels(src, src.size, src.itemsize, flags, flags.size, out, k)
    return out


def _minority_share(count: npt.NDArray[np.uint8], n: int) -> npt.NDArray[np.float32]:
    """Share of ``n`` annotators on the minority side, from how many of them say yes (float32,
    divided in place: one map fewer at a time)."""
    share = np.minimum(count, n - count).astype(np.float32)
    share /= n
    return share


def _bit_count(x: npt.NDArray[np.unsignedinteger], n: int) -> npt.NDArray[np.uint8]:
    """Set bits of each element (of its ``n`` low bits), as uint8."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return np.bitwise_count(x).astype(np.uint8, copy=False)
    out = np.zeros(x.shape, np.uint8)
    for i in range(n):
        out += ((x >> i) & 1).astype(np.uint8)
    return out


def _weighted_bincount(values: np.ndarray, weights: np.ndarray, k: int) -> npt.NDArray[np.int64]:
    return np.rint(np.bincount(values, weights=weights, minlength=k)).astype(np.int64)


def _instance_map(codes: npt.NDArray[np.int64], labels: npt.NDArray,
                  thing: npt.NDArray[np.bool_], majority: npt.NDArray, votes: npt.NDArray,
                  luts: Mapping[tuple[int, int], npt.NDArray[np.int64]]
                  ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Instance disagreement among the annotators of the majority thing class, and who dissents
    (per position: tuples of ``codes``, shape (N, T))."""
    idx = np.flatnonzero(thing[majority] & (votes > 1))
    maj = majority[idx]
    member = [lab[idx] == maj for lab in labels]
    comp = [c[idx] for c in codes]
    agree = [m.astype(np.uint8) for m in member]
    for i, j in combinations(range(len(codes)), 2):
        lut = luts[(i, j)]
        eq = member[i] & member[j] & (lut[comp[i]] == comp[j])
        agree[i] += eq
        agree[j] += eq
    best = np.max(agree, axis=0) if agree else np.zeros(0, np.uint8)
    out = np.zeros(majority.shape, np.float32)
    out[idx] = 1.0 - best / votes[idx].astype(np.float32)
    dissent = np.zeros(labels.shape, bool)
    for i, (m, a) in enumerate(zip(member, agree, strict=True)):
        dissent[i, idx] = m & (a < best)
    return out, dissent


def heatmaps(annotations: Mapping[str, PanopticAnnotation], categories: Categories, *,
             d: int | None = None, void: VoidMode = "label", image: str | None = None) -> Heatmaps:
    """Compute every disagreement heatmap of one image.

    Parameters
    ----------
    annotations : mapping of str to PanopticAnnotation
        The annotators' annotations of the image (at least two, same shape).
    categories : Categories
        The label space (a study's categories).
    d : int, optional
        Boundary tolerance in pixels; default :func:`boundary_distance` of the image shape.
    void : {"label", "exclude"}
        Whether leaving a pixel void is a vote (see the module notes).
    image : str, optional
        Image name for messages and results; default the first annotation's file name.

    Returns
    -------
    Heatmaps

    Raises
    ------
    AnnotationError
        Fewer than two annotations, different shapes, or an unknown category.

    Examples
    --------
    >>> from agreement import Category
    >>> cats = Categories([Category(1, "road", False), Category(2, "walk", False)])
    >>> a = PanopticAnnotation.from_map([[1, 1, 2, 2]], {1: 1, 2: 2})
    >>> b = PanopticAnnotation.from_map([[1, 2, 2, 2]], {1: 1, 2: 2})
    >>> c = PanopticAnnotation.from_map([[1, 1, 1, 2]], {1: 1, 2: 2})
    >>> h = heatmaps({"a": a, "b": b, "c": c}, cats, d=1)
    >>> h.votes.tolist(), h.majority.tolist(), bool(h.semantic[0, 1] == np.float32(1 / 3))
    ([[3, 2, 2, 3]], [[1, 1, 2, 2]], True)
    """
    anns = list(annotations.values())
    name = image if image is not None else (anns[0].image.file_name if anns else "?")
    return heatmaps_of(ImageMaps(name, annotations, categories=categories), d=d, void=void)


def heatmaps_of(maps: ImageMaps, *, d: int | None = None, void: VoidMode = "label") -> Heatmaps:
    """:func:`heatmaps` of an image's maps (sharing their labels, matching, tuples and votes)."""
    _check_void(void)
    anns = list(maps.annotations.values())
    name = maps.image
    if len(anns) < 2:
        raise AnnotationError(f"heatmaps need at least 2 annotators, got {len(anns)}", image=name)
    ids = maps.category_ids
    t = maps.tuples()  # AnnotationError when the maps differ in size
    v = maps.votes(void)
    labels, n = v.labels, v.n
    nf = n.astype(np.float32)
    semantic = ratio(nf - v.votes, nf, undefined=0.0, dtype=np.float32)  # 0: nobody votes
    log2 = np.log2(np.maximum(np.arange(len(anns) + 1), 1)).astype(np.float32)
    entropy = np.log2(np.maximum(nf, 1)) - ratio(log2[v.agree].sum(0), nf, undefined=0.0,
                                                 dtype=np.float32)
    np.maximum(entropy, 0, out=entropy)
    disputed = labels != v.majority[None]  # ties: the other tied labels are the dissent
    if v.valid is not None:
        disputed &= v.valid
    dist = boundary_distance(t.index.shape) if d is None else int(d)
    thing = np.array([False] + [maps.categories[c].isthing for c in ids])
    instance, instance_disputed = _instance_map(t.codes.T, labels, thing, v.majority, v.votes,
                                                maps.match_luts())
    per_tuple = {"labels": labels, "n": n, "majority": v.majority, "votes": v.votes,
                 "tie": v.tie, "semantic": semantic, "entropy": entropy.astype(np.float32),
                 "instance": instance, "disputed": disputed,
                 "instance_disputed": instance_disputed, "first": v.first}
    return Heatmaps(name, maps.names, ids, t, per_tuple, [a.compact for a in anns], dist, void)


def _area_rows(n: int, m: int) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]:
    """Per output cell of ``m``, the unit cells of ``n`` it overlaps (increasing) and their
    weights (overlap length over the cell's length)."""
    edges = np.linspace(0.0, n, m + 1)
    out = []
    for i in range(m):
        lo, hi = edges[i], edges[i + 1]
        cells = np.arange(int(np.floor(lo)), min(n, int(np.ceil(hi))))
        overlap = np.minimum(cells + 1, hi) - np.maximum(cells, lo)
        keep = overlap > 0
        out.append((cells[keep], overlap[keep] / (hi - lo)))
    return out


@lru_cache(maxsize=32)
def _area_taps(n: int, m: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """:func:`_area_rows` as taps: output ``i`` is ``sum_k weights[i, k] * x[index[i, k]]``
    (each row's cells are contiguous; shorter rows padded with weight 0), in the order the
    product with the ``(m, n)`` sparse matrix of those weights adds them, so that the sums are
    the same to the last bit (the tests' oracle: ``tests/_regions_oracle.area_weights``)."""
    rows = _area_rows(n, m)
    taps = max((c.size for c, _ in rows), default=0)
    index = np.zeros((m, taps), np.int64)
    weights = np.zeros((m, taps))
    for i, (cells, vals) in enumerate(rows):
        index[i, : cells.size] = cells
        index[i, cells.size:] = cells[-1] if cells.size else 0
        weights[i, : cells.size] = vals
    return index, weights


def _taken(x: npt.NDArray, index: npt.NDArray[np.int64], axis: int) -> npt.NDArray:
    """``x`` at ``index`` along ``axis``: a strided view when the index steps evenly."""
    step = index[1] - index[0] if index.size > 1 else 1
    if step > 0 and np.array_equal(index, index[0] + step * np.arange(index.size)):
        return x[(slice(None),) * axis + (slice(int(index[0]), int(index[-1]) + 1, int(step)),)]
    return np.take(x, index, axis=axis)


def area_average(heat: npt.ArrayLike, shape: tuple[int, int]) -> npt.NDArray[np.float64]:
    """A map resampled to ``shape`` by area averaging (each output cell is the mean of the
    input over its area, fractional pixels weighted by their overlap; smaller maps are
    stretched the same way).

    Rows first, then columns, each output cell adding its few input cells in order (whole-row
    and whole-column array operations: no sparse product over the map).

    Examples
    --------
    >>> area_average(np.array([[0.0, 1.0, 2.0, 3.0]]), (1, 2)).tolist()
    [[0.5, 2.5]]
    >>> area_average(np.array([[1.0, 3.0]]), (1, 3)).round(6).tolist()
    [[1.0, 2.0, 3.0]]
    """
    heat = np.asarray(heat)
    if heat.dtype in (np.float32, np.float64):  # float32 is widened exactly by the products
        return _area_average_rows(lambda lo, hi: heat[lo:hi], heat.shape, shape)[0]
    # other types: a float64 copy of the band's input rows only (no copy of the whole map)
    return _area_average_rows(lambda lo, hi: heat[lo:hi].astype(np.float64), heat.shape,
                              shape)[0]


#: Output rows of an area average computed at once (the input rows they need are read then;
#: small enough for the band's arrays to stay in the CPU caches).
_BAND = 32


def _area_average_rows(rows_of: Callable[[int, int], npt.NDArray], size: tuple[int, int],
                       shape: tuple[int, int]) -> npt.NDArray[np.float64]:
    """:func:`area_average` of one or several maps of ``size`` whose rows ``lo:hi`` are
    ``rows_of(lo, hi)`` (shape ``(rows, W)``, or ``(maps, rows, W)``), a band of output rows
    at a time; shape ``(maps, *shape)``. Each output cell adds the same terms in the same
    order whatever the band and the number of maps: the result does not depend on them."""
    (h, w), (g0, g1) = size, shape
    rows, row_w = _area_taps(h, g0)
    cols, col_w = _area_taps(w, g1)
    fr, fc = _pool_factor(h, g0), _pool_factor(w, g1)
    out = None
    for lo in range(0, g0, _BAND):
        hi = min(g0, lo + _BAND)
        idx = rows[lo:hi]
        first = int(idx.min())
        block = rows_of(first, int(idx.max()) + 1)
        block = block[None] if block.ndim == 2 else block
        if out is None:
            out = np.empty((block.shape[0], g0, g1))
        if fr and fc and block.dtype == np.float32:
            _pooled(block, fr, fc, out[:, lo:hi])
            continue
        acc = np.zeros((block.shape[0], hi - lo, w))
        for k in range(idx.shape[1]):  # rows: each output row adds its input rows in order
            acc += row_w[lo:hi, k, None] * _taken(block, idx[:, k] - first, 1)
        band = np.zeros((block.shape[0], hi - lo, g1))
        for k in range(cols.shape[1]):  # then columns
            band += col_w[:, k] * _taken(acc, cols[:, k], 2)
        out[:, lo:hi] = band
    return out if out is not None else np.zeros((1, g0, g1))


@lru_cache(maxsize=32)
def _pool_factor(n: int, m: int) -> int:
    """``f = n / m`` when :func:`_area_taps` averages each output cell over ``f`` whole input
    cells, ``f`` a power of two (every weight ``2 ** -k``, exact), else 0."""
    f = n // m if m else 0
    if not f or f * m != n or f & (f - 1):
        return 0
    index, weights = _area_taps(n, m)
    even = (index.shape[1] == f and np.array_equal(index, np.arange(n).reshape(m, f))
            and bool(np.all(weights == 1.0 / f)))
    return f if even else 0


def _pooled(block: npt.NDArray[np.float32], fr: int, fc: int,
            out: npt.NDArray[np.float64]) -> None:
    """The taps of :func:`_area_average_rows` when every output cell averages ``fr x fc`` input
    cells (:func:`_pool_factor`), bit for bit, with a third of the array passes, into ``out``:
    the taps add ``2 ** -k x`` in order from 0, and scaling by a power of two commutes with
    rounding (no float32 value comes near float64's underflow or overflow), so the sums are
    added unscaled in the same order and scaled once. ``+ 0.0`` at the end: the taps, starting
    from +0.0, never give a negative zero."""
    if fr == 1:
        acc = block.astype(np.float64)
    else:  # rows: the input rows of each output row, in order
        acc = np.add(block[:, 0::fr], block[:, 1::fr], dtype=np.float64)
        for k in range(2, fr):
            acc += block[:, k::fr]
    if fc == 1:
        out[...] = acc
    else:  # then columns
        np.add(acc[:, :, 0::fc], acc[:, :, 1::fc], out=out)
        for k in range(2, fc):
            out += acc[:, :, k::fc]
    out *= 1.0 / (fr * fc)
    out += 0.0


#: The code types the compiled kernels read (tuple indices, counts).
_CODE_TYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.int32))

#: Unsigned type holding ``fc`` codes of ``itemsize`` bytes side by side (a row of a cell).
_WIDE = {(1, 2): np.uint16, (1, 4): np.uint32, (1, 8): np.uint64, (2, 2): np.uint32,
         (2, 4): np.uint64, (4, 2): np.uint64}


def _uniform_cells(code: npt.NDArray[np.integer], fr: int, fc: int
                   ) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.bool_]]:
    """The first code of each ``fr x fc`` cell and whether all its codes are that one (the
    ``fc`` codes of a cell's row compared at once as one wider integer when they fit)."""
    g0, g1 = code.shape[0] // fr, code.shape[1] // fc
    cells = code.reshape(g0, fr, g1, fc)
    corner = cells[:, 0, :, 0]
    wide = _WIDE.get((code.itemsize, fc))
    if wide is None or not code.flags.c_contiguous:
        uniform = np.ones(corner.shape, bool)
        for i in range(fr):
            for j in range(fc):
                if i or j:
                    uniform &= cells[:, i, :, j] == corner
        return corner, uniform
    rows = code.view(wide).reshape(g0, fr, g1)  # (unsigned: a code's bits are its own)
    spread = wide(sum(1 << (8 * code.itemsize * k) for k in range(fc)))
    unsigned = np.dtype(f"u{code.itemsize}")
    uniform = rows[:, 0] == corner.view(unsigned).astype(wide) * spread
    for i in range(1, fr):
        uniform &= rows[:, i] == rows[:, 0]
    return corner, uniform


def _pooled_codes(code: npt.NDArray[np.integer], table: npt.NDArray[np.float32], fr: int,
                  fc: int, *, out: npt.NDArray[np.float64] | None = None,
                  planes: Sequence[int] | None = None) -> npt.NDArray[np.float64]:
    """:func:`_pooled` of the maps ``table[:, code]`` (``M`` float32 maps given by a code per
    pixel: a tuple, a count), bit for bit, shape ``(M, H / fr, W / fc)``, reading the codes:
    a cell whose ``fr x fc`` pixels share one code is that code's value (``fr x fc`` equal
    float32 values add up exactly in float64, and the scaling by ``2 ** -k`` undoes the sum);
    the others (a few percent, along segment borders) add their pixels as :func:`_pooled`
    does. The values are widened and a negative zero made +0.0 in the table (the taps, from
    +0.0, never give one); the temporaries are the size of the output.

    With ``out`` (float64, shape ``(P, H / fr, W / fc)``) and ``planes`` (``M`` of
    ``range(P)``), map ``m`` is written into ``out[planes[m]]`` and ``out`` returned.

    One compiled pass over the cells when the kernels are built (``pooled_codes``: the same
    sums in the same order, written into ``out`` without a temporary), else numpy. (The same
    bits for every finite or infinite result; a NaN's sign may differ where a cell adds
    ``+inf`` to ``-inf`` or holds a negative NaN: the heatmaps hold neither.)
    """
    w = code.shape[1]
    values = table.astype(np.float64) + 0.0
    kern = _native.kernels
    if (kern is not None and code.ndim == 2 and code.dtype in _CODE_TYPES
            and (out is None or (out.dtype == np.float64 and out.flags.c_contiguous))):
        src = np.ascontiguousarray(code)
        if out is None:
            out, planes = np.empty((values.shape[0], src.shape[0] // fr, w // fc)), None
        if out.shape[1:] != (src.shape[0] // fr, w // fc):
            raise ValueError(f"out must have cells of shape {(src.shape[0] // fr, w // fc)}, "
                             f"got {out.shape[1:]}")
        at = np.arange(values.shape[0]) if planes is None else planes
        kern.pooled_codes(src, *src.shape, src.itemsize, np.ascontiguousarray(values.T),
                          values.shape[1], values.shape[0], fr, fc, out,
                          np.ascontiguousarray(at, dtype=np.int64), out.shape[0])
        return out
    if out is not None:
        out[list(range(len(table)) if planes is None else planes)] = _pooled_codes(
            code, table, fr, fc)
        return out
    corner, uniform = _uniform_cells(code, fr, fc)
    out = np.take(values, corner, axis=1)
    mixed = np.flatnonzero(~uniform)
    if mixed.size:
        r, c = np.divmod(mixed, corner.shape[1])
        at = (np.arange(fr)[:, None] * w + np.arange(fc)).ravel()  # a cell's pixels, by row
        pixels = (r * (fr * w) + c * fc)[:, None] + at
        x = np.take(values, np.take(code.reshape(-1), pixels), axis=1).reshape(
            values.shape[0], mixed.size, fr, fc)
        acc = x[:, :, 0].copy()  # rows, in order
        for i in range(1, fr):
            acc += x[:, :, i]
        total = acc[:, :, 0].copy()  # then columns
        for j in range(1, fc):
            total += acc[:, :, j]
        total *= 1.0 / (fr * fc)
        out.reshape(values.shape[0], -1)[:, mixed] = total
    return out


def grid_cells(pixels: npt.ArrayLike, shape: tuple[int, int], grid: tuple[int, int]
               ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The cells of a ``grid`` laid over an image of ``shape`` that each pixel overlaps.

    Cell ``(i, j)`` covers rows ``[i H / G0, (i + 1) H / G0)`` and columns ``[j W / G1,
    (j + 1) W / G1)`` of the image (the image stretched onto the grid, as
    :func:`area_average` does); a pixel overlaps one cell when the sizes divide evenly, up to
    four when they do not, several when the image is smaller than the grid.

    Parameters
    ----------
    pixels : array_like of int
        Flat pixel indices (row * W + column).
    shape, grid : (rows, columns)

    Returns
    -------
    cells, source : ndarray of int64
        Flat cell indices (row * G1 + column) and, for each, the position in ``pixels`` of the
        pixel it comes from (every overlapping cell once per pixel).

    Examples
    --------
    >>> grid_cells([0, 3, 5], (2, 4), (1, 2))[0].tolist()  # 2 x 2 pixels per cell
    [0, 1, 0]
    >>> grid_cells([1], (1, 2), (2, 3))  # a pixel over half the grid: cells 1, 2, 4, 5
    (array([1, 2, 4, 5]), array([0, 0, 0, 0]))
    """
    p = np.asarray(pixels, dtype=np.int64)
    (h, w), (g0, g1) = shape, grid
    y, x = np.divmod(p, w)
    r0, r1 = y * g0 // h, ((y + 1) * g0 - 1) // h
    c0, c1 = x * g1 // w, ((x + 1) * g1 - 1) // w
    nr, nc = r1 - r0 + 1, c1 - c0 + 1
    if p.size == 0 or (nr.max() == 1 and nc.max() == 1):
        return r0 * g1 + c0, np.arange(p.size, dtype=np.int64)
    rep = nr * nc
    src = np.repeat(np.arange(p.size, dtype=np.int64), rep)
    k = np.arange(src.size, dtype=np.int64) - np.repeat(np.cumsum(rep) - rep, rep)
    dr, dc = np.divmod(k, nc[src])
    return (r0[src] + dr) * g1 + c0[src] + dc, src


@dataclass(frozen=True, eq=False)
class PairCells:
    """Where in a grid laid over one image each pair of classes is disputed
    (:func:`pair_cells`).

    Attributes
    ----------
    pairs : ndarray of int64, shape (P, 2)
        Each pair's category ids ``(lo, hi)``, ``lo <= hi`` (0 = void; ``lo == hi``: the
        instances of a thing class), in increasing order.
    pixels : ndarray of int64, shape (P,)
        Pixels of the image disputed between the pair.
    cells : ndarray of bool, shape (P, G0 * G1)
        Grid cells holding a pixel disputed between the pair.
    """

    pairs: npt.NDArray[np.int64]
    pixels: npt.NDArray[np.int64]
    cells: npt.NDArray[np.bool_]


#: Disputed pixels placed on the grid at once by :func:`pair_cells` (its arrays are int64 per
#: pixel: a large photo's million disputed pixels are taken a chunk at a time).
_CELL_CHUNK = 1 << 18


def pair_cells(h: Heatmaps, grid: tuple[int, int], *, min_disagreement: float = 0.0
               ) -> PairCells:
    """Which cells of a grid over the image hold a pixel disputed between each pair of classes.

    A pixel is disputed between classes ``a`` and ``b`` when the majority gives it one of them
    and some annotator the other (:attr:`Heatmaps.disputed`, void a class of its own with
    ``void="label"``), with a semantic disagreement above ``min_disagreement``; it is disputed
    between ``a`` and ``a`` (a thing class) when its instance disagreement is above
    ``min_disagreement`` and the majority gives it ``a``. A pixel may be disputed between
    several pairs (one per dissenting class). Cells are those of :func:`grid_cells`.

    Examples
    --------
    >>> from agreement import Category
    >>> cats = Categories([Category(1, "road", False), Category(2, "walk", False)])
    >>> a = PanopticAnnotation.from_map([[1, 1, 2, 2]], {1: 1, 2: 2})
    >>> b = PanopticAnnotation.from_map([[1, 2, 2, 2]], {1: 1, 2: 2})
    >>> c = PanopticAnnotation.from_map([[1, 1, 1, 2]], {1: 1, 2: 2})
    >>> out = pair_cells(heatmaps({"a": a, "b": b, "c": c}, cats, d=1), (1, 2))
    >>> out.pairs.tolist(), out.pixels.tolist(), out.cells.astype(int).tolist()
    ([[1, 2]], [2], [[1, 1]])
    """
    if len(grid) != 2 or min(grid) < 1:
        raise ValueError(f"grid must be (rows, columns) of at least 1 each, got {grid}")
    pt = h.per_tuple
    k = len(h.category_ids) + 1
    ids = np.array((0, *h.category_ids), np.int64)
    labels, maj = pt["labels"].astype(np.int64), pt["majority"].astype(np.int64)
    lo, hi = np.minimum(labels, maj[None]), np.maximum(labels, maj[None])
    semantic = pt["disputed"] & (pt["semantic"] > min_disagreement)[None]
    codes = np.vstack([np.where(semantic, lo * k + hi, -1),
                       np.where(pt["instance"] > min_disagreement, maj * (k + 1), -1)[None]])
    codes.sort(axis=0)
    codes[1:][codes[1:] == codes[:-1]] = -1  # a pair once per tuple
    valid = codes >= 0
    present, slot = np.unique(codes[valid], return_inverse=True)
    pairs = np.stack([ids[present // k], ids[present % k]], axis=1) if present.size else \
        np.zeros((0, 2), np.int64)
    pairs.sort(axis=1)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)  # each pair's row in the result: the cells marked there
    slots = np.full(codes.shape, -1, np.int64)
    slots[valid] = rank[slot]
    count = h.tuples.count
    pixels = np.bincount(slot, weights=np.broadcast_to(count, codes.shape)[valid],
                         minlength=present.size)
    n_cells = grid[0] * grid[1]
    cells = np.zeros(present.size * n_cells, bool)
    if present.size:
        where = h.pixels_where(valid.any(0))  # (the regions' disputed pixels, read once)
        _mark_cells(cells, where, h.tuples.index, grid, slots)
    return PairCells(pairs[order], np.rint(pixels).astype(np.int64)[order],
                     cells.reshape(present.size, n_cells))


def _mark_cells(cells: npt.NDArray[np.bool_], where: npt.NDArray[np.intp],
                index: npt.NDArray[np.integer], grid: tuple[int, int],
                slots: npt.NDArray[np.int64]) -> None:
    """``cells[slot * G0 * G1 + cell] = True`` for every pixel of ``where``, every cell of
    ``grid`` it overlaps (:func:`grid_cells`) and every slot ``>= 0`` of ``slots[:, tuple]``
    (its tuple's pairs). One compiled pass when the kernels are built (a pixel with the tuple
    and cells of the one before skipped), else :func:`grid_cells` by chunks."""
    n_cells = grid[0] * grid[1]
    kern = _native.kernels
    if kern is not None and index.dtype in _CODE_TYPES and cells.flags.c_contiguous:
        src = np.ascontiguousarray(index)
        table = np.ascontiguousarray(slots.T, dtype=np.int64)  # a tuple's slots side by side
        kern.pair_marks(np.ascontiguousarray(where, dtype=np.int64), where.size, src,
                        *src.shape, src.itemsize, *grid, table, *table.shape,
                        cells.view(np.uint8), cells.size // n_cells)
        return
    flat = index.ravel()
    for lo in range(0, where.size, _CELL_CHUNK):  # a few int64 arrays per pixel: by chunks
        part = where[lo:lo + _CELL_CHUNK]
        cell, src = grid_cells(part, index.shape, grid)
        tup = flat[part][src]
        # a (cell, tuple) once in a row of them (pixels of a row in one cell, one tuple)
        new = np.ones(cell.size, bool)
        new[1:] = (cell[1:] != cell[:-1]) | (tup[1:] != tup[:-1])
        cell, tup = cell[new], tup[new]
        for row in slots:
            s = row[tup]
            ok = s >= 0
            cells[s[ok] * n_cells + cell[ok]] = True
