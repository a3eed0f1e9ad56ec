"""Expected gains: how much PQ All would rise if one disagreement were resolved.

Every gain is a difference of two PQ All values computed by :func:`agreement.metrics.pq.pq_result`
on count tables pooled over every ordered annotator pair and image; nothing here has its own PQ
formula. Three ways to resolve a disagreement:

confused pair (recomputed)
    Relabel class ``b`` as ``a`` in every annotation (stuff segments of the two classes in one
    image become one segment), evaluate the study again, and give both classes the merged class's
    counts: the PQ the two classes would have if annotators agreed where one ends and the other
    begins.
boundaries (counts)
    The class's matched segments drawn identically: its IoU sum set to its TP count (SQ = 1).
unmatched segments (counts, an estimate)
    Segments without partner turned into matches at the class's mean IoU: each missed segment
    row adds a TP in both directions of its pair and removes one FN and one FP; a split / merge
    event (one segment against two) adds a TP per direction and removes the FN and FP of the
    three segments involved.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..image.merge import merge_classes
from ..metrics.counts import PQ_FIELDS, pooled, ratio
from ..metrics.pq import pq_result
from ..model import (
    AnnotationSource,
    Categories,
    ImageInfo,
    PanopticAnnotation,
    Study,
)

__all__ = ["Gains", "MergedSource", "merge_categories", "pooled_counts", "pq_all", "resolve_counts"]


def pooled_counts(per_pair_class: pd.DataFrame) -> pd.DataFrame:
    """Sum ``tp``, ``fp``, ``fn``, ``iou_sum`` over annotator pairs: one row per category."""
    return pooled(per_pair_class, fields=PQ_FIELDS)


def pq_all(counts: pd.DataFrame, categories: Categories) -> float:
    """PQ All of a pooled count table (the library's :func:`pq_result`)."""
    return pq_result(counts, categories).pq


def resolve_counts(
    counts: pd.DataFrame,
    category_id: int,
    *,
    perfect_iou: bool = False,
    unmatched: int = 0,
    events: int = 0,
) -> pd.DataFrame:
    """A copy of ``counts`` with part of one class's disagreement resolved (see module notes).

    Parameters
    ----------
    counts : DataFrame
        Pooled counts (``category_id``, ``tp``, ``fp``, ``fn``, ``iou_sum``).
    category_id : int
    perfect_iou : bool
        Set the class's IoU sum to its TP count (boundaries drawn identically).
    unmatched : int
        Segment rows without partner that become matched (FN and FP each drop by this many).
    events : int
        TPs gained per direction (missed rows: one each; split / merge: one per event).

    Examples
    --------
    >>> c = pd.DataFrame({"category_id": [1], "tp": [4], "fp": [2], "fn": [2], "iou_sum": [3.0]})
    >>> resolve_counts(c, 1, unmatched=2, events=2).iloc[0].tolist()
    [1.0, 8.0, 0.0, 0.0, 6.0]
    """
    out = counts.copy()
    out[list(PQ_FIELDS)] = out[list(PQ_FIELDS)].astype(np.float64)
    row = out["category_id"] == category_id
    tp = float(out.loc[row, "tp"].sum())
    mean_iou = float(out.loc[row, "iou_sum"].sum()) / tp if tp else 0.5
    if perfect_iou:
        out.loc[row, "iou_sum"] = out.loc[row, "tp"]
        mean_iou = 1.0
    if unmatched or events:
        out.loc[row, "fp"] = (out.loc[row, "fp"] - unmatched).clip(lower=0)
        out.loc[row, "fn"] = (out.loc[row, "fn"] - unmatched).clip(lower=0)
        out.loc[row, "tp"] += 2 * events
        out.loc[row, "iou_sum"] += 2 * events * mean_iou
    return out


class MergedSource:
    """An :class:`AnnotationSource` whose class ``b`` is relabelled ``a``.

    When ``a`` is stuff, the segments of ``a`` and ``b`` in one image become one segment (the
    smallest id), as stuff has one region per class; thing segments keep their instances.
    """

    def __init__(self, source: AnnotationSource, a: int, b: int, categories: Categories) -> None:
        self._source, self.a, self.b = source, a, b
        self.name = source.name
        self.categories = categories
        self.images: tuple[ImageInfo, ...] = source.images
        self._stuff = not categories[a].isthing

    def load(self, file_name: str) -> PanopticAnnotation:
        """Decode the annotation and relabel it."""
        ann = self._source.load(file_name)
        _, ids, segments = merge_classes(ann.segments, self.a, self.b, stuff=self._stuff)
        if segments is ann.segments:
            return ann
        return PanopticAnnotation(ann.image, ids.astype(np.int32)[ann.compact], segments)


def merge_categories(study: Study, a: int, b: int) -> Study:
    """The study with class ``b`` relabelled ``a`` in every annotator's annotations."""
    cats = Categories(c for cid, c in study.categories.items() if cid != b)
    sources = {n: MergedSource(study.source(n), a, b, cats) for n in study.annotators}
    return Study(sources, align=study.align, categories=cats)


def merged_pair_counts(counts: pd.DataFrame, merged: pd.DataFrame, a: int, b: int) -> pd.DataFrame:
    """``counts`` with classes ``a`` and ``b`` both given the merged class's counts (``merged``
    holds pooled counts of the study with ``b`` relabelled ``a``)."""
    out = counts.copy()
    src = merged[merged["category_id"] == a]
    if not len(src):
        return out
    values = src.iloc[0]
    for cid in (a, b):
        if (out["category_id"] == cid).any():
            for c in PQ_FIELDS:
                out.loc[out["category_id"] == cid, c] = values[c]
    return out


def gain(before: float, after: float) -> float:
    """``after - before``, NaN when either is undefined."""
    return after - before if not (math.isnan(before) or math.isnan(after)) else math.nan


def status_counts(status: pd.DataFrame) -> pd.DataFrame:
    """Per category: segment rows by status, and small-segment misses.

    Parameters
    ----------
    status : DataFrame
        The study result's status counts (:attr:`agreement.study.StudyResult.status_counts`:
        ``category_id``, ``status``, ``small``, ``segments``).

    Returns
    -------
    DataFrame
        ``category_id``, ``segments``, ``matched``, ``missed``, ``split``, ``merged``,
        ``class_confused``, ``small_segments``, ``missed_small``, ``missed_small_share``,
        ``missed_large_share``. Rows with status ``crowd`` / ``ignored`` are left out.
    """
    seg = status[~status["status"].isin(["crowd", "ignored"])]
    seg = seg.assign(status=seg["status"].astype(str), small=seg["small"].astype(bool))
    by = seg.groupby(["category_id", "status"])["segments"].sum().unstack(fill_value=0)
    for s in ("matched", "missed", "split", "merged", "class_confused"):
        if s not in by.columns:
            by[s] = 0
    out = by[["matched", "missed", "split", "merged", "class_confused"]].copy()
    out.columns.name = None
    out.insert(0, "segments", by.sum(axis=1))
    n, small, missed = seg["segments"], seg["small"], seg["status"] == "missed"
    g = pd.DataFrame({"category_id": seg["category_id"], "small": n * small,
                      "missed_small": n * (small & missed), "large": n * ~small,
                      "missed_large": n * (~small & missed)}).groupby("category_id").sum()
    out["small_segments"] = g["small"]
    out["missed_small"] = g["missed_small"]
    out["missed_small_share"] = ratio(g["missed_small"], g["small"])
    out["missed_large_share"] = ratio(g["missed_large"], g["large"])
    return out.reset_index()


def describe_counts(mapping: Mapping[str, float]) -> str:
    """``"a 1, b 2"`` for a gain's method text."""
    return ", ".join(f"{k} {v:g}" for k, v in mapping.items())


class Gains:
    """``gains(kind, categories) -> (expected gain of PQ All, method)`` for proposals.

    Parameters
    ----------
    per_pair_class : DataFrame
        The study result's per (pair, class) counts.
    classes : DataFrame
        The report's class table (``category_id``, ``split``, ``merged``, ``missed_small``).
    categories : Categories
    merged : mapping of (a, b) to DataFrame
        Pooled counts of the study with ``b`` relabelled ``a`` (pairs without an entry get NaN).
    """

    def __init__(
        self,
        per_pair_class: pd.DataFrame,
        classes: pd.DataFrame,
        categories: Categories,
        merged: Mapping[tuple[int, int], pd.DataFrame],
    ) -> None:
        self.counts = pooled_counts(per_pair_class)
        self.categories = categories
        self.base = pq_all(self.counts, categories)
        self.classes = classes.set_index("category_id")
        self.merged = merged

    def __call__(self, kind: str, cats: tuple[int, ...]) -> tuple[float, str]:
        names = self.categories
        if kind == "confusion":
            a, b = cats
            if (a, b) not in self.merged:
                return math.nan, ("not computed: only the first confusion pairs are recomputed "
                                    "(ReportOptions.max_merge_gains)")
            counts = merged_pair_counts(self.counts, self.merged[(a, b)], a, b)
            return gain(self.base, pq_all(counts, names)), (
                f"recomputed: every annotation relabelled with {names.name(b)} as "
                f"{names.name(a)}, both classes given the merged class's PQ"
            )
        if cats[0] not in self.classes.index:
            return math.nan, ""
        row, name = self.classes.loc[cats[0]], names.name(cats[0])
        if kind == "boundaries":
            counts = resolve_counts(self.counts, cats[0], perfect_iou=True)
            how = f"recomputed with every matched {name} segment at IoU 1"
        elif kind == "instances":
            rows = int(row.get("split", 0) + row.get("merged", 0))
            events = int(min(row.get("split", 0), row.get("merged", 0)))
            counts = resolve_counts(self.counts, cats[0], unmatched=rows, events=events)
            how = f"estimate: {rows} split / merged {name} segment rows matched at the mean IoU"
        else:
            n = int(row.get("missed_small", 0))
            counts = resolve_counts(self.counts, cats[0], unmatched=n, events=n)
            how = f"estimate: {n} missed small {name} segment rows matched at the mean IoU"
        return gain(self.base, pq_all(counts, names)), how
