"""Consensus maps on hand-made annotations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement import (
    AnnotationError,
    Categories,
    Category,
    PanopticAnnotation,
    read_coco_panoptic,
    write_coco_panoptic,
)
from agreement.image.voting import consensus

CATS = Categories([Category(1, "road", False), Category(2, "sidewalk", False),
                   Category(3, "car", True)])


def ann(ids, cats, name="img.png"):
    return PanopticAnnotation.from_map(np.asarray(ids, np.int32), cats, file_name=name)


def test_ties_and_weak_majorities_are_void_and_counted():
    a = ann([[1, 1, 1, 1]], {1: 1})
    b = ann([[1, 2, 2, 2]], {1: 1, 2: 2})
    c = ann([[1, 1, 5, 0]], {1: 1, 5: 3})
    d = ann([[1, 2, 1, 0]], {1: 1, 2: 2})
    res = consensus({"a": a, "b": b, "c": c, "d": d}, CATS)
    # px0: road 4/4; px1: road 2 vs sidewalk 2 (tie); px2: road 2, sidewalk 1, car 1 (weak:
    # 2 is not > 0.5 * 4); px3: road 1, sidewalk 1, void 2 -> void majority
    assert res.annotation.ids.tolist() == [[1, 0, 0, 0]]
    assert (res.tie_pixels, res.weak_pixels) == (1, 1)
    assert [s.category_id for s in res.annotation.segments] == [1]
    np.testing.assert_allclose(res.support, [[1, 0, 0, 0]])
    loose = consensus({"a": a, "b": b, "c": c, "d": d}, CATS, min_share=0)
    assert loose.annotation.ids.tolist() == [[1, 0, 1, 0]] and loose.weak_pixels == 0
    excl = consensus({"a": a, "b": b, "c": c, "d": d}, CATS, void="exclude")
    assert excl.tie_pixels == 2 and excl.annotation.ids[0, 3] == 0  # px3: road 1 vs sidewalk 1
    assert res.to_dict() == {"image": "img.png", "annotators": 4, "segments": 1,
                             "void_pixels": 3, "tie_pixels": 1, "weak_pixels": 1}


def test_instances_come_from_matched_segments():
    two = np.ones((6, 12), np.int32)
    two[1:5, 1:5], two[1:5, 5:9] = 10, 11
    one = np.ones((6, 12), np.int32)
    one[1:5, 1:9] = 20
    cats_two = {1: 1, 10: 3, 11: 3}
    res = consensus({"a": ann(two, cats_two), "b": ann(two * 1, cats_two),
                     "c": ann(one, {1: 1, 20: 3})}, CATS)
    ids = res.annotation.ids
    segs = {s.id: s for s in res.annotation.segments}
    assert len(segs) == 3  # road + two cars (the merge of c is outvoted)
    left, right = ids[2, 2], ids[2, 6]
    assert left != right and segs[left].category_id == segs[right].category_id == 3
    assert segs[left].area == segs[right].area == 16
    assert segs[left].bbox == (1, 1, 4, 4)
    assert segs[ids[0, 0]].category_id == 1 and segs[ids[0, 0]].area == 72 - 32


def test_stuff_segments_of_one_class_form_one_segment():
    a = ann([[1, 1, 2, 2]], {1: 1, 2: 1})  # two road segments
    b = ann([[7, 7, 7, 7]], {7: 1})
    res = consensus({"a": a, "b": b}, CATS)
    assert res.annotation.ids.tolist() == [[1, 1, 1, 1]]


def test_export_round_trip(tmp_path):
    a = ann([[1, 1, 3, 3]], {1: 1, 3: 3}, name="x.png")
    b = ann([[1, 1, 3, 3]], {1: 2, 3: 3}, name="x.png")
    c = ann([[1, 1, 4, 4]], {1: 1, 4: 3}, name="x.png")
    res = consensus({"a": a, "b": b, "c": c}, CATS)
    path = write_coco_panoptic([res.annotation], CATS, tmp_path / "consensus.json")
    back = read_coco_panoptic(path).load("x.png")
    np.testing.assert_array_equal(back.ids, res.annotation.ids)
    assert back.segments == res.annotation.segments


def test_consensus_errors():
    a = ann([[1]], {1: 1})
    with pytest.raises(AnnotationError, match="min_share must be in"):
        consensus({"a": a}, CATS, min_share=1.0)
    with pytest.raises(AnnotationError, match="at least 1 annotation"):
        consensus({}, CATS)
    with pytest.raises(AnnotationError, match="must have one shape"):
        consensus({"a": a, "b": ann([[1, 1]], {1: 1})}, CATS)
    single = consensus({"a": ann([[0, 5]], {5: 3})}, CATS)
    assert single.annotation.ids.tolist() == [[0, 1]]


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.sampled_from([0.0, 0.5]))
def test_consensus_category_equals_per_pixel_majority(seed, n, min_share):
    from collections import Counter

    rng = np.random.default_rng(seed)
    maps = [rng.integers(0, 3, size=(4, 5)) for _ in range(n)]
    anns = {f"r{i}": ann(m, {s: s for s in (1, 2) if (m == s).any()}) for i, m in enumerate(maps)}
    res = consensus(anns, CATS, min_share=min_share)
    cat_of = {0: 0, **{s.id: s.category_id for s in res.annotation.segments}}
    got = np.vectorize(cat_of.get)(res.annotation.ids)
    ties = weak = 0
    for y in range(4):
        for x in range(5):
            top = Counter(int(m[y, x]) for m in maps).most_common()
            if len(top) > 1 and top[0][1] == top[1][1]:
                expected, ties = 0, ties + 1
            elif top[0][0] != 0 and top[0][1] <= min_share * n:
                expected, weak = 0, weak + 1
            else:
                expected = top[0][0]
            assert got[y, x] == expected
    assert (res.tie_pixels, res.weak_pixels) == (ties, weak)


def test_consensus_keeps_the_tool_reference_of_the_first_annotator():
    """The consensus map keeps where the image lives in the annotation tool (CVAT's own name
    and frame), so a consensus written as CVAT XML matches the task's frames."""
    from dataclasses import replace

    from agreement.model import ToolRef

    ref = ToolRef("cvat", image="batch/frame_7.jpg", task_id=3, job_id=9, frame=7)
    a = ann([[1, 1]], {1: 1}, name="frame_7.jpg")
    a = PanopticAnnotation(replace(a.image, id=12, tool_ref=ref), a.ids, a.segments)
    b = ann([[1, 1]], {1: 1}, name="frame_7.jpg")
    res = consensus({"a": a, "b": b}, CATS)
    assert res.annotation.image.tool_ref == ref
    assert (res.annotation.image.file_name, res.annotation.image.id) == ("frame_7.jpg", 12)
    renamed = consensus({"a": a, "b": b}, CATS, image="other.jpg").annotation.image
    assert (renamed.file_name, renamed.tool_ref) == ("other.jpg", ref)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 30), data=st.data())
def test_components_number_as_scipy_does(n, data):
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from agreement.image._graph import components

    edges = data.draw(st.lists(st.tuples(st.integers(0, max(n - 1, 0)),
                                         st.integers(0, max(n - 1, 0))),
                               max_size=40 if n else 0))
    a = np.array([e[0] for e in edges], np.int64)
    b = np.array([e[1] for e in edges], np.int64)
    k, want = connected_components(coo_matrix((np.ones(a.size), (a, b)), shape=(n, n)),
                                   directed=False)
    got, count = components(n, a, b)  # the consensus clusters' (and the regions') components
    assert got.dtype == np.int64 and got.tolist() == want.tolist() and count == k
