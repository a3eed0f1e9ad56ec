"""The vectorised kernels against slow, obviously correct per-mask oracles (hypothesis).

The oracles follow panopticapi's ``pq_compute_single_core`` and the Boundary IoU authors'
``mask_to_boundary`` literally: one boolean mask per segment, one erosion per mask.
"""

from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from agreement.matching import overlap_from_table
from agreement.metrics.boundary import (
    boundary_band,
    boundary_panoptic_quality,
    boundary_width,
    evaluate_pair,
    joint_overlap,
)
from agreement.model import Categories, Category, PanopticAnnotation

CATS = Categories([Category(1, "person", True), Category(2, "car", True),
                   Category(3, "road", False), Category(4, "sky", False)])


def oracle_band(ids, segment_id, d):
    """The Boundary IoU authors' definition: mask minus its erosion, outside = background."""
    mask = ids == segment_id
    eroded = ndimage.binary_erosion(mask, structure=np.ones((3, 3), bool), iterations=d,
                                    border_value=0)
    return mask & ~eroded


def oracle_counts(ref, other, d=None):
    """panopticapi's counting (and Boundary PQ when ``d`` is given), mask by mask."""
    stats = defaultdict(lambda: [0, 0, 0, 0.0])
    void = ref.ids == 0
    matched_r, matched_o = set(), set()
    for g in sorted(s.id for s in ref.segments):
        gs = ref.segment(g)
        for p in sorted(s.id for s in other.segments):
            ps = other.segment(p)
            gm, pm = ref.ids == g, other.ids == p
            inter = int((gm & pm).sum())
            if inter == 0 or gs.iscrowd or gs.category_id != ps.category_id:
                continue
            iou = inter / (int(gm.sum()) + int(pm.sum()) - inter - int((pm & void).sum()))
            if d is not None:
                gb, pb = oracle_band(ref.ids, g, d), oracle_band(other.ids, p, d)
                bi = int((gb & pb).sum())
                iou = min(iou, bi / (int(gb.sum()) + int(pb.sum()) - bi - int((pb & void).sum())))
            if iou > 0.5:
                stats[gs.category_id][0] += 1
                stats[gs.category_id][3] += iou
                matched_r.add(g)
                matched_o.add(p)
    crowd = {}
    for s in ref.segments:
        if s.iscrowd:
            crowd[s.category_id] = s.id  # the last one listed wins
        elif s.id not in matched_r:
            stats[s.category_id][2] += 1
    for s in other.segments:
        if s.id in matched_o:
            continue
        pm = other.ids == s.id
        ignored = int((pm & void).sum())
        if s.category_id in crowd:
            ignored += int((pm & (ref.ids == crowd[s.category_id])).sum())
        if ignored / int(pm.sum()) <= 0.5:
            stats[s.category_id][1] += 1
    return {c: v for c, v in stats.items() if v[0] + v[1] + v[2]}


@st.composite
def annotation(draw, shape, *, void=True, crowd=True, max_labels=5):
    labels = draw(arrays(np.int32, shape, elements=st.integers(0 if void else 1, max_labels)))
    present = sorted(set(np.unique(labels).tolist()) - {0})
    ids = labels * 1000 + 7 * labels  # large, non-compact segment ids
    cats = {int(v * 1007): draw(st.sampled_from(sorted(CATS))) for v in present}
    crowd_ids = [s for s in cats if crowd and draw(st.booleans()) and draw(st.booleans())]
    order = draw(st.permutations(sorted(cats)))  # table order matters for the last-crowd rule
    return PanopticAnnotation.from_map(ids, {s: cats[s] for s in order}, iscrowd=crowd_ids)


@st.composite
def pair(draw, **kw):
    shape = (draw(st.integers(2, 9)), draw(st.integers(2, 9)))
    return draw(annotation(shape, **kw)), draw(annotation(shape, **kw))


def kernel_counts(ref, other, d=None):
    nr, no = len(ref.segments), len(other.segments)
    band_r = boundary_band(ref.compact, d=d or 1)
    band_o = boundary_band(other.compact, d=d or 1)
    table, bo = joint_overlap(ref.compact, band_r, other.compact, band_o, nr, no)
    ev = evaluate_pair(overlap_from_table(table, ref.segments, other.segments), bo)
    c = ev.counts
    pre = "" if d is None else "boundary_"
    return {int(cid): [int(c[pre + "tp"][i]), int(c[pre + "fp"][i]), int(c[pre + "fn"][i]),
                       float(c[pre + "iou_sum"][i])]
            for i, cid in enumerate(c["category_id"])
            if c[pre + "tp"][i] + c[pre + "fp"][i] + c[pre + "fn"][i]}


def assert_counts_equal(got, want):
    assert set(got) == set(want)
    for cid, w in want.items():
        assert got[cid][:3] == w[:3], cid
        assert got[cid][3] == pytest.approx(w[3], abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(ids=arrays(np.int32, st.tuples(st.integers(1, 12), st.integers(1, 12)),
                  elements=st.integers(0, 4)),
       d=st.integers(1, 4))
def test_band_equals_per_mask_erosion(ids, d):
    band = boundary_band(ids, d=d)
    want = np.zeros(ids.shape, bool)
    for s in np.unique(ids):
        if s:
            want |= oracle_band(ids, s, d)
    np.testing.assert_array_equal(band, want)


@settings(max_examples=120, deadline=None)
@given(p=pair())
def test_pq_counts_equal_oracle(p):
    ref, other = p
    assert_counts_equal(kernel_counts(ref, other), oracle_counts(ref, other))


@settings(max_examples=80, deadline=None)
@given(p=pair(), d=st.integers(1, 3))
def test_boundary_pq_counts_equal_oracle(p, d):
    ref, other = p
    assert_counts_equal(kernel_counts(ref, other, d), oracle_counts(ref, other, d))


@settings(max_examples=60, deadline=None)
@given(p=pair(), d=st.integers(1, 3))
def test_boundary_tables_equal_oracle(p, d):
    ref, other = p
    table, bo = joint_overlap(ref.compact, boundary_band(ref.compact, d=d), other.compact,
                              boundary_band(other.compact, d=d), len(ref.segments),
                              len(other.segments))
    for i, g in enumerate(ref.segments):
        gb = oracle_band(ref.ids, g.id, d)
        assert bo.ref_band_area[i] == gb.sum()
        assert bo.table[i + 1, 0] == (gb & (other.ids == 0)).sum()
        for j, o in enumerate(other.segments):
            ob = oracle_band(other.ids, o.id, d)
            assert table[i + 1, j + 1] == ((ref.ids == g.id) & (other.ids == o.id)).sum()
            assert bo.table[i + 1, j + 1] == (gb & ob).sum()
            if i == 0:
                assert bo.other_band_area[j] == ob.sum()
                assert bo.table[0, j + 1] == (ob & (ref.ids == 0)).sum()


def test_segment_id_equal_to_max_category_plus_one():
    # The reference Boundary PQ code marks interiors with (largest category id + 1) in the id
    # map, so a segment with that id gets a wrong boundary. Ours has no such collision.
    ids = np.zeros((12, 12), np.int32)
    ids[1:11, 1:11] = 5  # 5 = max category id (4) + 1
    ids[4:8, 4:8] = 9
    ann = PanopticAnnotation.from_map(ids, {5: 4, 9: 1})
    np.testing.assert_array_equal(boundary_band(ann.compact, d=1) & (ids == 5),
                                  oracle_band(ids, 5, 1))
    np.testing.assert_array_equal(boundary_band(ids, d=2),
                                  oracle_band(ids, 5, 2) | oracle_band(ids, 9, 2))
    res = boundary_panoptic_quality(ann, ann, categories=CATS)
    assert res.boundary_pq == 1.0


@pytest.mark.parametrize(("h", "w", "d"), [(512, 1024, 23), (1024, 2048, 46), (427, 640, 15),
                                           (10, 10, 1), (1, 1, 1)])
def test_boundary_width(h, w, d):
    assert boundary_width(h, w) == d


def test_band_of_thin_maps_is_everything():
    ids = np.ones((3, 50), np.int32)
    assert boundary_band(ids, d=2).all()
    with pytest.raises(ValueError, match="d must be >= 1"):
        boundary_band(ids, d=0)
