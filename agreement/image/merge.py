"""Two classes made one in an annotation's segment table (what a guideline merging them gives).

:func:`merge_classes` relabels class ``b`` as ``a``; when ``a`` is stuff, the segments of ``a``
and ``b`` become one segment (the smallest id), as stuff has one region per class, and thing
segments keep their instances. The result is a lookup table from the annotation's compact ids to
the merged ones, so an overlap table is merged by summing its rows (:func:`merge_table`), with no
pixel read again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from ..model import Segment

__all__ = ["merge_classes", "merge_table"]

IntArray = npt.NDArray[np.int64]


def merge_classes(segments: Sequence[Segment], a: int, b: int, *,
                  stuff: bool) -> tuple[IntArray, IntArray, tuple[Segment, ...]]:
    """Class ``b`` relabelled ``a`` in one annotation's segment table.

    Parameters
    ----------
    segments : sequence of Segment
        The annotation's segment table (compact id ``i + 1`` is ``segments[i]``).
    a, b : int
        The class kept and the class merged into it.
    stuff : bool
        Whether ``a`` is stuff (its segments and those of ``b`` become one).

    Returns
    -------
    compact : ndarray of int64, shape (n + 1,)
        Merged compact id of each compact id (0 stays void).
    ids : ndarray of int64, shape (n + 1,)
        Merged segment id of each compact id (0 for void): ``ids[compact]`` is the merged map.
    segments : tuple of Segment
        The merged segment table (a merged segment keeps the place, crowd flag and id of its
        first segment, areas and boxes add up).

    Examples
    --------
    >>> from agreement.model import PanopticAnnotation
    >>> ann = PanopticAnnotation.from_map([[1, 2, 3]], {1: 7, 2: 8, 3: 7})
    >>> compact, ids, segs = merge_classes(ann.segments, 7, 8, stuff=True)
    >>> compact.tolist(), ids.tolist(), [(s.id, s.category_id, s.area) for s in segs]
    ([0, 1, 1, 1], [0, 1, 1, 1], [(1, 7, 3)])
    """
    segments = tuple(segments)
    n = len(segments)
    cats = np.array([s.category_id for s in segments], dtype=np.int64)
    seg_ids = np.array([s.id for s in segments], dtype=np.int64)
    hit = (cats == a) | (cats == b)
    if not hit.any():
        return np.arange(n + 1), np.concatenate([[0], seg_ids]).astype(np.int64), segments
    ids = seg_ids.copy()
    if stuff:
        ids[hit] = ids[hit].min()
    segs: dict[int, Segment] = {}
    for seg, new_id, is_hit in zip(segments, ids.tolist(), hit.tolist(), strict=True):
        known = segs.get(new_id)
        if known is None:
            segs[new_id] = replace(seg, id=new_id, category_id=a if is_hit else seg.category_id)
        else:
            segs[new_id] = replace(known, area=known.area + seg.area,
                                   bbox=_union(known.bbox, seg.bbox))
    position = {sid: k + 1 for k, sid in enumerate(segs)}
    compact = np.concatenate([[0], [position[i] for i in ids.tolist()]]).astype(np.int64)
    return compact, np.concatenate([[0], ids]).astype(np.int64), tuple(segs.values())


def merge_table(table: npt.ArrayLike, rows: IntArray, cols: IntArray) -> IntArray:
    """An overlap table with its rows and columns relabelled (summed) through two lookup tables.

    >>> merge_table([[0, 1], [2, 3], [4, 5]], np.array([0, 1, 1]), np.array([0, 1])).tolist()
    [[0, 1], [6, 8]]
    """
    t = np.asarray(table, dtype=np.int64)
    nr, nc = int(rows.max(initial=0)) + 1, int(cols.max(initial=0)) + 1
    code = (rows[:, None] * nc + cols[None, :]).ravel()
    out = np.bincount(code, weights=t.ravel(), minlength=nr * nc)
    return np.rint(out).astype(np.int64).reshape(nr, nc)


def _union(p: tuple[int, int, int, int], q: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x0, y0 = min(p[0], q[0]), min(p[1], q[1])
    x1, y1 = max(p[0] + p[2], q[0] + q[2]), max(p[1] + p[3], q[1] + q[3])
    return (x0, y0, x1 - x0, y1 - y0)
