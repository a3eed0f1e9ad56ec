"""A table of the study step (images x annotators x tests, float64) kept on disk, a test at a time.

The findings' study step reads its tables (effects, contrasts) by blocks: of tests over every
image (a test's mean over images, the bootstrap) or of images over every test (the
permutations, which permute an image's annotators for every test at once). Held in memory,
such a table grows with the study (about 1.5 kB an image for 60 tests of three annotators,
and with the square of the number of classes). :class:`Columns` keeps it in an anonymous
temporary file, test after test (each test's (images, annotators) values contiguous), so both
kinds of block are read with a few reads into arrays of the block's size, whatever the study.
Where no temporary file can be made or written (a full disk), the table is held in memory
from there on (the same values).
"""

from __future__ import annotations

import os
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Columns", "SizeColumns", "block_rows", "block_tests", "from_array", "from_blocks"]

FloatArray = npt.NDArray[np.float64]
#: Values a block of a table holds (2 MB of float64), whatever the study's size.
BLOCK = 1 << 18


def block_tests(rows: int, budget: int | None = None) -> int:
    """Tests of a block of every image when a test holds ``rows`` values (at least one)."""
    return max(1, (BLOCK if budget is None else budget) // max(1, rows))


def block_rows(width: int, budget: int | None = None) -> int:
    """Images of a block of every test when an image holds ``width`` values (at least one)."""
    return max(1, (BLOCK if budget is None else budget) // max(1, width))


class Columns:
    """A float64 table of shape (n, N, M) in an anonymous temporary file, test by test.

    Written by blocks of images (:meth:`write_rows`) or by tests (:meth:`write_tests`); read by
    blocks of tests (:meth:`tests`, :meth:`column`) or of images (:meth:`rows`), or indexed like
    an array, ``table[rows, a, t]`` with an integer test reading that test alone. Values not
    yet written are 0. ``np.asarray(table)`` makes the whole table (for small tables and tests).
    The file goes with :meth:`close` or when the table is collected.

    >>> t = Columns((2, 3, 4))
    >>> t.write_rows(0, np.arange(24.0).reshape(2, 3, 4))
    >>> t.column(1).tolist(), t.rows(1, 2)[0, :, 0].tolist(), float(t[1, 2, 3])
    ([[1.0, 5.0, 9.0], [13.0, 17.0, 21.0]], [12.0, 16.0, 20.0], 23.0)
    """

    ndim = 3
    dtype = np.dtype(np.float64)

    def __init__(self, shape: tuple[int, int, int]) -> None:
        n, na, m = (int(x) for x in shape)
        if min(n, na, m) < 0:
            raise ValueError(f"a table's shape cannot be negative, got {shape}")
        self.shape = (n, na, m)
        self._array: FloatArray | None = None
        self._file: Any = None
        try:
            self._file = tempfile.TemporaryFile(buffering=0)
            weakref.finalize(self, self._file.close)
            os.ftruncate(self._file.fileno(), n * na * m * 8)  # sparse: zeros until written
        except OSError:  # no writable temporary folder, or no room: held in memory
            if self._file is not None:  # nothing written yet: nothing to read back
                self._file.close()
                self._file = None
            self._to_memory()

    @property
    def size(self) -> int:
        n, na, m = self.shape
        return n * na * m

    @property
    def nbytes(self) -> int:
        return self.size * 8

    @property
    def in_memory(self) -> bool:
        """Whether the table is held in memory (no temporary file could be used)."""
        return self._array is not None

    def __len__(self) -> int:
        return self.shape[0]

    def _to_memory(self) -> None:
        n, na, m = self.shape
        array = np.zeros((m, n, na))
        if self._file is not None:
            try:
                _read_into(self._file.fileno(), array, 0)
            finally:
                self._file.close()
                self._file = None
        self._array = array

    # -- writing
    def write_rows(self, start: int, block: npt.ArrayLike) -> None:
        """Images ``start`` to ``start + len(block)`` of every test (``block``: (b, N, M))."""
        n, na, m = self.shape
        block = np.asarray(block, np.float64)
        b = block.shape[0]
        if block.shape != (b, na, m) or not 0 <= start <= n - b:
            raise ValueError(f"rows {start}..{start + b} of shape {block.shape} do not fit a "
                             f"table of shape {self.shape}")
        by_test = np.ascontiguousarray(np.moveaxis(block, -1, 0))  # (M, b, N)
        if self._array is None:
            try:
                for t in range(m):
                    _write(self._file.fileno(), by_test[t], (t * n + start) * na * 8)
                return
            except OSError:  # a full disk: the table is held in memory from here
                self._to_memory()
        self._array[:, start:start + b] = by_test

    def write_tests(self, start: int, block: npt.ArrayLike) -> None:
        """Tests ``start`` to ``start + m`` of every image (``block``: (n, N, m))."""
        n, na, m = self.shape
        block = np.asarray(block, np.float64)
        k = block.shape[-1] if block.ndim == 3 else -1
        if block.shape != (n, na, k) or not 0 <= start <= m - k:
            raise ValueError(f"tests {start}..{start + k} of shape {block.shape} do not fit a "
                             f"table of shape {self.shape}")
        by_test = np.ascontiguousarray(np.moveaxis(block, -1, 0))  # (m, n, N)
        if self._array is None:
            try:
                _write(self._file.fileno(), by_test, start * n * na * 8)
                return
            except OSError:
                self._to_memory()
        self._array[start:start + k] = by_test

    # -- reading
    def tests(self, start: int, stop: int) -> FloatArray:
        """``table[:, :, start:stop]``, contiguous (one read)."""
        n, na, m = self.shape
        start, stop, _ = slice(start, stop).indices(m)
        stop = max(start, stop)
        if self._array is not None:
            by_test = self._array[start:stop]
        else:
            by_test = np.empty((stop - start, n, na))
            _read_into(self._file.fileno(), by_test, start * n * na * 8)
        return np.ascontiguousarray(np.moveaxis(by_test, 0, -1))

    def column(self, t: int) -> FloatArray:
        """``table[:, :, t]``, shape (n, N)."""
        t = _test_index(t, self.shape[2])
        return self.tests(t, t + 1)[:, :, 0]

    def rows(self, start: int, stop: int) -> FloatArray:
        """``table[start:stop]``, contiguous (a read per test)."""
        n, na, m = self.shape
        start, stop, _ = slice(start, stop).indices(n)
        stop = max(start, stop)
        by_test = np.empty((m, stop - start, na))
        if self._array is not None:
            by_test[...] = self._array[:, start:stop]
        else:
            fd = self._file.fileno()
            for t in range(m):
                _read_into(fd, by_test[t], (t * n + start) * na * 8)
        return np.ascontiguousarray(np.moveaxis(by_test, 0, -1))

    def iter_tests(self, budget: int | None = None) -> Iterator[tuple[int, FloatArray]]:
        """``(start, table[:, :, start:stop])`` by blocks of tests of at most ``budget`` values
        (:data:`BLOCK`; at least one test)."""
        n, na, m = self.shape
        step = block_tests(n * na, budget)
        for j in range(0, m, step):
            yield j, self.tests(j, j + step)

    def iter_rows(self, budget: int | None = None) -> Iterator[tuple[int, FloatArray]]:
        """``(start, table[start:stop])`` by blocks of images of at most ``budget`` values
        (at least one image)."""
        n, na, m = self.shape
        step = block_rows(na * m, budget)
        for i in range(0, n, step):
            yield i, self.rows(i, i + step)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, tuple) and len(key) == 3 and isinstance(key[2], (int, np.integer)):
            return self.column(int(key[2]))[key[0], key[1]]
        return np.asarray(self)[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> FloatArray:
        whole = self.tests(0, self.shape[2])
        return whole if dtype is None else whole.astype(dtype, copy=False)

    def close(self) -> None:
        """Let the file (or the memory) go; the table is empty afterwards."""
        if self._file is not None:
            self._file.close()
        self._file, self._array = None, np.zeros((0, self.shape[0], self.shape[1]))
        self.shape = (self.shape[0], self.shape[1], 0)

    def __reduce__(self) -> Any:
        return (_rebuilt, (np.asarray(self),))

    def __repr__(self) -> str:
        where = "memory" if self._array is not None else "a temporary file"
        return f"Columns(shape={self.shape}, in {where})"


def _rebuilt(array: FloatArray) -> Columns:
    return from_blocks(array.shape, [array])


def from_array(array: npt.ArrayLike) -> Columns:
    """A :class:`Columns` holding ``array`` (n, N, M)."""
    return _rebuilt(np.asarray(array, np.float64))


def from_blocks(shape: tuple[int, int, int], blocks: Iterable[npt.ArrayLike]) -> Columns:
    """A :class:`Columns` of ``shape`` made of ``blocks`` of its tests, (n, N, m) each, in test
    order (each written as it comes: an iterator's blocks are never held together)."""
    out = Columns(shape)
    j = 0
    for block in blocks:
        block = np.asarray(block, np.float64)
        out.write_tests(j, block)
        j += block.shape[-1]
    if j != out.shape[2]:
        raise ValueError(f"blocks of {j} tests do not fill a table of shape {out.shape}")
    return out


class SizeColumns(Mapping):
    """The sizes of the tests whose size is not their ``den`` (test -> (n, N) values), kept in
    a :class:`Columns` of their own: a mapping reading a test's sizes when asked for."""

    def __init__(self, store: Columns, tests: Sequence[int]) -> None:
        self._store = store
        self._slot = {int(t): k for k, t in enumerate(tests)}

    def __getitem__(self, t: int) -> FloatArray:
        return self._store.column(self._slot[int(t)])

    def __iter__(self) -> Iterator[int]:
        return iter(self._slot)

    def __len__(self) -> int:
        return len(self._slot)

    def close(self) -> None:
        self._store.close()
        self._slot = {}


def _test_index(t: int, m: int) -> int:
    t = int(t)
    if not -m <= t < m:
        raise IndexError(f"test {t} out of range for a table of {m} tests")
    return t % m


def _write(fd: int, array: np.ndarray, offset: int) -> None:
    if not array.size:
        return
    view = memoryview(np.ascontiguousarray(array)).cast("B")
    while view:
        done = os.pwrite(fd, view, offset)
        if done <= 0:  # pragma: no cover - pwrite raises on a full disk
            raise OSError("the temporary file took no bytes")
        view, offset = view[done:], offset + done


def _read_into(fd: int, array: np.ndarray, offset: int) -> None:
    if not array.size:
        return
    view = memoryview(array).cast("B")
    while view:
        got = os.preadv(fd, [view], offset)
        if got <= 0:  # pragma: no cover - the file holds what was written (or zeros)
            raise OSError("the temporary file ended before the table")
        view, offset = view[got:], offset + got
