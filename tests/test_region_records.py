"""The regions of an image described all at once equal the descriptions made one region at a
time (``tests/_regions_oracle.py``), and the kernels the disputes part shares with them."""

from __future__ import annotations

import numpy as np
import pytest
from _regions_oracle import area_weights as _area_weights
from _regions_oracle import region_records as oracle_records
from conftest import SAMPLE
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement import Categories, Category, PanopticAnnotation, load_study
from agreement.image.disagreement import (
    _area_average_rows,
    _pool_factor,
    area_average,
    boundary_near,
    heatmaps,
)
from agreement.image.regions import REGION_COLUMNS, region_records

CATS = Categories([Category(1, "road", False), Category(2, "sidewalk", False),
                   Category(3, "car", True), Category(4, "truck", True),
                   Category(5, "pole", False)])


def typed(records: list[dict]) -> list[list[tuple[str, type, object]]]:
    """Records as (key, type, value) lists: equal values of another type are a difference."""
    return [[(k, type(r[k]), r[k]) for k in REGION_COLUMNS] for r in records]


def annotator_maps(rng: np.random.Generator, n: int, shape: tuple[int, int]):
    """n annotations of one scene: shared blocks, each annotator shifting a border, relabelling,
    merging, splitting or leaving blocks void (thick and thin regions of every kind)."""
    h, w = shape
    base = np.kron(rng.integers(1, 9, (h // 6 + 1, w // 6 + 1)), np.ones((6, 6), np.int64))
    base = base[:h, :w]
    cats = {s: int(rng.integers(1, 6)) for s in range(1, 40)}
    out = {}
    for i in range(n):
        ids = base.copy()
        if rng.random() < 0.6:  # a border moved by a few pixels: thin slivers
            ids = np.roll(ids, int(rng.integers(-2, 3)), axis=int(rng.integers(0, 2)))
        for _ in range(int(rng.integers(0, 4))):
            y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
            dy, dx = int(rng.integers(1, 9)), int(rng.integers(1, 12))
            ids[y:y + dy, x:x + dx] = int(rng.choice([0, 10 + i, 20 + i, int(rng.integers(1, 9))]))
        mine = dict(cats)
        if rng.random() < 0.3:  # another class for one segment
            mine[int(rng.integers(1, 9))] = int(rng.integers(1, 6))
        out[f"a{i}"] = PanopticAnnotation.from_map(
            ids, {int(s): mine[int(s)] for s in np.unique(ids) if s}, file_name="img.png")
    return out


def test_an_image_without_disputes_has_no_regions():
    same = PanopticAnnotation.from_map(np.ones((8, 8), np.int64), {1: 1}, file_name="img.png")
    h = heatmaps({"a": same, "b": same}, CATS, d=1)
    assert region_records(h, CATS) == oracle_records(h, CATS) == []


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 6), st.integers(1, 3), st.integers(1, 30),
       st.sampled_from([0.0, 0.2, 0.4]))
def test_regions_described_at_once_equal_one_at_a_time(seed, n, width, min_area, floor):
    rng = np.random.default_rng(seed)
    h = heatmaps(annotator_maps(rng, n, (int(rng.integers(12, 40)), int(rng.integers(12, 48)))),
                 CATS, d=int(rng.integers(1, 3)))
    kw = {"min_area": min_area, "width": width, "min_disagreement": floor}
    got = region_records(h, CATS, **kw)
    assert typed(got) == typed(oracle_records(h, CATS, **kw))


def test_the_random_scenes_reach_every_kind():
    """The scenes of the test above are not all of one kind (a check of the generator)."""
    kinds = set()
    for seed in range(40):
        rng = np.random.default_rng(seed)
        h = heatmaps(annotator_maps(rng, 4, (36, 48)), CATS, d=1)
        kinds |= {r["kind"] for r in region_records(h, CATS, min_area=4, width=2)}
    assert kinds == {"boundary placement", "class confusion", "merge-split", "missed object",
                     "unlabeled gap"}


@pytest.mark.parametrize("batch", ["batch1", "batch2"])
def test_sample_regions_equal_the_per_region_descriptions(batch):
    path = SAMPLE / batch
    if not path.exists():
        pytest.skip(f"no {batch} in the sample")
    study = load_study(path)
    total = 0
    for image in study.images:
        anns = {a: study.annotation(a, image) for a in study.annotators_of(image)}
        if len(anns) < 2:
            continue
        h = heatmaps(anns, study.categories)
        got = region_records(h, study.categories)
        assert typed(got) == typed(oracle_records(h, study.categories)), image
        total += len(got)
    assert total > 0


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 11), st.integers(1, 4), st.integers(0, 5), st.integers(1, 14),
       st.integers(1, 14), st.integers(0, 2**32 - 1))
def test_a_wider_border_tolerance_widened_from_a_narrower_one(n, d0, extra, h, w, seed):
    """Heatmaps.near_count(d) after near_count(d0 <= d) widens the kept bits: the same counts
    as each annotator's boundary_near at d (image borders included), in either order."""
    rng = np.random.default_rng(seed)
    maps = [rng.integers(1, 4, (h, w)) for _ in range(n)]
    anns = {f"a{i}": PanopticAnnotation.from_map(m, {int(s): int(s) for s in np.unique(m)})
            for i, m in enumerate(maps)}
    d = d0 + extra
    want = sum(boundary_near(m, d).astype(np.uint8) for m in maps)
    narrow = heatmaps(anns, CATS, d=d0)
    narrow.near_count(d0)
    assert np.array_equal(narrow.near_count(d), want)
    wide_first = heatmaps(anns, CATS, d=d0)
    assert np.array_equal(wide_first.near_count(d), want)
    assert np.array_equal(wide_first.near_count(d0),
                          sum(boundary_near(m, d0).astype(np.uint8) for m in maps))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.sampled_from([1, 2, 4, 8]),
       st.sampled_from([1, 2, 4]), st.integers(0, 2**32 - 1))
def test_pooled_area_average_is_the_sparse_product_bit_for_bit(g0, g1, fr, fc, seed):
    """Sizes divisible by a power of two: the unscaled sums scaled once give the taps' bits
    (values of every scale, negative ones, negative zeros: never a negative zero out)."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((g0 * fr, g1 * fc)) * 10.0 ** rng.integers(-30, 30, (g0 * fr, 1))
         ).astype(np.float32)
    x[rng.random(x.shape) < 0.2] = -0.0
    assert _pool_factor(g0 * fr, g0) == fr and _pool_factor(g1 * fc, g1) == fc
    wide = x.astype(np.float64)
    expected = np.asarray((_area_weights(g1 * fc, g1) @ (_area_weights(g0 * fr, g0) @ wide).T).T)
    got = area_average(x, (g0, g1))
    assert np.array_equal(got, expected)
    generic = area_average(wide, (g0, g1))  # float64 input: the taps
    assert got.tobytes() == generic.tobytes()  # signs of zeros included
    stacked = _area_average_rows(lambda lo, hi: np.stack([x[lo:hi], -x[lo:hi]]), x.shape,
                                 (g0, g1))
    assert stacked[0].tobytes() == got.tobytes()
    assert np.array_equal(stacked[1], -got + 0.0)


def test_pool_factor_only_for_power_of_two_blocks():
    assert [_pool_factor(n, m) for n, m in ((512, 256), (1024, 512), (6, 6), (8, 2))] == [
        2, 2, 1, 4]
    assert [_pool_factor(n, m) for n, m in ((6, 2), (7, 2), (3, 6), (12, 4))] == [0, 0, 0, 0]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(1, 300), st.integers(0, 2),
       st.sampled_from([np.uint16, np.int32, np.int64]), st.integers(0, 2**32 - 1))
def test_take_by_blocks_is_the_fancy_index(h, w, tuples, lead, index_type, seed):
    """tuples.take (np.take a block of indices at a time, blocks of 7 here) is
    ``values[..., index]`` for any leading shape and index type."""
    from agreement.image import tuples as tuples_module

    rng = np.random.default_rng(seed)
    index = rng.integers(0, tuples, (h, w)).astype(index_type)
    values = rng.random((*(2,) * lead, tuples)).astype(np.float32)
    old = tuples_module.GATHER_BLOCK
    tuples_module.GATHER_BLOCK = 7
    try:
        got = tuples_module.take(values, index)
        flags = tuples_module.take(values > 0.5, index)
    finally:
        tuples_module.GATHER_BLOCK = old
    assert got.dtype == values.dtype and np.array_equal(got, values[..., index])
    assert np.array_equal(flags, (values > 0.5)[..., index])


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 400), st.integers(1, 50), st.integers(0, 2**32 - 1))
def test_counted_keys_and_region_tuples_both_ways(pixels, regions, seed):
    """_count_keys counts (or sums weights) by bincount for small key ranges and by a sort
    for large ones, the same; _region_tuples gives the pixels per distinct (region, tuple)."""
    from agreement.image import regions as mod

    rng = np.random.default_rng(seed)
    reg = np.sort(rng.integers(0, regions, pixels))
    tup = rng.integers(0, 70_000, pixels).astype(np.int32)  # more tuples than uint16 holds
    weights = rng.integers(1, 5, pixels)
    for size in (int(reg.max() + 1) * 70_000, 1 << 23):  # the sort from 2**22 keys on
        keys = reg * 70_000 + tup
        want, counts = np.unique(keys, return_counts=True)
        got = mod._count_keys(keys, size)
        assert np.array_equal(got[0], want) and np.array_equal(got[1], counts)
        summed = mod._count_keys(keys, size, weights)
        assert np.array_equal(summed[0], want)
        assert np.array_equal(summed[1], [weights[keys == k].sum() for k in want])
        assert summed[1].dtype == np.int64
    p_reg, p_tup, p_count = mod._region_tuples(reg, tup, 70_000)
    pairs = sorted({(int(r), int(t)) for r, t in zip(reg, tup, strict=True)})
    assert list(zip(p_reg.tolist(), p_tup.tolist(), strict=True)) == pairs
    assert p_count.tolist() == [int(np.sum((reg == r) & (tup == t))) for r, t in pairs]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.sampled_from([1, 2, 4]),
       st.sampled_from([1, 2, 4, 8]), st.sampled_from([np.uint8, np.uint16, np.int32]),
       st.integers(1, 40), st.floats(0.0, 1.0), st.integers(0, 2**32 - 1))
def test_pooled_codes_are_the_taps_of_the_map_bit_for_bit(g0, g1, fr, fc, code_type, codes,
                                                          blocky, seed):
    """Maps given by a code per pixel, averaged over power-of-two cells from the codes (cells
    of one code read once, the others added up) give the bits of the taps over the whole map:
    codes of 1, 2 and 4 bytes (compared a row of a cell at once, or one by one), negative
    zeros, values of every scale."""
    from agreement.image.disagreement import _pooled_codes

    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, codes, (g0, g1))
    fine = rng.integers(0, codes, (g0 * fr, g1 * fc))
    code = np.where(rng.random(fine.shape) < blocky, np.kron(coarse, np.ones((fr, fc), int)),
                    fine).astype(code_type)
    table = (rng.standard_normal((3, codes)) * 10.0 ** rng.integers(-20, 20, (3, codes))
             ).astype(np.float32)
    table[:, rng.random(codes) < 0.2] = -0.0
    got = _pooled_codes(code, table, fr, fc)
    for m in range(3):
        want = area_average(table[m][code].astype(np.float64), (g0, g1))  # the taps
        assert got[m].tobytes() == want.tobytes()


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([(1, 1), (2, 2), (4, 2), (2, 8)]))
def test_heatmaps_area_averages_from_codes_equal_the_maps(seed, factors):
    """Heatmaps.area_averages over power-of-two cells (from the tuples and the boundary
    counts) equals area_average of each whole map, bit for bit."""
    rng = np.random.default_rng(seed)
    hm = heatmaps(annotator_maps(rng, 3, (32, 48)), CATS, d=1)
    shape = (32 // factors[0], 48 // factors[1])
    names = ("semantic", "entropy", "boundary", "instance")
    got = hm.area_averages(names, shape)
    for i, name in enumerate(names):
        assert got[i].tobytes() == area_average(getattr(hm, name), shape).tobytes(), name


def _tally_as_first_written(records):
    """RegionTally.of as first written (min of the firsts, a mark per (table, key, image))."""
    from agreement.study.region_tally import RegionTally, _Sum

    out = RegionTally()
    tables = (out.pairs, out.kinds, out.dissent, out.involved, out.touched)
    seen: set = set()
    for rank, r in enumerate(records):
        first = (-float(r["severity"]), rank)
        pair, area, severity = r["class_pair"], int(r["area"]), float(r["severity"])
        (_, ca), (_, cb) = sorted(((r["class_a"], r["category_a"]),
                                   (r["class_b"], r["category_b"])))
        side_b = r["annotators_b"]
        keys = (((pair, int(ca), int(cb)),), ((pair, r["kind"]),),
                tuple((pair, a) for a in side_b),
                tuple(dict.fromkeys((*r["annotators_a"], *side_b, *(("b", a) for a in side_b)))),
                tuple((int(c), r["kind"]) for c in dict.fromkeys((r["category_a"],
                                                                   r["category_b"]))))
        for f, (table, ks) in enumerate(zip(tables, keys, strict=True)):
            for k in ks:
                new_image = (f, k, r["image"]) not in seen
                seen.add((f, k, r["image"]))
                s = table.get(k)
                if s is None:
                    table[k] = _Sum(1, area, int(new_image), severity, first)
                else:
                    s.first = min(s.first, first)
                    s.regions += 1
                    s.pixels += area
                    s.images += new_image
                    s.severity += severity
    out.n = len(records)
    return out


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 60))
def test_region_tally_equals_the_first_written(seed, n):
    """Random records of several images in any order (equal severities, the same class twice,
    void): the same sums, firsts and image counts as the tally as first written."""
    from agreement.study.region_tally import RegionTally

    rng = np.random.default_rng(seed)
    names = ["void", "road", "car", "walk"]
    people = ("a", "b", "c", "d")
    records = []
    for _ in range(n):
        ia, ib = (int(x) for x in rng.integers(0, 4, 2))
        side = [p for p in people if rng.random() < 0.5]
        cut = int(rng.integers(0, len(side) + 1))
        records.append({
            "image": f"i{int(rng.integers(0, 3))}", "kind": str(rng.choice(["x", "y", "z"])),
            "class_pair": " <-> ".join(sorted((names[ia], names[ib]))),
            "class_a": names[ia], "class_b": names[ib], "category_a": ia, "category_b": ib,
            "annotators_a": tuple(side[:cut]), "annotators_b": tuple(side[cut:]),
            "area": int(rng.integers(1, 100)), "severity": float(rng.integers(0, 5)) / 4})
    got, want = RegionTally.of(records), _tally_as_first_written(records)
    for f in ("pairs", "kinds", "dissent", "involved", "touched", "n"):
        assert getattr(got, f) == getattr(want, f), f
    assert list(got.pairs) == list(want.pairs)  # (the order of first appearance too)


def test_pixels_where_are_the_flagged_tuples_pixels_and_follow_the_flags():
    rng = np.random.default_rng(3)
    hm = heatmaps(annotator_maps(rng, 3, (20, 30)), CATS, d=1)
    index = hm.tuples.index
    for _ in range(3):  # other flags, then the same again: never a stale answer
        flags = rng.random(len(hm.tuples)) < 0.5
        want = np.flatnonzero(flags[index])
        assert np.array_equal(hm.pixels_where(flags), want)
        assert np.array_equal(hm.pixels_where(flags.copy()), want)
