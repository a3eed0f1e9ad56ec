"""Heatmaps and ambiguous regions on hand-made maps with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement import AnnotationError, Categories, Category, PanopticAnnotation
from agreement.image.disagreement import boundary_near, heatmaps, match_lut
from agreement.image.regions import ambiguous_regions
from agreement.study.region_tally import annotator_summary, class_pair_summary

CATS = Categories([Category(1, "road", False), Category(2, "sidewalk", False),
                   Category(3, "car", True), Category(4, "truck", True)])
H, W = 30, 40


def ann(ids, cats, name="img.png"):
    return PanopticAnnotation.from_map(np.asarray(ids), cats, file_name=name)


def road(**blocks):
    """A road image (segment 1); blocks: segment id -> (slice y, slice x)."""
    ids = np.ones((H, W), np.int32)
    for sid, (ys, xs) in blocks.items():
        ids[ys, xs] = int(sid[1:])
    return ids


def test_semantic_entropy_tie_and_void_modes():
    a = ann([[1, 1, 1, 0]], {1: 1})
    b = ann([[1, 2, 2, 0]], {1: 1, 2: 2})
    c = ann([[1, 1, 3, 1]], {1: 1, 3: 3})
    h = heatmaps({"a": a, "b": b, "c": c}, CATS, d=1)
    np.testing.assert_allclose(h.semantic[0], [0, 1 / 3, 2 / 3, 1 / 3], rtol=1e-6)
    p = np.array([2 / 3, 1 / 3])
    np.testing.assert_allclose(h.entropy[0], [0, -(p * np.log2(p)).sum(), np.log2(3),
                                              -(p * np.log2(p)).sum()], rtol=1e-6)
    assert h.tie[0].tolist() == [False, False, True, False]
    assert h.majority[0].tolist() == [1, 1, 1, 0]  # last pixel: void is the majority vote
    x = heatmaps({"a": a, "b": b, "c": c}, CATS, d=1, void="exclude")
    assert x.n[0].tolist() == [3, 3, 3, 1]
    np.testing.assert_allclose(x.semantic[0], [0, 1 / 3, 2 / 3, 0], rtol=1e-6)
    assert x.majority[0, 3] == 1 and x.entropy[0, 3] == 0
    assert x.disputed[:, 0, 3].tolist() == [False, False, False]


def test_boundary_heatmap_counts_annotators_near_a_boundary():
    def split(col):
        ids = np.ones((3, 12), np.int32)
        ids[:, col:] = 2
        return ann(ids, {1: 1, 2: 2})
    h = heatmaps({"a": split(4), "b": split(4), "c": split(8)}, CATS, d=1)
    # a, b: border between columns 3|4 -> near at columns 3..4; c: 7|8 -> 7..8
    assert h.boundary_count[0].tolist() == [0, 0, 0, 2, 2, 0, 0, 1, 1, 0, 0, 0]
    count = h.boundary_count[0]
    np.testing.assert_allclose(h.boundary[0], np.minimum(count, 3 - count) / 3)
    assert boundary_near(np.array([[5, 5, 5]]), 1).sum() == 0  # the image border is no boundary


def merge_case():
    two = road(s10=(slice(5, 13), slice(5, 11)), s11=(slice(5, 13), slice(11, 17)))
    one = road(s10=(slice(5, 13), slice(5, 17)))
    return {"a": ann(two, {1: 1, 10: 3, 11: 3}), "b": ann(two, {1: 1, 10: 3, 11: 3}),
            "c": ann(one, {1: 1, 10: 3})}


def test_instance_heatmap_and_match():
    anns = merge_case()
    assert match_lut(anns["a"], anns["b"]).tolist() == [-1, 1, 2, 3]
    assert match_lut(anns["a"], anns["c"]).tolist() == [-1, 1, -1, -1]  # IoU 0.5 is no match
    h = heatmaps(anns, CATS, d=1)
    assert h.semantic.max() == 0
    np.testing.assert_allclose(h.instance[5:13, 5:17], 1 / 3, rtol=1e-6)  # c of a, b, c
    assert h.instance.sum() == pytest.approx(96 / 3, rel=1e-5)
    assert h.instance_disputed.sum(axis=(1, 2)).tolist() == [0, 0, 96]


def test_class_ambiguity_and_class_counts():
    block = (slice(10, 20), slice(10, 20))
    anns = {"a": ann(road(), {1: 1}), "b": ann(road(), {1: 1}),
            "c": ann(road(s2=block), {1: 1, 2: 2})}
    h = heatmaps(anns, CATS, d=1)
    amb = h.class_ambiguity(2)
    np.testing.assert_allclose(amb[block], 1 / 3, rtol=1e-6)
    assert amb.sum() == pytest.approx(100 / 3, rel=1e-5)
    claimed, disputed = h.class_counts()
    assert claimed.tolist() == [0, H * W, 100, 0, 0]
    assert disputed.tolist() == [0, 100, 100, 0, 0]
    with pytest.raises(AnnotationError, match="category must be one of"):
        h.class_ambiguity(99)


def regions_of(anns, **kw):
    h = heatmaps(anns, CATS, d=1)
    return ambiguous_regions(h, CATS, min_area=kw.pop("min_area", 10), width=2, **kw)


def test_region_class_confusion():
    block = (slice(10, 20), slice(10, 20))
    out = regions_of({"a": ann(road(), {1: 1}), "b": ann(road(), {1: 1}),
                      "c": ann(road(s2=block), {1: 1, 2: 2})})
    assert len(out) == 1
    r = out.iloc[0]
    assert (r.kind, r.class_pair, r.class_a, r.class_b) == (
        "class confusion", "road <-> sidewalk", "road", "sidewalk")
    assert (r.annotators_a, r.annotators_b, r.area) == (("a", "b"), ("c",), 100)
    assert r.class_pairs == "road <-> sidewalk (100%)"
    assert (r.bbox_x, r.bbox_y, r.bbox_w, r.bbox_h) == (10, 10, 10, 10)
    assert r.severity == pytest.approx(100 / 3, rel=1e-5)
    assert r.mean_disagreement == pytest.approx(1 / 3, rel=1e-5)


def test_region_boundary_placement():
    def split(col):
        ids = np.ones((H, W), np.int32)
        ids[:, col:] = 2
        return ann(ids, {1: 1, 2: 2})
    out = regions_of({"a": split(20), "b": split(20), "c": split(22)})
    assert len(out) == 1
    r = out.iloc[0]
    assert (r.kind, r.class_pair, r.area, r.annotators_b) == (
        "boundary placement", "road <-> sidewalk", 2 * H, ("c",))


def test_region_thin_missed_structure():
    pole = road(s2=(slice(3, 27), slice(18, 21)))  # a 3 px wide pole (as sidewalk) on the road
    out = regions_of({"a": ann(pole, {1: 1, 2: 2}), "b": ann(pole, {1: 1, 2: 2}),
                      "c": ann(road(), {1: 1})})
    assert out[["kind", "class_pair", "annotators_b", "area"]].values.tolist() == [
        ["missed object", "road <-> sidewalk", ("c",), 72]]


def test_region_unlabeled_gap_and_missed_object():
    block = (slice(10, 20), slice(10, 20))
    gap = road(s0=block)
    out = regions_of({"a": ann(road(), {1: 1}), "b": ann(road(), {1: 1}),
                      "c": ann(gap, {1: 1})})
    assert out[["kind", "class_pair", "class_b"]].values.tolist() == [
        ["unlabeled gap", "road <-> void", "void"]]
    car = road(s7=(slice(2, 10), slice(25, 33)))
    out = regions_of({"a": ann(car, {1: 1, 7: 3}), "b": ann(car, {1: 1, 7: 3}),
                      "c": ann(road(), {1: 1})})
    r = out.iloc[0]
    assert (r.kind, r.class_pair, r.annotators_a, r.annotators_b, r.area) == (
        "missed object", "car <-> road", ("a", "b"), ("c",), 64)


def test_region_merge_split_and_summaries():
    out = regions_of(merge_case())
    assert len(out) == 1
    r = out.iloc[0]
    assert (r.kind, r.class_pair, r.annotators_a, r.annotators_b, r.merged_by) == (
        "merge-split", "car <-> car", ("a", "b"), ("c",), ("c",))
    assert r.area == 96
    both = pd_concat([out, regions_of(merge_case())])
    pairs = class_pair_summary(both)
    assert pairs[["class_pair", "regions", "pixels", "images", "annotators"]].values.tolist() == [
        ["car <-> car", 2, 192, 1, 1]]
    per = annotator_summary(both, ("a", "b", "c"))
    assert per.annotator[0] == "c" and per.dissent_regions.tolist() == [2, 0, 0]
    assert per.dissent_share.tolist() == [1.0, 0.0, 0.0]


def test_no_regions_and_errors():
    same = {"a": ann(road(), {1: 1}), "b": ann(road(), {1: 1})}
    assert regions_of(same).empty
    assert class_pair_summary(regions_of(same)).empty
    with pytest.raises(AnnotationError, match="heatmaps need at least 2 annotators, got 1"):
        heatmaps({"a": same["a"]}, CATS)
    small = ann(np.ones((2, 2), np.int32), {1: 1})
    with pytest.raises(AnnotationError, match="must have one shape"):
        heatmaps({"a": same["a"], "b": small}, CATS)
    with pytest.raises(AnnotationError, match="void must be 'exclude' or 'label'"):
        heatmaps(same, CATS, void="none")  # type: ignore[arg-type]


def pd_concat(frames):
    import pandas as pd
    return pd.concat(frames, ignore_index=True)


def _slow_maps(maps, d):
    """Per-pixel loops: majority share, entropy, tie, boundary count (the obvious way)."""
    from collections import Counter

    n, (hh, ww) = len(maps), maps[0].shape
    sem = np.zeros((hh, ww))
    ent = np.zeros((hh, ww))
    tie = np.zeros((hh, ww), bool)
    count = np.zeros((hh, ww), int)
    for y in range(hh):
        for x in range(ww):
            c = Counter(int(m[y, x]) for m in maps)
            top = c.most_common()
            sem[y, x] = 1 - top[0][1] / n
            ent[y, x] = -sum(v / n * np.log2(v / n) for _, v in top)
            tie[y, x] = len(top) > 1 and top[0][1] == top[1][1]
            for m in maps:
                window = m[max(0, y - d):y + d + 1, max(0, x - d):x + d + 1]
                count[y, x] += len(np.unique(window)) > 1
    return sem, ent, tie, count


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 5), st.integers(1, 2))
def test_heatmaps_equal_per_pixel_loops(seed, n, d):
    rng = np.random.default_rng(seed)
    maps = [rng.integers(0, 4, size=(5, 6)) for _ in range(n)]  # segment id = category id
    anns = {f"r{i}": ann(m, {s: s for s in range(1, 4) if (m == s).any()})
            for i, m in enumerate(maps)}
    h = heatmaps(anns, CATS, d=d)
    sem, ent, tie, count = _slow_maps(maps, d)
    np.testing.assert_allclose(h.semantic, sem, atol=1e-6)
    np.testing.assert_allclose(h.entropy, ent, atol=1e-5)
    np.testing.assert_array_equal(h.tie, tie)
    np.testing.assert_array_equal(h.boundary_count, count)
    assert ((h.semantic >= 0) & (h.semantic < 1) & (h.entropy <= np.log2(n) + 1e-6)).all()


def test_region_of_a_tie_names_both_tied_classes():
    block = (slice(10, 20), slice(10, 20))
    walk = ann(road(s2=block), {1: 1, 2: 2})
    out = regions_of({"a": ann(road(), {1: 1}), "b": walk, "c": ann(road(), {1: 1}),
                      "d": walk})
    r = out.iloc[0]
    assert (r.kind, r.class_pair, r.area, r.mean_disagreement) == (
        "class confusion", "road <-> sidewalk", 100, 0.5)
    assert {r.annotators_a, r.annotators_b} == {("a", "c"), ("b", "d")}


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(1, 6), st.floats(0.0, 1.0),
       st.integers(0, 2**32 - 1))
def test_opening_equals_the_min_max_filter_opening(h, w, r, density, seed):
    from scipy import ndimage

    from agreement.image.regions import _opening

    rng = np.random.default_rng(seed)
    mask = rng.random((h, w)) < density
    y, x = rng.integers(0, h), rng.integers(0, w)
    mask[y: y + 2 * r + 2, x: x + 2 * r + 2] = True  # a block that survives
    size = 2 * r + 1
    eroded = ndimage.minimum_filter(mask.view(np.uint8), size=size, mode="nearest")
    want = ndimage.maximum_filter(eroded, size=size, mode="nearest").astype(bool) & mask
    np.testing.assert_array_equal(_opening(mask, r), want)


def test_a_one_class_pair_is_never_a_class_confusion():
    """A thick region mostly disputed on the instance (car <-> car), a bit less on the class
    with two different dissenting classes: its kind and pair come from the class dispute."""
    cats = Categories([Category(1, "road", False), Category(3, "car", True),
                       Category(4, "truck", True), Category(5, "bus", True)])
    car = np.ones((H, W), np.int32)
    car[5:25, 5:35] = 3
    split = car.copy()
    split[5:25, 5:12] = 4  # d splits a 140 px piece off the car (its rest is still matched)
    dissent = car.copy()
    dissent[5:15, 12:20] = 5  # c: truck on 80 px of the car, bus on 80 px
    dissent[15:25, 12:20] = 6
    anns = {"a": ann(car, {1: 1, 3: 3}), "b": ann(car, {1: 1, 3: 3}),
            "c": ann(dissent, {1: 1, 3: 3, 5: 4, 6: 5}), "d": ann(split, {1: 1, 3: 3, 4: 3})}
    h = heatmaps(anns, cats, d=1)
    assert float(h.instance.sum()) == pytest.approx(140 / 4)  # less than the class dispute:
    assert float(h.semantic.sum()) == pytest.approx(160 / 4)  # not a merge-split region
    out = ambiguous_regions(h, cats, min_area=10, width=2)
    assert len(out) == 1
    r = out.iloc[0]
    assert r.class_pairs == "car <-> car (47%); car <-> truck (27%); bus <-> car (27%)"
    assert (r.kind, r.class_pair, r.class_a, r.class_b) == (
        "class confusion", "car <-> truck", "car", "truck")
    assert (r.category_a, r.category_b, r.annotators_b, r.area) == (3, 4, ("c",), 300)


def test_a_merge_split_region_without_a_majority_dissenter_names_the_smaller_side():
    """Each annotator is outside the largest matched group on less than half of the region:
    the dissenters are the smaller of the mergers and the splitters."""
    one = np.ones((H, W), np.int32)
    one[5:25, 5:35] = 3
    two = one.copy()
    two[5:25, 20:35] = 4
    three = one.copy()
    three[5:25, 15:25] = 4
    three[5:25, 25:35] = 5
    anns = {"a": ann(one, {1: 1, 3: 3}), "b": ann(one, {1: 1, 3: 3}),
            "c": ann(two, {1: 1, 3: 3, 4: 3}), "d": ann(three, {1: 1, 3: 3, 4: 3, 5: 3})}
    out = regions_of(anns)
    merge = out[out.kind == "merge-split"]
    assert len(merge) >= 1
    for r in merge.itertuples():
        assert r.class_pair == "car <-> car" and r.annotators_b
        assert set(r.annotators_a) | set(r.annotators_b) == {"a", "b", "c", "d"}


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 5))
def test_one_class_pairs_are_exactly_the_merge_split_regions(seed, n):
    """Blocky random maps of stuff and thing segments: a region names one class twice if and
    only if it is a merge-split region, and then a thing class."""
    rng = np.random.default_rng(seed)
    regions = []
    for _ in range(3):
        maps = []
        for _ in range(n):
            ids = np.kron(rng.integers(1, 9, size=(6, 8)), np.ones((5, 5), np.int64))
            maps.append(ann(ids, {s: int(rng.integers(1, 5)) for s in np.unique(ids)}))
        regions.append(regions_of({f"r{i}": m for i, m in enumerate(maps)}, min_area=4))
    out = pd_concat(regions)
    same = out.category_a == out.category_b
    assert (same == (out.kind == "merge-split")).all()
    assert out.loc[same, "category_a"].isin([3, 4]).all()


def test_crowds_match_crowds_only_and_the_same_crowd_twice_is_agreement():
    """Two annotators who mark the same group as a crowd agree on its instances (the same
    ground truth read twice had 25 'person <-> person' regions); a crowd never matches a
    single instance, whichever annotator comes first."""
    ids = road(s3=(slice(5, 15), slice(5, 25)), s4=(slice(18, 26), slice(5, 15)))
    crowd = PanopticAnnotation.from_map(ids, {1: 1, 3: 3, 4: 3}, iscrowd=[3],
                                        file_name="img.png")
    again = PanopticAnnotation.from_map(ids * 2, {2: 1, 6: 3, 8: 3}, iscrowd=[6],
                                        file_name="img.png")
    single = PanopticAnnotation.from_map(ids, {1: 1, 3: 3, 4: 3}, file_name="img.png")
    assert match_lut(crowd, again).tolist() == [-1, 1, 2, 3]  # the road, the crowd, the car
    assert match_lut(again, crowd).tolist() == [-1, 1, 2, 3]
    assert match_lut(crowd, single).tolist() == [-1, 1, -1, 3]  # crowd vs one car: no match
    assert match_lut(single, crowd).tolist() == [-1, 1, -1, 3]
    h = heatmaps({"a": crowd, "b": again}, CATS, d=1)
    assert h.instance.max() == 0 and h.semantic.max() == 0
    assert len(regions_of({"a": crowd, "b": again})) == 0
    h = heatmaps({"a": crowd, "b": single}, CATS, d=1)
    assert h.instance[5:15, 5:25].min() > 0  # the crowd against one car is disputed


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 30), st.integers(1, 30),
       st.integers(0, 2**32 - 1))
def test_area_average_is_the_sparse_product_bit_for_bit(h, w, g0, g1, seed):
    """The taps of area_average add what the overlap matrix product adds, in its order: the
    aggregate heatmaps do not change by a bit (shrinking, stretching, uneven sizes)."""
    from _regions_oracle import area_weights as _area_weights

    from agreement.image.disagreement import area_average

    x = np.random.default_rng(seed).random((h, w)).astype(np.float32)
    expected = np.asarray((_area_weights(w, g1) @ (_area_weights(h, g0)
                                                   @ x.astype(np.float64)).T).T)
    got = area_average(x, (g0, g1))
    assert got.dtype == np.float64 and got.shape == (g0, g1)
    assert np.array_equal(got, expected)
    assert np.array_equal(area_average(x.astype(np.float64), (g0, g1)), expected)
    # the mean is kept: each output cell is an average of the input over its area
    assert np.isclose(got.mean(), x.astype(np.float64).mean(), rtol=1e-9, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 11), st.integers(1, 4), st.integers(1, 12), st.integers(1, 12),
       st.integers(0, 2**32 - 1))
def test_near_count_is_the_sum_of_each_annotators_boundary_near(n, d, h, w, seed):
    """The packed, once-windowed count equals each annotator's boundary_near added up (more
    than 8 annotators: 16-bit packing)."""
    rng = np.random.default_rng(seed)
    maps = [rng.integers(1, 4, (h, w)) for _ in range(n)]
    anns = {f"a{i}": ann(m, {int(s): int(s) for s in np.unique(m)}) for i, m in enumerate(maps)}
    hm = heatmaps(anns, CATS, d=d)
    expected = sum(boundary_near(c, d).astype(np.uint8) for c in hm.compact)
    assert np.array_equal(hm.boundary_count, expected)
    assert np.array_equal(hm.near_count(2 * d),
                          sum(boundary_near(c, 2 * d).astype(np.uint8) for c in hm.compact))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(1, 4), st.floats(0.0, 1.0),
       st.integers(0, 2**32 - 1))
def test_thick_regions_are_the_8_connected_components_in_raster_order(h, w, r, density, seed):
    """The thick regions are the components scipy.ndimage.label gives of the opening,
    numbered alike (raster order of their first pixel), found like the thin ones (runs of
    pixels)."""
    from scipy import ndimage

    from agreement.image.regions import _components, _connected, _opening

    rng = np.random.default_rng(seed)
    mask = rng.random((h, w)) < density
    code = rng.integers(0, 3, int(mask.sum())).astype(np.int32)
    pixels, region, thin = _components(mask, r, code)
    opened = _opening(mask, r)
    thick = opened.ravel()[pixels]
    labelled, n = ndimage.label(opened, structure=np.ones((3, 3), bool))
    assert np.array_equal(region[thick], labelled.ravel()[pixels[thick]])
    lab, m = _connected(pixels[~thick], mask.shape, code[~thick])
    assert np.array_equal(region[~thick], lab + 1 + n)
    assert thin.tolist() == [False] * (n + 1) + [True] * m


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.floats(0.0, 1.0), st.integers(1, 4),
       st.integers(0, 2**32 - 1))
def test_connected_is_the_8_connected_components_of_equal_code(h, w, density, codes, seed):
    """_connected (int32 edge lists over the given pixels only) against scipy.ndimage.label of
    each code's pixels, renumbered in raster order of each component's first pixel."""
    from scipy import ndimage

    from agreement.image.regions import _connected

    rng = np.random.default_rng(seed)
    mask = rng.random((h, w)) < density
    pixels = np.flatnonzero(mask)
    code = rng.integers(0, codes, pixels.size).astype(np.int32)
    lab, n = _connected(pixels, mask.shape, code)
    full = np.full(h * w, -1, np.int64)
    full[pixels] = code
    want = np.zeros(pixels.size, np.int64)
    offset = 0
    for v in range(codes):
        labelled, k = ndimage.label((full == v).reshape(h, w), structure=np.ones((3, 3), bool))
        on = code == v
        want[on] = labelled.ravel()[pixels[on]] - 1 + offset
        offset += k
    order = np.full(offset, -1, np.int64)  # components by their first pixel
    seen = np.unique(want, return_index=True)
    order[np.argsort(seen[1], kind="stable")] = np.arange(seen[0].size)
    assert n == offset
    assert np.array_equal(lab, order[want]) if pixels.size else lab.size == 0


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 70), st.integers(1, 70), st.integers(1, 40), st.integers(1, 40),
       st.integers(0, 2**32 - 1))
def test_heatmaps_area_average_reads_tuples_by_bands_to_the_same_bits(h, w, g0, g1, seed):
    """Heatmaps.area_average reads the per-tuple values a band of rows at a time: the same
    result as averaging the whole map (more than one band of 32 output rows included)."""
    from agreement.image.disagreement import area_average

    rng = np.random.default_rng(seed)
    maps = [rng.integers(1, 5, (h, w)) for _ in range(3)]
    seg = {1: 1, 2: 2, 3: 3, 4: 4}
    anns = {f"a{i}": ann(m, {int(s): seg[int(s)] for s in np.unique(m)})
            for i, m in enumerate(maps)}
    hm = heatmaps(anns, CATS, d=1)
    names = ("semantic", "entropy", "boundary", "instance")
    together = hm.area_averages(names, (g0, g1))  # the tuple maps in one pass, stacked
    for i, name in enumerate(names):
        alone = area_average(getattr(hm, name), (g0, g1))
        assert np.array_equal(together[i], alone), name
        assert np.array_equal(hm.area_average(name, (g0, g1)), alone), name
