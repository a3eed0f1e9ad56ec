"""agreement.compare / agreement.batch on synthetic per-image tables with known answers."""

import json
from itertools import permutations

import numpy as np
import pandas as pd
import pytest

from agreement.compare.batch import Batch
from agreement.compare.comparison import CLASS_METRICS, compare_batches
from agreement.errors import StudyError
from agreement.metrics.counts import coincidence_matrix
from agreement.metrics.pixel import agreement_from_counts, pixel_counts
from agreement.model import Categories, Category

CATS = Categories([Category(1, "road", isthing=False), Category(2, "sidewalk", isthing=False),
                   Category(3, "car", isthing=True), Category(4, "person", isthing=True)])
ANNOTATORS = ("x", "y", "z")


def _per_image(n, *, seed, quality=None, drift=None, prefix="img"):
    """PQ counts per (image, ordered pair, class): 4 segments per class, matched with prob q."""
    quality = {1: 0.9, 2: 0.6, 3: 0.8, 4: 0.7} | (quality or {})
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        for ref, other in permutations(ANNOTATORS, 2):
            for c, q in quality.items():
                if drift and drift[0] in (ref, other):
                    q = q * drift[1]
                tp = rng.binomial(4, q)
                iou = rng.uniform(0.6, 0.95, tp).sum() if tp else 0.0
                rows.append({"image": f"{prefix}{i:03d}", "ref": ref, "other": other,
                             "category_id": c, "tp": tp, "fp": 4 - tp, "fn": 4 - tp,
                             "iou_sum": iou})
    return pd.DataFrame(rows)


def _coincidence(n, *, confusion, seed, prefix="img"):
    """Per image coincidences of classes 1..4; ``confusion`` share of road/sidewalk values."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        base = rng.integers(800, 1200, 4).astype(float)
        conf = rng.binomial(400, confusion)
        for c in range(1, 5):
            diag = base[c - 1] - (conf if c in (1, 2) else 0)
            rows.append((f"{prefix}{i:03d}", c, c, diag))
        rows += [(f"{prefix}{i:03d}", 1, 2, conf), (f"{prefix}{i:03d}", 2, 1, conf)]
    return pd.DataFrame(rows, columns=["image", "category_a", "category_b", "count"])


def _batch(name, n=30, *, seed, confusion=0.1, prefix="img", **kw):
    return Batch.from_tables(_per_image(n, seed=seed, prefix=prefix, **kw), name=name,
                             categories=CATS,
                             coincidence=_coincidence(n, confusion=confusion, seed=seed + 1,
                                                      prefix=prefix))


FAST = {"n_boot": 300, "n_permutations": 300}


def test_identical_batches_change_nothing():
    a = _batch("a", seed=1)
    c = compare_batches(a, a, **FAST)
    assert c.paired
    assert not c.classes["significant"].any()
    assert not c.annotators["significant"].any() and not c.class_pairs["significant"].any()
    assert np.allclose(c.classes["difference"], 0.0)
    assert (c.classes["p_value"] == 1.0).all()  # every swap of identical counts is the same
    assert set(c.classes["change"]) == {"no clear change"}
    assert set(c.classes["metric"]) == {"pq", "sq", "rq", "alpha"}  # no boundary sums given


@pytest.mark.parametrize("shared", [True, False])
def test_planted_class_change_found(shared):
    a = _batch("before", seed=1)
    b = _batch("after", seed=2, quality={2: 0.95}, prefix="img" if shared else "new")
    c = compare_batches(a, b, **FAST)
    assert c.paired is shared
    pq = c.metric("pq")
    assert pq.loc["sidewalk", "significant"] and pq.loc["sidewalk", "change"] == "improved"
    assert pq.loc["sidewalk", "ci_low"] > 0
    for name in ("road", "car", "person"):
        assert not pq.loc[name, "significant"], name
    assert pq.loc["sidewalk", "difference"] == pytest.approx(
        pq.loc["sidewalk", "b"] - pq.loc["sidewalk", "a"])
    assert c.changed()["category"].isin(["sidewalk"]).all()


def test_annotator_drift_and_pair_shrink_found():
    a = _batch("before", seed=3, confusion=0.2)
    b = _batch("after", seed=4, confusion=0.05, drift=("z", 0.6))
    c = compare_batches(a, b, **FAST)
    ann = c.annotators.set_index("annotator")
    assert ann.loc["z", "change"] == "drifted" and ann.loc["z", "rank_b"] == 3
    z = c.annotator_classes[c.annotator_classes["annotator"] == "z"].set_index("category")
    assert (z["difference"] < 0).all() and z["significant"].any()
    pairs = c.class_pairs.set_index("name")
    assert pairs.loc["road / sidewalk", "change"] == "shrank"
    assert pairs.loc["road / sidewalk", "a"] == pytest.approx(0.2 * 400 * 2 / 2000, rel=0.15)
    alpha = c.metric("alpha")
    assert alpha.loc["road", "change"] == "improved"
    assert alpha.loc["car", "change"] == "no clear change"  # tested, not significant
    # the summary says what was measured: agreement with the others, not the annotator's skill,
    # and each number's unit: PQ, the class pair's share, the interval's level
    summary = c.summary()
    r = ann.loc["z"]
    assert (f"  annotator z's agreement with the others: drifted (PQ {r['a']:.3f} -> "
            f"{r['b']:.3f}, {r['difference']:+.3f})") in summary
    p = pairs.loc["road / sidewalk"]
    assert (f"  confusion road / sidewalk: shrank ({p['a']:.3f} -> {p['b']:.3f} of the two "
            "classes' pixel labels paired with the other class)") in summary
    r = alpha.loc["road"]
    assert (f"  road alpha: {r['a']:.3f} -> {r['b']:.3f} (improved, {r['difference']:+.3f}, "
            f"95% CI [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}], p_adj=") in summary


def test_alpha_statistic_equals_pixel_module():
    """Per-class alpha from coincidence sums equals agreement_from_counts' class-vs-rest alpha."""
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 4, (12, 12))
    labels = {k: np.where(rng.random((12, 12)) < 0.2, rng.integers(0, 4, (12, 12)), truth)
              for k in "abc"}
    counts = pixel_counts(labels, annotators=list("abc"), category_ids=[1, 2, 3])
    o = coincidence_matrix(counts.stratum_tables[:, 1:, 1:])
    sums = {"o_cc": np.diag(o), "o_c": o.sum(1), "o_n": np.full(3, o.sum())}
    expected = agreement_from_counts(counts).per_class["alpha"].to_numpy()
    assert np.allclose(CLASS_METRICS["alpha"][1](sums), expected)


def test_class_table_sums_pairs_and_coincidences():
    a = _batch("a", n=3, seed=5)
    t = a.class_table([1, 2])
    assert t.fields[-3:] == ("o_cc", "o_c", "o_n")
    pi = a.per_image
    assert t.sums()["tp"][0] == pi.loc[pi.category_id == 1, "tp"].sum()
    o = a.coincidence
    assert t.sums()["o_n"][0] == pytest.approx(o["count"].sum())
    assert t.sums()["o_c"][1] == pytest.approx(o.loc[o.category_a == 2, "count"].sum())


def test_outputs_render_and_serialise():
    c = compare_batches(_batch("a", seed=1), _batch("b", seed=2, quality={2: 0.95}), **FAST)
    assert "sidewalk pq" in c.summary() and "improved" in c.summary()
    html = c._repr_html_()
    assert "<table" in html and "sidewalk" in html
    text = json.dumps(c.to_dict())
    assert json.loads(text)["settings"]["correction"] == "holm"
    assert "Batch a" in _batch("a", n=2, seed=1)._repr_html_()
    assert repr(c).startswith("BatchComparison('b' vs 'a')")


def test_bca_intervals():
    a, b = _batch("a", seed=1), _batch("b", seed=2, quality={2: 0.95}, prefix="q")
    c = compare_batches(a, b, interval="bca", metrics=("pq",), **FAST)
    pq = c.metric("pq")
    assert c.settings["interval"] == "bca"
    assert (pq["ci_low"] < pq["difference"]).all() and (pq["difference"] < pq["ci_high"]).all()
    assert (pq["a_low"] < pq["a"]).all() and (pq["b"] < pq["b_high"]).all()


def test_deterministic_with_seed():
    a, b = _batch("a", seed=1), _batch("b", seed=2, prefix="q")
    c1, c2 = compare_batches(a, b, **FAST, seed=3), compare_batches(a, b, **FAST, seed=3)
    pd.testing.assert_frame_equal(c1.classes, c2.classes)


def test_bh_correction_and_errors():
    a, b = _batch("a", seed=1), _batch("b", seed=2, prefix="q")
    c = compare_batches(a, b, correction="bh", metrics=("pq",), **FAST)
    assert c.settings["correction"] == "bh" and set(c.classes["metric"]) == {"pq"}
    with pytest.raises(StudyError, match="metrics must be among"):
        compare_batches(a, b, metrics=("kappa",))
    with pytest.raises(StudyError, match="level must be in"):
        compare_batches(a, b, level=5)
    with pytest.raises(StudyError, match="correction must be"):
        compare_batches(a, b, correction="bonferroni")
    with pytest.raises(StudyError, match="interval must be"):
        compare_batches(a, b, interval="basic")
    with pytest.raises(StudyError, match="share none"):
        compare_batches(a, b, paired=True)
    with pytest.raises(StudyError, match="metric must be one of"):
        c.metric("alpha")
    with pytest.raises(StudyError, match="per_image must have columns"):
        Batch.from_tables(pd.DataFrame({"image": []}), name="x", categories=CATS)


def test_plots_return_figures_and_use_given_axes(tmp_path):
    from matplotlib.figure import Figure

    from agreement.compare.plots import (
        plot_annotators,
        plot_class_pairs,
        plot_classes,
        plot_differences,
    )

    c = compare_batches(_batch("a", seed=3, confusion=0.2),
                        _batch("b", seed=4, confusion=0.05, quality={2: 0.95}), **FAST)
    for fn in (plot_classes, plot_differences):
        fig = fn(c, metric="pq")
        assert isinstance(fig, Figure)
        labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        assert len(labels) == 4
    assert "sidewalk *" in [t.get_text() for t in plot_classes(c).axes[0].get_yticklabels()]
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_annotators(c, ax=ax) is fig and len(ax.lines) == 3
    assert len(plot_class_pairs(c).axes[0].lines) == 1
    c.plot_classes().savefig(tmp_path / "classes.png")
    assert c.plot_annotators().axes[0].get_title() == "Annotator trajectories"


def test_coincidence_parallel_equals_serial(tmp_path):
    from test_cli_compare import _write_study

    from agreement import load_study
    from agreement.study.coincidence import coincidence_frame

    study = load_study(_write_study(tmp_path / "s", spread=3, seed=4))
    serial = coincidence_frame(study)
    pd.testing.assert_frame_equal(serial, coincidence_frame(study, n_jobs=2))
    assert serial["count"].sum() > 0
    one = serial[serial["image"] == serial["image"].iloc[0]]
    pivot = one.pivot_table(index="category_a", columns="category_b", values="count",
                            fill_value=0)
    assert np.allclose(pivot.to_numpy(), pivot.to_numpy().T)  # coincidences are symmetric


def test_class_absent_from_one_batch_is_untested():
    a = _batch("a", seed=1)
    pi = _per_image(30, seed=2, prefix="q")
    b = Batch.from_tables(pi[pi["category_id"] != 4], name="b", categories=CATS)
    c = compare_batches(a, b, metrics=("pq", "rq"), **FAST)
    person = c.metric("pq").loc["person"]
    assert np.isnan(person["b"]) and np.isnan(person["p_value"]) and np.isnan(person["ci_low"])
    assert person["change"] == "untested" and not person["significant"]
    assert len(c.class_pairs) == 0  # b has no pixel coincidences
    assert "alpha" not in set(c.classes["metric"])
    c.plot_classes("pq")  # NaN rows are drawn without error
    json.dumps(c.to_dict())


def test_restrict_copies_no_table_of_a_batch_on_its_own_images(monkeypatch):
    from agreement.compare.rows import _restrict

    a = _batch("a", n=6, seed=3)
    same = _restrict(a, list(a.images))
    assert same.per_image is a.per_image and same.coincidence is a.coincidence
    assert same.agreement is a.agreement
    fewer = _restrict(a, list(a.images[:4]))
    assert fewer.images == a.images[:4]
    assert set(fewer.per_image["image"]) == set(a.images[:4])
    assert len(fewer.per_image) == len(a.per_image) * 4 // 6
    # rows on images the batch does not list are dropped even when the list is the batch's
    extra = Batch.from_tables(a.per_image, name="x", categories=CATS, images=a.images[:5],
                              coincidence=a.coincidence)
    kept = _restrict(extra, list(extra.images))
    assert set(kept.per_image["image"]) == set(a.images[:5])
    assert set(kept.coincidence["image"]) == set(a.images[:5])
    # a paired comparison gives the same tables as with the old restriction (always a copy)
    import agreement.compare.comparison as comparison

    def copied(batch, images):
        keep = set(images)

        def sub(f):
            return None if f is None else f[f["image"].isin(keep)]

        return Batch(batch.name, batch.categories, batch.annotators, tuple(images),
                     sub(batch.per_image), sub(batch.coincidence), sub(batch.agreement),
                     batch.agreement_kind)

    b = _batch("b", n=6, seed=4)
    c1 = compare_batches(a, b, **FAST)
    monkeypatch.setattr(comparison, "_restrict", copied)
    c2 = compare_batches(a, b, **FAST)
    for name in ("classes", "annotators", "class_pairs", "annotator_classes"):
        pd.testing.assert_frame_equal(getattr(c1, name), getattr(c2, name))
