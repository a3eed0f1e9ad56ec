"""Segment matching and PQ counts on tiny hand-computed maps (void, crowd, FP excusal)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement.errors import AnnotationError
from agreement.matching import diagnose, match_segments, segment_overlap
from agreement.metrics.pq import panoptic_quality, pq_counts, pq_from_counts, pq_result
from agreement.model import Categories, Category, PanopticAnnotation

CATS = Categories([Category(1, "person", True), Category(2, "car", True),
                   Category(7, "road", False)])


def ann(rows, cats, crowd=()):
    return PanopticAnnotation.from_map(np.array(rows), cats, iscrowd=crowd)


def counts(ref, other):
    ov = segment_overlap(ref, other)
    c = pq_counts(ov, match_segments(ov)).to_frame().set_index("category_id")
    return {int(k): (int(r.tp), int(r.fp), int(r.fn), float(r.iou_sum)) for k, r in c.iterrows()}


def test_overlap_table_and_void_adjusted_iou():
    a = ann([[1, 1, 0, 0]], {1: 1})
    b = ann([[5, 5, 5, 5]], {5: 1})
    ov = segment_overlap(a, b)
    assert ov.table.tolist() == [[0, 2], [0, 2]]
    # b's pixels on a's void leave the union: 2 / (4 + 2 - 2 - 2) = 1
    assert ov.iou(np.array([0]), np.array([0])).tolist() == [1.0]
    # roles swapped: a's pixels on b's... nothing is void in b: 2 / (2 + 4 - 2) = 0.5
    assert ov.transpose().iou(np.array([0]), np.array([0])).tolist() == [0.5]
    assert counts(a, b) == {1: (1, 0, 0, 1.0)}
    assert counts(b, a) == {1: (0, 1, 1, 0.0)}  # IoU 0.5 is not > 0.5


def test_match_needs_same_category():
    a = ann([[1, 1, 2, 2]], {1: 1, 2: 7})
    b = ann([[5, 5, 6, 6]], {5: 2, 6: 7})
    assert counts(a, b) == {1: (0, 0, 1, 0.0), 2: (0, 1, 0, 0.0), 7: (1, 0, 0, 1.0)}
    ov = segment_overlap(a, b)
    d = diagnose(ov, match_segments(ov))
    assert d.status.tolist() == ["class_confused", "matched"]
    assert d.diag_partner.tolist() == [0, 1]
    assert d.best_iou_any.tolist() == [1.0, 1.0]


def test_crowd_is_never_matched_nor_fn_and_excuses_fp():
    a = ann([[1, 1, 1, 1]], {1: 1}, crowd=[1])
    b = ann([[5, 5, 6, 6]], {5: 1, 6: 2})
    # b5 lies on a's crowd of its category: excused; b6 (car) on a person crowd: a FP
    assert counts(a, b) == {2: (0, 1, 0, 0.0)}
    ov = segment_overlap(a, b)
    m = match_segments(ov)
    assert m.excused.tolist() == [True, False]
    assert diagnose(ov, m).status.tolist() == ["crowd"]


def test_other_crowd_flag_is_ignored():
    a = ann([[1, 1, 1, 1]], {1: 1})
    b = ann([[5, 5, 5, 5]], {5: 1}, crowd=[5])
    assert counts(a, b) == {1: (1, 0, 0, 1.0)}


@pytest.mark.parametrize(("row", "fp"), [([5, 5, 0, 0, 0], 1),   # exactly half on void: a FP
                                         ([5, 5, 5, 5, 0], 0)])  # 3/4 on void: excused
def test_fp_excused_when_more_than_half_void(row, fp):
    a = ann([[1, 1, 1, 1, 0, 0, 0, 0]], {1: 7})
    b = ann([[6, 6, 6, *row]], {6: 7, 5: 1})
    c = counts(a, b)
    assert c[7] == (1, 0, 0, 0.75)
    assert c.get(1, (0, 0, 0, 0.0)) == (0, fp, 0, 0.0)


def test_void_and_same_category_crowd_add_up():
    # b5 (person, 4 px): 1 px on a's void + 2 px on a's person crowd = 3/4 > 1/2 -> excused
    a = ann([[0, 1, 1, 2, 2, 2]], {1: 1, 2: 2}, crowd=[1, 2])
    b = ann([[5, 5, 5, 5, 0, 0]], {5: 1})
    assert counts(a, b) == {}
    # the car crowd does not excuse a person: 1 void + 0 same-category crowd of 4
    b2 = ann([[5, 0, 0, 5, 5, 5]], {5: 1})
    assert counts(a, b2) == {1: (0, 1, 0, 0.0)}


def test_only_last_crowd_segment_of_a_category_excuses():
    # a has two person crowds: 1 (listed first) and 2 (listed last)
    a = ann([[1, 1, 1, 2, 2, 2]], {1: 1, 2: 1}, crowd=[1, 2])
    on_first = ann([[5, 5, 5, 0, 0, 0]], {5: 1})
    on_last = ann([[0, 0, 0, 5, 5, 5]], {5: 1})
    assert counts(a, on_first) == {1: (0, 1, 0, 0.0)}
    assert counts(a, on_last) == {}
    a_swapped = ann([[1, 1, 1, 2, 2, 2]], {2: 1, 1: 1}, crowd=[1, 2])  # 1 is now last
    assert counts(a_swapped, on_first) == {}


def test_split_and_merge_diagnosis():
    a = ann([[1, 1, 1, 1, 2, 3, 3, 3]], {1: 2, 2: 1, 3: 1})
    b = ann([[5, 5, 6, 6, 7, 7, 7, 7]], {5: 2, 6: 2, 7: 1})
    ov = segment_overlap(a, b)
    m = match_segments(ov)
    d = diagnose(ov, m)
    # car 1 is split in two halves (IoU 0.5 each); person 3 matches b7 (3/4), person 2 is merged
    assert d.status.tolist() == ["split", "merged", "matched"]
    assert d.partner.tolist() == [-1, -1, 2]
    assert d.iou[2] == 0.75 and math.isnan(d.iou[0])
    assert d.diag_partner[0] in (0, 1) and d.diag_iou[0] == 0.5


def test_ignored_and_missed_diagnosis():
    a = ann([[1, 1, 1, 2, 2, 2, 2, 2]], {1: 1, 2: 2})
    b = ann([[0, 0, 5, 5, 6, 6, 0, 0]], {5: 7, 6: 7})
    ov = segment_overlap(a, b)
    d = diagnose(ov, match_segments(ov), threshold=0.9)
    assert d.status.tolist() == ["ignored", "missed"]
    assert d.best_partner_any.tolist() == [0, 1]


def test_pq_from_counts_matches_reference_formula():
    r = pq_from_counts({"tp": [3], "fp": [1], "fn": [2], "iou_sum": [2.4]})
    assert r.pq[0] == 2.4 / (3 + 0.5 + 1.0)
    assert r.sq[0] == 2.4 / 3 and r.rq[0] == 3 / 4.5


def test_groups_are_nan_when_no_class_occurs():
    a = ann([[1, 1]], {1: 1})
    res = panoptic_quality(a, a, categories=CATS)
    assert res.pq == res.sq == res.rq == 1.0
    assert int(res.groups.loc["Things", "n"]) == 1
    assert math.isnan(res.groups.loc["Stuff", "pq"]) and res.groups.loc["Stuff", "n"] == 0
    assert res.to_dict()["Stuff"] == {"pq": None, "sq": None, "rq": None, "n": 0}
    assert res.to_dict()["per_class"]["7"]["pq"] is None


def test_pq_result_sums_groups_over_counted_classes():
    frame = pq_counts(*(lambda ov: (ov, match_segments(ov)))(segment_overlap(
        ann([[1, 1, 2, 2]], {1: 1, 2: 7}), ann([[5, 5, 6, 6]], {5: 2, 6: 7})))).to_frame()
    res = pq_result(frame, CATS)
    assert res.groups.loc["All", "n"] == 3
    assert res.pq == pytest.approx(1 / 3)
    assert res.groups.loc["Things", "pq"] == 0.0 and res.groups.loc["Stuff", "pq"] == 1.0


def test_empty_segment_is_an_error():
    a = ann([[1, 1]], {1: 1, 9: 1})
    with pytest.raises(AnnotationError, match="segment 9: segment must have at least one pixel"):
        segment_overlap(a, a)


def test_size_mismatch_is_an_error():
    with pytest.raises(AnnotationError, match="annotations must have the same size"):
        segment_overlap(ann([[1, 1]], {1: 1}), ann([[1], [1]], {1: 1}))


def test_score_length_is_checked():
    ov = segment_overlap(ann([[1, 1]], {1: 1}), ann([[1, 1]], {1: 1}))
    with pytest.raises(ValueError, match="score must have one value per candidate pair"):
        match_segments(ov, score=np.zeros(3))


@pytest.mark.parametrize("ids", [[3, 7, 259],  # unknown 259 has the low bits of 3
                                 [5, 1 << 20, (1 << 20) + 5, 16777215],  # no small hash
                                 [3, 7, 11], [2**31 - 1, 1]])
def test_compact_ids_large_and_aliasing_ids(ids):
    from agreement.labels import compact_ids

    rng = np.random.default_rng(0)
    table = np.array(ids[:-1], dtype=np.int64)  # the last id is unknown
    m = rng.choice(np.array([0, *ids], dtype=np.int64), size=(7, 9)).astype(np.int32)
    m[0, :len(ids) + 1] = [0, *ids]
    compact, areas, unknown = compact_ids(m, table)
    for i, s in enumerate(table):
        assert (compact == i + 1).sum() == (m == s).sum() == areas[i]
    assert unknown.tolist() == [ids[-1]]
    assert (compact[m == ids[-1]] == 0).all() and (compact[m == 0] == 0).all()


@pytest.mark.parametrize("table", [np.arange(1, 301),            # hashed lookup (11 low bits)
                                   np.arange(1, 301) << 21])     # no small hash: binary search
def test_compact_ids_many_segments(table):
    from agreement.labels import compact_ids

    rng = np.random.default_rng(1)
    alias = int(table[4]) + (1 << 11)  # same low 11 bits as table[4], unknown
    m = rng.choice(np.concatenate([[0], table]), size=(40, 50)).astype(np.int32)
    m[0, :3] = [alias, alias, 0]
    compact, areas, unknown = compact_ids(m, table)
    assert unknown.tolist() == [alias]
    expect = np.searchsorted(table, m) + 1
    expect[(m == 0) | (m == alias)] = 0
    np.testing.assert_array_equal(compact, expect)
    np.testing.assert_array_equal(areas, np.bincount(expect.ravel(), minlength=301)[1:])


def test_thing_absorbed_into_stuff_is_missed_not_merged():
    # b painted a's pole (thing) as building (stuff), which also covers a's building
    a = ann([[1, 1, 1, 2, 2, 1, 1, 1]], {1: 7, 2: 2})
    b = ann([[5, 5, 5, 5, 5, 5, 5, 5]], {5: 7})
    ov = segment_overlap(a, b)
    m = match_segments(ov)
    assert diagnose(ov, m).status.tolist() == ["matched", "merged"]
    assert diagnose(ov, m, things=CATS.thing_ids).status.tolist() == ["matched", "missed"]
    # two cars merged into one car stay "merged" with things given
    a2 = ann([[1, 1, 1, 2, 2]], {1: 2, 2: 2})
    b2 = ann([[5, 5, 5, 5, 5]], {5: 2})
    ov2 = segment_overlap(a2, b2)
    assert diagnose(ov2, match_segments(ov2), things=CATS.thing_ids).status.tolist() == [
        "matched", "merged"]


@pytest.mark.parametrize("shape", [(0,), (1,), (3,), (5, 7), (4, 6)])
def test_count_bytes_equals_bincount(shape):
    from agreement.labels import _count_bytes

    v = np.random.default_rng(2).integers(0, 256, size=shape).astype(np.uint8)
    for arr in (v, v[..., ::2] if v.ndim == 2 else v):
        np.testing.assert_array_equal(_count_bytes(arr), np.bincount(arr.ravel(), minlength=256))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 7), st.integers(1, 7), st.integers(0, 2**32 - 1),
       st.sampled_from([0.3, 0.6, 1.0]), st.booleans())
def test_small_assignment_is_scipys(n, m, seed, density, ties):
    """The enumerated assignment keeps the same positive pairs as scipy's, or defers to it."""
    from scipy.optimize import linear_sum_assignment

    from agreement.matching import _small_assignment

    rng = np.random.default_rng(seed)
    w = rng.random((n, m)) * (rng.random((n, m)) < density)
    if ties:  # few distinct values: equal totals happen
        w = np.ceil(w * 3) / 3
    ri, ci = _small_assignment(w)
    if ri is None:
        assert ties or math.perm(max(n, m), min(n, m)) > 5040  # continuous: no ties
        return
    sr, sc = linear_sum_assignment(w, maximize=True)
    pos = w[sr, sc] > 0
    assert sorted(zip(ri.tolist(), ci.tolist(), strict=True)) == sorted(
        zip(sr[pos].tolist(), sc[pos].tolist(), strict=True))
    assert (w[ri, ci] > 0).all()
