"""On data/sample: batch 2 (guideline v2) improves road/sidewalk agreement, nothing else changes.

``data/sample/planted.json`` fact c: batch 2 has less than half of batch 1's road/sidewalk
disagreement, and every other annotator habit keeps the same parameters in both batches.
"""

import json
from pathlib import Path

import pytest

from agreement import load_study
from agreement.compare.batch import Batch
from agreement.compare.comparison import compare_batches

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
CHANGED = {"road", "sidewalk"}


@pytest.fixture(scope="module")
def batches():
    return [Batch.from_study(load_study(SAMPLE / name), name=name, consensus=False)
            for name in ("batch1", "batch2")]


@pytest.fixture(scope="module")
def comparison(batches):
    return compare_batches(*batches, n_boot=1000, n_permutations=1000, seed=0)


def test_batch_against_itself_changes_nothing(batches):
    same = compare_batches(batches[0], batches[0], n_boot=200, n_permutations=200)
    assert same.paired
    for table in (same.classes, same.annotators, same.annotator_classes, same.class_pairs):
        assert not table["significant"].any()
        assert (table["difference"].abs() < 1e-12).all()


def test_road_sidewalk_improvement_is_significant(comparison):
    assert not comparison.paired  # different images in the two batches
    for metric in ("pq", "alpha"):
        rows = comparison.metric(metric)
        for name in CHANGED:
            assert rows.loc[name, "significant"], (metric, name)
            assert rows.loc[name, "change"] == "improved"
            assert rows.loc[name, "ci_low"] > 0


def test_unchanged_classes_are_not_significant(comparison):
    others = comparison.classes[~comparison.classes["category"].isin(CHANGED)]
    assert len(others) > 0
    assert not others["significant"].any(), others[others["significant"]]


def test_road_sidewalk_confusion_shrank_by_more_than_half(comparison):
    planted = json.loads((SAMPLE / "planted.json").read_text())
    assert "less than half" in planted["facts"]["c"]
    pairs = comparison.class_pairs.set_index("name")
    row = pairs.loc["road / sidewalk"]
    assert row["change"] == "shrank" and row["b"] < 0.5 * row["a"]
    assert pairs.index[0] == "road / sidewalk"  # the most confused pair (fact a)
    assert not pairs.drop("road / sidewalk")["significant"].any()


def test_chen_moved_most_on_road(comparison):
    """Fact b: chen (the systematic annotator) disagreed most on road/sidewalk in batch 1."""
    ac = comparison.annotator_classes
    road = ac[ac["category"] == "road"].set_index("annotator")
    assert road["a"].idxmin() == "chen"
    assert road["difference"].idxmax() == "chen"
    assert road.loc["chen", "change"] == "improved"
    assert not ac[~ac["category"].isin(CHANGED)]["significant"].any()


def test_paired_planted_change_on_the_sample(batches):
    """The same images with road's matched IoUs lowered by 10%: only road worsens (paired)."""
    before = batches[0]
    per_image = before.per_image.copy()
    road = per_image["category_id"] == 7
    per_image.loc[road, "iou_sum"] *= 0.9
    after = Batch.from_tables(per_image, name="lowered", categories=before.categories,
                              images=before.images, coincidence=before.coincidence)
    c = compare_batches(before, after, metrics=("pq", "sq", "rq"), n_boot=500,
                        n_permutations=500)
    assert c.paired
    pq = c.metric("pq")
    assert pq.loc["road", "change"] == "worsened"
    assert pq.loc["road", "difference"] == pytest.approx(-0.1 * pq.loc["road", "a"])
    assert pq.loc["road", "ci_high"] < 0
    assert not pq.drop("road")["significant"].any()
    assert c.metric("rq").loc["road", "change"] == "no clear change"  # matching is untouched


def test_batch_from_study_reads_the_coded_rows_as_its_table():
    """A consensus batch of from_study builds no per-image table unless read; its class table,
    annotators, used classes and a whole comparison are those of the same batch made from the
    table."""
    import numpy as np
    import pandas as pd

    lazy = [Batch.from_study(load_study(SAMPLE / n), name=n) for n in ("batch1", "batch2")]
    assert all(b.lazy for b in lazy)
    a = lazy[0]
    ids = sorted(a.used_category_ids())
    table = a.class_table(ids)
    assert a.lazy  # nothing above built the table
    eager = [Batch.from_tables(b.per_image, name=b.name, categories=b.categories,
                               images=b.images, coincidence=b.coincidence,
                               agreement=b.agreement, agreement_kind="consensus")
             for b in lazy]
    assert not a.lazy and not eager[0].lazy
    fresh = Batch.from_study(load_study(SAMPLE / "batch1"), name="batch1")
    assert fresh.annotators == eager[0].annotators
    assert fresh.used_category_ids() == eager[0].used_category_ids()
    assert fresh.has_boundary and eager[0].has_boundary
    t2 = eager[0].class_table(ids)
    assert table.images == t2.images and table.groups == t2.groups
    assert table.fields == t2.fields
    np.testing.assert_array_equal(table.values, t2.values)  # bit for bit
    pd.testing.assert_frame_equal(fresh.summary(), eager[0].summary())
    lazy2 = Batch.from_study(load_study(SAMPLE / "batch2"), name="batch2")
    for paired in (False,):
        c1 = compare_batches(fresh, lazy2, n_boot=200, n_permutations=200, paired=paired)
        c2 = compare_batches(*eager, n_boot=200, n_permutations=200, paired=paired)
        for name in ("classes", "annotators", "class_pairs", "annotator_classes"):
            pd.testing.assert_frame_equal(getattr(c1, name), getattr(c2, name))
    same1 = compare_batches(fresh, fresh, n_boot=200, n_permutations=200)
    same2 = compare_batches(eager[0], eager[0], n_boot=200, n_permutations=200)
    assert same1.paired and same2.paired and fresh.lazy
    for name in ("classes", "annotators", "class_pairs", "annotator_classes"):
        pd.testing.assert_frame_equal(getattr(same1, name), getattr(same2, name))


def test_restricting_a_lazy_batch_restricts_its_other_tables():
    """A batch of from_study whose evaluation covers some images, its coincidences and
    leave-one-out all of them: restricted to its own images it stays lazy, and its other tables
    hold only those images (as the table-built batch's do)."""
    from agreement.compare.rows import _restrict
    from agreement.study import evaluate

    study = load_study(SAMPLE / "batch1")
    some = list(study.images)[:3]
    lazy = Batch.from_study(study, result=evaluate(study, images=some, segments=False))
    assert lazy.lazy and set(lazy.images) == set(some)
    assert set(lazy.coincidence["image"]) > set(some)  # the other passes saw every image
    cut = _restrict(lazy, list(lazy.images))
    assert cut.lazy
    assert set(cut.coincidence["image"]) == set(some)
    assert set(cut.agreement["image"]) == set(some)
