"""Label Studio's brush RLE (``@thi.ng/rle-pack``) and bitmask PNG decoders.

Public names are re-exported by :mod:`agreement.io.labelstudio`.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._checks import short
from ..errors import AnnotationError, FormatError
from ._files import image_size, load_image
from ._limits import Limits
from ._shapes import Mask

__all__ = ["Bitmask", "Brush", "bitmask_png", "brush_geometry", "decode_brush",
           "decode_rle_words"]


class _Bits:
    """MSB-first bit reader over a byte string (Python ints for fields, numpy for literals)."""

    def __init__(self, data: npt.NDArray[np.uint8]) -> None:
        self.bits = np.unpackbits(data)
        self.text = (self.bits + ord("0")).tobytes()
        self.pos = 0

    def read(self, n: int) -> int:
        if self.pos + n > len(self.text):
            raise EOFError
        value = int(self.text[self.pos : self.pos + n], 2)
        self.pos += n
        return value

    def words(self, count: int, size: int) -> npt.NDArray[np.uint8]:
        end = self.pos + count * size
        if end > len(self.bits):
            raise EOFError
        chunk = self.bits[self.pos : end].reshape(count, size)
        self.pos = end
        return (chunk.astype(np.uint16) << np.arange(size - 1, -1, -1, dtype=np.uint16)).sum(
            axis=1).astype(np.uint8)


def _header(data: npt.NDArray[np.uint8], where: Mapping[str, Any]) -> tuple[_Bits, int]:
    if data.size < 7:
        raise AnnotationError(f"brush RLE must hold a 53-bit header, got {data.size} bytes",
                              **where)
    bits = _Bits(data)
    num, word = bits.read(32), bits.read(5) + 1
    sizes = [bits.read(4) + 1 for _ in range(4)]
    if word != 8 or sizes != [3, 4, 8, 16]:
        raise AnnotationError(f"brush RLE header must be Label Studio's (word size 8, run sizes "
                              f"[3, 4, 8, 16]), got word size {word}, run sizes {sizes}", **where)
    return bits, num


def _as_bytes(rle: Any, where: Mapping[str, Any]) -> npt.NDArray[np.uint8]:
    if isinstance(rle, bytes | bytearray):
        return np.frombuffer(bytes(rle), dtype=np.uint8)
    packed = _byte_values(rle) if isinstance(rle, list | tuple) else None
    if packed is None:
        raise FormatError(f"brush rle must be a list of integers 0..255, got {short(rle)}",
                          **where)
    return np.frombuffer(packed, dtype=np.uint8)


def _byte_values(rle: list | tuple) -> bytes | None:
    """The bytes of ``rle`` when each item is an int 0..255 (no bool, float, string), else
    None: one pass over the items' types and one ``bytes`` (which refuses values outside
    0..255), instead of a Python-level test of each item."""
    if not set(map(type, rle)) <= {int}:
        return None
    try:
        return bytes(rle)
    except ValueError:
        return None


def decode_rle_words(rle: Any, *, expected: int | None = None,
                     where: Mapping[str, Any] | None = None) -> npt.NDArray[np.uint8]:
    """Decode Label Studio's brush RLE (``@thi.ng/rle-pack``) to its word stream.

    Parameters
    ----------
    rle : sequence of int in 0..255, or bytes
        ``value.rle`` of a brush result.
    expected : int, optional
        The number of words the image has (``4 * width * height``); a header claiming another
        number is refused **before** anything is allocated.
    where : mapping, optional
        ``file``, ``image``, ``shape``, ``annotator`` for error messages.

    Returns
    -------
    ndarray of uint8
        The decoded words (RGBA interleaved, row-major, for a brush).

    Raises
    ------
    AnnotationError
        Bad header, header size other than ``expected``, runs longer than the header says, or
        a stream that ends early.

    Examples
    --------
    >>> v = [0, 0, 0, 18, 57, 27, 252, 96, 32, 1, 0, 6, 0, 40, 0, 192, 3, 128, 17, 56, 32]
    >>> decode_rle_words(v).tolist()
    [1, 1, 1, 1, 2, 3, 5, 6, 7, 8, 4, 4, 4, 4, 4, 4, 4, 4]
    """
    where = dict(where or {})
    data = _as_bytes(rle, where)
    bits, num = _header(data, where)
    if expected is not None and num != expected:
        raise AnnotationError(f"brush RLE header must claim {expected} words (4 x width x height "
                              f"of the image), got {num}; refused before decoding", **where)
    sizes = (3, 4, 8, 16)
    vals: list[npt.NDArray[np.uint8]] = []
    lens: list[Any] = []
    i = 0
    try:
        while i < num:
            repeat, k = bits.read(1), bits.read(2)
            n = bits.read(sizes[k]) + 1
            if i + n > num:
                raise AnnotationError(f"brush RLE runs must end at the {num} words the header "
                                      f"claims, got a run to word {i + n} (longer)", **where)
            if repeat:
                vals.append(np.array([bits.read(8)], np.uint8))
                lens.append(n)
            else:
                vals.append(bits.words(n, 8))
                lens.append(np.ones(n, np.int64))
            i += n
    except EOFError:
        raise AnnotationError(f"brush RLE must encode {num} words, got a stream that ends after "
                              f"{i} (truncated)", **where) from None
    if not vals:
        return np.zeros(0, np.uint8)
    counts = np.concatenate([np.atleast_1d(x) for x in lens]).astype(np.int64)
    return np.repeat(np.concatenate(vals), counts)


def decode_brush(rle: Any, width: int, height: int, *, threshold: int = 128,
                 where: Mapping[str, Any] | None = None) -> npt.NDArray[np.bool_]:
    """Decode a Label Studio brush to a ``(height, width)`` boolean mask (``alpha >= threshold``).

    Examples
    --------
    >>> v = [0, 0, 0, 4, 57, 27, 252, 127, 224]  # 1 RGBA pixel: a run of 4 words of 255
    >>> decode_brush(v, 1, 1).tolist()
    [[True]]
    """
    words = decode_rle_words(rle, expected=4 * width * height, where=where)
    return words[3::4].reshape(height, width) >= threshold


@dataclass(frozen=True, eq=False)
class Brush:
    """A brush region: the RLE bytes, decoded on rasterisation."""

    rle: bytes
    threshold: int
    where: tuple[tuple[str, Any], ...]

    def raster(self, height: int, width: int) -> Mask:
        return decode_brush(self.rle, width, height, threshold=self.threshold,
                            where=dict(self.where)), 0, 0


@dataclass(frozen=True, eq=False)
class Bitmask:
    """A ``bitmasklabels`` region: a full-size PNG whose alpha > 0 is the mask."""

    png: bytes
    where: tuple[tuple[str, Any], ...] = ()
    limits: Limits | None = None

    def raster(self, height: int, width: int) -> Mask:
        where = dict(self.where)
        rgba, _ = load_image(io.BytesIO(self.png), limits=self.limits, convert="RGBA",
                             what="bitmask PNG", file=where.get("file"),
                             image=where.get("image"), shape=where.get("shape"))
        if rgba.shape[:2] != (height, width):
            raise AnnotationError(f"bitmask PNG must be {width}x{height} (width x height), got "
                                  f"{rgba.shape[1]}x{rgba.shape[0]}", **where)
        return rgba[:, :, 3] > 0, 0, 0


def bitmask_png(value: Mapping[str, Any], info: Any, where: Mapping[str, Any], *,
                limits: Limits | None = None) -> bytes:
    """The PNG bytes of a ``bitmasklabels`` value, checked to be ``original`` size.

    The PNG header is read (not the pixels) and a size other than the image's is refused before
    anything is decoded.
    """
    url = value.get("imageDataURL")
    if not isinstance(url, str) or not url.startswith("data:image/png;base64,"):
        raise FormatError("bitmask value must have an 'imageDataURL' PNG data URL, got "
                          f"{short(url)}", **where)
    try:
        png = base64.b64decode(url.split(",", 1)[1], validate=True)
    except ValueError as exc:
        raise FormatError(f"bitmask must be a base64 PNG, got {exc}", **where) from None
    size = image_size(io.BytesIO(png), limits=limits, what="bitmask PNG", **where)
    if size != (info.width, info.height):
        raise AnnotationError(f"bitmask PNG must be {info.width}x{info.height} (width x height) "
                              f"as original_width/original_height say, got {size[0]}x{size[1]}",
                              **where)
    return png


def brush_geometry(value: Mapping[str, Any], info: Any, *, threshold: int,
                   where: Mapping[str, Any]) -> Brush:
    """A :class:`Brush` from a ``brushlabels`` value, its header checked against the image size
    (nothing is decoded or allocated when it does not match)."""
    rle = value.get("rle")
    if not isinstance(rle, list) or value.get("format", "rle") != "rle":
        raise FormatError("brush value must have format 'rle' and an 'rle' list of bytes, got "
                          f"keys {sorted(value)}", **where)
    data = _as_bytes(rle, where)
    _, num = _header(data, where)
    if num != 4 * info.width * info.height:
        raise AnnotationError(
            f"brush RLE header must claim {4 * info.width * info.height} words "
            f"(4 x {info.width} x {info.height}), got {num}; refused before decoding", **where)
    return Brush(data.tobytes(), threshold, tuple(where.items()))
