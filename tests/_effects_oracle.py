"""The effect table as first written: every key of ``_dense`` made dense over all images, each
test's columns copied out of them, then stacked.

A test oracle for :func:`agreement.diagnosis._effects.effect_table`, which builds the family in
the table's own arrays: both must give the same table, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agreement.diagnosis._effects import (
    _SIZE_QUANTILES,
    EffectTable,
    _dense,
    _merged_by_anyone,
)
from agreement.diagnosis._kernel import ImageRecord

FloatArray = np.ndarray


def dense_effect_table(records: Sequence[ImageRecord], annotators: Sequence[str], *,
                       min_images: int = 3, thing: Sequence[bool]) -> EffectTable:
    """:func:`agreement.diagnosis._effects.effect_table` as it was built before (a dense array
    per numerator over every image, a copy per test, stacked at the end): the oracle of the
    construction in the final arrays.

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
