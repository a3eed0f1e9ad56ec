"""Study-level passes on a small in-memory study with a planted systematic annotator."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from pandas import testing as pd_testing

from agreement import Categories, Category, ImageInfo, PanopticAnnotation, Study
from agreement.metrics.pixel import label_map
from agreement.model import MemorySource
from agreement.study.disputes import GRID, disagreement
from agreement.study.pixels import pixel_agreement

CATS = Categories([Category(7, "road", False), Category(8, "sidewalk", False),
                   Category(26, "car", True)])




def scene(name, shape, curb, car=None, gap=None):
    """Road below the curb row, sidewalk above; an optional car box and void box."""
    ids = np.full(shape, 1, np.int32)
    ids[:curb] = 2
    cats = {1: 7, 2: 8}
    if car is not None:
        ids[car] = 3
        cats[3] = 26
    if gap is not None:
        ids[gap] = 0
    cats = {sid: cid for sid, cid in cats.items() if (ids == sid).any()}
    return PanopticAnnotation(ImageInfo(name, *shape), ids, PanopticAnnotation.from_map(
        ids, cats, file_name=name).segments)


def make_study():
    car = (slice(20, 26), slice(5, 15))
    anns = {"ann1": [], "ann2": [], "ann3": [], "sys": []}
    for i, shape in enumerate([(30, 40), (30, 40), (20, 24)]):
        name = f"img{i}.png"
        for a in ("ann1", "ann2", "ann3"):
            if a == "ann3" and i == 1:
                continue  # ann3 missed this image
            anns[a].append(scene(name, shape, 8, car if shape[0] == 30 else None))
        # the systematic annotator calls the sidewalk strip rows 0..7 road in every image
        anns["sys"].append(scene(name, shape, 0, car if shape[0] == 30 else None,
                                 gap=(slice(12, 14), slice(30, 40)) if i == 0 else None))
    return Study.from_annotations(anns, CATS)


def test_disagreement_finds_the_planted_pair_and_annotator():
    study = make_study()
    res = disagreement(study, d=1, min_area=8)
    top = res.class_pairs.iloc[0]
    assert top.class_pair == "road <-> sidewalk"
    assert (top.regions, top.images, top.annotators, top.dissenters) == (3, 3, 1, ("sys",))
    assert top.pixels == 8 * 40 * 2 + 8 * 24
    assert res.regions["rank"].tolist() == list(range(1, len(res.regions) + 1))
    assert res.regions.iloc[0].kind == "class confusion"
    gap = res.regions[res.regions.kind == "unlabeled gap"]
    assert gap[["image", "class_pair", "area"]].values.tolist() == [["img0.png", "road <-> void",
                                                                      20]]
    assert res.annotators.annotator[0] == "sys"
    assert res.annotators.set_index("annotator").mean_kappa.idxmin() == "sys"
    per_class = res.per_class.set_index("category")
    assert per_class.loc["sidewalk", "ambiguity"] == 1.0
    assert per_class.loc["car", "ambiguity"] == 0.0
    assert per_class.loc["void", "claimed_pixels"] == 20
    assert res.aggregate.shape == GRID and res.aggregate.images == 3
    # one grid for every size: the two 30 x 40 images alone, their rows stretched onto it
    agg = disagreement(study, d=1, images=["img0.png", "img1.png"]).aggregate
    assert agg.images == 2
    rows = GRID[0] / 30  # grid rows per image row
    np.testing.assert_allclose(agg.semantic[:int(8 * rows)], (1 / 4 + 1 / 3) / 2, rtol=1e-6)
    np.testing.assert_allclose(agg.semantic[int(np.ceil(20 * rows)):], 0, atol=1e-7)
    assert res.per_image.annotators.tolist() == [4, 3, 4]
    assert res.per_image.regions.sum() == len(res.regions)
    assert res.to_frame() is res.regions


def test_pixel_agreement_of_a_study_equals_krippendorff_on_all_pixels():
    study = make_study()
    res = pixel_agreement(study, void="exclude")
    ids = tuple(CATS)
    blocks = []
    for image in study.images:
        anns = study.annotations(image)
        size = study.image_info(image).height * study.image_info(image).width
        block = np.full((len(study.annotators), size), np.nan)
        for r, a in enumerate(study.annotators):
            if a in anns:
                block[r] = label_map(anns[a], ids).ravel()
        blocks.append(block)
    data = np.concatenate(blocks, axis=1)
    data[data == 0] = np.nan
    assert res.alpha == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=1e-12)
    same = disagreement(study, d=1).pixel
    assert same.alpha == res.alpha
    kappa = res.kappa_matrix()
    assert kappa.loc["ann1", "ann2"] == 1.0 and kappa.loc["ann1", "sys"] < 0.5


def test_leave_one_out_scores_against_the_consensus_of_the_others():
    from agreement.study.loo import leave_one_out

    res = leave_one_out(make_study())
    table = res.per_annotator.set_index("annotator")
    assert res.per_annotator.annotator[0] == "sys"
    for a in ("ann1", "ann2", "ann3"):  # ties on img1 (ann_x vs sys) are void, so excused
        assert table.loc[a, "pq"] == pytest.approx(1.0, abs=1e-12)
    road = (800 / 1140 + 820 / 1140 + 288 / 480) / 3  # sys's road against the consensus road
    assert table.loc["sys", "pq"] == pytest.approx((road + 0.0 + 1.0) / 3, abs=1e-12)
    assert table.loc["sys", "pq_things"] == 1.0
    assert table.loc["sys", "images"] == 3 and table.loc["ann3", "images"] == 2
    pc = res.per_class
    side = pc[(pc.annotator == "sys") & (pc.category == "sidewalk")]
    assert side[["tp", "fn", "pq"]].values.tolist() == [[0, 3, 0.0]]
    assert set(res.counts.columns) >= {"image", "annotator", "others", "tp", "fp", "fn", "iou_sum"}
    assert res.to_frame() is res.per_annotator


def test_parallel_equals_serial():
    from agreement.study.loo import leave_one_out

    study = make_study()
    one, two = disagreement(study, d=1), disagreement(study, d=1, n_jobs=2)
    pd_testing.assert_frame_equal(one.regions, two.regions)
    pd_testing.assert_frame_equal(one.per_class, two.per_class)
    np.testing.assert_array_equal(one.pixel.counts.pair_tables, two.pixel.counts.pair_tables)
    np.testing.assert_array_equal(one.aggregate.entropy, two.aggregate.entropy)
    a, b = pixel_agreement(study), pixel_agreement(study, n_jobs=2)
    assert a.alpha == b.alpha and a.fleiss_kappa == b.fleiss_kappa
    pd_testing.assert_frame_equal(leave_one_out(study).counts,
                                  leave_one_out(study, n_jobs=2).counts)


def test_disagreement_of_a_study_where_no_image_is_shared_is_empty_not_an_error():
    # each annotator has a different image: no pair to compare anywhere
    a = MemorySource("a", [scene("img_a.png", (10, 12), 4)], CATS)
    b = MemorySource("b", [scene("img_b.png", (10, 12), 4)], CATS)
    result = disagreement(Study({"a": a, "b": b}))
    summary = result.annotators
    assert summary["annotator"].tolist() == ["a", "b"]
    assert summary["dissent_regions"].tolist() == [0, 0]
    assert summary["dissent_pixels"].tolist() == [0, 0]
    assert summary["dissent_share"].isna().all()
