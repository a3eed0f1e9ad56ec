"""Region agreement measures: covering, Rand index, variation of information, class-agnostic PQ.

Every measure here is a few-line function of one contingency table per pair of label maps
(:func:`contingency`, built with :func:`agreement.labels.overlap_table`: one ``bincount``, no
per-region masks). Row and column 0 of a table are void (label 0, unlabeled); rows belong to the
first map (the reference ``ref`` where roles are asymmetric), columns to the second.

Each measure takes two label maps (arrays or :class:`~agreement.model.PanopticAnnotation`) or a
precomputed ``table=``, as scikit-image's metrics do, so a study computes one table per pair and
derives every measure from it.

Void handling follows the reference implementations (the BSDS benchmark, panopticapi):

- Rand index, adjusted Rand and variation of information drop every pixel that is void in either
  map (BSDS ``match_segmentations2`` ignores label 0).
- Segmentation covering uses full region areas (BSDS ``match_segmentations``): a region of
  ``other`` lying on the reference's void still counts in the union.
- Class-agnostic PQ follows panopticapi with one thing class: pixels of ``other``'s segment on the
  reference's void leave the union; an unmatched segment of ``other`` lying more than half on the
  reference's void is not a false positive.

Parsing covering (per class, for panoptic annotations) lives in :mod:`agreement.metrics.covering`
and is re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..labels import compact_ids, overlap_table
from ..model import PanopticAnnotation
from .counts import ratio
from .covering import ParsingCovering, parsing_covering

__all__ = [
    "PairCounts",
    "ParsingCovering",
    "RegionPQ",
    "adjusted_rand_index",
    "as_compact",
    "contingency",
    "covering_sums",
    "pair_counts",
    "parsing_covering",
    "probabilistic_rand_index",
    "rand_index",
    "region_pq",
    "segmentation_covering",
    "variation_of_information",
]

LabelMap = npt.ArrayLike | PanopticAnnotation


def as_compact(labels: LabelMap) -> tuple[npt.NDArray[np.int32], int]:
    """A compact map (0 = void, 1..K = regions) and ``K + 1`` for any label map.

    Parameters
    ----------
    labels : array_like of int, shape (H, W), or PanopticAnnotation
        Label map, 0 = void; any non-negative ids. An annotation's cached compact map is used.

    Returns
    -------
    compact : ndarray of int32, shape (H, W)
    n : int
        Number of table rows this map needs (regions + 1 for void).

    Examples
    --------
    >>> c, n = as_compact(np.array([[0, 70], [9, 70]]))
    >>> c.tolist(), n
    ([[0, 2], [1, 2]], 3)
    """
    if isinstance(labels, PanopticAnnotation):
        return labels.compact, len(labels.segments) + 1
    arr = np.asarray(labels)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"label map must be a 2-D integer array, got {arr.ndim}-D {arr.dtype}")
    if arr.size and int(arr.min()) < 0:
        raise ValueError(f"labels must be >= 0 (0 = void), got {int(arr.min())}")
    present = np.unique(arr)
    present = present[present > 0]
    compact, _, _ = compact_ids(arr, present)
    return compact, present.size + 1


def contingency(a: LabelMap, b: LabelMap) -> npt.NDArray[np.int64]:
    """Contingency table of two label maps: pixels per (region of ``a``, region of ``b``).

    Row and column 0 count void pixels; regions are numbered in increasing label order (or the
    annotation's segment-table order).

    Examples
    --------
    >>> contingency(np.array([[1, 1, 2]]), np.array([[5, 0, 5]])).tolist()
    [[0, 0], [1, 1], [0, 1]]
    """
    ca, na = as_compact(a)
    cb, nb = as_compact(b)
    if ca.shape != cb.shape:
        raise ValueError(f"label maps must have the same shape, got {ca.shape} and {cb.shape}")
    return overlap_table(ca, cb, na, nb)


def _table(a: LabelMap | None, b: LabelMap | None, table: npt.ArrayLike | None) -> np.ndarray:
    if table is not None:
        t = np.asarray(table)
        if t.ndim != 2:
            raise ValueError(f"table must be 2-D, got {t.ndim}-D")
        return t
    if a is None or b is None:
        raise ValueError("two label maps or table= must be given, got neither")
    return contingency(a, b)


@dataclass(frozen=True)
class PairCounts:
    """Unordered pixel-pair counts of two labelings over the pixels labelled in both.

    Attributes
    ----------
    n : int
        Pixels labelled in both maps.
    both : int
        Pairs in the same region in both maps: sum C(n_uv, 2).
    same_a, same_b : int
        Pairs in the same region of ``a`` (sum C(a_u, 2)), of ``b`` (sum C(b_v, 2)).
    total : int
        All pairs, C(n, 2).
    """

    n: int
    both: int
    same_a: int
    same_b: int
    total: int


def pair_counts(a: LabelMap | None = None, b: LabelMap | None = None, *,
                table: npt.ArrayLike | None = None) -> PairCounts:
    """Count unordered pixel pairs grouped together by ``a``, by ``b`` and by both (void dropped).

    Examples
    --------
    >>> pair_counts(np.array([[1, 1, 2, 2]]), np.array([[1, 1, 1, 2]]))
    PairCounts(n=4, both=1, same_a=2, same_b=3, total=6)
    """
    n_uv = _table(a, b, table)[1:, 1:].astype(np.int64)
    n = int(n_uv.sum())

    def c2(x: np.ndarray) -> int:
        return int((x * (x - 1)).sum() // 2)

    return PairCounts(n, c2(n_uv), c2(n_uv.sum(axis=1)), c2(n_uv.sum(axis=0)), n * (n - 1) // 2)


def rand_index(a: LabelMap | None = None, b: LabelMap | None = None, *,
               table: npt.ArrayLike | None = None) -> float:
    """Rand index: the fraction of unordered pixel pairs on which two labelings agree.

    Parameters
    ----------
    a, b : label maps (array or PanopticAnnotation), same shape
        0 is void; pixels void in either map are left out.
    table : array_like, optional
        A precomputed :func:`contingency` table (``a`` and ``b`` are then ignored).

    Returns
    -------
    float
        ``1 - (sum a_u^2 / 2 + sum b_v^2 / 2 - sum n_uv^2) / C(N, 2)``; NaN when fewer than two
        pixels are labelled in both.

    Notes
    -----
    Symmetric. Equals ``sklearn.metrics.rand_score`` on the labelled pixels and the BSDS
    benchmark's ``rand_index`` when at least two pixels are labelled in both; with fewer there
    is no pair to count and the result is NaN, where ``rand_score`` returns 1.0.

    Examples
    --------
    >>> rand_index(np.array([[1, 1, 2, 2]]), np.array([[1, 1, 1, 2]]))
    0.5
    """
    c = pair_counts(a, b, table=table)
    if c.total == 0:
        return float("nan")
    return 1.0 - (c.same_a + c.same_b - 2 * c.both) / c.total


def adjusted_rand_index(a: LabelMap | None = None, b: LabelMap | None = None, *,
                        table: npt.ArrayLike | None = None) -> float:
    """Adjusted Rand index (Hubert and Arabie), chance-corrected, over pixels labelled in both.

    Returns
    -------
    float
        ``(both - E) / (mean(same_a, same_b) - E)`` with ``E = same_a * same_b / C(N, 2)``; 1.0
        when the denominator is 0 with N >= 2 (both maps one region, or both all singletons, as
        scikit-learn); NaN when fewer than two pixels are labelled in both.

    Examples
    --------
    >>> round(adjusted_rand_index(np.array([[1, 1, 2, 2]]), np.array([[1, 1, 1, 2]])), 6)
    0.0
    """
    c = pair_counts(a, b, table=table)
    if c.total == 0:
        return float("nan")
    expected = c.same_a * c.same_b / c.total
    top = (c.same_a + c.same_b) / 2
    if top == expected:
        return 1.0
    return (c.both - expected) / (top - expected)


def probabilistic_rand_index(segmentation: LabelMap, references: list[LabelMap]) -> float:
    """Probabilistic Rand index: the mean Rand index of ``segmentation`` against several references.

    As the BSDS benchmark computes it (``match_segmentations2``): the plain mean of the Rand index
    against each reference segmentation.

    Examples
    --------
    >>> s = np.array([[1, 1, 2, 2]])
    >>> probabilistic_rand_index(s, [s, np.array([[1, 1, 1, 2]])])
    0.75
    """
    if not references:
        raise ValueError("references must hold at least one label map, got none")
    return float(np.mean([rand_index(segmentation, r) for r in references]))


def _entropy_bits(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def variation_of_information(a: LabelMap | None = None, b: LabelMap | None = None, *,
                             table: npt.ArrayLike | None = None) -> float:
    """Variation of information ``H(a) + H(b) - 2 I(a; b)`` in bits, over pixels labelled in both.

    Returns
    -------
    float
        >= 0, 0 for identical partitions; NaN when no pixel is labelled in both.

    Notes
    -----
    Base-2 logarithms, as the BSDS benchmark; equals the sum of scikit-image's
    ``variation_of_information`` pair of conditional entropies.

    Examples
    --------
    >>> variation_of_information(np.array([[1, 1, 2, 2]]), np.array([[1, 1, 3, 3]]))
    0.0
    >>> variation_of_information(np.array([[1, 1, 2, 2]]), np.array([[1, 2, 3, 4]]))
    1.0
    """
    n_uv = _table(a, b, table)[1:, 1:].astype(np.float64)
    n = n_uv.sum()
    if n == 0:
        return float("nan")
    p = n_uv / n
    h_joint = _entropy_bits(p.ravel())
    # VI = 2 H(a, b) - H(a) - H(b)
    vi = 2 * h_joint - _entropy_bits(p.sum(axis=1)) - _entropy_bits(p.sum(axis=0))
    return max(vi, 0.0)


def covering_sums(table: npt.ArrayLike) -> tuple[float, int]:
    """The two additive sums of segmentation covering of the rows' map by the columns' map.

    Parameters
    ----------
    table : array_like of int, shape (na, nb)
        A :func:`contingency` table, rows = the covered map (reference), columns = the covering
        one; row and column 0 are void.

    Returns
    -------
    weighted : float
        ``sum over regions R of the reference of |R| * max over regions R' of IoU(R, R')``.
    area : int
        ``sum |R|``: the reference's labelled pixels.

    Notes
    -----
    IoU uses full region areas (void of the other map included), as the BSDS benchmark.

    Examples
    --------
    >>> covering_sums([[0, 0, 0], [0, 2, 0], [0, 2, 2]])  # 2 px x IoU 2/4 + 4 px x IoU 2/4
    (3.0, 6)
    """
    t = np.asarray(table, dtype=np.int64)
    ref_area = t[1:].sum(axis=1)
    if ref_area.size == 0 or t.shape[1] < 2:
        return 0.0, int(ref_area.sum())
    other_area = t[:, 1:].sum(axis=0)
    inter = t[1:, 1:]
    union = ref_area[:, None] + other_area[None, :] - inter
    iou = ratio(inter, union, undefined=0.0)
    return float((ref_area * iou.max(axis=1)).sum()), int(ref_area.sum())


def segmentation_covering(ref: LabelMap | None = None, other: LabelMap | None = None, *,
                          table: npt.ArrayLike | None = None) -> float:
    """Segmentation covering of ``ref`` by ``other`` (Arbelaez et al. 2011, eq. 8).

    ``C(ref <- other) = sum over regions R of ref of |R| * max_R' IoU(R, R') / sum |R|``.

    Returns
    -------
    float
        In [0, 1]; NaN when ``ref`` has no labelled pixel. Not symmetric.

    Examples
    --------
    >>> round(segmentation_covering(np.array([[1, 1, 2, 2]]), np.array([[1, 1, 1, 2]])), 6)
    0.583333
    """
    weighted, area = covering_sums(_table(ref, other, table))
    return weighted / area if area else float("nan")


@dataclass(frozen=True)
class RegionPQ:
    """Class-agnostic panoptic quality of ``other`` against ``ref`` (one thing class).

    Attributes
    ----------
    tp, fp, fn : int
    iou_sum : float
        Sum of the IoUs of the matched pairs.
    """

    tp: int
    fp: int
    fn: int
    iou_sum: float

    @property
    def pq(self) -> float:
        """``iou_sum / (tp + fp/2 + fn/2)``; NaN when nothing was segmented by either side."""
        d = self.tp + 0.5 * self.fp + 0.5 * self.fn
        return self.iou_sum / d if d else float("nan")

    @property
    def sq(self) -> float:
        """``iou_sum / tp``; 0 when tp = 0 (as panopticapi), NaN when nothing was segmented."""
        if self.tp + self.fp + self.fn == 0:
            return float("nan")
        return self.iou_sum / self.tp if self.tp else 0.0

    @property
    def rq(self) -> float:
        """``tp / (tp + fp/2 + fn/2)``; NaN when nothing was segmented by either side."""
        d = self.tp + 0.5 * self.fp + 0.5 * self.fn
        return self.tp / d if d else float("nan")

    def __add__(self, other: RegionPQ) -> RegionPQ:
        return RegionPQ(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn,
                        self.iou_sum + other.iou_sum)

    def to_frame(self) -> pd.DataFrame:
        """One row: ``tp``, ``fp``, ``fn``, ``iou_sum``, ``pq``, ``sq``, ``rq``."""
        return pd.DataFrame([{"tp": self.tp, "fp": self.fp, "fn": self.fn,
                              "iou_sum": self.iou_sum, "pq": self.pq, "sq": self.sq,
                              "rq": self.rq}])


def region_pq(ref: LabelMap | None = None, other: LabelMap | None = None, *,
              table: npt.ArrayLike | None = None) -> RegionPQ:
    """Class-agnostic PQ counts: every region one thing class, panopticapi's matching.

    A pair matches when IoU > 0.5 with IoU = ``|G n P| / (|G| + |P| - |G n P| - |P on ref void|)``;
    an unmatched region of ``other`` is a false positive unless more than half of it lies on the
    reference's void.

    Examples
    --------
    >>> r = region_pq(np.array([[1, 1, 2, 2]]), np.array([[1, 1, 1, 2]]))
    >>> (r.tp, r.fp, r.fn, round(r.iou_sum, 4))
    (1, 1, 1, 0.6667)
    """
    t = np.asarray(_table(ref, other, table), dtype=np.int64)
    ref_area = t[1:].sum(axis=1)
    other_area = t[:, 1:].sum(axis=0)
    on_void = t[0, 1:]
    inter = t[1:, 1:]
    union = ref_area[:, None] + (other_area - on_void)[None, :] - inter
    iou = ratio(inter, union, undefined=0.0)
    match = iou > 0.5
    tp = int(match.sum())
    fn = int(((ref_area > 0) & ~match.any(axis=1)).sum())
    unmatched = ~match.any(axis=0)
    excused = on_void > 0.5 * np.maximum(other_area, 1)
    fp = int((unmatched & ~excused & (other_area > 0)).sum())
    return RegionPQ(tp, fp, fn, float(iou[match].sum()))
