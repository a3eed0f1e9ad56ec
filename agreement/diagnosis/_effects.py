"""Per-image effects of every (annotator, kind, class) from the image records.

An effect of annotator ``a`` on image ``i`` is a ratio ``num / den`` measured against the
consensus of the others (:mod:`agreement.diagnosis._kernel`); ``den`` is also the effect's
*size* (pixels, objects, border length) used to weigh findings by impact. Undefined effects
(the class is absent, the annotator lacks the image) are NaN.

======================  ============================================  =======================
kind                    num / den (per image)                         unit
======================  ============================================  =======================
class_confusion (A, B)  things: area of A objects the annotator       share of A's pixels
                        labels B / area of A objects; stuff: interior
                        A pixels labelled B / interior A pixels
boundary_offset (A, B)  band pixels the annotator labels A where the  px (signed, + = into B)
                        consensus says B, minus the reverse / length
                        of the A|B border in the others' maps
boundary_detail (A)     band pixels on A's borders labelled another   px
                        class than by the consensus / A's border
                        length; () = every border; (every thing
                        class) = the objects' outlines, pooled
extent (A)              pixels labelled A by the annotator minus by   share of A's pixels
                        the consensus (class to class) / A's pixels     (signed)
missed_small (size)     objects under ``size`` px missed / objects     share of objects
                        under ``size``
merge (C)               C objects merged with a neighbour / C objects  share of objects
                        with a neighbour within 3 px or merged by
                        some annotator
split (C)               C objects cut into >= 2 parts / C objects      share of objects
unlabeled ()            labelled consensus pixels left void / labelled share of pixels
                        consensus pixels
layer_overlap ()        thing pixels taken by a segment of another     share of pixels
                        object / thing pixels
======================  ============================================  =======================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from . import _stats
from ._kernel import ImageRecord

__all__ = ["KIND_UNITS", "SIGNED", "EffectTable", "effect_table"]

FloatArray = npt.NDArray[np.float64]

#: Unit of each kind's effect.
KIND_UNITS: dict[str, str] = {
    "class_confusion": "share of pixels", "boundary_offset": "px", "boundary_detail": "px",
    "extent": "share of pixels", "missed_small": "share of objects", "merge": "share of objects",
    "split": "share of objects", "unlabeled": "share of pixels",
    "layer_overlap": "share of pixels"}
#: Kinds whose effect has a sign (tested two-sided); the others are "more than the others".
SIGNED = frozenset({"boundary_offset", "extent"})
_SIZE_QUANTILES = (0.1, 0.2, 0.3, 0.45, 0.6)


@dataclass(frozen=True, eq=False)
class EffectTable:
    """Per-image effects of one study, for every test of its family.

    Attributes
    ----------
    images, annotators : tuple of str
    category_ids : tuple of int
        Label ``k`` is ``category_ids[k - 1]``.
    tests : tuple of (str, tuple of int)
        ``(kind, labels)``; labels are label numbers (``missed_small``: the size in px).
    num, den : ndarray of float64, shape (n_images, n_annotators, n_tests)
        The effect is ``num / den``; NaN where undefined.
    sizes : dict of int to ndarray of float64, shape (n_images, n_annotators)
        Per test whose size is not its ``den``, that size (:meth:`size`; kept apart: most
        tests' size is their ``den``, and a third table of the study's size is not held).
    present : ndarray of bool, shape (n_images, n_annotators)
    band : int
        Border band width, px.
    thing : ndarray of bool, shape (K + 1,)
        Whether label ``k`` is a thing class (label 0, void, is not).
    """

    images: tuple[str, ...]
    annotators: tuple[str, ...]
    category_ids: tuple[int, ...]
    tests: tuple[tuple[str, tuple[int, ...]], ...]
    num: FloatArray
    den: FloatArray
    sizes: dict[int, FloatArray]
    present: npt.NDArray[np.bool_]
    band: int
    thing: npt.NDArray[np.bool_]

    @property
    def values(self) -> FloatArray:
        """``num / den`` (NaN where undefined): the whole table (the study step reads it a test
        or a block of images at a time: :meth:`column`, :meth:`contrasts`)."""
        return _ratio(self.num, self.den)

    def column(self, t: int) -> FloatArray:
        """``values[:, :, t]``, shape (n_images, n_annotators), made from test ``t`` alone."""
        return _ratio(self.num[:, :, t], self.den[:, :, t])

    def columns(self, start: int, stop: int) -> FloatArray:
        """``values[:, :, start:stop]``, made from those tests alone."""
        return _ratio(self.num[:, :, start:stop], self.den[:, :, start:stop])

    def contrast_blocks(self) -> list[FloatArray]:
        """:func:`agreement.diagnosis._stats.column_blocks` of :attr:`values` (their contrasts
        in blocks of tests, what the tests take), each block made from its tests alone: the
        values are never made whole."""
        step = _stats._column_step(self.num.shape[0] * self.num.shape[1])
        return [_stats.contrasts(self.columns(j, j + step))
                for j in range(0, self.num.shape[-1], step)]

    def column_contrasts(self, t: int) -> FloatArray:
        """``contrasts()[:, :, t]``, made from test ``t`` alone (the median of an image's
        annotators is taken per test)."""
        return _stats.contrasts(self.column(t)[:, :, None])[:, :, 0]

    def names_only(self) -> EffectTable:
        """The table without its effects (``num``, ``den`` and ``sizes`` empty): its images,
        annotators, classes and tests, for a caller done with the effects."""
        empty = np.zeros((len(self.images), len(self.annotators), 0))
        return replace(self, num=empty, den=empty, sizes={})

    def size(self, t: int) -> FloatArray:
        """What an effect of 1 amounts to in pixels, per (image, annotator) of test ``t``:
        ``den`` for the pixel shares, the border length for px, the objects' area for the shares
        of objects (NaN where undefined)."""
        own = self.sizes.get(t)
        return self.den[:, :, t] if own is None else own


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """``num / den`` where ``den > 0``, NaN elsewhere."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _merged_by_anyone(rec: ImageRecord) -> npt.NDArray[np.bool_]:
    """Per object row: whether any annotator of the image merged that object (the rows of one
    reference annotator list its objects in the same order for every other annotator)."""
    o = rec.objects
    if not len(o):
        return np.zeros(0, bool)
    n = len(rec.annotators)
    block = o[:, 0] * n + o[:, 1]
    start = np.r_[0, np.flatnonzero(np.diff(block)) + 1]
    pos = np.arange(len(o)) - np.repeat(start, np.diff(np.r_[start, len(o)]))
    key = o[:, 1] * (int(pos.max()) + 1) + pos  # (reference, object)
    merged = np.zeros(int(key.max()) + 1, bool)
    merged[key[o[:, 4] == 4]] = True
    return merged[key]


def _dense(rec: ImageRecord, ai: int, thing: npt.NDArray[np.bool_],
           merged_any: npt.NDArray[np.bool_] | None = None) -> dict[str, np.ndarray]:
    """Numerators and denominators of one annotator on one image (dense, small)."""
    if merged_any is None:
        merged_any = _merged_by_anyone(rec)
    k1 = thing.size
    px = rec.pixels[ai].astype(float)
    band, inner = px[1], px[2]
    both = band + inner
    others = [b for b in range(len(rec.annotators)) if b != ai]
    length = rec.adjacency[others].mean(axis=0) * (np.pi / 4)  # 4-neighbour steps -> length
    length[0, :] = length[:, 0] = 0
    np.fill_diagonal(length, 0)
    out: dict[str, np.ndarray] = {}
    # offset: + = the annotator's A extends into the consensus B
    off = band.T - band
    off[0, :] = off[:, 0] = 0
    out["off_num"], out["off_den"] = off, length
    mis = band.copy()
    mis[0, :] = mis[:, 0] = 0
    np.fill_diagonal(mis, 0)
    out["det_num"] = mis.sum(axis=0) + mis.sum(axis=1)  # mismatch on the borders of each class
    out["det_den"] = length.sum(axis=1)
    cls = both[1:, 1:].copy()
    np.fill_diagonal(cls, 0)
    ext = np.zeros(k1)
    ext[1:] = cls.sum(axis=0) - cls.sum(axis=1)
    out["ext_num"], out["ext_den"] = ext, both.sum(axis=1) * (np.arange(k1) > 0)
    out["unl_num"] = np.array([both[1:, 0].sum()])
    out["unl_den"] = np.array([both[1:].sum()])
    obj = rec.objects[rec.objects[:, 0] == ai][:, 1:]  # against every other annotator, pooled
    w = 1.0 / max(1, len(rec.annotators) - 1)  # per other annotator: sizes in pixels of one map
    lab_o, area, status, other = obj[:, 1], obj[:, 2] * w, obj[:, 3], obj[:, 4]
    conf = np.zeros((k1, k1))
    conf_den = np.zeros(k1)
    np.add.at(conf, (lab_o[status == 2], other[status == 2]), area[status == 2])
    np.add.at(conf_den, lab_o, area)
    stuff = ~thing
    conf[stuff] = 0
    conf[np.ix_(stuff, stuff)] = inner[np.ix_(stuff, stuff)]
    conf[:, 0] = 0
    np.fill_diagonal(conf, 0)
    conf_den[stuff] = inner[stuff, 1:].sum(axis=1)
    conf_den[0] = 0
    out["conf_num"], out["conf_den"] = conf, conf_den
    # another object of its class within 3 px, or merged by some annotator of the image with
    # one further away (a merge proves a neighbour to merge with); the same objects for everyone
    mergeable = (obj[:, 7] == 1) | merged_any[rec.objects[:, 0] == ai]
    ones = np.full(len(obj), w)
    sel = mergeable & (status == 4)
    out["merge_num"] = np.bincount(lab_o[sel], ones[sel], minlength=k1)
    out["merge_den"] = np.bincount(lab_o[mergeable], ones[mergeable], minlength=k1)
    # about half of a merged or split object ends up in a segment that does not match it
    out["merge_size"] = np.bincount(lab_o[mergeable], area[mergeable] / 2, minlength=k1)
    kept = status == 0
    sel = kept & (obj[:, 5] >= 2)
    out["split_num"] = np.bincount(lab_o[sel], ones[sel], minlength=k1)
    out["split_den"] = np.bincount(lab_o[kept], ones[kept], minlength=k1)
    out["split_size"] = np.bincount(lab_o[kept], area[kept] / 2, minlength=k1)
    unmerged = status != 4
    out["layer_num"] = np.array([obj[unmerged, 6].sum() * w], float)
    out["layer_den"] = np.array([area[unmerged].sum()])
    return out


def effect_table(records: Sequence[ImageRecord], annotators: Sequence[str], *,
                 min_images: int = 3, thing: Sequence[bool]) -> EffectTable:
    """The per-image effects of every test of the study's family.

    A test is in the family when it is defined for at least two annotators on at least
    ``min_images`` images and, for the kinds counting events (confusion, missed, merge, split,
    layer), some annotator has such an event on at least two images. Both rules look at all
    annotators together, never at who is who, so the family is the same under any permutation
    of the annotators' roles (the permutation test stays exact).

    The records are read once, in order (a caller may let each go once read).
    """
    annotators = tuple(annotators)
    n, na = len(records), len(annotators)
    ids = records[0].category_ids if records else ()
    k1 = len(ids) + 1
    thing_arr = np.array([False, *thing])
    band = records[0].band if records else 0
    pos = {a: k for k, a in enumerate(annotators)}
    # of the class-pair tables, only the cells some test reads are kept (a third of them)
    pairs = {"conf_num": [(a_, b_) for a_ in range(1, k1) for b_ in range(1, k1)
                          if a_ != b_ and thing_arr[a_] == thing_arr[b_]],
             "off_num": [(a_, b_) for a_ in range(1, k1) for b_ in range(a_ + 1, k1)]}
    pairs["off_den"] = pairs["off_num"]
    cells = {key: (np.array([c[0] for c in p], np.intp), np.array([c[1] for c in p], np.intp))
             for key, p in pairs.items()}
    cell = {key: {c: j for j, c in enumerate(p)} for key, p in pairs.items()}
    dense: dict[str, np.ndarray] = {}
    present = np.zeros((n, na), bool)
    areas, objs, images = [], [], []
    for i, rec in enumerate(records):
        images.append(rec.image)
        merged_any = _merged_by_anyone(rec)
        for ai, a in enumerate(rec.annotators):
            d = _dense(rec, ai, thing_arr, merged_any)
            for key, v in d.items():
                if key in cells:
                    v = v[cells[key]]
                if key not in dense:
                    dense[key] = np.full((n, na, *v.shape), np.nan)
                dense[key][i, pos[a]] = v
            present[i, pos[a]] = True
            o = rec.objects[rec.objects[:, 0] == ai]
            area, status = o[:, 3].copy(), o[:, 4].copy()  # not views holding every column
            objs.append((i, pos[a], area, status, 1.0 / max(1, len(rec.annotators) - 1)))
            areas.append(area)
    tests, nums, dens = [], [], []
    sizes: dict[int, FloatArray] = {}

    def add(kind: str, labels: tuple[int, ...], num: np.ndarray, den: np.ndarray,
            min_den: float = 0.0, events: bool = False, size: np.ndarray | None = None) -> None:
        ok = np.where(np.isfinite(den), den, 0) > min_den
        defined = ok.sum(axis=1) >= 2
        if defined.sum() < min_images:
            return
        if events and (np.nan_to_num(num) > 0).any(axis=1).sum() < 2:
            return
        tests.append((kind, labels))
        nums.append(np.where(ok, num, np.nan))
        dens.append(np.where(ok, den, np.nan))
        if size is not None:
            sizes[len(tests) - 1] = np.where(ok, size, np.nan)

    if n:
        for a_ in range(1, k1):
            for b_ in range(1, k1):
                if a_ != b_ and thing_arr[a_] == thing_arr[b_]:
                    add("class_confusion", (a_, b_),
                        dense["conf_num"][..., cell["conf_num"][a_, b_]],
                        dense["conf_den"][..., a_], events=True)
        _drop(dense, "conf_num", "conf_den")  # each key's (n, annotators, K+1, ...) once used
        for a_ in range(1, k1):
            for b_ in range(a_ + 1, k1):
                j = cell["off_num"][a_, b_]
                add("boundary_offset", (a_, b_), dense["off_num"][..., j],
                    dense["off_den"][..., j], min_den=2.0 * band)
        _drop(dense, "off_num", "off_den")
        add("boundary_detail", (), dense["det_num"].sum(axis=-1) / 2,
            dense["det_den"].sum(axis=-1) / 2, min_den=2.0 * band)
        things = tuple(int(k) for k in np.flatnonzero(thing_arr))
        if len(things) > 1:  # the outlines of the objects, pooled
            add("boundary_detail", things, dense["det_num"][..., list(things)].sum(axis=-1),
                dense["det_den"][..., list(things)].sum(axis=-1), min_den=2.0 * band)
        for a_ in range(1, k1):
            add("boundary_detail", (a_,), dense["det_num"][..., a_], dense["det_den"][..., a_],
                min_den=2.0 * band)
        _drop(dense, "det_num", "det_den")
        for a_ in range(1, k1):
            add("extent", (a_,), dense["ext_num"][..., a_], dense["ext_den"][..., a_],
                min_den=float(band * band))
        _drop(dense, "ext_num", "ext_den")
        _missed(add, objs, areas, n, na)
        for c in np.flatnonzero(thing_arr):
            add("merge", (int(c),), dense["merge_num"][..., c], dense["merge_den"][..., c],
                events=True, size=dense["merge_size"][..., c])
            add("split", (int(c),), dense["split_num"][..., c], dense["split_den"][..., c],
                events=True, size=dense["split_size"][..., c])
        add("unlabeled", (), dense["unl_num"][..., 0], dense["unl_den"][..., 0])
        add("layer_overlap", (), dense["layer_num"][..., 0], dense["layer_den"][..., 0],
            events=True)
    dense.clear()
    shape = (n, na, len(tests))
    num, den = _stack(nums, shape), _stack(dens, shape)
    return EffectTable(tuple(images), annotators, tuple(ids), tuple(tests),
                       num, den, sizes, present, band, thing_arr)


def _drop(dense: dict[str, np.ndarray], *keys: str) -> None:
    for key in keys:
        dense.pop(key, None)


def _stack(columns: list[np.ndarray | None], shape: tuple[int, int, int]) -> FloatArray:
    """``np.stack(columns, axis=-1)`` (zeros when there is none), each column let go once
    copied: the table and its columns are not both held whole."""
    out = np.zeros(shape) if not columns else np.empty(shape)
    for t, col in enumerate(columns):
        out[..., t] = col
        columns[t] = None
    return out


def _missed(add, objs, areas, n: int, na: int) -> None:
    """``missed_small`` tests at a grid of sizes: quantiles of every consensus object's area
    (pooled over annotators, so the grid does not depend on who is who)."""
    pooled = np.concatenate(areas) if areas else np.zeros(0)
    if pooled.size == 0:
        return
    sizes = sorted({round(float(s)) for s in np.quantile(pooled, _SIZE_QUANTILES)})
    for s in sizes:
        num, den, size = (np.full((n, na), np.nan) for _ in range(3))
        for i, a, area, status, w in objs:
            small = area < s
            num[i, a] = float((small & (status == 1)).sum()) * w
            den[i, a] = float(small.sum()) * w
            size[i, a] = float(area[small].sum()) * w
        add("missed_small", (s,), num, den, events=True, size=size)
