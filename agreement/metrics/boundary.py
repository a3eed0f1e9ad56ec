"""Boundary IoU (Cheng et al., CVPR 2021) and Boundary PQ, for all segments of a map at once.

A segment's *boundary band* is the segment minus its erosion by a ``(2d+1) x (2d+1)`` square,
the outside of the image counting as not-the-segment: a pixel of segment ``S`` is on the band iff
some pixel within Chebyshev distance ``d`` is not in ``S`` or lies outside the image, i.e. iff
its ``(2d+1) x (2d+1)`` window is not constant. :func:`boundary_band` decides this for every pixel
of a map in a few vectorised passes (label changes between neighbouring pixels, then 1-D window
sums), never eroding one mask per segment. ``d = max(1, round(0.02 x image diagonal))``
(:func:`boundary_width`).

Boundary PQ follows the Boundary IoU authors' reference code: each candidate pair's score is
``min(mask IoU, boundary IoU)`` where this boundary IoU is void-adjusted like the mask IoU; that
score decides the match (> 0.5) and enters the sum; false positives are excused with the mask
counts as in PQ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .. import _native
from ..labels import as_width, compact_dtype, label_width, overlap_table
from ..matching import (
    Matches,
    Overlap,
    candidate_pairs,
    match_segments,
    overlap_from_table,
    segment_overlap,
)
from ..model import Categories, PanopticAnnotation
from .pq import PQResult, pq_counts, pq_result

__all__ = [
    "BoundaryOverlap",
    "PairEvaluation",
    "banded",
    "boundary_band",
    "boundary_near",
    "boundary_panoptic_quality",
    "boundary_width",
    "evaluate_pair",
    "image_counts",
    "joint_overlap",
    "joint_overlap_banded",
    "near_changes",
    "packed_changes",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def boundary_width(height: int, width: int, *, ratio: float = 0.02) -> int:
    """Band width ``d = max(1, round(ratio x sqrt(height² + width²)))`` in pixels.

    Examples
    --------
    >>> boundary_width(512, 1024), boundary_width(1024, 2048), boundary_width(4, 4)
    (23, 46, 1)
    """
    return max(1, round(ratio * math.sqrt(height * height + width * width)))


#: The item types :func:`_window_any` hands to the compiled kernel.
_WINDOW_TYPES = (np.dtype(bool), np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.uint32))


def _window_any(x: npt.NDArray[np.bool_], left: int, right: int,
                axis: int) -> npt.NDArray[np.bool_]:
    """``y[i] = any(x[i - left : i + right + 1])`` along ``axis`` (outside the map is False).

    Log-step doubling: ``ceil(log2(left + right + 1))`` shifted ORs over whole arrays. Along
    axis 0 whole rows are OR-ed, 8 bytes per 64-bit word. ``x`` may also be an unsigned
    bitmask (``uint8``, ``uint16``, ``uint32``): then each bit is windowed on its own (a
    bitwise OR), several maps in one pass. 2-D maps go through the compiled kernel when it is
    built (two ORs per item whatever the window: van Herk / Gil-Werman), with the same result.

    Examples
    --------
    >>> _window_any(np.array([[0, 0, 1, 0, 0, 0, 2]], np.uint8), 1, 2, axis=1).tolist()
    [[1, 1, 1, 1, 2, 2, 2]]
    """
    n = x.shape[axis]  # a window longer than the axis reaches its border: the same as n
    left, right = min(int(left), n), min(int(right), n)
    kern = _native.kernels
    if kern is not None and x.ndim == 2 and x.dtype in _WINDOW_TYPES:
        src = np.ascontiguousarray(x)
        out = np.empty(src.shape, dtype=src.dtype)
        kern.window_any(src, *src.shape, left, right, axis, out, src.dtype.itemsize)
        return out
    length = left + right + 1

    def sl(start: int | None, stop: int | None) -> tuple[slice, ...]:
        return (slice(None),) * axis + (slice(start, stop),)

    shape = list(x.shape)
    shape[axis] = n + length - 1
    if axis == 0 and x.ndim == 2:
        shape[1] = -(-x.shape[1] // 8) * 8  # whole 64-bit words per row
    pad = np.zeros(shape, dtype=x.dtype)
    pad[sl(left, left + n)][..., : x.shape[-1]] = x
    work = pad.view(np.uint64) if axis == 0 and x.ndim == 2 else pad
    m = 1
    while 2 * m <= length:
        work[sl(None, -m)] |= work[sl(m, None)]  # pad[i] = any over [i, i + 2m - 1]
        m *= 2
    if length > m:
        work[sl(None, -(length - m))] |= work[sl(length - m, None)]
    return pad[sl(None, n)][..., : x.shape[-1]]


def _changes(labels: npt.NDArray[np.integer], axis: int) -> npt.NDArray[np.bool_]:
    """``c[k] = labels[k] != labels[k + 1]`` along ``axis``; the last entry is False."""
    out = np.zeros(labels.shape, dtype=bool)
    if axis == 0:
        np.not_equal(labels[1:], labels[:-1], out=out[:-1])
    else:
        np.not_equal(labels[:, 1:], labels[:, :-1], out=out[:, :-1])
    return out


def boundary_band(labels: npt.ArrayLike, *, d: int) -> npt.NDArray[np.bool_]:
    """Boundary bands of every segment of a label map at once.

    Parameters
    ----------
    labels : array_like of int, shape (H, W)
        Segment ids (raw or compact); 0 is void and has no band.
    d : int
        Band width (:func:`boundary_width`), >= 1.

    Returns
    -------
    ndarray of bool, shape (H, W)
        True on the pixels of each segment that lie within Chebyshev distance ``d`` of a pixel of
        another label (void included) or of the image border.

    Notes
    -----
    The ``(2d+1) x (2d+1)`` window of a pixel is non-constant iff one of its rows is
    non-constant or its centre column is. A row of the window is non-constant iff it holds a
    pair of horizontally adjacent pixels with different labels: mark those label changes,
    take a 1-D "any" over windows of ``2d`` change positions along rows, then over ``2d + 1``
    rows; the centre column is checked the same way along columns. Every step is a whole-map
    boolean operation; the cost grows with ``log d``, not with the number of segments.

    Examples
    --------
    >>> boundary_band(np.array([[1, 1, 1, 1, 1]] * 5), d=1).astype(int)
    array([[1, 1, 1, 1, 1],
           [1, 0, 0, 0, 1],
           [1, 0, 0, 0, 1],
           [1, 0, 0, 0, 1],
           [1, 1, 1, 1, 1]])
    """
    lab = np.asarray(labels)
    if lab.ndim != 2:
        raise ValueError(f"labels must be 2-D, got shape {lab.shape}")
    if d < 1:
        raise ValueError(f"d must be >= 1, got {d}")
    h, w = lab.shape
    kern = _native.kernels
    if kern is not None and lab.dtype in (np.uint8, np.uint16, np.int32):
        band = np.empty((h, w), dtype=bool)
        kern.band(np.ascontiguousarray(lab), h, w, d, band, lab.dtype.itemsize)
        return band
    rows = _window_any(_changes(lab, 1), d, d - 1, axis=1)  # change pairs in [j - d, j + d - 1]
    rows[:, :d] = True  # the window leaves the image
    rows[:, max(w - d, 0):] = True
    band = _window_any(rows, d, d, axis=0)
    band |= _window_any(_changes(lab, 0), d, d - 1, axis=0)
    band[:d] = True
    band[max(h - d, 0):] = True
    band &= lab != 0
    return band


def boundary_near(labels: npt.ArrayLike, *, d: int) -> npt.NDArray[np.bool_]:
    """Pixels near a border between two labels: their ``(2d+1) x (2d+1)`` window holds two.

    Unlike :func:`boundary_band`, void counts as a label like any other and the image border
    is not a border (used by the boundary disagreement heatmap: "does this annotator draw a
    boundary within ``d`` pixels of here?"). Same kernel: label changes, then 1-D windows.

    Examples
    --------
    >>> boundary_near(np.array([[1, 1, 1, 2, 2, 2]]), d=1).astype(int).tolist()
    [[0, 0, 1, 1, 0, 0]]
    """
    lab = np.asarray(labels)
    if lab.ndim != 2:
        raise ValueError(f"labels must be 2-D, got shape {lab.shape}")
    if d < 1:
        raise ValueError(f"d must be >= 1, got {d}")
    return near_changes(_changes(lab, 1), _changes(lab, 0), d=d)


def near_changes(along_rows: npt.NDArray, along_columns: npt.NDArray, *, d: int) -> npt.NDArray:
    """:func:`boundary_near` from the label changes: ``along_rows[i, j]`` marks a change
    between ``(i, j)`` and ``(i, j + 1)``, ``along_columns[i, j]`` one between ``(i, j)`` and
    ``(i + 1, j)`` (last column / row unmarked).

    Bool maps give one band; unsigned bitmasks (``uint8``, ``uint16``, ``uint32``) give one band
    per bit in one pass (bit ``k`` of the result: near a change marked by bit ``k``).

    Examples
    --------
    >>> rows = np.array([[0, 0, 1, 0, 0, 0]], np.uint8)  # bit 0: a change after column 2
    >>> rows[0, 4] |= 2  # bit 1: a change after column 4
    >>> near_changes(rows, np.zeros_like(rows), d=1).tolist()
    [[0, 0, 1, 1, 2, 2]]
    """
    if d < 1:
        raise ValueError(f"d must be >= 1, got {d}")
    near = _window_any(_window_any(along_rows, d, d - 1, axis=1), d, d, axis=0)
    near |= _window_any(_window_any(along_columns, d, d - 1, axis=0), d, d, axis=1)
    return near


def packed_changes(shape: tuple[int, int], labels: npt.NDArray, pairs
                   ) -> tuple[npt.NDArray[np.unsignedinteger], npt.NDArray[np.unsignedinteger]]:
    """The label changes of up to 32 maps, bit ``k`` for map ``k``, as :func:`near_changes`
    reads them (along rows, then along columns), from per-tuple labels.

    ``labels[k, t]`` is map ``k``'s label of tuple ``t``; ``pairs`` holds, along rows then
    along columns, ``(sel, x, y)``: the mask (shape ``(H, W - 1)``, then ``(H - 1, W)``) of the
    neighbouring pixels whose tuples differ, and those tuples (a map changes only where the
    tuple does, so the bits are computed there only).

    >>> index = np.array([[0, 0, 1]])
    >>> sel = index[:, :-1] != index[:, 1:]
    >>> none = np.zeros((0, 3), bool)
    >>> rows, _ = packed_changes((1, 3), np.array([[5, 6], [5, 5]]),
    ...                          [(sel, index[:, :-1][sel], index[:, 1:][sel]),
    ...                           (none, np.zeros(0, int), np.zeros(0, int))])
    >>> rows.tolist()  # map 0 changes between columns 1 and 2, map 1 does not
    [[0, 1, 0]]
    """
    n = labels.shape[0]
    dtype = np.uint8 if n <= 8 else np.uint16 if n <= 16 else np.uint32
    out = []
    for axis, (sel, x, y) in zip((1, 0), pairs, strict=True):
        bits = np.zeros(x.shape, dtype)
        for k in range(n):
            bits |= (labels[k, x] != labels[k, y]).astype(dtype) << dtype(k)
        changes = np.zeros(shape, dtype)
        (changes[:, :-1] if axis == 1 else changes[:-1])[sel] = bits
        out.append(changes)
    return out[0], out[1]


@dataclass(frozen=True, eq=False)
class BoundaryOverlap:
    """Overlap of the boundary bands of a reference and an other annotation.

    Attributes
    ----------
    table : ndarray of int64, shape (nr + 1, no + 1)
        ``table[i + 1, j + 1]`` = pixels on both the band of reference segment ``i`` and the band
        of other segment ``j``; ``table[0, j + 1]`` = band pixels of other segment ``j`` on the
        reference's void; ``table[i + 1, 0]`` = band pixels of reference segment ``i`` on the
        other's void.
    ref_band_area, other_band_area : ndarray of int64
        Band pixel count of each segment.
    """

    table: IntArray
    ref_band_area: IntArray
    other_band_area: IntArray

    def transpose(self) -> BoundaryOverlap:
        """Roles swapped."""
        return BoundaryOverlap(self.table.T, self.other_band_area, self.ref_band_area)

    def iou(self, ref_index: IntArray, other_index: IntArray, *,
            void_adjusted: bool = False) -> FloatArray:
        """Boundary IoU of segment pairs: ``|Rd ∩ Od| / |Rd ∪ Od|``.

        With ``void_adjusted`` the other band's pixels on the reference's void leave the union
        (the variant Boundary PQ uses).
        """
        inter = self.table[ref_index + 1, other_index + 1]
        union = self.ref_band_area[ref_index] + self.other_band_area[other_index] - inter
        if void_adjusted:
            union = union - self.table[0, other_index + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            return inter / union


def joint_overlap(ref_compact: npt.NDArray[np.integer], ref_band: npt.NDArray[np.bool_],
                  other_compact: npt.NDArray[np.integer], other_band: npt.NDArray[np.bool_],
                  nr: int, no: int) -> tuple[IntArray, BoundaryOverlap]:
    """Mask and boundary overlap tables of two maps from ONE ``bincount``.

    Each pixel's code is (reference compact id, other compact id, on the reference's band, on
    the other's band); the mask table sums over the two band flags, the boundary table reads
    the flagged cells.

    Parameters
    ----------
    ref_compact, other_compact : ndarray of int, shape (H, W)
        Compact maps (0 void, ``i + 1`` = segment ``i``).
    ref_band, other_band : ndarray of bool, shape (H, W)
        Their :func:`boundary_band`.
    nr, no : int
        Number of segments of each.

    Returns
    -------
    table : ndarray of int64, shape (nr + 1, no + 1)
        The mask overlap table (as :func:`agreement.labels.overlap_table`).
    boundary : BoundaryOverlap

    Examples
    --------
    >>> a = np.array([[1, 1, 1, 1]] * 3)
    >>> b = np.array([[1, 1, 0, 0]] * 3)
    >>> t, bo = joint_overlap(a, boundary_band(a, d=1), b, boundary_band(b, d=1), 1, 1)
    >>> t.tolist(), bo.table.tolist(), bo.ref_band_area.tolist(), bo.other_band_area.tolist()
    ([[0, 0], [6, 6]], [[0, 0], [5, 5]], [10], [6])
    """
    return joint_overlap_banded(banded(ref_compact, ref_band), banded(other_compact, other_band),
                                nr, no)


def banded(compact: npt.NDArray[np.integer], band: npt.NDArray[np.bool_], *,
           k: int | None = None) -> npt.NDArray[np.integer]:
    """``2 x compact + band``: a map's compact ids and band flag in one map.

    Compute it once per map; :func:`joint_overlap_banded` then needs one pass per pair.

    Parameters
    ----------
    compact : ndarray of int, shape (H, W)
        A compact map (0 void, ``1 .. k`` segments).
    band : ndarray of bool, shape (H, W)
        Its :func:`boundary_band`.
    k : int, optional
        Its number of segments, when ``compact`` is narrow (uint8, uint16): the result then
        has the narrowest type holding ``2 k + 1`` (:func:`agreement.labels.compact_dtype`;
        default: read from the map's largest value). Other maps give int32, as before.

    Examples
    --------
    >>> banded(np.array([[0, 1, 2]], np.uint8), np.array([[False, True, False]])).tolist()
    [[0, 3, 4]]
    """
    c, b = np.asarray(compact), np.asarray(band)
    if c.dtype in (np.uint8, np.uint16):
        top = int(c.max(initial=0)) if k is None else int(k)
        dtype = compact_dtype(2 * top + 1)
        if dtype.itemsize > 2 * c.dtype.itemsize:  # a k that does not fit the map's type
            dtype = np.dtype(np.int32)
            c = c.astype(np.int32)
    else:
        dtype = np.dtype(np.int32)
    kern = _native.kernels
    width = label_width(c)
    if (kern is not None and width is not None and b.dtype == np.bool_ and c.shape == b.shape
            and dtype.itemsize in (width, 2 * width)):
        out = np.empty(c.shape, dtype)
        kern.banded(as_width(c, width), np.ascontiguousarray(b), out, width, dtype.itemsize)
        return out
    out = np.multiply(c, 2, dtype=dtype)
    out += b
    return out


def joint_overlap_banded(ref_banded: npt.NDArray[np.integer],
                         other_banded: npt.NDArray[np.integer], nr: int,
                         no: int) -> tuple[IntArray, BoundaryOverlap]:
    """:func:`joint_overlap` from :func:`banded` maps (the per-pair work of a study).

    One :func:`agreement.labels.overlap_table` of the banded maps (compact id and band flag of
    each side), read as the mask table and the boundary table.

    Raises
    ------
    ValueError
        The maps differ in shape, or hold a value outside ``[0, 2 (nr + 1))`` /
        ``[0, 2 (no + 1))``.
    """
    full = overlap_table(ref_banded, other_banded, 2 * (nr + 1), 2 * (no + 1))
    full = full.reshape(nr + 1, 2, no + 1, 2)  # (ref, ref band, other, other band)
    inside, on_other = full[:, 0, :, 0] + full[:, 1, :, 0], full[:, 0, :, 1]
    both = full[:, 1, :, 1]
    table = inside + on_other + both  # integer sums: any order gives the same table
    ref_band = full[:, 1, :, 0] + both  # reference band pixels per (ref, other)
    other_band = on_other + both
    btable = np.empty((nr + 1, no + 1), dtype=np.int64)
    btable[1:, 1:] = both[1:, 1:]
    btable[0, :] = other_band[0]  # other's band on the reference's void
    btable[:, 0] = ref_band[:, 0]  # reference's band on the other's void
    btable[0, 0] = 0
    ref_band_area = ref_band[1:].sum(axis=1)
    other_band_area = other_band[:, 1:].sum(axis=0)
    return table.astype(np.int64, copy=False), BoundaryOverlap(
        btable, ref_band_area.astype(np.int64, copy=False),
        other_band_area.astype(np.int64, copy=False))


@dataclass(frozen=True, eq=False)
class PairEvaluation:
    """PQ and Boundary PQ of one image, one ordered pair: matches and additive counts.

    Attributes
    ----------
    matches : Matches
        The panoptic (mask IoU) matching.
    boundary_matches : Matches or None
        The Boundary PQ matching (score ``min(mask IoU, void-adjusted boundary IoU)``).
    boundary_iou : ndarray of float64 or None, shape (k,)
        The paper's plain boundary IoU of each panoptic match.
    boundary_score : ndarray of float64 or None, shape (k,)
        The Boundary PQ score of each panoptic match.
    counts : dict of str to ndarray
        ``category_id``, ``tp``, ``fp``, ``fn``, ``iou_sum`` and, with boundary metrics,
        ``boundary_tp``, ``boundary_fp``, ``boundary_fn``, ``boundary_iou_sum``,
        ``boundary_iou_sum_plain`` (sum of the plain boundary IoU over the panoptic matches).
    """

    matches: Matches
    boundary_matches: Matches | None
    boundary_iou: FloatArray | None
    boundary_score: FloatArray | None
    counts: dict[str, np.ndarray]


def evaluate_pair(overlap: Overlap, boundary: BoundaryOverlap | None = None) -> PairEvaluation:
    """Match one image pair and count PQ (and Boundary PQ when ``boundary`` is given).

    Parameters
    ----------
    overlap : Overlap
    boundary : BoundaryOverlap, optional
        Boundary overlap of the same pair, same roles.

    Returns
    -------
    PairEvaluation
    """
    matches = match_segments(overlap)
    pq = pq_counts(overlap, matches)
    counts: dict[str, np.ndarray] = {"category_id": pq.category_id, "tp": pq.tp, "fp": pq.fp,
                                     "fn": pq.fn, "iou_sum": pq.iou_sum}
    if boundary is None:
        return PairEvaluation(matches, None, None, None, counts)
    r, o = candidate_pairs(overlap)
    bmatches = match_segments(overlap, score=np.minimum(
        overlap.iou(r, o), boundary.iou(r, o, void_adjusted=True)))
    bq = pq_counts(overlap, bmatches)
    plain = boundary.iou(matches.ref_index, matches.other_index)
    mscore = np.minimum(matches.score, boundary.iou(matches.ref_index, matches.other_index,
                                                    void_adjusted=True))
    cats = pq.category_id  # Boundary PQ only ever counts categories that PQ counts too
    pos = np.searchsorted(cats, bq.category_id)
    for name in ("tp", "fp", "fn", "iou_sum"):
        col = np.zeros(cats.size, dtype=getattr(bq, name).dtype)
        col[pos] = getattr(bq, name)
        counts["boundary_" + name] = col
    # summed one match after the other, in order (as np.add.at would)
    counts["boundary_iou_sum_plain"] = np.bincount(
        np.searchsorted(cats, overlap.ref_categories[matches.ref_index]), weights=plain,
        minlength=cats.size).astype(np.float64)
    return PairEvaluation(matches, bmatches, plain, mscore, counts)


def image_counts(overlap: Overlap, boundary: BoundaryOverlap | None) -> dict[str, np.ndarray]:
    """The additive counts of :func:`evaluate_pair`."""
    return evaluate_pair(overlap, boundary).counts


def boundary_panoptic_quality(ref: PanopticAnnotation, other: PanopticAnnotation, *,
                              categories: Categories, ratio: float = 0.02) -> PQResult:
    """PQ, Boundary PQ and mean boundary IoU of one image pair (``ref`` in the reference role).

    Examples
    --------
    >>> from agreement.model import Category
    >>> cats = Categories([Category(7, "road", False)])
    >>> a = PanopticAnnotation.from_map(np.ones((4, 4), int), {1: 7})
    >>> r = boundary_panoptic_quality(a, a, categories=cats)
    >>> r.pq, r.boundary_pq, float(r.groups.loc["All", "mean_boundary_iou"])
    (1.0, 1.0, 1.0)
    """
    d = boundary_width(*ref.shape, ratio=ratio)
    if ref.shape != other.shape:
        segment_overlap(ref, other)  # raises the size error
    table, bo = joint_overlap(ref.compact, boundary_band(ref.compact, d=d), other.compact,
                              boundary_band(other.compact, d=d), len(ref.segments),
                              len(other.segments))
    ov = overlap_from_table(table, ref.segments, other.segments, image=ref.image.file_name)
    return pq_result(image_counts(ov, bo), categories)
