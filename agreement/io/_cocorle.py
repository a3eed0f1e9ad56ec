"""COCO run-length masks: strict validation before pycocotools sees them.

A COCO RLE is ``{"size": [height, width], "counts": ...}`` with ``counts`` either a list of run
lengths or pycocotools' compressed string; runs alternate background / foreground, column-major
over the whole image, starting with background. pycocotools decodes whatever it is given in
fixed-width C integers (an integer ``counts`` even makes it build a string of that many bytes),
so :func:`check_coco_rle` validates everything first: the size equals the image's, every run is
an exact non-negative integer (decoded in 64-bit integers only where they provably cannot
overflow, else in Python's arbitrary precision), and the runs sum to ``height * width`` exactly.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pycocotools import mask as coco_mask

from .._checks import short
from ..errors import AnnotationError, FormatError

__all__ = ["CocoRle", "check_coco_rle", "coco_decode", "coco_string_counts"]

#: Longest group of characters of one compressed run: 12 x 5 bits = 60 bits, sign included.
_MAX_GROUP = 12


def coco_decode(rle: Mapping[str, Any]) -> npt.NDArray[np.bool_]:
    """pycocotools ``decode`` of one RLE as a C-ordered bool array.

    pycocotools 2.0.x triggers numpy 2's ``__array__(copy=...)`` DeprecationWarning inside its
    own Cython code; it is silenced here, where we cannot fix it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        out = coco_mask.decode([rle])[:, :, 0]
    return np.ascontiguousarray(out, dtype=bool)


@dataclass(frozen=True, eq=False)
class CocoRle:
    """A COCO RLE (compressed string or uncompressed counts) over the whole image.

    Made by :func:`check_coco_rle`, which has validated it.
    """

    rle: Mapping[str, Any]

    def raster(self, height: int, width: int) -> tuple[npt.NDArray[np.bool_], int, int]:
        rle = dict(self.rle)
        if isinstance(rle["counts"], list):
            rle = coco_mask.frPyObjects(rle, height, width)
        return coco_decode(rle), 0, 0


def coco_string_counts(counts: str | bytes) -> npt.NDArray[np.int64]:
    """Decode a compressed COCO RLE string to its run lengths (pycocotools' ``rleFrString``).

    Vectorised; every character must be one pycocotools writes (``'0'`` to ``'o'``) and no run
    may take more than 12 characters (60 bits), so no value can overflow.

    Raises
    ------
    ValueError
        A character outside the alphabet, a string ending inside a run, a run too long, or
        runs whose sums leave 64 bits.

    Examples
    --------
    >>> from pycocotools import mask
    >>> rle = mask.encode(np.asfortranarray(np.eye(3, dtype=np.uint8)))
    >>> coco_string_counts(rle["counts"]).tolist()
    [0, 1, 3, 1, 3, 1]
    """
    raw = counts.encode("ascii") if isinstance(counts, str) else bytes(counts)
    s = np.frombuffer(raw, dtype=np.uint8)
    if s.size == 0:
        return np.zeros(0, np.int64)
    if ((s < 48) | (s > 111)).any():
        bad = int(s[(s < 48) | (s > 111)][0])
        raise ValueError(f"compressed RLE string must use the characters '0' to 'o', got "
                         f"{chr(bad)!r}")
    c = s.astype(np.int64) - 48
    more = (c & 0x20) != 0
    if more[-1]:
        raise ValueError("compressed RLE string ends inside a number")
    ends = np.flatnonzero(~more)
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts + 1
    if int(lengths.max()) > _MAX_GROUP:
        raise ValueError(f"compressed RLE runs must take at most {_MAX_GROUP} characters, got "
                         f"{int(lengths.max())}")
    pos = np.arange(s.size) - np.repeat(starts, lengths)
    x = np.add.reduceat((c & 0x1F) << (5 * pos), starts)
    negative = (c[ends] & 0x10) != 0
    x = np.where(negative, x | (np.int64(-1) << (5 * lengths)), x)
    return _undelta(x)


def _undelta(x: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """pycocotools' delta coding: run i > 2 is stored as its difference to run i - 2."""
    out = x.copy()
    if x.size <= 3:
        return out
    bound = np.abs(x).max(initial=0)
    if int(bound) * x.size >= 1 << 62:  # partial sums might leave int64: exact Python ints
        py = x.tolist()
        for i in range(3, len(py)):
            py[i] += py[i - 2]
        if max(map(abs, py)) >= 1 << 63:
            raise ValueError("compressed RLE runs must fit 64 bits, got larger ones")
        return np.asarray(py, dtype=np.int64)
    out[1::2] = np.cumsum(x[1::2])
    out[2::2] = np.cumsum(x[2::2])
    return out


def check_coco_rle(seg: Mapping[str, Any], *, height: int, width: int,
                   where: Mapping[str, Any]) -> CocoRle:
    """Validate a COCO RLE for an image of ``height x width`` (sizes already within limits).

    Raises
    ------
    FormatError
        Not ``{"size", "counts"}``, a size that is not two integers, counts that are neither a
        list of exact non-negative integers nor a valid compressed string.
    AnnotationError
        A size other than the image's, runs that do not sum to ``height * width``.

    Examples
    --------
    >>> rle = check_coco_rle({"size": [2, 2], "counts": [1, 2, 1]}, height=2, width=2, where={})
    >>> rle.raster(2, 2)[0].astype(int).tolist()
    [[0, 1], [1, 0]]
    """
    size, counts = seg.get("size"), seg.get("counts")
    if size is None or counts is None:
        raise FormatError(f"RLE must have 'size' and 'counts', got keys "
                          f"{short(sorted(map(str, seg)))}", **where)
    if not (isinstance(size, list) and len(size) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in size)):
        raise FormatError(f"RLE size must be [height, width] integers, got {short(size)}", **where)
    if size != [height, width]:
        raise AnnotationError(f"RLE size must equal the image size [{height}, {width}] "
                              f"(height, width), got {short(size)}", **where)
    total = height * width
    if isinstance(counts, list):
        runs_sum = _check_count_list(counts, total, where)
    elif isinstance(counts, str):
        if _groups(counts) > total + 1:
            raise AnnotationError(f"RLE must have at most {total + 1} runs for {total} px, got "
                                  f"{_groups(counts)}", **where)
        try:
            runs = coco_string_counts(counts)
        except (ValueError, UnicodeEncodeError) as exc:
            raise FormatError(f"RLE counts string must be pycocotools' compressed code, got "
                              f"{exc}", **where) from None
        if runs.size and int(runs.min()) < 0:
            raise FormatError(f"RLE counts must be >= 0, got {int(runs.min())}", **where)
        if runs.size and int(runs.max()) > total:
            raise AnnotationError(f"RLE runs must cover the {width}x{height} image exactly "
                                  f"({total} px), got {int(runs.max())} px (longer) in one run",
                                  **where)
        # at most total + 1 runs of at most total each: exact in int64 below 2**31 px
        runs_sum = int(runs.sum()) if total < 1 << 31 else sum(runs.tolist())
    else:
        raise FormatError(f"RLE counts must be a list of integers or a compressed string, got "
                          f"{type(counts).__name__} {short(counts)}", **where)
    if runs_sum != total:
        longer = "longer" if runs_sum > total else "shorter"
        raise AnnotationError(f"RLE runs must cover the {width}x{height} image exactly "
                              f"({total} px), got {runs_sum} px ({longer})", **where)
    return CocoRle({"size": [height, width], "counts": counts})


def _groups(counts: str) -> int:
    """Number of runs a compressed string holds (characters without the continuation bit)."""
    s = np.frombuffer(counts.encode("ascii", "replace"), dtype=np.uint8)
    return int(np.count_nonzero(((s - np.uint8(48)) & np.uint8(0x20)) == 0))


def _check_count_list(counts: list, total: int, where: Mapping[str, Any]) -> int:
    if len(counts) > total + 1:
        raise AnnotationError(f"RLE must have at most {total + 1} runs for {total} px, got "
                              f"{len(counts)}", **where)
    for v in counts:
        if type(v) is not int or v < 0:
            raise FormatError(f"RLE counts must be integers >= 0, got {short(v)}", **where)
    return sum(counts)  # Python ints: no wrap-around
