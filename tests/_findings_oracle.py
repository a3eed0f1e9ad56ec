"""The findings' per-image kernel as first written: per pixel, straight from the decoded maps.

A test oracle for :func:`agreement.diagnosis.maps_record`, which reads the same numbers from the
image's tuples, pair tables and shared leave-one-out consensus: both must give equal records.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from agreement.diagnosis._kernel import MIN_OBJECT, ImageRecord, band_width
from agreement.image.voting import consensus
from agreement.labels import overlap_table
from agreement.metrics.boundary import boundary_near
from agreement.metrics.pixel import label_map
from agreement.model import Categories, PanopticAnnotation

_NEAR = 3


def _owners(t: np.ndarray, same: np.ndarray, objects: np.ndarray,
            area_c: np.ndarray, thing_a: np.ndarray) -> np.ndarray:
    """The consensus object each annotator thing segment stands for (-1: none).

    The object of its class it covers most of, when it covers at least half of one (a far car
    painted over a near car still covers the far car); else the object of its class holding
    most of its pixels (a part of an object); else none (a thing of another class than the
    object under it: a confusion, or an extra object).
    """
    na = thing_a.size
    if t.shape[0] == 0:
        return np.full(na, -1, np.int64)
    ok = same & objects[:, None]
    cover = np.where(ok, t / area_c[:, None], 0.0)
    by_cover, has_cover = cover.argmax(axis=0), cover.max(axis=0) >= 0.5
    most = t.argmax(axis=0)
    most_ok = ok[most, np.arange(na)] & (t.max(axis=0) > 0)
    owner = np.where(has_cover, by_cover, np.where(most_ok, most, -1))
    return np.where(thing_a, owner, -1).astype(np.int64)


def _objects(table: np.ndarray, cat_c: np.ndarray, cat_a: np.ndarray, thing_c: np.ndarray,
             thing_a: np.ndarray, near: np.ndarray, min_area: float,
             crowd_c: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Status rows of the reference's thing objects and the event matrix (module notes).

    Crowd segments of the reference and segments under ``min_area`` px are not objects; their
    pixels are events (kept out of the border figures).
    """
    nc, na = cat_c.size, cat_a.size
    t = table[1:, 1:]
    area_c, area_a = table[1:].sum(axis=1), table[:, 1:].sum(axis=0)
    event = np.zeros((nc + 1, na + 1), bool)
    crowd = np.zeros(nc, bool) if crowd_c is None else crowd_c
    real = thing_c & (area_c >= min_area) & ~crowd
    event[1:][thing_c & ~real] = True
    same = cat_c[:, None] == cat_a[None, :]
    owner = _owners(t, same, thing_c, area_c, thing_a)
    covers = t >= 0.5 * area_c[:, None]  # annotator segment j covers most of object i
    inside = (t >= 0.5 * area_a[None, :]) & (t >= 0.1 * area_c[:, None])
    other_obj = (owner[None, :] >= 0) & (owner[None, :] != np.arange(nc)[:, None])
    own = owner[None, :] == np.arange(nc)[:, None]
    taken = np.zeros((nc, nc))  # taken[i, k]: pixels of object i in segments standing for k
    np.add.at(taken.T, owner[owner >= 0], t[:, owner >= 0].T)
    np.fill_diagonal(taken, 0)
    lost = np.maximum(taken - taken.T, 0).sum(axis=1)
    # a thing segment standing for no object (drawn where the other annotator sees another
    # object, or nothing): its pixels on objects it does not mostly lie on were taken from them
    stray = np.flatnonzero(thing_a & (owner < 0))
    if stray.size and nc:
        home = t[:, stray].argmax(axis=0)
        on_others = t[:, stray] * (np.arange(nc)[:, None] != home[None, :])
        lost = lost + (on_others * thing_c[:, None]).sum(axis=1)
        event[:, stray + 1] = True
    rows = []
    for i in np.flatnonzero(real):
        j = int(np.argmax(table[i + 1])) - 1  # -1: void
        status, other = 0, 0
        mates = (covers[:, j] & real & (cat_c == cat_c[i]) & (np.arange(nc) != i)
                 if j >= 0 else np.zeros(nc, bool))
        if j < 0 or not thing_a[j]:
            status = 1
        elif (same[i, j] and covers[i, j] and mates.any()
              and not (own[i] & (np.arange(na) != j)).any()):
            status = 4  # one segment for this object and another one of its class
            event[:, j + 1] = True
        elif other_obj[i, j]:
            status = 3  # the segment over most of it stands for another object: painted over it
        elif not same[i, j]:
            status, other = 2, int(cat_a[j])
            event[:, j + 1] = True
        parts = int((inside[i] & own[i]).sum())
        if status:
            event[i + 1] = True
        event[i + 1, 1:][other_obj[i]] = True
        mergeable = bool((near[i + 1, 1:] & real & (cat_c == cat_c[i])).any())
        rows.append((int(cat_c[i]), int(area_c[i]), status, other, parts,
                     int(lost[i]) if status != 4 else 0, mergeable))
    out = np.array(rows, dtype=np.int64).reshape(-1, 7)
    return out, event


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
