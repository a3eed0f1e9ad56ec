"""Label Studio's brush RLE encoder (``@thi.ng/rle-pack`` layout), the inverse of
:func:`agreement.io._lsrle.decode_rle_words`.

Header: the number of words (32 bits), word size - 1 (5 bits: 7), the four run-size fields - 1
(4 bits each: 2, 3, 7, 15); then one chunk per run ``1, k (2 bits), n - 1 (rleSizes[k] bits),
value (8 bits)`` with the smallest ``k`` whose size holds ``n``; runs longer than ``2**16``
words are split; zero padding to a byte. Only repeated runs are written (a literal chunk would
be shorter for noisy data, never for masks); every decoder of the format reads them.

A brush mask is written as Label Studio's SDK writes it (``mask2rle``): every pixel's four RGBA
words hold the same value, 255 in the mask and 0 outside, so the alpha channel is the mask.
Work is vectorised over runs, never over pixels, and chunked so that temporaries stay small.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["encode_brush", "encode_rle_words"]

_SIZES = np.array([3, 4, 8, 16], dtype=np.int64)
_LIMITS = np.int64(1) << _SIZES  # longest run each size field holds
_MAX_RUN = int(_LIMITS[-1])
_HEADER_BITS = 53
_BLOCK = 1 << 16  # chunks expanded to bits at a time


def _header(num: int) -> int:
    code = num
    for value, bits in ((7, 5), (2, 4), (3, 4), (7, 4), (15, 4)):
        code = (code << bits) | value
    return code


def _bits(codes: npt.NDArray[np.int64], nbits: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """Concatenate variable-length codes, most significant bit first, as 0/1 bytes."""
    idx = np.repeat(np.arange(codes.size), nbits)
    starts = np.cumsum(nbits) - nbits
    shift = nbits[idx] - 1 - (np.arange(idx.size) - starts[idx])
    return ((codes[idx] >> shift) & 1).astype(np.uint8)


def _pack_runs(values: npt.NDArray[np.integer], lengths: npt.NDArray[np.integer],
               num: int) -> list[int]:
    values = np.asarray(values, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    pieces = -(-lengths // _MAX_RUN)  # runs split at 2**16 words
    vals = np.repeat(values, pieces)
    lens = np.full(int(pieces.sum()), _MAX_RUN, dtype=np.int64)
    lens[np.cumsum(pieces) - 1] = lengths - _MAX_RUN * (pieces - 1)
    k = np.searchsorted(_LIMITS, lens)
    size = _SIZES[k]
    codes = (np.int64(1) << (size + 10)) | (k << (size + 8)) | ((lens - 1) << 8) | vals
    nbits = size + 11
    parts = [_bits(np.array([_header(num)], np.int64), np.array([_HEADER_BITS], np.int64))]
    for lo in range(0, codes.size, _BLOCK):
        parts.append(_bits(codes[lo : lo + _BLOCK], nbits[lo : lo + _BLOCK]))
    return np.packbits(np.concatenate(parts)).tolist()


def encode_rle_words(words: npt.ArrayLike) -> list[int]:
    """Encode a word stream (uint8 values) as Label Studio's brush RLE bytes.

    Examples
    --------
    >>> from agreement.io._lsrle import decode_rle_words
    >>> words = [1, 1, 1, 1, 2, 3, 5, 6, 7, 8, 4, 4, 4, 4, 4, 4, 4, 4]
    >>> decode_rle_words(encode_rle_words(words)).tolist() == words
    True
    """
    w = np.asarray(words).ravel()
    if w.size and (w.min() < 0 or w.max() > 255):
        raise ValueError(f"words must be in 0..255, got range [{w.min()}, {w.max()}]")
    w = w.astype(np.uint8)
    if w.size == 0:
        return _pack_runs(np.zeros(0, np.int64), np.zeros(0, np.int64), 0)
    starts = np.concatenate([[0], np.flatnonzero(w[1:] != w[:-1]) + 1])
    lengths = np.diff(np.concatenate([starts, [w.size]]))
    return _pack_runs(w[starts], lengths, w.size)


def encode_brush(mask: npt.ArrayLike, *, top: int = 0, left: int = 0,
                 height: int | None = None, width: int | None = None) -> list[int]:
    """Label Studio brush RLE of a mask placed at ``(top, left)`` on a ``height x width`` image.

    Parameters
    ----------
    mask : array_like of bool, shape (h, w)
        The mask, or a crop of it on its box.
    top, left : int
        Where the crop sits in the image.
    height, width : int, optional
        The image size (default: the crop's, with ``top = left = 0``).

    Returns
    -------
    list of int
        The ``value.rle`` bytes: ``4 * width * height`` words, alpha 255 in the mask.

    Examples
    --------
    >>> from agreement.io._lsrle import decode_brush
    >>> rle = encode_brush([[True]], top=1, left=2, height=2, width=3)
    >>> decode_brush(rle, 3, 2).astype(int).tolist()
    [[0, 0, 0], [0, 0, 1]]
    """
    crop = np.asarray(mask, dtype=bool)
    h, w = crop.shape
    height = h if height is None else height
    width = w if width is None else width
    if top < 0 or left < 0 or top + h > height or left + w > width:
        raise ValueError(f"mask crop {w}x{h} at ({left}, {top}) must lie inside the "
                         f"{width}x{height} image")
    total = height * width
    edges = np.diff(np.pad(crop.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    rows_s, cols_s = np.nonzero(edges == 1)
    rows_e, cols_e = np.nonzero(edges == -1)
    starts = (rows_s + top) * width + left + cols_s
    ends = (rows_e + top) * width + left + cols_e
    if starts.size:  # a run ending at a row's end and one starting the next row are one run
        keep = np.concatenate([[True], starts[1:] != ends[:-1]])
        starts, ends = starts[keep], ends[np.concatenate([keep[1:], [True]])]
    bounds = np.concatenate([[0], np.column_stack([starts, ends]).ravel(), [total]])
    lengths = np.diff(bounds)
    values = np.where(np.arange(lengths.size) % 2 == 1, 255, 0)
    nonzero = lengths > 0
    return _pack_runs(values[nonzero], 4 * lengths[nonzero], 4 * total)
