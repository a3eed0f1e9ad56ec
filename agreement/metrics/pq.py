"""Panoptic quality (PQ = SQ x RQ) from additive per-class counts.

The counts (TP, FP, FN and the sum of matched IoUs per category) add up across images and
annotator pairs; PQ is a pure function of them (:func:`pq_from_counts`), so aggregation,
bootstrap resampling and batch comparison all recompute PQ from sums with the same function.
Semantics are those of the COCO panoptic reference (panopticapi ``pq_compute``), see
``docs/metrics.md``.

Roles: the *reference* annotation's void and crowd regions are special (see
:mod:`agreement.matching`), so PQ(a as reference, b) differs from PQ(b as reference, a) when
either has void or crowd. The symmetric form between peers sums the counts of both directions
(:func:`symmetric_counts`) before computing PQ.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from ..matching import Matches, Overlap, match_segments, segment_overlap
from ..model import Categories, PanopticAnnotation
from .counts import (
    BOUNDARY_FIELDS,
    GROUPS,
    PQ_FIELDS,
    group_means,
    mean_boundary_iou,
    pooled,
    ratio,
)

if TYPE_CHECKING:  # the tables are built with pandas on first use: `agreement pq` needs none
    import pandas as pd

__all__ = [
    "COUNT_COLUMNS",
    "GROUPS",
    "PQCounts",
    "PQResult",
    "panoptic_quality",
    "pq_counts",
    "pq_from_counts",
    "pq_result",
    "pq_statistic",
    "summarize",
    "symmetric_counts",
]

#: The additive columns of a PQ count table (:data:`agreement.metrics.counts.PQ_FIELDS`).
COUNT_COLUMNS: Final = PQ_FIELDS


@dataclass(frozen=True, eq=False)
class PQCounts:
    """Additive per-class panoptic counts (one image, or summed).

    Attributes
    ----------
    category_id : ndarray of int64, shape (k,)
        Sorted category ids (only those with a count).
    tp, fp, fn : ndarray of int64, shape (k,)
    iou_sum : ndarray of float64, shape (k,)
        Sum of the matching score over true positives, added in the reference's order.
    """

    category_id: npt.NDArray[np.int64]
    tp: npt.NDArray[np.int64]
    fp: npt.NDArray[np.int64]
    fn: npt.NDArray[np.int64]
    iou_sum: npt.NDArray[np.float64]

    def to_frame(self) -> pd.DataFrame:
        """Columns ``category_id``, ``tp``, ``fp``, ``fn``, ``iou_sum``."""
        import pandas as pd

        return pd.DataFrame({"category_id": self.category_id, "tp": self.tp, "fp": self.fp,
                             "fn": self.fn, "iou_sum": self.iou_sum})


def pq_counts(overlap: Overlap, matches: Matches) -> PQCounts:
    """Per-class TP / FP / FN / score sum of one matched image.

    Parameters
    ----------
    overlap : Overlap
    matches : Matches
        From :func:`agreement.matching.match_segments` on ``overlap``.

    Returns
    -------
    PQCounts
        Categories with a non-zero count only. Scores are summed per class in the order of the
        matches (reference segment id), as panopticapi does.

    Examples
    --------
    >>> a = PanopticAnnotation.from_map(np.array([[1, 1, 2, 0]]), {1: 7, 2: 8})
    >>> b = PanopticAnnotation.from_map(np.array([[5, 5, 5, 6]]), {5: 7, 6: 8})
    >>> ov = segment_overlap(a, b)
    >>> c = pq_counts(ov, match_segments(ov))
    >>> c.tp.tolist(), c.fp.tolist(), c.fn.tolist(), c.iou_sum.round(4).tolist()
    ([1, 0], [0, 0], [0, 1], [0.6667, 0.0])
    """
    tp_cat = overlap.ref_categories[matches.ref_index]
    fn_cat = overlap.ref_categories[matches.fn]
    fp_cat = overlap.other_categories[matches.fp]
    every = np.concatenate([tp_cat, fn_cat, fp_cat])
    cats = np.unique(every)
    pos = np.searchsorted(cats, every)
    k, n_tp, n_fn = cats.size, tp_cat.size, fn_cat.size
    tp_pos = pos[:n_tp]
    return PQCounts(
        cats.astype(np.int64),
        np.bincount(tp_pos, minlength=k).astype(np.int64),
        np.bincount(pos[n_tp + n_fn:], minlength=k).astype(np.int64),
        np.bincount(pos[n_tp:n_tp + n_fn], minlength=k).astype(np.int64),
        # summed one match after the other, in order (as np.add.at would)
        np.bincount(tp_pos, weights=matches.score, minlength=k).astype(np.float64),
    )


def _column(counts: Any, name: str) -> npt.NDArray[Any]:
    if isinstance(counts, PQCounts):
        return np.asarray(getattr(counts, name))
    return np.asarray(counts[name])


def _is_frame(value: Any) -> bool:
    """Whether ``value`` is a DataFrame (without importing pandas: if it is not imported, no)."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, pd.DataFrame)


def _pq_arrays(tp: npt.ArrayLike, fp: npt.ArrayLike, fn: npt.ArrayLike,
               iou_sum: npt.ArrayLike) -> dict[str, npt.NDArray[Any]]:
    """``pq``, ``sq``, ``rq`` and ``counted`` of per-class counts (see :func:`pq_from_counts`)."""
    tp, fp, fn, iou = (np.asarray(v).astype(np.float64) for v in (tp, fp, fn, iou_sum))
    counted = (tp + fp + fn) > 0
    denom = tp + 0.5 * fp + 0.5 * fn  # 0 exactly when the class does not occur
    return {"pq": ratio(iou, denom), "sq": np.where(counted & (tp == 0), 0.0, ratio(iou, tp)),
            "rq": ratio(tp, denom), "counted": counted}


def pq_from_counts(counts: PQCounts | pd.DataFrame | Mapping[str, npt.ArrayLike], *,
                   prefix: str = "") -> pd.DataFrame:
    """Per-class PQ, SQ and RQ from TP / FP / FN / IoU sums.

    Parameters
    ----------
    counts : PQCounts, DataFrame or mapping of arrays
        Columns ``tp``, ``fp``, ``fn``, ``iou_sum`` (each with ``prefix`` prepended).
    prefix : str
        Column prefix, e.g. ``"boundary_"`` for Boundary PQ sums.

    Returns
    -------
    DataFrame
        Columns ``pq``, ``sq``, ``rq`` (prefixed) and ``counted`` (TP + FP + FN > 0), one row
        per input row (same index for a DataFrame input).

    Notes
    -----
    ``PQ = ΣIoU / (TP + FP/2 + FN/2)``, ``SQ = ΣIoU / TP``, ``RQ = TP / (TP + FP/2 + FN/2)``.
    A class with TP + FP + FN = 0 has no PQ (NaN). As in the reference, SQ is 0 when TP = 0 but
    FP + FN > 0 (so PQ = SQ x RQ = 0).

    Examples
    --------
    >>> r = pq_from_counts({"tp": [2, 0, 0], "fp": [1, 1, 0], "fn": [1, 0, 0],
    ...                     "iou_sum": [1.5, 0.0, 0.0]}).round(4)
    >>> r.pq.tolist(), r.sq.tolist(), r.rq.tolist(), r.counted.tolist()
    ([0.5, 0.0, nan], [0.75, 0.0, nan], [0.6667, 0.0, nan], [True, True, False])
    """
    import pandas as pd

    cols = _pq_arrays(*(_column(counts, prefix + k) for k in PQ_FIELDS))
    index = counts.index if _is_frame(counts) else None
    return pd.DataFrame({prefix + "pq": cols["pq"], prefix + "sq": cols["sq"],
                         prefix + "rq": cols["rq"], "counted": cols["counted"]}, index=index)


def pq_statistic(column: str = "pq", *, prefix: str = ""):
    """Per-class PQ, SQ or RQ as a function of summed counts of any shape.

    The statistic :mod:`agreement.stats` resamples (bootstrap, permutation tests): it maps
    ``{"tp": array, "fp": ..., "fn": ..., "iou_sum": ...}`` (prefixed) of shape
    ``(..., n_classes)`` to the metric of the same shape, through :func:`pq_from_counts`.

    Examples
    --------
    >>> f = pq_statistic("sq")
    >>> f({"tp": np.array([[2.0, 0.0]]), "fp": np.zeros((1, 2)), "fn": np.zeros((1, 2)),
    ...    "iou_sum": np.array([[1.5, 0.0]])}).tolist()
    [[0.75, nan]]
    """

    def statistic(sums: Mapping[str, npt.ArrayLike]) -> npt.NDArray[np.float64]:
        shape = np.shape(sums[prefix + "tp"])
        flat = _pq_arrays(*(np.ravel(sums[prefix + k]) for k in PQ_FIELDS))
        return flat[column].astype(float).reshape(shape)

    return statistic


def summarize(per_class: pd.DataFrame, *, prefix: str = "") -> pd.DataFrame:
    """All / Things / Stuff means of per-class PQ, SQ, RQ over the classes that occur.

    Parameters
    ----------
    per_class : DataFrame
        Columns ``isthing``, ``tp``, ``fp``, ``fn`` and ``pq``, ``sq``, ``rq`` (prefixed), in
        category order.
    prefix : str

    Returns
    -------
    DataFrame
        Index ``group`` (All, Things, Stuff); columns ``pq``, ``sq``, ``rq``, ``n`` (prefixed):
        unweighted means over the ``n`` classes with TP + FP + FN > 0; NaN when ``n`` = 0.
    """
    return _groups_frame(_group_values(per_class, prefix=prefix))


def _group_values(per_class: Mapping[str, npt.ArrayLike], *, prefix: str = ""
                  ) -> dict[str, dict[str, Any]]:
    """Group -> ``pq``, ``sq``, ``rq`` (floats), ``n`` (int), prefixed: :func:`summarize`."""
    p = prefix
    counted = (np.asarray(per_class[p + "tp"]) + np.asarray(per_class[p + "fp"])
               + np.asarray(per_class[p + "fn"])) > 0
    isthing = np.asarray(per_class["isthing"], dtype=bool)
    means = {m: group_means(np.asarray(per_class[p + m], dtype=np.float64), counted, isthing)
             for m in ("pq", "sq", "rq")}
    n = means["pq"][1]
    return {group: {**{p + m: float(mean[g]) for m, (mean, _) in means.items()}, p + "n": int(n[g])}
            for g, group in enumerate(GROUPS)}


def _groups_frame(values: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The groups table: index ``group`` (All, Things, Stuff), one column per value."""
    import pandas as pd

    out = pd.DataFrame.from_dict({g: dict(v) for g, v in values.items()}, orient="index")
    out.index.name = "group"
    return out


def symmetric_counts(ab: pd.DataFrame, ba: pd.DataFrame) -> pd.DataFrame:
    """Sum the count tables of both directions (a as reference, then b) per category.

    Without void and crowd the two directions mirror each other (TP and ΣIoU equal, FP and FN
    swapped), so PQ of the sum equals PQ of either direction; with void or crowd it lies
    between them.
    """
    import pandas as pd

    both = pd.concat([ab, ba], ignore_index=True)
    return pooled(both, fields=[c for c in both.columns
                                if c != "category_id" and pd.api.types.is_numeric_dtype(both[c])])


@dataclass(frozen=True, eq=False)
class PQResult:
    """Panoptic quality of one ordered annotator pair (or the symmetric form, or a whole set).

    The numbers are kept as arrays (:attr:`columns`, :attr:`values`); the tables
    :attr:`per_class` and :attr:`groups` are built from them on first use.

    Attributes
    ----------
    columns : mapping of str to ndarray
        The columns of :attr:`per_class`, in its order.
    values : mapping of str to mapping of str to number
        Group (All, Things, Stuff) -> the columns of :attr:`groups` (floats; ``n`` ints).
    per_class : DataFrame
        One row per category: ``category_id``, ``name``, ``isthing``, ``tp``, ``fp``, ``fn``,
        ``iou_sum``, ``pq``, ``sq``, ``rq``, ``counted``; with boundary metrics also
        ``boundary_tp`` ... ``boundary_iou_sum``, ``boundary_pq``, ``boundary_sq``,
        ``boundary_rq``, ``boundary_counted`` and ``mean_boundary_iou`` (mean plain boundary IoU
        over the PQ matches, NaN without matches).
    groups : DataFrame
        Index All / Things / Stuff: ``pq``, ``sq``, ``rq``, ``n`` (+ ``boundary_*`` and
        ``mean_boundary_iou`` with boundary metrics).
    ref, other : str or None
        The annotators in the reference and other roles (None when not applicable).
    symmetric : bool
        True when the counts of both directions were summed.
    """

    columns: Mapping[str, npt.NDArray[Any]]
    values: Mapping[str, Mapping[str, Any]]
    ref: str | None = None
    other: str | None = None
    symmetric: bool = False

    @cached_property
    def per_class(self) -> pd.DataFrame:
        """One row per category (see the class notes)."""
        import pandas as pd

        return pd.DataFrame({k: pd.Series(v, dtype=object) if v.dtype == object  # names stay
                             else np.array(v, copy=True) for k, v in self.columns.items()})

    @cached_property
    def groups(self) -> pd.DataFrame:
        """Index All / Things / Stuff (see the class notes)."""
        return _groups_frame(self.values)

    @property
    def pq(self) -> float:
        """PQ over all counted classes (NaN when none)."""
        return float(self.values["All"]["pq"])

    @property
    def sq(self) -> float:
        """SQ over all counted classes."""
        return float(self.values["All"]["sq"])

    @property
    def rq(self) -> float:
        """RQ over all counted classes."""
        return float(self.values["All"]["rq"])

    @property
    def has_boundary(self) -> bool:
        """Whether boundary metrics were computed."""
        return "boundary_pq" in self.values["All"]

    @property
    def boundary_pq(self) -> float:
        """Boundary PQ over all counted classes (NaN when not computed)."""
        return float(self.values["All"]["boundary_pq"]) if self.has_boundary else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """The per-class table."""
        return self.per_class.copy()

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``agreement pq --json`` (NaN as None, category ids as strings)."""
        return _to_dict(self)

    def __repr__(self) -> str:
        who = f"{self.ref} vs {self.other}" if self.ref else "counts"
        return (f"PQResult({who}{', symmetric' if self.symmetric else ''}: PQ {self.pq:.4f}, "
                f"SQ {self.sq:.4f}, RQ {self.rq:.4f})")

    def _repr_html_(self) -> str:
        from .._html import block, figures, table

        who = f"{self.ref} vs {self.other}" if self.ref else "counts"
        cols = [c for c in ("name", "isthing", "tp", "fp", "fn", "pq", "sq", "rq",
                            "boundary_pq") if c in self.per_class.columns]
        per = self.per_class.loc[self.per_class["pq"].notna(), cols].sort_values("pq")
        return block(f"PQResult {who}{', symmetric' if self.symmetric else ''}",
                     [figures({"PQ": self.pq, "SQ": self.sq, "RQ": self.rq}),
                      table(self.groups, index=True),
                      table(per, caption="Per class, least agreement first")])


def _num(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return None if np.isnan(value) else value


def _to_dict(result: PQResult) -> dict[str, Any]:
    out: dict[str, Any] = {}
    g = result.values
    for group in GROUPS:
        out[group] = {k: _num(g[group][k]) for k in ("pq", "sq", "rq", "n")}
    pc = result.columns
    ids = [str(int(c)) for c in pc["category_id"]]
    names, things = list(pc["name"]), list(pc["isthing"])
    keys = ("pq", "sq", "rq", *PQ_FIELDS)
    out["per_class"] = {
        cid: {"name": names[i], "isthing": bool(things[i]),
              **{k: _num(pc[k][i]) for k in keys}}
        for i, cid in enumerate(ids)
    }
    if not result.has_boundary:
        return out
    b: dict[str, Any] = {}
    for group in GROUPS:
        b[group] = {k: _num(g[group]["boundary_" + k]) for k in ("pq", "sq", "rq", "n")}
        b[group]["mean_boundary_iou"] = _num(g[group]["mean_boundary_iou"])
    b["per_class"] = {
        cid: {**{k: _num(pc["boundary_" + k][i]) for k in keys},
              "mean_boundary_iou": _num(pc["mean_boundary_iou"][i])}
        for i, cid in enumerate(ids)
    }
    out["boundary"] = b
    return out


BOUNDARY_COLUMNS: Final = BOUNDARY_FIELDS


def pq_result(counts: pd.DataFrame | PQCounts | Mapping[str, npt.ArrayLike],
              categories: Categories, *, ref: str | None = None, other: str | None = None,
              symmetric: bool = False) -> PQResult:
    """Build a :class:`PQResult` from summed per-class counts.

    Parameters
    ----------
    counts : DataFrame, PQCounts or mapping of str to array
        ``category_id``, ``tp``, ``fp``, ``fn``, ``iou_sum``, optionally the boundary columns
        ``boundary_tp``, ``boundary_fp``, ``boundary_fn``, ``boundary_iou_sum``,
        ``boundary_iou_sum_plain``; one row per category at most.
    categories : Categories
        Every category gets a row (zeros when absent from ``counts``), in id order.

    Examples
    --------
    >>> from agreement.model import Category
    >>> cats = Categories([Category(1, "car", True), Category(7, "road", False)])
    >>> r = pq_result({"category_id": [1], "tp": [1], "fp": [1], "fn": [0], "iou_sum": [0.9]},
    ...               cats)
    >>> round(r.pq, 4), int(r.groups.loc["Stuff", "n"])
    (0.6, 0)
    """
    have = set(counts.columns) if _is_frame(counts) else (
        set(COUNT_COLUMNS) if isinstance(counts, PQCounts) else set(counts))
    value_cols = [c for c in (*COUNT_COLUMNS, *BOUNDARY_COLUMNS) if c in have]
    ids = np.fromiter(categories, dtype=np.int64, count=len(categories))
    given = _column(counts, "category_id").astype(np.int64)
    # each category's row of ``counts`` (one at most), or none: a left join on category_id
    order = np.argsort(given, kind="stable")
    pos = np.searchsorted(given[order], ids)
    found = pos < given.size
    found[found] = given[order][pos[found]] == ids[found]
    rows = order[np.minimum(pos, max(given.size - 1, 0))] if given.size else pos
    per: dict[str, npt.NDArray[Any]] = {
        "category_id": ids,
        "name": np.array([categories[c].name for c in ids.tolist()], dtype=object),
        "isthing": np.array([categories[c].isthing for c in ids.tolist()], dtype=bool),
    }
    for c in value_cols:
        dtype = np.float64 if "iou" in c else np.int64
        col = np.zeros(ids.size, dtype)
        col[found] = _column(counts, c)[rows[found]].astype(dtype)
        per[c] = col
    per.update(_pq_arrays(*(per[k] for k in PQ_FIELDS)))
    values = _group_values(per)
    if "boundary_tp" in per:
        bq = _pq_arrays(*(per["boundary_" + k] for k in PQ_FIELDS))
        per.update({"boundary_pq": bq["pq"], "boundary_sq": bq["sq"], "boundary_rq": bq["rq"],
                    "boundary_counted": bq["counted"]})
        per["mean_boundary_iou"] = mean_boundary_iou(per["boundary_iou_sum_plain"], per["tp"])
        boundary = _group_values(per, prefix="boundary_")
        pooled_iou = _pooled_boundary_iou(per)
        for k, group in enumerate(GROUPS):
            values[group].update(boundary[group], mean_boundary_iou=pooled_iou[k])
    return PQResult(per, values, ref=ref, other=other, symmetric=symmetric)


def _pooled_boundary_iou(per: Mapping[str, npt.NDArray[Any]]) -> list[float]:
    """Mean boundary IoU of All / Things / Stuff: the matches of the group pooled."""
    isthing = np.asarray(per["isthing"], dtype=bool)
    plain, tp = np.asarray(per["boundary_iou_sum_plain"]), np.asarray(per["tp"])
    return [float(mean_boundary_iou(plain[member].sum(), tp[member].sum()))
            for member in (np.ones_like(isthing), isthing, ~isthing)]


def panoptic_quality(ref: PanopticAnnotation, other: PanopticAnnotation, *,
                     categories: Categories) -> PQResult:
    """PQ of one image pair, ``ref`` in the reference role (convenience for small checks).

    For a study use :func:`agreement.study.pq.evaluate`, which sums counts over images.

    Examples
    --------
    >>> from agreement.model import Category
    >>> cats = Categories([Category(7, "road", False)])
    >>> a = PanopticAnnotation.from_map(np.array([[1, 1, 1, 0]]), {1: 7})
    >>> b = PanopticAnnotation.from_map(np.array([[5, 5, 5, 5]]), {5: 7})
    >>> panoptic_quality(a, b, categories=cats).pq
    1.0
    """
    ov = segment_overlap(ref, other)
    return pq_result(pq_counts(ov, match_segments(ov)), categories)
