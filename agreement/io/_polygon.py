"""Polygon outlines made safe to rasterise: clipping, self-crossing test, outline length.

pycocotools rasterises a polygon by walking every edge at five times the pixel resolution, in C
``int``: a vertex at 1e9 overflows it (a segfault) and a long outline costs memory and a sort in
proportion to its length. So every outline is clipped to a margin around its image before it is
stored (:func:`clip_to_box`), and its length measured (:func:`outline_length`) against
:attr:`~agreement.io.Limits.max_outline`.

:func:`crosses_itself` finds a proper crossing of two edges (interiors cross; touching, shared
vertices and collinear overlaps are not crossings) without comparing all pairs: edges are sorted
by their left end and only pairs whose boxes overlap are tested, in bounded chunks. An outline
so entangled that more than ``budget`` pairs overlap is only tested on a sample of ``budget``
pairs (a crossing found: ``True``; none: ``None``, unknown), so that no polygon, however
crafted, costs more than ``O(n log n + budget)``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["clip_to_box", "crosses_itself", "outline_length"]

Points = npt.NDArray[np.float64]

#: Candidate edge pairs tested per chunk (bounds the temporaries to a few tens of MB).
_CHUNK = 1 << 18


def _clip_half(p: Points, axis: int, bound: float, keep_above: bool) -> Points:
    """Sutherland-Hodgman against one axis-parallel half-plane, vectorised over edges."""
    if len(p) == 0:
        return p
    v = p[:, axis] - bound
    inside = v >= 0 if keep_above else v <= 0
    if inside.all():
        return p
    q = np.roll(p, -1, axis=0)
    vq = np.roll(v, -1)
    cross = inside != np.roll(inside, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(cross, v / np.where(cross, v - vq, 1.0), 0.0)
    hit = p + t[:, None] * (q - p)
    hit[:, axis] = bound  # exactly on the line, whatever the rounding
    out = np.stack([p, hit], axis=1).reshape(-1, 2)
    keep = np.stack([inside, cross], axis=1).ravel()
    return out[keep]


def clip_to_box(p: Points, left: float, top: float, right: float, bottom: float) -> Points:
    """The part of a closed polygon inside ``[left, right] x [top, bottom]`` (Sutherland-Hodgman).

    The result, filled even-odd or non-zero, covers exactly the points of the box that the
    original covers (the winding number of every point strictly inside the box is unchanged);
    an outline wholly inside the box is returned as it is. It may hold zero-width spikes along
    the box's sides, which cover nothing.

    Examples
    --------
    >>> sq = np.array([[-5.0, -5.0], [5.0, -5.0], [5.0, 5.0], [-5.0, 5.0]])
    >>> clip_to_box(sq, 0, 0, 10, 10).tolist()
    [[5.0, 0.0], [5.0, 5.0], [0.0, 5.0], [0.0, 0.0]]
    """
    for axis, bound, above in ((0, left, True), (0, right, False), (1, top, True),
                               (1, bottom, False)):
        p = _clip_half(p, axis, bound, above)
    return p


def outline_length(p: Points) -> float:
    """Sum of the edges' Chebyshev lengths (what pycocotools walks, at 1/5 of its steps).

    Examples
    --------
    >>> outline_length(np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 3.0]]))
    11.0
    """
    d = np.abs(np.roll(p, -1, axis=0) - p)
    return float(np.maximum(d[:, 0], d[:, 1]).sum())


def _orient(ox: np.ndarray, oy: np.ndarray, ax: np.ndarray, ay: np.ndarray, bx: np.ndarray,
            by: np.ndarray) -> np.ndarray:
    return (ax - ox) * (by - oy) - (ay - oy) * (bx - ox)


def crosses_itself(p: Points, *, budget: int = 4_000_000) -> bool | None:
    """Whether two edges of a closed polygon properly cross (``None``: too entangled to test).

    Parameters
    ----------
    p : ndarray, shape (N, 2)
        The vertices (the last edge joins the last vertex to the first).
    budget : int
        Most candidate pairs (edges whose boxes overlap) tested. With more, a sample of
        ``budget`` of them is tested (seeded by N, so the answer is reproducible): True when it
        finds a crossing, else None.

    Examples
    --------
    >>> crosses_itself(np.array([[0, 0], [4, 0], [0, 4], [4, 4]], float))  # a bow tie
    True
    >>> crosses_itself(np.array([[0, 0], [4, 0], [4, 4], [0, 4]], float))
    False
    """
    n = len(p)
    if n < 4:
        return False
    a, b = p, np.roll(p, -1, axis=0)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    best = None
    for axis in (0, 1):  # sweep along the axis where fewer boxes overlap
        order = np.argsort(lo[:, axis], kind="stable")
        ends = np.searchsorted(lo[order, axis], hi[order, axis], side="right")
        counts = np.maximum(ends - np.arange(n) - 1, 0)
        total = int(counts.sum())
        if best is None or total < best[0]:
            best = (total, order, counts)
    total, order, counts = best  # type: ignore[misc]
    starts = np.cumsum(counts) - counts
    if total > budget:  # a sample finds the crossings of a tangle; it cannot prove there is none
        rng = np.random.default_rng(n)
        for first in range(0, budget, _CHUNK):
            k = np.sort(rng.integers(0, total, size=min(_CHUNK, budget - first)))
            if _any_proper(a, b, lo, hi, *_pairs(k, starts, order)):
                return True
        return None
    for first in range(0, total, _CHUNK):
        k = np.arange(first, min(first + _CHUNK, total))
        if _any_proper(a, b, lo, hi, *_pairs(k, starts, order)):
            return True
    return False


def _pairs(k: np.ndarray, starts: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge pairs number ``k`` of the sweep's candidate list."""
    # the run holding k is the last one starting at or before it (empty runs share the start
    # of the next one, so they are never picked)
    i_sorted = np.searchsorted(starts, k, side="right") - 1
    return order[i_sorted], order[i_sorted + 1 + (k - starts[i_sorted])]


def _any_proper(a: Points, b: Points, lo: Points, hi: Points, i: np.ndarray,
                j: np.ndarray) -> bool:
    overlap = (lo[i, 0] <= hi[j, 0]) & (lo[j, 0] <= hi[i, 0]) & (lo[i, 1] <= hi[j, 1]) & (
        lo[j, 1] <= hi[i, 1])
    i, j = i[overlap], j[overlap]
    ax, ay, bx, by = a[i, 0], a[i, 1], b[i, 0], b[i, 1]
    cx, cy, dx, dy = a[j, 0], a[j, 1], b[j, 0], b[j, 1]
    d1 = _orient(cx, cy, dx, dy, ax, ay)
    d2 = _orient(cx, cy, dx, dy, bx, by)
    d3 = _orient(ax, ay, bx, by, cx, cy)
    d4 = _orient(ax, ay, bx, by, dx, dy)
    apart_cd = ((d1 > 0) & (d2 < 0)) | ((d1 < 0) & (d2 > 0))  # a, b on either side of cd
    apart_ab = ((d3 > 0) & (d4 < 0)) | ((d3 < 0) & (d4 > 0))  # c, d on either side of ab
    return bool((apart_cd & apart_ab).any())
