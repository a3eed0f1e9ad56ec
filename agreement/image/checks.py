"""Validation checks of one image: what its maps say about each annotation and about the pairs.

- per map: the share of unlabelled pixels, tiny segments, thing segments made of several
  separate blobs (``crowd_candidate``, info: occlusion also causes it);
- across annotators: images whose size annotators disagree on, and thing segments of one
  annotator covering several instances of others (``crowd_candidate``, warning), when those
  others are at least as many as the annotators who draw one instance there (one annotator
  splitting what the rest draw whole is that annotator's split): read from the pairs' joint
  tables (:meth:`agreement.image.maps.ImageMaps.pair`), never from the pixels.

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
    """Size disagreement, or thing segments covering several instances of other annotators."""
    sizes = maps.shapes()
    if len(set(sizes.values())) > 1:
        text = ", ".join(f"{a}: {w}x{h}" for a, (h, w) in sizes.items())
        return [Finding.of("image_size_differs", f"sizes (width x height) differ: {text}",
                           image=maps.image)]
    out = []
    things = np.array(sorted(maps.categories.thing_ids), dtype=np.int64)
    for a in maps.names:
        out += _lumped(maps, a, [b for b in maps.names if b != a], things, min_instances, cover)
    return out


def _lumped(maps: ImageMaps, a: str, others: list[str], things: np.ndarray,
            min_instances: int, cover: float) -> list[Finding]:
    """``a``'s thing segments that cover ``min_instances`` or more instances of other
    annotators, when those who see several instances there are at least as many as those who
    see one (``a``, and the others with one instance inside; annotators with none there do not
    count): one annotator who splits an object the others draw whole does not make the
    others' segments crowd candidates (the split is that annotator's)."""
    ref = maps.annotations[a]
    if not ref.segments:
        return []
    cat_a = ref.category_ids
    eligible = ~np.array([s.iscrowd for s in ref.segments]) & _member(cat_a, things)
    if not eligible.any():
        return []
    seen: list[tuple[str, np.ndarray, np.ndarray]] = []  # (b, count per a-segment, inside)
    for b in others:
        other = maps.annotations[b]
        if not other.segments:
            continue
        table = maps.pair(a, b).table_for(a)[1:, 1:]
        cat_b = other.category_ids
        crowd_b = np.array([s.iscrowd for s in other.segments])
        area_b = np.array([s.area for s in other.segments], dtype=np.int64)
        inside = (table >= cover * area_b[None, :]) & (cat_a[:, None] == cat_b[None, :])
        inside &= ~crowd_b[None, :] & _member(cat_b, things)[None, :]
        seen.append((b, inside.sum(axis=1), inside))
    if not seen:
        return []
    counts = np.stack([c for _, c, _ in seen])  # (others with segments, a-segments)
    several = counts >= min_instances
    splitters = several.sum(axis=0)
    lumpers = 1 + ((counts > 0) & ~several).sum(axis=0)  # a, and who drew one instance there
    out = []
    for i in np.flatnonzero(eligible & (splitters > 0) & (splitters >= lumpers)):
        seg = ref.segments[i]
        parts = [f"{int(c[i])} instances of annotator {b!r} (segments "
                 f"{[maps.annotations[b].segments[j].id for j in np.flatnonzero(row[i])][:10]})"
                 for (b, c, row), hit in zip(seen, several[:, i], strict=True) if hit]
        out.append(Finding.of(
            "crowd_candidate", f"{maps.categories.name(seg.category_id)} segment covers "
            f"{'; '.join(parts)}: one blob for several instances (crowd?)", annotator=a,
            image=maps.image, shape=f"segment {seg.id}"))
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
