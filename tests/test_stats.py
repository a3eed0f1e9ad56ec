"""agreement.stats: bootstrap intervals, permutation tests and p-value adjustment.

Oracles: scipy.stats.bootstrap / permutation_test (the same resamples from the same generator, so
intervals agree to rounding), statsmodels' multipletests, and a known sampling distribution.
"""

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from agreement.errors import StudyError
from agreement.stats import (
    CountTable,
    adjust_pvalues,
    bootstrap,
    bootstrap_difference,
    permutation_test,
    ratio,
    resample_weights,
)


def _ratio_stat(s):
    return ratio(s["num"], s["den"])


def _table(num, den, *, prefix="img"):
    num, den = np.asarray(num, float), np.asarray(den, float)
    values = np.stack([num, den], axis=-1)[:, None, :]
    return CountTable(tuple(f"{prefix}{i}" for i in range(len(num))), ("c",), ("num", "den"),
                      values)


@pytest.fixture
def data():
    rng = np.random.default_rng(42)
    den = rng.integers(1, 20, 25).astype(float)
    num = rng.binomial(den.astype(int), 0.6).astype(float)
    den2 = rng.integers(1, 20, 25).astype(float)
    num2 = rng.binomial(den2.astype(int), 0.7).astype(float)
    return num, den, num2, den2


def test_ratio_undefined_is_nan():
    assert ratio(0.0, 0.0).tolist() != ratio(0.0, 0.0).tolist()  # NaN
    assert ratio([3.0], [4.0]).tolist() == [0.75]


def test_from_frame_sums_and_fills_zero():
    frame = pd.DataFrame({"image": ["a", "a", "b", "b"], "category_id": [1, 1, 2, 1],
                          "ref": ["x", "y", "x", "x"], "tp": [1, 2, 3, 4]})
    t = CountTable.from_frame(frame, fields=("tp",), images=("a", "b", "c"), groups=(1, 2, 3))
    assert t.values[:, :, 0].tolist() == [[3, 0, 0], [4, 3, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match="frame must have columns"):
        CountTable.from_frame(frame, fields=("fp",))
    with pytest.raises(ValueError, match="values must have shape"):
        CountTable(("a",), (1,), ("tp",), np.zeros((2, 1, 1)))


def test_reindex_and_weights():
    t = _table([1, 2, 3], [2, 2, 4])
    r = t.reindex(images=("img2", "new"), groups=("c", "d"))
    assert r.values[:, :, 0].tolist() == [[3, 0], [0, 0]]
    w = resample_weights(3, 5, np.random.default_rng(1))
    assert w.sum(axis=1).tolist() == [3] * 5
    s = t.sums(w)
    assert np.allclose(s["num"][:, 0], w @ np.array([1, 2, 3]))
    with pytest.raises(StudyError, match="at least 1 image"):
        resample_weights(0, 5, np.random.default_rng(1))


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_bootstrap_equals_scipy(data, method):
    num, den, _, _ = data
    ours = bootstrap(_table(num, den), _ratio_stat, n_resamples=999, method=method, seed=7)

    def stat(i, axis=-1):
        return num[i].sum(axis=axis) / den[i].sum(axis=axis)

    ref = scipy.stats.bootstrap((np.arange(len(num)),), stat, n_resamples=999, method=method,
                                paired=True, rng=np.random.default_rng(7))
    assert ours.estimate[0] == pytest.approx(num.sum() / den.sum())
    assert ours.low[0] == pytest.approx(ref.confidence_interval.low, abs=1e-12)
    assert ours.high[0] == pytest.approx(ref.confidence_interval.high, abs=1e-12)
    assert ours.standard_error[0] == pytest.approx(ref.standard_error, abs=1e-12)
    assert ours.n_valid[0] == 999 and ours.method == method


@pytest.mark.parametrize("method", ["percentile", "bca"])
@pytest.mark.parametrize("paired", [True, False])
def test_bootstrap_difference_equals_scipy(data, method, paired):
    num, den, num2, den2 = data
    a, b = _table(num, den), _table(num2, den2, prefix="img" if paired else "other")
    ours = bootstrap_difference(a, b, _ratio_stat, n_resamples=999, method=method, seed=3)
    assert ours.estimate[0] == pytest.approx(num2.sum() / den2.sum() - num.sum() / den.sum())

    def stat(*idx, axis=-1):
        ia, ib = (idx[0], idx[0]) if paired else idx
        return (num2[ib].sum(axis=axis) / den2[ib].sum(axis=axis)
                - num[ia].sum(axis=axis) / den[ia].sum(axis=axis))

    samples = (np.arange(25),) if paired else (np.arange(25), np.arange(25))
    ref = scipy.stats.bootstrap(samples, stat, n_resamples=999, method=method, paired=paired,
                                rng=np.random.default_rng(3))
    assert ours.low[0] == pytest.approx(ref.confidence_interval.low, abs=1e-12)
    assert ours.high[0] == pytest.approx(ref.confidence_interval.high, abs=1e-12)


@pytest.mark.parametrize("paired", [True, False])
def test_permutation_exact_equals_scipy(paired):
    rng = np.random.default_rng(5)
    n = 7
    den_a, den_b = rng.integers(1, 9, n).astype(float), rng.integers(1, 9, n).astype(float)
    num_a = rng.binomial(den_a.astype(int), 0.4).astype(float)
    num_b = rng.binomial(den_b.astype(int), 0.8).astype(float)
    a, b = _table(num_a, den_a), _table(num_b, den_b, prefix="img" if paired else "z")
    ours = permutation_test(a, b, _ratio_stat, n_resamples=10_000)
    num, den = np.concatenate([num_a, num_b]), np.concatenate([den_a, den_b])

    def stat(ia, ib, axis=-1):
        ia, ib = ia.astype(int), ib.astype(int)
        return (num[ib].sum(axis=axis) / den[ib].sum(axis=axis)
                - num[ia].sum(axis=axis) / den[ia].sum(axis=axis))

    ref = scipy.stats.permutation_test(
        (np.arange(n), np.arange(n) + n), stat, vectorized=True, n_resamples=10_000,
        permutation_type="samples" if paired else "independent",
    )
    assert ours[0] == pytest.approx(ref.pvalue, abs=1e-12)
    assert ours[0] < 0.1  # a 0.4 -> 0.8 change on 7 images shows


def test_permutation_random_identical_and_planted():
    rng = np.random.default_rng(0)
    den = rng.integers(5, 30, (40, 3)).astype(float)
    num = rng.binomial(den.astype(int), 0.5).astype(float)
    fields = ("num", "den")
    imgs = tuple(f"i{k}" for k in range(40))
    a = CountTable(imgs, (1, 2, 3), fields, np.stack([num, den], -1))
    same = permutation_test(a, a, _ratio_stat, n_resamples=500)
    assert same.tolist() == [1.0, 1.0, 1.0]  # every swap of identical counts changes nothing
    planted = num.copy()
    planted[:, 1] = np.minimum(den[:, 1], num[:, 1] + 0.3 * den[:, 1]).round()
    b = CountTable(imgs, (1, 2, 3), fields, np.stack([planted, den], -1))
    p = permutation_test(a, b, _ratio_stat, n_resamples=500)
    assert p[1] < 0.01 and p[0] == 1.0 and p[2] == 1.0
    unpaired = permutation_test(a, b, _ratio_stat, paired=False, n_resamples=500)
    assert unpaired[1] < 0.01 and unpaired[0] > 0.5


def test_bootstrap_known_distribution():
    """Binomial counts: the bootstrap SE of a pooled proportion is close to sqrt(p(1-p)/N)."""
    rng = np.random.default_rng(11)
    den = np.full(200, 50.0)
    num = rng.binomial(50, 0.3, 200).astype(float)
    r = bootstrap(_table(num, den), _ratio_stat, n_resamples=2000)
    p = num.sum() / den.sum()
    assert r.standard_error[0] == pytest.approx(np.sqrt(p * (1 - p) / den.sum()), rel=0.12)
    assert r.low[0] < 0.3 < r.high[0]


def test_undefined_statistic_stays_nan():
    t = CountTable(("a", "b"), (1, 2), ("num", "den"),
                   np.array([[[1, 2], [0, 0]], [[1, 1], [0, 0]]]))
    r = bootstrap(t, _ratio_stat, n_resamples=50)
    assert np.isnan(r.estimate[1]) and np.isnan(r.low[1]) and r.n_valid[1] == 0
    p = permutation_test(t, t, _ratio_stat, n_resamples=50)
    assert np.isnan(p[1]) and p[0] == 1.0
    frame = r.to_frame(index=t.groups)
    assert list(frame.columns) == ["estimate", "ci_low", "ci_high", "se", "n_valid"]


def test_pairing_errors():
    a, b = _table([1, 2], [2, 2]), _table([1, 2], [2, 2], prefix="x")
    with pytest.raises(StudyError, match="shared images"):
        bootstrap_difference(a, b, _ratio_stat, paired=True)
    with pytest.raises(ValueError, match="method must be"):
        bootstrap(a, _ratio_stat, method="basic")
    with pytest.raises(ValueError, match="confidence must be"):
        bootstrap(a, _ratio_stat, confidence=95)
    c = CountTable(("img0",), ("c",), ("tp",), np.ones((1, 1, 1)))
    with pytest.raises(ValueError, match="same fields"):
        permutation_test(a, c, _ratio_stat)


def test_seed_determinism(data):
    num, den, _, _ = data
    r1 = bootstrap(_table(num, den), _ratio_stat, n_resamples=100, seed=9)
    r2 = bootstrap(_table(num, den), _ratio_stat, n_resamples=100, seed=9)
    assert np.array_equal(r1.replicates, r2.replicates)


@pytest.mark.parametrize(("method", "sm"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjust_equals_statsmodels(method, sm):
    p = np.random.default_rng(2).uniform(0, 0.2, 15)
    p[3] = p[7]  # a tie
    assert np.allclose(adjust_pvalues(p, method=method), multipletests(p, method=sm)[1])
    with pytest.raises(ValueError, match="method must be"):
        adjust_pvalues(p, method="bonferroni")
    assert np.isnan(adjust_pvalues([np.nan])).all()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=8),
       st.booleans())
def test_permutation_pvalues_in_range(rows, paired):
    num = np.array([min(a, b) for a, b in rows], float)
    den = np.array([b for _, b in rows], float)
    a = _table(num, den)
    b = _table(den - num, den, prefix="img" if paired else "q")
    p = permutation_test(a, b, _ratio_stat, n_resamples=200)
    assert np.isnan(p[0]) or 0.0 < p[0] <= 1.0


def test_from_frame_several_group_columns():
    frame = pd.DataFrame({"image": ["a", "a", "b"], "annotator": ["x", "y", "x"],
                          "category_id": [1, 1, 2], "tp": [1, 2, 3]})
    t = CountTable.from_frame(frame, fields=("tp",), group=("annotator", "category_id"))
    assert t.groups == (("x", 1), ("x", 2), ("y", 1))
    assert t.values[:, :, 0].tolist() == [[1, 0, 2], [0, 3, 0]]


def test_html_reprs():
    t = _table([1, 2], [2, 2])
    assert "2 images x 1 groups" in t._repr_html_()
    html = bootstrap(t, _ratio_stat, n_resamples=20)._repr_html_()
    assert "percentile, 95%, 20 resamples" in html and "<table" in html


def test_tables_are_not_copied_when_nothing_changes():
    """reindex / select to what a table already is give the table itself; tables made by the
    library own their arrays (no copy), the public constructor still copies (read-only)."""
    t = _table([1, 2, 3], [2, 2, 4])
    assert t.reindex(images=list(t.images), groups=["c"]) is t
    assert t.reindex() is t and t.select(["num", "den"]) is t
    r = t.reindex(groups=("c", "d"))  # a new array, written once, then read-only
    assert r.values.tolist() == [[[1, 2], [0, 0]], [[2, 2], [0, 0]], [[3, 4], [0, 0]]]
    assert not r.values.flags.writeable and not t.select(["den"]).values.flags.writeable
    mine = np.ones((1, 1, 1))
    copied = CountTable(("x",), (1,), ("tp",), mine)
    mine[0, 0, 0] = 5.0
    assert copied.values.tolist() == [[[1.0]]] and mine.flags.writeable
    owned = CountTable._owning(("x",), (1,), ("tp",), mine)
    assert owned.values is mine and not mine.flags.writeable
    with pytest.raises(ValueError, match="values must have shape"):
        CountTable._owning(("x", "y"), (1,), ("tp",), np.zeros((1, 1, 1)))
    frame = pd.DataFrame({"image": ["a", "b"], "category_id": [1, 1], "tp": [1, 2]})
    assert not CountTable.from_frame(frame, fields=("tp",)).values.flags.writeable


def test_select_fields():
    t = _table([1, 2], [2, 2])
    assert t.select(["den"]).values[:, 0, 0].tolist() == [2.0, 2.0]
    with pytest.raises(ValueError, match="fields must be among"):
        t.select(["tp"])


def test_chunked_resampling_gives_valid_results(monkeypatch, data):
    """Small chunks (as on a large study) change nothing but the draw order."""
    import agreement.stats._table as table_module

    num, den, num2, den2 = data
    a, b = _table(num, den), _table(num2, den2, prefix="z")
    whole = bootstrap_difference(a, b, _ratio_stat, n_resamples=500)
    p_whole = permutation_test(a, b, _ratio_stat, n_resamples=500)
    monkeypatch.setattr(table_module, "CHUNK", 60)  # chunks of 60 // 50 = 1 resample
    chunked = bootstrap_difference(a, b, _ratio_stat, n_resamples=500)
    p_chunked = permutation_test(a, b, _ratio_stat, n_resamples=500)
    assert chunked.replicates.shape == (500, 1) and chunked.n_valid[0] == 500
    assert chunked.estimate[0] == whole.estimate[0]
    assert abs(chunked.standard_error[0] - whole.standard_error[0]) < 0.3 * whole.standard_error[0]
    assert abs(p_chunked[0] - p_whole[0]) < 0.05
    again = bootstrap_difference(a, b, _ratio_stat, n_resamples=500)
    assert np.array_equal(again.replicates, chunked.replicates)  # still deterministic


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.floats(0.0, 1.0), st.just(np.nan)), min_size=1, max_size=12),
       st.sampled_from(["holm", "bh"]))
def test_adjusted_pvalues_properties(p, method):
    p = np.array(p)
    adj = adjust_pvalues(p, method=method)
    ok = np.isfinite(p)
    assert np.array_equal(np.isnan(adj), ~ok)
    assert np.all(adj[ok] >= p[ok] - 1e-15) and np.all(adj[ok] <= 1.0)
    order = np.argsort(p[ok], kind="stable")
    assert np.all(np.diff(adj[ok][order]) >= -1e-15)  # adjustment keeps the order


def _old_resample_weights(n, k, rng):
    """The first counting of resample weights: int64 draws, one bincount (the oracle)."""
    draws = rng.integers(0, n, (k, n))
    return np.bincount((draws + n * np.arange(k)[:, None]).ravel(), minlength=k * n).reshape(k, n)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), k=st.integers(1, 40), seed=st.integers(0, 2**32 - 1),
       block=st.sampled_from([1, 7, 64, 1 << 16]))
def test_resample_counts_equal_the_int64_draws(n, k, seed, block):
    """32-bit draws counted in row blocks: the same weights and the same next generator state as
    int64 draws counted at once, at any block size (chunk boundaries are the caller's)."""
    from agreement.stats import _table

    old_rng, new_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    old = _old_resample_weights(n, k, old_rng)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_table, "_BLOCK", block)
        new = _table._counts(n, k, new_rng, np.float64)
    assert new.dtype == np.float64 and (new == old).all()
    assert (resample_weights(n, k, np.random.default_rng(seed)) == old).all()
    assert old_rng.integers(0, 2**40) == new_rng.integers(0, 2**40)
    chunks = list(_table.resample_weight_chunks(n, k, np.random.default_rng(seed)))
    assert (np.concatenate(chunks) == old).all()


def test_resample_map_equals_the_statistic_of_every_chunk(monkeypatch):
    """The blocks a statistic sees are the chunks of :func:`resample_weight_chunks` (the same
    draws), concatenated in order."""
    from agreement.stats import _table

    monkeypatch.setattr(_table, "CHUNK", 40)  # 40 // 7 = 5 resamples a block
    seen = []

    def stat(w):
        seen.append(w.shape[0])
        return w @ np.arange(7.0)

    got = _table.resample_map(7, 23, np.random.default_rng(4), stat)
    want = np.concatenate([w @ np.arange(7.0) for w in
                           _table.resample_weight_chunks(7, 23, np.random.default_rng(4))])
    assert seen == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(got, want)


def test_unpaired_intervals_do_not_depend_on_the_memory_blocks(monkeypatch, data):
    """An unpaired bootstrap draws a group of resamples for batch a, then for b (``DRAW_GROUP``);
    each batch's draws come in blocks of ``CHUNK`` weights: the block size changes neither the
    draws nor the interval, while the groups fix which draws go to which batch."""
    import agreement.stats._table as table_module

    num, den, num2, den2 = data
    a, b = _table(num, den), _table(num2, den2, prefix="z")
    whole = bootstrap_difference(a, b, _ratio_stat, n_resamples=300, paired=False)
    monkeypatch.setattr(table_module, "CHUNK", 60)  # blocks of one resample
    blocked = bootstrap_difference(a, b, _ratio_stat, n_resamples=300, paired=False)
    np.testing.assert_allclose(blocked.replicates, whole.replicates, rtol=0, atol=1e-12)
    assert blocked.low[0] == pytest.approx(whole.low[0], abs=1e-12)
    import agreement.stats._bootstrap as bootstrap_module

    monkeypatch.setattr(bootstrap_module, "DRAW_GROUP", 60 * 2)  # groups of a few resamples
    regrouped = bootstrap_difference(a, b, _ratio_stat, n_resamples=300, paired=False)
    assert not np.allclose(regrouped.replicates, whole.replicates)  # other draws per batch
    assert regrouped.replicates.shape == whole.replicates.shape


def test_unpaired_draws_are_those_of_the_blocks_of_before(data):
    """``DRAW_GROUP`` keeps the order of the draws of the unpaired bootstrap as it was when a
    block of 4 Mi weights drew a's resamples then b's: the same replicates as that loop."""
    from agreement.stats._table import DRAW_GROUP, _chunks, _counts, _evaluate

    num, den, num2, den2 = data
    a, b = _table(num, den), _table(num2, den2, prefix="z")
    rng = np.random.default_rng(0)
    old = []
    for k in _chunks(300, a.n_images + b.n_images, DRAW_GROUP):  # the loop of before
        wa = _counts(a.n_images, k, rng, np.float64)
        wb = _counts(b.n_images, k, rng, np.float64)
        old.append(_evaluate(_ratio_stat, b.sums(wb)) - _evaluate(_ratio_stat, a.sums(wa)))
    got = bootstrap_difference(a, b, _ratio_stat, n_resamples=300, paired=False, seed=0)
    np.testing.assert_array_equal(got.replicates, np.concatenate(old))
