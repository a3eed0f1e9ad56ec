"""Invariances of PQ, Boundary PQ and boundary IoU, one parametrized test per property."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_oracle import CATS, annotation

from agreement.matching import match_segments, segment_overlap
from agreement.metrics.boundary import boundary_panoptic_quality
from agreement.metrics.pq import pq_counts
from agreement.model import Categories, Category, MemorySource, PanopticAnnotation, Study
from agreement.study.pq import evaluate


def memory_source(name, anns, categories=CATS):
    """An in-memory source (default: this file's categories)."""
    return MemorySource(name, anns, categories)




def named(ann, file_name):
    return PanopticAnnotation.from_map(
        np.array(ann.ids), {s.id: s.category_id for s in ann.segments}, file_name=file_name,
        iscrowd=[s.id for s in ann.segments if s.iscrowd])


def relabel(ann, seg_map=None, cat_map=None):
    """Rename segment ids and/or category ids (table order and crowd flags kept)."""
    seg_map = seg_map or {s.id: s.id for s in ann.segments}
    cat_map = cat_map or {c: c for c in CATS}
    lut = {0: 0, **seg_map}
    ids = np.vectorize(lut.__getitem__, otypes=[np.int32])(ann.ids)
    return PanopticAnnotation.from_map(
        ids, {seg_map[s.id]: cat_map[s.category_id] for s in ann.segments},
        file_name=ann.image.file_name, iscrowd=[seg_map[s.id] for s in ann.segments if s.iscrowd])


def shape_strategy():
    return st.tuples(st.integers(3, 10), st.integers(3, 10))


@st.composite
def two(draw, **kw):
    shape = draw(shape_strategy())
    return draw(annotation(shape, **kw)), draw(annotation(shape, **kw))


@settings(max_examples=40, deadline=None)
@given(ann=shape_strategy().flatmap(lambda s: annotation(s, crowd=False)))
def test_self_agreement_is_perfect(ann):
    # (with crowd, self-PQ can be < 1 under the reference semantics: a copy of a crowd segment
    # that is not the last crowd of its category is a false positive)
    res = boundary_panoptic_quality(ann, ann, categories=CATS)
    if ann.segments:
        assert res.pq == res.sq == res.rq == 1.0
        assert res.boundary_pq == 1.0
        assert res.groups.loc["All", "mean_boundary_iou"] == 1.0
    else:
        assert math.isnan(res.pq) and res.groups.loc["All", "n"] == 0


def test_self_agreement_with_two_crowds_of_a_category_is_not_perfect():
    ann = PanopticAnnotation.from_map(np.array([[1, 1, 2, 2, 3, 3]]), {1: 1, 2: 1, 3: 1},
                                      iscrowd=[1, 2])
    res = boundary_panoptic_quality(ann, ann, categories=CATS)
    row = res.per_class.set_index("category_id").loc[1]
    assert (row.tp, row.fp, row.fn) == (1, 1, 0)  # the copy of crowd 1 is a false positive


@settings(max_examples=40, deadline=None)
@given(p=two(), seed=st.integers(0, 2**16))
def test_segment_id_relabelling_changes_nothing(p, seed):
    ref, other = p
    rng = np.random.default_rng(seed)
    maps = []
    for ann in (ref, other):
        new = rng.choice(np.arange(1, 1 << 20), size=len(ann.segments), replace=False)
        maps.append(dict(zip([s.id for s in ann.segments], new.tolist(), strict=True)))
    before = boundary_panoptic_quality(ref, other, categories=CATS).per_class
    after = boundary_panoptic_quality(relabel(ref, maps[0]), relabel(other, maps[1]),
                                      categories=CATS).per_class
    cols = ["tp", "fp", "fn", "boundary_tp", "boundary_fp", "boundary_fn"]
    assert before[cols].equals(after[cols])
    np.testing.assert_allclose(after["iou_sum"], before["iou_sum"], atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(p=two())
def test_consistent_category_renumbering_changes_nothing(p):
    ref, other = p
    cat_map = {1: 40, 2: 3, 3: 17, 4: 2}
    cats2 = Categories([Category(cat_map[c.id], c.name, c.isthing) for c in CATS.values()])
    before = boundary_panoptic_quality(ref, other, categories=CATS)
    after = boundary_panoptic_quality(relabel(ref, cat_map=cat_map),
                                      relabel(other, cat_map=cat_map), categories=cats2)
    b = before.per_class.set_index("name")
    a = after.per_class.set_index("name").loc[b.index]
    assert (a["tp"] == b["tp"]).all() and (a["fp"] == b["fp"]).all()
    for k in ("pq", "sq", "rq", "boundary_pq"):
        np.testing.assert_allclose(after.groups[k], before.groups[k], atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(p=two(void=False, crowd=False))
def test_symmetric_without_void_and_crowd(p):
    ref, other = p
    ov = segment_overlap(ref, other)
    ab = pq_counts(ov, match_segments(ov))
    ba = pq_counts(ov.transpose(), match_segments(ov.transpose()))
    assert ab.tp.tolist() == ba.tp.tolist() or (ab.tp.sum() == ba.tp.sum() == 0)
    fwd = dict(zip(ab.category_id.tolist(), zip(ab.tp, ab.fp, ab.fn, strict=True), strict=True))
    bwd = dict(zip(ba.category_id.tolist(), zip(ba.tp, ba.fn, ba.fp, strict=True), strict=True))
    assert fwd == bwd
    r1 = boundary_panoptic_quality(ref, other, categories=CATS)
    r2 = boundary_panoptic_quality(other, ref, categories=CATS)
    for k in ("pq", "boundary_pq"):
        a, b = getattr(r1, k), getattr(r2, k)
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-12)


@settings(max_examples=15, deadline=None)
@given(p=two(), q=two())
def test_study_sums_images_like_single_pairs(p, q):
    a = memory_source("a", [named(p[0], "x.png"), named(q[0], "y.png")])
    b = memory_source("b", [named(p[1], "x.png"), named(q[1], "y.png")])
    res = evaluate(Study({"a": a, "b": b}), dilation_ratio=0.2)
    pc = res.pq("a", "b").per_class.set_index("category_id")
    for c in ("tp", "fp", "fn"):
        total = 0
        for r, o in ((p[0], p[1]), (q[0], q[1])):
            ov = segment_overlap(r, o)
            counts = pq_counts(ov, match_segments(ov))
            total += dict(zip(counts.category_id.tolist(), getattr(counts, c).tolist(),
                              strict=True)).get(1, 0)
        assert pc.loc[1, c] == total


def test_three_annotators_give_six_ordered_pairs():
    base = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 3, 3]])
    anns = [PanopticAnnotation.from_map(base + k * (base == 3), {1: 1, 2: 2, 3 + k: 3},
                                        file_name="x.png") for k in range(3)]
    study = Study({n: memory_source(n, [a]) for n, a in zip("abc", anns, strict=True)})
    res = evaluate(study, boundary=False)
    assert len(res.per_pair_class) == 6 * len(CATS)
    m = res.pq_matrix()
    assert m.shape == (3, 3) and np.isnan(np.diag(m.to_numpy())).all()
    assert (m.fillna(1.0).to_numpy() == 1.0).all()
    assert "boundary_pq" not in res.per_pair_class.columns
    assert list(res.annotator_agreement()["pq"]) == [1.0, 1.0, 1.0]


def test_progress_bar_and_all_cpus_give_the_same_result(capsys):
    base = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 3, 0]])
    anns = {n: [PanopticAnnotation.from_map(np.roll(base, k * (n == "b"), axis=1),
                                            {1: 1, 2: 2, 3: 3}, file_name=f"{k}.png")
                for k in range(3)] for n in "ab"}
    study = Study({n: memory_source(n, a) for n, a in anns.items()})
    serial = evaluate(study)
    parallel = evaluate(study, n_jobs=-1, progress=True)
    assert "3/3" in capsys.readouterr().err
    assert serial.per_pair_class.equals(parallel.per_pair_class)
    assert serial.segments.equals(parallel.segments)


def test_study_errors():
    from agreement.errors import AnnotationError, StudyError

    a = PanopticAnnotation.from_map(np.ones((2, 3), int), {1: 1}, file_name="x.png")
    b = PanopticAnnotation.from_map(np.ones((3, 2), int), {1: 1}, file_name="x.png")
    study = Study({"a": memory_source("a", [a]), "b": memory_source("b", [b])})
    with pytest.raises(StudyError, match="annotators must be at least two of"):
        evaluate(study, annotators=["a"])
    with pytest.raises(StudyError, match="images must be in the study, got 1 unknown"):
        evaluate(study, images=["nope.png"])
    with pytest.raises(AnnotationError, match=r"image 'x\.png': annotations must all"):
        evaluate(study)
    ok = Study({"a": memory_source("a", [a]), "b": memory_source("b", [a])})
    res = evaluate(ok)
    with pytest.raises(StudyError, match="annotator must be one of"):
        res.pq("a", "zed")
    with pytest.raises(StudyError, match="metric must be one of"):
        res.pq_matrix(metric="accuracy")


def test_an_all_void_annotation():
    a = PanopticAnnotation.from_map(np.zeros((4, 4), int), {}, file_name="x.png")
    b = PanopticAnnotation.from_map(np.ones((4, 4), int), {1: 1}, file_name="x.png")
    res = evaluate(Study({"a": memory_source("a", [a]), "b": memory_source("b", [b])}))
    # a as reference: b's person lies entirely on a's void -> excused, nothing counted
    assert math.isnan(res.pq("a", "b").pq)
    ba = res.pq("b", "a").per_class.set_index("category_id").loc[1]
    assert (ba.tp, ba.fp, ba.fn) == (0, 0, 1) and res.pq("b", "a").pq == 0.0
    seg = res.segments
    assert seg[seg.annotator == "b"].status.tolist() == ["ignored"]
    assert len(seg[seg.annotator == "a"]) == 0
