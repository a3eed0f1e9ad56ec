"""The one-pass study analysis: equal to each part's own function and to an independent per-image
reference, serial == parallel, and each (annotator, image) decoded exactly once."""

from __future__ import annotations

from collections import Counter
from dataclasses import fields

import numpy as np
import pytest
from pandas import testing as pd_testing

from agreement import Categories, Category, ImageInfo, PanopticAnnotation, Study
from agreement.compare.batch import Batch
from agreement.errors import AnnotationError, StudyError
from agreement.image.maps import ImageMaps
from agreement.study.analysis import PARTS, Analysis, analyse
from agreement.study.coincidence import CoincidencePart, coincidence_frame
from agreement.study.disputes import DisputesPart, disagreement
from agreement.study.loo import LooPart, leave_one_out
from agreement.study.pixels import PixelPart, pixel_agreement
from agreement.study.pq import PQPart, evaluate
from agreement.study.validation import validate

CATS = Categories([Category(1, "car", True), Category(2, "person", True),
                   Category(7, "road", False), Category(9, "sky", False)])


class MemorySource:
    """An AnnotationSource over annotations held in memory (optionally failing on some files)."""

    def __init__(self, name, anns, broken=()):
        self.name = name
        self.categories = CATS
        self._anns = {a.image.file_name: a for a in anns}
        self.images = tuple(a.image for a in anns)
        self.broken = set(broken)

    def load(self, file_name):
        if file_name in self.broken:
            raise AnnotationError("PNG must decode, got garbage", file=file_name)
        return self._anns[file_name]


class CountingSource:
    """Wraps a source and counts its ``load`` calls per file (in this process)."""

    def __init__(self, inner, counter):
        self.inner, self.counter = inner, counter
        self.name, self.categories, self.images = inner.name, inner.categories, inner.images

    def load(self, file_name):
        self.counter[(self.name, file_name)] += 1
        return self.inner.load(file_name)


def _annotation(name, shape, rng, shift):
    """Sky above a horizon, road below, a few car / person boxes, a void corner; jittered."""
    h, w = shape
    ids = np.full(shape, 1, np.int32)
    ids[: h // 3 + shift] = 2
    cats = {1: 7, 2: 9}
    for k, cat in enumerate((1, 1, 2), start=3):
        y, x = rng.integers(h // 3, h - 5), rng.integers(0, w - 6)
        ids[y: y + 4 + shift, x: x + 5 + k % 2] = k
        cats[k] = cat
    if shift:
        ids[:2, :3] = 0
    cats = {s: c for s, c in cats.items() if (ids == s).any()}
    return PanopticAnnotation(ImageInfo(name, h, w), ids,
                              PanopticAnnotation.from_map(ids, cats, file_name=name).segments)


def _sources(broken=()):
    out = {}
    for j, a in enumerate(("a", "b", "c", "d")):
        anns = []
        for i, shape in enumerate([(24, 32), (24, 32), (18, 20), (24, 32)]):
            if a == "c" and i == 1:
                continue  # c lacks img1
            anns.append(_annotation(f"img{i}.png", shape, np.random.default_rng(10 * i + j % 2),
                                    j % 3))
        out[a] = MemorySource(a, anns, broken=broken if a == "b" else ())
    return out


@pytest.fixture(scope="module")
def study():
    return Study(_sources())


@pytest.fixture(scope="module")
def everything(study):
    return analyse(study)


def _same_pq(x, y):
    for t in ("segments", "per_image", "per_pair_class"):
        pd_testing.assert_frame_equal(getattr(x, t), getattr(y, t))
    assert (x.annotators, x.images, x.boundary) == (y.annotators, y.images, y.boundary)


def _same_pixel(x, y):
    for f in ("pair_tables", "stratum_tables", "strata"):
        np.testing.assert_array_equal(getattr(x.counts, f), getattr(y.counts, f))
    for t in ("pairs", "per_class", "pair_class"):
        pd_testing.assert_frame_equal(getattr(x, t), getattr(y, t))
    assert (x.alpha, x.fleiss_kappa, x.pixels) == pytest.approx((y.alpha, y.fleiss_kappa, y.pixels),
                                                               nan_ok=True, rel=0, abs=0)


def _same_disagreement(x, y):
    for t in ("regions", "class_pairs", "pair_annotators", "annotators", "per_class", "per_image"):
        pd_testing.assert_frame_equal(getattr(x, t), getattr(y, t))
    _same_pixel(x.pixel, y.pixel)
    assert (x.aggregate.shape, x.aggregate.images) == (y.aggregate.shape, y.aggregate.images)
    for m in ("semantic", "entropy", "boundary", "instance"):
        np.testing.assert_array_equal(getattr(x.aggregate, m), getattr(y.aggregate, m))


def _same_loo(x, y):
    for t in ("counts", "per_annotator", "per_class"):
        pd_testing.assert_frame_equal(getattr(x, t), getattr(y, t))


def _same(x, y):
    _same_pq(x.pq, y.pq)
    _same_disagreement(x.disagreement, y.disagreement)
    _same_pixel(x.pixel, y.pixel)
    _same_loo(x.loo, y.loo)
    pd_testing.assert_frame_equal(x.coincidence, y.coincidence)
    pd_testing.assert_frame_equal(x.validation, y.validation)


def test_analyse_equals_each_function(study, everything):
    res = everything
    assert res.pq.segments.shape[0] > 50 and len(res.disagreement.regions) > 0
    _same_pq(res.pq, evaluate(study))
    _same_disagreement(res.disagreement, disagreement(study))
    _same_pixel(res.pixel, pixel_agreement(study))
    _same_loo(res.loo, leave_one_out(study))
    pd_testing.assert_frame_equal(res.coincidence, coincidence_frame(study))
    pd_testing.assert_frame_equal(res.validation, validate(study))


def _by_hand(part, study, images):
    """A part's kernel on freshly decoded maps (nothing shared with another part or image),
    folded image by image without the runner."""
    total = None
    for image in images:
        maps = ImageMaps(image, study.annotations(image), categories=study.categories,
                         annotators=study.annotators, dilation_ratio=part.bands)
        total = part.fold(total, part.kernel(maps))
    return part.finish(total, study)


def test_analyse_equals_an_independent_per_image_reference(study, everything):
    """Each part's per-image kernel run on freshly decoded maps, nothing shared."""
    images = list(study.images)
    shared = [i for i in images if len(study.annotations(i)) >= 2]
    _same_pq(everything.pq, _by_hand(PQPart(), study, shared))
    _same_disagreement(everything.disagreement, _by_hand(DisputesPart(), study, images))
    _same_pixel(everything.pixel, _by_hand(PixelPart(), study, images))
    _same_loo(everything.loo, _by_hand(LooPart(), study, images))
    pd_testing.assert_frame_equal(everything.coincidence,
                                  _by_hand(CoincidencePart(), study, images))


def test_parallel_equals_serial(study, everything):
    _same(everything, analyse(study, n_jobs=2))


def test_each_annotation_is_decoded_once_per_analyse_call():
    counter: Counter = Counter()
    study = Study({a: CountingSource(s, counter) for a, s in _sources().items()})
    expected = {(a, i) for a in study.annotators for i in study.images
                if a in study.annotators_of(i)}
    res = analyse(study)
    assert set(counter) == expected and set(counter.values()) == {1}
    assert len(expected) == 15 and res.validation is not None
    counter.clear()
    analyse(study, parts=("pq", "loo", "coincidence"))
    assert set(counter) == expected and set(counter.values()) == {1}
    counter.clear()
    Batch.from_study(study)  # evaluate + coincidences + leave-one-out: one pass
    assert set(counter) == expected and set(counter.values()) == {1}


def test_options_and_subsets_reach_their_part(study):
    res = analyse(study, parts=("pq", "loo"), options={
        "pq": {"boundary": False, "annotators": ["a", "b"]}, "loo": {"min_share": 0.0}},
        images=["img0.png", "img2.png"])
    _same_pq(res.pq, evaluate(study, boundary=False, annotators=["a", "b"],
                              images=["img0.png", "img2.png"]))
    _same_loo(res.loo, leave_one_out(study, min_share=0.0, images=["img0.png", "img2.png"]))
    assert res.disagreement is None and res.validation is None
    assert res.pq.annotators == ("a", "b") and "boundary_tp" not in res.pq.per_image
    assert set(res.loo.counts["image"]) == {"img0.png", "img2.png"}


def test_unknown_parts_and_options_are_errors(study):
    with pytest.raises(StudyError, match=r"parts must be some of .*got \['kappa'\]"):
        analyse(study, parts=("pq", "kappa"))
    with pytest.raises(StudyError, match="parts must be some of"):
        analyse(study, parts=())
    with pytest.raises(StudyError, match=r"options of part 'loo' must be .*got \['share'\]"):
        analyse(study, parts=("loo",), options={"loo": {"share": 0.5}})
    with pytest.raises(StudyError, match="annotators must be at least two"):
        analyse(study, parts=("pq",), options={"pq": {"annotators": ["a"]}})


def test_an_unreadable_annotation_is_a_finding_when_validating_only():
    study = Study(_sources(broken={"img2.png"}))
    found = analyse(study, parts=("validation",)).validation
    row = found[found["kind"] == "unreadable_image"]
    assert row[["annotator", "image"]].values.tolist() == [["b", "img2.png"]]
    pd_testing.assert_frame_equal(found, validate(study))
    with pytest.raises(AnnotationError, match="PNG must decode"):
        analyse(study, parts=("pq", "validation"))
    with pytest.raises(AnnotationError, match="PNG must decode"):
        evaluate(study)


def test_part_names_are_the_analysis_fields_and_the_repr_is_short(study):
    import agreement

    assert [f.name for f in fields(Analysis)] == list(PARTS)
    assert agreement.analyse is analyse and agreement.Analysis is Analysis
    text = repr(analyse(study, parts=("pq", "coincidence")))
    assert text.startswith("Analysis(pq=StudyResult(4 annotators") and text.endswith(" rows>)")
    assert "coincidence=<" in text and "loo" not in text


def test_each_pair_joint_table_is_built_once_per_image(study, monkeypatch):
    import agreement.image.maps as maps_module

    built: Counter = Counter()
    joint: Counter = Counter()
    build, kernel = maps_module.ImageMaps._build_pair, maps_module.joint_overlap_banded

    def counting_build(self, a, b):
        built[(self.image, a, b)] += 1
        return build(self, a, b)

    def counting_kernel(*args, **kwargs):
        joint["calls"] += 1
        return kernel(*args, **kwargs)

    monkeypatch.setattr(maps_module.ImageMaps, "_build_pair", counting_build)
    monkeypatch.setattr(maps_module, "joint_overlap_banded", counting_kernel)
    analyse(study)  # every part: PQ, heatmaps, consensus, validation, consistency read pairs
    pairs = {(i, a, b) for i in study.images for k, a in enumerate(study.annotators_of(i))
             for b in study.annotators_of(i)[k + 1:]}
    assert set(built) == pairs and set(built.values()) == {1}
    assert joint["calls"] == len(pairs)  # one bincount over ids and band flags per pair


def test_pq_without_per_image_rows_is_the_same_result(study):
    """``per_image=False`` (what ``agreement pq`` asks) keeps no row per image, pair and class
    (a table that grows with the study); everything else is the same."""
    full = evaluate(study, segments=False)
    lean = evaluate(study, segments=False, per_image=False)
    assert len(full.per_image) > 0 and len(lean.per_image) == 0
    pd_testing.assert_frame_equal(full.per_pair_class, lean.per_pair_class)
    pd_testing.assert_frame_equal(full.status_counts, lean.status_counts)
    pd_testing.assert_frame_equal(full.image_categories, lean.image_categories)
    pd_testing.assert_frame_equal(full.pq_matrix(), lean.pq_matrix())
    assert full.used_category_ids() == lean.used_category_ids()
    a, b = study.annotators[:2]
    assert full.pq(a, b).to_dict() == lean.pq(a, b).to_dict()


@pytest.mark.parametrize("boundary", [True, False])
def test_count_table_equals_the_one_from_the_per_image_table(study, boundary):
    """The report's bootstrap input, built from the pass's coded rows (image, pair and class
    as small integers), is the table ``CountTable.from_frame`` builds from ``per_image``: the
    same images (sorted), classes and float sums, bit for bit; chunks of any size."""
    from agreement.metrics.counts import PQ_FIELDS
    from agreement.stats import CountTable
    from agreement.study.runner import run

    for chunk_size in (1, 2, 8):
        part = PQPart(segments=False, boundary=boundary)
        res = run(study, [part], chunk_size=chunk_size)[0]
        fields = (*PQ_FIELDS, "boundary_iou_sum") if boundary else PQ_FIELDS
        ours = res.count_table(fields)
        theirs = CountTable.from_frame(res.per_image, fields=fields, group="category_id",
                                       groups=list(study.categories))
        assert ours.images == theirs.images and ours.groups == theirs.groups
        assert ours.values.tobytes() == theirs.values.tobytes()
        assert ours.values.sum() > 0
    with pytest.raises(StudyError, match="fields must be among"):
        res.count_table(["pair"])


@pytest.mark.parametrize("boundary", [True, False])
def test_kept_image_counts_give_the_count_table_of_the_rows(study, boundary):
    """``PQPart(per_image=False, image_counts=fields)`` (the report's) keeps no row, only the
    counts summed per (image, class) as the pass goes: the same count table, bit for bit, at
    any chunk size; the other results unchanged."""
    from agreement.metrics.counts import PQ_FIELDS
    from agreement.study.runner import run

    fields = (*PQ_FIELDS, "boundary_iou_sum") if boundary else PQ_FIELDS
    rows = run(study, [PQPart(segments=False, boundary=boundary)])[0]
    want = rows.count_table(fields)
    assert want.values.sum() > 0
    for chunk_size in (1, 3, 8):
        part = PQPart(segments=False, boundary=boundary, per_image=False, image_counts=fields)
        res = run(study, [part], chunk_size=chunk_size)[0]
        assert len(res.totals.rows) == 0 and len(res.per_image) == 0
        for some in (fields, fields[2:], fields[::-1]):
            got, ref = res.count_table(some), rows.count_table(some)
            assert got.images == ref.images and got.groups == ref.groups
            assert got.fields == ref.fields and got.values.tobytes() == ref.values.tobytes()
        assert res.pq_matrix().equals(rows.pq_matrix())
    only_tp = run(study, [PQPart(segments=False, boundary=boundary, per_image=False,
                                 image_counts=("tp",))])[0]
    with pytest.raises(StudyError, match="kept image counts"):
        only_tp.count_table(["fp"])
    with pytest.raises(StudyError, match="image_counts must be count fields"):
        PQPart(image_counts=("image",))
