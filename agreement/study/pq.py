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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import StudyError
from ..image.maps import ImageMaps
from ..image.pairs import Direction, evaluate_pairs
from ..matching import STATUSES
from ..metrics.counts import INT_FIELDS
from ..model import Study
from ._rows import Rows, spilled, unspilled
from .pq_result import FLOAT_SUMS, SEGMENT_DTYPES, PQTotals, StudyResult, compact_row_dtypes
from .runner import Part, run

__all__ = ["PQPart", "StudyResult", "evaluate"]

#: Columns of the categories used per image (:attr:`StudyResult.image_categories`).
PRESENCE_DTYPES: dict[str, Any] = {"image": object, "category_id": np.int64}


@dataclass
class PQPartial:
    """What images add to :func:`evaluate`: see the module notes.

    ``rows``: the per (image, pair, class) counts; ``pending``: match scores in order,
    ``(field, key, values)``, and ``status_keys``: one key per reference segment of
    (reference r, other o, class c, status s, small), not yet added to the study's totals
    ``sums[r, o, c, field]`` and ``status[r, o, c, s, small]`` (kept by the total only);
    ``count_keys`` / ``count_values``: each direction's (pair, class) cells and integer counts,
    not yet added to ``counts[r, o, c, field]`` and ``n_images[r, o, c]`` (the total's).
    """

    rows: Rows = field(default_factory=Rows)
    segments: Rows = field(default_factory=Rows)
    presence: Rows = field(default_factory=Rows)
    pending: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)
    status_keys: list[np.ndarray] = field(default_factory=list)
    count_keys: list[np.ndarray] = field(default_factory=list)
    count_values: list[np.ndarray] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    size: tuple[int, int] = (0, 0)  # (annotators of the study, categories)
    image_counts: list[np.ndarray] = field(default_factory=list)  # the total's, per chunk
    image_seen: list[np.ndarray] = field(default_factory=list)
    sums: np.ndarray | None = None
    status: np.ndarray | None = None
    counts: np.ndarray | None = None
    n_images: np.ndarray | None = None


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
    diagnoses : bool
        Diagnose every reference segment (:attr:`StudyResult.status_counts`, the segments'
        ``status``); ``agreement pq`` shows none and spares the work (and scipy.optimize).
    per_image : bool
        Keep the count rows of every (image, pair, class) (:attr:`StudyResult.per_image`, the
        input of bootstrap intervals); ``agreement pq`` reads only the sums and keeps none.
    image_counts : tuple of str
        Keep these count fields summed per (image, class) over the pairs, as one dense table:
        all :meth:`StudyResult.count_table` reads (of these fields), a tenth of the rows'
        memory; with ``per_image=False`` (the report's) no row is kept.
    """

    annotators: tuple[str, ...] | None = None
    boundary: bool = True
    dilation_ratio: float = 0.02
    diagnostic_threshold: float = 0.2
    small_area: int = 32 * 32
    segments: bool = True
    diagnoses: bool = True
    per_image: bool = True
    image_counts: tuple[str, ...] = ()

    name = "pq"
    label = "agreement"
    threads = True  # decoding, bands and joint tables: compiled kernels without the GIL

    def __post_init__(self) -> None:
        if self.annotators is not None:
            object.__setattr__(self, "annotators", tuple(self.annotators))
        if not self.dilation_ratio > 0:
            raise StudyError(f"dilation_ratio must be > 0, got {self.dilation_ratio}")
        if not 0 <= self.diagnostic_threshold <= 1:
            raise StudyError(f"diagnostic_threshold must be in [0, 1], got "
                             f"{self.diagnostic_threshold}")
        if self.segments and not self.diagnoses:
            raise StudyError("segments=True needs diagnoses=True (each row has a status)")
        object.__setattr__(self, "image_counts", tuple(self.image_counts))
        unknown = [f for f in self.image_counts if f not in self._row_dtypes()
                   or f in ("image", "pair", "category")]
        if unknown:
            raise StudyError(f"image_counts must be count fields of the rows, got {unknown}")

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
                                diagnostic_threshold=self.diagnostic_threshold,
                                diagnoses=self.diagnoses):
            key = (index[d.ref] * len(maps.annotators) + index[d.other]) * ids.size
            rows.append(self._counts(out, d, key, ids, maps.image,
                                     index[d.ref] * len(maps.annotators) + index[d.other]))
            if self.diagnoses:
                self._status(out, d, key, ids)
            if self.segments:
                segs.append(_segment_rows(maps.image, d))
        out.rows = Rows.concat(rows) if self.per_image or self.image_counts else Rows()
        out.segments = Rows.concat(segs)
        present = np.unique(np.concatenate(
            [maps.annotations[a].category_ids for a in maps.names if a in names] or [[]]))
        out.presence = Rows.of(present.size, image=maps.image, category_id=present)
        out.images = [maps.image]
        return out

    def _counts(self, out: PQPartial, d: Direction, key: int, ids: np.ndarray,
                image: str, pair: int) -> Rows:
        """The direction's count rows (the pair and the classes as codes: ``pair`` is
        reference x annotators + other over the study's annotators, a class its position in
        ``ids``), and its match scores (``key``: its pair's first class in the flat
        (reference, other, class) index) pending in order."""
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
        classes = np.searchsorted(ids, counts["category_id"])
        out.count_keys.append(key + classes)
        out.count_values.append(np.stack([np.asarray(counts[f], dtype=np.int64)
                                          for f in fields], axis=-1))
        return Rows.of(k, image=image, pair=pair, category=classes, **cols)

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
                         a.count_keys + b.count_keys, a.count_values + b.count_values,
                         a.images + b.images, max(a.size, b.size))

    def fold(self, total: PQPartial | None, chunk: PQPartial) -> PQPartial:
        """Add the chunk's scores to the float sums, match after match in order, and its status
        keys to the status counts; keep its rows (packed)."""
        total = total or _zeros(*chunk.size, self.boundary)
        flat = total.sums.reshape(-1, len(FLOAT_SUMS))
        for f, key, values in chunk.pending:
            np.add.at(flat[:, f], key, values)  # sequential: match after match, in order
        if chunk.status_keys:
            total.status += np.bincount(np.concatenate(chunk.status_keys),
                                        minlength=total.status.size).reshape(total.status.shape)
        if chunk.count_keys:  # integers: exact in any order
            keys = np.concatenate(chunk.count_keys)
            values = np.concatenate(chunk.count_values)
            ints = total.counts.reshape(-1, values.shape[1])
            np.add.at(ints, keys, values)
            total.n_images += np.bincount(keys, minlength=total.n_images.size).reshape(
                total.n_images.shape)
        if self.image_counts:
            _add_image_counts(total, chunk, self.image_counts)
        if chunk.rows.blocks and self.per_image:  # images as positions in the images so far
            at = {name: len(total.images) + i for i, name in enumerate(chunk.images)}
            coded = Rows([(n, {**cols, "image": at[cols["image"]]})
                          for n, cols in chunk.rows.blocks])
            total.rows = _grown(total.rows, coded.packed(self._row_dtypes(), always=True),
                                self._row_dtypes())
        total.segments = _grown(total.segments, chunk.segments.packed(SEGMENT_DTYPES),
                                SEGMENT_DTYPES)
        total.presence = _grown(total.presence, chunk.presence.packed(PRESENCE_DTYPES),
                                PRESENCE_DTYPES)
        total.images = total.images + chunk.images
        return total

    def _row_dtypes(self) -> dict[str, Any]:
        return compact_row_dtypes(self.boundary)

    def finish(self, total: PQPartial | None, study: Study) -> StudyResult:
        total = total or _zeros(len(study.annotators), len(study.categories), self.boundary)
        image_counts = None
        if self.image_counts:
            image_counts = (self.image_counts, _joined(total.image_counts, (
                0, len(study.categories), len(self.image_counts)), np.float64),
                _joined(total.image_seen, (0,), bool))
        totals = PQTotals(total.counts, total.sums, total.n_images, total.status, total.rows,
                          total.segments, total.presence, tuple(study.annotators), image_counts)
        return StudyResult(totals, self.names(study), tuple(total.images), study.categories,
                           self.boundary, self.small_area)


#: Blocks of per-image tables kept before the newest are joined (:func:`_join_tail`).
COALESCE = 8


def _grown(total: Rows, chunk: Rows, dtypes: dict[str, Any]) -> Rows:
    """``total`` then ``chunk``; once :data:`COALESCE` blocks are kept, the newest are joined
    (:func:`_join_tail`); once :data:`~agreement.study._rows.SPILL_ROWS` rows are in memory,
    they are written to a temporary file as one block (:func:`~agreement.study._rows.spilled`)."""
    out = total + chunk
    first = unspilled(out.blocks)  # the blocks not yet written to the temporary file
    tail = out.blocks[first:]
    _join_tail(tail, lambda b: b[0], lambda bs: Rows(bs).packed(dtypes).blocks[0])
    return spilled(Rows([*out.blocks[:first], *tail]), dtypes)


def _join_tail(items: list, size: Callable[[Any], int], join: Callable[[list], Any]) -> None:
    """Join the newest two of ``items`` (in place, order kept) while there are at least
    :data:`COALESCE` and the newest holds at least half the rows of the one before it: sizes
    fall geometrically towards the end, so a few blocks are kept and each row is copied a
    logarithmic number of times (joining them all every time copied the oldest rows again and
    again)."""
    while len(items) >= max(2, COALESCE) and 2 * size(items[-1]) >= size(items[-2]):
        items[-2:] = [join(items[-2:])]


def _add_image_counts(total: PQPartial, chunk: PQPartial, fields: tuple[str, ...]) -> None:
    """The chunk's rows summed per (image, class) into a dense table (one per chunk), in row
    order: each cell the same float sums as :meth:`StudyResult.count_table` adds from the rows
    (an image's rows all come in its chunk)."""
    at = {name: i for i, name in enumerate(chunk.images)}
    values = np.zeros((len(chunk.images), total.size[1], len(fields)))
    seen = np.zeros(len(chunk.images), bool)
    for n, cols in chunk.rows.blocks:
        where = np.broadcast_to(cols["image"], n)
        rows = np.fromiter((at[k] for k in where.tolist()), np.int64, count=n)
        seen[rows] = True
        np.add.at(values, (rows, np.broadcast_to(cols["category"], n).astype(np.int64)),
                  np.stack([np.broadcast_to(np.asarray(cols[f], dtype=np.float64), n)
                            for f in fields], axis=-1))
    total.image_counts.append(values)
    total.image_seen.append(seen)
    _join_tail(total.image_counts, len, np.concatenate)  # a few large arrays, not one per chunk
    _join_tail(total.image_seen, len, np.concatenate)


def _joined(parts: list[np.ndarray], empty: tuple[int, ...], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(empty, dtype)


def _zeros(annotators: int, categories: int, boundary: bool) -> PQPartial:
    """The study's totals before any image: sums and counts at zero."""
    shape = (annotators, annotators, categories)
    fields = len(INT_FIELDS) if boundary else 3
    return PQPartial(size=(annotators, categories),
                     sums=np.zeros((*shape, len(FLOAT_SUMS))),
                     status=np.zeros((*shape, len(STATUSES), 2), np.int64),
                     counts=np.zeros((*shape, fields), np.int64),
                     n_images=np.zeros(shape, np.int64))


def evaluate(study: Study, *, n_jobs: int = 1, progress: bool = False, boundary: bool = True,
             annotators: Sequence[str] | None = None, images: Sequence[str] | None = None,
             dilation_ratio: float = 0.02, diagnostic_threshold: float = 0.2,
             segments: bool = True, small_area: int = 32 * 32,
             executor: Any = None, diagnoses: bool = True, per_image: bool = True
             ) -> StudyResult:
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
    diagnoses : bool
        Diagnose each reference segment (:attr:`StudyResult.status_counts`; empty without);
        ``segments=True`` needs it.
    per_image : bool
        Keep :attr:`StudyResult.per_image` (one row per image, pair and class: grows with
        the study; empty without). Every other result is the same either way.

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
                  segments=segments, diagnoses=diagnoses, per_image=per_image)
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
