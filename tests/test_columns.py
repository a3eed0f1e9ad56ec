"""The study step's tables on disk (:class:`agreement.diagnosis._columns.Columns`) read back what
was written, by blocks of images or of tests, and fall back to memory when the disk fails; the
permutations drawn a block of images at a time are those drawn at once."""

from __future__ import annotations

import errno
import os
import pickle

import numpy as np
import pytest
from _tests_oracle import whole_tests
from hypothesis import given, settings
from hypothesis import strategies as st

from agreement.diagnosis import _columns, _stats
from agreement.diagnosis._columns import Columns, SizeColumns, from_array


def _nan_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.tobytes() == b.tobytes()


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 30), na=st.integers(1, 4), m=st.integers(0, 9),
       budget=st.integers(1, 200), seed=st.integers(0, 2**31), by_rows=st.booleans())
def test_a_table_reads_back_what_was_written_by_any_blocks(n, na, m, budget, seed, by_rows):
    rng = np.random.default_rng(seed)
    want = rng.standard_normal((n, na, m))
    want[rng.random(want.shape) < 0.2] = np.nan
    t = Columns((n, na, m))
    assert not t.in_memory and t.shape == (n, na, m) and t.nbytes == want.nbytes
    if by_rows:
        step = _columns.block_rows(na * m, budget)
        for i in range(0, n, step):
            t.write_rows(i, want[i:i + step])
    else:
        step = _columns.block_tests(n * na, budget)
        for j in range(0, m, step):
            t.write_tests(j, want[:, :, j:j + step])
    assert _nan_equal(np.asarray(t), want)
    got_rows = [b for _, b in t.iter_rows(budget)]
    assert all(b.size <= max(budget, na * m) for b in got_rows)
    assert _nan_equal(np.concatenate(got_rows) if got_rows else np.zeros((0, na, m)), want)
    got_tests = [b for _, b in t.iter_tests(budget)]
    assert all(b.size <= max(budget, n * na) and b.flags.c_contiguous for b in got_tests)
    if m:
        assert _nan_equal(np.concatenate(got_tests, axis=-1), want)
        k = int(rng.integers(0, m))
        assert _nan_equal(t.column(k), want[:, :, k])
        if n:
            assert _nan_equal(np.asarray(t[1 % n, :, k]), want[1 % n, :, k])
    assert _nan_equal(pickle.loads(pickle.dumps(t)).rows(0, n), want)
    t.close()
    assert t.shape == (n, na, 0)


def test_unwritten_values_are_zero_and_bad_blocks_are_refused():
    t = Columns((3, 2, 4))
    assert np.asarray(t).tolist() == np.zeros((3, 2, 4)).tolist()
    with pytest.raises(ValueError, match="do not fit"):
        t.write_rows(2, np.zeros((2, 2, 4)))
    with pytest.raises(ValueError, match="do not fit"):
        t.write_tests(0, np.zeros((3, 2, 5)))
    with pytest.raises(IndexError):
        t.column(4)
    with pytest.raises(ValueError, match="negative"):
        Columns((-1, 2, 3))


def test_a_full_disk_keeps_the_table_in_memory_with_what_was_written(monkeypatch):
    want = np.arange(2 * 3 * 5, dtype=float).reshape(2, 3, 5)
    t = Columns((2, 3, 5))
    t.write_rows(0, want[:1])
    real, calls = os.pwrite, []

    def full(fd, data, offset):
        calls.append(offset)
        if len(calls) > 2:  # fails within a block: the block is written again in memory
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", full)
    t.write_rows(1, want[1:])
    assert t.in_memory
    assert np.asarray(t).tolist() == want.tolist()
    t.write_tests(4, np.full((2, 3, 1), -1.0))
    assert t.column(4).tolist() == [[-1.0] * 3] * 2 and t.rows(0, 1)[0, 0, :4].tolist() == [
        0, 1, 2, 3]


def test_no_temporary_folder_keeps_the_table_in_memory(monkeypatch):
    import tempfile

    def none(*args, **kwargs):
        raise OSError(errno.ENOENT, "No usable temporary directory found")

    monkeypatch.setattr(tempfile, "TemporaryFile", none)
    want = np.random.default_rng(1).standard_normal((4, 2, 3))
    t = from_array(want)
    assert t.in_memory and np.asarray(t).tolist() == want.tolist()
    assert t.rows(1, 3).tolist() == want[1:3].tolist()


def test_a_file_that_cannot_be_sized_keeps_the_table_in_memory(monkeypatch):
    def too_big(fd, size):
        raise OSError(errno.EFBIG, "File too large")

    monkeypatch.setattr(os, "ftruncate", too_big)
    t = Columns((5, 3, 4))
    assert t.in_memory and np.asarray(t).tolist() == np.zeros((5, 3, 4)).tolist()
    t.write_tests(1, np.ones((5, 3, 1)))
    assert t.column(1).tolist() == [[1.0] * 3] * 5


def test_sizes_read_their_test_from_the_table():
    store = from_array(np.arange(12.0).reshape(2, 2, 3))
    sizes = SizeColumns(store, [7, 2, 9])
    assert sorted(sizes) == [2, 7, 9] and len(sizes) == 3 and 5 not in sizes
    assert sizes[2].tolist() == [[1.0, 4.0], [7.0, 10.0]]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), na=st.integers(1, 4), r=st.integers(1, 12),
       seed=st.integers(0, 2**31), data=st.data())
def test_keys_of_a_block_of_images_are_those_of_drawing_every_key_at_once(n, na, r, seed, data):
    rng = np.random.default_rng(seed)
    start = rng.bit_generator.state
    whole = rng.random((r, n, na))
    first = data.draw(st.integers(0, n - 1))
    rows = data.draw(st.integers(1, n - first))
    r0 = data.draw(st.integers(0, r - 1))
    r1 = data.draw(st.integers(r0 + 1, r))
    got = _stats._keys(start, n, na, first, rows, range(r0, r1))
    assert got.tolist() == whole[r0:r1, first:first + rows].tolist()
    # the generator advanced past every key is where drawing them leaves it
    again = np.random.default_rng(seed)
    again.bit_generator.advance(r * n * na)
    assert again.integers(0, 2**62, 4).tolist() == rng.integers(0, 2**62, 4).tolist()


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 30), na=st.integers(2, 4), m=st.integers(1, 6),
       budget=st.integers(1, 64), seed=st.integers(0, 2**31))
def test_the_permutations_of_a_table_on_disk_in_blocks_equal_those_of_its_blocks_in_memory(
        n, na, m, budget, seed):
    """Blocks of images as small as one image: the null sums are carried in image order, the
    keys drawn at their place in the stream: the same statistics and p-values, bit for bit."""
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((n, na, m))
    present = rng.random((n, na)) < 0.85
    present[:, :2] = True
    values[~present] = np.nan
    values[rng.random(values.shape) < 0.1] = np.nan
    kw = {"two_sided": rng.random(m) < 0.5, "floor": np.full(m, 0.01), "n_resamples": 29,
          "seed": seed % 1000}
    want = whole_tests(values, present, n_boot=20, **kw)  # the first implementation
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_stats, "_BLOCK", budget)
        got = _stats.permuted(from_array(_stats.contrasts(values)), present, **kw)
        _stats.add_intervals(got, from_array(_stats.contrasts(values)), n_boot=20)
    for name in ("effect", "stat", "p", "p_adjusted", "n_images"):
        assert _nan_equal(np.asarray(getattr(got, name), float),
                          np.asarray(getattr(want, name), float)), name
    np.testing.assert_allclose(got.ci_low, want.ci_low, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got.ci_high, want.ci_high, rtol=1e-12, atol=1e-15)
