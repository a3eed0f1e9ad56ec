"""Decoding of panoptic PNGs (COCO panoptic ids ``R + 256 G + 256^2 B``) at compiled speed.

The PNGs panoptic exports write are 8-bit RGB or RGBA, not interlaced. For those the chunks are
walked here (CRCs checked), the image data is inflated by libdeflate (the ``deflate`` package:
on such maps, long runs of 3- or 4-byte periods, it inflates an order of magnitude faster than
zlib, which is where every general PNG decoder spends its time) and the compiled kernel undoes
the row filters straight into segment ids. Everything else (palette or gray images, 16-bit,
interlaced, not a PNG at all) and installs without the compiled kernels go through Pillow,
which refuses what is not RGB / RGBA exactly as before.

Before anything is allocated (on every path, Pillow's included) the header's size is checked
against the size the JSON declares and against :class:`~agreement.io._limits.Limits`
(``max_side``, ``max_pixels``): a decompression bomb is refused naming the file.
"""

from __future__ import annotations

import os
import struct
import warnings
import zlib

import numpy as np
import numpy.typing as npt

from .. import _native
from ..errors import AnnotationError, FormatError
from ._limits import Limits, check_image_size, resolve_limits

__all__ = ["read_png_ids"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHUNK = struct.Struct(">I4s")
_IHDR = struct.Struct(">IIBBBBB")
_FAST_COLOR_TYPES = {2: 3, 6: 4}  # RGB, RGBA -> bytes per pixel (at bit depth 8)

try:
    import deflate as _deflate
except ImportError:  # pragma: no cover - a declared dependency; Pillow decodes then
    _deflate = None


def read_png_ids(path: str | os.PathLike[str], *, image: str | None = None,
                 shape: tuple[int, int] | None = None,
                 limits: Limits | None = None) -> npt.NDArray[np.int32]:
    """Read a panoptic PNG straight into segment ids ``R + 256 G + 256^2 B`` (alpha ignored).

    Parameters
    ----------
    path
        The PNG file.
    image : str, optional
        The image's name, for error messages.
    shape : (height, width), optional
        The size the annotation declares; a PNG of another size is refused before decoding.
    limits : Limits, optional
        Larger images (``max_side``, ``max_pixels``) are refused before anything is allocated;
        default :func:`~agreement.io._limits.resolve_limits` (the environment's).

    Returns
    -------
    ndarray of int32, shape (H, W)

    Raises
    ------
    FormatError
        Missing or unreadable file, not a PNG, not RGB / RGBA, truncated or corrupt data.
    AnnotationError
        The PNG's size differs from ``shape``, or is beyond ``limits``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from agreement.io._files import write_png_rgb
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_png_rgb(Path(tmp) / "m.png", np.array([[[1, 2, 3], [0, 0, 0]]], np.uint8))
    ...     read_png_ids(Path(tmp) / "m.png").tolist()
    [[197121, 0]]
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise FormatError("PNG must exist, got no such file", file=path, image=image) from None
    except OSError as exc:
        raise FormatError(f"PNG must be readable, got {exc}", file=path, image=image) from None
    if not data.startswith(_SIGNATURE):
        return _pillow_ids(path, image)  # not a PNG: Pillow names what it is
    width, height, depth, color, compression, filtering, interlace = _header(data, path, image)
    if shape is not None and (height, width) != tuple(shape):
        raise AnnotationError(
            f"PNG size must equal the JSON's image size {shape[1]}x{shape[0]} (width x height), "
            f"got {width}x{height}", file=path, image=image)
    check_image_size(width, height, resolve_limits(limits), what="PNG size", file=path,
                     image=image)
    bpp = _FAST_COLOR_TYPES.get(color)
    kern = _native.kernels
    if (bpp is None or depth != 8 or compression or filtering or interlace or kern is None
            or _deflate is None):
        return _pillow_ids(path, image)
    raw = _inflate(_image_data(data, path, image), height * (1 + width * bpp), path, image)
    ids = np.empty((height, width), np.int32)
    bad_row = kern.png_ids(raw, height, width, bpp, ids)
    if bad_row >= 0:
        raise FormatError(f"PNG must be readable, got corrupt image data (filter type "
                          f"{raw[bad_row * (1 + width * bpp)]} in row {bad_row})",
                          file=path, image=image)
    return ids


def _header(data: bytes, path: str | os.PathLike[str],
            image: str | None) -> tuple[int, int, int, int, int, int, int]:
    """The IHDR fields, checked: it must come first, whole, with a valid CRC and size."""
    if len(data) < 33 or data[8:16] != b"\x00\x00\x00\x0dIHDR":
        raise FormatError("PNG must be readable, got a truncated or missing header (IHDR)",
                          file=path, image=image)
    if zlib.crc32(data[12:29]) != int.from_bytes(data[29:33], "big"):
        raise FormatError("PNG must be readable, got a corrupt header (IHDR CRC)", file=path,
                          image=image)
    fields = _IHDR.unpack_from(data, 16)
    if fields[0] == 0 or fields[1] == 0:
        raise FormatError(f"PNG size must be positive, got {fields[0]}x{fields[1]}", file=path,
                          image=image)
    return fields


def _image_data(data: bytes, path: str | os.PathLike[str],
                image: str | None) -> bytes | memoryview:
    """The concatenated IDAT chunks (no copy when there is one); every chunk's CRC is checked."""
    view = memoryview(data)
    parts = []
    pos, end = 8, len(data)
    while pos < end:
        if pos + 12 > end:
            raise FormatError("PNG must be readable, got truncated data (a chunk header)",
                              file=path, image=image)
        length, kind = _CHUNK.unpack_from(data, pos)
        stop = pos + 8 + length
        if stop + 4 > end:
            raise FormatError(f"PNG must be readable, got truncated data ({kind!r} chunk)",
                              file=path, image=image)
        if zlib.crc32(view[pos + 4:stop]) != int.from_bytes(data[stop:stop + 4], "big"):
            raise FormatError(f"PNG must be readable, got corrupt data ({kind!r} chunk CRC)",
                              file=path, image=image)
        if kind == b"IDAT":
            parts.append(view[pos + 8:stop])
        elif kind == b"IEND":
            break
        pos = stop + 4
    if not parts:
        raise FormatError("PNG must be readable, got no image data (IDAT)", file=path,
                          image=image)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _inflate(compressed: bytes | memoryview, size: int, path: str | os.PathLike[str],
             image: str | None) -> bytearray:
    """The filtered rows: exactly ``size`` bytes, or the data is truncated or corrupt."""
    try:
        raw = _deflate.zlib_decompress(compressed, size)
    except (_deflate.DeflateError, ValueError):
        raw = None
    if raw is None or len(raw) != size:
        raise FormatError(f"PNG must be readable, got truncated or corrupt image data (expected "
                          f"{size} bytes of rows)", file=path, image=image)
    return raw


def _pillow_ids(path: str | os.PathLike[str], image: str | None) -> npt.NDArray[np.int32]:
    """Pillow's decoding (every mode; not RGB / RGBA is refused); sizes were checked before."""
    from PIL import Image

    from ._files import read_png_ids as pillow_read_png_ids

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return pillow_read_png_ids(path, image=image)
        except Image.DecompressionBombError as exc:  # not a PNG: its size was not read here
            raise FormatError(f"file must be a PNG, got an image Pillow refuses to open "
                              f"({exc})", file=path, image=image) from None
