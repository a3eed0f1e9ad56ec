"""PQ counts of a study with two classes made one, for several class pairs in one pass
(:func:`merged_counts`): what a guideline merging them would give (the report's expected gains).

Per image, each annotator pair's joint table is merged at the table level
(:func:`agreement.image.merge.merge_table`, the segments of the two classes summed as
:func:`agreement.image.merge.merge_classes` says) and evaluated as PQ without boundary; no map is
relabelled and each image is decoded once for every pair. The counts equal those of
:func:`agreement.study.pq.evaluate` run on the study with the class relabelled, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..image.maps import ImageMaps
from ..image.merge import merge_classes, merge_table
from ..matching import overlap_from_table
from ..metrics.boundary import evaluate_pair
from ..model import Categories, Study
from .runner import Part, run

__all__ = ["MergedCountsPart", "merged_counts"]

FIELDS = ("tp", "fp", "fn")


@dataclass
class MergedPartial:
    """``ints[k, r, o, c]``: TP / FP / FN of class pair ``k``, pair (r, o), class c; ``pending``
    the match IoUs in order, ``(k, key, values)``, not yet added to ``sums``."""

    ints: np.ndarray
    pending: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)
    sums: np.ndarray | None = None


@dataclass(frozen=True)
class MergedCountsPart(Part[MergedPartial, dict]):
    """Per class pair ``(a, b)``: PQ counts of every annotator pair with ``b`` relabelled ``a``,
    on the images ``images_of`` lists for it (those where ``a`` or ``b`` occurs)."""

    pairs: tuple[tuple[int, int], ...] = ()
    images_of: tuple[frozenset[str], ...] = ()

    name = "merged"
    label = "merged classes"

    def images(self, study: Study, images: Sequence[str] | None) -> list[str]:
        wanted = frozenset().union(*self.images_of)
        return [i for i in study.images if i in wanted]

    def kernel(self, maps: ImageMaps) -> MergedPartial:
        ids = np.asarray(maps.category_ids, dtype=np.int64)
        n = len(maps.annotators)
        out = MergedPartial(np.zeros((len(self.pairs), n, n, ids.size, len(FIELDS)), np.int64))
        index = {a: i for i, a in enumerate(maps.annotators)}
        for k, (a, b) in enumerate(self.pairs):
            if maps.image not in self.images_of[k]:
                continue
            stuff = not maps.categories[a].isthing
            merged = {x: merge_classes(maps.annotations[x], a, b, stuff=stuff)
                      for x in maps.names}
            for x, y in maps.pairs():
                table = merge_table(maps.pair(x, y).table, merged[x][0], merged[y][0])
                ov = overlap_from_table(table, merged[x][2], merged[y][2], image=maps.image)
                for ref, other, o in ((x, y, ov), (y, x, ov.transpose())):
                    self._count(out, k, index[ref], index[other], o, ids)
        return out

    def _count(self, out: MergedPartial, k: int, r: int, o: int, ov, ids: np.ndarray) -> None:
        ev = evaluate_pair(ov)
        c = np.searchsorted(ids, ev.counts["category_id"])
        for f, name in enumerate(FIELDS):
            out.ints[k, r, o, c, f] = ev.counts[name]
        m = ev.matches
        shape = out.ints.shape
        key = ((k * shape[1] + r) * shape[2] + o) * shape[3]
        out.pending.append((k, key + np.searchsorted(ids, ov.ref_categories[m.ref_index]),
                            m.score))

    def merge(self, a: MergedPartial, b: MergedPartial) -> MergedPartial:
        return MergedPartial(a.ints + b.ints, a.pending + b.pending, a.sums)

    def fold(self, total: MergedPartial | None, chunk: MergedPartial) -> MergedPartial:
        if total is None:
            total = MergedPartial(np.zeros_like(chunk.ints), sums=np.zeros(chunk.ints.shape[:4]))
        out = self.merge(total, chunk)
        flat = out.sums.reshape(-1)
        for _, key, values in chunk.pending:
            np.add.at(flat, key, values)  # sequential: match after match, in order
        out.pending = []
        return out

    def finish(self, total: MergedPartial | None, study: Study) -> dict:
        out = {}
        for k, (a, b) in enumerate(self.pairs):
            cats = Categories(c for cid, c in study.categories.items() if cid != b)
            out[(a, b)] = _pair_class(total, k, study, cats)
        return out


def _pair_class(total: MergedPartial | None, k: int, study: Study,
                cats: Categories) -> pd.DataFrame:
    """The per (annotator pair, class) counts of class pair ``k`` (every class of ``cats``)."""
    ids = list(study.categories)
    names = study.annotators
    rows = []
    for r, x in enumerate(names):
        for o, y in enumerate(names):
            if r == o:
                continue
            for cid in cats:
                c = ids.index(cid)
                counts = (np.zeros(len(FIELDS), np.int64) if total is None
                          else total.ints[k, r, o, c])
                iou = 0.0 if total is None else float(total.sums[k, r, o, c])
                rows.append((x, y, cid, *counts.tolist(), iou))
    return pd.DataFrame(rows, columns=["ref", "other", "category_id", *FIELDS, "iou_sum"])


def merged_counts(study: Study, pairs: Sequence[tuple[int, int]], images_of: Sequence[
        Sequence[str]], *, n_jobs: int = 1, executor: Any = None) -> dict:
    """Per class pair ``(a, b)``: the per (annotator pair, class) PQ counts of the study with
    ``b`` relabelled ``a``, over the images listed for it (see :class:`MergedCountsPart`)."""
    part = MergedCountsPart(tuple((int(a), int(b)) for a, b in pairs),
                            tuple(frozenset(i) for i in images_of))
    return run(study, [part], n_jobs=n_jobs, executor=executor)[0]
