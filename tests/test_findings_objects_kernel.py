"""The findings' objects of one directed annotator pair: the compiled pass over the joint table
(``pair_objects``) against the numpy version it replaces (``_objects``, kept as the fallback and
the oracle), on random tables full of ties, and whole records both ways."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement import _native
from agreement.diagnosis import _kernel
from agreement.simulation import Plant, simulate

needs_compiled = pytest.mark.skipif(_native.kernels is None, reason="compiled kernels not built")


def _table(rng, nc, na, high):
    """A joint table whose every segment has a pixel, small counts (many ties), some zeros;
    now and then a segment of no pixel (listed in its table, absent from its map)."""
    table = rng.integers(0, high + 1, (nc + 1, na + 1)) * (rng.random((nc + 1, na + 1)) < 0.4)
    table[np.arange(1, nc + 1), rng.integers(0, na + 1, nc)] += 1
    table[rng.integers(0, nc + 1, na), np.arange(1, na + 1)] += 1
    if rng.random() < 0.25:
        table[1 + rng.integers(0, nc)] = 0
    if rng.random() < 0.1:
        table[:, 1 + rng.integers(0, na)] = 0
    return table.astype(np.int64)


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 4), st.sampled_from([1, 3, 40]),
       st.sampled_from([0.0, 3.0, 10.0]), st.integers(0, 2**32 - 1))
def test_the_compiled_objects_equal_the_numpy_ones(nc, na, classes, high, min_area, seed):
    rng = np.random.default_rng(seed)
    table = _table(rng, nc, na, high)
    cat_c, cat_a = rng.integers(1, classes + 1, nc), rng.integers(1, classes + 1, na)
    thing = rng.random(classes + 1) < 0.7
    crowd = rng.random(nc) < 0.15
    m = rng.random((nc + 1, nc + 1)) < 0.2
    m[0] = m[:, 0] = False
    np.fill_diagonal(m, False)
    near = m | m.T
    args = (table, cat_c, cat_a, thing[cat_c], thing[cat_a], near, min_area, crowd)
    want_rows, want_event = _kernel._objects(*args)
    rows, event = _kernel._pair_objects(*args)
    assert rows.dtype == np.int64 and rows.shape == want_rows.shape
    assert np.array_equal(rows, want_rows)
    assert event.dtype == bool and np.array_equal(event, want_event)


@needs_compiled
def test_the_compiled_objects_on_a_hand_made_table():
    """Segment 1 (car) covers most of objects 1 and 2 (cars, 10 and 5 px; 0.8 of each: the
    first one is the one it stands for) and nothing else stands for either: both merged.
    Object 3 (person) lies in void: missed. Segments 2 and 3 stand for no object (strays)."""
    table = np.array([[0, 0, 0, 1],
                      [2, 8, 0, 0],
                      [0, 4, 1, 0],
                      [4, 0, 0, 0]], np.int64)
    cat_c, cat_a = np.array([7, 7, 8]), np.array([7, 9, 7])
    thing_c, thing_a = np.ones(3, bool), np.ones(3, bool)
    near = np.zeros((4, 4), bool)
    near[1, 2] = near[2, 1] = True
    args = (table, cat_c, cat_a, thing_c, thing_a, near, 3.0, np.zeros(3, bool))
    rows, event = _kernel._pair_objects(*args)
    # label, area, status, other label, parts, hidden px, mergeable
    assert rows.tolist() == [[7, 10, 4, 0, 1, 0, 1], [7, 5, 4, 0, 0, 0, 1],
                             [8, 4, 1, 0, 0, 0, 0]]
    assert event[:, [1, 2, 3]].all() and event[[1, 2, 3]].all() and not event[0, 0]
    want_rows, want_event = _kernel._objects(*args)
    assert np.array_equal(rows, want_rows) and np.array_equal(event, want_event)


@pytest.mark.parametrize("seed, extra", [
    (1, {}), (3, {"plants": [Plant("merge", "strong")], "annotators": 5}),
    (6, {"plants": [Plant("split", "strong")]}),
    (7, {"plants": [Plant("class_confusion", "strong")]})])
def test_records_are_equal_with_and_without_the_compiled_kernels(seed, extra):
    sim = simulate(seed=seed, **{"images": 2, "height": 64, "width": 128, **extra})
    study = sim.study()
    for image, anns in study.iter_images():
        got = []
        for kern in (_native.kernels, None):
            saved, _native.kernels = _native.kernels, kern
            try:
                got.append(_kernel.image_record(image, anns, categories=study.categories))
            finally:
                _native.kernels = saved
        a, b = got
        for f in ("pixels", "adjacency", "objects"):
            x, y = getattr(a, f), getattr(b, f)
            assert x.dtype == y.dtype == np.int64 and np.array_equal(x, y), f


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 30), st.lists(st.integers(0, 60), min_size=1, max_size=4),
       st.integers(0, 2**32 - 1))
def test_distinct_pairs_are_counted_alike_dense_and_sorted(n_t, sizes, seed):
    from collections import Counter

    rng = np.random.default_rng(seed)
    xs = [rng.integers(0, n_t, k).astype(np.uint16) for k in sizes]
    ys = [rng.integers(0, n_t, k).astype(np.uint16) for k in sizes]
    want = Counter(zip(np.concatenate(xs).tolist(), np.concatenate(ys).tolist(), strict=True))
    want = sorted(want.items())
    for dense in (0, 1 << 18):
        old, _kernel._DENSE_PAIRS = _kernel._DENSE_PAIRS, dense
        try:
            x, y, count = _kernel._distinct(xs, ys, n_t)
        finally:
            _kernel._DENSE_PAIRS = old
        assert x.dtype == y.dtype == count.dtype == np.int64
        assert [((a, b), c) for a, b, c in zip(x.tolist(), y.tolist(), count.tolist(),
                                               strict=True)] == want


def test_adjacency_counts_label_changes_per_pixel_pair():
    labels = np.array([[1, 2, 2], [0, 0, 1]], np.int64)  # 2 annotators, 3 tuples
    x, y, count = np.array([0, 1, 2]), np.array([1, 2, 0]), np.array([5, 7, 2])
    adj = _kernel._adjacency(labels, x, y, count, 3)
    # annotator 0: tuples 0-1 (1|2) 5 px, 1-2 (2|2) none, 2-0 (2|1) 2 px
    assert adj[0].tolist() == [[0, 0, 0], [0, 0, 7], [0, 7, 0]]
    # annotator 1: 0-1 (0|0) none, 1-2 (0|1) 7 px, 2-0 (1|0) 2 px
    assert adj[1].tolist() == [[0, 9, 0], [9, 0, 0], [0, 0, 0]]
    assert adj.dtype == np.int64


def test_records_are_equal_with_sorted_distinct_pairs(monkeypatch):
    sim = simulate(seed=2, images=2, height=64, width=128, plants=[Plant("merge", "strong")])
    study = sim.study()
    for image, anns in study.iter_images():
        a = _kernel.image_record(image, anns, categories=study.categories)
        monkeypatch.setattr(_kernel, "_DENSE_PAIRS", 0)
        b = _kernel.image_record(image, anns, categories=study.categories)
        monkeypatch.undo()
        for f in ("pixels", "adjacency", "objects"):
            assert np.array_equal(getattr(a, f), getattr(b, f)), f


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 30), st.integers(1, 40), st.integers(1, 40), st.integers(1, 4),
       st.integers(0, 3), st.sampled_from([np.uint8, np.uint16, np.int32]),
       st.integers(0, 2**32 - 1))
def test_tuples_met_at_a_distance_compiled_equal_the_pixel_pairs(n_t, h, w, d0, extra, dtype,
                                                                seed):
    rng = np.random.default_rng(seed)
    index = np.sort(rng.integers(0, n_t, (h, w)), axis=1 if seed % 2 else 0).astype(dtype)
    if seed % 3 == 0:
        index = rng.integers(0, n_t, (h, w)).astype(dtype)
    d1 = d0 + extra
    want = set()
    for d in range(d0, d1 + 1):
        for a, b in ((index[:, :-d], index[:, d:]), (index[:-d, :], index[d:, :])):
            diff = a != b
            want |= set(zip(a[diff].tolist(), b[diff].tolist(), strict=True))
    got = []
    for kern in (_native.kernels, None):
        saved, _native.kernels = _native.kernels, kern
        try:
            got.append(_kernel._met(index, d0, d1, n_t))
        finally:
            _native.kernels = saved
    for x, y in got:
        assert list(zip(x.tolist(), y.tolist(), strict=True)) == sorted(want)


def test_tables_beyond_the_compiled_size_go_to_numpy(monkeypatch):
    rng = np.random.default_rng(5)
    table = _table(rng, 6, 5, 3)
    cat_c, cat_a = rng.integers(1, 3, 6), rng.integers(1, 3, 5)
    args = (table, cat_c, cat_a, np.ones(6, bool), np.ones(5, bool), np.zeros((7, 7), bool),
            1.0, np.zeros(6, bool))
    want = _kernel._pair_objects(*args)
    monkeypatch.setattr(_kernel, "_PAIR_OBJECTS", 5)
    monkeypatch.setattr(_kernel, "_objects", lambda *a: ("numpy", a))
    assert _kernel._pair_objects(*args)[0] == "numpy"
    monkeypatch.undo()
    got = _kernel._objects(*args)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


@pytest.mark.parametrize("compiled", [True, False])
def test_an_object_of_no_pixel_leaves_its_class_owned_by_cover(compiled, monkeypatch):
    """Car 3 is listed but has no pixel: the annotator's car covering all of car 1 still
    stands for car 1 (by cover), not for car 2 where most of its pixels lie (a 0 / 0 cover
    made every car segment fall back to "most pixels" in the numpy version)."""
    if compiled and _native.kernels is None:
        pytest.skip("compiled kernels not built")
    if not compiled:
        monkeypatch.setattr(_native, "kernels", None)
    table = np.array([[0, 0],
                      [0, 12],
                      [70, 30],
                      [0, 0]], np.int64)
    cat, thing = np.array([1, 1, 1]), np.ones(3, bool)

    def rows(n):  # the objects of the first n reference segments
        return _kernel._pair_objects(table[:n + 1], cat[:n], np.array([1]), thing[:n],
                                     np.ones(1, bool), np.zeros((n + 1, n + 1), bool), 1.0,
                                     np.zeros(n, bool))[0].tolist()

    # car 1 matched (the segment stands for it); car 2 missed (mostly on void), its 30 px
    # in the segment standing for car 1 lost; car 3 (no pixel) no object, changing nothing
    assert rows(3) == rows(2) == [[1, 12, 0, 0, 0, 0, 0], [1, 100, 1, 0, 0, 30, 0]]


@pytest.mark.parametrize("compiled", [True, False])
def test_an_annotator_of_no_segment_misses_every_object(compiled, monkeypatch):
    if compiled and _native.kernels is None:
        pytest.skip("compiled kernels not built")
    if not compiled:
        monkeypatch.setattr(_native, "kernels", None)
    from agreement import Categories, Category, PanopticAnnotation

    cats = Categories([Category(1, "car", True)])
    mb = np.zeros((40, 40), np.int32)
    mb[5:20, 5:20] = 1
    b = PanopticAnnotation.from_map(mb, {1: 1})
    a = PanopticAnnotation.from_map(np.zeros((40, 40), np.int32), {})
    rec = _kernel.image_record("x", {"a": a, "b": b}, categories=cats)
    # a against b's car: missed (status 1), 225 px, nothing confused, no parts, none lost
    assert rec.objects.tolist() == [[0, 1, 1, 225, 1, 0, 0, 0, 0]]


@pytest.mark.skipif(_native.kernels is None, reason="compiled kernels not built")
def test_neighbour_marks_takes_any_distance():
    """A distance beyond the map (even the largest integer) marks what the map's own size
    does, and returns (it looped on every distance up to the one asked)."""
    lab = np.array([[0, 1, 0], [1, 0, 1]], np.int32)
    marks = []
    for d1 in (3, 2**62):
        table = np.zeros(4, np.uint8)
        bad = _native.kernels.neighbour_marks(lab, 2, 3, 1, d1, 2, table, 4)
        marks.append((bad, table.tolist()))
    assert marks[0] == marks[1]
