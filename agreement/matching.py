"""Segment matching between two annotations of one image, from one overlap table.

Everything here starts from :class:`Overlap`: the pixel counts of every (reference segment, other
segment) pair, built by one ``bincount`` over the paired compact id maps
(:func:`agreement.labels.overlap_table`). The panoptic matching rule (:func:`match_segments`) and
the diagnostic matching (:func:`diagnose`) only read that small table, never the pixels.

Roles are asymmetric, as in the COCO panoptic reference (panopticapi ``pq_compute``): the
*reference* annotation's void and crowd segments are special, the *other* annotation's are not.
Swap the roles with :meth:`Overlap.transpose`.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
import numpy.typing as npt

from .errors import AnnotationError
from .labels import overlap_table
from .model import PanopticAnnotation, Segment

__all__ = [
    "STATUSES",
    "Diagnosis",
    "Matches",
    "Overlap",
    "diagnose",
    "match_segments",
    "segment_overlap",
]

#: Status of a reference segment against another annotation (see :func:`diagnose`).
STATUSES: Final = ("matched", "missed", "split", "merged", "class_confused", "crowd", "ignored")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Overlap:
    """Pixel overlap of a reference and an other annotation of one image.

    Attributes
    ----------
    table : ndarray of int64, shape (nr + 1, no + 1)
        ``table[i + 1, j + 1]`` = pixels of reference segment ``i`` and other segment ``j``;
        row 0 / column 0 count the pixels on the reference's / the other's void.
    ref_ids, ref_categories : ndarray of int64, shape (nr,)
        Segment id and category id of each reference segment, in segment-table order.
    ref_crowd : ndarray of bool, shape (nr,)
    other_ids, other_categories : ndarray of int64, shape (no,)
    other_crowd : ndarray of bool, shape (no,)
        Recorded only; the reference semantics ignore the other annotation's crowd flag.
    """

    table: IntArray
    ref_ids: IntArray
    ref_categories: IntArray
    ref_crowd: BoolArray
    other_ids: IntArray
    other_categories: IntArray
    other_crowd: BoolArray

    @cached_property
    def ref_area(self) -> IntArray:
        """Pixel count of each reference segment (read-only; computed once)."""
        return _frozen(self.table[1:].sum(axis=1))

    @cached_property
    def other_area(self) -> IntArray:
        """Pixel count of each other segment (read-only; computed once)."""
        return _frozen(self.table[:, 1:].sum(axis=0))

    @property
    def other_on_ref_void(self) -> IntArray:
        """Pixels of each other segment on the reference's void."""
        return self.table[0, 1:]

    def transpose(self) -> Overlap:
        """The same overlap with the roles of reference and other swapped."""
        out = Overlap(self.table.T, self.other_ids, self.other_categories, self.other_crowd,
                      self.ref_ids, self.ref_categories, self.ref_crowd)
        out.__dict__.update(ref_area=self.other_area, other_area=self.ref_area)  # areas shared
        return out

    def pairs(self) -> tuple[IntArray, IntArray, IntArray]:
        """Every overlapping (reference, other) segment pair.

        Returns
        -------
        ref_index, other_index, intersection : ndarray of int64
            Table positions (0-based segment indices) and pixel counts, ordered by reference
            segment id, then other segment id (the reference's summation order). Read-only
            (computed once per overlap).
        """
        return self._pairs

    @cached_property
    def _pairs(self) -> tuple[IntArray, IntArray, IntArray]:
        r, o = np.nonzero(self.table[1:, 1:])
        order = np.lexsort((self.other_ids[o], self.ref_ids[r]))
        r, o = r[order].astype(np.int64), o[order].astype(np.int64)
        return _frozen(r), _frozen(o), _frozen(self.table[r + 1, o + 1])

    @cached_property
    def pair_iou(self) -> FloatArray:
        """:meth:`iou` of every pair of :meth:`pairs`, in its order (read-only; computed once)."""
        r, o, _ = self._pairs
        return _frozen(self.iou(r, o))

    @cached_property
    def _candidates(self) -> BoolArray:
        """Which pairs of :meth:`pairs` the panoptic rule may match (see
        :func:`candidate_pairs`)."""
        r, o, _ = self._pairs
        return _frozen((self.ref_categories[r] == self.other_categories[o])
                       & ~self.ref_crowd[r])

    @cached_property
    def _candidate_pairs(self) -> tuple[IntArray, IntArray]:
        r, o, _ = self._pairs
        keep = self._candidates
        return _frozen(r[keep]), _frozen(o[keep])

    @cached_property
    def _ignored(self) -> BoolArray:
        """Other segments more than half on the reference's void or crowd (never false
        positives when unmatched)."""
        return _frozen(_ignored_pixels(self) / self.other_area > 0.5)

    def iou(self, ref_index: IntArray, other_index: IntArray) -> FloatArray:
        """Void-adjusted IoU of segment pairs.

        Notes
        -----
        ``IoU = |R ∩ O| / (|R| + |O| - |R ∩ O| - |O on the reference's void|)``: pixels of the
        other segment on the reference's void leave the union (panopticapi).
        """
        inter = self.table[ref_index + 1, other_index + 1]
        union = (self.other_area[other_index] + self.ref_area[ref_index] - inter
                 - self.other_on_ref_void[other_index])
        with np.errstate(invalid="ignore", divide="ignore"):
            return inter / union


def _frozen(a: np.ndarray) -> np.ndarray:
    """``a``, made read-only (the values an :class:`Overlap` computes once and hands out)."""
    a.flags.writeable = False
    return a


def _segment_arrays(segments: Sequence[Segment]) -> tuple[IntArray, IntArray, BoolArray]:
    return (np.array([s.id for s in segments], dtype=np.int64),
            np.array([s.category_id for s in segments], dtype=np.int64),
            np.array([s.iscrowd for s in segments], dtype=bool))


def segment_overlap(ref: PanopticAnnotation, other: PanopticAnnotation) -> Overlap:
    """Build the :class:`Overlap` of two annotations of the same image (one ``bincount``).

    Parameters
    ----------
    ref, other : PanopticAnnotation
        Annotations of the same image (same height and width).

    Returns
    -------
    Overlap

    Raises
    ------
    AnnotationError
        The maps differ in size, or a segment of either table has no pixel.

    Examples
    --------
    >>> a = PanopticAnnotation.from_map(np.array([[1, 1], [2, 2]]), {1: 7, 2: 8})
    >>> b = PanopticAnnotation.from_map(np.array([[5, 5], [5, 0]]), {5: 7})
    >>> ov = segment_overlap(a, b)
    >>> ov.table.tolist(), ov.iou(np.array([0]), np.array([0])).tolist()
    ([[0, 0], [0, 2], [1, 1]], [0.6666666666666666])
    """
    if ref.shape != other.shape:
        raise AnnotationError(f"annotations must have the same size, got {ref.shape[1]}x"
                              f"{ref.shape[0]} and {other.shape[1]}x{other.shape[0]} (width x "
                              "height)", image=ref.image.file_name)
    nr, no = len(ref.segments), len(other.segments)
    table = overlap_table(ref.compact, other.compact, nr + 1, no + 1)
    return overlap_from_table(table, ref.segments, other.segments, image=ref.image.file_name)


def overlap_from_table(table: IntArray, ref_segments: Sequence[Segment],
                       other_segments: Sequence[Segment], *, image: str | None = None) -> Overlap:
    """Wrap a precomputed overlap table with the two segment tables (checks empty segments)."""
    ref_arrays = _segment_arrays(ref_segments)
    other_arrays = _segment_arrays(other_segments)
    for area, ids in ((table[1:].sum(axis=1), ref_arrays[0]),
                      (table[:, 1:].sum(axis=0), other_arrays[0])):
        empty = np.flatnonzero(area == 0)
        if empty.size:
            raise AnnotationError("segment must have at least one pixel in the map, got none",
                                  image=image, segment=int(ids[empty[0]]))
    return Overlap(np.asarray(table, dtype=np.int64), *ref_arrays, *other_arrays)


@dataclass(frozen=True, eq=False)
class Matches:
    """The panoptic matching of one image: matched pairs, false negatives, false positives.

    Attributes
    ----------
    ref_index, other_index : ndarray of int64, shape (k,)
        Matched pairs (segment-table positions), ordered by reference segment id.
    score : ndarray of float64, shape (k,)
        The score of each match (the IoU, or the score passed to :func:`match_segments`).
    fn : ndarray of bool, shape (nr,)
        Unmatched reference segments that count as false negatives (crowd segments do not).
    fp : ndarray of bool, shape (no,)
        Unmatched other segments that count as false positives.
    excused : ndarray of bool, shape (no,)
        Unmatched other segments not counted: more than half on the reference's void or crowd.
    """

    ref_index: IntArray
    other_index: IntArray
    score: FloatArray
    fn: BoolArray
    fp: BoolArray
    excused: BoolArray

    def partner(self, n_ref: int) -> IntArray:
        """Matched other index of each reference segment, -1 when unmatched."""
        out = np.full(n_ref, -1, dtype=np.int64)
        out[self.ref_index] = self.other_index
        return out


def candidate_pairs(overlap: Overlap) -> tuple[IntArray, IntArray]:
    """Pairs the panoptic rule may match: overlapping, same category, reference not crowd.

    Returns ``(ref_index, other_index)`` ordered by reference id, then other id (read-only;
    computed once per overlap).
    """
    return overlap._candidate_pairs


def match_segments(overlap: Overlap, *, score: FloatArray | None = None,
                   threshold: float = 0.5) -> Matches:
    """Match segments with the panoptic rule: same category and score > ``threshold``.

    Parameters
    ----------
    overlap : Overlap
    score : ndarray of float64, optional
        One score per pair of :func:`candidate_pairs` (in its order); by default the
        void-adjusted IoU. Boundary PQ passes ``min(mask IoU, boundary IoU)``.
    threshold : float
        Matches need a score strictly greater; 0.5 (the default) makes matches unique.

    Returns
    -------
    Matches

    Notes
    -----
    As in panopticapi: crowd reference segments are never matched and never false negatives; an
    unmatched other segment is not a false positive when (its pixels on the reference's void +
    its pixels on the reference's crowd segment of its category) / its area > 0.5, where only the
    *last* crowd segment of each category in the reference's table takes part.

    Examples
    --------
    >>> a = PanopticAnnotation.from_map(np.array([[1, 1, 2, 0]]), {1: 7, 2: 8})
    >>> b = PanopticAnnotation.from_map(np.array([[5, 5, 5, 6]]), {5: 7, 6: 8})
    >>> m = match_segments(segment_overlap(a, b))
    >>> m.ref_index.tolist(), m.fn.tolist(), m.fp.tolist(), m.excused.tolist()
    ([0], [False, True], [False, False], [False, True])
    """
    r, o = candidate_pairs(overlap)
    if score is None:
        score = overlap.pair_iou[overlap._candidates]  # the same IoU, computed once per pair
    elif np.shape(score) != r.shape:
        raise ValueError(f"score must have one value per candidate pair ({r.size}), "
                         f"got shape {np.shape(score)}")
    if threshold < 0.5:
        raise ValueError(f"threshold must be >= 0.5 for unique matches, got {threshold}")
    hit = score > threshold
    ref_index, other_index, match_score = r[hit], o[hit], np.asarray(score, np.float64)[hit]
    nr, no = overlap.ref_ids.size, overlap.other_ids.size
    ref_matched = np.zeros(nr, bool)
    ref_matched[ref_index] = True
    other_matched = np.zeros(no, bool)
    other_matched[other_index] = True
    fn = ~ref_matched & ~overlap.ref_crowd
    ignored = overlap._ignored
    unmatched = ~other_matched
    return Matches(ref_index, other_index, match_score, fn, unmatched & ~ignored,
                   unmatched & ignored)


def _ignored_pixels(overlap: Overlap) -> IntArray:
    """Pixels of each other segment on the reference's void or its category's last crowd."""
    out = overlap.other_on_ref_void.copy()
    crowd = np.flatnonzero(overlap.ref_crowd)
    if not crowd.size:
        return out
    last = {int(overlap.ref_categories[i]): int(i) for i in crowd}  # later entries win
    for j, cat in enumerate(overlap.other_categories.tolist()):
        i = last.get(cat)
        if i is not None:
            out[j] += overlap.table[i + 1, j + 1]
    return out


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """Why each reference segment did or did not match (see :func:`diagnose`).

    Attributes
    ----------
    status : ndarray of str, shape (nr,)
        One of :data:`STATUSES`.
    partner : ndarray of int64, shape (nr,)
        Panoptic match (other index), -1 when none.
    iou : ndarray of float64, shape (nr,)
        IoU with the panoptic match, NaN when none.
    diag_partner : ndarray of int64, shape (nr,)
        Diagnostic match: the panoptic match, else the Hungarian partner among unmatched
        segments of any category with IoU >= the diagnostic threshold; -1 when none.
    diag_iou : ndarray of float64, shape (nr,)
    best_partner_any : ndarray of int64, shape (nr,)
        The other segment (any category) with the highest IoU, -1 when nothing overlaps.
    best_iou_any : ndarray of float64, shape (nr,)
        Its IoU, 0 when nothing overlaps.
    """

    status: npt.NDArray[np.str_]
    partner: IntArray
    iou: FloatArray
    diag_partner: IntArray
    diag_iou: FloatArray
    best_partner_any: IntArray
    best_iou_any: FloatArray


def diagnose(overlap: Overlap, matches: Matches, *, threshold: float = 0.2,
             things: Collection[int] | None = None) -> Diagnosis:
    """Label each reference segment: matched, split, merged, class confusion, ignored, missed.

    Parameters
    ----------
    overlap : Overlap
    matches : Matches
        The panoptic matching of ``overlap`` (:func:`match_segments`).
    threshold : float
        Lowest IoU of a diagnostic (Hungarian) match.
    things : collection of int, optional
        Thing category ids. When given, a thing covered by a *stuff* segment that also covers
        other segments is ``missed`` (absorbed into the background), not ``merged``.

    Returns
    -------
    Diagnosis

    Notes
    -----
    Panoptic matches are kept; the remaining reference (non-crowd) and other segments are paired
    one-to-one by ``scipy.optimize.linear_sum_assignment`` maximising the summed IoU over pairs
    of any category with IoU >= ``threshold``. An unmatched reference segment ``R`` is, in this
    order of precedence:

    - ``split``: at least two other segments lie mostly (> 1/2 of their pixels) inside ``R`` and
      together cover more than half of ``R``;
    - ``merged``: one other segment covers more than half of ``R`` and more than half of another
      reference segment (with ``things``: unless ``R`` is a thing and that segment stuff);
    - ``class_confused``: its diagnostic partner has another category;
    - ``ignored``: more than half of ``R`` lies on the other's void (or on the other's crowd
      segment of its category): the other annotator left it unlabeled;
    - ``missed``: none of these (a same-category diagnostic partner with IoU <= 0.5 is a miss).

    Crowd reference segments are ``crowd``.

    Examples
    --------
    >>> a = PanopticAnnotation.from_map(np.array([[1, 1, 1, 1]]), {1: 7})
    >>> b = PanopticAnnotation.from_map(np.array([[5, 5, 6, 6]]), {5: 7, 6: 7})
    >>> ov = segment_overlap(a, b)
    >>> diagnose(ov, match_segments(ov)).status.tolist()
    ['split']
    """
    nr = overlap.ref_ids.size
    r, o, inter = overlap.pairs()
    iou = overlap.pair_iou
    partner = matches.partner(nr)
    match_iou = np.full(nr, np.nan)
    match_iou[matches.ref_index] = overlap.iou(matches.ref_index, matches.other_index)
    best_partner, best_iou = _best_per_row(r, o, iou, nr)
    diag_partner, diag_iou = _hungarian(overlap, matches, match_iou, threshold)
    status = np.full(nr, "missed", dtype=object)
    ref_area, other_area = overlap.ref_area, overlap.other_area
    # split: >= 2 fragments mostly inside R covering > 1/2 of R
    frag = 2 * inter > other_area[o]
    n_frag = np.bincount(r[frag], minlength=nr)
    frag_px = np.bincount(r[frag], weights=inter[frag], minlength=nr)
    split = (n_frag >= 2) & (2 * frag_px > ref_area)
    # merged: an other segment covers > 1/2 of R and > 1/2 of another reference segment
    covers = 2 * inter > ref_area[r]
    n_covered = np.bincount(o[covers], minlength=overlap.other_ids.size)
    merged_pair = covers & (n_covered[o] >= 2)
    if things is not None:
        merged_pair &= (~_is_thing(overlap.ref_categories, things)[r]
                        | _is_thing(overlap.other_categories, things)[o])
    merged = np.zeros(nr, bool)
    merged[r[merged_pair]] = True
    confused = np.zeros(nr, bool)
    if overlap.other_ids.size:
        confused = (diag_partner >= 0) & (
            overlap.other_categories[np.maximum(diag_partner, 0)] != overlap.ref_categories)
    ignored = 2 * _ref_ignored_pixels(overlap) > ref_area
    for mask, name in ((ignored, "ignored"), (confused, "class_confused"), (merged, "merged"),
                       (split, "split")):
        status[mask] = name
    status[partner >= 0] = "matched"
    status[overlap.ref_crowd] = "crowd"
    return Diagnosis(status.astype(str), partner, match_iou, diag_partner, diag_iou,
                     best_partner, best_iou)


def _is_thing(categories: IntArray, things: Collection[int]) -> BoolArray:
    """Whether each category id is among ``things`` (per segment: a short loop)."""
    things = things if isinstance(things, (set, frozenset)) else set(things)
    return np.array([c in things for c in categories.tolist()], dtype=bool)


def _ref_ignored_pixels(overlap: Overlap) -> IntArray:
    """Pixels of each reference segment on the other's void or its category's last crowd."""
    return _ignored_pixels(overlap.transpose())


def _best_per_row(r: IntArray, o: IntArray, iou: FloatArray,
                  nr: int) -> tuple[IntArray, FloatArray]:
    best = np.full(nr, -1, dtype=np.int64)
    best_iou = np.zeros(nr)
    if r.size:
        order = np.lexsort((-iou, r))
        first = order[np.r_[True, r[order][1:] != r[order][:-1]]]
        best[r[first]] = o[first]
        best_iou[r[first]] = iou[first]
    return best, best_iou


def _hungarian(overlap: Overlap, matches: Matches, match_iou: FloatArray,
               threshold: float) -> tuple[IntArray, FloatArray]:
    """The diagnostic partner of each reference segment and its IoU (``match_iou``: the IoU
    of each panoptic match, NaN when none)."""
    nr, no = overlap.ref_ids.size, overlap.other_ids.size
    r, o, _ = overlap.pairs()
    iou = overlap.pair_iou
    diag = matches.partner(nr)
    diag_iou = match_iou.copy()
    free_r = np.ones(nr, bool)
    free_r[matches.ref_index] = False
    free_r &= ~overlap.ref_crowd
    free_o = np.ones(no, bool)
    free_o[matches.other_index] = False
    keep = free_r[r] & free_o[o] & (iou >= threshold)
    if not keep.any():
        return diag, diag_iou
    kr, ko = r[keep], o[keep]
    if np.bincount(kr).max() == 1 and np.bincount(ko).max() == 1:
        # one candidate per free row and per free column (the usual case: above IoU 1/2
        # matches are unique): the candidates are the only assignment using every positive
        # weight, so the Hungarian optimum, and scipy.optimize (~0.15 s to import) is spared
        diag[kr] = ko
        diag_iou[kr] = iou[keep]
        return diag, diag_iou
    rows, row_pos = np.unique(r[keep], return_inverse=True)
    cols, col_pos = np.unique(o[keep], return_inverse=True)
    weights = np.zeros((rows.size, cols.size))
    weights[row_pos, col_pos] = iou[keep]
    ri, ci = _small_assignment(weights)
    if ri is None:
        from scipy.optimize import linear_sum_assignment  # here: ~0.15 s to import

        ri, ci = linear_sum_assignment(weights, maximize=True)
    good = weights[ri, ci] >= threshold
    diag[rows[ri[good]]] = cols[ci[good]]
    diag_iou[rows[ri[good]]] = weights[ri[good], ci[good]]
    return diag, diag_iou


#: Most assignments :func:`_small_assignment` enumerates (7 rows x 4 columns: 840).
_MAX_ENUMERATED = 5040


@functools.lru_cache(maxsize=64)
def _permutations(m: int, k: int) -> IntArray:
    """Every ordered choice of ``k`` of ``m`` columns, shape ``(perm(m, k), k)`` (read-only;
    made once per shape: making them per matrix left thousands of small tuples behind, whose
    memory blocks long-lived objects then kept from being returned)."""
    out = np.array(list(itertools.permutations(range(m), k)), dtype=np.int64)
    out.setflags(write=False)
    return out


def _small_assignment(weights: FloatArray) -> tuple[IntArray | None, IntArray | None]:
    """The maximum-weight assignment of a small matrix of positive weights, by enumeration.

    Returns the pairs of positive weight of the best one-to-one assignment (rows, columns;
    what ``linear_sum_assignment(weights, maximize=True)`` gives once its zero-weight pairs are
    dropped), or ``(None, None)`` when the matrix is too large to enumerate or when two
    assignments with different positive pairs reach the best total within 1e-9 (a tie: the
    caller then asks scipy, whose choice among equals is its own).
    """
    n, m = weights.shape
    k = min(n, m)
    if math.perm(max(n, m), k) > _MAX_ENUMERATED:
        return None, None
    w = weights if n <= m else weights.T  # rows: the smaller side
    picks = _permutations(w.shape[1], k)
    taken = w[np.arange(k)[None, :], picks]
    totals = taken.sum(axis=1)
    best = np.flatnonzero(totals >= totals.max() - 1e-9)
    positive = taken[best] > 0
    chosen = np.where(positive, picks[best], -1)
    if (chosen != chosen[0]).any():
        return None, None
    small = np.flatnonzero(positive[0])
    large = picks[best[0], small]
    return (small, large) if n <= m else (large, small)
