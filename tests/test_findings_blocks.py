"""The findings' study step in blocks: the effect table's values, contrasts, levels and tests
read a block of tests (or images) at a time give the numbers of the whole table, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from _tests_oracle import whole_tests
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement.diagnosis import _stats
from agreement.diagnosis._decide import _Columns
from agreement.diagnosis._effects import EffectTable
from agreement.diagnosis._finish import _study_level, study_level
from agreement.diagnosis._stats import column_blocks, contrast_tests, contrasts

_FIELDS = ("effect", "stat", "p", "p_adjusted", "ci_low", "ci_high", "n_images")


def _table(seed: int, n: int, na: int, m: int, holes: float = 0.3) -> EffectTable:
    """An effect table of random pixel counts (num) and lengths (den), with undefined cells."""
    rng = np.random.default_rng(seed)
    num = rng.integers(-40, 60, (n, na, m)).astype(float) / 2
    den = rng.random((n, na, m)) * 50 * (np.pi / 4)
    den[rng.random(den.shape) < holes] = np.nan
    den[rng.random(den.shape) < 0.05] = 0.0
    present = rng.random((n, na)) < 0.9
    return EffectTable(tuple(f"i{i}" for i in range(n)), tuple(f"a{a}" for a in range(na)),
                       (1,), tuple(("extent", (1,)) for _ in range(m)), num, den, {}, present,
                       2, np.array([False, False]))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 40), na=st.integers(2, 5),
       m=st.integers(1, 9), block=st.sampled_from([1, 5, 37, 1 << 18]))
def test_the_table_read_in_blocks_equals_its_whole_values(seed, n, na, m, block):
    table = _table(seed, n, na, m)
    values = table.values
    whole = contrasts(values)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_stats, "_BLOCK", block)
        blocks = table.contrast_blocks()
        level = _study_level(table)
        from_values = column_blocks(values)
    for got in (blocks, from_values):
        assert all(b.flags.c_contiguous for b in got)
        np.testing.assert_array_equal(np.concatenate(got, axis=-1), whole)
    np.testing.assert_array_equal(level, study_level(values))
    for t in range(m):
        np.testing.assert_array_equal(table.column(t), values[:, :, t])
        np.testing.assert_array_equal(table.column_contrasts(t), whole[:, :, t])
    np.testing.assert_array_equal(table.columns(1, 3), values[:, :, 1:3])


def test_the_decisions_read_a_test_at_a_time_as_from_the_whole_arrays():
    table = _table(5, 30, 3, 6)
    values, c = table.values, contrasts(table.values)
    lazy_c, lazy_v = _Columns(table, contrasts=True), _Columns(table, contrasts=False)
    ok = np.isfinite(values[:, 1, 4])
    for a in range(3):
        for t in range(6):
            np.testing.assert_array_equal(lazy_c[:, a, t], c[:, a, t])
            np.testing.assert_array_equal(lazy_v[:, a, t], values[:, a, t])
            np.testing.assert_array_equal(lazy_c[ok, a, t], c[ok, a, t])
    # the sums the decisions take of them: the same numbers
    size = table.den[:, 2, 3]
    assert np.nansum(np.abs(lazy_c[:, 2, 3]) * size) == np.nansum(np.abs(c[:, 2, 3]) * size)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 30), na=st.integers(2, 4),
       m=st.integers(1, 7), block=st.sampled_from([1, 13, 1 << 18]),
       adjust=st.sampled_from(["maxt", "holm", "bh"]))
def test_tests_in_blocks_of_tests_equal_the_tests_of_the_whole_table(seed, n, na, m, block,
                                                                      adjust):
    """Permutations, means and bootstrap a block of test columns at a time: the same draws and
    the same numbers as the first tests on the whole table (the oracle), bit for bit."""
    table = _table(seed, n, na, m)
    rng = np.random.default_rng(seed + 1)
    kw = {"two_sided": rng.random(m) < 0.5, "floor": np.full(m, 0.05), "n_resamples": 59,
          "n_boot": 40, "adjust": adjust, "seed": seed % 7, "min_images": 2}
    want = whole_tests(table.values, table.present, **kw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_stats, "_BLOCK", block)
        blocks = table.contrast_blocks()
        got = contrast_tests(blocks, table.present, **kw)
    assert blocks == []  # used up
    for name in _FIELDS:
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    assert got.method == want.method


def test_tests_of_a_study_without_tests_have_the_shape_of_the_table():
    table = _table(1, 6, 3, 0)
    got = contrast_tests(table.contrast_blocks(), table.present, two_sided=np.zeros(0, bool),
                         floor=np.zeros(0), n_resamples=9, n_boot=5)
    want = whole_tests(table.values, table.present, two_sided=np.zeros(0, bool),
                       floor=np.zeros(0), n_resamples=9, n_boot=5)
    for name in _FIELDS:
        assert getattr(got, name).shape == getattr(want, name).shape == (3, 0)


def test_the_means_of_a_study_of_many_images_in_blocks_equal_the_whole_table():
    """Long columns (sums over thousands of images, where the order of the additions shows)."""
    table = _table(11, 4000, 3, 5, holes=0.5)
    kw = {"two_sided": np.array([True, False, True, False, True]), "floor": np.full(5, 0.01),
          "n_resamples": 19, "n_boot": 30}
    want = whole_tests(table.values, table.present, **kw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_stats, "_BLOCK", 4000 * 3)  # one test a block
        got = contrast_tests(table.contrast_blocks(), table.present, **kw)
    for name in _FIELDS:
        if name in ("ci_low", "ci_high"):  # the bootstrap's products, split by blocks of tests,
            # may differ in the last bits (BLAS sums a product of another shape in another order)
            np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=1e-12,
                                       atol=1e-15)
        else:  # the means, the permutations and their sums: the same additions, in order
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name))


def _first_tested(recs, study, opts):
    """The study step as first ordered (the oracle): the whole table's tests with their
    intervals, the decisions, then the spread, the effect table held throughout."""
    import pandas as pd

    from agreement.diagnosis._decide import decide
    from agreement.diagnosis._finish import DETAIL_RATIO, _tests_frame, study_table
    from agreement.diagnosis._spread import spread_findings
    from agreement.diagnosis.records import Findings

    table, shape = study_table(recs, study, opts)
    th = opts.thresholds(shape)
    kinds = [k for k, _ in table.tests]
    min_effect = np.array([th[k] for k in kinds], float)
    level = study_level(table.values)
    detail = np.array([k == "boundary_detail" for k in kinds], bool)
    min_effect[detail] = np.maximum(min_effect[detail], DETAIL_RATIO * level[detail])
    two_sided = np.array([k in {"boundary_offset", "extent"} for k in kinds], bool)
    res = whole_tests(table.values, table.present, two_sided=two_sided, floor=min_effect / 10,
                      min_images=opts.min_images, n_resamples=opts.n_resamples,
                      n_boot=opts.n_boot, adjust=opts.adjust, seed=opts.seed)
    names = {c: study.categories[c].name for c in study.categories}
    found = decide(table, res, min_effect=min_effect, alpha=opts.alpha, names=names,
                   px_floor=th["boundary_offset"])
    guideline = {table.tests.index(("boundary_offset", tuple(
        table.category_ids.index(c) + 1 for c in f.category_ids)))
        for f in found if f.kind == "boundary_offset" and not f.annotators}
    spread, spread_tests = spread_findings(
        table, min_spread=th["boundary_offset"] / 2, alpha=opts.alpha, n_boot=opts.n_boot,
        seed=opts.seed, names=names, min_images=opts.min_images, skip=sorted(guideline))
    from dataclasses import replace
    found = sorted([*found, *spread], key=lambda f: -f.impact)
    found = [replace(f, rank=k + 1) for k, f in enumerate(found)]
    tests = _tests_frame(table, res, min_effect, names, found, level)
    if spread_tests:
        tests = pd.concat([tests, pd.DataFrame(spread_tests, columns=tests.columns)],
                          ignore_index=True)
    return Findings(tuple(found), tests, {})


@pytest.mark.parametrize(("seed", "kw"), [
    (5, {"plants": [("class_confusion", "ben", ("car", "truck"))], "annotators": 4}),
    (7, {"plants": [("ambiguous_border", None, ("road", "sidewalk"))], "annotators": 4}),
    (8, {"plants": [("boundary_offset", "ana", ("road", "sidewalk")),
                    ("boundary_offset", "cy", ("sidewalk", "road"))], "annotators": 4}),
    (9, {"plants": [("class_confusion", "ben", ("car", "truck"))], "annotators": 2,
         "images": 20}),
    (3, {"plants": [("split", "ana", ("car",)), ("boundary_offset", "cy", ())],
         "annotators": 3})])
def test_the_study_step_in_its_new_order_equals_the_first_one(seed, kw):
    """The spread's bootstraps first, the intervals last (once the effect table is let go),
    a block of tests at a time: the findings (intervals included) and every test row are
    those of the first order, bit for bit."""
    from agreement.diagnosis import Options, finish, records
    from agreement.simulation import Plant, simulate

    plants = [Plant(kind, "strong", who, cats) if who else Plant(kind, "strong", categories=cats)
              for kind, who, cats in kw.pop("plants")]
    sim = simulate(seed=seed, plants=plants, height=128, width=256,
                   **{"images": 10, **kw})
    study = sim.study()
    recs = records(study)
    opts = Options()
    want = _first_tested(recs, study, opts)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_stats, "_BLOCK", 97)  # many blocks
        got = finish(recs, study, options=opts)
    assert got.findings == want.findings
    assert got.tests.equals(want.tests)
    assert len(want.findings) >= 1


def test_the_table_of_packed_records_equals_the_table_of_the_records():
    """The findings part's finish reads the fold's packed records (unpacked as read, twice in
    order); the table is that of the records."""
    from agreement.diagnosis import records
    from agreement.diagnosis._effects import effect_table
    from agreement.diagnosis._kernel import PackedRecord, unpacked
    from agreement.simulation import simulate

    study = simulate(seed=2, annotators=3, images=5, height=64, width=128).study()
    recs = records(study)
    thing = [study.categories[c].isthing for c in study.categories]
    got = effect_table(unpacked([PackedRecord(r) for r in recs]), study.annotators,
                       thing=thing)
    want = effect_table(recs, study.annotators, thing=thing)
    assert got.images == want.images and got.tests == want.tests
    np.testing.assert_array_equal(got.num, want.num)
    np.testing.assert_array_equal(got.den, want.den)
