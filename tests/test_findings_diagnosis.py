"""Findings about annotators (agreement.diagnosis): kernel, statistics, model, and planted studies.

Not the validation findings of agreement.findings (see test_validate*).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from _sample_habits import planted
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement import Categories, Category, PanopticAnnotation, load_study
from agreement.diagnosis import (
    FINDING_COLUMNS,
    KINDS,
    Finding,
    Findings,
    Options,
    find,
    image_record,
)
from agreement.diagnosis._stats import contrasts, permutation_tests
from agreement.simulation import Plant, named, simulate

CATS = Categories([Category(1, "road", False), Category(2, "walk", False),
                   Category(3, "car", True), Category(4, "truck", True)])
#: Small planted studies: 4 annotators, 10 images of 128 x 256 (strong plants only).
SMALL = {"annotators": 4, "images": 10, "height": 128, "width": 256}


def _ann(ids, cats):
    return PanopticAnnotation.from_map(np.asarray(ids, np.int32), cats, file_name="x.png")


# ----------------------------------------------------------------------------- the kernel

def _objects(rec, annotator, reference):
    a, b = rec.annotators.index(annotator), rec.annotators.index(reference)
    rows = rec.objects[(rec.objects[:, 0] == a) & (rec.objects[:, 1] == b)]
    return {int(r[3]): (int(r[4]), int(r[5]), int(r[6]), int(r[7])) for r in rows}  # by area


def test_object_statuses_against_another_annotator():
    """b draws four cars; a misses one, calls one a truck, merges two into one segment."""
    ref = np.zeros((8, 40), np.int32)
    ref[0:3, 0:6] = 31  # car, 18 px
    ref[0:3, 10:20] = 32  # car, 30 px
    ref[4:8, 0:8] = 33  # car, 32 px, next to ...
    ref[4:8, 9:18] = 34  # ... this car, 36 px (1 px apart)
    other = np.zeros_like(ref)
    other[0:3, 10:20] = 41  # the 30 px car, as a truck
    other[4:8, 0:18] = 42  # one car over both
    b = _ann(ref, {31: 3, 32: 3, 33: 3, 34: 3})
    a = _ann(other, {41: 4, 42: 3})
    rec = image_record("x", {"a": a, "b": b}, categories=CATS)
    rows = _objects(rec, "a", "b")  # area -> (status, other label, parts, hidden px)
    assert rows[18] == (1, 0, 0, 0)  # missed (void under it)
    assert rows[30] == (2, 4, 0, 0)  # confused, drawn as label 4 (truck)
    assert rows[32][0] == 4 and rows[36][0] == 4  # merged
    # pixel table against the other annotator: object events are kept out of the border zones
    zone0 = rec.pixels[0, 0]
    assert zone0[3, 4] == 30  # car -> truck
    assert zone0[3, 0] == 18  # the missed car
    assert zone0[0, 3] == 4  # the gap between the merged cars
    assert zone0[3, 3] == 68  # the merged cars' own pixels


def test_split_and_painting_order():
    """a cuts a car in two; a paints the far car over the near one."""
    ref = np.zeros((6, 40), np.int32)
    ref[0:6, 0:12] = 31  # a car
    ref[0:6, 20:30] = 32  # near car ...
    ref[0:6, 30:36] = 33  # ... in front of the far car (which continues behind it)
    other = np.zeros_like(ref)
    other[0:6, 0:6] = 41
    other[0:6, 6:12] = 42  # the car in two parts
    other[0:6, 20:26] = 43  # near car, partly painted over
    other[0:6, 26:36] = 44  # far car drawn whole, over the near one
    b = _ann(ref, {31: 3, 32: 3, 33: 3})
    a = _ann(other, {41: 3, 42: 3, 43: 3, 44: 3})
    rec = image_record("x", {"a": a, "b": b}, categories=CATS)
    rows = _objects(rec, "a", "b")
    assert rows[72][2] == 2  # two parts
    assert rows[60] == (0, 0, 1, 24)  # present, one part, 24 px taken by the far car
    assert rows[36][3] == 0  # the far car lost nothing


def test_a_record_is_small_and_holds_every_annotator():
    sim = simulate(seed=0, annotators=3, images=1, height=64, width=128)
    image, anns = next(sim.study().iter_images())
    rec = image_record(image, anns, categories=sim.categories)
    assert rec.annotators == ("ana", "ben", "cy")
    assert rec.pixels.shape == (3, 3, 13, 13) and rec.adjacency.shape == (3, 13, 13)
    total = 64 * 128
    assert (rec.pixels.sum(axis=(1, 2, 3)) == total).all()
    assert rec.pixels.nbytes + rec.adjacency.nbytes + rec.objects.nbytes < 32_000
    assert image_record(image, {"ana": anns["ana"]}, categories=sim.categories) is None


def test_the_pass_holds_records_packed_and_gives_them_back_equal():
    """The findings part keeps each image's record packed (non-zero cells, narrow integers)
    until the finish: much smaller, unpacked equal (same dtypes), through a pickle too."""
    import pickle

    from agreement.diagnosis import records
    from agreement.diagnosis._kernel import PackedRecord, unpacked

    sim = simulate(seed=0, annotators=3, images=3, height=64, width=128,
                   plants=[Plant("merge", "strong")])
    study = sim.study()
    for rec in records(study):
        packed = pickle.loads(pickle.dumps(PackedRecord(rec)))
        held = sum(a.nbytes for a in (*packed._pixels[1:], *packed._adjacency[1:],
                                      packed._objects))
        assert held * 4 < rec.pixels.nbytes + rec.adjacency.nbytes + rec.objects.nbytes
        back = unpacked([packed])[0]
        for f in ("pixels", "adjacency", "objects"):
            a, b = getattr(rec, f), getattr(back, f)
            assert a.dtype == b.dtype == np.int64 and np.array_equal(a, b), f
        assert (back.image, back.annotators, back.category_ids, back.band, back.shape) == (
            rec.image, rec.annotators, rec.category_ids, rec.band, rec.shape)
    big = replace(rec, objects=rec.objects + (1 << 40))  # beyond int32: kept as it is
    assert np.array_equal(PackedRecord(big).unpack().objects, big.objects)


@pytest.mark.parametrize("seed, extra", [
    (1, {}), (2, {"plants": [Plant("layer_overlap", "strong")]}),
    (3, {"plants": [Plant("merge", "strong")], "annotators": 5}), (4, {"annotators": 2}),
    (5, {"annotators": 7, "plants": [Plant("boundary_offset", "strong")]})])
def test_the_pass_kernel_equals_the_per_pixel_one(seed, extra):
    """The kernel reads tuples, pair tables and the shared consensus; the first version read
    every pixel (tests/_findings_oracle.py): the records are equal."""
    from _findings_oracle import pixel_record

    sim = simulate(seed=seed, **{"images": 2, "height": 96, "width": 192, **extra})
    study = sim.study()
    for image, anns in study.iter_images():
        a = pixel_record(image, anns, categories=study.categories)
        b = image_record(image, anns, categories=study.categories)
        for f in ("pixels", "adjacency", "objects"):
            assert np.array_equal(getattr(a, f), getattr(b, f)), f
        assert (a.band, a.shape, a.annotators) == (b.band, b.shape, b.annotators)


def test_the_findings_share_the_leave_one_out_consensus(monkeypatch):
    """In one pass, each annotator's consensus of the others is computed once per image."""
    from agreement.image import voting
    from agreement.study.analysis import analyse

    calls = []
    inner = voting._consensus_tuples
    monkeypatch.setattr(voting, "_consensus_tuples",
                        lambda maps, names, *a: calls.append((maps.image, names))
                        or inner(maps, names, *a))
    sim = simulate(seed=2, annotators=3, images=3, height=64, width=128)
    res = analyse(sim.study(), parts=("loo", "findings"))
    assert len(calls) == len(set(calls)) == 3 * 3
    assert res.findings.to_dict() == find(sim.study()).to_dict()


def test_a_merge_of_objects_further_apart_than_3_px_counts_for_everyone():
    """Two cars 6 px apart: a draws one segment over both. The merge proves a neighbour to
    merge with: the cars are among the mergeable objects of every annotator (a: 1 of 1, the
    others: 0 of 1, defined), not only of those within 3 px."""
    from agreement.diagnosis._effects import effect_table

    ref = np.zeros((8, 40), np.int32)
    ref[2:6, 2:12] = 31
    ref[2:6, 18:28] = 32  # 6 px further right
    one = np.zeros_like(ref)
    one[2:6, 2:28] = 41
    anns = {"a": _ann(one, {41: 3}), "b": _ann(ref, {31: 3, 32: 3}),
            "c": _ann(ref, {31: 3, 32: 3})}
    rec = image_record("x", anns, categories=CATS)
    table = effect_table([rec] * 3, ("a", "b", "c"), thing=[False, False, True, True])
    t = table.tests.index(("merge", (3,)))
    assert table.values[0, :, t].tolist() == [1.0, 0.0, 0.0]

    # the merge's size is the mergeable objects' half area (its own column); a share of pixels'
    # size is its den (read from den, not stored twice)
    assert t in table.sizes and table.size(t)[0, 0] == pytest.approx(10 * 4 * 2 / 2)
    for u, (kind, _) in enumerate(table.tests):
        if kind not in ("merge", "split", "missed_small"):
            assert u not in table.sizes and table.size(u) is not None
            np.testing.assert_array_equal(table.size(u), table.den[:, :, u])


# ----------------------------------------------------------------------------- statistics

def test_contrasts_are_taken_from_the_median_of_the_image():
    e = np.array([[[0.0], [0.0], [0.0], [6.0]], [[1.0], [np.nan], [1.0], [5.0]]])
    c = contrasts(e)[..., 0]
    assert c[0].tolist() == [0.0, 0.0, 0.0, 6.0]
    assert c[1, [0, 2, 3]].tolist() == [0.0, 0.0, 4.0] and np.isnan(c[1, 1])


@pytest.mark.parametrize("shape", [(400, 3, 7), (33, 5, 2), (3, 2, 1)])
def test_contrasts_in_blocks_of_images_are_the_same(shape):
    """A large effect table's contrasts are taken a block of images at a time: the same
    numbers, bit for bit, as in one go."""
    from unittest import mock

    from agreement.diagnosis import _stats

    rng = np.random.default_rng(sum(shape))
    e = rng.normal(size=shape)
    e[rng.random(shape) < 0.3] = np.nan
    whole = _stats._contrasts(e)
    with mock.patch.object(_stats, "_BLOCK", 10):
        blocks = contrasts(e)
    assert blocks.dtype == whole.dtype and np.array_equal(blocks, whole, equal_nan=True)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_permuting_annotators_permutes_contrasts(seed):
    rng = np.random.default_rng(seed)
    e = rng.normal(size=(5, 4, 3))
    e[rng.random(e.shape) < 0.2] = np.nan
    perm = rng.permutation(4)
    assert np.allclose(contrasts(e)[:, perm], contrasts(e[:, perm]), equal_nan=True)


def test_a_planted_column_stands_out_and_the_others_do_not():
    rng = np.random.default_rng(0)
    values = rng.normal(0, 1, (12, 4, 6))
    values[:, 2, 3] += 4.0  # annotator 2, test 3
    present = np.ones((12, 4), bool)
    res = permutation_tests(values, present, two_sided=np.zeros(6, bool), floor=np.full(6, 0.1),
                       n_resamples=499, seed=1)
    assert res.p_adjusted[2, 3] <= 0.01
    others = np.delete(res.p_adjusted.ravel(), 2 * 6 + 3)
    assert (others > 0.05).all()
    assert (res.p_adjusted >= res.p - 1e-12).all()
    assert res.ci_low[2, 3] < res.effect[2, 3] < res.ci_high[2, 3]


def test_holm_and_bh_are_offered():
    values = np.random.default_rng(0).normal(size=(6, 3, 2))
    for adjust in ("holm", "bh"):
        res = permutation_tests(values, np.ones((6, 3), bool), two_sided=np.ones(2, bool),
                           floor=np.full(2, 0.1), n_resamples=99, adjust=adjust)
        assert "Holm" in res.method or "Benjamini" in res.method
    with pytest.raises(ValueError, match="adjust must be"):
        permutation_tests(values, np.ones((6, 3), bool), two_sided=np.ones(2, bool),
                     floor=np.full(2, 0.1), adjust="bonferroni")


# ----------------------------------------------------------------------------- planted studies

@pytest.mark.parametrize("seed", [101, 102])
def test_null_studies_give_no_finding(seed):
    found = find(simulate(seed=seed, **SMALL).study())
    assert len(found) == 0
    assert found.summary().startswith("No finding")
    assert len(found.tests) > 100  # it did test: every annotator x kind x class with data


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "boundary_detail"])
def test_strong_plants_are_named_with_kind_class_and_annotator(kind):
    sim = simulate(seed=7, plants=[Plant(kind, "strong", "cy")], **SMALL)
    found = find(sim.study())
    (plant,) = sim.plants
    assert found.findings, f"nothing found for {plant}"
    assert named(plant, found[0]), found.summary()


def test_painting_objects_over_others_is_not_also_a_split():
    sim = simulate(seed=7, plants=[Plant("layer_overlap", "strong", "cy")], **SMALL)
    found = find(sim.study())
    assert [f.kind for f in found if f.annotators == ("cy",)] == ["layer_overlap"]


def test_coarse_outlines_are_named():
    sim = simulate(seed=7, plants=[Plant("boundary_detail", "strong", "cy")], annotators=4,
                   images=12)
    found = find(sim.study())
    assert any(named(sim.plants[0], f) for f in found), found.summary()


def test_annotators_who_disagree_among_themselves_make_a_guideline_finding():
    sim = simulate(seed=8, plants=[Plant("boundary_offset", "strong", "ana", ("road", "sidewalk")),
                                   Plant("boundary_offset", "strong", "cy", ("sidewalk", "road"))],
                   **SMALL)
    found = find(sim.study())
    top = found[0]
    assert top.kind == "boundary_offset" and set(top.categories) == {"road", "sidewalk"}
    assert top.annotators == ()
    assert set(top.evidence["by_annotator"]) == {"ana", "cy"}
    assert "disagree among themselves" in top.text


def test_a_border_everyone_places_somewhere_else_is_a_guideline_finding():
    """Each annotator puts the road / sidewalk border somewhere else on each image: nobody is
    consistently off (the per-annotator tests see nothing), the spread stands out."""
    sim = simulate(seed=7, plants=[Plant("ambiguous_border", "strong",
                                         categories=("road", "sidewalk"))], **SMALL)
    found = find(sim.study())
    (f,) = found.findings
    assert named(sim.plants[0], f) and f.annotators == () and f.evidence["scope"] == "spread"
    assert f.effect >= found.parameters["min_spread_px"] and f.ci_low < f.effect < f.ci_high
    assert f.effect > 2 * f.evidence["noise_px"] and f.p_adjusted <= 0.01
    assert f.text.startswith("The annotators place the road / sidewalk border differently")
    tests = found.tests[(found.tests.kind == "boundary_offset")
                        & (found.tests.categories == "road / sidewalk")]
    assert (tests[tests.scope == "annotator"].p_adjusted > 0.01).all()  # nobody alone
    (spread,) = tests[tests.scope == "spread"].itertuples()
    assert spread.finding and spread.annotator == "" and spread.effect == f.effect


def test_one_annotator_moving_a_border_is_not_a_guideline_question():
    sim = simulate(seed=7, plants=[Plant("boundary_offset", "strong", "cy",
                                         ("road", "sidewalk"))], **SMALL)
    found = find(sim.study())
    assert [f.evidence.get("scope") for f in found] == [None]
    assert found[0].annotators == ("cy",)


def test_two_annotators_are_compared_without_blame():
    # two annotators: a permutation swaps them or not, so a finding needs many images
    sim = simulate(seed=9, annotators=2, images=20, height=128, width=256,
                   plants=[Plant("class_confusion", "strong", "ben", ("car", "truck"))])
    found = find(sim.study())
    assert len(found) == 1  # "ben labels car as truck" = "ana labels truck as car": one finding
    f = found[0]
    assert f.kind == "class_confusion" and f.annotators == ()
    assert set(f.categories) == {"car", "truck"} and set(f.evidence["between"]) == {"ana", "ben"}
    first, second = f.evidence["between"]
    # "the others" is the other one: named
    assert f.text.startswith(f"{first} labels {f.categories[0]} as {f.categories[1]}: ")
    # the own shares of both, then the effect: from the midpoint of the two (their median)
    mine, theirs = f.evidence["annotator_mean"], f.evidence["others_mean"][second]
    assert f" of the {f.categories[0]} pixels, against " in f.text
    assert f"% for {second} (+" in f.text and mine > theirs
    assert " percentage points from the two annotators' midpoint, 95% CI +" in f.text
    assert "the others" not in f.text


def test_two_annotators_texts_name_the_other_one():
    def between(kind, cats, effect, unit, evidence):
        return Finding(kind, cats, (), (), effect, unit, effect / 2, effect * 2, ("a",) * 9, 12,
                       100.0, 4.0, 0.001, 0.002, "m",
                       {"between": ("bruno", "alice"), **evidence}, rank=1).text

    assert between("unlabeled", (), 0.016, "share", {}) == (
        "bruno leaves more of the labelled area unlabeled (void) than alice (+1.6 percentage "
        "points from the two annotators' midpoint, 95% CI +0.8 to +3.2, on 9 of 12 images).")
    own = {"annotator_mean": 0.03, "others_mean": {"alice": 0.001}}
    assert between("unlabeled", (), 0.016, "share", own) == (
        "bruno leaves 3.0% of the labelled area unlabeled (void), against 0.1% for alice (+1.6 "
        "percentage points from the two annotators' midpoint, 95% CI +0.8 to +3.2, on 9 of 12 "
        "images).")
    assert between("missed_small", (), 0.17, "share", {"size_px": 3915}).startswith(
        "bruno misses small objects: more of the objects under 3915 px missed than alice (+17 "
        "percentage points from")
    assert between("boundary_detail", (), 1.2, "px", {}).startswith(
        "bruno traces outlines more coarsely: their borders stray 1.2 px further on both sides "
        "than alice's (")
    assert between("merge", ("person",), 0.5, "share", {}).startswith(
        "bruno merges adjacent person instances: more of the person objects next to another one "
        "than alice (+50 percentage points")
    # a sentence without "the others" keeps the comparison up front
    assert between("typo", (), 0.5, "share", {}).startswith("bruno (compared with alice) differs")


# ----------------------------------------------------------------------------- the model

@pytest.fixture(scope="module")
def confusion():
    sim = simulate(seed=5, plants=[Plant("class_confusion", "strong", "ben", ("car", "truck"))],
                   **SMALL)
    return find(sim.study())


def test_findings_json_shape(confusion):
    doc = confusion.to_dict()
    json.dumps(doc)  # plain JSON
    f = doc["findings"][0]
    assert {"rank", "kind", "categories", "annotators", "effect", "unit", "ci_low", "ci_high",
            "images", "text", "evidence"} <= set(f)
    assert f["rank"] == 1 and f["annotators"] == ["ben"] and f["unit"] == "share of pixels"
    assert f["categories"] == ["car", "truck"] and f["images"] == 10
    assert 0.9 <= f["effect"] <= 1.0 and f["ci_low"] <= f["effect"] <= f["ci_high"]
    assert f["test"]["p_adjusted"] <= 0.01 and "max-T" in f["test"]["method"]
    params = doc["parameters"]
    assert params["alpha"] == 0.01 and params["annotators"] == ["ana", "ben", "cy", "dora"]


def test_frame_text_and_html(confusion):
    frame = confusion.to_frame()
    assert tuple(frame.columns) == FINDING_COLUMNS and len(frame) == len(confusion)
    f = confusion[0]
    assert f.text.startswith("ben labels car as truck: ")
    assert "95% CI" in f.text and "on 10 of 10 images" in f.text
    moved = replace(f, effect=0.5, ci_low=0.4, ci_high=0.6)
    assert "(+50 percentage points from the median annotator, 95% CI +40.0 to +60.0, " in \
        moved.text  # text follows the fields; never stored
    assert "<ol>" in confusion._repr_html_() and "ben labels car" in confusion._repr_html_()
    assert repr(confusion).startswith("Findings(1: class_confusion(car/truck; ben)")
    assert set(confusion.tests["kind"]) <= set(KINDS)


def test_no_finding_says_so_plainly():
    empty = Findings((), find(simulate(seed=101, **SMALL).study()).tests, {})
    assert "No finding" in empty._repr_html_() and repr(empty) == "Findings(none)"
    assert empty.to_frame().empty and empty.to_dict()["findings"] == []


def test_options_are_checked():
    with pytest.raises(ValueError, match="min_effect kinds must be among"):
        Options(min_effect={"typo": 1.0})
    with pytest.raises(ValueError, match="alpha must be in"):
        Options(alpha=0)
    th = Options().thresholds((256, 512))
    assert th["boundary_offset"] == pytest.approx(0.002 * np.hypot(256, 512))


def test_a_finding_is_frozen():
    f = Finding("merge", ("car",), (3,), ("ana",), 0.5, "share of objects", 0.4, 0.6, ("x",), 1,
                10.0, 5.0, 0.001, 0.002, "m")
    with pytest.raises(AttributeError):
        f.effect = 0.1  # type: ignore[misc]
    assert f.text == ("ana merges adjacent car instances: more of the car objects next to "
                      "another one than the others (+50 percentage points from the median "
                      "annotator, 95% CI +40.0 to +60.0, on 1 of 1 images).")


def test_memory_studies_and_written_studies_give_the_same_findings(tmp_path):
    sim = simulate(seed=3, plants=[Plant("split", "strong", "ana", ("car",))], annotators=3,
                   images=8, height=128, width=256)
    a = find(sim.study())
    b = find(load_study(sim.write(tmp_path)))
    assert a.to_dict() == b.to_dict()


SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def _planted(f: Finding) -> bool:
    return planted(f.annotators, f.kind, f.categories)


@pytest.mark.slow
@pytest.mark.skipif(not (SAMPLE / "planted.json").exists(), reason="data/sample is not there")
def test_the_sample_studys_planted_facts_come_first():
    """Every finding of the sample study is one of its planted habits, and in batch 1 (guideline
    v1) chen's road / sidewalk border is the first class-pair finding, and the border is a
    guideline question for everyone; not in batch 2 (v2: the curb belongs to the sidewalk)."""
    batch1 = find(load_study(SAMPLE / "batch1"))
    assert [f for f in batch1 if not _planted(f)] == []
    pairs = [f for f in batch1 if len(f.categories) == 2]
    assert pairs[0].annotators == ("chen",) and set(pairs[0].categories) == {"road", "sidewalk"}
    assert pairs[0].rank <= 3
    (guide,) = [f for f in batch1 if not f.annotators]
    assert set(guide.categories) == {"road", "sidewalk"} and guide.evidence["without"] == "chen"
    batch2 = find(load_study(SAMPLE / "batch2"))
    assert [f for f in batch2 if not _planted(f)] == []
    assert not [f for f in batch2 if f.annotators == ("chen",) or not f.annotators]


def test_crowd_segments_are_not_objects():
    ref = np.zeros((6, 20), np.int32)
    ref[:, 0:10] = 31  # a crowd of cars
    ref[:, 12:18] = 32
    b = PanopticAnnotation.from_map(ref, {31: 3, 32: 3}, file_name="x.png", iscrowd=[31])
    a = _ann(np.where(ref == 32, 41, 0), {41: 3})
    rec = image_record("x", {"a": a, "b": b}, categories=CATS)
    assert list(_objects(rec, "a", "b")) == [36]  # only the 36 px car; the crowd is no object
    assert rec.pixels[0, 0, 3, 0] == 60  # the crowd's pixels are kept out of the border figures


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), m=st.integers(1, 30), k=st.integers(1, 5),
       seed=st.integers(0, 2**31), block=st.sampled_from([1, 16, 1 << 20]))
def test_bootstrap_counts_in_column_blocks_equal_the_product(n, m, k, seed, block):
    """The bootstrap's per-resample counts of finite contrasts, a block of columns at a time:
    exactly ``w @ finite`` (whole numbers: any order of the sums gives the same)."""
    from unittest import mock

    from agreement.diagnosis import _stats

    rng = np.random.default_rng(seed)
    w = rng.integers(0, n + 1, (k, n)).astype(np.float64)
    finite = rng.random((n, m)) < 0.7
    with mock.patch.object(_stats, "_BLOCK", block):
        got = _stats._counted(w, finite)
    np.testing.assert_array_equal(got, w @ finite)


def test_tests_of_a_box_let_the_values_go_and_equal_the_tests():
    """The finish's call: the values are taken out of the box, the results are those of
    :func:`permutation_tests` on them."""
    from agreement.diagnosis._stats import boxed_tests

    values = np.random.default_rng(3).normal(size=(9, 3, 4))
    values[0, 1, 2] = np.nan
    kw = {"two_sided": np.array([True, False, True, False]), "floor": np.full(4, 0.1),
          "n_resamples": 99, "n_boot": 50, "seed": 2}
    box = [values.copy()]
    a = boxed_tests(box, np.ones((9, 3), bool), **kw)
    b = permutation_tests(values, np.ones((9, 3), bool), **kw)
    assert box == []
    for name in ("effect", "stat", "p", "p_adjusted", "ci_low", "ci_high", "n_images"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_the_part_lets_its_records_go_before_the_tests_with_the_same_findings():
    """The findings part empties the fold's list of records once its effect table is made; its
    findings and tests equal :func:`agreement.diagnosis.finish` of the same records."""
    from agreement.diagnosis import finish, records
    from agreement.diagnosis._kernel import PackedRecord
    from agreement.study.findings_part import FindingsPart

    sim = simulate(seed=0, annotators=4, images=8, height=128, width=256,
                   plants=[Plant("class_confusion", "strong", "ben", ("car", "truck"))])
    study = sim.study()
    recs = records(study)
    total = [PackedRecord(r) for r in recs]
    got = FindingsPart().finish(total, study)
    assert total == []
    want = finish(recs, study)
    assert [f.text for f in got] == [f.text for f in want] and len(got) >= 1
    assert got.tests.equals(want.tests)


def test_share_texts_give_both_shares_and_the_effect_in_points():
    # the sample's merge finding: bruno's own share, the others' range, then the effect (a
    # difference of shares) in percentage points from the image's median annotator
    ev = {"annotator_mean": 0.7619, "others_mean": {"alice": 0.0357, "chen": 0.0, "dana": 0.037}}
    f = Finding("merge", ("person",), (24,), ("bruno",), 0.746, "share of objects", 0.4286, 1.0,
                ("x",) * 7, 9, 2579.5, 4.3, 0.001, 0.002, "m", ev, rank=6)
    assert f.text == (
        "bruno merges adjacent person instances: 76% of the person objects next to another one, "
        "against 0.0-3.7% for the others (+75 percentage points from the median annotator, "
        "95% CI +42.9 to +100.0, on 7 of 9 images).")
    # extent in shares: the own mean is the area against the others' consensus, signed
    ev = {"annotator_mean": -0.54, "others_mean": {"alice": 0.02, "chen": -0.03}}
    f = Finding("extent", ("pole",), (5,), ("bruno",), -0.57, "share of pixels", -0.83, -0.27,
                ("x",) * 10, 13, 3275.6, -4.3, 0.001, 0.001, "m", ev, rank=3)
    assert f.text == (
        "bruno draws pole smaller: its pole area is 54% smaller than the others' consensus on "
        "average, against -3.0 to +2.0% for the others (-57 percentage points from the median "
        "annotator, 95% CI -83.0 to -27.0, on 10 of 13 images).")
    ev = {"annotator_mean": 0.0307, "others_mean": {"alice": 0.0, "chen": 0.0}}
    f = Finding("unlabeled", (), (), ("bruno",), 0.0307, "share of pixels", 0.0286, 0.0327,
                ("x",) * 13, 13, 15753.5, 6.2, 0.001, 0.001, "m", ev, rank=1)
    assert f.text == (
        "bruno leaves 3.1% of the labelled area unlabeled (void), against 0% for the others "
        "(+3.1 percentage points from the median annotator, 95% CI +2.9 to +3.3, on 13 of 13 "
        "images).")
