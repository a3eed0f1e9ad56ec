"""Tuples of segments: what is computed per tuple equals what the pixels give."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement import Categories, Category, PanopticAnnotation
from agreement.image import tuples as tuples_module
from agreement.image.maps import ImageMaps
from agreement.image.tuples import count_tuples
from agreement.image.votes import count_votes
from agreement.metrics.pixel import label_map, pixel_counts

CATS = Categories([Category(1, "car", True), Category(2, "road", False),
                   Category(3, "sky", False)])


@st.composite
def image(draw):
    """2-4 annotations of one small image: random segment ids with random categories."""
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    n = draw(st.integers(2, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    anns = {}
    for a in range(n):
        ids = rng.integers(0, rng.integers(1, 7), size=(h, w)).astype(np.int32) * 11
        cats = {int(s): int(rng.choice([1, 2, 3])) for s in np.unique(ids) if s}
        anns[f"a{a}"] = PanopticAnnotation.from_map(ids, cats, file_name="x.png")
    return anns


@settings(max_examples=60, deadline=None)
@given(image(), st.booleans())
def test_tuples_cover_the_pixels_exactly(anns, sort):
    compacts = [a.compact for a in anns.values()]
    sizes = [len(a.segments) for a in anns.values()]
    before = tuples_module.DIRECT_CELLS
    try:
        tuples_module.DIRECT_CELLS = 0 if sort else before  # the sorting path, or bincount
        t = count_tuples(compacts, sizes)
    finally:
        tuples_module.DIRECT_CELLS = before
    for i, c in enumerate(compacts):
        assert np.array_equal(t.gather(t.codes[:, i]), c)
    assert t.count.sum() == compacts[0].size and (t.count > 0).all()
    assert len({tuple(row) for row in t.codes}) == len(t)  # distinct
    keys = np.ravel_multi_index(t.codes.T, [s + 1 for s in sizes])
    assert (np.diff(keys) > 0).all()  # in increasing order of ids, whichever path


@settings(max_examples=60, deadline=None)
@given(image(), st.sampled_from(["exclude", "label"]))
def test_pixel_counts_from_tuples_equal_those_of_the_maps(anns, void):
    maps = ImageMaps("x.png", anns, categories=CATS, annotators=[*anns, "absent"])
    ids = tuple(CATS)
    want = pixel_counts({a: label_map(x, ids) for a, x in anns.items()},
                        annotators=[*anns, "absent"], category_ids=ids, void=void)
    got = maps.pixel_counts(void)
    for f in ("pair_tables", "stratum_tables", "strata"):
        np.testing.assert_array_equal(getattr(got, f), getattr(want, f))


@settings(max_examples=60, deadline=None)
@given(image(), st.sampled_from(["exclude", "label"]))
def test_votes_per_tuple_read_back_equal_the_votes_per_pixel(anns, void):
    maps = ImageMaps("x.png", anns, categories=CATS)
    ids = tuple(CATS)
    per_pixel = count_votes(np.stack([label_map(x, ids) for x in anns.values()]), void=void)
    per_tuple = maps.votes(void)
    t = maps.tuples()
    for f in ("agree", "first", "n", "votes", "best", "majority", "tie"):
        np.testing.assert_array_equal(t.gather(getattr(per_tuple, f)), getattr(per_pixel, f))


def test_tables_from_tuples_are_the_pairs_overlap_tables():
    from agreement.labels import overlap_table

    rng = np.random.default_rng(3)
    anns = {a: PanopticAnnotation.from_map(rng.integers(0, 5, (20, 30)), {1: 1, 2: 2, 3: 3,
                                                                            4: 1})
            for a in "abc"}
    maps = ImageMaps("x.png", anns, categories=CATS)  # no bands: tables are tuple marginals
    for a, b in maps.pairs():
        x, y = anns[a], anns[b]
        want = overlap_table(x.compact, y.compact, len(x.segments) + 1, len(y.segments) + 1)
        np.testing.assert_array_equal(maps.pair(a, b).table, want)


def test_maps_of_different_sizes_are_one_error():
    from agreement.errors import AnnotationError

    a = PanopticAnnotation.from_map(np.ones((2, 3), int), {1: 1}, file_name="x.png")
    b = PanopticAnnotation.from_map(np.ones((3, 2), int), {1: 1}, file_name="x.png")
    maps = ImageMaps("x.png", {"a": a, "b": b}, categories=CATS)
    with pytest.raises(AnnotationError, match=r"image 'x.png': annotations of one image must "
                                              r"have one shape"):
        maps.tuples()


@settings(max_examples=60, deadline=None)
@given(image())
def test_a_pair_counted_in_one_compiled_pass_equals_the_general_count(anns):
    """Two maps: the compiled table and the index made when first read give exactly the tuples
    of N maps' path (three maps: the second and a constant third)."""
    from agreement import _native

    a, b = list(anns.values())[:2]
    sizes = [len(a.segments), len(b.segments)]
    t = count_tuples([a.compact, b.compact], sizes)
    one = np.ones_like(a.compact)
    g = count_tuples([a.compact, b.compact, one], [*sizes, 1])
    assert np.array_equal(t.codes, g.codes[:, :2]) and np.array_equal(t.count, g.count)
    assert (t._index is None) == (_native.kernels is not None)  # not made until read
    assert np.array_equal(t.index, g.index) and t.index.dtype == g.index.dtype == np.uint16


@settings(max_examples=60, deadline=None)
@given(image())
def test_tuples_counted_with_and_without_the_compiled_kernels_are_equal(anns):
    """N maps: the counts as (first N - 1 ids, last id) pairs in one compiled pass, or one
    ``bincount`` of the combined ids; the same tuples, counts and index (dtypes included)."""
    from agreement import _native

    compacts = [a.compact for a in anns.values()]
    sizes = [len(a.segments) for a in anns.values()]
    got = []
    for kern in (_native.kernels, None):
        saved, _native.kernels = _native.kernels, kern
        try:
            t = count_tuples(compacts, sizes)
            got.append((t.index, t.codes, t.count))
        finally:
            _native.kernels = saved
    for x, y in zip(*got, strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    keys, counts = np.unique(np.ravel_multi_index(np.stack(compacts), [s + 1 for s in sizes]),
                             return_counts=True)
    assert np.array_equal(got[0][2], counts)
    assert np.array_equal(np.ravel_multi_index(got[0][1].T, [s + 1 for s in sizes]), keys)
