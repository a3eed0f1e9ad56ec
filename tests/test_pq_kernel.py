"""The PQ part's per-image kernel against its previous, straightforward implementation.

The kernel (:func:`agreement.image.pairs.evaluate_pairs`: the joint table of a pair, the
panoptic and Boundary PQ matchings, the counts, the diagnosis) computes each overlap's areas,
pairs and IoU once and reads its tables from slices; the oracles below are the previous code,
which recomputed them per call: on random small maps, every value must be equal (floats
included: the same operations in the same order).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement.matching import (
    Diagnosis,
    Overlap,
    _best_per_row,
    _small_assignment,
    diagnose,
    match_segments,
    segment_overlap,
)
from agreement.metrics.boundary import (
    BoundaryOverlap,
    banded,
    boundary_band,
    evaluate_pair,
    joint_overlap_banded,
)
from agreement.metrics.pq import pq_counts
from agreement.model import PanopticAnnotation

THINGS = {1, 2}


# --- oracles: the previous implementation ---------------------------------------------------

def old_joint_overlap_banded(ref_banded, other_banded, nr, no):
    full = np.zeros((2 * (nr + 1), 2 * (no + 1)), np.int64)
    np.add.at(full, (ref_banded.ravel(), other_banded.ravel()), 1)
    full = full.reshape(nr + 1, 2, no + 1, 2).transpose(0, 2, 1, 3)
    table = full.sum(axis=(2, 3))
    btable = np.empty((nr + 1, no + 1), dtype=np.int64)
    btable[1:, 1:] = full[1:, 1:, 1, 1]
    btable[0, :] = full[0, :, :, 1].sum(axis=1)
    btable[:, 0] = full[:, 0, 1, :].sum(axis=1)
    btable[0, 0] = 0
    return table, BoundaryOverlap(btable, full[1:, :, 1, :].sum(axis=(1, 2)),
                                  full[:, 1:, :, 1].sum(axis=(0, 2)))


def fresh(ov):
    """The same overlap with nothing computed yet."""
    return Overlap(ov.table.copy(), ov.ref_ids, ov.ref_categories, ov.ref_crowd,
                   ov.other_ids, ov.other_categories, ov.other_crowd)


def old_pairs(ov):
    r, o = np.nonzero(ov.table[1:, 1:])
    order = np.lexsort((ov.other_ids[o], ov.ref_ids[r]))
    r, o = r[order].astype(np.int64), o[order].astype(np.int64)
    return r, o, ov.table[r + 1, o + 1]


def old_iou(ov, r, o):
    inter = ov.table[r + 1, o + 1]
    union = (ov.table[:, 1:].sum(axis=0)[o] + ov.table[1:].sum(axis=1)[r] - inter
             - ov.table[0, 1:][o])
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / union


def old_ignored_pixels(ov):
    out = ov.table[0, 1:].copy()
    last = {int(ov.ref_categories[i]): int(i) for i in np.flatnonzero(ov.ref_crowd)}
    for j, cat in enumerate(ov.other_categories.tolist()):
        if (i := last.get(cat)) is not None:
            out[j] += ov.table[i + 1, j + 1]
    return out


def old_hungarian(ov, matches, r, o, iou, threshold):
    from scipy.optimize import linear_sum_assignment

    nr, no = ov.ref_ids.size, ov.other_ids.size
    diag = matches.partner(nr)
    diag_iou = np.full(nr, np.nan)
    diag_iou[matches.ref_index] = old_iou(ov, matches.ref_index, matches.other_index)
    free_r = np.ones(nr, bool)
    free_r[matches.ref_index] = False
    free_r &= ~ov.ref_crowd
    free_o = np.ones(no, bool)
    free_o[matches.other_index] = False
    keep = free_r[r] & free_o[o] & (iou >= threshold)
    if not keep.any():
        return diag, diag_iou
    rows, row_pos = np.unique(r[keep], return_inverse=True)
    cols, col_pos = np.unique(o[keep], return_inverse=True)
    if row_pos.size == rows.size == cols.size:
        diag[rows[row_pos]] = cols[col_pos]
        diag_iou[rows[row_pos]] = iou[keep]
        return diag, diag_iou
    weights = np.zeros((rows.size, cols.size))
    weights[row_pos, col_pos] = iou[keep]
    ri, ci = _small_assignment(weights)
    if ri is None:
        ri, ci = linear_sum_assignment(weights, maximize=True)
    good = weights[ri, ci] >= threshold
    diag[rows[ri[good]]] = cols[ci[good]]
    diag_iou[rows[ri[good]]] = weights[ri[good], ci[good]]
    return diag, diag_iou


def old_diagnose(ov, matches, threshold, things):
    nr = ov.ref_ids.size
    r, o, inter = old_pairs(ov)
    iou = old_iou(ov, r, o)
    partner = matches.partner(nr)
    match_iou = np.full(nr, np.nan)
    match_iou[matches.ref_index] = old_iou(ov, matches.ref_index, matches.other_index)
    best_partner, best_iou = _best_per_row(r, o, iou, nr)
    diag_partner, diag_iou = old_hungarian(ov, matches, r, o, iou, threshold)
    status = np.full(nr, "missed", dtype=object)
    ref_area, other_area = ov.table[1:].sum(axis=1), ov.table[:, 1:].sum(axis=0)
    frag = 2 * inter > other_area[o]
    split = (np.bincount(r[frag], minlength=nr) >= 2) & (
        2 * np.bincount(r[frag], weights=inter[frag], minlength=nr) > ref_area)
    covers = 2 * inter > ref_area[r]
    merged_pair = covers & (np.bincount(o[covers], minlength=ov.other_ids.size)[o] >= 2)
    if things is not None:
        merged_pair &= (~np.isin(ov.ref_categories[r], list(things))
                        | np.isin(ov.other_categories[o], list(things)))
    merged = np.zeros(nr, bool)
    merged[r[merged_pair]] = True
    confused = np.zeros(nr, bool)
    if ov.other_ids.size:
        confused = (diag_partner >= 0) & (
            ov.other_categories[np.maximum(diag_partner, 0)] != ov.ref_categories)
    ignored = 2 * old_ignored_pixels(ov.transpose()) > ref_area
    for mask, name in ((ignored, "ignored"), (confused, "class_confused"), (merged, "merged"),
                       (split, "split")):
        status[mask] = name
    status[partner >= 0] = "matched"
    status[ov.ref_crowd] = "crowd"
    return Diagnosis(status.astype(str), partner, match_iou, diag_partner, diag_iou,
                     best_partner, best_iou)


def old_pq_counts(ov, matches):
    tp_cat = ov.ref_categories[matches.ref_index]
    fn_cat = ov.ref_categories[matches.fn]
    fp_cat = ov.other_categories[matches.fp]
    cats = np.unique(np.concatenate([tp_cat, fn_cat, fp_cat]))
    iou_sum = np.zeros(cats.size)
    np.add.at(iou_sum, np.searchsorted(cats, tp_cat), matches.score)
    return {"category_id": cats,
            "tp": np.bincount(np.searchsorted(cats, tp_cat), minlength=cats.size),
            "fp": np.bincount(np.searchsorted(cats, fp_cat), minlength=cats.size),
            "fn": np.bincount(np.searchsorted(cats, fn_cat), minlength=cats.size),
            "iou_sum": iou_sum}


# --- random small annotations -----------------------------------------------------------------

@st.composite
def annotation_pairs(draw):
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    out = []
    for _ in range(2):
        k = draw(st.integers(1, 6))
        labels = np.array(draw(st.lists(st.integers(0, k), min_size=h * w, max_size=h * w)))
        present = [int(v) for v in np.unique(labels) if v]
        ids = draw(st.permutations(range(1, 30)))[:k + 1]  # table order differs from id order
        id_map = np.array(ids)[labels] * (labels > 0)
        cats = {ids[v]: draw(st.sampled_from([1, 2, 7])) for v in present}
        crowd = [i for i in cats if draw(st.integers(0, 5)) == 0]
        out.append(PanopticAnnotation.from_map(id_map.reshape(h, w), cats, iscrowd=crowd))
    return out


def arrays_equal(x, y):
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == y.shape
    if x.dtype.kind == "f":
        assert np.array_equal(x, y, equal_nan=True)
    else:
        assert x.tolist() == y.tolist()


@given(annotation_pairs(), st.integers(1, 3))
@settings(max_examples=150, deadline=None)
def test_joint_overlap_banded_is_the_previous_tables(pair, d):
    a, b = pair
    ba = banded(a.compact, boundary_band(a.compact, d=d), k=len(a.segments))
    bb = banded(b.compact, boundary_band(b.compact, d=d), k=len(b.segments))
    table, bo = joint_overlap_banded(ba, bb, len(a.segments), len(b.segments))
    old_table, old_bo = old_joint_overlap_banded(ba, bb, len(a.segments), len(b.segments))
    for new, old in ((table, old_table), (bo.table, old_bo.table),
                     (bo.ref_band_area, old_bo.ref_band_area),
                     (bo.other_band_area, old_bo.other_band_area)):
        assert new.dtype == np.int64
        arrays_equal(new, old)


@given(annotation_pairs(), st.sampled_from([0.1, 0.2, 0.5]))
@settings(max_examples=200, deadline=None)
def test_matching_counts_and_diagnosis_are_the_previous_ones(pair, threshold):
    a, b = pair
    for ov in (segment_overlap(a, b), segment_overlap(a, b).transpose()):
        r, o, inter = old_pairs(ov)
        for new, old in zip(ov.pairs(), (r, o, inter), strict=True):
            arrays_equal(new, old)
        arrays_equal(ov.pair_iou, old_iou(ov, r, o))
        arrays_equal(ov.ref_area, ov.table[1:].sum(axis=1))
        arrays_equal(ov.other_area, ov.table[:, 1:].sum(axis=0))
        m = match_segments(ov)
        arrays_equal(m.fp | m.excused, ~np.isin(np.arange(ov.other_ids.size), m.other_index))
        arrays_equal(m.excused, (old_ignored_pixels(ov) / ov.table[:, 1:].sum(axis=0) > 0.5)
                     & ~np.isin(np.arange(ov.other_ids.size), m.other_index))
        new_counts, old_counts = pq_counts(ov, m), old_pq_counts(ov, m)
        for name, old in old_counts.items():
            arrays_equal(getattr(new_counts, name), old)
        for things in (None, THINGS):
            new, old = diagnose(ov, m, threshold=threshold, things=things), old_diagnose(
                fresh(ov), m, threshold, things)
            for field in ("status", "partner", "iou", "diag_partner", "diag_iou",
                          "best_partner_any", "best_iou_any"):
                arrays_equal(getattr(new, field), getattr(old, field))


@given(annotation_pairs())
@settings(max_examples=100, deadline=None)
def test_boundary_counts_are_the_previous_ones(pair):
    a, b = pair
    ba = banded(a.compact, boundary_band(a.compact, d=1), k=len(a.segments))
    bb = banded(b.compact, boundary_band(b.compact, d=1), k=len(b.segments))
    _, bo = joint_overlap_banded(ba, bb, len(a.segments), len(b.segments))
    ov = segment_overlap(a, b)
    ev = evaluate_pair(ov, bo)
    cats = ev.counts["category_id"]
    plain = np.zeros(cats.size)
    np.add.at(plain, np.searchsorted(cats, ov.ref_categories[ev.matches.ref_index]),
              bo.iou(ev.matches.ref_index, ev.matches.other_index))
    arrays_equal(ev.counts["boundary_iou_sum_plain"], plain)
    old = old_pq_counts(ov, ev.boundary_matches)
    pos = np.searchsorted(cats, old["category_id"])
    for name in ("tp", "fp", "fn", "iou_sum"):
        col = np.zeros(cats.size, old[name].dtype)
        col[pos] = old[name]
        arrays_equal(ev.counts["boundary_" + name], col)


def test_overlap_values_are_computed_once_and_read_only():
    a = PanopticAnnotation.from_map(np.array([[1, 1, 2, 0]]), {1: 7, 2: 8})
    b = PanopticAnnotation.from_map(np.array([[5, 5, 5, 6]]), {5: 7, 6: 8})
    ov = segment_overlap(a, b)
    assert ov.ref_area is ov.ref_area and ov.pairs()[0] is ov.pairs()[0]
    assert ov.transpose().other_area is ov.ref_area  # the transpose shares the areas
    assert ov.ref_area.tolist() == [2, 1] and ov.other_area.tolist() == [3, 1]
    assert ov.pair_iou.tolist() == [2 / 3, 1 / 3]
    with pytest.raises(ValueError, match="read-only"):
        ov.ref_area[0] = 5
    with pytest.raises(ValueError, match="read-only"):
        ov.pairs()[2][0] = 5
