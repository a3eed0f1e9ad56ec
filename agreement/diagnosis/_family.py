"""The family of tests of an effect table: its candidates and the counts that choose them.

Which tests enter the family is known only once every image is read (a test needs
``min_images`` images where two annotators have it, and for the counted kinds events on two
images). :func:`agreement.diagnosis._effects.effect_table` reads the records twice: the first
reading makes every *candidate* test (:class:`Candidates`: each a test the family may hold, in
the table's order) of each image and counts them (:class:`FamilyCounts`), the second writes
the family's columns. No column of a candidate is held over the images (with the square of
the number of classes, their table would be the study step's largest).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

__all__ = ["Candidates", "FamilyCounts", "ObjectSizes", "defined"]

FloatArray = npt.NDArray[np.float64]
#: Records whose objects are joined into one block of :class:`ObjectSizes`.
_JOIN = 256


class Candidates:
    """Every test the family of a label space may hold, in the table's order.

    ``class_confusion`` (A, B) for the class pairs of the same kind (thing / stuff),
    ``boundary_offset`` (A, B) for A < B, ``boundary_detail`` () then (every thing class,
    with two or more) then (A,), ``extent`` (A,), ``missed_small`` (``n_missed`` slots whose
    sizes are set once every object is read), then ``merge`` (C,) and ``split`` (C,) per
    thing class C, ``unlabeled`` (), ``layer_overlap`` ().

    Attributes
    ----------
    tests : list of (str, tuple of int)
        ``(kind, labels)``; the ``missed_small`` slots' labels are ``()`` until set.
    min_den : ndarray of float64, shape (C,)
        A test is defined where its ``den`` exceeds this.
    events : ndarray of bool, shape (C,)
        Kinds counting events (needing some annotator's event on two images).
    missed : slice
        The ``missed_small`` slots.
    sized : ndarray of intp, shape (S,)
        The candidates with a size of their own (``missed_small``, ``merge``, ``split``):
        ``size[s]`` of the sizes (S, n, N) is that of candidate ``sized[s]``.
    """

    def __init__(self, k1: int, thing: npt.NDArray[np.bool_], band: int, n_missed: int
                 ) -> None:
        conf = [(a, b) for a in range(1, k1) for b in range(1, k1)
                if a != b and thing[a] == thing[b]]
        off = [(a, b) for a in range(1, k1) for b in range(a + 1, k1)]
        self.things = np.flatnonzero(thing)
        things = tuple(int(k) for k in self.things)
        tests: list[tuple[str, tuple[int, ...]]] = [("class_confusion", p) for p in conf]
        tests += [("boundary_offset", p) for p in off]
        self.detail = len(tests)
        tests += [("boundary_detail", ())]
        tests += [("boundary_detail", things)] if len(things) > 1 else []
        tests += [("boundary_detail", (a,)) for a in range(1, k1)]
        tests += [("extent", (a,)) for a in range(1, k1)]
        self.missed = slice(len(tests), len(tests) + n_missed)
        tests += [("missed_small", ())] * n_missed
        self.merge = len(tests)  # merge (C,), split (C,) alternate
        for c in things:
            tests += [("merge", (c,)), ("split", (c,))]
        tests += [("unlabeled", ()), ("layer_overlap", ())]
        self.tests = tests
        kinds = [k for k, _ in tests]
        self.min_den = np.array([2.0 * band if k in ("boundary_offset", "boundary_detail")
                                 else float(band * band) if k == "extent" else 0.0
                                 for k in kinds])
        self.events = np.array([k in ("class_confusion", "missed_small", "merge", "split",
                                      "layer_overlap") for k in kinds], bool)
        self.sized = np.array([t for t, k in enumerate(kinds)
                               if k in ("missed_small", "merge", "split")], np.intp)
        self._conf = (np.array([p[0] for p in conf], np.intp),
                      np.array([p[1] for p in conf], np.intp))
        self._off = (np.array([p[0] for p in off], np.intp),
                     np.array([p[1] for p in off], np.intp))
        self._k1 = k1

    @property
    def width(self) -> int:
        """Number of candidates."""
        return len(self.tests)

    def fill(self, d: Mapping[str, np.ndarray], num: FloatArray, den: FloatArray,
             size: FloatArray) -> None:
        """Write one (image, annotator)'s candidates from its :func:`_effects._dense` ``d`` into
        its ``num``, ``den`` (C,) and ``size`` (S,) (the ``missed_small`` slots are left as
        they are)."""
        nc, j, k1 = len(self._conf[0]), self.detail, self._k1
        num[:nc], den[:nc] = d["conf_num"][self._conf], d["conf_den"][self._conf[0]]
        num[nc:j], den[nc:j] = d["off_num"][self._off], d["off_den"][self._off]
        det, det_den = d["det_num"], d["det_den"]
        num[j], den[j] = det.sum() / 2, det_den.sum() / 2
        if len(self.things) > 1:  # the outlines of the objects, pooled
            j += 1
            num[j], den[j] = det[self.things].sum(), det_den[self.things].sum()
        num[j + 1:j + k1], den[j + 1:j + k1] = det[1:], det_den[1:]
        j += k1
        num[j:j + k1 - 1], den[j:j + k1 - 1] = d["ext_num"][1:], d["ext_den"][1:]
        m, nt, th = self.merge, 2 * len(self.things), self.things
        num[m:m + nt:2], den[m:m + nt:2] = d["merge_num"][th], d["merge_den"][th]
        num[m + 1:m + nt:2], den[m + 1:m + nt:2] = d["split_num"][th], d["split_den"][th]
        s = self.missed.stop - self.missed.start
        size[s:s + nt:2], size[s + 1:s + nt:2] = d["merge_size"][th], d["split_size"][th]
        num[m + nt], den[m + nt] = d["unl_num"][0], d["unl_den"][0]
        num[m + nt + 1], den[m + nt + 1] = d["layer_num"][0], d["layer_den"][0]


class ObjectSizes:
    """The consensus objects' areas and statuses of every (image, annotator), for the
    ``missed_small`` tests: compact (an object's row in the table is implied by the rows'
    object counts, areas in int32 when they fit, statuses in int8), joined into one block per
    :data:`_JOIN` records.

    Parameters
    ----------
    rows : int
        Rows of the table (images x annotators), in the order images are added.
    """

    def __init__(self, rows: int) -> None:
        self.weight = np.full(rows, np.nan)  # 1 / other annotators; NaN: no such row
        self.count = np.zeros(rows, np.int64)  # objects of each row
        self._blocks: list[tuple[int, np.ndarray, np.ndarray]] = []  # first row, areas, status
        self._pending: list[tuple[int, np.ndarray, np.ndarray]] = []

    def add(self, objects: np.ndarray, rows: np.ndarray, weight: float, first: int) -> None:
        """One image's objects (:attr:`ImageRecord.objects`, added after every image before
        it); ``rows[a]`` is the table row of the image's annotator ``a``, all in the image's
        rows from ``first`` on (those of no image before it)."""
        self.weight[rows] = weight
        row = rows[objects[:, 0]]
        order = np.argsort(row, kind="stable")
        self.count[rows] = np.bincount(objects[:, 0], minlength=rows.size)
        area = objects[order, 3]
        if not area.size or area.max() <= np.iinfo(np.int32).max:
            area = area.astype(np.int32)
        self._pending.append((first, area,
                              objects[order, 4].astype(np.int8)))
        if len(self._pending) >= _JOIN:
            self._join()

    def _join(self) -> None:
        if self._pending:
            self._blocks.append((self._pending[0][0],
                                 np.concatenate([p[1] for p in self._pending]),
                                 np.concatenate([p[2] for p in self._pending])))
            self._pending = []

    def areas(self) -> np.ndarray:
        """Every object's area, pooled over annotators and images."""
        self._join()
        return np.concatenate([b[1] for b in self._blocks]) if self._blocks else np.zeros(0)

    def missed(self, s: int) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Per row: objects under ``s`` px missed, objects under ``s`` px, their area (counts and
        areas summed as integers, each times the row's weight; NaN where the row has no
        image)."""
        self._join()
        num, den, area = (np.zeros(self.weight.size, np.int64) for _ in range(3))
        for b, (first, a, status) in enumerate(self._blocks):
            stop = self._blocks[b + 1][0] if b + 1 < len(self._blocks) else self.count.size
            row = np.repeat(np.arange(stop - first), self.count[first:stop])
            small = a < s
            num[first:stop] += np.bincount(row[small & (status == 1)], minlength=stop - first)
            den[first:stop] += np.bincount(row[small], minlength=stop - first)
            area[first:stop] += np.bincount(row[small], a[small],
                                            minlength=stop - first).astype(np.int64)
        return num * self.weight, den * self.weight, area * self.weight


def defined(den: FloatArray, min_den: FloatArray | float) -> npt.NDArray[np.bool_]:
    """Where a candidate is defined: its ``den`` finite and above the candidate's minimum."""
    return np.where(np.isfinite(den), den, 0) > min_den


class FamilyCounts:
    """Per candidate test, the images where two annotators have it defined and the images where
    some annotator has an event: what :meth:`family` decides on, counted an image at a time
    (:meth:`add`) or a candidate over every image at a time (:meth:`add_column`)."""

    def __init__(self, cands: Candidates) -> None:
        self.cands = cands
        self.defined = np.zeros(cands.width, np.int64)
        self.evented = np.zeros(cands.width, np.int64)

    def add(self, num: FloatArray, den: FloatArray) -> None:
        """One image's candidates, ``num`` and ``den`` (annotators, C), NaN where undefined."""
        ok = defined(den, self.cands.min_den)
        self.defined += ok.sum(axis=0) >= 2
        self.evented += (num > 0).any(axis=0)  # NaN, -inf: not positive

    def add_column(self, c: int, num: FloatArray, den: FloatArray) -> None:
        """Candidate ``c`` over every image (``num``, ``den``: (n, annotators)), replacing what
        :meth:`add` counted for it."""
        ok = defined(den, self.cands.min_den[c])
        self.defined[c] = int((ok.sum(axis=1) >= 2).sum())
        self.evented[c] = int((num > 0).any(axis=1).sum())

    def family(self, usable: npt.NDArray[np.bool_], min_images: int) -> npt.NDArray[np.bool_]:
        """Which candidates enter the family: defined (``den`` above the candidate's minimum)
        for two annotators on ``min_images`` images, and for the kinds counting events, some
        annotator's ``num`` positive on two images (``usable``: the candidates that may)."""
        return usable & (self.defined >= min_images) & (~self.cands.events | (self.evented >= 2))
