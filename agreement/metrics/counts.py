"""The additive counts every metric is computed from, and the few formulas shared by all of them.

Declared once, used by the study results, the report, batch comparison, the notebooks and the
benchmarks alike:

- the count field names (:data:`PQ_FIELDS`, :data:`BOUNDARY_FIELDS`, :data:`ALPHA_FIELDS`);
- :func:`ratio`, the one place that decides what 0/0 is: undefined, NaN (never 0);
- :func:`pooled`: count tables summed per class (or any key);
- :func:`group_means` (and :func:`class_mean`): the All / Things / Stuff mean of a per-class
  metric over the classes that occur, on one table or vectorised over bootstrap resamples;
- :func:`coincidence_matrix` (Krippendorff's coincidence weighting) and :func:`class_alpha`
  (the per-class alpha of a class against the rest);
- :func:`mean_boundary_iou`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ALPHA_FIELDS",
    "BOUNDARY_FIELDS",
    "COUNT_FIELDS",
    "GROUPS",
    "INT_FIELDS",
    "PQ_FIELDS",
    "class_alpha",
    "class_mean",
    "coincidence_matrix",
    "count_fields",
    "group_means",
    "mean_boundary_iou",
    "pooled",
    "ratio",
]

FloatArray = npt.NDArray[np.float64]

#: Additive panoptic counts per class: true positives, false positives, false negatives and the
#: sum of the matched IoUs.
PQ_FIELDS: Final = ("tp", "fp", "fn", "iou_sum")
#: The Boundary PQ counts (same meaning, boundary matching) and the sum of the paper's plain
#: boundary IoU over the panoptic matches (:func:`mean_boundary_iou`).
BOUNDARY_FIELDS: Final = ("boundary_tp", "boundary_fp", "boundary_fn", "boundary_iou_sum",
                          "boundary_iou_sum_plain")
#: Every PQ count field, in table order.
COUNT_FIELDS: Final = PQ_FIELDS + BOUNDARY_FIELDS
#: The integer count fields (the others are float sums).
INT_FIELDS: Final = ("tp", "fp", "fn", "boundary_tp", "boundary_fp", "boundary_fn")
#: Per class: pixel coincidences of the class with itself, all its values, all values of the
#: image (Krippendorff, :func:`class_alpha`).
ALPHA_FIELDS: Final = ("o_cc", "o_c", "o_n")
#: Summary groups of classes, in report order.
GROUPS: Final = ("All", "Things", "Stuff")


def ratio(num: npt.ArrayLike, den: npt.ArrayLike, *, undefined: float = np.nan,
          dtype: npt.DTypeLike = np.float64) -> npt.NDArray[np.floating]:
    """``num / den`` where ``den != 0``; elsewhere the value is undefined (NaN), never a warning.

    Parameters
    ----------
    num, den : array_like
        Broadcast against each other.
    undefined : float
        What a zero denominator gives. NaN for every statistic (undefined is not zero); only a
        display convention may ask for another value (a heatmap pixel nobody voted on is 0).
    dtype : dtype
        Float type the division is done in (float32 for per-pixel maps).

    Returns
    -------
    ndarray of ``dtype``

    Examples
    --------
    >>> ratio([1.0, 0.0], [2.0, 0.0]).tolist()
    [0.5, nan]
    """
    num, den = np.asarray(num, dtype=dtype), np.asarray(den, dtype=dtype)
    out = np.full(np.broadcast(num, den).shape, undefined, dtype=dtype)
    np.divide(num, den, out=out, where=den != 0)
    return out


def count_fields(columns: Iterable[str]) -> tuple[str, ...]:
    """The count fields (:data:`COUNT_FIELDS`) present in ``columns``, in table order.

    >>> count_fields(["image", "iou_sum", "tp", "fn", "fp"])
    ('tp', 'fp', 'fn', 'iou_sum')
    """
    have = set(columns)
    return tuple(f for f in COUNT_FIELDS if f in have)


def pooled(counts: pd.DataFrame, by: str | Sequence[str] = "category_id",
           fields: Sequence[str] | None = None) -> pd.DataFrame:
    """Sum count tables per key (by default per class): one row per key, sorted by key.

    Parameters
    ----------
    counts : DataFrame
        Rows of additive counts (per image, per pair, ...).
    by : str or sequence of str
        Key column(s).
    fields : sequence of str, optional
        Columns to sum; default the :data:`COUNT_FIELDS` present.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"category_id": [2, 1, 2], "tp": [1, 0, 2], "fp": [0, 1, 0],
    ...                   "fn": [0, 0, 1], "iou_sum": [0.5, 0.0, 1.5]})
    >>> pooled(t).values.tolist()
    [[1.0, 0.0, 1.0, 0.0, 0.0], [2.0, 3.0, 0.0, 1.0, 2.0]]
    """
    cols = list(count_fields(counts.columns) if fields is None else fields)
    keys = [by] if isinstance(by, str) else list(by)
    return counts.groupby(keys, as_index=False, sort=True, observed=True)[cols].sum()


def group_means(values: npt.ArrayLike, counted: npt.ArrayLike,
                isthing: npt.ArrayLike) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """All / Things / Stuff means of a per-class metric over the classes that occur.

    Parameters
    ----------
    values : array_like of float, shape (..., n_classes)
        The per-class metric (any leading axes: bootstrap resamples, batches).
    counted : array_like of bool, shape (..., n_classes)
        Whether the class occurs (TP + FP + FN > 0); the others are left out of the means.
    isthing : array_like of bool, shape (n_classes,)

    Returns
    -------
    means : ndarray of float64, shape (..., 3)
        All, Things, Stuff (:data:`GROUPS`); NaN where no class of the group occurs.
    n : ndarray of int64, shape (..., 3)
        Classes averaged.

    Notes
    -----
    The classes are added one after the other in class order (a running sum), as the COCO
    panoptic reference does, so a mean equals the reference's to the last bit.

    Examples
    --------
    >>> m, n = group_means([0.5, 1.0, 0.2], [True, True, False], [True, False, False])
    >>> m.tolist(), n.tolist()
    ([0.75, 0.5, 1.0], [2, 1, 1])
    """
    values = np.asarray(values, dtype=np.float64)
    counted = np.asarray(counted, dtype=bool)
    thing = np.asarray(isthing, dtype=bool)
    out = [class_mean(values, counted & member) for member in (np.ones_like(thing), thing, ~thing)]
    return np.stack([m for m, _ in out], axis=-1), np.stack([n for _, n in out], axis=-1)


def class_mean(values: npt.ArrayLike,
               counted: npt.ArrayLike) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Mean of a per-class metric over the classes that occur (the ``All`` of
    :func:`group_means`), vectorised over leading axes; NaN when none occurs.

    >>> m, n = class_mean([[0.5, 1.0, 0.2]], [[True, True, False]])
    >>> m.tolist(), n.tolist()
    ([0.75], [2])
    """
    values = np.asarray(values, dtype=np.float64)
    use = np.asarray(counted, dtype=bool)
    running = np.cumsum(np.where(use, values, 0.0), axis=-1)  # one class after the other
    total = running[..., -1] if values.shape[-1] else np.zeros(values.shape[:-1])
    n = use.sum(axis=-1).astype(np.int64)
    return ratio(total, n), n


def mean_boundary_iou(plain_sum: npt.ArrayLike, tp: npt.ArrayLike) -> FloatArray:
    """Mean plain boundary IoU over the panoptic matches: ``boundary_iou_sum_plain / tp``.

    NaN without matches.

    >>> mean_boundary_iou([1.5, 0.0], [2, 0]).tolist()
    [0.75, nan]
    """
    return ratio(plain_sum, tp)


def coincidence_matrix(stratum_tables: npt.ArrayLike) -> FloatArray:
    """Krippendorff coincidence matrix from per-stratum label-pair tables.

    Parameters
    ----------
    stratum_tables : array_like, shape (S, ..., K, K)
        ``stratum_tables[s, ..., i, j]`` counts label pairs (``i`` by the first, ``j`` by the
        second annotator of a pair, summed over pairs) on the units (pixels) that ``s``
        annotators gave a value (:attr:`agreement.metrics.pixel.PixelCounts.stratum_tables`).

    Returns
    -------
    ndarray of float64, shape (..., K, K)
        ``o = sum_{s >= 2} (t_s + t_s.T) / (s - 1)``: each unit rated by ``s`` annotators adds
        ``1 / (s - 1)`` per ordered pair of its values.

    Examples
    --------
    >>> t = np.zeros((3, 2, 2), int); t[2] = [[3, 1], [0, 2]]
    >>> coincidence_matrix(t).tolist()
    [[6.0, 1.0], [1.0, 4.0]]
    """
    t = np.asarray(stratum_tables)
    s = np.arange(t.shape[0], dtype=np.float64)
    w = ratio(1.0, s - 1.0, undefined=0.0)
    w[:2] = 0.0  # a unit with fewer than two values pairs nothing
    sym = (t + t.swapaxes(-1, -2)).astype(np.float64)
    return np.einsum("s...,s->...", sym, w)


def class_alpha(o_cc: npt.ArrayLike, o_c: npt.ArrayLike, o_n: npt.ArrayLike) -> FloatArray:
    """Krippendorff's alpha (nominal) of one class against the rest, from coincidence sums.

    Parameters
    ----------
    o_cc : array_like
        Coincidences of the class with itself.
    o_c : array_like
        All coincidences of the class (its row of the coincidence matrix).
    o_n : array_like
        All coincidences (the matrix total).

    Returns
    -------
    ndarray of float64
        ``1 - (n - 1) (o_c - o_cc) / (o_c (n - o_c))``: the binary coincidence matrix of "class
        or not" has ``o_c - o_cc`` twice off its diagonal. NaN when the class is never or
        always used (no expected disagreement).

    Examples
    --------
    >>> round(float(class_alpha(4.0, 5.0, 10.0)), 6)
    0.64
    """
    n, oc, occ = (np.asarray(x, dtype=np.float64) for x in (o_n, o_c, o_cc))
    return 1.0 - ratio((n - 1.0) * (oc - occ), oc * (n - oc))
