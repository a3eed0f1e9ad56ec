"""The distinct combinations of the annotators' segments over the pixels of one image.

Most per-pixel questions about N annotators (which category wins the vote, is the pixel disputed,
which consensus segment covers it, which label does each annotator give it) depend on the pixel
only through its *tuple*: the compact segment id every annotator gives it. An image of half a
million pixels has a few thousand distinct tuples, so :func:`count_tuples` counts them once (one
``bincount`` over the combined ids) and every per-pixel quantity is computed per tuple, then
read back per pixel with one gather (``values[t.index]``) only where a map is needed. Tables over
pixels (a consensus against an annotator, pixel confusion per stratum) are ``bincount`` s over
the tuples weighted by their pixel counts: exact integers, no pixel read again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from .. import _native
from ..labels import _pair_counts, overlap_table

__all__ = ["Tuples", "count_tuples"]

#: Largest number of combined ids counted with a direct ``bincount`` (else a sort).
DIRECT_CELLS = 1 << 21
#: Pixels gathered per ``np.take`` by :meth:`Tuples.gather` (half a megabyte of int64 indices).
GATHER_BLOCK = 1 << 16


class Tuples:
    """The tuples of compact ids of one image.

    Attributes
    ----------
    index : ndarray of uint16 or int32, shape (H, W)
        The tuple of each pixel (made on first use when the counts came without it: PQ alone
        never reads it); uint16 when the image has at most 65,536 tuples (half the memory).
    codes : ndarray of int64, shape (T, N)
        Each tuple's compact id per annotator (0 = void), tuples in increasing order of ids.
    count : ndarray of int64, shape (T,)
        Pixels per tuple.
    """

    __slots__ = ("_index", "_make_index", "codes", "count")

    def __init__(self, index: npt.NDArray[np.int32] | Callable[[], npt.NDArray[np.int32]],
                 codes: npt.NDArray[np.int64], count: npt.NDArray[np.int64]) -> None:
        self._index = None if callable(index) else index
        self._make_index = index if callable(index) else None
        self.codes, self.count = codes, count

    @property
    def index(self) -> npt.NDArray[np.int32]:
        if self._index is None:
            self._index = self._make_index()  # type: ignore[misc]
            self._make_index = None
        return self._index

    def __len__(self) -> int:
        return int(self.count.size)

    def gather(self, values: npt.ArrayLike) -> np.ndarray:
        """A per-tuple array (last axis: tuples) as a per-pixel map (last axes: H, W):
        ``values[..., index]`` (:func:`take`)."""
        return take(np.asarray(values), self.index)

    def table(self, rows: npt.ArrayLike, cols: npt.ArrayLike, shape: tuple[int, int]
              ) -> npt.NDArray[np.int64]:
        """Pixels per (``rows[t]``, ``cols[t]``): a contingency table from per-tuple labels."""
        code = np.asarray(rows, dtype=np.int64) * shape[1] + np.asarray(cols, dtype=np.int64)
        out = np.bincount(code, weights=self.count, minlength=shape[0] * shape[1])
        return np.rint(out[: shape[0] * shape[1]]).astype(np.int64).reshape(shape)


def take(values: np.ndarray, index: npt.NDArray[np.integer]) -> np.ndarray:
    """``values[..., index]`` (valid indices, any integer type), by ``np.take`` over
    :data:`GATHER_BLOCK` indices at a time: 3-4 times faster than the fancy index, which reads
    narrow indices slowly, while ``take`` copies its indices to int64 first (only a block's
    here, not 8 bytes a pixel for a whole map).

    Examples
    --------
    >>> take(np.array([10, 20, 30]), np.array([[2, 0], [1, 1]], np.uint16)).tolist()
    [[30, 10], [20, 20]]
    """
    out = np.empty(values.shape[:-1] + index.shape, values.dtype)
    flat, into = index.reshape(-1), out.reshape((*values.shape[:-1], -1))
    for lo in range(0, flat.size, GATHER_BLOCK):  # (valid indices: "clip" never clips)
        np.take(values, flat[lo:lo + GATHER_BLOCK], axis=-1, out=into[..., lo:lo + GATHER_BLOCK],
                mode="clip")
    return out


def count_tuples(compacts: Sequence[npt.NDArray[np.integer]], sizes: Sequence[int]) -> Tuples:
    """Count the distinct tuples of N compact maps of one image.

    Parameters
    ----------
    compacts : sequence of ndarray of int, shape (H, W)
        Compact maps (0 void, ``1..n`` segments), one per annotator, same shape.
    sizes : sequence of int
        Segments of each (``n``).

    Returns
    -------
    Tuples

    Raises
    ------
    OverflowError
        When the combined ids do not fit int64 (billions of segment combinations).

    Examples
    --------
    >>> t = count_tuples([np.array([[1, 1, 2]]), np.array([[1, 2, 2]])], [2, 2])
    >>> t.index.tolist(), t.codes.tolist(), t.count.tolist()
    ([[0, 1, 2]], [[1, 1], [1, 2], [2, 2]], [1, 1, 1])
    """
    radix = [int(n) + 1 for n in sizes]
    cells = 1
    for r in radix:
        cells *= r
    if cells >= np.iinfo(np.int64).max:
        raise OverflowError(f"combined segment ids must fit int64, got {radix} segments")
    shape = np.shape(compacts[0])
    if len(radix) == 2 and cells <= DIRECT_CELLS and _native.kernels is not None:
        # a pair: its counts in one compiled pass; the per-pixel index when first read
        counts = overlap_table(compacts[0], compacts[1], radix[0], radix[1]).ravel()
        present = np.flatnonzero(counts)
        a, b, n1 = compacts[0], compacts[1], radix[1]

        def index() -> npt.NDArray[np.integer]:
            dtype = _index_dtype(present.size)
            lut = np.zeros(cells, dtype)
            lut[present] = np.arange(present.size, dtype=dtype)
            code = np.multiply(a, n1, dtype=np.int32)
            code += b
            return take(lut, code)

        return Tuples(index, _codes(present, radix), counts[present].astype(np.int64))
    # the combined ids in the narrowest type holding them (2 bytes a pixel for a few segments)
    code = np.zeros(shape, np.uint16 if cells <= 1 << 16 else np.int32 if cells < 1 << 31
                    else np.int64)
    for c, r in zip(compacts[:-1], radix[:-1], strict=True):
        code *= code.dtype.type(r)
        np.add(code, c, out=code, casting="unsafe")  # c < r: the sum fits code's type
    # the counts as (first N - 1 ids, last id) pairs: one compiled pass over runs of pixels
    counts = (_pair_counts(code, compacts[-1], cells // radix[-1], radix[-1])
              if cells <= DIRECT_CELLS else None)
    code *= code.dtype.type(radix[-1])
    np.add(code, compacts[-1], out=code, casting="unsafe")
    flat = code.ravel()
    if cells <= DIRECT_CELLS:
        counts = _bincount(flat, cells) if counts is None else counts.ravel()
        present = np.flatnonzero(counts)
        dtype = _index_dtype(present.size)
        lut = np.zeros(cells, dtype)
        lut[present] = np.arange(present.size, dtype=dtype)
        del flat
        index = take(lut, code)
        count = counts[present].astype(np.int64)
    else:
        present, inverse, count = np.unique(flat, return_inverse=True, return_counts=True)
        index = inverse.astype(_index_dtype(present.size)).reshape(shape)
        count = count.astype(np.int64)
    return Tuples(index, _codes(present, radix), count)


#: Pixels per ``bincount`` of :func:`_bincount` (it copies its input to int64 first).
BINCOUNT_BLOCK = 1 << 22


def _bincount(flat: npt.NDArray[np.integer], cells: int) -> npt.NDArray[np.int64]:
    """``np.bincount(flat, minlength=cells)`` a block of pixels at a time: ``bincount`` makes an
    int64 copy of its input, 8 bytes a pixel for the whole image in one call."""
    counts = np.zeros(cells, np.int64)
    for start in range(0, flat.size, BINCOUNT_BLOCK):
        counts += np.bincount(flat[start:start + BINCOUNT_BLOCK], minlength=cells)
    return counts


def _index_dtype(tuples: int) -> np.dtype:
    """uint16 for at most 65,536 tuples (numbered from 0), else int32."""
    return np.dtype(np.uint16 if tuples <= 1 << 16 else np.int32)


def _codes(present: npt.NDArray[np.integer], radix: Sequence[int]) -> npt.NDArray[np.int64]:
    """Each combined id's compact id per annotator (mixed radix, last annotator fastest)."""
    codes = np.empty((present.size, len(radix)), np.int64)
    rest = present.astype(np.int64)
    for i in range(len(radix) - 1, -1, -1):
        rest, codes[:, i] = np.divmod(rest, radix[i])
    return codes
