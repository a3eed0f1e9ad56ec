"""Evaluate a whole study: every annotator pair on every shared image (:func:`evaluate`).

The part (:class:`PQPart`) reads, per image, both directions of every annotator pair from the
pair's joint table (:func:`agreement.image.pairs.evaluate_pairs`) and keeps small additive
partials: per (image, pair, class) counts (the ``per_image`` table, for bootstrap intervals),
per (pair, class) sums, status counts of the segment diagnoses and, on request, the per-segment
rows. The float sums of a pair and class are added match by match in image order, then
reference segment order, in the process that runs the pass: the COCO panoptic reference sums
its IoUs that way, and so the sums agree with it to the last bit, whatever executor ran the
images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StudyError
from ..image.maps import ImageMaps
from ..image.pairs import Direction, evaluate_pairs
from ..matching import STATUSES
from ..metrics.counts import INT_FIELDS, mean_boundary_iou
from ..metrics.pq import pq_from_counts
from ..model import Study
from ._rows import Rows, categorical
from .pq_result import StudyResult
from .runner import Part, run

__all__ = ["PQPart", "StudyResult", "evaluate"]

#: The float sums of the per (pair, class) table, in order.
FLOAT_SUMS = ("iou_sum", "boundary_iou_sum", "boundary_iou_sum_plain")

_SEGMENT_DTYPES: dict[str, Any] = {
    "image": object, "annotator": object, "other": object, "segment_id": np.int64,
    "category_id": np.int64, "iscrowd": bool, "area": np.int64, "partner_segment_id": np.int64,
    "partner_category_id": np.int64, "iou": np.float64, "boundary_iou": np.float64,
    "boundary_score": np.float64, "boundary_matched": bool, "status": object,
    "diag_partner_segment_id": np.int64, "diag_partner_category_id": np.int64,
    "diag_iou": np.float64, "best_partner_any": np.int64, "best_iou_any": np.float64,
}
_ID_COLUMNS = ("partner_segment_id", "partner_category_id", "diag_partner_segment_id",
               "diag_partner_category_id", "best_partner_any")


@dataclass
class PQPartial:
    """What images add to :func:`evaluate`: see the module notes.

    ``rows``: the per (image, pair, class) counts; ``pending``: match scores in order,
    ``(field, key, values)``, and ``status_keys``: one key per reference segment of
    (reference r, other o, class c, status s, small), not yet added to the study's totals
    ``sums[r, o, c, field]`` and ``status[r, o, c, s, small]`` (kept by the total only).
    """

    rows: Rows = field(default_factory=Rows)
    segments: Rows = field(default_factory=Rows)
    presence: Rows = field(default_factory=Rows)
    pending: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)
    status_keys: list[np.ndarray] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    size: tuple[int, int] = (0, 0)  # (annotators of the study, categories)
    sums: np.ndarray | None = None
    status: np.ndarray | None = None


@dataclass(frozen=True)
class PQPart(Part[PQPartial, StudyResult]):
    """PQ, Boundary PQ and segment diagnoses of every annotator pair (:func:`evaluate`).

    Attributes
    ----------
    annotators : tuple of str or None
        The annotators to pair (None: all).
    boundary : bool
    dilation_ratio : float
        Boundary band width as a fraction of the image diagonal.
    diagnostic_threshold : float
    small_area : int
        Segments below this many pixels are ``small`` in the status counts.
    segments : bool
        Keep one row per segment and pair (:attr:`StudyResult.segments`).
    """

    annotators: tuple[str, ...] | None = None
    boundary: bool = True
    dilation_ratio: float = 0.02
    diagnostic_threshold: float = 0.2
    small_area: int = 32 * 32
    segments: bool = True

    name = "pq"
    label = "agreement"

    def __post_init__(self) -> None:
        if self.annotators is not None:
            object.__setattr__(self, "annotators", tuple(self.annotators))
        if not self.dilation_ratio > 0:
            raise StudyError(f"dilation_ratio must be > 0, got {self.dilation_ratio}")
        if not 0 <= self.diagnostic_threshold <= 1:
            raise StudyError(f"diagnostic_threshold must be in [0, 1], got "
                             f"{self.diagnostic_threshold}")

    @property
    def bands(self) -> float | None:
        return self.dilation_ratio if self.boundary else None

    def names(self, study: Study) -> tuple[str, ...]:
        """The annotators evaluated (checked)."""
        names = tuple(study.annotators if self.annotators is None else self.annotators)
        unknown = [a for a in names if a not in study.annotators]
        if unknown or len(names) < 2:
            raise StudyError(f"annotators must be at least two of {list(study.annotators)}, "
                             f"got {list(names)}")
        return names

    def images(self, study: Study, images: Sequence[str] | None) -> Sequence[str]:
        names = self.names(study)
        if images is not None:
            return list(images)
        return [i for i in study.images if sum(a in names for a in study.annotators_of(i)) >= 2]

    def kernel(self, maps: ImageMaps) -> PQPartial:
        names = self.annotators or maps.annotators
        index = {a: i for i, a in enumerate(maps.annotators)}
        ids = np.asarray(maps.category_ids, dtype=np.int64)
        out = PQPartial(size=(len(maps.annotators), ids.size))
        rows, segs = [], []
        for d in evaluate_pairs(maps, names, boundary=self.boundary,
                                diagnostic_threshold=self.diagnostic_threshold):
            key = (index[d.ref] * len(maps.annotators) + index[d.other]) * ids.size
            rows.append(self._counts(out, d, key, ids, maps.image))
            self._status(out, d, key, ids)
            if self.segments:
                segs.append(_segment_rows(maps.image, d))
        out.rows = Rows.concat(rows)
        out.segments = Rows.concat(segs)
        present = np.unique(np.concatenate(
            [maps.annotations[a].category_ids for a in maps.names if a in names] or [[]]))
        out.presence = Rows.of(present.size, image=maps.image, category_id=present)
        out.images = [maps.image]
        return out

    def _counts(self, out: PQPartial, d: Direction, key: int, ids: np.ndarray,
                image: str) -> Rows:
        """The direction's count rows, and its match scores (``key``: its pair's first class
        in the flat (reference, other, class) index) pending in order."""
        ev, ov = d.evaluation, d.overlap
        counts = ev.counts
        k = counts["category_id"].size
        fields = INT_FIELDS if self.boundary else INT_FIELDS[:3]
        m = ev.matches
        matched = key + np.searchsorted(ids, ov.ref_categories[m.ref_index])
        out.pending.append((0, matched, m.score))
        if self.boundary and ev.boundary_matches is not None:
            bm = ev.boundary_matches
            out.pending.append((1, key + np.searchsorted(ids, ov.ref_categories[bm.ref_index]),
                                bm.score))
            out.pending.append((2, matched, ev.boundary_iou))
        cols = {name: counts[name] for name in (*fields, *(FLOAT_SUMS if self.boundary
                                                           else FLOAT_SUMS[:1]))}
        return Rows.of(k, image=image, ref=d.ref, other=d.other,
                       category_id=counts["category_id"], **cols)

    def _status(self, out: PQPartial, d: Direction, key: int, ids: np.ndarray) -> None:
        """One status key per reference segment: (pair and class, status, small)."""
        ov = d.overlap
        code = {s: i for i, s in enumerate(STATUSES)}
        status = np.array([code[s] for s in d.diagnosis.status.tolist()], dtype=np.int64)
        cell = key + np.searchsorted(ids, ov.ref_categories)
        small = (ov.ref_area < self.small_area).astype(np.int64)
        out.status_keys.append((cell * len(STATUSES) + status) * 2 + small)

    def merge(self, a: PQPartial, b: PQPartial) -> PQPartial:
        return PQPartial(a.rows + b.rows, a.segments + b.segments, a.presence + b.presence,
                         a.pending + b.pending, a.status_keys + b.status_keys,
                         a.images + b.images, max(a.size, b.size), a.sums, a.status)

    def fold(self, total: PQPartial | None, chunk: PQPartial) -> PQPartial:
        """Add the chunk's scores to the float sums, match after match in order, and its status
        keys to the status counts; keep its rows (packed)."""
        total = total or _zeros(*chunk.size)
        flat = total.sums.reshape(-1, len(FLOAT_SUMS))
        for f, key, values in chunk.pending:
            np.add.at(flat[:, f], key, values)  # sequential: match after match, in order
        if chunk.status_keys:
            total.status += np.bincount(np.concatenate(chunk.status_keys),
                                        minlength=total.status.size).reshape(total.status.shape)
        total.rows = total.rows + chunk.rows.packed(self._row_dtypes())
        total.segments = total.segments + chunk.segments.packed(_SEGMENT_DTYPES)
        total.presence = total.presence + chunk.presence
        total.images = total.images + chunk.images
        return total

    def _row_dtypes(self) -> dict[str, Any]:
        fields = INT_FIELDS if self.boundary else INT_FIELDS[:3]
        floats = FLOAT_SUMS if self.boundary else FLOAT_SUMS[:1]
        return {"image": object, "ref": object, "other": object, "category_id": np.int64,
                **dict.fromkeys(fields, np.int64), **dict.fromkeys(floats, np.float64)}

    def finish(self, total: PQPartial | None, study: Study) -> StudyResult:
        return _result(self, total or _zeros(len(study.annotators), len(study.categories)),
                       study)


def _zeros(annotators: int, categories: int) -> PQPartial:
    """The study's totals before any image: float sums and status counts at zero."""
    shape = (annotators, annotators, categories)
    return PQPartial(size=(annotators, categories),
                     sums=np.zeros((*shape, len(FLOAT_SUMS))),
                     status=np.zeros((*shape, len(STATUSES), 2), np.int64))


def evaluate(study: Study, *, n_jobs: int = 1, progress: bool = False, boundary: bool = True,
             annotators: Sequence[str] | None = None, images: Sequence[str] | None = None,
             dilation_ratio: float = 0.02, diagnostic_threshold: float = 0.2,
             segments: bool = True, small_area: int = 32 * 32,
             executor: Any = None) -> StudyResult:
    """PQ, Boundary PQ, boundary IoU and segment diagnostics for every annotator pair.

    One pass over the images: each image's N maps are decoded once, each map's boundary band
    computed once, one joint table built per annotator pair; additive per-class counts are
    summed over images (never a mean of per-image PQs).

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
    segments : bool
        Keep the per-segment table (:attr:`StudyResult.segments`, about ten rows per segment):
        handy on small studies, not needed by any summary (``False`` keeps memory flat).
    small_area : int
        Segments smaller than this (pixels) are ``small`` in :attr:`StudyResult.status_counts`.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Run the images there instead (see :mod:`agreement.study.runner`); results are identical.

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
    # fail fast, before any map is decoded (all-void maps are a valid, empty evaluation)
    study.check_comparable(annotators, require_segments=False)
    part = PQPart(annotators=annotators, boundary=boundary, dilation_ratio=dilation_ratio,
                  diagnostic_threshold=diagnostic_threshold, small_area=small_area,
                  segments=segments)
    return run(study, [part], images=images, n_jobs=n_jobs, progress=progress,
               executor=executor)[0]


def _segment_rows(image: str, d: Direction) -> Rows:
    ov, ev, diag = d.overlap, d.evaluation, d.diagnosis
    nr = ov.ref_ids.size
    m = ev.matches
    boundary_iou = np.full(nr, np.nan)
    boundary_score = np.full(nr, np.nan)
    boundary_matched = np.zeros(nr, bool)
    if ev.boundary_iou is not None and ev.boundary_score is not None:
        boundary_iou[m.ref_index] = ev.boundary_iou
        boundary_score[m.ref_index] = ev.boundary_score
    if ev.boundary_matches is not None:
        boundary_matched[ev.boundary_matches.ref_index] = True
    return Rows.of(
        nr, image=image, annotator=d.ref, other=d.other, segment_id=ov.ref_ids,
        category_id=ov.ref_categories, iscrowd=ov.ref_crowd, area=ov.ref_area,
        partner_segment_id=_ids(ov.other_ids, diag.partner),
        partner_category_id=_ids(ov.other_categories, diag.partner),
        iou=diag.iou, boundary_iou=boundary_iou, boundary_score=boundary_score,
        boundary_matched=boundary_matched, status=diag.status,
        diag_partner_segment_id=_ids(ov.other_ids, diag.diag_partner),
        diag_partner_category_id=_ids(ov.other_categories, diag.diag_partner),
        diag_iou=diag.diag_iou, best_partner_any=_ids(ov.other_ids, diag.best_partner_any),
        best_iou_any=diag.best_iou_any)


def _ids(ids: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``ids[index]`` with -1 (no partner) kept as -1 (turned into <NA> later)."""
    return np.where(index >= 0, ids[np.maximum(index, 0)] if ids.size else -1, -1)



def _result(part: PQPart, total: PQPartial, study: Study) -> StudyResult:
    """The tables of :class:`StudyResult` from the total over every image."""
    cats = study.categories
    names = part.names(study)
    images = tuple(total.images)
    per_image = total.rows.frame(part._row_dtypes(),
                                 {"image": images, "ref": names, "other": names})
    who = {"image": images, "annotator": names, "other": names, "status": STATUSES}
    seg = total.segments.frame(_SEGMENT_DTYPES, who)
    for col in _ID_COLUMNS:
        seg[col] = pd.array(seg[col].where(seg[col] >= 0), dtype="Int64")
    seg.insert(5, "category", seg["category_id"].map(cats.name).astype(object))
    seg.insert(6, "isthing", seg["category_id"].map(
        lambda c: cats[c].isthing if c in cats else False).astype(bool))
    ppc, status = _pair_tables(part, total, study, names, per_image)
    presence = total.presence.frame({"image": object, "category_id": np.int64},
                                    {"image": images})
    return StudyResult(seg, per_image, ppc, status, presence, names, images, cats, part.boundary,
                       part.small_area)


def _pair_tables(part: PQPart, total: PQPartial, study: Study, names: tuple[str, ...],
                 per_image: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per (pair, class) table (every class, zeros included) and the status counts.

    Integer counts and images are summed from the per-image rows; the float sums are the
    pass's (added match by match).
    """
    cats = study.categories
    ids = np.asarray(list(cats), dtype=np.int64)
    n_ann = len(study.annotators)
    index = {a: i for i, a in enumerate(study.annotators)}
    a_idx = np.array([index[a] for a in names])
    pairs = [(i, j) for i in range(len(names)) for j in range(len(names)) if i != j]
    r = np.repeat([a_idx[i] for i, _ in pairs], ids.size)
    o = np.repeat([a_idx[j] for _, j in pairs], ids.size)
    c = np.tile(np.arange(ids.size), len(pairs))
    cell = (r * n_ann + o) * ids.size + c
    row_cell = ((per_image["ref"].map(index).to_numpy(np.int64) * n_ann
                 + per_image["other"].map(index).to_numpy(np.int64)) * ids.size
                + np.searchsorted(ids, per_image["category_id"].to_numpy()))
    size = n_ann * n_ann * ids.size
    out = pd.DataFrame({
        "ref": categorical(np.asarray(names)[[i for i, _ in pairs]].repeat(ids.size), names),
        "other": categorical(np.asarray(names)[[j for _, j in pairs]].repeat(ids.size), names),
        "category_id": ids[c]})
    for name in INT_FIELDS if part.boundary else INT_FIELDS[:3]:
        summed = np.bincount(row_cell, weights=per_image[name].to_numpy(np.float64),
                             minlength=size)
        out[name] = np.rint(summed[cell]).astype(np.int64)  # exact: integers below 2**53
    out["n_images"] = np.bincount(row_cell, minlength=size)[cell].astype(np.int64)
    sums = total.sums.reshape(-1, len(FLOAT_SUMS))
    for f, name in enumerate(FLOAT_SUMS if part.boundary else FLOAT_SUMS[:1]):
        out[name] = sums[cell, f]
    info = cats.to_frame()[["category_id", "name", "isthing"]]
    out = out.merge(info, on="category_id", how="left")
    out = pd.concat([out, pq_from_counts(out).drop(columns="counted")], axis=1)
    if part.boundary:
        out = pd.concat([out, pq_from_counts(out, prefix="boundary_").drop(columns="counted")],
                        axis=1)
        out["mean_boundary_iou"] = mean_boundary_iou(out["boundary_iou_sum_plain"], out["tp"])
    status = total.status
    keep = np.zeros(n_ann, bool)
    keep[a_idx] = True
    ri, oi, ci, si, small = np.nonzero(status * keep[:, None, None, None, None])
    annotators = np.asarray(study.annotators)
    counts = pd.DataFrame({
        "annotator": categorical(annotators[ri], names),
        "other": categorical(annotators[oi], names),
        "category_id": ids[ci], "status": pd.Categorical(np.asarray(STATUSES)[si],
                                                         categories=list(STATUSES)),
        "small": small.astype(bool), "segments": status[ri, oi, ci, si, small]})
    return out, counts
