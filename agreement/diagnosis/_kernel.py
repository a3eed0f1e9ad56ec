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

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .. import _native
from ..image.maps import ImageMaps
from ..image.voting import consensus_tuples
from ..labels import _pair_counts, label_width
from ..metrics.boundary import near_changes, packed_changes
from ..model import Categories, PanopticAnnotation

__all__ = ["OBJECT_FIELDS", "STATUS", "ImageRecord", "PackedRecord", "band_width",
           "image_record", "maps_record", "unpacked"]

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


class PackedRecord:
    """An :class:`ImageRecord` as the pass holds it until the finish: lossless and compact.

    The pixel and border tables are mostly zeros (a class meets few others): only their
    non-zero cells are kept (flat positions and values); every integer array takes the
    narrowest of int32 / int64 that holds its values. :meth:`unpack` gives the record back,
    equal to the one packed (int64 arrays), so everything computed from it is unchanged. About
    1.5 kB instead of 15 kB for an image of three annotators and 9 classes.
    """

    __slots__ = ("_adjacency", "_objects", "_pixels", "annotators", "band", "category_ids",
                 "image", "shape")

    def __init__(self, rec: ImageRecord) -> None:
        self.image, self.annotators, self.category_ids = rec.image, rec.annotators, rec.category_ids
        self.band, self.shape = rec.band, rec.shape
        self._pixels = _sparse(rec.pixels)
        self._adjacency = _sparse(rec.adjacency)
        self._objects = _narrow(rec.objects)

    def unpack(self) -> ImageRecord:
        """The record packed, with its int64 arrays."""
        return ImageRecord(self.image, self.annotators, self.category_ids,
                           _dense(*self._pixels), _dense(*self._adjacency),
                           self._objects.astype(np.int64), self.band, self.shape)

    def __reduce__(self) -> tuple:  # from a worker process: the packed arrays travel
        return _packed, (self.image, self.annotators, self.category_ids, self.band, self.shape,
                         self._pixels, self._adjacency, self._objects)


def _packed(image, annotators, category_ids, band, shape, pixels, adjacency, objects
            ) -> PackedRecord:
    out = PackedRecord.__new__(PackedRecord)
    out.image, out.annotators, out.category_ids = image, annotators, category_ids
    out.band, out.shape = band, shape
    out._pixels, out._adjacency, out._objects = pixels, adjacency, objects
    return out


def _narrow(a: np.ndarray) -> np.ndarray:
    """``a`` as int32 when that holds every value (else as it is)."""
    small = a.astype(np.int32)
    return small if np.array_equal(small, a) else a


def _sparse(a: np.ndarray) -> tuple[tuple[int, ...], np.ndarray, np.ndarray]:
    """Shape, flat positions and values of the non-zero cells of ``a``."""
    flat = a.ravel()
    where = np.flatnonzero(flat)
    pos = where.astype(np.uint16) if a.size <= 1 << 16 else where.astype(np.int64)
    return a.shape, pos, _narrow(flat[where])


def _dense(shape: tuple[int, ...], pos: np.ndarray, values: np.ndarray) -> IntArray:
    out = np.zeros(int(np.prod(shape)), np.int64)
    out[pos] = values
    return out.reshape(shape)


class unpacked(Sequence):
    """A read-only sequence of :class:`ImageRecord` over packed ones, unpacking each when read
    (one at a time: the study step never holds every record's full tables)."""

    def __init__(self, packed: Sequence[PackedRecord | ImageRecord]) -> None:
        self._packed = packed

    def __len__(self) -> int:
        return len(self._packed)

    def __getitem__(self, k):  # type: ignore[override]
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        rec = self._packed[k]
        return rec.unpack() if isinstance(rec, PackedRecord) else rec

    def __iter__(self) -> Iterator[ImageRecord]:
        for rec in self._packed:
            yield rec.unpack() if isinstance(rec, PackedRecord) else rec


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
    # an object of no pixel (listed, absent from the map) covers nothing: not 0 / 0, whose NaN
    # would keep every segment of its class from owning by cover
    cover = np.where(ok & (area_c > 0)[:, None], t / np.maximum(area_c, 1)[:, None], 0.0)
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
    ri = np.flatnonzero(real)  # the objects, all at once
    if not ri.size:
        return np.zeros((0, 7), np.int64), event
    mergeable = (near[ri + 1, 1:] & real[None, :]
                 & (cat_c[None, :] == cat_c[ri][:, None])).any(axis=1)
    if not na:  # the annotator drew no segment: every object missed
        event[ri + 1] = True
        none = np.zeros(ri.size, np.int64)
        return np.column_stack([cat_c[ri], area_c[ri], none + 1, none, none,
                                lost[ri].astype(np.int64), mergeable]).astype(np.int64), event
    j = table[ri + 1].argmax(axis=1) - 1  # the annotator's segment over most of it (-1: void)
    valid = j >= 0
    jj = np.where(valid, j, 0)
    same_ij = same[ri, jj] & valid
    mates = (covers[:, jj] & real[:, None] & (cat_c[:, None] == cat_c[ri][None, :])
             & (np.arange(nc)[:, None] != ri[None, :])).any(axis=0)
    own_other = (own[ri] & (np.arange(na)[None, :] != jj[:, None])).any(axis=1)
    missed = ~valid | ~thing_a[jj]
    # one segment for this object and another one of its class
    merged = ~missed & same_ij & covers[ri, jj] & mates & ~own_other
    # the segment over most of it stands for another object: painted over it
    hidden = ~missed & ~merged & other_obj[ri, jj]
    confused = ~missed & ~merged & ~hidden & ~same_ij
    status = np.select([missed, merged, hidden, confused], [1, 4, 3, 2], 0)
    event[:, jj[merged | confused] + 1] = True
    event[ri[status != 0] + 1] = True
    event[ri + 1, 1:] |= other_obj[ri]
    parts = (inside[ri] & own[ri]).sum(axis=1)
    out = np.column_stack([cat_c[ri], area_c[ri], status, np.where(confused, cat_a[jj], 0), parts,
                           np.where(status != 4, lost[ri], 0).astype(np.int64), mergeable])
    return out.astype(np.int64), event


#: Most reference segments :func:`_pair_objects` takes compiled (its scratch table of what
#: each object took from each other one: 128 MB of int64 at 4,096).
_PAIR_OBJECTS = 4096


def _pair_objects(table: IntArray, cat_c: IntArray, cat_a: IntArray,
                  thing_c: npt.NDArray[np.bool_], thing_a: npt.NDArray[np.bool_],
                  near: npt.NDArray[np.bool_], min_area: float, crowd_c: npt.NDArray[np.bool_]
                  ) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """:func:`_objects` in one compiled pass over the table when the kernels are built (the
    numpy version: some 60 calls on small arrays, the kernel's cost on small images), else
    :func:`_objects`; the same arrays. Tables without a segment on either side, or with more
    than :data:`_PAIR_OBJECTS` reference segments (its scratch: their number squared), go to
    numpy."""
    kern = _native.kernels
    nc, na = cat_c.size, cat_a.size
    if kern is None or not nc or not na or nc > _PAIR_OBJECTS:
        return _objects(table, cat_c, cat_a, thing_c, thing_a, near, min_area, crowd_c)
    rows = np.empty((nc, 7), np.int64)
    event = np.zeros((nc + 1, na + 1), bool)
    n = kern.pair_objects(np.ascontiguousarray(table, np.int64), nc, na,
                          np.ascontiguousarray(cat_c, np.int64),
                          np.ascontiguousarray(cat_a, np.int64),
                          np.ascontiguousarray(thing_c, bool), np.ascontiguousarray(crowd_c, bool),
                          np.ascontiguousarray(thing_a, bool), np.ascontiguousarray(near, bool),
                          float(min_area), rows, event)
    return rows[:n].copy(), event


def _pairs(index: npt.NDArray[np.int32], d: int, axis: int
           ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Pixels ``d`` apart along ``axis`` whose tuples differ: the mask (on the first pixel of
    each pair) and the two tuples of each such pair (in row-major order of the first pixel).

    One compiled pass when the kernels are built (stretches of equal pairs skipped at once),
    else a comparison of two shifted views and two masked reads; the same arrays.
    """
    kern, width = _native.kernels, label_width(index)
    if kern is not None and width == index.dtype.itemsize and index.ndim == 2:
        lab = np.ascontiguousarray(index)
        h, w = lab.shape
        shape = (h, max(w - d, 0)) if axis == 1 else (max(h - d, 0), w)
        sel = np.zeros(shape, bool)
        xs, ys = np.empty(sel.size, lab.dtype), np.empty(sel.size, lab.dtype)
        n = kern.neighbour_pairs(lab, h, w, d, axis, xs, ys, sel, width)
        return sel, xs[:n].copy(), ys[:n].copy()
    x, y = (index[:, :-d], index[:, d:]) if axis == 1 else (index[:-d, :], index[d:, :])
    sel = x != y
    return sel, x[sel], y[sel]


#: Largest ``T * T`` (tuples squared) whose pairs :func:`_distinct` counts in a dense table
#: (2 MB of int64; and at most 4 cells a pair), else it sorts them.
_DENSE_PAIRS = 1 << 18


def _distinct(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray], n_t: int
              ) -> tuple[IntArray, IntArray, IntArray]:
    """The distinct pairs of tuples ``(x, y)`` among the pairs ``(xs[k][i], ys[k][i])``, in
    increasing order of ``x * T + y``, and how often each occurs."""
    codes = [x.astype(np.int64) * n_t + y for x, y in zip(xs, ys, strict=True)]
    cells = n_t * n_t
    if cells <= min(_DENSE_PAIRS, 4 * sum(code.size for code in codes)):
        count = np.zeros(cells, np.int64)
        for code in codes:
            count += np.bincount(code, minlength=cells)
        pos = np.flatnonzero(count)
        count = count[pos]
    else:
        pos, count = np.unique(np.concatenate(codes), return_counts=True)
        count = count.astype(np.int64)
    return pos // n_t, pos % n_t, count


def _met(index: npt.NDArray[np.int32], d0: int, d1: int, n_t: int) -> tuple[IntArray, IntArray]:
    """The distinct pairs of tuples ``(x, y)`` of pixels ``d0`` to ``d1`` apart along either
    axis (``x`` first in row-major order), in increasing order of ``x * T + y``: marked in a
    dense table in one compiled pass per distance and axis (no list of pixel pairs), else
    :func:`_distinct` of :func:`_pairs`."""
    kern, width = _native.kernels, label_width(index)
    if (kern is not None and n_t * n_t <= _DENSE_PAIRS and width == index.dtype.itemsize
            and index.ndim == 2):
        table = np.zeros(n_t * n_t, np.uint8)
        h, w = index.shape
        if not kern.neighbour_marks(np.ascontiguousarray(index), h, w, d0, d1, n_t, table, width):
            pos = np.flatnonzero(table)
            return pos // n_t, pos % n_t
    pairs = [_pairs(index, d, axis) for d in range(d0, d1 + 1) for axis in (1, 0)]
    x, y, _ = _distinct([p[1] for p in pairs], [p[2] for p in pairs], n_t)
    return x, y


def _adjacency(labels: IntArray, x: IntArray, y: IntArray, count: IntArray, k1: int
               ) -> IntArray:
    """``out[a]``: the label changes of annotator ``a`` (``labels[a]``: per tuple) over
    ``count[i]`` neighbouring pixel pairs of tuples ``(x[i], y[i])``, per class pair, both
    ways (symmetric)."""
    n = labels.shape[0]
    la, lb = labels[:, x], labels[:, y]
    diff = la != lb
    code = (np.arange(n)[:, None] * k1 + la) * k1 + lb
    table = np.bincount(code[diff], weights=np.broadcast_to(count, la.shape)[diff],
                        minlength=n * k1 * k1)
    table = np.rint(table).astype(np.int64).reshape(n, k1, k1)
    return table + table.transpose(0, 2, 1)


def _bands(index: npt.NDArray[np.int32], lc: IntArray, pairs: list, d: int
           ) -> npt.NDArray[np.unsignedinteger]:
    """Bit ``k`` of each pixel: it lies within ``d`` px of a label change of ``lc[k]`` (the
    consensus labels of the tuples), as :func:`agreement.metrics.boundary.boundary_near` of
    each consensus map, all maps in one pass (a label changes only where the tuple does).

    ``pairs``: :func:`_pairs` at distance 1 along rows and along columns.
    """
    return near_changes(*packed_changes(index.shape, lc, pairs), d=d)


#: Pixels of a band of rows counted at once by :func:`_in_band`.
_BAND_PIXELS = 1 << 20


def _in_band(index: npt.NDArray[np.int32], bits: np.ndarray, n: int, n_t: int) -> IntArray:
    """``out[k, t]``: pixels of tuple ``t`` whose bit ``k`` is set."""
    if n <= 5:  # pixels per (tuple, bit pattern): the compiled pair count (runs of equal pairs
        # counted once), else one bincount a band of rows at a time (a large photo's whole key
        # map, and bincount's int64 copy of it, would be 12 bytes a pixel)
        per = _pair_counts(index, bits, n_t, 1 << n)
        if per is None:
            per = _tuple_patterns(index, bits, n, n_t)
        patterns = np.arange(1 << n)
        return np.stack([per[:, (patterns >> k) & 1 == 1].sum(axis=1) for k in range(n)])
    return np.stack([np.bincount(index[(bits >> k) & 1 == 1], minlength=n_t)
                     for k in range(n)]).astype(np.int64)


def _tuple_patterns(index: npt.NDArray[np.int32], bits: np.ndarray, n: int, n_t: int
                    ) -> IntArray:
    """``out[t, p]``: pixels of tuple ``t`` whose ``n`` bits are ``p``, with numpy."""
    wide = np.int32 if (n_t << n) < (1 << 31) else np.int64
    per = np.zeros(n_t << n, np.int64)
    rows = max(1, _BAND_PIXELS // max(1, index.shape[1]))
    for r0 in range(0, index.shape[0], rows):
        key = index[r0:r0 + rows].astype(wide)
        key *= wide(1 << n)
        key += bits[r0:r0 + rows]
        per += np.bincount(key.ravel(), minlength=n_t << n)
    return per.reshape(n_t, 1 << n)


def maps_record(maps: ImageMaps, *, band_ratio: float = 0.02, min_share: float = 0.5
                ) -> ImageRecord | None:
    """The findings' record of one image from its :class:`~agreement.image.maps.ImageMaps`
    (None with fewer than two readable annotations).

    Everything is read from what the pass already holds for the image: the tuples (labels per
    tuple; which tuples are neighbours), the joint table of each annotator pair (objects), and
    the leave-one-out consensus of each annotator (:func:`agreement.image.voting.
    consensus_tuples`, shared with the leave-one-out scores). Per pixel there remain the
    neighbouring tuples, one band map holding every annotator's consensus band (one bit each)
    and one ``bincount``.
    """
    names = maps.names
    if len(names) < 2:
        return None
    categories = maps.categories
    ids = maps.category_ids
    k1 = len(ids) + 1
    t = maps.tuples()
    n_t = len(t)
    index = t.index
    labels = maps.tuple_labels().astype(np.int64)  # (N, T)
    anns = [maps.annotations[n] for n in names]
    shape = anns[0].shape
    band = band_width(shape, band_ratio)
    min_area = max(10.0, MIN_OBJECT * shape[0] * shape[1])
    thing_of = np.array([False] + [categories[c].isthing for c in ids])
    cats = [maps.segment_labels(n)[1:].astype(np.int64) for n in names]
    crowd = [np.array([s.iscrowd for s in ann.segments], bool) for ann in anns]
    n = len(names)
    steps = [_pairs(index, 1, 1), _pairs(index, 1, 0)]
    # the distinct pairs of neighbouring tuples (a few hundred, against 10^5 pixel pairs)
    px, py, cnt = _distinct([s[1] for s in steps], [s[2] for s in steps], n_t)
    adjacency = _adjacency(labels, px, py, cnt, k1)
    # thing segments near each other (mergeable objects): only tuples holding some thing
    thing_t = thing_of[labels].any(axis=0)
    nx, ny = px, py
    if thing_t.any():  # (a pair met at several distances is marked once: no matter)
        qx, qy = _met(index, 2, _NEAR, n_t)
        nx, ny = np.concatenate([px, qx]), np.concatenate([py, qy])
    keep = thing_t[nx] & thing_t[ny]
    nx, ny = nx[keep], ny[keep]
    near = []
    for ai in range(n):
        ci, cj = t.codes[nx, ai], t.codes[ny, ai]
        sel = (ci != cj) & (ci > 0) & (cj > 0)
        m = np.zeros((len(anns[ai].segments) + 1,) * 2, bool)
        m[ci[sel], cj[sel]] = True
        near.append(m | m.T)
    objects, pairs = [], []
    codes = [np.ascontiguousarray(t.codes[:, i]) for i in range(n)]
    events = np.zeros((n, n_t), np.int64)  # in how many pairs a tuple is an object event
    for ai, a in enumerate(names):
        for bi, b in enumerate(names):
            if bi == ai:
                continue
            table = maps.pair(a, b).table_for(b)
            rows, event = _pair_objects(table, cats[bi], cats[ai], thing_of[cats[bi]],
                                        thing_of[cats[ai]], near[bi], min_area, crowd[bi])
            objects.append(rows)
            pairs.append((ai, bi))
            events[ai] += event[codes[bi], codes[ai]]
    head = np.repeat(np.array(pairs, np.int64), [len(r) for r in objects], axis=0)
    cat_ids = np.asarray(ids, np.int64)
    lc = np.zeros((n, n_t), np.int64)  # each annotator's consensus of the others, per tuple
    for ai, a in enumerate(names):
        cons = consensus_tuples(maps, tuple(b for b in names if b != a), min_share=min_share)
        seg_label = np.concatenate([[0], np.searchsorted(cat_ids, cons.categories) + 1])
        lc[ai] = seg_label[cons.segment]
    in_band = np.concatenate([_in_band(index, _bands(index, lc[g:g + 8], steps, band),
                                       min(8, n - g), n_t) for g in range(0, n, 8)])
    return ImageRecord(maps.image, tuple(names), tuple(ids),
                       _pixels(events, lc, labels, t.count, in_band, k1), adjacency,
                       np.concatenate([head, np.concatenate(objects)], axis=1), band, shape)


def _pixels(events: IntArray, lc: IntArray, labels: IntArray, count: IntArray,
            in_band: IntArray, k1: int) -> IntArray:
    """:attr:`ImageRecord.pixels` from per-tuple arrays (rows: annotators): in how many pairs
    a tuple is an object event, its consensus label, its label, its pixels and those in the
    band. One ``bincount`` for every annotator (weights: pixels; sums exact in float64)."""
    n = events.shape[0]
    majority = 2 * events > n - 1  # as the consensus: most of the others agree
    zone = np.where(majority[..., None], 0, np.array([2, 1]))  # (N, T, 2): interior, band
    split = np.stack([count - in_band, in_band], axis=2)
    code = ((np.arange(n)[:, None, None] * 3 + zone) * k1 + lc[..., None]) * k1 + labels[..., None]
    out = np.bincount(code.ravel(), weights=split.ravel(), minlength=n * 3 * k1 * k1)
    return np.rint(out).astype(np.int64).reshape(n, 3, k1, k1)


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
