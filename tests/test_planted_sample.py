"""The planted facts of data/sample/ (see data/sample/README.md and planted.json) come out.

- (a) road / sidewalk is the dominant ambiguous class pair of batch 1;
- (b) chen, the systematic annotator, stands out on road and sidewalk in batch 1 (lowest
  agreement, lowest leave-one-out PQ on those classes) and not in batch 2;
- (c) batch 2 (after the guideline revision) has a small fraction of batch 1's road / sidewalk
  disagreement;
- the other habits: bruno merges pedestrians, dana calls vans trucks and splits objects.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agreement import load_study
from agreement.study.disputes import disagreement
from agreement.study.loo import leave_one_out

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (SAMPLE / "planted.json").exists(),
                                                reason="data/sample is not there")]


@pytest.fixture(scope="module")
def planted():
    return json.loads((SAMPLE / "planted.json").read_text())


@pytest.fixture(scope="module")
def batch1():
    return disagreement(load_study(SAMPLE / "batch1"))


@pytest.fixture(scope="module")
def batch2():
    return disagreement(load_study(SAMPLE / "batch2"))


def systematic(planted) -> str:
    (name,) = [a for a, p in planted["annotators"].items()
               if p["behaviour"].startswith("systematic")]
    return name


def test_road_sidewalk_is_the_top_class_pair_of_batch1(batch1, planted):
    top = batch1.class_pairs.iloc[0]
    assert top.class_pair == "road <-> sidewalk"
    assert top.images == len(planted["batches"]["batch1"]["images"])
    assert top.top_dissenter == systematic(planted)
    # the road / sidewalk regions carry more severity than the next pair by a wide margin
    assert top.severity > 1.5 * batch1.class_pairs.iloc[1].severity


def test_the_systematic_annotator_stands_out_in_batch1(batch1, planted):
    chen = systematic(planted)
    assert batch1.annotators.set_index("annotator").mean_kappa.idxmin() == chen
    pc = batch1.pixel.pair_class
    for category in ("road", "sidewalk"):
        rows = pc[pc.category == category]
        with_chen = rows[(rows.a == chen) | (rows.b == chen)].kappa
        without = rows[(rows.a != chen) & (rows.b != chen)].kappa
        assert with_chen.max() < without.min() - 0.05
    per = batch1.pair_annotators
    mine = per[per.class_pair == "road <-> sidewalk"].set_index("annotator").severity
    assert mine.idxmax() == chen and mine[chen] > 2 * mine.drop(chen).max()


def test_leave_one_out_shows_the_systematic_annotator_on_road(planted):
    chen = systematic(planted)
    loo = leave_one_out(load_study(SAMPLE / "batch1"))
    pq = loo.per_class.pivot_table(index="annotator", columns="category", values="pq")
    assert pq["road"].idxmin() == chen and pq["sidewalk"].idxmin() == chen
    assert pq["road"][chen] < pq["road"].drop(chen).min() - 0.1
    assert loo.per_annotator.set_index("annotator").images.to_dict() == {
        "alice": 13, "bruno": 13, "chen": 13, "dana": 12}


def test_batch2_after_the_revision(batch1, batch2, planted):
    chen = systematic(planted)
    pairs1 = batch1.class_pairs.set_index("class_pair").severity
    pairs2 = batch2.class_pairs.set_index("class_pair").severity
    assert pairs2.get("road <-> sidewalk", 0.0) < 0.2 * pairs1["road <-> sidewalk"]
    assert batch2.class_pairs.class_pair.iloc[0] != "road <-> sidewalk"
    assert batch2.annotators.set_index("annotator").mean_kappa.idxmin() != chen


def test_other_planted_habits(batch1):
    pairs = batch1.class_pairs.set_index("class_pair")
    assert pairs.loc["person <-> person", "top_dissenter"] == "bruno"  # merges pedestrian pairs
    assert pairs.loc["person <-> person", "kind"] == "merge-split"
    assert pairs.loc["car <-> truck", "top_dissenter"] == "dana"  # vans as trucks
    assert pairs.loc["person <-> rider", "top_dissenter"] == "bruno"  # riders as persons
    assert pairs.loc["building <-> void", "top_dissenter"] == "bruno"  # unlabelled bands
    assert pairs.loc["car <-> car", "top_dissenter"] == "dana"  # split occluded cars
    assert batch1.per_image.annotators.tolist().count(3) == 1  # dana misses street_013


def test_the_small_objects_finding_gives_the_size_bruno_misses_under():
    """bruno misses objects under 1,500 px (70%): the finding keeps the tested size where his
    excess is largest (1,375 px, 51%), not the one with the largest statistic (5,408 px, 21%:
    the objects tested there are mostly drawn)."""
    from agreement.diagnosis import find

    found = [f for f in find(load_study(SAMPLE / "batch1")) if f.kind == "missed_small"]
    assert [f.annotators for f in found] == [("bruno",)]
    assert 1000 < found[0].evidence["size_px"] <= 1500
    assert found[0].effect > 0.45
