"""Parsing covering (DeeperLab): hand-computed maps and a slow per-region oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from agreement.metrics.covering import ParsingCovering, parsing_covering
from agreement.model import PanopticAnnotation

CAR, ROAD = 10, 20
REF = PanopticAnnotation.from_map(
    np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 3, 0]]), {1: CAR, 2: CAR, 3: ROAD})
OTHER = PanopticAnnotation.from_map(
    np.array([[4, 4, 4, 4], [4, 4, 4, 4], [5, 5, 6, 6]]), {4: CAR, 5: ROAD, 6: ROAD})


def test_hand_example():
    pc = parsing_covering(REF, OTHER, normalize_by_image_size=False)
    # car: regions 1 and 2 (4 px each) both IoU 4/8 with car 4 -> 0.5
    # road: region 3 (3 px) vs 5 (2 px): 2/3; vs 6 (1 px off the reference's void): 1/3
    assert pc.per_class == {CAR: pytest.approx(0.5), ROAD: pytest.approx(2 / 3)}
    assert pc.value == pytest.approx(7 / 12)
    assert pc.gt_area == (8.0, 3.0)
    frame = pc.to_frame()
    assert frame.columns.tolist() == ["category_id", "weighted_iou", "gt_area", "covering"]
    assert frame.covering.tolist() == pytest.approx([0.5, 2 / 3])


def test_hand_example_roles_swapped():
    pc = parsing_covering(OTHER, REF, normalize_by_image_size=False)
    # road: 5 (2 px) vs 3: 2/3; 6 (2 px, one on REF's void, which stays in its area) vs 3: 1/4
    assert pc.per_class[ROAD] == pytest.approx((2 * 2 / 3 + 2 * 0.25) / 4)
    assert pc.value == pytest.approx((0.5 + (2 * 2 / 3 + 0.5) / 4) / 2)


def test_normalisation_only_scales_sums():
    a = parsing_covering(REF, OTHER)
    b = parsing_covering(REF, OTHER, normalize_by_image_size=False)
    assert a.value == pytest.approx(b.value)
    assert a.gt_area == pytest.approx(tuple(x / 12 for x in b.gt_area))


def test_classes_only_match_their_own_class():
    other = PanopticAnnotation.from_map(REF.ids, {1: ROAD, 2: ROAD, 3: CAR})
    pc = parsing_covering(REF, other)
    assert pc.per_class == {CAR: 0.0, ROAD: 0.0}


def test_addition_pools_sums_and_empty_is_nan():
    total = parsing_covering(REF, OTHER, normalize_by_image_size=False) + parsing_covering(
        REF, REF, normalize_by_image_size=False)
    assert total.per_class[CAR] == pytest.approx((4 + 8) / 16)
    assert math.isnan(ParsingCovering((), (), ()).value)


def test_reference_crowd_is_void_as_in_deeplab():
    # DeepLab's eval_coco_format gives ground-truth crowd segments the ignored label: their
    # pixels count nowhere, as the reference's void (issue 16: 0.615 instead of DeepLab's 0.682)
    ref = PanopticAnnotation.from_map(REF.ids, {1: CAR, 2: CAR, 3: ROAD}, iscrowd=[2])
    pc = parsing_covering(ref, OTHER, normalize_by_image_size=False)
    # car: only region 1 (4 px) counts; car 4 loses the 4 px on the crowd: IoU 4/4
    # road: unchanged, 2/3
    assert pc.per_class == {CAR: pytest.approx(1.0), ROAD: pytest.approx(2 / 3)}
    assert pc.gt_area == (4.0, 3.0)
    old = parsing_covering(ref, OTHER, normalize_by_image_size=False, crowd="region")
    assert old.per_class == {CAR: pytest.approx(0.5), ROAD: pytest.approx(2 / 3)}
    assert parsing_covering(OTHER, ref).value == parsing_covering(OTHER, REF).value  # other's
    with pytest.raises(ValueError, match="crowd must be 'void' or 'region'"):
        parsing_covering(ref, OTHER, crowd="ignore")


def test_shape_mismatch():
    small = PanopticAnnotation.from_map(np.ones((2, 2), int), {1: CAR})
    with pytest.raises(ValueError, match="same shape"):
        parsing_covering(REF, small)


def slow_parsing_covering(ref, ref_cat, other, other_cat):
    per = {}
    for r in np.unique(ref[ref > 0]):
        g = ref == r
        best = 0.0
        for s in np.unique(other[other > 0]):
            if other_cat[s] != ref_cat[r]:
                continue
            p = (other == s) & (ref > 0)  # the reference's void is ignored
            best = max(best, np.sum(g & p) / np.sum(g | p))
        w, a = per.get(ref_cat[r], (0.0, 0))
        per[ref_cat[r]] = (w + g.sum() * best, a + g.sum())
    return {c: w / a for c, (w, a) in per.items()}


@settings(max_examples=50, deadline=None)
@given(st.tuples(st.integers(1, 5), st.integers(1, 6)).flatmap(
    lambda s: st.tuples(arrays(np.int64, s, elements=st.integers(0, 4)),
                        arrays(np.int64, s, elements=st.integers(0, 4)),
                        st.lists(st.sampled_from([CAR, ROAD]), min_size=4, max_size=4),
                        st.lists(st.sampled_from([CAR, ROAD]), min_size=4, max_size=4))))
def test_matches_slow_oracle(case):
    a, b, ca, cb = case
    ref_cat = {i + 1: c for i, c in enumerate(ca)}
    other_cat = {i + 1: c for i, c in enumerate(cb)}
    ref = PanopticAnnotation.from_map(a, {k: v for k, v in ref_cat.items() if (a == k).any()})
    other = PanopticAnnotation.from_map(b, {k: v for k, v in other_cat.items() if (b == k).any()})
    got = parsing_covering(ref, other).per_class
    want = slow_parsing_covering(a, ref_cat, b, other_cat)
    assert got.keys() == want.keys()
    for c in want:
        assert got[c] == pytest.approx(want[c], abs=1e-12)
