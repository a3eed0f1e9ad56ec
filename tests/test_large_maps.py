"""Large images in bounded memory: narrow compact maps, ids dropped after loading, banded maps
freed, heatmaps not all kept, large crops painted at a stride (issue 17, item 2).

Every narrowing must give exactly the results of the int32 maps it replaces: compact ids,
boundary bands, banded maps, joint tables, PQ and Boundary PQ, tuples, area averages.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement import Categories, Category, PanopticAnnotation, _native
from agreement.annotation import ImageInfo, Segment
from agreement.image import disagreement as disagreement_module
from agreement.image.disagreement import area_average, heatmaps
from agreement.image.maps import ImageMaps
from agreement.image.pairs import evaluate_pairs
from agreement.labels import compact_dtype, compact_ids, overlap_table
from agreement.metrics.boundary import banded, boundary_band, joint_overlap_banded

CATS = Categories([Category(1, "car", True), Category(2, "road", False),
                   Category(3, "sky", False)])
COMPILED = _native.kernels
both_kernels = pytest.mark.parametrize("compiled", [
    pytest.param(True, id="compiled", marks=pytest.mark.skipif(
        COMPILED is None, reason="compiled kernels not built")),
    pytest.param(False, id="numpy")])


@contextmanager
def kernels(compiled: bool):
    """The compiled kernels, or the numpy fallback, for the time of the block."""
    saved, _native.kernels = _native.kernels, COMPILED if compiled else None
    try:
        yield
    finally:
        _native.kernels = saved


@st.composite
def label_maps(draw, max_side=20, max_segments=300):
    """A blocky map of compact ids ``0 .. k`` (runs, as real maps) and its k."""
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    k = draw(st.integers(0, max_segments))
    cell = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    coarse = rng.integers(0, k + 1, (-(-h // cell), -(-w // cell)))
    lab = np.repeat(np.repeat(coarse, cell, 0), cell, 1)[:h, :w]
    if k and draw(st.booleans()):
        lab.flat[0] = k  # the largest id is present
    return np.ascontiguousarray(lab.astype(np.int32)), k


def test_compact_dtype_is_the_narrowest_holding_k():
    assert [compact_dtype(k) for k in (0, 255, 256, 65_535, 65_536)] == [
        np.uint8, np.uint8, np.uint16, np.uint16, np.int32]


@both_kernels
@settings(max_examples=80, deadline=None)
@given(lab=label_maps(), data=st.data())
def test_narrow_compaction_gives_the_int32_values(compiled, lab, data):
    with kernels(compiled):
        _narrow_compaction(lab, data)


def _narrow_compaction(lab, data):
    lab, k = lab
    seg = np.asarray(data.draw(st.lists(st.integers(1, 2**31 - 1), min_size=k, max_size=k,
                                        unique=True)), np.int64)
    ids = np.where(lab > 0, np.concatenate([[0], seg])[lab], 0).astype(np.int32)
    wide, areas, unknown = compact_ids(ids, seg)
    narrow, areas2, unknown2 = compact_ids(ids, seg, narrow=True)
    assert wide.dtype == np.int32 and narrow.dtype == compact_dtype(k)
    assert np.array_equal(wide, narrow) and np.array_equal(wide, lab)
    assert np.array_equal(areas, areas2) and np.array_equal(unknown, unknown2)


@both_kernels
def test_narrow_compaction_past_65535_segments_is_int32(compiled):
    k = 70_000
    ids = (np.arange(k + 10, dtype=np.int32) % (k + 1)).reshape(1, -1) * 3
    with kernels(compiled):
        compact, areas, unknown = compact_ids(ids, np.arange(1, k + 1) * 3, narrow=True)
    assert compact.dtype == np.int32 and compact.max() == k and areas.sum() == k + 8
    assert unknown.size == 0


@both_kernels
@settings(max_examples=80, deadline=None)
@given(a=label_maps(), b=label_maps(), d=st.integers(1, 6))
def test_bands_and_joint_tables_of_narrow_maps_equal_those_of_int32(compiled, a, b, d):
    with kernels(compiled):
        _bands_and_tables(a, b, d)


def _bands_and_tables(a, b, d):
    (a, ka), (b, kb) = a, b
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    a, b = np.ascontiguousarray(a[:h, :w]), np.ascontiguousarray(b[:h, :w])
    na, nb = a.astype(compact_dtype(ka)), b.astype(compact_dtype(kb))
    band_a, band_b = boundary_band(a, d=d), boundary_band(b, d=d)
    assert np.array_equal(boundary_band(na, d=d), band_a)
    wide_a, wide_b = banded(a, band_a), banded(b, band_b)
    thin_a, thin_b = banded(na, band_a, k=ka), banded(nb, band_b, k=kb)
    assert wide_a.dtype == np.int32 and thin_a.dtype == compact_dtype(2 * ka + 1)
    assert np.array_equal(wide_a, thin_a) and np.array_equal(wide_b, thin_b)
    assert np.array_equal(banded(na, band_a), thin_a)  # k read from the map
    want = joint_overlap_banded(wide_a, wide_b, ka, kb)
    got = joint_overlap_banded(thin_a, thin_b, ka, kb)  # maps of different widths too
    assert np.array_equal(want[0], got[0])
    for field in ("table", "ref_band_area", "other_band_area"):
        assert np.array_equal(getattr(want[1], field), getattr(got[1], field))
    assert np.array_equal(overlap_table(na, nb, ka + 1, kb + 1),
                          overlap_table(a, b, ka + 1, kb + 1))


@st.composite
def images(draw):
    """2-3 annotations of one image, 1-300 segments each (uint8 and uint16 compact maps)."""
    h, w = draw(st.integers(2, 16)), draw(st.integers(2, 16))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    anns = {}
    for a in range(draw(st.integers(2, 3))):
        k = int(rng.choice([3, 40, 300]))
        ids = rng.integers(0, k, size=(h, w)).astype(np.int32) * 7
        cats = {int(s): int(rng.choice([1, 2, 3])) for s in np.unique(ids) if s}
        anns[f"a{a}"] = PanopticAnnotation.from_map(ids, cats, file_name="x.png")
    return anns


def _widened(ann: PanopticAnnotation) -> PanopticAnnotation:
    """The same annotation with an int32 compact map (as before the narrow maps)."""
    wide = PanopticAnnotation(ann.image, ann.ids, ann.segments)
    wide.__dict__["compact"] = ann.compact.astype(np.int32)
    return wide


@both_kernels
@settings(max_examples=40, deadline=None)
@given(anns=images())
def test_pq_and_boundary_pq_of_narrow_maps_equal_those_of_int32(compiled, anns):
    with kernels(compiled):
        _pq_of_narrow_maps(anns)


def _pq_of_narrow_maps(anns):
    assert all(a.compact.dtype != np.int32 for a in anns.values())
    narrow = ImageMaps("x.png", anns, categories=CATS, dilation_ratio=0.2)
    wide = ImageMaps("x.png", {n: _widened(a) for n, a in anns.items()}, categories=CATS,
                     dilation_ratio=0.2)
    for got, want in zip(evaluate_pairs(narrow, narrow.names),
                         evaluate_pairs(wide, wide.names), strict=True):
        assert got.ref == want.ref and got.other == want.other
        for key, value in want.evaluation.counts.items():
            assert np.array_equal(got.evaluation.counts[key], value), key
    t_narrow, t_wide = narrow.tuples(), wide.tuples()
    assert np.array_equal(t_narrow.codes, t_wide.codes)
    assert np.array_equal(t_narrow.count, t_wide.count)
    assert np.array_equal(t_narrow.index, t_wide.index)
    assert t_narrow.index.dtype == np.uint16


def test_banded_maps_are_dropped_once_every_pair_is_built():
    rng = np.random.default_rng(1)
    anns = {f"a{i}": PanopticAnnotation.from_map(rng.integers(0, 4, (9, 9)) * 5,
                                                 {5: 1, 10: 2, 15: 3}, file_name="x.png")
            for i in range(3)}
    maps = ImageMaps("x.png", anns, categories=CATS, dilation_ratio=0.1)
    maps.pair("a0", "a1")
    assert set(maps._banded) == {"a0", "a1"}
    maps.pair("a2", "a0")  # a0 has all its pairs now
    assert set(maps._banded) == {"a1", "a2"}
    maps.pair("a1", "a2")
    assert maps._banded == {}
    again = ImageMaps("x.png", anns, categories=CATS, dilation_ratio=0.1)
    assert np.array_equal(maps.pair("a1", "a2").table, again.pair("a1", "a2").table)


def test_an_annotation_from_its_compact_map_rebuilds_its_ids_when_read():
    info = ImageInfo("x.png", 2, 3)
    segs = (Segment(40, 1, area=2), Segment(7, 2, area=3))
    compact = np.array([[0, 1, 1], [2, 2, 2]], np.uint8)
    ann = PanopticAnnotation.from_compact(info, compact, segs)
    assert ann._ids is None and ann.void_pixels == 1  # without building the ids
    assert ann.compact is not compact and np.shares_memory(ann.compact, compact)
    assert not ann.compact.flags.writeable
    assert ann.ids.dtype == np.int32 and ann.ids.tolist() == [[0, 40, 40], [7, 7, 7]]
    assert not ann.ids.flags.writeable and ann.ids is ann.ids
    with pytest.raises(Exception, match="2x3"):
        PanopticAnnotation.from_compact(info, compact[:1], segs)


def test_the_panoptic_reader_keeps_the_compact_map_only(tmp_path):
    from agreement.io import read_coco_panoptic, write_coco_panoptic

    ids = np.zeros((6, 8), np.int32)
    ids[:3] = 2 * 256 * 256 + 1  # an id with a B byte
    ids[3:, 4:] = 300
    ann = PanopticAnnotation.from_map(ids, {2 * 256 * 256 + 1: 1, 300: 2}, file_name="x.png")
    write_coco_panoptic([ann], CATS, tmp_path / "p.json", tmp_path / "png")
    got = read_coco_panoptic(tmp_path / "p.json").load("x.png")
    assert got._ids is None and got.compact.dtype == np.uint8
    assert got.void_pixels == 12 and got._ids is None
    assert np.array_equal(got.ids, ids)


@pytest.mark.parametrize("shape", [(37, 4000), (1000, 700), (3, 9)])
def test_area_average_without_a_float_copy_gives_the_same_sums(shape):
    rng = np.random.default_rng(2)
    heat = rng.random(shape).astype(np.float32)
    want = area_average(heat.astype(np.float64), (5, 7))
    assert np.array_equal(area_average(heat, (5, 7)), want)  # bit for bit
    counts = rng.integers(0, 4, shape).astype(np.uint8)  # converted a band of rows at a time
    assert np.array_equal(area_average(counts, (5, 7)),
                          area_average(counts.astype(np.float64), (5, 7)))


def test_heatmaps_keep_at_most_two_large_maps(monkeypatch):
    rng = np.random.default_rng(3)
    anns = {f"a{i}": PanopticAnnotation.from_map(rng.integers(0, 4, (12, 12)) * 5,
                                                 {5: 1, 10: 2, 15: 3}, file_name="x.png")
            for i in range(3)}
    want = heatmaps(anns, CATS, d=1)
    want = {m: getattr(want, m).copy() for m in ("semantic", "entropy", "instance", "labels",
                                                 "boundary")}
    monkeypatch.setattr(disagreement_module, "KEEP_BYTES", 0)  # every map is "large"
    h = heatmaps(anns, CATS, d=1)
    for m, value in want.items():
        assert np.array_equal(getattr(h, m), value)
        assert len(h._large) <= 2
    assert h._large == ["labels", "boundary"]
    assert np.array_equal(h.semantic, want["semantic"])  # read back from the tuples


def test_a_large_crop_is_painted_from_a_grid_of_its_pixels(monkeypatch):
    from agreement import plot_regions

    ids = np.ones((60, 80), np.int32)
    other = ids.copy()
    other[20:40, 30:50] = 2
    anns = {"a": PanopticAnnotation.from_map(ids, {1: 2}, file_name="x.png"),
            "b": PanopticAnnotation.from_map(other, {1: 2, 2: 3}, file_name="x.png")}
    region = {"bbox_x": 30, "bbox_y": 20, "bbox_w": 20, "bbox_h": 20,
              "category_a": 2, "category_b": 3}
    full = plot_regions.region_crop(region, anns, CATS)
    monkeypatch.setattr(plot_regions, "MAX_CROP_PIXELS", 100)
    small = plot_regions.region_crop(region, anns, CATS)
    assert small.box == full.box and full.sample is None and small.sample is not None
    rows, cols = small.sample
    assert small.rgb.shape[1:3] == (rows.size, cols.size) and rows.size * cols.size <= 100
    assert np.array_equal(small.rgb, full.rgb[:, rows][:, :, cols])  # the same pixels
    assert small.titles == full.titles and small.classes == full.classes
    import matplotlib
    matplotlib.use("Agg")
    fig = plot_regions.plot_region_panels(region, anns, CATS, crop=small)
    assert len(fig.axes) >= 2
