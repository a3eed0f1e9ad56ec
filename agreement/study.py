"""Evaluate a whole study: every annotator pair on every shared image, in one pass per image.

:func:`evaluate` decodes each image's N maps once, computes each map's boundary band once, builds
one overlap table per annotator pair, and sums additive per-class counts over images (never a
mean of per-image PQs). Images run in a process pool with ``n_jobs > 1``; the result is identical
to the serial run. The tables of :class:`StudyResult` are what reports, notebooks, batch
comparison and the CLI read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._image_pairs import Columns, Options, evaluate_image
from .errors import StudyError
from .metrics.counts import INT_FIELDS, count_fields, mean_boundary_iou, pooled
from .metrics.pq import PQResult, pq_from_counts, pq_result, symmetric_counts
from .model import Categories, PanopticAnnotation, Study

__all__ = ["StudyResult", "evaluate"]

#: float sums and the (score column, row filter column) of the segments table they add up
_FLOAT_SUMS = {"iou_sum": ("iou", "matched"),
               "boundary_iou_sum": ("boundary_score", "boundary_matched"),
               "boundary_iou_sum_plain": ("boundary_iou", "matched")}


@dataclass(frozen=True, eq=False)
class StudyResult:
    """Agreement of every annotator pair of a study (the output of :func:`evaluate`).

    Attributes
    ----------
    segments : DataFrame
        One row per (image, annotator, segment, other annotator), the annotator in the reference
        role: ``image``, ``annotator``, ``other``, ``segment_id``, ``category_id``,
        ``category``, ``isthing``, ``iscrowd``, ``area``, ``partner_segment_id`` and
        ``partner_category_id`` (the PQ match in ``other``, <NA> if none), ``iou`` (its
        void-adjusted IoU), ``boundary_iou`` (the paper's boundary IoU with the PQ match),
        ``boundary_score`` (min(IoU, void-adjusted boundary IoU), the Boundary PQ score),
        ``boundary_matched``, ``status`` (see :func:`agreement.matching.diagnose`), and the
        diagnostic matching: ``diag_partner_segment_id``, ``diag_partner_category_id``,
        ``diag_iou``, ``best_partner_any``, ``best_iou_any``.
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
    annotators, images : tuple of str
        The annotators and images evaluated.
    categories : Categories
    boundary : bool
        Whether boundary metrics were computed.
    """

    segments: pd.DataFrame
    per_image: pd.DataFrame
    per_pair_class: pd.DataFrame
    annotators: tuple[str, ...]
    images: tuple[str, ...]
    categories: Categories
    boundary: bool
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
        from ._html import block, figures, table

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


def evaluate(study: Study, *, n_jobs: int = 1, progress: bool = False, boundary: bool = True,
             annotators: Sequence[str] | None = None, images: Sequence[str] | None = None,
             dilation_ratio: float = 0.02, diagnostic_threshold: float = 0.2) -> StudyResult:
    """PQ, Boundary PQ, boundary IoU and segment diagnostics for every annotator pair.

    Parameters
    ----------
    study : Study
    n_jobs : int
        Worker processes (1: run in this process; -1: one per CPU). Results are identical.
    progress : bool
        Show a tqdm progress bar over images.
    boundary : bool
        Also compute boundary IoU and Boundary PQ (d = max(1, round(dilation_ratio x diagonal))).
    annotators : sequence of str, optional
        Restrict to these annotators (default: all).
    images : sequence of str, optional
        Restrict to these images (default: every image at least two of them annotated).
    dilation_ratio : float
        Boundary band width as a fraction of the image diagonal.
    diagnostic_threshold : float
        Lowest IoU of the diagnostic (Hungarian) matching behind ``status``.

    Returns
    -------
    StudyResult

    Raises
    ------
    StudyError
        Unknown annotators or images, fewer than two annotators.
    AnnotationError
        An annotation cannot be read or maps of one image differ in size.

    Examples
    --------
    >>> from agreement.model import Categories, Category, PanopticAnnotation
    >>> cats = Categories([Category(1, "car", True)])
    >>> ann = PanopticAnnotation.from_map(np.ones((4, 4), int), {1: 1}, file_name="x.png")
    >>> study = Study.from_annotations({"a": [ann], "b": [ann]}, cats)
    >>> res = evaluate(study)
    >>> res.pq("a", "b").pq, float(res.pq_matrix().loc["a", "b"])
    (1.0, 1.0)
    """
    from .analysis import analyse

    opts = {"annotators": annotators, "boundary": boundary, "dilation_ratio": dilation_ratio,
            "diagnostic_threshold": diagnostic_threshold}
    return analyse(study, parts=("pq",), options={"pq": opts}, images=images, n_jobs=n_jobs,
                   progress=progress).pq


def _plan(study: Study, *, annotators: Sequence[str] | None = None,
          images: Sequence[str] | None = None, boundary: bool = True,
          dilation_ratio: float = 0.02, diagnostic_threshold: float = 0.2
          ) -> tuple[tuple[str, ...], list[str], Options]:
    """Check :func:`evaluate`'s arguments: (annotators, images to evaluate, options)."""
    names = tuple(study.annotators if annotators is None else annotators)
    unknown = [a for a in names if a not in study.annotators]
    if unknown or len(names) < 2:
        raise StudyError(f"annotators must be at least two of {list(study.annotators)}, "
                         f"got {list(names)}")
    todo = _images(study, names, images)
    options = Options(boundary, dilation_ratio, diagnostic_threshold,
                      things=study.categories.thing_ids)
    return names, todo, options


def _kernel(image: str, anns: dict[str, PanopticAnnotation], *, names: tuple[str, ...],
            options: Options) -> Columns:
    """:func:`evaluate_image` on the annotators asked for (pair order follows the study)."""
    return evaluate_image(image, {a: ann for a, ann in anns.items() if a in names}, options)


def _images(study: Study, names: tuple[str, ...], images: Sequence[str] | None) -> list[str]:
    if images is None:
        return [i for i in study.images
                if sum(a in names for a in study.annotators_of(i)) >= 2]
    missing = [i for i in images if i not in study.images]
    if missing:
        raise StudyError(f"images must be in the study, got {len(missing)} unknown: "
                         f"{missing[:5]}")
    return list(images)


_SEGMENT_DTYPES = {
    "image": object, "annotator": object, "other": object, "segment_id": np.int64,
    "category_id": np.int64, "iscrowd": bool, "area": np.int64, "partner_segment_id": np.int64,
    "partner_category_id": np.int64, "iou": np.float64, "boundary_iou": np.float64,
    "boundary_score": np.float64, "boundary_matched": bool, "status": object,
    "diag_partner_segment_id": np.int64, "diag_partner_category_id": np.int64,
    "diag_iou": np.float64, "best_partner_any": np.int64, "best_iou_any": np.float64,
}
_ID_COLUMNS = ("partner_segment_id", "partner_category_id", "diag_partner_segment_id",
               "diag_partner_category_id", "best_partner_any")


def _frame(parts: list[dict[str, list[np.ndarray]]], dtypes: dict[str, Any]) -> pd.DataFrame:
    cols = {}
    for name, dtype in dtypes.items():
        arrays = [a for p in parts for a in p.get(name, [])]
        cols[name] = np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)
    return pd.DataFrame(cols)


def _assemble(parts: list[Columns], study: Study, names: tuple[str, ...], images: tuple[str, ...],
              options: Options) -> StudyResult:
    cats = study.categories
    seg = _frame([p.segments for p in parts], _SEGMENT_DTYPES)
    for col in _ID_COLUMNS:
        seg[col] = pd.array(seg[col].where(seg[col] >= 0), dtype="Int64")
    seg.insert(5, "category", seg["category_id"].map(cats.name).astype(object))
    seg.insert(6, "isthing", seg["category_id"].map(
        lambda c: cats[c].isthing if c in cats else False).astype(bool))
    count_dtypes: dict[str, Any] = {"image": object, "ref": object, "other": object,
                                    "category_id": np.int64}
    for c in INT_FIELDS[:3] + (INT_FIELDS[3:] if options.boundary else ()):
        count_dtypes[c] = np.int64
    for c in _FLOAT_SUMS if options.boundary else ("iou_sum",):
        count_dtypes[c] = np.float64
    per_image = _frame([p.counts for p in parts], count_dtypes)
    ppc = _per_pair_class(seg, per_image, names, images, cats, options.boundary)
    return StudyResult(seg, per_image, ppc, names, images, cats, options.boundary)


def _per_pair_class(seg: pd.DataFrame, per_image: pd.DataFrame, names: tuple[str, ...],
                    images: tuple[str, ...], cats: Categories, boundary: bool) -> pd.DataFrame:
    """Sum per_image over images; float sums are re-added match by match in reference order."""
    keys = ["ref", "other", "category_id"]
    grid = pd.DataFrame([(a, b, c) for a in names for b in names if a != b for c in cats],
                        columns=keys)
    ints = [c for c in INT_FIELDS if c in per_image.columns]
    summed = per_image.groupby(keys, as_index=False)[ints].sum()
    summed["n_images"] = per_image.groupby(keys).size().to_numpy()
    out = grid.merge(summed, on=keys, how="left")
    for c in (*ints, "n_images"):
        out[c] = out[c].fillna(0).astype(np.int64)
    position = {k: i for i, k in enumerate(images)}
    order = np.lexsort((seg["segment_id"].to_numpy(), seg["image"].map(position).to_numpy()))
    ordered = seg.iloc[order]
    code = pd.MultiIndex.from_frame(out[keys])
    for total, (score, flag) in _FLOAT_SUMS.items():
        if total not in per_image.columns:
            continue
        rows = ordered[ordered["status"] == "matched"] if flag == "matched" else \
            ordered[ordered[flag]]
        where = code.get_indexer(pd.MultiIndex.from_arrays(
            [rows["annotator"], rows["other"], rows["category_id"]]))
        sums = np.zeros(len(out))
        np.add.at(sums, where, rows[score].to_numpy(np.float64))  # sequential, in order
        out[total] = sums
    info = cats.to_frame()[["category_id", "name", "isthing"]]
    out = out.merge(info, on="category_id", how="left")
    out = pd.concat([out, pq_from_counts(out).drop(columns="counted")], axis=1)
    if boundary:
        out = pd.concat([out, pq_from_counts(out, prefix="boundary_").drop(columns="counted")],
                        axis=1)
        out["mean_boundary_iou"] = mean_boundary_iou(out["boundary_iou_sum_plain"], out["tp"])
    return out
