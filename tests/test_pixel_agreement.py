"""Pixel-level agreement: oracle tests against krippendorff, scikit-learn and statsmodels."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

from agreement import AnnotationError, PanopticAnnotation
from agreement.metrics.pixel import (
    PixelCounts,
    agreement_from_counts,
    kappa_from_confusion,
    label_map,
    pixel_counts,
)

TOL = 1e-12
CATS = [3, 5, 8]  # label 1 = 3, 2 = 5, 3 = 8


def _images(seed, n_images=3, n_ann=4, shape=(6, 7), void_p=0.15, missing=True):
    """Random label maps (0 = void), some annotators missing on some images."""
    rng = np.random.default_rng(seed)
    names = [f"r{i}" for i in range(n_ann)]
    images = []
    for i in range(n_images):
        base = rng.integers(1, len(CATS) + 1, size=shape)
        maps = {}
        for a in names:
            m = np.where(rng.random(shape) < 0.3, rng.integers(1, len(CATS) + 1, size=shape), base)
            m[rng.random(shape) < void_p] = 0
            maps[a] = m
        if missing and i == 1:
            del maps[names[0]]
        images.append(maps)
    return names, images


def _counts(names, images, void):
    total = PixelCounts.zeros(names, CATS, void=void)
    for maps in images:
        total = total + pixel_counts(maps, annotators=names, category_ids=CATS, void=void)
    return total


def _reliability(names, images, void):
    """Raters x units, NaN = no value (missing annotator, or void when excluded)."""
    cols = []
    for maps in images:
        size = next(iter(maps.values())).size
        block = np.full((len(names), size), np.nan)
        for r, a in enumerate(names):
            if a in maps:
                block[r] = maps[a].ravel()
        if void == "exclude":
            block[block == 0] = np.nan
        cols.append(block)
    return np.concatenate(cols, axis=1)


@pytest.mark.parametrize("void", ["exclude", "label"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alpha_overall_and_per_class_equal_krippendorff(seed, void):
    names, images = _images(seed)
    res = agreement_from_counts(_counts(names, images, void))
    data = _reliability(names, images, void)
    assert res.alpha == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=TOL)
    labels = ([0] if void == "label" else []) + [1, 2, 3]
    for label, row in zip(labels, res.per_class.itertuples(), strict=True):
        binary = np.where(np.isnan(data), np.nan, (data == label).astype(float))
        expected = krippendorff.alpha(reliability_data=binary, level_of_measurement="nominal")
        assert row.alpha == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("void", ["exclude", "label"])
def test_cohen_per_pair_and_class_equal_sklearn(void):
    names, images = _images(3)
    res = agreement_from_counts(_counts(names, images, void))
    data = _reliability(names, images, void)
    for row in res.pairs.itertuples():
        x, y = data[names.index(row.a)], data[names.index(row.b)]
        both = ~np.isnan(x) & ~np.isnan(y)
        assert row.pixels == both.sum()
        assert row.kappa == pytest.approx(cohen_kappa_score(x[both], y[both]), abs=TOL)
        assert row.agreement == pytest.approx(np.mean(x[both] == y[both]), abs=TOL)
        per = res.pair_class[(res.pair_class.a == row.a) & (res.pair_class.b == row.b)]
        labels = ([0] if void == "label" else []) + [1, 2, 3]
        for label, kappa in zip(labels, per.kappa, strict=True):
            expected = cohen_kappa_score(x[both] == label, y[both] == label)
            assert kappa == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("void", ["exclude", "label"])
def test_fleiss_equals_statsmodels_with_constant_raters(void):
    names, images = _images(4, missing=False, void_p=0.0 if void == "exclude" else 0.2)
    res = agreement_from_counts(_counts(names, images, void))
    data = _reliability(names, images, void).astype(int).T  # units x raters
    labels = ([0] if void == "label" else []) + [1, 2, 3]
    table = np.stack([(data == c).sum(1) for c in labels], axis=1)
    assert res.fleiss_kappa == pytest.approx(fleiss_kappa(table), abs=TOL)
    for c, row in enumerate(res.per_class.itertuples()):
        binary = np.stack([table[:, c], len(names) - table[:, c]], axis=1)
        assert row.fleiss_kappa == pytest.approx(fleiss_kappa(binary), abs=TOL)


def _slow_fleiss(data):
    """Fleiss with a varying number of raters per unit: the formula, unit by unit."""
    units = [u[~np.isnan(u)] for u in data.T]
    units = [u for u in units if u.size >= 2]
    values = np.unique(np.concatenate(units))
    p_i = [(sum(np.sum(u == v) ** 2 for v in values) - u.size) / (u.size * (u.size - 1))
           for u in units]
    p_j = np.array([sum(np.sum(u == v) for u in units) for v in values], float)
    p_j /= p_j.sum()
    pe = np.sum(p_j ** 2)
    return (np.mean(p_i) - pe) / (1 - pe)


def test_fleiss_with_missing_values_equals_slow_formula():
    names, images = _images(5, void_p=0.3)
    res = agreement_from_counts(_counts(names, images, "exclude"))
    data = _reliability(names, images, "exclude")
    assert res.fleiss_kappa == pytest.approx(_slow_fleiss(data), abs=TOL)
    assert res.pixels == int(np.sum((~np.isnan(data)).sum(0) >= 2))


def test_hand_computed_two_raters():
    a = np.array([[1, 1, 2, 2, 0]])
    b = np.array([[1, 2, 2, 2, 2]])
    res = agreement_from_counts(pixel_counts({"a": a, "b": b}, annotators=["a", "b"],
                                             category_ids=[7, 8]))
    # 4 pixels labelled by both: po = 3/4, pe = (2*1 + 2*3)/16 = 1/2, kappa = 1/2
    assert res.pairs.kappa.tolist() == [0.5]
    assert res.pairs.pixels.tolist() == [4]
    assert res.confusion("a", "b").loc["7", "8"] == 1
    assert res.confusion("b", "a").loc["8", "7"] == 1
    assert res.confusion().loc["void", "8"] == 1
    assert res.kappa_matrix().loc["b", "a"] == 0.5
    assert res.to_frame().category.tolist() == ["all", "7", "8"]


def test_undefined_is_nan_not_zero():
    one = np.ones((3, 3), int)
    res = agreement_from_counts(pixel_counts({"a": one, "b": one}, annotators=["a", "b"],
                                             category_ids=[4]))
    assert np.isnan(res.alpha) and np.isnan(res.fleiss_kappa) and np.isnan(res.pairs.kappa[0])
    assert np.isnan(kappa_from_confusion(np.zeros((2, 2))))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 5))
def test_counts_add_up_over_images(seed, n_ann):
    names, images = _images(seed, n_images=2, n_ann=n_ann, missing=False)
    total = _counts(names, images, "exclude")
    joined = {a: np.concatenate([images[0][a], images[1][a]], axis=1) for a in names}
    one = pixel_counts(joined, annotators=names, category_ids=CATS)
    np.testing.assert_array_equal(total.pair_tables, one.pair_tables)
    np.testing.assert_array_equal(total.stratum_tables, one.stratum_tables)
    np.testing.assert_array_equal(total.strata, one.strata)
    r1, r2 = agreement_from_counts(total), agreement_from_counts(one)
    assert r1.alpha == r2.alpha or (np.isnan(r1.alpha) and np.isnan(r2.alpha))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_relabelling_and_rater_order_invariance(seed):
    names, images = _images(seed, n_images=1)
    res = agreement_from_counts(_counts(names, images, "label"))
    perm = {0: 0, 1: 3, 2: 1, 3: 2}
    swapped = [{a: np.vectorize(perm.get)(m) for a, m in reversed(list(maps.items()))}
               for maps in images]
    res2 = agreement_from_counts(_counts(names[::-1], swapped, "label"))
    assert res2.alpha == pytest.approx(res.alpha, abs=TOL)
    assert res2.fleiss_kappa == pytest.approx(res.fleiss_kappa, abs=TOL)
    assert -1.0 <= res.alpha <= 1.0


def test_label_map_and_errors():
    ann = PanopticAnnotation.from_map([[0, 5], [9, 9]], {5: 8, 9: 3}, file_name="x.png")
    np.testing.assert_array_equal(label_map(ann, CATS), [[0, 3], [1, 1]])
    with pytest.raises(AnnotationError, match=r"image 'x.png', segment 5: category must be one"):
        label_map(ann, [3, 5])
    with pytest.raises(AnnotationError, match="void must be 'exclude' or 'label'"):
        PixelCounts.zeros(["a"], CATS, void="ignore")  # type: ignore[arg-type]
    a = PixelCounts.zeros(["a", "b"], CATS)
    with pytest.raises(AnnotationError, match="pixel counts must share"):
        a + PixelCounts.zeros(["a", "c"], CATS)
    with pytest.raises(AnnotationError, match="label maps of one image must have one shape"):
        pixel_counts({"a": np.zeros((2, 2), int), "b": np.zeros((2, 3), int)},
                     annotators=["a", "b"], category_ids=CATS)
    res = agreement_from_counts(a)
    with pytest.raises(AnnotationError, match="a and b must be two different annotators"):
        res.confusion("a", "a")
