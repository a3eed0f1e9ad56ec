"""Tracing polygons as an annotator clicks them, and painting them into a map.

Shared by ``scripts/make_sample.py`` and :mod:`agreement.simulation`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

__all__ = ["douglas_peucker", "paint", "polygon_area", "simplify_closed"]


def douglas_peucker(points: np.ndarray, tol: float) -> np.ndarray:
    """Simplify an open polyline (keeps both end points)."""
    n = len(points)
    keep = np.zeros(n, bool)
    keep[[0, n - 1]] = True
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        a, b = points[i], points[j]
        seg = points[i + 1 : j]
        ab = b - a
        norm = np.hypot(*ab)
        if norm == 0:
            d = np.hypot(*(seg - a).T)
        else:
            d = np.abs(ab[0] * (seg[:, 1] - a[1]) - ab[1] * (seg[:, 0] - a[0])) / norm
        k = int(np.argmax(d))
        if d[k] > tol:
            keep[i + 1 + k] = True
            stack += [(i, i + 1 + k), (i + 1 + k, j)]
    return points[keep]


def simplify_closed(poly: np.ndarray, tol: float) -> np.ndarray:
    """Douglas-Peucker on a closed polygon: split at vertex 0 and the vertex farthest from it."""
    far = int(np.argmax(np.hypot(*(poly - poly[0]).T)))
    if far == 0 or len(poly) < 4:
        return poly
    a = douglas_peucker(poly[: far + 1], tol)
    b = douglas_peucker(np.concatenate([poly[far:], poly[:1]]), tol)
    return np.concatenate([a[:-1], b[:-1]])


def polygon_area(poly: np.ndarray) -> float:
    """Area of a closed polygon (shoelace formula), in squared coordinate units."""
    x, y = np.asarray(poly, float).T
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def paint(pieces: Sequence[np.ndarray], shape: tuple[int, int]) -> npt.NDArray[np.int32]:
    """Paint polygons in order into an int32 map of ``shape`` (height, width): each pixel holds
    1 + the index of the last polygon covering it, 0 where none does."""
    img = Image.new("I", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(img)
    for value, poly in enumerate(pieces, start=1):
        draw.polygon([(float(x), float(y)) for x, y in poly], fill=value, outline=value)
    return np.asarray(img, dtype=np.int32)
