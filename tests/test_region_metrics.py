"""Region measures: hand-computed maps, slow oracles, scikit-learn / scikit-image oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage.metrics import adapted_rand_error
from skimage.metrics import variation_of_information as sk_vi
from sklearn.metrics import adjusted_rand_score, rand_score

from agreement.io.label_maps import annotation_from_labels
from agreement.metrics.region import (
    adjusted_rand_index,
    as_compact,
    contingency,
    covering_sums,
    pair_counts,
    probabilistic_rand_index,
    rand_index,
    region_pq,
    segmentation_covering,
    variation_of_information,
)

# Hand example (0 = void). Table rows A 0,1,2,3 x columns B 0,5,7,9:
#   A0: B9 1 | A1: B5 4 | A2: B0 1, B5 1, B7 2 | A3: B9 3
A = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [0, 3, 3, 3]])
B = np.array([[5, 5, 5, 7], [5, 5, 0, 7], [9, 9, 9, 9]])


def test_contingency_hand():
    assert contingency(A, B).tolist() == [[0, 0, 0, 1], [0, 4, 0, 0], [1, 1, 2, 0], [0, 0, 0, 3]]


def test_pair_counts_and_rand_hand():
    # labelled in both: n = [[4,0,0],[1,2,0],[0,0,3]], N = 10
    c = pair_counts(A, B)
    assert (c.n, c.both, c.same_a, c.same_b, c.total) == (10, 10, 12, 14, 45)
    assert rand_index(A, B) == pytest.approx(39 / 45, abs=1e-15)
    assert adjusted_rand_index(A, B) == pytest.approx(94 / 139, abs=1e-15)


def test_variation_of_information_hand():
    # H(A|B) = 0.5 H(0.8, 0.2); H(B|A) = 0.3 H(1/3, 2/3), in bits
    def h(*p):
        return -sum(x * math.log2(x) for x in p)

    expected = 0.5 * h(0.8, 0.2) + 0.3 * h(1 / 3, 2 / 3)
    assert variation_of_information(A, B) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.636453, abs=1e-6)


def test_covering_hand_both_directions():
    # A by B: A1 4 x 4/5, A2 4 x 2/4, A3 3 x 3/4 (B9's pixel on A's void stays in its area)
    assert covering_sums(contingency(A, B)) == (pytest.approx(7.45), 11)
    assert segmentation_covering(A, B) == pytest.approx(7.45 / 11)
    # B by A: B5 5 x 4/5, B7 2 x 2/4, B9 4 x 3/4
    assert segmentation_covering(B, A) == pytest.approx(8 / 11)


def test_region_pq_hand_both_roles():
    r = region_pq(A, B)  # A1-B5 0.8, A3-B9 3/(3+4-3-1) = 1; A2-B7 exactly 0.5 is no match
    assert (r.tp, r.fp, r.fn) == (2, 1, 1)
    assert r.iou_sum == pytest.approx(1.8)
    assert (r.pq, r.sq, r.rq) == (pytest.approx(0.6), pytest.approx(0.9), pytest.approx(2 / 3))
    s = region_pq(B, A)  # B7-A2: A2's pixel on B's void leaves the union: 2/3
    assert (s.tp, s.fp, s.fn) == (3, 0, 0)
    assert s.iou_sum == pytest.approx(0.8 + 2 / 3 + 0.75)


def test_region_pq_false_positive_on_void_is_excused():
    ref = np.array([[1, 1, 0, 0]])
    other = np.array([[1, 1, 2, 2]])
    r = region_pq(ref, other)
    assert (r.tp, r.fp, r.fn, r.pq) == (1, 0, 0, 1.0)
    assert math.isnan(region_pq(np.zeros((2, 2), int), np.zeros((2, 2), int)).pq)


def test_probabilistic_rand_index_is_mean():
    c = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 3, 3]])
    assert probabilistic_rand_index(A, [B, c]) == pytest.approx(
        (rand_index(A, B) + rand_index(A, c)) / 2)
    with pytest.raises(ValueError, match="at least one"):
        probabilistic_rand_index(A, [])


def test_table_argument_matches_maps():
    t = contingency(A, B)
    assert rand_index(table=t) == rand_index(A, B)
    assert variation_of_information(table=t) == variation_of_information(A, B)
    assert segmentation_covering(table=t) == segmentation_covering(A, B)
    assert region_pq(table=t) == region_pq(A, B)


def test_annotations_accepted_like_maps():
    a, b = annotation_from_labels(A), annotation_from_labels(B)
    assert contingency(a, b).tolist() == contingency(A, B).tolist()


def test_undefined_is_nan():
    void = np.zeros((2, 2), int)
    assert math.isnan(rand_index(void, A[:2, :2]))
    assert math.isnan(adjusted_rand_index(void, A[:2, :2]))
    assert math.isnan(variation_of_information(void, A[:2, :2]))
    assert math.isnan(segmentation_covering(void, A[:2, :2]))
    assert segmentation_covering(A[:2, :2], void) == 0.0


def test_input_errors():
    with pytest.raises(ValueError, match="same shape"):
        contingency(A, B[:2])
    with pytest.raises(ValueError, match=">= 0"):
        as_compact(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match="2-D integer"):
        as_compact(np.ones((2, 2)) * 0.5)
    with pytest.raises(ValueError, match="table= must be given"):
        rand_index(A)
    with pytest.raises(ValueError, match="must be 2-D"):
        rand_index(table=[1, 2])


# --- slow, obviously correct oracles (one mask per region; tests only) -------------------------

def slow_covering(ref, other):
    num = 0.0
    for r in np.unique(ref[ref > 0]):
        mr = ref == r
        best = max((np.sum(mr & (other == s)) / np.sum(mr | (other == s))
                    for s in np.unique(other[other > 0])), default=0.0)
        num += mr.sum() * best
    return num / np.sum(ref > 0)


def slow_pq(ref, other):
    tp, iou_sum, matched_r, matched_o = 0, 0.0, set(), set()
    for r in np.unique(ref[ref > 0]):
        for s in np.unique(other[other > 0]):
            g, p = ref == r, other == s
            inter = np.sum(g & p)
            union = np.sum(g | p) - np.sum(p & (ref == 0))
            if union and inter / union > 0.5:
                tp, iou_sum = tp + 1, iou_sum + inter / union
                matched_r.add(r)
                matched_o.add(s)
    fn = len(set(np.unique(ref[ref > 0])) - matched_r)
    fp = sum(1 for s in np.unique(other[other > 0]) if s not in matched_o
             and np.sum((other == s) & (ref == 0)) / np.sum(other == s) <= 0.5)
    return tp, fp, fn, iou_sum


maps = st.tuples(st.integers(1, 6), st.integers(2, 6)).flatmap(
    lambda shape: st.tuples(arrays(np.int64, shape, elements=st.integers(0, 4)),
                            arrays(np.int64, shape, elements=st.sampled_from([0, 3, 7, 300]))))


@settings(max_examples=60, deadline=None)
@given(maps)
def test_oracles_sklearn_skimage(pair):
    a, b = pair
    both = (a > 0) & (b > 0)
    assume(both.sum() >= 2)
    x, y = a[both], b[both]
    assert rand_index(a, b) == pytest.approx(rand_score(x, y), abs=1e-12)
    assert adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_score(x, y), abs=1e-9)
    assert variation_of_information(a, b) == pytest.approx(
        float(np.sum(sk_vi(x, y))), abs=1e-9)
    c = pair_counts(a, b)
    if c.same_a and c.same_b:
        _, prec, rec = adapted_rand_error(x, y, ignore_labels=())
        assert c.both / c.same_a == pytest.approx(prec, abs=1e-12)
        assert c.both / c.same_b == pytest.approx(rec, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(maps)
def test_covering_and_pq_match_slow_oracles(pair):
    a, b = pair
    if (a > 0).any():
        assert segmentation_covering(a, b) == pytest.approx(slow_covering(a, b), abs=1e-12)
    r = region_pq(a, b)
    tp, fp, fn, iou_sum = slow_pq(a, b)
    assert (r.tp, r.fp, r.fn) == (tp, fp, fn)
    assert r.iou_sum == pytest.approx(iou_sum, abs=1e-12)


# --- invariance registry: one parametrized test per property -----------------------------------

SYMMETRIC = {"rand_index": rand_index, "adjusted_rand_index": adjusted_rand_index,
             "variation_of_information": variation_of_information}
ALL = {**SYMMETRIC, "segmentation_covering": segmentation_covering,
       "region_pq": lambda a, b: region_pq(a, b).pq}
PERFECT = {"rand_index": 1.0, "adjusted_rand_index": 1.0, "variation_of_information": 0.0,
           "segmentation_covering": 1.0, "region_pq": 1.0}


@pytest.mark.parametrize("name", sorted(SYMMETRIC))
@settings(max_examples=25, deadline=None)
@given(pair=maps)
def test_symmetric(name, pair):
    a, b = pair
    assume(((a > 0) & (b > 0)).sum() >= 2)
    assert SYMMETRIC[name](a, b) == pytest.approx(SYMMETRIC[name](b, a), abs=1e-12)


@pytest.mark.parametrize("name", sorted(ALL))
@settings(max_examples=25, deadline=None)
@given(pair=maps, shift=st.integers(1, 1000))
def test_relabelling_invariant(name, pair, shift):
    a, b = pair
    assume(((a > 0) & (b > 0)).sum() >= 2)
    relabelled = np.where(a > 0, 9 * a + shift, 0)  # injective on labels, keeps void
    got, want = ALL[name](relabelled, b), ALL[name](a, b)
    assert got == pytest.approx(want, abs=1e-12, nan_ok=True)


@pytest.mark.parametrize("name", sorted(ALL))
@settings(max_examples=25, deadline=None)
@given(pair=maps)
def test_bounds_and_identity(name, pair):
    a, b = pair
    assume(((a > 0) & (b > 0)).sum() >= 2)
    value = ALL[name](a, b)
    if name == "variation_of_information":
        assert value >= 0
    elif name == "adjusted_rand_index":
        assert value <= 1 + 1e-12
    elif not math.isnan(value):
        assert 0 <= value <= 1 + 1e-12
    assert ALL[name](a, a) == pytest.approx(PERFECT[name], abs=1e-12)


def test_rand_index_on_fewer_than_two_pixels_is_nan_where_sklearn_says_one():
    # the documented difference (docs/region_measures.md): no pair of pixels, nothing measured
    one = np.array([[0, 0, 3]])
    assert math.isnan(rand_index(one, one)) and math.isnan(adjusted_rand_index(one, one))
    assert rand_score([3], [3]) == 1.0 and adjusted_rand_score([3], [3]) == 1.0
