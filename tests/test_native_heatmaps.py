"""The compiled kernels of the disagreement heatmaps (``pooled_codes``, ``tuple_changes``,
``flagged_pixels``, ``pair_marks`` in agreement/_kernels.c) give exactly the numpy paths' results.

Each function is run with ``agreement._native.kernels`` set to the compiled module and to None
(an install without a C compiler); outputs must be equal bit for bit, dtype included, and equal
to a slow oracle written here. Skipped where the module was not built.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import COMPILED, both, needs_compiled
from hypothesis import given, settings
from hypothesis import strategies as st
from test_region_records import CATS, annotator_maps

from agreement import _native
from agreement.image import disagreement as dis
from agreement.image.disagreement import area_average, grid_cells, heatmaps, pair_cells
from agreement.image.tuples import Tuples

CODE_TYPES = [np.uint8, np.uint16, np.int32]


def blocky_codes(rng: np.random.Generator, shape: tuple[int, int], codes: int, block: int,
                 dtype) -> np.ndarray:
    """Codes in ``block x block`` runs (as tuples are), cut to ``shape``, shifted by up to a
    block so runs straddle cells."""
    h, w = shape
    coarse = rng.integers(0, codes, (h // block + 2, w // block + 2))
    fine = np.kron(coarse, np.ones((block, block), int))
    dy, dx = rng.integers(0, block, 2)
    return np.ascontiguousarray(fine[dy:dy + h, dx:dx + w]).astype(dtype)


@needs_compiled
@settings(max_examples=200, deadline=None)
@given(st.integers(1, 7), st.integers(1, 7), st.sampled_from([1, 2, 4, 8]),
       st.sampled_from([1, 2, 4, 8]), st.sampled_from(CODE_TYPES), st.integers(1, 40),
       st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_pooled_codes_compiled_equal_numpy_and_the_taps(g0, g1, fr, fc, code_type, codes, m,
                                                        block, seed):
    """Block averages from the codes: the compiled pass (2 x 2 cells unrolled, others in the
    general loop) gives the numpy path's bits and the taps' over the whole map: negative
    zeros, NaN, infinities and values of every scale."""
    rng = np.random.default_rng(seed)
    code = blocky_codes(rng, (g0 * fr, g1 * fc), codes, block, code_type)
    table = (rng.standard_normal((m, codes)) * 10.0 ** rng.integers(-30, 30, (m, codes))
             ).astype(np.float32)
    table[:, rng.random(codes) < 0.2] = -0.0
    table[:, rng.random(codes) < 0.05] = np.nan
    table[:, rng.random(codes) < 0.05] = np.inf
    compiled, fallback = both(dis._pooled_codes, code, table, fr, fc)
    assert compiled.dtype == fallback.dtype == np.float64
    assert compiled.tobytes() == fallback.tobytes()
    for k in range(m):
        want = area_average(table[k][code].astype(np.float64), (g0, g1))
        assert compiled[k].tobytes() == want.tobytes()


@needs_compiled
def test_pooled_codes_into_planes_of_an_output():
    """``out`` and ``planes``: map k written into out[planes[k]], the other planes untouched,
    on both paths."""
    rng = np.random.default_rng(3)
    code = blocky_codes(rng, (8, 12), 5, 2, np.uint16)
    table = rng.random((2, 5)).astype(np.float32)
    results = []
    for kern in (COMPILED, None):
        saved, _native.kernels = _native.kernels, kern
        try:
            out = np.full((4, 4, 6), 7.0)
            assert dis._pooled_codes(code, table, 2, 2, out=out, planes=[3, 1]) is out
            results.append(out)
        finally:
            _native.kernels = saved
    alone = dis._pooled_codes(code, table, 2, 2)
    for out in results:
        assert out[3].tobytes() == alone[0].tobytes()
        assert out[1].tobytes() == alone[1].tobytes()
        assert np.all(out[[0, 2]] == 7.0)


@needs_compiled
def test_pooled_codes_reject_codes_outside_the_table():
    code = np.array([[0, 1], [2, 5]], np.int32)
    table = np.zeros((1, 3), np.float32)
    for kern in (COMPILED, None):
        saved, _native.kernels = _native.kernels, kern
        try:
            with pytest.raises(IndexError):
                dis._pooled_codes(code, table, 2, 2)
            with pytest.raises(IndexError):
                dis._pooled_codes(-code, table, 1, 1)
        finally:
            _native.kernels = saved


def _changes_oracle(index: np.ndarray, codes: np.ndarray, dtype) -> tuple[np.ndarray, ...]:
    """Bit k: map k's segment (codes[tuple, k]) differs from the next pixel's, pixel by pixel."""
    h, w = index.shape
    rows, cols = np.zeros((h, w), dtype), np.zeros((h, w), dtype)
    for y in range(h):
        for x in range(w):
            for k in range(codes.shape[1]):
                a = codes[index[y, x], k]
                if x + 1 < w and a != codes[index[y, x + 1], k]:
                    rows[y, x] |= dtype(1 << k)
                if y + 1 < h and a != codes[index[y + 1, x], k]:
                    cols[y, x] |= dtype(1 << k)
    return rows, cols


@needs_compiled
@settings(max_examples=150, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 32), st.integers(1, 30),
       st.integers(1, 5), st.sampled_from(CODE_TYPES), st.integers(0, 2**32 - 1))
def test_tuple_changes_compiled_equal_numpy_and_the_pixels(h, w, n, tuples, block, index_type,
                                                           seed):
    """The packed changes of up to 32 maps (uint8, uint16, uint32 bits) from the tuples."""
    rng = np.random.default_rng(seed)
    index = blocky_codes(rng, (h, w), tuples, block, index_type)
    codes = rng.integers(0, 3, (tuples, n)).astype(np.int64)
    t = Tuples(index, codes, np.ones(tuples, np.int64))
    compiled, fallback = both(dis._packed_changes, t)
    dtype = np.uint8 if n <= 8 else np.uint16 if n <= 16 else np.uint32
    if h * w <= 400:
        want = _changes_oracle(index, codes, dtype)
    else:
        want = fallback
    for got, other, expected in zip(compiled, fallback, want, strict=True):
        assert got.dtype == other.dtype == np.dtype(dtype)
        assert np.array_equal(got, other) and np.array_equal(got, expected)


@needs_compiled
def test_tuple_changes_at_full_size_and_a_tuple_outside():
    rng = np.random.default_rng(11)
    index = blocky_codes(rng, (512, 1024), 300, 17, np.uint16)
    codes = rng.integers(0, 40, (300, 5)).astype(np.int64)
    t = Tuples(index, codes, np.ones(300, np.int64))
    compiled, fallback = both(dis._packed_changes, t)
    for a, b in zip(compiled, fallback, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    bad = Tuples(index, codes[:100], np.ones(100, np.int64))
    for kern in (COMPILED, None):
        saved, _native.kernels = _native.kernels, kern
        try:
            with pytest.raises(IndexError):
                dis._packed_changes(bad)
        finally:
            _native.kernels = saved


@needs_compiled
@settings(max_examples=150, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(1, 20), st.floats(0.0, 1.0),
       st.sampled_from(CODE_TYPES), st.integers(0, 2**32 - 1))
def test_flagged_pixels_compiled_equal_numpy(h, w, tuples, share, index_type, seed):
    rng = np.random.default_rng(seed)
    index = blocky_codes(rng, (h, w), tuples, 3, index_type)
    flags = rng.random(tuples) < share
    compiled, fallback = both(dis._flagged_pixels, index, flags)
    assert compiled.dtype == fallback.dtype
    assert np.array_equal(compiled, fallback)
    assert np.array_equal(compiled, np.flatnonzero(flags[index]))


def _marks_oracle(where, index, grid, slots, p):
    """Pixel by pixel: every cell of grid_cells, every slot >= 0 of its tuple."""
    cells = np.zeros(p * grid[0] * grid[1], bool)
    cell, src = grid_cells(where, index.shape, grid)
    for c, s in zip(cell.tolist(), src.tolist(), strict=True):
        tup = index.reshape(-1)[where[s]]
        for row in slots:
            if row[tup] >= 0:
                cells[row[tup] * grid[0] * grid[1] + c] = True
    return cells


@needs_compiled
@settings(max_examples=150, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(1, 40), st.integers(1, 40),
       st.integers(1, 12), st.integers(1, 4), st.integers(1, 5), st.sampled_from(CODE_TYPES),
       st.integers(0, 2**32 - 1))
def test_mark_cells_compiled_equal_numpy_and_the_pixels(h, w, g0, g1, tuples, rows, p,
                                                        index_type, seed):
    """Grid cells per slot: grids finer and coarser than the image (a pixel over one cell or
    several), runs of one tuple in one cell."""
    rng = np.random.default_rng(seed)
    index = blocky_codes(rng, (h, w), tuples, 2, index_type)
    slots = rng.integers(-1, p, (rows, tuples)).astype(np.int64)
    where = np.flatnonzero(rng.random(h * w) < 0.5)
    out = []
    for kern in (COMPILED, None):
        saved, _native.kernels = _native.kernels, kern
        try:
            cells = np.zeros(p * g0 * g1, bool)
            dis._mark_cells(cells, where, index, (g0, g1), slots)
            out.append(cells)
        finally:
            _native.kernels = saved
    assert np.array_equal(out[0], out[1])
    assert np.array_equal(out[0], _marks_oracle(where, index, (g0, g1), slots, p))


@needs_compiled
@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 5), st.sampled_from([(1, 1), (2, 2), (4, 2)]))
def test_heatmaps_compiled_equal_numpy(seed, n, factors):
    """A whole image: pooled grid, boundary counts, pair cells and the boundary mean."""
    rng = np.random.default_rng(seed)
    anns = annotator_maps(rng, n, (32, 48))
    names = ("semantic", "entropy", "boundary", "instance")
    shape = (32 // factors[0], 48 // factors[1])

    def run():
        hm = heatmaps(anns, CATS, d=1)
        grid = hm.area_averages(names, shape)
        count = hm.boundary_count
        mean = hm.boundary_mean()
        cells = pair_cells(hm, (16, 12), min_disagreement=0.2)
        return grid, count, mean, cells

    (g_c, b_c, m_c, p_c), (g_n, b_n, m_n, p_n) = both(run)
    assert g_c.tobytes() == g_n.tobytes()
    assert b_c.dtype == b_n.dtype and np.array_equal(b_c, b_n)
    assert m_c == m_n
    for name in ("pairs", "pixels", "cells"):
        assert np.array_equal(getattr(p_c, name), getattr(p_n, name))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 7), st.integers(1, 3))
def test_boundary_mean_is_the_mean_of_the_map(seed, n, d):
    """From the counts, the bits of the float32 map's float64 mean (every partial sum exact)."""
    rng = np.random.default_rng(seed)
    hm = heatmaps(annotator_maps(rng, n, (int(rng.integers(6, 40)), int(rng.integers(6, 50)))),
                  CATS, d=d)
    got = hm.boundary_mean()
    want = float(hm.boundary.mean(dtype=np.float64))
    assert got == want or (np.isnan(got) and np.isnan(want))
    assert hm.boundary_mean() == want  # the map made: read from it


def test_boundary_mean_by_hand():
    """Three annotators, one draws a border: 1/3 of them near it on 2 of 6 pixels."""
    a = dis.PanopticAnnotation.from_map([[1, 1, 1, 2, 2, 2]], {1: 1, 2: 2}, file_name="x.png")
    b = dis.PanopticAnnotation.from_map([[1, 1, 1, 1, 1, 1]], {1: 1}, file_name="x.png")
    hm = heatmaps({"a": a, "b": b, "c": b}, CATS, d=1)
    assert hm.boundary_count.tolist() == [[0, 0, 1, 1, 0, 0]]
    assert hm.boundary_mean() == float(np.float32(1 / 3)) * 2 / 6


@needs_compiled
def test_maps_of_no_pixel_on_a_huge_side():
    """An empty map whose other side is huge (numpy allows (2**60 - 1, 0)): the kernels write
    nothing and return at once, as numpy does (the pair marks' line table once wrapped around
    and overflowed its block; the pooled cells looped over the rows of no cell)."""
    huge = np.empty((2**60 - 1, 0), np.uint8)
    cells = np.zeros(4, bool)
    for _ in both(dis._mark_cells, cells, np.zeros(0, np.int64), huge, (2, 2),
                  np.zeros((1, 1), np.int64)):
        assert not cells.any()
    got = both(dis._pooled_codes, huge, np.ones((1, 3), np.float32), 1, 1)
    assert [g.shape for g in got] == [(1, 2**60 - 1, 0)] * 2
    with pytest.raises(IndexError, match="1 outside"):  # a pixel given where there is none
        dis._mark_cells(cells, np.zeros(1, np.int64), huge, (2, 2), np.zeros((1, 1), np.int64))


def test_pair_cells_refuse_a_grid_of_no_cell():
    h = heatmaps(annotator_maps(np.random.default_rng(0), 3, (12, 16)), CATS, d=1)
    for grid in ((0, 3), (2, -1)):
        with pytest.raises(ValueError, match="grid must be"):
            pair_cells(h, grid)
