"""Pure label-map operations: compact relabelling, pair encoding, overlap (contingency) tables.

These are the kernels every metric stands on. They work on whole maps at once (``bincount`` over
paired compact ids) and never build one mask per segment.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from . import _native

__all__ = ["LUT_MAX_ID", "compact_dtype", "compact_ids", "overlap_table", "pair_codes",
           "segment_boxes"]

#: Largest segment id for which :func:`compact_ids` uses a direct uint8 lookup table (tables of
#: fewer than 255 segments; COCO ids are < 2**24). Otherwise a small hashed table, or a search.
LUT_MAX_ID = 1 << 24
#: Largest lookup table :func:`compact_ids` builds (2**LUT_BITS entries, indexed by low id bits).
LUT_BITS = 20


def compact_dtype(k: int) -> np.dtype:
    """The narrowest type of a compact map of ``k`` segments (values ``0 .. k``): uint8 up to
    255 segments, uint16 up to 65,535, else int32.

    A photo's annotation rarely has more than a few hundred segments, so its compact map takes
    one or two bytes a pixel instead of four: a 17.9-megapixel map is 18 MB instead of 72 MB.

    Examples
    --------
    >>> [compact_dtype(k).name for k in (0, 255, 256, 65_535, 65_536)]
    ['uint8', 'uint8', 'uint16', 'uint16', 'int32']
    """
    return np.dtype(np.uint8 if k <= 0xFF else np.uint16 if k <= 0xFFFF else np.int32)


def compact_ids(
    ids: npt.NDArray[np.integer], segment_ids: npt.ArrayLike, *, narrow: bool = False
) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Relabel an id map to compact ids: 0 = void, ``i + 1`` = ``segment_ids[i]``.

    Parameters
    ----------
    ids : ndarray of int, shape (H, W)
        Segment-id map, 0 = void.
    segment_ids : array_like of int, shape (K,)
        The segment table's ids (unique, > 0), in table order.
    narrow : bool
        Return the compact map in :func:`compact_dtype` of ``K`` (uint8 / uint16 / int32)
        instead of int32: same values, a quarter or half of the memory.

    Returns
    -------
    compact : ndarray of int32 (or :func:`compact_dtype` with ``narrow``), shape (H, W)
        ``i + 1`` where ``ids == segment_ids[i]``, 0 on void and on unknown ids.
    areas : ndarray of int64, shape (K,)
        Pixel count of each segment.
    unknown : ndarray of int64
        Sorted ids present in the map but not in ``segment_ids`` (empty when the map is clean).

    Examples
    --------
    >>> c, areas, unknown = compact_ids(np.array([[0, 40], [7, 40]]), [40, 7])
    >>> c.tolist(), areas.tolist(), unknown.tolist()
    ([[0, 1], [2, 1]], [2, 1], [])
    """
    ids = np.asarray(ids)
    seg = np.asarray(segment_ids, dtype=np.int64).ravel()
    k = seg.size
    dtype = compact_dtype(k) if narrow else np.dtype(np.int32)
    if ids.size == 0:
        return np.zeros(ids.shape, dtype), np.zeros(k, np.int64), np.zeros(0, np.int64)
    native = _compact_native(ids, seg, dtype)
    if native is not None:
        return native
    if k < 255 and ids.dtype.kind in "iu" and 0 <= int(ids.min()) and (
            hi := max(int(ids.max()), int(seg.max()) if k else 0)) <= LUT_MAX_ID:
        # a uint8 lookup table, lazily zeroed (only the pages of used ids are touched)
        lut = np.zeros(hi + 1, dtype=np.uint8)
        lut[seg] = np.arange(1, k + 1, dtype=np.uint8)
        small = np.take(lut, ids)
        counts = _count_bytes(small)[: k + 1]
        compact = small.astype(dtype, copy=False)
        unknown = np.zeros(0, np.int64)
        if counts[0] != ids.size - np.count_nonzero(ids):  # ids other than 0 mapped to 0
            unknown = np.unique(ids[(compact == 0) & (ids != 0)]).astype(np.int64)
        return compact, counts[1 : k + 1].astype(np.int64), unknown
    bits = _hash_bits(seg) if ids.dtype.kind in "iu" and ids.dtype.itemsize <= 4 else None
    if bits is not None:
        compact, bad = _compact_hashed(ids, seg, bits, dtype)
    else:
        compact, bad = _compact_sorted(ids, seg, dtype)
    unknown = np.zeros(0, np.int64)
    if bad.any():
        unknown = np.unique(ids[bad]).astype(np.int64)
        compact[bad] = 0
    # bincount over int64 input: several times faster than over int32
    counts = np.bincount(compact.ravel().astype(np.int64), minlength=k + 1)
    return compact, counts[1 : k + 1].astype(np.int64), unknown


def _as_int32(x: npt.NDArray[np.integer]) -> npt.NDArray[np.int32] | None:
    """``x`` as a C-contiguous int32 array when that is exact and cheap, else None."""
    if x.dtype == np.int32:
        return np.ascontiguousarray(x)
    if x.dtype.kind in "iu" and x.dtype.itemsize < 4:
        return x.astype(np.int32)
    return None


def _compact_native(
    ids: npt.NDArray[np.integer], seg: npt.NDArray[np.int64], dtype: np.dtype
) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
    """:func:`compact_ids` by the compiled kernel (one pass, a hash of the table's ids), or None
    when it is not built or the input is not its case (int32 map, unique ids > 0)."""
    kern = _native.kernels
    flat = _as_int32(ids)
    if kern is None or flat is None or seg.size > 1 << 20 or (seg.size and (
            int(seg.min()) <= 0 or np.unique(seg).size != seg.size)):
        return None
    compact = np.empty(ids.shape, dtype)
    counts = np.zeros(seg.size + 1, np.int64)
    n_unknown = kern.compact(flat, np.ascontiguousarray(seg), compact, counts)
    unknown = np.zeros(0, np.int64)
    if n_unknown:
        unknown = np.unique(ids[(compact == 0) & (ids != 0)]).astype(np.int64)
    return compact, counts[1:], unknown


def _count_bytes(values: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Occurrences of each byte value (256 counts), two bytes per ``bincount`` element."""
    flat = np.ascontiguousarray(values).ravel()
    even = flat[: flat.size - flat.size % 2]
    pairs = np.bincount(even.view(np.uint16), minlength=1 << 16).reshape(256, 256)
    counts = pairs.sum(axis=0) + pairs.sum(axis=1)  # one byte of each pair per axis
    if flat.size % 2:
        counts[flat[-1]] += 1
    return counts.astype(np.int64)


def _hash_bits(seg: npt.NDArray[np.int64]) -> int | None:
    """Smallest ``m`` such that ``id & (2**m - 1)`` differs between ids and is never 0."""
    if seg.size and (int(seg.min()) <= 0 or int(seg.max()) >= 1 << 31):
        return None
    m = max(8, int(np.ceil(np.log2(4 * (seg.size + 1)))))
    while m <= LUT_BITS:
        residue = seg & ((1 << m) - 1)
        if np.unique(residue).size == seg.size and not (residue == 0).any():
            return m
        m += 1
    return None


def _compact_hashed(ids: npt.NDArray[np.integer], seg: npt.NDArray[np.int64], bits: int,
                    dtype: np.dtype) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.bool_]]:
    """Look ids up by their low ``bits`` bits (a small table), then verify the hit."""
    mask = (1 << bits) - 1
    lut = np.zeros(1 << bits, dtype=dtype)
    lut[seg & mask] = np.arange(1, seg.size + 1, dtype=dtype)
    compact = np.take(lut, ids & ids.dtype.type(mask))
    back = np.concatenate([[0], seg]).astype(ids.dtype)
    return compact, np.take(back, compact) != ids  # unknown ids (incl. residue aliases)


def _compact_sorted(
    ids: npt.NDArray[np.integer], seg: npt.NDArray[np.int64], dtype: np.dtype
) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.bool_]]:
    """Look ids up by binary search (ids outside int32 or <= 0 in the table)."""
    k = seg.size
    order = np.argsort(seg, kind="stable")
    sorted_ids = seg[order]
    flat = ids.ravel()
    pos = np.searchsorted(sorted_ids, flat)
    np.minimum(pos, max(k - 1, 0), out=pos)
    hit = sorted_ids[pos] == flat if k else np.zeros(flat.shape, bool)
    compact = np.where(hit, order[pos] + 1 if k else 0, 0).astype(dtype).reshape(ids.shape)
    return compact, (~hit & (flat != 0)).reshape(ids.shape)


def pair_codes(
    a: npt.NDArray[np.integer], b: npt.NDArray[np.integer], nb: int
) -> npt.NDArray[np.int64]:
    """Encode two compact maps into one code per pixel: ``a * nb + b``.

    Parameters
    ----------
    a, b : ndarray of int, same shape
        Compact id maps with values in ``[0, na)`` and ``[0, nb)``.
    nb : int
        Number of distinct values of ``b`` (its maximum + 1 at least).

    Raises
    ------
    OverflowError
        When ``max(a) * nb + nb`` does not fit in int64.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    na = int(a.max(initial=0)) + 1
    if na * nb >= np.iinfo(np.int64).max:
        raise OverflowError(f"pair code range must fit int64, got {na} x {nb}")
    return a.astype(np.int64).ravel() * nb + b.ravel()


def overlap_table(
    a: npt.NDArray[np.integer], b: npt.NDArray[np.integer], na: int, nb: int
) -> npt.NDArray[np.int64]:
    """Contingency table of two compact maps: pixels per (value of ``a``, value of ``b``).

    Parameters
    ----------
    a, b : ndarray of int, same shape
        Compact id maps (0 = void, 1..K = segments).
    na, nb : int
        Number of rows / columns: one more than the largest value of ``a`` / ``b``.

    Returns
    -------
    ndarray of int64, shape (na, nb)
        ``table[i, j]`` = number of pixels with ``a == i`` and ``b == j``; row and column 0 are
        void.

    Examples
    --------
    >>> overlap_table(np.array([[1, 1], [0, 2]]), np.array([[1, 0], [0, 1]]), 3, 2).tolist()
    [[1, 0], [1, 1], [0, 1]]
    """
    if np.shape(a) != np.shape(b):
        raise ValueError(f"maps must have the same shape, got {np.shape(a)} and {np.shape(b)}")
    if na * nb >= 1 << 62:
        raise OverflowError(f"pair code range must fit int64, got {na} x {nb}")
    counts = _pair_counts(a, b, na, nb)
    if counts is not None:
        return counts
    codes = np.multiply(a, nb, dtype=np.int64)  # one int64 pass; bincount needs int64 anyway
    codes += b
    counts = np.bincount(codes.ravel(), minlength=na * nb)
    if counts.size > na * nb:
        raise ValueError(f"compact ids must be below ({na}, {nb}), got larger ones")
    return counts.reshape(na, nb).astype(np.int64, copy=False)


#: The label widths of the compiled kernels: bytes per label -> dtype.
_WIDTHS = {1: np.dtype(np.uint8), 2: np.dtype(np.uint16), 4: np.dtype(np.int32)}


def label_width(x: npt.NDArray) -> int | None:
    """Bytes per label the compiled kernels read ``x`` with (1: uint8, 2: uint16, 4: int32),
    or None when it is none of them exactly (int32 is also the width of int8 and int16)."""
    if x.dtype in (np.uint8, np.uint16, np.int32):
        return x.dtype.itemsize
    if x.dtype in (np.int8, np.int16):
        return 4
    return None


def as_width(x: npt.NDArray, width: int) -> npt.NDArray:
    """``x`` as a C-contiguous array of the kernels' type of ``width`` bytes (a copy only when
    its type or layout differs)."""
    return np.ascontiguousarray(x, dtype=_WIDTHS[width])


def _pair_counts(a: npt.ArrayLike, b: npt.ArrayLike, na: int,
                nb: int) -> npt.NDArray[np.int64] | None:
    """:func:`overlap_table` in one compiled pass, or None (not built, maps of no kernel width,
    or a value outside the table: the numpy path then raises its error).

    ``a`` and ``b`` have the same shape (checked by the callers). Maps of uint8, uint16 or int32
    are read as they are; two of different widths are read at the wider one.
    """
    kern = _native.kernels
    if kern is None or na * nb > 1 << 28:
        return None
    a, b = np.asarray(a), np.asarray(b)
    wa, wb = label_width(a), label_width(b)
    if wa is None or wb is None:
        return None
    width = max(wa, wb)
    counts = np.zeros((na, nb), np.int64)
    if kern.pair_counts(as_width(a, width), as_width(b, width), nb, counts, width):
        return None
    return counts


def segment_boxes(
    compact: npt.NDArray[np.integer], k: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Pixel count and bounding box of every segment of a compact map, in one pass per axis.

    Parameters
    ----------
    compact : ndarray of int, shape (H, W)
        Compact map: 0 = void, ``1..k`` = segments.
    k : int
        Number of segments.

    Returns
    -------
    areas : ndarray of int64, shape (k,)
        Pixel count of segment ``i + 1``.
    boxes : ndarray of int64, shape (k, 4)
        COCO ``(x, y, w, h)`` of segment ``i + 1``; ``(0, 0, 0, 0)`` when it has no pixel.

    Examples
    --------
    >>> areas, boxes = segment_boxes(np.array([[0, 1, 1], [2, 0, 1]]), 3)
    >>> areas.tolist(), boxes.tolist()
    ([3, 1, 0], [[1, 0, 2, 2], [0, 1, 1, 1], [0, 0, 0, 0]])
    """
    c = np.asarray(compact)
    if c.ndim != 2:
        raise ValueError(f"compact map must be 2-D, got shape {c.shape}")
    areas = np.bincount(c.ravel(), minlength=k + 1)[1 : k + 1].astype(np.int64)
    boxes = np.zeros((k, 4), np.int64)
    if (k + 1) * max(c.shape) > 1 << 25:  # many segments: avoid the large presence table
        ys, xs = np.nonzero(c)
        lab = c[ys, xs].astype(np.int64) - 1
        lo = np.full((k, 2), np.iinfo(np.int64).max)
        hi = np.full((k, 2), -1)
        for col, v in ((0, xs), (1, ys)):
            np.minimum.at(lo[:, col], lab, v)
            np.maximum.at(hi[:, col], lab, v)
        boxes[:, :2] = lo
        boxes[:, 2:] = hi - lo + 1
        boxes[areas == 0] = 0
        return areas, boxes
    for axis, (lo_col, len_col) in ((0, (1, 3)), (1, (0, 2))):
        # which segments occur in each row (axis=0) / column (axis=1): (k + 1) x n presence table
        n = c.shape[axis]
        index = np.arange(n).reshape((-1, 1) if axis == 0 else (1, -1))
        codes = (c.astype(np.int64) * n + index).ravel()
        present = np.bincount(codes, minlength=(k + 1) * n)[: (k + 1) * n].reshape(k + 1, n)[1:] > 0
        first = np.argmax(present, axis=1)
        last = n - 1 - np.argmax(present[:, ::-1], axis=1)
        boxes[:, lo_col] = first
        boxes[:, len_col] = last - first + 1
    boxes[areas == 0] = 0
    return areas, boxes
