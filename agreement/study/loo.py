"""Each annotator's panoptic quality against the consensus of the others (:func:`leave_one_out`).

For each image with at least two annotators and each of them, the consensus of the others
(:func:`agreement.image.voting.consensus_of`) is the reference and the annotator the other side
of :func:`agreement.metrics.pq.pq_counts`; counts are kept per image (for bootstrap intervals,
:class:`agreement.compare.batch.Batch`) and PQ is computed from their sums. The consensus of the
others is decided per tuple of segments (:func:`agreement.image.voting.consensus_tuples`) and its
overlap with the annotator counted over the tuples: no consensus map is drawn.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AnnotationError
from ..image.maps import ImageMaps
from ..image.voting import consensus_tuples
from ..matching import match_segments, overlap_from_table
from ..metrics.counts import PQ_FIELDS, pooled
from ..metrics.pixel import VoidMode, _check_void
from ..metrics.pq import pq_counts, pq_result
from ..model import Study
from ._rows import Columns, Rows
from .runner import Part, run

__all__ = ["LeaveOneOut", "LooPart", "leave_one_out"]

COUNT_DTYPES: dict[str, Any] = {"image": object, "annotator": object, "others": np.int64,
                                "category_id": np.int64, "tp": np.int64, "fp": np.int64,
                                "fn": np.int64, "iou_sum": np.float64}


@dataclass(frozen=True, eq=False)
class LeaveOneOut:
    """Each annotator's panoptic quality against the consensus of the others.

    Attributes
    ----------
    counts : DataFrame
        Additive: ``image``, ``annotator``, ``others`` (annotators in the consensus),
        ``category_id``, ``tp``, ``fp``, ``fn``, ``iou_sum``; the consensus is the reference.
        Empty when the pass kept the sums only (``LooPart(per_image=False)``, the report's).
    per_annotator : DataFrame
        ``annotator``, ``images``, ``pq``, ``sq``, ``rq`` (All), ``pq_things``, ``pq_stuff``,
        sorted by ``pq`` ascending (the annotator furthest from the others first).
    per_class : DataFrame
        ``annotator``, ``category_id``, ``category``, ``tp``, ``fp``, ``fn``, ``pq``, ``sq``,
        ``rq``.
    """

    counts: pd.DataFrame
    per_annotator: pd.DataFrame
    per_class: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The per-annotator table."""
        return self.per_annotator

    def __repr__(self) -> str:
        worst = (f", lowest PQ {self.per_annotator['annotator'].iloc[0]} "
                 f"{self.per_annotator['pq'].iloc[0]:.4f}" if len(self.per_annotator) else "")
        images = (self.counts["image"].nunique() if len(self.counts)
                  else int(self.per_annotator["images"].max()) if len(self.per_annotator) else 0)
        return f"LeaveOneOut({len(self.per_annotator)} annotators, {images} images{worst})"

    def _repr_html_(self) -> str:
        from .._html import block, table

        per = self.per_class[self.per_class["pq"].notna()].sort_values("pq")
        return block("Leave-one-out: each annotator against the consensus of the others", [
            table(self.per_annotator, caption="Per annotator, furthest from the others first"),
            table(per, caption="Per annotator and class, lowest PQ first")])


@dataclass(frozen=True)
class LooPart(Part[Rows, LeaveOneOut]):
    """:func:`leave_one_out` as a part of a pass (options as there)."""

    min_share: float = 0.5
    void: VoidMode = "label"
    per_image: bool = True

    name = "loo"
    label = "leave-one-out"

    def __post_init__(self) -> None:
        _check_void(self.void)
        if not 0 <= self.min_share < 1:
            raise AnnotationError(f"min_share must be in [0, 1), got {self.min_share}")

    def kernel(self, maps: ImageMaps) -> Rows:
        names = maps.names
        if len(names) < 2:
            return Rows()
        rows = []
        t = maps.tuples()
        for k, a in enumerate(names):
            rest = tuple(b for b in names if b != a)
            cons = consensus_tuples(maps, rest, min_share=self.min_share, void=self.void)
            ann = maps.annotations[a]
            table = t.table(cons.segment, t.codes[:, k],
                            (cons.categories.size + 1, len(ann.segments) + 1))
            ov = overlap_from_table(table, cons.segments(t.count), ann.segments,
                                    image=maps.image)
            c = pq_counts(ov, match_segments(ov))
            rows.append(Rows.of(c.category_id.size, image=maps.image, annotator=a,
                                others=len(rest), category_id=c.category_id, tp=c.tp, fp=c.fp,
                                fn=c.fn, iou_sum=c.iou_sum))
        return Rows.concat(rows)

    def merge(self, a: Rows, b: Rows) -> Rows:
        return a + b

    def fold(self, total: Columns | LooSums | None, chunk: Rows) -> Columns | LooSums:
        """The rows kept compact (:class:`~agreement.study._rows.Columns`: image and annotator
        as codes, the counts in the narrowest integers holding them); without ``per_image``,
        only their sums per annotator and class (:class:`LooSums`: nothing per image)."""
        if total is None:
            total = Columns(COUNT_DTYPES) if self.per_image else LooSums()
        total.extend(chunk)
        return total

    def finish(self, total: Columns | LooSums | None, study: Study) -> LeaveOneOut:
        if isinstance(total, LooSums) or (total is None and not self.per_image):
            return (total or LooSums()).tables(study)
        counts = (total or Columns(COUNT_DTYPES)).frame({"image": study.images,
                                                         "annotator": study.annotators})
        return loo_tables(counts, study)


class LooSums:
    """The leave-one-out counts summed per annotator and class as the pass goes, as
    :func:`loo_tables` sums the per-image rows (:func:`agreement.metrics.counts.pooled`: pandas'
    grouped sums, the integers exactly and ``iou_sum`` with pandas' compensated (Kahan)
    additions, replayed here in the rows' order): the same tables, bit for bit, with nothing
    kept per image (the report's leave-one-out needs no per-image row)."""

    def __init__(self) -> None:
        self._slots: dict[tuple[str, int], int] = {}
        self._ints = np.zeros((0, 3), np.int64)  # tp, fp, fn
        self._sum = np.zeros(0)
        self._comp = np.zeros(0)
        self._images: dict[str, int] = {}

    def extend(self, rows: Rows) -> None:
        """Rows of :meth:`LooPart.kernel` (blocks of one image and annotator), in image order."""
        for n, cols in rows.blocks:
            a = cols["annotator"]
            cats = np.asarray(cols["category_id"], np.int64)
            slots = np.array([self._slot(a, int(c)) for c in cats], np.intp)
            if np.unique(slots).size != slots.size:  # a class twice in a block: one at a time
                for k in range(n):
                    self._add(slots[k:k + 1], cols, slice(k, k + 1))
            else:
                self._add(slots, cols, slice(None))
            self._images[a] = self._images.get(a, 0) + 1

    def _slot(self, annotator: str, category_id: int) -> int:
        key = (annotator, category_id)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = len(self._slots)
            if slot >= self._sum.size:
                grow = max(16, 2 * self._sum.size)
                self._ints = np.concatenate([self._ints, np.zeros((grow, 3), np.int64)])
                self._sum = np.concatenate([self._sum, np.zeros(grow)])
                self._comp = np.concatenate([self._comp, np.zeros(grow)])
        return slot

    def _add(self, slots: np.ndarray, cols: dict[str, Any], rows: slice) -> None:
        for j, name in enumerate(("tp", "fp", "fn")):
            self._ints[slots, j] += np.asarray(cols[name], np.int64)[rows]
        val = np.asarray(cols["iou_sum"], np.float64)[rows]
        ok = ~np.isnan(val)  # pandas skips NaN
        slots, val = slots[ok], val[ok]
        s, c = self._sum[slots], self._comp[slots]
        with np.errstate(invalid="ignore"):
            y = val - c
            t = s + y
            c = t - s - y
        self._comp[slots] = np.where(np.isnan(c), 0.0, c)  # as pandas: an inf resets it
        self._sum[slots] = t

    def tables(self, study: Study) -> LeaveOneOut:
        """:func:`loo_tables` of the sums (``counts``: an empty per-image table)."""
        per_ann, per_class = [], []
        for a in study.annotators:
            mine = sorted((c, k) for (who, c), k in self._slots.items() if who == a)
            k = np.array([k for _, k in mine], np.intp)
            sums = pd.DataFrame({"category_id": np.array([c for c, _ in mine], np.int64),
                                 "tp": self._ints[k, 0], "fp": self._ints[k, 1],
                                 "fn": self._ints[k, 2], "iou_sum": self._sum[k]})
            res = pq_result(sums[["category_id", *PQ_FIELDS]], study.categories,
                            ref="consensus", other=a)
            per_ann.append(_annotator_row(a, self._images.get(a, 0), res))
            per_class.append(_class_rows(a, res))
        empty = pd.DataFrame({c: np.zeros(0, d) for c, d in COUNT_DTYPES.items()})
        return _loo(empty, per_ann, per_class)


def loo_tables(counts: pd.DataFrame, study: Study) -> LeaveOneOut:
    """The tables of :class:`LeaveOneOut` from its per-image counts."""
    per_ann, per_class = [], []
    for a in study.annotators:
        mine = counts[counts["annotator"] == a]
        res = pq_result(pooled(mine, fields=PQ_FIELDS), study.categories, ref="consensus",
                        other=a)
        per_ann.append(_annotator_row(a, mine["image"].nunique(), res))
        per_class.append(_class_rows(a, res))
    return _loo(counts, per_ann, per_class)


def _annotator_row(annotator: str, images: int, res: Any) -> dict[str, Any]:
    g = res.groups
    return {"annotator": annotator, "images": images, "pq": g.loc["All", "pq"],
            "sq": g.loc["All", "sq"], "rq": g.loc["All", "rq"],
            "pq_things": g.loc["Things", "pq"], "pq_stuff": g.loc["Stuff", "pq"]}


def _class_rows(annotator: str, res: Any) -> pd.DataFrame:
    pc = res.per_class[["category_id", "name", "tp", "fp", "fn", "pq", "sq", "rq"]]
    return pc.rename(columns={"name": "category"}).assign(annotator=annotator)


def _loo(counts: pd.DataFrame, per_ann: list[dict[str, Any]], per_class: list[pd.DataFrame]
         ) -> LeaveOneOut:
    table = pd.DataFrame(per_ann, columns=["annotator", "images", "pq", "sq", "rq", "pq_things",
                                           "pq_stuff"])
    table = table.sort_values("pq", kind="stable").reset_index(drop=True)
    pcl = pd.concat(per_class, ignore_index=True)
    return LeaveOneOut(counts, table, pcl[["annotator", *pcl.columns[:-1]]])


def leave_one_out(study: Study, *, min_share: float = 0.5, void: VoidMode = "label",
                  n_jobs: int = 1, progress: bool = False, images: Iterable[str] | None = None,
                  executor: Any = None) -> LeaveOneOut:
    """PQ of every annotator against the consensus of the other annotators (one pass).

    For each image with at least two annotators and each of them, the consensus of the others
    (:func:`agreement.image.voting.consensus`) is the reference and the annotator the other side
    of :func:`agreement.metrics.pq.pq_counts`; counts are summed over images per annotator and
    PQ computed from the sums (:func:`agreement.metrics.pq.pq_result`). Consensus pixels left
    void (ties, weak majorities) are void in the reference and so ignored, as PQ ignores void.
    With two annotators on an image, each is scored against the other. The pairwise matching
    of an image is computed once and shared by its consensus maps. ``n_jobs`` worker processes
    (or an ``executor``) give the same result as one.
    """
    images = None if images is None else list(images)
    return run(study, [LooPart(min_share, void)], images=images, n_jobs=n_jobs,
               progress=progress, executor=executor)[0]
