"""The findings' per-image kernel as first written: per pixel, straight from the decoded maps.

A test oracle for :func:`agreement.diagnosis.maps_record`, which reads the same numbers from the
image's tuples, pair tables and shared leave-one-out consensus: both must give equal records.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from agreement.diagnosis._kernel import MIN_OBJECT, ImageRecord, _objects, band_width
from agreement.image.voting import consensus
from agreement.labels import overlap_table
from agreement.metrics.boundary import boundary_near
from agreement.metrics.pixel import label_map
from agreement.model import Categories, PanopticAnnotation

_NEAR = 3


def _adjacency(labels: np.ndarray, k1: int) -> np.ndarray:
    """Symmetric (K+1) x (K+1) count of 4-neighbour label changes."""
    codes = []
    for x, y in ((labels[:, :-1], labels[:, 1:]), (labels[:-1, :], labels[1:, :])):
        diff = x != y
        codes.append(x[diff].astype(np.int64) * k1 + y[diff])
    table = np.bincount(np.concatenate(codes), minlength=k1 * k1).reshape(k1, k1)
    return table + table.T


def _near_pairs(compact: np.ndarray, n: int) -> np.ndarray:
    """``near[i, j]``: segments i and j (compact, 1-based) lie within ``_NEAR`` px."""
    near = np.zeros((n + 1, n + 1), bool)
    for d in range(1, _NEAR + 1):
        for x, y in ((compact[:, :-d], compact[:, d:]), (compact[:-d, :], compact[d:, :])):
            sel = (x != y) & (x > 0) & (y > 0)
            near[x[sel], y[sel]] = True
    return near | near.T


def pixel_record(image: str, annotations: Mapping[str, PanopticAnnotation], *,
                 categories: Categories, band_ratio: float = 0.02, min_share: float = 0.5,
                 labels: Mapping[str, np.ndarray] | None = None
                 ) -> ImageRecord | None:
    """The record of one image, per pixel (the first implementation)."""
    names = list(annotations)
    if len(names) < 2:
        return None
    ids = tuple(categories)
    k1 = len(ids) + 1
    if labels is None:
        labels = {n: label_map(annotations[n], ids) for n in names}
    shape = annotations[names[0]].shape
    band = band_width(shape, band_ratio)
    min_area = max(10.0, MIN_OBJECT * shape[0] * shape[1])
    thing_of = np.array([False] + [categories[c].isthing for c in ids])
    lab_of = {c: k + 1 for k, c in enumerate(ids)}
    anns = [annotations[n] for n in names]
    cats = [np.array([lab_of[s.category_id] for s in ann.segments], np.int64) for ann in anns]
    near = [_near_pairs(ann.compact, len(ann.segments)) for ann in anns]
    crowd = [np.array([s.iscrowd for s in ann.segments], bool) for ann in anns]
    pixels = np.zeros((len(names), 3, k1, k1), np.int64)
    adjacency = np.stack([_adjacency(labels[n], k1) for n in names])
    objects = []
    for ai, a in enumerate(names):
        ann = anns[ai]
        events = np.zeros(shape, np.int32)  # in how many pairs a pixel is an object event
        for bi in range(len(names)):
            if bi == ai:
                continue
            ref = anns[bi]
            table = overlap_table(ref.compact, ann.compact, len(ref.segments) + 1,
                                  len(ann.segments) + 1)
            rows, event = _objects(table, cats[bi], cats[ai], thing_of[cats[bi]],
                                   thing_of[cats[ai]], near[bi], min_area, crowd[bi])
            objects.append(np.column_stack([np.full(len(rows), ai), np.full(len(rows), bi),
                                            rows]))
            events += event[ref.compact, ann.compact]
        others = {b: annotations[b] for b in names if b != a}
        cons = consensus(others, categories, min_share=min_share, image=image).annotation
        lc = label_map(cons, ids)
        majority = 2 * events > len(names) - 1  # as the consensus: most of the others agree
        zone = np.where(majority, 0, np.where(boundary_near(lc, d=band), 1, 2))
        code = (zone.astype(np.int64) * k1 + lc) * k1 + labels[a]
        pixels[ai] = np.bincount(code.ravel(), minlength=3 * k1 * k1).reshape(3, k1, k1)
    return ImageRecord(image, tuple(names), ids, pixels, adjacency,
                       np.concatenate(objects).astype(np.int64), band, shape)
