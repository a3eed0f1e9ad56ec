"""Validation checks of one image: what its maps say about each annotation and about the pairs.

- per map: the share of unlabelled pixels, tiny segments, thing segments made of several
  separate blobs (``crowd_candidate``, info: occlusion also causes it);
- across annotators: images whose size annotators disagree on, and thing segments of one
  annotator covering several instances of another (``crowd_candidate``, warning): read from the
  pair's joint table (:meth:`agreement.image.maps.ImageMaps.pair`), never from the pixels.

See :func:`agreement.study.validation.validate` for the heuristics' parameters.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .. import _native
from ..findings import Finding
from ..labels import as_width, label_width
from ..model import Categories, PanopticAnnotation
from .maps import ImageMaps

__all__ = ["cross_findings", "map_findings"]


def map_findings(ann: PanopticAnnotation, categories: Categories, where: dict, *,
                 min_area: int, max_unlabeled: float) -> list[Finding]:
    """Unlabelled share, tiny segments and multi-blob thing segments of one annotation.

    ``where`` holds the ``annotator``, ``file`` and ``image`` of the findings.
    """
    out = []
    total = ann.image.height * ann.image.width
    void = ann.void_pixels
    if void:
        share = void / total
        out.append(Finding.of("unlabeled", f"{share:.1%} of the pixels ({void} of {total}) are "
                              "unlabeled", severity="warning" if share > max_unlabeled else "info",
                              **where))
    for s in ann.segments:
        if s.area < min_area:
            out.append(Finding.of("tiny_segment", f"{categories.name(s.category_id)} "
                                  f"segment of {s.area} px (< {min_area})",
                                  shape=f"segment {s.id}", **where))
    return out + _blobs(ann, categories, where, min_area)


def _blobs(ann: PanopticAnnotation, categories: Categories, where: dict,
           min_area: int) -> list[Finding]:
    things = set(categories.thing_ids)
    keys, boxes, thresholds, segments = [], [], [], []
    height, width = ann.compact.shape
    for k, s in enumerate(ann.segments, 1):
        if s.category_id not in things or s.iscrowd or s.area < 2 * min_area:
            continue
        x, y, w, h = s.bbox  # as slices: clipped to the map like numpy's
        keys.append(k)  # the compact map: ids may not be kept
        boxes.append((*slice(y, y + h).indices(height)[:2], *slice(x, x + w).indices(width)[:2]))
        thresholds.append(max(min_area, 0.1 * s.area))
        segments.append(s)
    out = []
    for s, (n, big) in zip(segments, blob_counts(ann.compact, keys, boxes, thresholds),
                           strict=True):
        if n >= 2 and big >= 2:
            out.append(Finding.of("crowd_candidate", f"{categories.name(s.category_id)} "
                                  f"segment made of {big} separate blobs ({n} in all): several "
                                  "instances as one?", severity="info", shape=f"segment {s.id}",
                                  **where))
    return out


def blob_counts(labels: npt.NDArray[np.integer], keys: list[int],
                boxes: list[tuple[int, int, int, int]],
                thresholds: list[float]) -> list[tuple[int, int]]:
    """Per candidate ``j``: the number of 4-connected components of ``labels == keys[j]``
    within rows ``boxes[j][0]:boxes[j][1]``, columns ``boxes[j][2]:boxes[j][3]`` (a box within
    the map), and how many of them have at least ``thresholds[j]`` pixels.

    4-connectivity is :func:`scipy.ndimage.label`'s default. One compiled pass over each box
    (runs joined row to row by a union-find) when the kernels are built, else
    :func:`scipy.ndimage.label` on each box's mask; the same counts.

    Examples
    --------
    >>> lab = np.array([[1, 0, 1], [1, 0, 0], [0, 1, 1]], np.uint8)  # blobs of 2, 1 and 2
    >>> blob_counts(lab, [1, 1], [(0, 3, 0, 3), (0, 2, 0, 3)], [2, 2])
    [(3, 2), (2, 1)]
    """
    if not keys:  # nothing to count (and no scipy import for it: ~13 MB mid-pass)
        return []
    kern, width = _native.kernels, label_width(labels)
    if kern is not None and width is not None and labels.ndim == 2:
        lab = as_width(labels, width)
        out = np.zeros((len(keys), 2), dtype=np.int64)
        kern.blobs(lab, lab.shape[0], lab.shape[1], np.asarray(keys, dtype=np.int64),
                   np.asarray(boxes, dtype=np.int64), np.asarray(thresholds, dtype=np.float64),
                   out, width)
        return [(int(n), int(big)) for n, big in out]
    from scipy import ndimage

    counts = []
    for k, (y0, y1, x0, x1), thr in zip(keys, boxes, thresholds, strict=True):
        comp, n = ndimage.label(labels[y0:y1, x0:x1] == k)
        sizes = np.bincount(comp.ravel(), minlength=n + 1)[1:]
        counts.append((int(n), int(np.count_nonzero(sizes >= thr))))
    return counts


def cross_findings(maps: ImageMaps, *, min_instances: int, cover: float) -> list[Finding]:
    """Size disagreement, or thing segments covering several instances of another annotator."""
    sizes = maps.shapes()
    if len(set(sizes.values())) > 1:
        text = ", ".join(f"{a}: {w}x{h}" for a, (h, w) in sizes.items())
        return [Finding.of("image_size_differs", f"sizes (width x height) differ: {text}",
                           image=maps.image)]
    out = []
    things = np.array(sorted(maps.categories.thing_ids), dtype=np.int64)
    for a in maps.names:
        for b in maps.names:
            if a != b:
                out += _lumped(maps, a, b, things, min_instances, cover)
    return out


def _lumped(maps: ImageMaps, a: str, b: str, things: np.ndarray, min_instances: int,
            cover: float) -> list[Finding]:
    ref, other = maps.annotations[a], maps.annotations[b]
    if not ref.segments or not other.segments:
        return []
    table = maps.pair(a, b).table_for(a)[1:, 1:]
    cat_a, cat_b = ref.category_ids, other.category_ids
    crowd_a = np.array([s.iscrowd for s in ref.segments])
    crowd_b = np.array([s.iscrowd for s in other.segments])
    area_b = np.array([s.area for s in other.segments], dtype=np.int64)
    inside = (table >= cover * area_b[None, :]) & (cat_a[:, None] == cat_b[None, :])
    inside &= ~crowd_b[None, :] & _member(cat_b, things)[None, :]
    counts = inside.sum(axis=1)
    out = []
    for i in np.flatnonzero((counts >= min_instances) & ~crowd_a & _member(cat_a, things)):
        seg = ref.segments[i]
        ids = [other.segments[j].id for j in np.flatnonzero(inside[i])]
        out.append(Finding.of(
            "crowd_candidate", f"{maps.categories.name(seg.category_id)} segment covers "
            f"{int(counts[i])} instances of annotator {b!r} (segments {ids[:10]}): one blob for "
            "several instances (crowd?)", annotator=a, image=maps.image,
            shape=f"segment {seg.id}"))
    return out


def _member(values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``np.isin(values, ids)`` for sorted unique ``ids``, by one binary search (no sort of
    both and none of ``isin``'s temporaries: it runs for every ordered pair of every image).

    >>> _member(np.array([3, 1, 7, 4]), np.array([1, 4, 9])).tolist()
    [False, True, False, True]
    """
    if not len(ids):
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(ids, values).clip(max=len(ids) - 1)
    return ids[at] == values
