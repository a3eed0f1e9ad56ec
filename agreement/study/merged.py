"""PQ counts of a study with two classes made one, for several class pairs, from the joint
tables a pass kept (:func:`merged_counts`): what a guideline merging them would give (the
report's expected gains).

Per image, each annotator pair's joint table is merged at the table level
(:func:`agreement.image.merge.merge_table`, the segments of the two classes summed as
:func:`agreement.image.merge.merge_classes` says) and evaluated as PQ without boundary; no map
is relabelled or decoded again. The counts equal those of :func:`agreement.study.pq.evaluate`
run on the study with the class relabelled, bit for bit (IoUs added match by match in image
order, then reference segment order).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ..image.merge import merge_classes, merge_table
from ..matching import Overlap, overlap_from_table
from ..metrics.boundary import evaluate_pair
from ..model import Categories, Study
from .tables import ImageTables

__all__ = ["merged_counts"]

FIELDS = ("tp", "fp", "fn")


def merged_counts(tables: Iterable[ImageTables], study: Study, pairs: Sequence[tuple[int, int]],
                  images_of: Sequence[Iterable[str]]) -> dict[tuple[int, int], pd.DataFrame]:
    """Per class pair ``(a, b)``: the PQ counts of every annotator pair with ``b`` relabelled
    ``a``, over the images ``images_of`` lists for it (those where ``a`` or ``b`` occurs).

    Parameters
    ----------
    tables : iterable of ImageTables
        The tables of the study's images, in image order
        (:class:`agreement.study.tables.TablesPart`).
    study : Study
    pairs : sequence of (int, int)
    images_of : sequence of iterables of str
        One per pair.

    Returns
    -------
    dict of (a, b) to DataFrame
        ``ref``, ``other``, ``category_id`` (every category but ``b``), ``tp``, ``fp``, ``fn``,
        ``iou_sum``.
    """
    ids = np.asarray(list(study.categories), dtype=np.int64)
    names = study.annotators
    n = len(names)
    wanted = [frozenset(i) for i in images_of]
    ints = np.zeros((len(pairs), n, n, ids.size, len(FIELDS)), np.int64)
    sums = np.zeros((len(pairs), n, n, ids.size))
    for record in tables:
        for k, (a, b) in enumerate(pairs):
            if record.image in wanted[k]:
                _count_image(record, study, a, b, ints[k], sums[k], ids)
    out = {}
    for k, (a, b) in enumerate(pairs):
        cats = Categories(c for cid, c in study.categories.items() if cid != b)
        rows = [(x, y, cid, *ints[k, r, o, list(ids).index(cid)].tolist(),
                 float(sums[k, r, o, list(ids).index(cid)]))
                for r, x in enumerate(names) for o, y in enumerate(names) if r != o
                for cid in cats]
        out[(a, b)] = pd.DataFrame(rows, columns=["ref", "other", "category_id", *FIELDS,
                                                  "iou_sum"])
    return out


def _count_image(record: ImageTables, study: Study, a: int, b: int, ints: np.ndarray,
                 sums: np.ndarray, ids: np.ndarray) -> None:
    """Add one image's merged counts of every ordered annotator pair."""
    stuff = not study.categories[a].isthing
    merged = {x: merge_classes(segs, a, b, stuff=stuff) for x, segs in record.segments.items()}
    index = {x: i for i, x in enumerate(study.annotators)}
    for (x, y) in record.cells:
        table = merge_table(record.table(x, y), merged[x][0], merged[y][0])
        ov = overlap_from_table(table, merged[x][2], merged[y][2], image=record.image)
        for ref, other, o in ((x, y, ov), (y, x, ov.transpose())):
            _add(o, index[ref], index[other], ints, sums, ids)


def _add(ov: Overlap, r: int, o: int, ints: np.ndarray, sums: np.ndarray,
         ids: np.ndarray) -> None:
    ev = evaluate_pair(ov)
    c = np.searchsorted(ids, ev.counts["category_id"])
    for f, name in enumerate(FIELDS):
        ints[r, o, c, f] += ev.counts[name]
    m = ev.matches
    np.add.at(sums[r, o], np.searchsorted(ids, ov.ref_categories[m.ref_index]), m.score)
