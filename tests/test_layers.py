"""The layer rule: stuff under things, z_order, file order / smaller-on-top; conflict counts."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement.io._shapes import BoxMask, Shape
from agreement.io.layers import paint
from agreement.model import ImageInfo

IMG = ImageInfo("x.png", 6, 8)


def rect(name, x, y, w, h, *, cat=1, thing=True, z=0, order=0, group=None):
    counts = np.array([0, w * h])
    return Shape(name, f"c{cat}", cat, thing, BoxMask(counts, x, y, w, h), order=order,
                 z_order=z, group=group)


def test_file_order_later_on_top():
    res = paint([rect("a", 0, 0, 4, 4), rect("b", 2, 2, 4, 4, order=1)], IMG)
    assert res.annotation.ids[3, 3] == 2 and res.annotation.ids[0, 0] == 1
    assert res.conflicts[["loser", "winner", "pixels"]].values.tolist() == [["a", "b", 4]]
    assert [f.kind for f in res.findings] == ["overlap"]


def test_z_order_beats_file_order_and_can_be_negative():
    res = paint([rect("a", 0, 0, 4, 4, z=1), rect("b", 2, 2, 4, 4, z=-3, order=1)], IMG)
    assert res.annotation.ids[3, 3] == 1
    assert res.conflicts[["loser", "winner"]].values.tolist() == [["b", "a"]]


def test_smaller_on_top():
    shapes = [rect("small", 1, 1, 2, 2), rect("big", 0, 0, 6, 6, order=1)]
    assert paint(shapes, IMG).annotation.ids[1, 1] == 2  # file order buries the small one
    res = paint(shapes, IMG, order="smaller_on_top")
    assert res.annotation.ids[1, 1] == 1 and res.annotation.segment(2).area == 32
    assert [f.kind for f in res.findings] == ["overlap"]


def test_things_over_stuff_whatever_the_order_and_stuff_merges():
    shapes = [rect("car", 2, 2, 2, 2, z=0), rect("road", 0, 0, 8, 3, cat=5, thing=False, z=9,
                                                 order=1),
              rect("road2", 0, 3, 8, 3, cat=5, thing=False, order=2)]
    res = paint(shapes, IMG)
    ids = res.annotation.ids
    assert ids[2, 2] == 1 and ids[0, 0] == ids[5, 7] == 2  # one road segment from two shapes
    assert len(res.annotation.segments) == 2
    assert sorted(f.kind for f in res.findings) == ["thing_over_stuff"] * 2
    assert res.conflicts["pixels"].sum() == 4


def test_group_is_one_segment_and_hidden_and_empty_shapes():
    shapes = [rect("a", 0, 0, 2, 2, group=1), rect("b", 4, 0, 2, 2, order=1, group=1),
              rect("c", 0, 0, 1, 1, order=2, z=-1),
              Shape("e", "c1", 1, True, BoxMask(np.array([4]), 0, 0, 2, 2), order=3)]
    res = paint(shapes, IMG)
    assert [(s.id, s.area) for s in res.annotation.segments] == [(1, 8)]
    assert sorted(f.kind for f in res.findings) == ["empty_shape", "hidden_shape", "overlap"]


def oracle(shapes, h, w, order="file"):
    """Paint one full mask at a time; count pixels each shape takes from each visible shape."""
    masks = []
    for s in shapes:
        m, top, left = s.geometry.raster(h, w)
        full = np.zeros((h, w), bool)
        full[top : top + m.shape[0], left : left + m.shape[1]] = m
        masks.append(full)
    keys = sorted(range(len(shapes)), key=lambda i: (
        shapes[i].isthing, shapes[i].z_order,
        -masks[i].sum() if order == "smaller_on_top" else 0, i))
    owner = np.full((h, w), -1)
    taken = {}
    for i in keys:
        for j in range(len(shapes)):
            px = int(np.sum((owner == j) & masks[i]))
            same = (not shapes[i].isthing and not shapes[j].isthing
                    and shapes[i].category_id == shapes[j].category_id)
            if px and not same:
                taken[(shapes[j].name, shapes[i].name)] = px
        owner[masks[i]] = i
    return owner, taken


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 5), st.integers(1, 5),
                          st.integers(1, 4), st.integers(1, 3), st.booleans(),
                          st.integers(-2, 2)), min_size=1, max_size=7),
       st.sampled_from(["file", "smaller_on_top"]))
def test_conflicts_match_a_slow_oracle(specs, order):
    shapes = [rect(f"s{k}", x, y, min(w, 8 - x), min(h, 6 - y), cat=c, thing=c != 3, z=z,
                   order=k) for k, (x, y, w, h, c, _, z) in enumerate(specs)]
    res = paint(shapes, IMG, order=order)
    owner, taken = oracle(shapes, 6, 8, order)
    got = {(r.loser, r.winner): r.pixels for r in res.conflicts.itertuples()}
    assert got == taken
    # the map: each pixel holds the segment of its owner shape
    ids = res.annotation.ids
    for i, s in enumerate(shapes):
        px = owner == i
        if px.any():
            vals = np.unique(ids[px])
            assert len(vals) == 1 and vals[0] > 0
            assert res.annotation.segment(int(vals[0])).category_id == s.category_id
    assert ((owner == -1) == (ids == 0)).all()


def test_bad_order_is_refused():
    from agreement.errors import AnnotationError
    from agreement.io.layers import ShapeSource
    from agreement.model import Categories

    with pytest.raises(AnnotationError, match="order must be 'file' or 'smaller_on_top', got 'z'"):
        ShapeSource("x", Categories([]), [], {}, order="z")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-3, 15, allow_nan=False), st.floats(-3, 12, allow_nan=False)),
                min_size=3, max_size=8))
def test_polygon_raster_on_its_box_equals_the_full_image_raster(points):
    from pycocotools import mask as coco_mask

    from agreement.io._shapes import Polygons, coco_decode

    pts = np.array(points)
    crop, top, left = Polygons((pts,)).raster(9, 12)
    full = np.zeros((9, 12), bool)
    full[top : top + crop.shape[0], left : left + crop.shape[1]] = crop
    want = coco_decode(coco_mask.merge(coco_mask.frPyObjects([pts.ravel().tolist()], 9, 12)))
    np.testing.assert_array_equal(full, want)
