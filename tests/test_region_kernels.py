"""The ambiguous regions' compiled loops (``region_labels``, ``region_sums`` in
agreement/_kernels.c) give the numpy path's results: components numbered as
``scipy.ndimage.label`` numbers them, sums to the last bit, every record equal (values and
types) with the kernels and without."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import COMPILED, both, needs_compiled
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from test_region_records import CATS, annotator_maps, typed

from agreement.image import regions as mod
from agreement.image.disagreement import heatmaps


@st.composite
def disputed(draw):
    """A mask of disputed pixels (blobs, slivers or noise), a pair code per pixel and a width."""
    h, w = draw(st.integers(1, 30)), draw(st.one_of(st.integers(1, 30), st.integers(60, 140)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    cell = draw(st.integers(1, 5))
    mask = np.kron(rng.random((h // cell + 1, w // cell + 1)) < 0.5, np.ones((cell, cell), bool))
    mask = mask[:h, :w] | (rng.random((h, w)) < draw(st.sampled_from([0.0, 0.1, 0.5])))
    codes = draw(st.integers(1, 4))
    code = np.kron(rng.integers(0, codes, (h // 3 + 1, w // 3 + 1)), np.ones((3, 3), np.int64))
    dtype = draw(st.sampled_from([np.int32, np.int64]))
    return mask, code[:h, :w].ravel()[np.flatnonzero(mask)].astype(dtype), draw(
        st.integers(0, 3))


@settings(max_examples=150, deadline=None)
@given(disputed())
def test_components_compiled_equal_numpy_and_scipy(case):
    mask, code, width = case
    (pa, ra, ta), (pb, rb, tb) = both(mod._components, mask, width, code)
    assert np.array_equal(pa, pb) and ra.dtype == rb.dtype == np.int64
    assert ra.tolist() == rb.tolist() and ta.tolist() == tb.tolist()
    # the thick regions are scipy's labels of the opening, numbered alike
    opened = mod._opening(mask, width).ravel()[pa]
    lab, n = ndimage.label(mod._opening(mask, width), structure=np.ones((3, 3)))
    assert ra[opened].tolist() == lab.ravel()[pa[opened]].tolist()
    assert int(np.count_nonzero(~ta)) - 1 == n


@needs_compiled
def test_region_labels_by_hand_and_bad_input():
    # two thin codes side by side in a row, a thick pixel under them: three regions, the thick
    # one first; a pixel at the start of the next row does not touch the row's last one
    pixels = np.array([0, 1, 3, 4, 5, 6], np.int64)  # w = 3: (0,0) (0,1) (1,0) (1,1) (1,2) (2,0)
    thick = np.array([0, 0, 1, 0, 0, 0], np.uint8)
    code = np.array([7, 8, 0, 8, 8, 7], np.int64)
    out = np.empty(6, np.int64)
    assert COMPILED.region_labels(pixels, 3, thick, code, out, 8) == (1, 3)
    assert out.tolist() == [2, 3, 1, 3, 3, 4]
    with pytest.raises(ValueError, match="increasing"):
        COMPILED.region_labels(pixels[::-1].copy(), 3, thick, code, out, 8)
    with pytest.raises(ValueError, match="4 or 8 bytes"):
        COMPILED.region_labels(pixels, 3, thick, code, out, 2)
    with pytest.raises(ValueError, match="must hold"):
        COMPILED.region_labels(pixels, 3, thick[:5], code, out, 8)
    with pytest.raises(ValueError, match="below"):  # row ends past the largest index
        COMPILED.region_labels(np.array([2**63 - 1]), 2, thick[:1], code[:1], out[:1], 8)


def test_components_take_strided_pixels_and_codes():
    mask = np.zeros((4, 6), bool)
    mask[1:3, 1:5] = True
    pixels = np.flatnonzero(mask)
    code = np.repeat(np.array([3, 4], np.int64), 4)
    want = both(mod._components, mask, 1, code, pixels=pixels)
    wide_p, wide_c = np.repeat(pixels, 2)[::2], np.repeat(code, 2)[::2]  # not contiguous
    got = both(mod._components, mask, 1, wide_c, pixels=wide_p)
    assert [[a.tolist() for a in x] for x in got] == [[a.tolist() for a in x] for x in want]


@needs_compiled
@pytest.mark.parametrize(("tuples", "size"), [(np.uint16, 2), (np.int32, 4)])
def test_region_sums_by_hand_and_what_is_outside_its_tables(tuples, size):
    n, k, nt = 2, 3, 2
    args = [np.array([1, 2], np.int64), np.array([-1, 0, 1], np.int64),
            np.array([0, 1], tuples), size, np.array([0, 5], np.int64), 4,
            np.ones(nt), np.ones(nt), np.array([0, 2], np.int64), k, np.zeros(n * (2 + k)),
            np.empty(4 * n, np.int64), np.zeros(n * nt, np.int64), np.empty(2, np.int64),
            np.empty(2, np.int64)]
    assert COMPILED.region_sums(*args) == 2
    # boxes: y0, y1, x0, x1 of the two regions (pixel 0 at (0, 0), pixel 5 at (1, 1))
    assert args[11].tolist() == [0, 1, 0, 1, 0, 1, 0, 1]
    assert args[10].tolist() == [1, 1, 1, 0, 0, 1, 1, 0, 0, 1]  # sums: sem, inst, inst by label
    assert args[12].tolist() == [1, 0, 0, 1] and args[13].tolist() == [0, 1]
    for at, bad in ((2, np.array([0, 2], tuples)), (8, np.array([0, 3], np.int64)),
                    (1, np.array([-1, 0, 2], np.int64)), (4, np.array([5, 0], np.int64))):
        wrong = list(args)
        wrong[at] = bad
        with pytest.raises(ValueError, match="within their tables"):
            COMPILED.region_sums(*wrong)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 6), st.integers(1, 3), st.integers(1, 30),
       st.sampled_from([0.0, 0.2, 0.4]))
def test_records_with_and_without_the_compiled_loops(seed, n, width, min_area, floor):
    rng = np.random.default_rng(seed)
    h = heatmaps(annotator_maps(rng, n, (int(rng.integers(12, 40)), int(rng.integers(12, 48)))),
                 CATS, d=int(rng.integers(1, 3)))
    kw = {"min_area": min_area, "width": width, "min_disagreement": floor}
    a, b = both(mod.region_records, h, CATS, **kw)
    assert typed(a) == typed(b)
    assert [r["severity"].hex() for r in a] == [r["severity"].hex() for r in b]


@needs_compiled
@settings(max_examples=150, deadline=None)
@given(st.integers(1, 12), st.integers(1, 200), st.integers(0, 70), st.integers(0, 2**32 - 1),
       st.sampled_from([0.3, 0.8, 0.95, 1.0]))
def test_opening_at_the_pixels_is_the_opening(h, w, r, seed, density):
    """The compiled opening (bit rows of 64 columns a word, windows longer than the map) read
    at the mask's pixels equals the numpy one's, borders included."""
    rng = np.random.default_rng(seed)
    mask = rng.random((h, w)) < density
    if rng.random() < 0.5:  # long runs too: blocks of rows fully set
        mask[int(rng.integers(0, h)):, :] = True
    pixels = np.flatnonzero(mask)
    got = np.empty(pixels.size, np.uint8)
    COMPILED.opening_at(pixels, h, w, r, got)
    assert got.astype(bool).tolist() == mod._opening(mask, r).ravel()[pixels].tolist()


@needs_compiled
def test_opening_at_rejects_pixels_outside_the_map():
    out = np.empty(2, np.uint8)
    with pytest.raises(ValueError, match="within the map"):
        COMPILED.opening_at(np.array([0, 12], np.int64), 3, 4, 1, out)
    with pytest.raises(ValueError, match="increasing"):
        COMPILED.opening_at(np.array([3, 2], np.int64), 3, 4, 1, out)
    with pytest.raises(ValueError, match="r >= 0"):
        COMPILED.opening_at(np.array([0, 1], np.int64), 3, 4, -1, out)
