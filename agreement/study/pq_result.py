"""The result of evaluating a study: PQ tables of every annotator pair (:class:`StudyResult`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import StudyError
from ..matching import STATUSES
from ..metrics.counts import INT_FIELDS, count_fields, mean_boundary_iou, pooled
from ..metrics.pq import PQResult, pq_from_counts, pq_result
from ..model import Categories
from ._rows import Rows, categorical

if TYPE_CHECKING:  # the tables are built with pandas when first read: `agreement pq` needs none
    import pandas as pd

    from ..stats import CountTable

__all__ = ["FLOAT_SUMS", "PQTotals", "StudyResult", "compact_row_dtypes"]

#: The float sums of the per (pair, class) table, in order.
FLOAT_SUMS = ("iou_sum", "boundary_iou_sum", "boundary_iou_sum_plain")

SEGMENT_DTYPES: dict[str, Any] = {
    "image": object, "annotator": object, "other": object, "segment_id": np.int64,
    "category_id": np.int64, "iscrowd": bool, "area": np.int64, "partner_segment_id": np.int64,
    "partner_category_id": np.int64, "iou": np.float64, "boundary_iou": np.float64,
    "boundary_score": np.float64, "boundary_matched": bool, "status": object,
    "diag_partner_segment_id": np.int64, "diag_partner_category_id": np.int64,
    "diag_iou": np.float64, "best_partner_any": np.int64, "best_iou_any": np.float64,
}
_ID_COLUMNS = ("partner_segment_id", "partner_category_id", "diag_partner_segment_id",
               "diag_partner_category_id", "best_partner_any")


def row_dtypes(boundary: bool) -> dict[str, Any]:
    """Columns and dtypes of the per (image, pair, class) rows."""
    fields = INT_FIELDS if boundary else INT_FIELDS[:3]
    floats = FLOAT_SUMS if boundary else FLOAT_SUMS[:1]
    return {"image": object, "ref": object, "other": object, "category_id": np.int64,
            **dict.fromkeys(fields, np.int64), **dict.fromkeys(floats, np.float64)}


def compact_row_dtypes(boundary: bool) -> dict[str, Any]:
    """Columns and dtypes of the per (image, pair, class) rows as the pass keeps them: the
    image as its position in :attr:`StudyResult.images`, the pair as reference x annotators +
    other over the study's annotators, the class as its position in the study's categories,
    the counts as int32 (segments of one image: far below 2**31); the float sums as they are.
    About 60 bytes a row, against 110 with object and int64 columns (540,000 rows at 10,000
    images of three annotators)."""
    fields = INT_FIELDS if boundary else INT_FIELDS[:3]
    floats = FLOAT_SUMS if boundary else FLOAT_SUMS[:1]
    return {"image": np.int32, "pair": np.int32, "category": np.int32,
            **dict.fromkeys(fields, np.int32), **dict.fromkeys(floats, np.float64)}


@dataclass(frozen=True, eq=False)
class PQTotals:
    """What the pass of :func:`agreement.study.pq.evaluate` added up, as arrays.

    The dense arrays are indexed (reference, other, class) over the study's annotators and
    categories (in their order).

    Attributes
    ----------
    counts : ndarray of int64, shape (A, A, C, F)
        The integer count fields (:data:`INT_FIELDS`, the first three without boundary).
    sums : ndarray of float64, shape (A, A, C, 3)
        :data:`FLOAT_SUMS`, added match by match in image order.
    n_images : ndarray of int64, shape (A, A, C)
        Images with a count of the pair and class.
    status : ndarray of int64, shape (A, A, C, len(STATUSES), 2)
        Reference segments per status and ``small``.
    rows, segments, presence : Rows
        The per (image, pair, class) counts (coded: :func:`compact_row_dtypes`), the
        per-segment rows (when kept) and the categories used per image.
    image_counts : (fields, values, seen) or None
        With ``PQPart(image_counts=fields)``: ``values[i, c, f]``, the rows' field ``f`` of
        class ``c`` summed over the pairs of the ``i``-th image evaluated (float64, in row
        order), and ``seen[i]``, whether that image has a row.
    """

    counts: np.ndarray
    sums: np.ndarray
    n_images: np.ndarray
    status: np.ndarray
    rows: Rows
    segments: Rows
    presence: Rows
    study_annotators: tuple[str, ...]
    image_counts: tuple[tuple[str, ...], np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True, eq=False)
class StudyResult:
    """Agreement of every annotator pair of a study (the output of :func:`evaluate`).

    The pass's totals are arrays (:attr:`totals`); the tables below are built from them when
    first read, and :meth:`pq` reads the arrays (no table needed).

    Attributes
    ----------
    totals : PQTotals
        What the pass added up.
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

    totals: PQTotals
    annotators: tuple[str, ...]
    images: tuple[str, ...]
    categories: Categories
    boundary: bool
    small_area: int = 32 * 32
    _cache: dict = field(default_factory=dict, repr=False)

    @cached_property
    def segments(self) -> pd.DataFrame:
        """See the class notes."""
        import pandas as pd

        who = {"image": self.images, "annotator": self.annotators, "other": self.annotators,
               "status": STATUSES}
        seg = self.totals.segments.frame(SEGMENT_DTYPES, who)
        for col in _ID_COLUMNS:
            seg[col] = pd.array(seg[col].where(seg[col] >= 0), dtype="Int64")
        cats = self.categories
        seg.insert(5, "category", seg["category_id"].map(cats.name).astype(object))
        seg.insert(6, "isthing", seg["category_id"].map(
            lambda c: cats[c].isthing if c in cats else False).astype(bool))
        return seg

    @cached_property
    def per_image(self) -> pd.DataFrame:
        """See the class notes."""
        import pandas as pd

        cols = self._row_columns()
        images = np.asarray(self.images, dtype=object)
        who = np.asarray(self.totals.study_annotators, dtype=object)
        ids = np.fromiter(self.categories, dtype=np.int64, count=len(self.categories))
        a = len(who)
        out = {"image": categorical(images[cols["image"]], self.images),
               "ref": categorical(who[cols["pair"] // a], self.annotators),
               "other": categorical(who[cols["pair"] % a], self.annotators),
               "category_id": ids[cols["category"]]}
        for name, dtype in row_dtypes(self.boundary).items():
            if name not in out:
                out[name] = cols[name].astype(dtype)
        return pd.DataFrame(out)

    def _row_columns(self) -> dict[str, np.ndarray]:
        """The per (image, pair, class) rows' coded columns (:func:`compact_row_dtypes`)."""
        dtypes = compact_row_dtypes(self.boundary)
        return {c: self.totals.rows._column(c, d) for c, d in dtypes.items()}

    def count_table(self, fields: Sequence[str]) -> CountTable:
        """The per-image counts summed over pairs, per class: a bootstrap's input.

        The same table as ``CountTable.from_frame(self.per_image, fields=fields,
        group="category_id", groups=list(self.categories))`` (the images with a row, sorted;
        every category; the rows added in the same order, so the same float sums), built from
        the coded rows without the table (540,000 rows at 10,000 images).
        """
        from ..stats import CountTable

        dtypes = compact_row_dtypes(self.boundary)
        missing = [f for f in fields if f not in dtypes or f in ("image", "pair", "category")]
        if missing:
            raise StudyError(f"fields must be among {list(row_dtypes(self.boundary))[4:]}, "
                             f"got {missing}")
        if self.totals.image_counts is not None and not self.totals.rows.blocks:
            return self._kept_count_table(tuple(fields))
        blocks = self.totals.rows.blocks  # a block at a time: no copy of every row at once
        seen = np.zeros(len(self.images), bool)
        for _, cols in blocks:
            seen[cols["image"]] = True
        present = np.flatnonzero(seen)
        order = sorted(range(present.size), key=lambda k: self.images[present[k]])
        images = tuple(self.images[present[k]] for k in order)
        position = np.zeros(len(self.images), np.int64)
        position[present[order]] = np.arange(present.size)
        groups = tuple(self.categories)
        values = np.zeros((len(images), len(groups), len(fields)), np.float64)
        for n, cols in blocks:  # in row order: the float sums of from_frame, bit for bit
            where = (position[np.broadcast_to(cols["image"], n)],
                     np.broadcast_to(cols["category"], n).astype(np.int64))
            np.add.at(values, where, np.stack(
                [np.broadcast_to(np.asarray(cols[f], dtype=np.float64), n) for f in fields],
                axis=-1))
        return CountTable._owning(images, groups, tuple(fields), values)

    def _kept_count_table(self, fields: tuple[str, ...]) -> CountTable:
        """:meth:`count_table` from the pass's dense per-image table (``PQPart(image_counts=
        ...)``): its images with a row, sorted by name, the same sums."""
        from ..stats import CountTable

        kept, values, seen = self.totals.image_counts
        missing = [f for f in fields if f not in kept]
        if missing:
            raise StudyError(f"fields must be among the kept image counts {list(kept)}, got "
                             f"{missing}")
        present = np.flatnonzero(seen)
        order = sorted(range(present.size), key=lambda k: self.images[present[k]])
        take = present[order]
        chosen = values[np.ix_(take, np.arange(values.shape[1]), [kept.index(f) for f in fields])]
        return CountTable._owning(tuple(self.images[i] for i in take), tuple(self.categories),
                                  tuple(fields), chosen)

    @cached_property
    def image_categories(self) -> pd.DataFrame:
        """See the class notes."""
        return self.totals.presence.frame({"image": object, "category_id": np.int64},
                                          {"image": self.images})

    @cached_property
    def per_pair_class(self) -> pd.DataFrame:
        """See the class notes."""
        import pandas as pd

        names = self.annotators
        ids = np.fromiter(self.categories, dtype=np.int64, count=len(self.categories))
        pairs = [(a, b) for a, b in self._pairs()]
        out = pd.DataFrame({
            "ref": categorical(np.repeat([a for a, _ in pairs], ids.size), names),
            "other": categorical(np.repeat([b for _, b in pairs], ids.size), names),
            "category_id": np.tile(ids, len(pairs))})
        dense = [self._dense(a, b) for a, b in pairs]
        for name in (INT_FIELDS if self.boundary else INT_FIELDS[:3]):
            out[name] = np.concatenate([d[name] for d in dense]) if dense else np.zeros(0, int)
        out["n_images"] = np.concatenate([d["n_images"] for d in dense]) if dense else 0
        for name in FLOAT_SUMS if self.boundary else FLOAT_SUMS[:1]:
            out[name] = np.concatenate([d[name] for d in dense]) if dense else 0.0
        info = self.categories.to_frame()[["category_id", "name", "isthing"]]
        out = out.merge(info, on="category_id", how="left")
        out = pd.concat([out, pq_from_counts(out).drop(columns="counted")], axis=1)
        if self.boundary:
            out = pd.concat([out, pq_from_counts(out, prefix="boundary_").drop(
                columns="counted")], axis=1)
            out["mean_boundary_iou"] = mean_boundary_iou(out["boundary_iou_sum_plain"],
                                                         out["tp"])
        return out

    @cached_property
    def status_counts(self) -> pd.DataFrame:
        """See the class notes."""
        import pandas as pd

        status = self.totals.status
        everyone = self.totals.study_annotators
        keep = np.isin(np.asarray(everyone, dtype=object), np.asarray(self.annotators,
                                                                       dtype=object))
        ri, oi, ci, si, small = np.nonzero(status * keep[:, None, None, None, None])
        ids = np.fromiter(self.categories, dtype=np.int64, count=len(self.categories))
        who = np.asarray(everyone)
        return pd.DataFrame({
            "annotator": categorical(who[ri], self.annotators),
            "other": categorical(who[oi], self.annotators),
            "category_id": ids[ci], "status": pd.Categorical(np.asarray(STATUSES)[si],
                                                             categories=list(STATUSES)),
            "small": small.astype(bool), "segments": status[ri, oi, ci, si, small]})

    def _dense(self, ref: str, other: str) -> dict[str, np.ndarray]:
        """The pair's per-class counts over every category of the study, as arrays."""
        index = {a: i for i, a in enumerate(self.totals.study_annotators)}
        r, o = index[ref], index[other]
        t = self.totals
        ids = np.fromiter(self.categories, dtype=np.int64, count=len(self.categories))
        out: dict[str, np.ndarray] = {"category_id": ids}
        for k, name in enumerate(INT_FIELDS[:t.counts.shape[-1]]):
            out[name] = t.counts[r, o, :, k]
        out["n_images"] = t.n_images[r, o]
        for k, name in enumerate(FLOAT_SUMS if self.boundary else FLOAT_SUMS[:1]):
            out[name] = t.sums[r, o, :, k]
        return out

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
            if symmetric:  # as metrics.pq.symmetric_counts, on arrays
                back = self._pair_counts(other, ref)
                counts = {k: v if k == "category_id" else v + back[k]
                          for k, v in counts.items()}
            self._cache[key] = pq_result(counts, self.categories, ref=ref, other=other,
                                         symmetric=symmetric)
        return self._cache[key]

    def _pair_counts(self, ref: str, other: str) -> dict[str, np.ndarray]:
        dense = self._dense(ref, other)
        return {k: dense[k] for k in ("category_id", *count_fields(dense))}

    def used_category_ids(self) -> set[int]:
        """The category ids some evaluated annotator used in some image (no table built)."""
        blocks = [np.atleast_1d(cols["category_id"]) for _, cols in self.totals.presence.blocks]
        return set(np.unique(np.concatenate(blocks)).tolist()) if blocks else set()

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
        import pandas as pd

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
        import pandas as pd

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
                f"{len(self.totals.segments)} segment rows, boundary={self.boundary})")

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
