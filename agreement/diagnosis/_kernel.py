"""The per-image kernel of the findings: one image's N maps -> one small :class:`ImageRecord`.

For each annotator ``a`` of the image:

1. **Objects**, against each other annotator ``b`` in turn (pairwise, from the one overlap
   table of the pair): every thing segment of ``b`` (an *object*) gets a status from ``a``'s
   segments over it: ``present``; ``missed`` (``a``'s largest cover of it is void or stuff);
   ``confused`` (a thing segment of another class that is ``a``'s version of it); ``hidden``
   (the segment over most of it stands for another object of ``b``: painted over it);
   ``merged`` (one segment of ``a`` covers most of it and most of another object of its class,
   and ``a`` has no other segment for it). Also: how many parts ``a`` cut it into (``split``:
   segments of its class standing for it and lying mostly inside it), the pixels of it that
   segments standing for other objects took, net of what it took from them (``hidden_px``:
   painting order, not border jitter), and whether another object of its class lies within
   3 px (``mergeable``). Which object a segment *stands for* is decided by :func:`_owners`.
   Objects are taken pairwise, not from a consensus: with two others, a consensus has to break
   ties between two annotators' instances by their order, which would hand one annotator's
   instances to the others' references.
2. **Pixels**, against the consensus of the others (:func:`agreement.consensus`,
   leave-one-out; ties are void), in three zones: pixels of object-level events (zone 0:
   events in most of the pairs, as the consensus is the majority; kept out of the border
   figures), pixels within ``band`` px of a consensus label change (zone 1: border
   displacement, coarse outlines) and the interior (zone 2). One ``bincount`` of (zone,
   consensus class, annotator class) over the map: a ``3 x (K+1) x (K+1)`` table, 0 = void.
3. **Border lengths**: for every map of the image, the 4-neighbour label changes per class pair
   (``(K+1) x (K+1)``), from which the study step takes the others' border lengths.

Nothing leaves an image but these small arrays (a few kB), so records fold by concatenation and
every per-image effect of :mod:`agreement.diagnosis._effects` is computed from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..image.maps import ImageMaps
from ..image.voting import consensus_tuples
from ..metrics.boundary import boundary_near
from ..model import Categories, PanopticAnnotation

__all__ = ["OBJECT_FIELDS", "STATUS", "ImageRecord", "band_width", "image_record",
           "maps_record"]

#: Object statuses (codes are positions).
STATUS: tuple[str, ...] = ("present", "missed", "confused", "hidden", "merged")
#: Columns of :attr:`ImageRecord.objects`.
OBJECT_FIELDS: tuple[str, ...] = ("annotator", "reference", "label", "area", "status",
                                  "other_label", "parts", "hidden_px", "mergeable")
_NEAR = 3  # px: another object of the class this close makes an object mergeable
#: Thing segments smaller than this share of the image are not objects (20 px at 256 x 512).
MIN_OBJECT = 0.00015

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class ImageRecord:
    """What the findings keep of one image.

    Attributes
    ----------
    image : str
    annotators : tuple of str
        The annotators of the image, in study order; arrays below are indexed by position here.
    category_ids : tuple of int
        The label space: label ``k`` (1-based) is ``category_ids[k - 1]``; 0 is void.
    pixels : ndarray of int64, shape (N, 3, K+1, K+1)
        ``pixels[a, zone, c, x]``: pixels the consensus of the others labels ``c`` and annotator
        ``a`` labels ``x``; zone 0 = object-level events, 1 = border band, 2 = interior.
    adjacency : ndarray of int64, shape (N, K+1, K+1)
        Symmetric: 4-neighbour label changes of each annotator's own map per class pair.
    objects : ndarray of int64, shape (rows, 9)
        One row per (annotator, other annotator, object of the other): :data:`OBJECT_FIELDS`
        (annotators as positions in ``annotators``, classes as labels).
    band : int
        The border band width used, px.
    shape : tuple of int
        ``(height, width)``.
    """

    image: str
    annotators: tuple[str, ...]
    category_ids: tuple[int, ...]
    pixels: IntArray
    adjacency: IntArray
    objects: IntArray
    band: int
    shape: tuple[int, int]


def band_width(shape: tuple[int, int], ratio: float) -> int:
    """Border band width: ``max(2, round(ratio * diagonal))`` px.

    >>> band_width((256, 512), 0.02)
    11
    """
    return max(2, round(ratio * float(np.hypot(*shape))))


def _owners(t: IntArray, same: npt.NDArray[np.bool_], objects: npt.NDArray[np.bool_],
            area_c: IntArray, thing_a: npt.NDArray[np.bool_]) -> IntArray:
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


def _objects(table: IntArray, cat_c: IntArray, cat_a: IntArray, thing_c: npt.NDArray[np.bool_],
             thing_a: npt.NDArray[np.bool_], near: npt.NDArray[np.bool_], min_area: float,
             crowd_c: npt.NDArray[np.bool_] | None = None
             ) -> tuple[IntArray, npt.NDArray[np.bool_]]:
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


def _tuple_neighbours(index: npt.NDArray[np.int32], n_tuples: int, reach: int
                      ) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Pairs of distinct tuples that are neighbours along a row or a column.

    Returns ``(first, second, count)`` of the 4-neighbour pairs (each ordered pair of adjacent
    pixels counted) and the codes ``first * T + second`` of every pair less than ``reach + 1``
    px apart (unique). A pair of segments of one annotator is adjacent (or near) exactly when
    some pair of tuples carrying them is: per-annotator questions about neighbours are answered
    from these pairs, not from the pixels again.
    """
    t = np.int64(max(n_tuples, 1))
    near, adjacent = [], []
    for d in range(1, reach + 1):
        for x, y in ((index[:, :-d], index[:, d:]), (index[:-d, :], index[d:, :])):
            sel = x != y
            code = x[sel].astype(np.int64) * t + y[sel]
            (adjacent if d == 1 else near).append(code)
    adj = np.concatenate(adjacent) if adjacent else np.zeros(0, np.int64)
    codes, count = np.unique(adj, return_counts=True)
    close = np.unique(np.concatenate([codes, *near])) if near else codes
    return codes // t, codes % t, count.astype(np.int64), close


def maps_record(maps: ImageMaps, *, band_ratio: float = 0.02, min_share: float = 0.5
                ) -> ImageRecord | None:
    """The findings' record of one image from its :class:`~agreement.image.maps.ImageMaps`
    (None with fewer than two readable annotations).

    Everything is read from what the pass already holds for the image: the tuples (labels per
    tuple, neighbours of tuples), the joint table of each annotator pair (objects), and the
    leave-one-out consensus of each annotator (:func:`agreement.image.voting.consensus_tuples`,
    shared with the leave-one-out scores). Per pixel, one band of each leave-one-out consensus
    and one ``bincount`` per annotator remain.
    """
    names = maps.names
    if len(names) < 2:
        return None
    categories = maps.categories
    ids = maps.category_ids
    k1 = len(ids) + 1
    t = maps.tuples()
    n_t = len(t)
    labels = maps.tuple_labels().astype(np.int64)  # (N, T)
    anns = [maps.annotations[n] for n in names]
    shape = anns[0].shape
    band = band_width(shape, band_ratio)
    min_area = max(10.0, MIN_OBJECT * shape[0] * shape[1])
    thing_of = np.array([False] + [categories[c].isthing for c in ids])
    cats = [maps.segment_labels(n)[1:].astype(np.int64) for n in names]
    crowd = [np.array([s.iscrowd for s in ann.segments], bool) for ann in anns]
    first, second, count, close = _tuple_neighbours(t.index, n_t, _NEAR)
    n = len(names)
    adjacency = np.zeros((n, k1, k1), np.int64)
    near = []
    for ai in range(n):
        la, lb = labels[ai, first], labels[ai, second]
        diff = la != lb
        table = np.bincount(la[diff] * k1 + lb[diff], weights=count[diff], minlength=k1 * k1)
        table = np.rint(table).astype(np.int64).reshape(k1, k1)
        adjacency[ai] = table + table.T
        ci, cj = t.codes[close // max(n_t, 1), ai], t.codes[close % max(n_t, 1), ai]
        sel = (ci != cj) & (ci > 0) & (cj > 0)
        m = np.zeros((len(anns[ai].segments) + 1,) * 2, bool)
        m[ci[sel], cj[sel]] = True
        near.append(m | m.T)
    pixels = np.zeros((n, 3, k1, k1), np.int64)
    objects = []
    cat_ids = np.asarray(ids, np.int64)
    for ai, a in enumerate(names):
        events = np.zeros(n_t, np.int64)  # in how many pairs a tuple is an object event
        for bi, b in enumerate(names):
            if bi == ai:
                continue
            table = maps.pair(a, b).table_for(b)
            rows, event = _objects(table, cats[bi], cats[ai], thing_of[cats[bi]],
                                   thing_of[cats[ai]], near[bi], min_area, crowd[bi])
            objects.append(np.column_stack([np.full(len(rows), ai), np.full(len(rows), bi),
                                            rows]))
            events += event[t.codes[:, bi], t.codes[:, ai]]
        rest = tuple(b for b in names if b != a)
        cons = consensus_tuples(maps, rest, min_share=min_share)
        seg_label = np.concatenate([[0], np.searchsorted(cat_ids, cons.categories) + 1])
        lc = seg_label[cons.segment]  # consensus label of each tuple
        near_band = boundary_near(lc.astype(np.int32)[t.index], d=band)
        split = np.bincount(t.index.ravel().astype(np.int64) * 2 + near_band.ravel(),
                            minlength=2 * n_t).reshape(n_t, 2)
        majority = 2 * events > n - 1  # as the consensus: most of the others agree
        zone = np.where(majority[:, None], 0, np.array([2, 1])[None, :])
        code = (zone * k1 + lc[:, None]) * k1 + labels[ai][:, None]
        pixels[ai] = np.bincount(code.ravel(), weights=split.ravel(),
                                 minlength=3 * k1 * k1).round().astype(np.int64).reshape(3, k1, k1)
    return ImageRecord(maps.image, tuple(names), tuple(ids), pixels, adjacency,
                       np.concatenate(objects).astype(np.int64), band, shape)


def image_record(image: str, annotations: Mapping[str, PanopticAnnotation], *,
                 categories: Categories, band_ratio: float = 0.02, min_share: float = 0.5
                 ) -> ImageRecord | None:
    """The findings' record of one image (None with fewer than two annotators).

    :func:`maps_record` over the image's annotations (a pass gives its kernel the
    :class:`~agreement.image.maps.ImageMaps` it already holds).

    Parameters
    ----------
    image : str
    annotations : mapping of str to PanopticAnnotation
        The image's annotations, in study order.
    categories : Categories
    band_ratio : float
        Border band width as a share of the image diagonal (:func:`band_width`).
    min_share : float
        Consensus majority (:func:`agreement.consensus`).

    Returns
    -------
    ImageRecord or None

    Examples
    --------
    >>> from agreement import Category
    >>> cats = Categories([Category(1, "road", False), Category(2, "walk", False)])
    >>> a = PanopticAnnotation.from_map([[1, 1, 2, 2]] * 3, {1: 1, 2: 2})
    >>> b = PanopticAnnotation.from_map([[1, 2, 2, 2]] * 3, {1: 1, 2: 2})
    >>> rec = image_record("x", {"a": a, "b": b}, categories=cats)
    >>> rec.pixels[0, 1].tolist()  # a vs b, at b's border: b says walk (2), a road (1) on 3 px
    [[0, 0, 0], [0, 3, 0], [0, 3, 3]]
    """
    return maps_record(ImageMaps(image, annotations, categories=categories),
                       band_ratio=band_ratio, min_share=min_share)
