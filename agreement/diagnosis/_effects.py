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

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .._spool import Spool
from . import _stats
from ._columns import Columns, SizeColumns, block_rows, block_tests, from_array, from_blocks
from ._family import Candidates, FamilyCounts, ObjectSizes, defined
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
    num, den : Columns, shape (n_images, n_annotators, n_tests)
        The effect is ``num / den``; NaN where undefined. Kept on disk a test at a time
        (:class:`agreement.diagnosis._columns.Columns`): read by tests or blocks of tests;
        ``np.asarray`` makes the whole array.
    sizes : mapping of int to ndarray of float64, shape (n_images, n_annotators)
        Per test whose size is not its ``den``, that size (:meth:`size`; kept on disk too and
        read when asked for).
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
    num: Columns
    den: Columns
    sizes: Mapping[int, FloatArray]
    present: npt.NDArray[np.bool_]
    band: int
    thing: npt.NDArray[np.bool_]

    def __post_init__(self) -> None:
        for name in ("num", "den"):  # arrays given (tests, oracles): kept as tables too
            if not isinstance(getattr(self, name), Columns):
                object.__setattr__(self, name, from_array(getattr(self, name)))

    @property
    def values(self) -> FloatArray:
        """``num / den`` (NaN where undefined): the whole table (the study step reads it a test
        or a block of tests at a time: :meth:`column`, :meth:`columns`)."""
        return _ratio(np.asarray(self.num), np.asarray(self.den))

    def column(self, t: int) -> FloatArray:
        """``values[:, :, t]``, shape (n_images, n_annotators), made from test ``t`` alone."""
        return _ratio(self.num.column(t), self.den.column(t))

    def columns(self, start: int, stop: int) -> FloatArray:
        """``values[:, :, start:stop]``, made from those tests alone."""
        return _ratio(self.num.tests(start, stop), self.den.tests(start, stop))

    def contrast_blocks(self) -> list[FloatArray]:
        """:func:`agreement.diagnosis._stats.column_blocks` of :attr:`values` (their contrasts
        in blocks of tests), each block made from its tests alone."""
        return list(self.iter_contrast_blocks())

    def iter_contrast_blocks(self) -> Iterator[FloatArray]:
        """:meth:`contrast_blocks`, each block made when asked for."""
        step = block_tests(self.num.shape[0] * self.num.shape[1])
        for j in range(0, self.num.shape[-1], step):
            yield _stats.contrasts(self.columns(j, j + step))

    def contrasts(self) -> Columns:
        """The contrasts of every test (:func:`agreement.diagnosis._stats.contrasts`), made a
        block of tests at a time into a :class:`Columns` of their own (on disk)."""
        return from_blocks(self.num.shape, self.iter_contrast_blocks())

    def column_contrasts(self, t: int) -> FloatArray:
        """``contrasts()[:, :, t]``, made from test ``t`` alone (the median of an image's
        annotators is taken per test)."""
        return _stats.contrasts(self.column(t)[:, :, None])[:, :, 0]

    def close(self) -> None:
        """Let the effects' temporary files go (the table keeps its names)."""
        for part in (self.num, self.den, self.sizes):
            close = getattr(part, "close", None)
            if close is not None:
                close()

    def size(self, t: int) -> FloatArray:
        """What an effect of 1 amounts to in pixels, per (image, annotator) of test ``t``:
        ``den`` for the pixel shares, the border length for px, the objects' area for the shares
        of objects (NaN where undefined)."""
        if t in self.sizes:
            return self.sizes[t]
        return self.den.column(t)


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

    The records are read twice, in order, never indexed: the first reading counts every
    candidate test's images (:mod:`agreement.diagnosis._family`) and pools the objects' areas;
    the second writes the family's columns, a block of images at a time, to the table's
    temporary files (:class:`agreement.diagnosis._columns.Columns`). Nothing of the study but
    small per-image vectors and the objects' areas is held: neither the candidates' columns
    nor the family's.
    """
    annotators = tuple(annotators)
    n, na = len(records), len(annotators)
    thing_arr = np.array([False, *thing])
    pos = {a: k for k, a in enumerate(annotators)}
    present = np.zeros((n, na), bool)
    objs = ObjectSizes(n * na)
    images: list[str] = []
    ids: tuple[int, ...] = ()
    band = 0
    cands = None
    counts = None
    cache: _Rows | None = None
    for i, rec in enumerate(records):  # first reading: the family's counts
        if cands is None:
            ids, band = rec.category_ids, rec.band
            cands = Candidates(len(ids) + 1, thing_arr, band, len(_SIZE_QUANTILES))
            counts = FamilyCounts(cands)
            cache = _Rows.for_study(n, na, cands)
        images.append(rec.image)
        rows = np.array([pos[a] for a in rec.annotators], np.intp)
        num, den, size = _image_rows(rec, cands, thing_arr, na, rows)
        counts.add(num, den)
        if cache is not None:
            cache.add(num, den, size)
        present[i, rows] = True
        objs.add(rec.objects, i * na + rows, 1.0 / max(1, len(rec.annotators) - 1), i * na)
    if cache is not None:
        cache.flush()
    if len(images) != n:
        raise ValueError(f"the records gave {len(images)} images, expected {n}")
    if cands is None:
        empty = Columns((n, na, 0))
        return EffectTable(tuple(images), annotators, ids, (), empty, Columns((n, na, 0)),
                           SizeColumns(Columns((n, na, 0)), ()), present, band, thing_arr)
    usable = np.ones(cands.width, bool)
    grid = _missed_grid(cands, objs, usable)
    for k, c in enumerate(range(cands.missed.start, cands.missed.stop)):
        if k < len(grid):
            m_num, m_den, _ = (v.reshape(n, na) for v in objs.missed(grid[k]))
            counts.add_column(c, m_num, m_den)
    keep = counts.family(usable, min_images)
    cols = np.flatnonzero(keep)
    tests = tuple(t for t, k in zip(cands.tests, keep, strict=True) if k)
    sized = [int(s) for s, c in enumerate(cands.sized) if keep[c]]  # slots of kept sized
    test_of = np.cumsum(keep) - 1
    num_t, den_t = Columns((n, na, cols.size)), Columns((n, na, cols.size))
    size_t = Columns((n, na, len(sized)))
    step = block_rows(na * max(cols.size, 1))
    min_den = cands.min_den[cols]
    sized_cols = cands.sized[sized]
    block = None
    read = 0
    if cache is not None:  # second reading: the candidates as the first one wrote them
        again = cache.read()
    else:  # or made again from the records
        again = (_image_rows(rec, cands, thing_arr, na,
                             np.array([pos[a] for a in rec.annotators], np.intp))
                 for rec in records)
    for i, (num, den, size) in enumerate(again):  # the family's columns
        if i % step == 0:
            if block is not None:
                _write_block(block, i - step, num_t, den_t, size_t)
            b = min(step, n - i)
            block = [np.full((b, na, cols.size), np.nan), np.full((b, na, cols.size), np.nan),
                     np.full((b, na, len(sized)), np.nan)]
        j = i % step
        d, v = den[:, cols], num[:, cols]
        bad = ~defined(d, min_den)  # undefined: NaN in both
        d[bad] = v[bad] = np.nan
        block[0][j], block[1][j], block[2][j] = v, d, size[:, sized]
        sized_den = den[:, sized_cols]  # a size is undefined where its test is
        block[2][j][~defined(sized_den, cands.min_den[sized_cols])] = np.nan
        read = i + 1
    if block is not None:
        _write_block(block, n - len(block[0]), num_t, den_t, size_t)
    del block
    if read != n:  # a second reading of another length would leave rows unwritten
        raise ValueError(f"the records gave {read} images when read again, expected {n}")
    if cache is not None:
        cache.close()
    for k, c in enumerate(range(cands.missed.start, cands.missed.stop)):
        if k >= len(grid) or not keep[c]:
            continue
        m_num, m_den, m_size = (v.reshape(n, na, 1) for v in objs.missed(grid[k]))
        bad = ~defined(m_den, cands.min_den[c])
        t = int(test_of[c])
        num_t.write_tests(t, np.where(bad, np.nan, m_num))
        den_t.write_tests(t, np.where(bad, np.nan, m_den))
        size_t.write_tests(sized.index(int(np.flatnonzero(cands.sized == c)[0])),
                           np.where(bad, np.nan, m_size))
    del objs
    return EffectTable(tuple(images), annotators, tuple(ids), tests, num_t, den_t,
                       SizeColumns(size_t, [int(test_of[cands.sized[s]]) for s in sized]),
                       present, band, thing_arr)


class _Rows:
    """Every image's candidates as the first reading made them, in a temporary file
    (:class:`agreement._spool.Spool`, a block of images a batch), for the second reading: when
    the file stays under :data:`_ROWS_MAX` bytes, reading it back is cheaper than making the
    candidates again from the records."""

    def __init__(self, na: int, width: int, sized: int) -> None:
        self._split = (width, 2 * width)
        self._step = block_rows(na * (2 * width + sized))
        self._spool = Spool()
        self._pending: list[FloatArray] = []

    @classmethod
    def for_study(cls, n: int, na: int, cands: Candidates) -> _Rows | None:
        per = na * (2 * cands.width + cands.sized.size) * 8
        return cls(na, cands.width, cands.sized.size) if n * per <= _ROWS_MAX else None

    def add(self, num: FloatArray, den: FloatArray, size: FloatArray) -> None:
        self._pending.append(np.concatenate([num, den, size], axis=1))
        if len(self._pending) >= self._step:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._spool.extend([np.stack(self._pending)])
            self._pending = []

    def read(self) -> Iterator[tuple[FloatArray, FloatArray, FloatArray]]:
        a, b = self._split
        for batch in self._spool:
            for row in batch:
                yield row[:, :a], row[:, a:b], row[:, b:]

    def close(self) -> None:
        self._spool.close()


#: Bytes of the first reading's candidates kept for the second (beyond, they are made again).
_ROWS_MAX = 1 << 28


def _write_block(block: list[FloatArray], start: int, num: Columns, den: Columns,
                 size: Columns) -> None:
    """A block of images' kept columns, NaN where a test is undefined, to the tables."""
    n_b, d_b, s_b = block
    num.write_rows(start, n_b)
    den.write_rows(start, d_b)
    size.write_rows(start, s_b)


def _image_rows(rec: ImageRecord, cands: Candidates, thing: npt.NDArray[np.bool_], na: int,
                rows: npt.NDArray[np.intp]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """One image's candidates: ``num``, ``den`` (N, C) and ``size`` (N, S), NaN for the
    study's annotators without the image (and in the ``missed_small`` slots)."""
    num, den = np.full((na, cands.width), np.nan), np.full((na, cands.width), np.nan)
    size = np.full((na, cands.sized.size), np.nan)
    merged_any = _merged_by_anyone(rec)
    for ai, a in enumerate(rows):
        cands.fill(_dense(rec, ai, thing, merged_any), num[a], den[a], size[a])
    return num, den, size


def _missed_grid(cands: Candidates, objs: ObjectSizes, usable: npt.NDArray[np.bool_]
                 ) -> list[int]:
    """The ``missed_small`` sizes: quantiles of every consensus object's area (pooled over
    annotators, so the grid does not depend on who is who); the slots without a size are not
    usable, the others are named after their size."""
    pooled = objs.areas()
    grid = [] if pooled.size == 0 else sorted(  # the same quantiles, pooled sorted in place
        {round(float(s)) for s in np.quantile(pooled, _SIZE_QUANTILES, overwrite_input=True)})
    del pooled
    for k, c in enumerate(range(cands.missed.start, cands.missed.stop)):
        if k >= len(grid):
            usable[c] = False
        else:
            cands.tests[c] = ("missed_small", (grid[k],))
    return grid
