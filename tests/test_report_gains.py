"""Expected gains: relabelling sources, count-level resolutions, proposal ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agreement import Categories, Category, PanopticAnnotation, Study
from agreement.metrics.pq import pq_result
from agreement.model import ImageInfo
from agreement.report.diagnose import Diagnosis
from agreement.report.gains import (
    Gains,
    merge_categories,
    merged_pair_counts,
    pooled_counts,
    resolve_counts,
)
from agreement.report.proposals import propose
from agreement.study.pq import evaluate

CATS = Categories(
    [Category(7, "road", False), Category(8, "sidewalk", False), Category(26, "car", True)]
)




def _ann(border: int) -> PanopticAnnotation:
    ids = np.ones((10, 10), np.int32)  # road, id 1
    ids[:, border:] = 2  # sidewalk, id 2
    ids[0:3, 0:3] = 5  # car
    return PanopticAnnotation.from_map(ids, {1: 7, 2: 8, 5: 26}, file_name="x.png")


@pytest.fixture
def study():
    return Study.from_annotations({"a": [_ann(4)], "b": [_ann(8)]}, CATS)


def test_merged_source_joins_stuff_segments(study):
    merged = merge_categories(study, 7, 8)
    ann = merged.annotation("a", "x.png")
    assert sorted(s.category_id for s in ann.segments) == [7, 26]
    road = next(s for s in ann.segments if s.category_id == 7)
    assert road.area == 91 and road.bbox == (0, 0, 10, 10)
    assert set(np.unique(ann.ids)) == {road.id, 5}
    assert 8 not in merged.categories


def test_merged_pair_gain_recomputed(study):
    result = evaluate(study, boundary=False)
    counts = pooled_counts(result.per_pair_class)
    merged = {
        (7, 8): pooled_counts(
            evaluate(merge_categories(study, 7, 8), boundary=False).per_pair_class
        )
    }
    gains = Gains(result.per_pair_class, pd.DataFrame({"category_id": [7, 8, 26]}), CATS, merged)
    value, how = gains("confusion", (7, 8))
    # road: 31 px of a's 37 vs b's 77 -> IoU 37/77; sidewalk IoU 20/60; merged: IoU 1
    after = pq_result(merged_pair_counts(counts, merged[(7, 8)], 7, 8), CATS).pq
    assert after == pytest.approx(1.0)
    before = pq_result(counts, CATS).pq
    assert value == pytest.approx(after - before) and value > 0
    assert "relabelled with sidewalk as road" in how
    assert np.isnan(gains("confusion", (7, 26))[0])


def test_resolve_counts_boundaries():
    c = pd.DataFrame(
        {"category_id": [1, 2], "tp": [2, 1], "fp": [0, 1], "fn": [0, 1], "iou_sum": [1.2, 0.9]}
    )
    out = resolve_counts(c, 1, perfect_iou=True)
    assert out["iou_sum"].tolist() == [2.0, 0.9]
    assert c["iou_sum"].tolist() == [1.2, 0.9]  # input untouched


def test_proposals_ranked_by_disputed_pixels():
    ds = [
        Diagnosis(26, "car", "boundaries", "boundaries differ", 0.9),
        Diagnosis(7, "road", "confusion", "confused with sidewalk", 0.1, 8, "sidewalk"),
    ]
    px = {"boundaries": (100, 1), "confusion": (5000, 3)}
    props = propose(
        ds,
        names={7: "road", 8: "sidewalk", 26: "car"},
        isthing={7: False, 8: False, 26: True},
        impact=lambda k, c: px[k],
        gain=lambda k, c: (0.5 if k == "boundaries" else 0.01, "test"),
    )
    assert [p.key for p in props] == ["pair:7-8", "boundaries:26"]
    assert (props[0].pixels, props[0].images, props[0].expected_gain) == (5000, 3, 0.01)


def test_image_info_is_kept(study):
    assert merge_categories(study, 7, 8).image_info("x.png") == ImageInfo("x.png", 10, 10)
