"""The result of evaluating a study: PQ tables of every annotator pair (:class:`StudyResult`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StudyError
from ..metrics.counts import count_fields, pooled
from ..metrics.pq import PQResult, pq_result, symmetric_counts
from ..model import Categories

__all__ = ["StudyResult"]


@dataclass(frozen=True, eq=False)
class StudyResult:
    """Agreement of every annotator pair of a study (the output of :func:`evaluate`).

    Attributes
    ----------
    segments : DataFrame
        With ``evaluate(..., segments=True)`` (the default; empty otherwise): one row per
        (image, annotator, segment, other annotator), the annotator in the reference
        role: ``image``, ``annotator``, ``other``, ``segment_id``, ``category_id``,
        ``category``, ``isthing``, ``iscrowd``, ``area``, ``partner_segment_id`` and
        ``partner_category_id`` (the PQ match in ``other``, <NA> if none), ``iou`` (its
        void-adjusted IoU), ``boundary_iou`` (the paper's boundary IoU with the PQ match),
        ``boundary_score`` (min(IoU, void-adjusted boundary IoU), the Boundary PQ score),
        ``boundary_matched``, ``status`` (see :func:`agreement.matching.diagnose`), and the
        diagnostic matching: ``diag_partner_segment_id``, ``diag_partner_category_id``,
        ``diag_iou``, ``best_partner_any``, ``best_iou_any``. It grows with the study (about
        ten rows per segment): the report and the command line never need it.
    per_image : DataFrame
        Additive counts per (``image``, ``ref``, ``other``, ``category_id``), rows with a count
        only: ``tp``, ``fp``, ``fn``, ``iou_sum`` and, with boundary metrics,
        ``boundary_tp``, ``boundary_fp``, ``boundary_fn``, ``boundary_iou_sum``,
        ``boundary_iou_sum_plain``.
    per_pair_class : DataFrame
        The same summed over images for every (``ref``, ``other``, ``category_id``) (all
        categories, zeros included), plus ``name``, ``isthing``, ``pq``, ``sq``, ``rq`` (NaN
        when the class does not occur), ``boundary_pq`` ..., ``mean_boundary_iou`` and
        ``n_images`` (images where the class occurs for this pair).
    status_counts : DataFrame
        Reference segments per (``annotator``, ``other``, ``category_id``, ``status``,
        ``small``): ``segments`` (rows with a count only); ``small`` is ``area <
        small_area``. Additive, and all the report reads of the segment diagnoses.
    image_categories : DataFrame
        ``image``, ``category_id``: the categories some evaluated annotator used in each image.
    annotators, images : tuple of str
        The annotators and images evaluated.
    categories : Categories
    boundary : bool
        Whether boundary metrics were computed.
    small_area : int
        The size (pixels) below which a segment counts as small in ``status_counts``.

    Notes
    -----
    ``image``, ``annotator``, ``ref``, ``other`` and ``status`` columns are categoricals (one
    small integer per row).
    """

    segments: pd.DataFrame
    per_image: pd.DataFrame
    per_pair_class: pd.DataFrame
    status_counts: pd.DataFrame
    image_categories: pd.DataFrame
    annotators: tuple[str, ...]
    images: tuple[str, ...]
    categories: Categories
    boundary: bool
    small_area: int = 32 * 32
    _cache: dict = field(default_factory=dict, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The per (pair, class) table."""
        return self.per_pair_class.copy()

    def pq(self, ref: str, other: str, *, symmetric: bool = False) -> PQResult:
        """PQ (and Boundary PQ) of ``other`` against ``ref`` in the reference role.

        With ``symmetric``, the counts of both directions are summed first (see
        :func:`agreement.metrics.pq.symmetric_counts`).
        """
        key = (ref, other, symmetric)
        if key not in self._cache:
            for name in (ref, other):
                if name not in self.annotators:
                    raise StudyError(f"annotator must be one of {list(self.annotators)}, "
                                     f"got {name!r}")
            counts = self._pair_counts(ref, other)
            if symmetric:
                counts = symmetric_counts(counts, self._pair_counts(other, ref))
            self._cache[key] = pq_result(counts, self.categories, ref=ref, other=other,
                                         symmetric=symmetric)
        return self._cache[key]

    def _pair_counts(self, ref: str, other: str) -> pd.DataFrame:
        t = self.per_pair_class
        cols = ["category_id", *count_fields(t.columns)]
        return t.loc[(t["ref"] == ref) & (t["other"] == other), cols]

    def _pairs(self) -> Iterator[tuple[str, str]]:
        for a in self.annotators:
            for b in self.annotators:
                if a != b:
                    yield a, b

    def pq_matrix(self, *, metric: str = "pq", group: str = "All",
                  symmetric: bool = False) -> pd.DataFrame:
        """Annotator x annotator table of a summary metric (row = reference, column = other).

        Parameters
        ----------
        metric : str
            A column of :attr:`PQResult.groups`: ``pq``, ``sq``, ``rq``, ``boundary_pq``,
            ``mean_boundary_iou``, ...
        group : {"All", "Things", "Stuff"}
        symmetric : bool
            Use the symmetric form (the matrix is then symmetric).

        Returns
        -------
        DataFrame
            Index ``ref``, columns ``other``; the diagonal is NaN (not computed).
        """
        out = pd.DataFrame(np.nan, index=pd.Index(self.annotators, name="ref"),
                           columns=pd.Index(self.annotators, name="other"))
        for a, b in self._pairs():
            groups = self.pq(a, b, symmetric=symmetric).groups
            if metric not in groups.columns:
                raise StudyError(f"metric must be one of {list(groups.columns)}, got {metric!r}")
            out.loc[a, b] = groups.loc[group, metric]
        return out

    def annotator_agreement(self) -> pd.DataFrame:
        """Each annotator's mean agreement with the others.

        Returns
        -------
        DataFrame
            One row per annotator: ``annotator``, ``pq``, ``sq``, ``rq`` and (with boundary
            metrics) ``boundary_pq``, ``mean_boundary_iou``: means over the other annotators of
            the symmetric form; ``pq_as_ref`` / ``pq_as_other``: mean PQ with the annotator in
            the reference / other role; ``n_others``.
        """
        rows = []
        metrics = ["pq", "sq", "rq"] + (["boundary_pq", "mean_boundary_iou"] if self.boundary
                                        else [])
        for a in self.annotators:
            others = [b for b in self.annotators if b != a]
            sym = [self.pq(a, b, symmetric=True).groups.loc["All"] for b in others]
            row: dict[str, Any] = {"annotator": a}
            for m in metrics:
                row[m] = _nanmean([s[m] for s in sym])
            row["pq_as_ref"] = _nanmean([self.pq(a, b).pq for b in others])
            row["pq_as_other"] = _nanmean([self.pq(b, a).pq for b in others])
            row["n_others"] = len(others)
            rows.append(row)
        return pd.DataFrame(rows)

    def class_agreement(self) -> pd.DataFrame:
        """Per class across all ordered annotator pairs (counts summed, so symmetric).

        Returns
        -------
        DataFrame
            The per-class table of :class:`PQResult` (``tp`` ... ``pq``, ``sq``, ``rq``,
            boundary columns) over all pairs, plus ``n_pairs``: ordered pairs where the class
            occurs.
        """
        t = self.per_pair_class
        per = pq_result(pooled(t), self.categories).per_class
        occurs = t[(t["tp"] + t["fp"] + t["fn"]) > 0].groupby("category_id").size()
        per["n_pairs"] = per["category_id"].map(occurs).fillna(0).astype(int)
        return per

    def __repr__(self) -> str:
        return (f"StudyResult({len(self.annotators)} annotators, {len(self.images)} images, "
                f"{len(self.segments)} segment rows, boundary={self.boundary})")

    def summary(self) -> pd.DataFrame:
        """PQ / SQ / RQ (and boundary metrics) with the counts of all ordered pairs summed.

        Returns
        -------
        DataFrame
            Index All / Things / Stuff, the columns of :attr:`PQResult.groups`.
        """
        return pq_result(pooled(self.per_pair_class), self.categories).groups

    def _repr_html_(self) -> str:
        from .._html import block, figures, table

        head = self.summary()
        cols = [c for c in ("name", "isthing", "pq", "sq", "rq", "mean_boundary_iou", "n_pairs")
                if c in self.class_agreement().columns]
        per = self.class_agreement().sort_values("pq")[cols]
        return block(f"StudyResult: {len(self.annotators)} annotators, {len(self.images)} images",
                     [figures({k.upper(): head.loc["All", k] for k in ("pq", "sq", "rq")}),
                      table(head, index=True),
                      table(per[per["pq"].notna()], caption="Per class, least agreement first"),
                      table(self.pq_matrix(), index=True, caption="PQ, row = reference")])


def _nanmean(values: Sequence[float]) -> float:
    arr = np.asarray(values, dtype=np.float64)
    return float(np.nanmean(arr)) if np.isfinite(arr).any() else float("nan")
