"""File helpers shared by every reader and writer: safe paths, JSON, PNG, atomic writes."""

from __future__ import annotations

import codecs
import functools
import io
import json
import os
import re
import struct
import sys
import warnings
import zlib
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from ..errors import AnnotationError, FormatError, PathEscapeError
from ._blocks import BlockFile
from ._limits import Limits, check_image_size, resolve_limits

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


__all__ = [
    "atomic_write",
    "check_depth",
    "check_file_size",
    "image_size",
    "inside",
    "inside_path",
    "load_image",
    "read_bytes",
    "read_json",
    "read_json_array",
    "read_json_object",
    "read_png_ids",
    "read_png_rgb",
    "read_toml",
    "write_png_rgb",
]


def inside(base: str | os.PathLike[str], relative: str, *, file: str | os.PathLike[str],
           image: str | None = None) -> Path:
    """Resolve ``relative`` (a path written in a dataset file) under ``base``, refusing escapes:
    :func:`inside_path` as a Path."""
    return Path(inside_path(base, relative, file=file, image=image))


def inside_path(base: str | os.PathLike[str], relative: str, *,
                file: str | os.PathLike[str], image: str | None = None) -> str:
    """The resolved path (a str) of ``relative`` under ``base``, refusing escapes.

    A reader checks every name of its file with it while parsing: no Path is made (a Path
    interns its parts, and the interned names' table keeps the size it grew to).

    Parameters
    ----------
    base
        The dataset folder the path must stay in.
    relative
        The path as written in the file (absolute paths and ``..`` that leave ``base`` are refused).
    file, image
        For the error message.

    Raises
    ------
    PathEscapeError
        The path leaves ``base``.
    """
    base = os.fspath(base)
    base_path = _resolved(base, None if os.path.isabs(base) else os.getcwd())
    if not isinstance(relative, str) or not relative or "\x00" in relative:
        raise PathEscapeError(f"file name must be a non-empty string, got {relative!r}",
                              file=file, image=image)
    root = str(base_path)
    candidate = os.path.realpath(os.path.join(root, relative))
    if os.path.isabs(relative) or not (
        candidate == root or candidate.startswith(root.rstrip(os.sep) + os.sep)
    ):
        raise PathEscapeError(
            f"file name must stay inside the dataset folder {root!r}, got {relative!r}",
            file=file, image=image,
        )
    return candidate


@functools.lru_cache(maxsize=64)
def _resolved(base: str | bytes, cwd: str | None) -> Path:
    """``Path(base).resolve()`` (``cwd``: the working folder a relative ``base`` is read
    from), once per dataset folder: :func:`inside` is called for every image of a file, twice
    (parsing it, then reading the image)."""
    return Path(os.fsdecode(base)).resolve()


def check_file_size(size: int, limits: Limits, *, what: str,
                    file: str | os.PathLike[str]) -> None:
    """Refuse a file (or decompressed content) of ``size`` bytes beyond ``max_file_bytes``."""
    if size > limits.max_file_bytes:
        raise FormatError(f"{what} must be at most {limits.max_file_bytes:,} bytes "
                          f"(max_file_bytes; {limits.hint('max_file_bytes')}), got {size:,} "
                          "bytes", file=file)


def read_bytes(path: str | os.PathLike[str], *, what: str = "file",
               limits: Limits | None = None) -> bytes:
    """The bytes of a file no larger than :attr:`Limits.max_file_bytes`.

    Raises
    ------
    FormatError
        Missing, a folder, unreadable, or larger than the limit (checked before reading).
    """
    limits = resolve_limits(limits)
    with _open_file(path, what, limits) as fh:
        size = os.fstat(fh.fileno()).st_size
        # Ask for what the file holds (plus one byte, to see a file still growing), not for
        # the limit: a read of n bytes reserves n bytes before it reads.
        data = fh.read(size + 1 if size else limits.max_file_bytes + 1)
        check_file_size(len(data), limits, what=what, file=path)
        return data


@contextmanager
def _open_file(path: str | os.PathLike[str], what: str, limits: Limits) -> Iterator[Any]:
    """The file open for reading, its size checked; every OSError (reading too) ours."""
    try:
        with open(path, "rb") as fh:
            check_file_size(os.fstat(fh.fileno()).st_size, limits, what=what, file=path)
            yield fh
    except FileNotFoundError:
        raise FormatError("file must exist, got no such file", file=path) from None
    except IsADirectoryError:
        raise FormatError(f"path must be a {what}, got a folder", file=path) from None
    except OSError as exc:
        raise FormatError(f"{what} must be readable, got {exc.strerror or exc}",
                          file=path) from None


def read_json(path: str | os.PathLike[str], *, limits: Limits | None = None) -> Any:
    """Parse a JSON file, raising :class:`FormatError` naming the file and position.

    The file must be at most :attr:`Limits.max_file_bytes` long and nest at most
    :attr:`Limits.max_depth` levels; integers longer than Python's int-string limit (4,300
    digits by default) are refused. ``NaN`` and ``Infinity`` are read as floats (every id and
    size is checked to be an exact integer where it is used).
    """
    return _read_document(path, "JSON", lambda raw: json.loads(raw[0].decode("utf-8-sig")),
                          limits)


class JsonArray:
    """An array of a JSON document decoded one element at a time, each time it is iterated.

    Made by :func:`read_json_object`: it holds the text of its elements (checked when the
    document was read), zlib-compressed in blocks of about a megabyte, never the decoded
    elements nor the document's text, so iterating over a 10,000-image ``annotations`` list
    keeps one block and one entry in memory at a time. Beyond its first block the compressed
    blocks wait in an anonymous temporary file (:class:`~agreement.io._blocks.BlockFile`; in
    memory where none can be written): a reader that must hold an array until it has read the
    rest of the document (COCO panoptic's ``annotations`` before its ``categories``) holds a
    block of it, whatever its length.
    """

    __slots__ = ("_blocks", "_file", "_n")

    def __init__(self, blocks: list[tuple[bytes | tuple[int, int], array]], n: int,
                 file: BlockFile | None = None) -> None:
        self._blocks, self._n, self._file = blocks, n, file

    def __len__(self) -> int:
        return self._n

    def _text(self, packed: bytes | tuple[int, int]) -> str:
        if isinstance(packed, tuple):  # (offset, size) in the temporary file
            packed = self._file.get(*packed)  # type: ignore[union-attr]
        return zlib.decompress(packed).decode("utf-8")

    def __iter__(self) -> Iterator[Any]:
        decode = _DECODER.raw_decode
        for packed, starts in self._blocks:
            text = self._text(packed)
            for start in starts:
                yield decode(text, start)[0]

    def consume(self) -> Iterator[Any]:
        """Iterate once, each block freed once read: the array is empty afterwards (a reader
        that keeps what it needs of each element never holds the whole array's text)."""
        decode = _DECODER.raw_decode
        self._blocks.reverse()
        while self._blocks:
            packed, starts = self._blocks.pop()
            text = self._text(packed)
            del packed
            for start in starts:
                yield decode(text, start)[0]
        self._n = 0
        if self._file is not None:
            self._file.close()


class _Packer:
    """Builds a :class:`JsonArray`: element texts joined by a space (numbers stay apart) into
    blocks of about ``_BLOCK`` characters, each compressed; a block is written to the array's
    temporary file when the next one is made (one block of an array is held)."""

    def __init__(self) -> None:
        self.blocks: list[tuple[bytes | tuple[int, int], array]] = []
        self.n = 0
        self._parts: list[str] = []
        self._starts = array("I")
        self._size = 0
        self._file: BlockFile | None = None

    def add(self, text: str) -> None:
        self._starts.append(self._size)
        self._parts.append(text)
        self._size += len(text) + 1
        self.n += 1
        if self._size >= _BLOCK:
            self._flush()

    def _flush(self) -> None:
        if self._parts:
            if self.blocks and isinstance(self.blocks[-1][0], bytes):  # the last one: to disk
                if self._file is None:
                    self._file = BlockFile()
                packed, starts = self.blocks[-1]
                at = self._file.put(packed)
                if at is not None:
                    self.blocks[-1] = ((at, len(packed)), starts)
            joined = " ".join(self._parts).encode("utf-8")
            self.blocks.append((zlib.compress(joined, 1), self._starts))
        self._parts, self._starts, self._size = [], array("I"), 0

    def done(self) -> JsonArray:
        self._flush()
        return JsonArray(self.blocks, self.n, self._file)


_DECODER = json.JSONDecoder()
_WS = re.compile(r"[ \t\n\r]*")
_BLOCK = 1 << 20  # characters of element text per compressed block
_READ = 1 << 20  # bytes read at a time (more while one value is longer)


def read_json_object(path: str | os.PathLike[str], *, lazy: tuple[str, ...] = (),
                     limits: Limits | None = None) -> Any:
    """:func:`read_json`, with the top-level members named in ``lazy`` that are arrays given as
    :class:`JsonArray` (decoded element by element when iterated) instead of lists.

    Same checks, same errors: the file is read a block at a time (never its whole text at
    once), every element decoded and depth-checked once here; a document that is not an
    object, or any syntax error, goes through :func:`json.loads` of the whole file (which then
    gives the error, or the whole document).
    """
    return _read_lazy(path, lambda text, limits: _members(text, lazy, limits, path), limits)


def read_json_array(path: str | os.PathLike[str], *, limits: Limits | None = None,
                    each: Callable[[Any], None] | None = None) -> Any:
    """:func:`read_json`, with a top-level array given as a :class:`JsonArray` (decoded element
    by element when iterated) instead of a list.

    As :func:`read_json_object`: same checks, same errors; a document that is not an array (an
    object, a string, ...), or any syntax error, goes through :func:`json.loads` of the whole
    file (which then gives the error, or the whole document).

    ``each`` is called with every element of the array, in order, as it is decoded to be
    packed (a first look at the elements, for free); it must not raise. It sees every element
    once when a JsonArray is returned, and means nothing otherwise.
    """
    return _read_lazy(path, lambda text, limits: _top_array(text, limits, path, each), limits)


def _read_lazy(path: str | os.PathLike[str], body: Any, limits: Limits | None) -> Any:
    """Read a JSON file a block at a time with ``body(text, limits)``; its ``_NotLazy`` or any
    syntax error: :func:`json.loads` of the whole file instead."""
    limits = resolve_limits(limits)

    def parse(raw: list[bytes]) -> Any:
        try:
            with _open_file(path, "JSON file", limits) as fh:
                text = _Text(fh, limits.max_file_bytes)
                try:
                    out = body(text, limits)
                    if text.deferred is not None:  # as read_json: depth after syntax errors
                        raise text.deferred
                    return out
                except (ValueError, RecursionError):  # as read_json: a bad encoding is told first
                    text.drain()
                    raise
        except (json.JSONDecodeError, _NotLazy):
            raw.append(read_bytes(path, what="JSON file", limits=limits))
            return json.loads(raw[0].decode("utf-8-sig"))
    return _read_document(path, "JSON", parse, limits, read=False)


class _NotLazy(Exception):
    """The document is not of the kind read lazily (not an object, not an array)."""


class _Text:
    """A UTF-8 file decoded a block at a time: ``buf[i:]`` is what is not parsed yet."""

    def __init__(self, fh: Any, limit: int) -> None:
        self._fh, self._left = fh, limit + 1  # as read_bytes: at most limit + 1 bytes
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buf, self.i, self.eof = "", 0, False
        self.deferred: FormatError | None = None  # an error told once the whole file parses

    def more(self) -> bool:
        """Append the next block to ``buf`` (dropping the parsed part); False at the end."""
        if self.eof:
            return False
        size = min(max(_READ, len(self.buf) - self.i), self._left)  # doubling: long values O(n)
        raw = self._fh.read(size) if size > 0 else b""
        self._left -= len(raw)
        self.eof = not raw or self._left <= 0
        self.buf = self.buf[self.i:] + self._decoder.decode(raw, final=self.eof)
        self.i = 0
        return True

    def drain(self) -> None:
        """Decode the rest of the file (a UnicodeDecodeError if it is not UTF-8)."""
        while self.more():
            self.buf, self.i = "", 0

    def skip(self) -> str:
        """Skip whitespace; the next character ('' at the end)."""
        while True:
            self.i = _WS.match(self.buf, self.i).end()
            if self.i < len(self.buf) or not self.more():
                return self.buf[self.i:self.i + 1]

    def value(self) -> tuple[Any, int, int]:
        """Decode the value at ``i``: the value and where its text starts and ends in ``buf``."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.i)
            except json.JSONDecodeError:
                if self.more():
                    continue
                raise
            if end == len(self.buf) and self.more():  # a number may go on in the next block
                continue
            start, self.i = self.i, end
            return value, start, end

    def key(self) -> str:
        """The object key whose opening quote is at ``i``."""
        while True:
            try:
                key, end = json.decoder.scanstring(self.buf, self.i + 1)
            except json.JSONDecodeError:
                if self.more():
                    continue
                raise
            self.i = end
            return key


def _members(text: _Text, lazy: tuple[str, ...], limits: Limits,
             path: str | os.PathLike[str]) -> dict[str, Any]:
    """The top-level object of ``text``, members named in ``lazy`` packed into JsonArrays."""
    err = json.JSONDecodeError
    if text.skip() != "{":
        raise _NotLazy
    out: dict[str, Any] = {}
    text.i += 1
    if text.skip() == "}":
        text.i += 1
    else:
        while True:
            if text.skip() != '"':
                raise err("Expecting property name enclosed in double quotes", text.buf, text.i)
            key = text.key()
            if text.skip() != ":":
                raise err("Expecting ':' delimiter", text.buf, text.i)
            text.i += 1
            if key in lazy and text.skip() == "[":
                out[key] = _array(text, limits, path, depth=2)
            else:
                text.skip()
                out[key] = text.value()[0]
            c = text.skip()
            if c == "}":
                text.i += 1
                break
            if c != ",":
                raise err("Expecting ',' delimiter", text.buf, text.i)
            text.i += 1
    if text.skip() != "":
        raise err("Extra data", text.buf, text.i)
    return out


def _top_array(text: _Text, limits: Limits, path: str | os.PathLike[str],
               each: Callable[[Any], None] | None) -> JsonArray:
    """The top-level array of ``text``, packed into a JsonArray."""
    if text.skip() != "[":
        raise _NotLazy
    out = _array(text, limits, path, depth=1, each=each)
    if text.skip() != "":
        raise json.JSONDecodeError("Extra data", text.buf, text.i)
    return out


def _array(text: _Text, limits: Limits, path: str | os.PathLike[str], *, depth: int,
           each: Callable[[Any], None] | None = None) -> JsonArray:
    """The array whose ``[`` is at ``text.i`` (at ``depth`` in its document), each element
    decoded once to find its end and check its depth (and shown to ``each``), its text
    packed."""
    err = json.JSONDecodeError
    packer = _Packer()
    text.i += 1
    if text.skip() == "]":
        text.i += 1
        return packer.done()
    while True:
        text.skip()
        element, start, end = text.value()
        piece = text.buf[start:end]
        # an element nests no deeper than it has containers, each opened by a bracket or a
        # brace (those in strings only add to the count)
        if text.deferred is None and isinstance(element, dict | list) and (
                depth + piece.count("[") + piece.count("{") > limits.max_depth):
            try:
                check_depth(element, limits, file=path, top=depth + 1)
            except FormatError as exc:  # told once the rest parses (a syntax error first)
                text.deferred = exc
        if text.deferred is None:
            if each is not None:
                each(element)
            packer.add(piece)
        del piece
        del element
        c = text.skip()
        if c == "]":
            text.i += 1
            return packer.done()
        if c != ",":
            raise err("Expecting ',' delimiter", text.buf, text.i)
        text.i += 1


def read_toml(path: str | os.PathLike[str], *, limits: Limits | None = None) -> Any:
    """Parse a TOML file with the same guarantees as :func:`read_json`."""
    return _read_document(path, "TOML", lambda raw: tomllib.loads(raw[0].decode("utf-8")),
                          limits)


def _read_document(path: str | os.PathLike[str], kind: str, parse: Any,
                   limits: Limits | None, *, read: bool = True) -> Any:
    """Read, parse and depth-check a JSON or TOML file, every failure a FormatError
    (``read=False``: ``parse`` reads the file itself)."""
    limits = resolve_limits(limits)
    raw: list[bytes] = [read_bytes(path, what=f"{kind} file", limits=limits)] if read else []
    try:
        data = parse(raw)  # a box: the parser may empty it once the text is decoded
    except FormatError:  # already ours (a ValueError too: let it through as it is)
        raise
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"file must be valid JSON, got an error at line {exc.lineno} column {exc.colno}: "
            f"{exc.msg}",
            file=path,
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise FormatError(f"file must be valid TOML, got {exc}", file=path) from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"file must be UTF-8 text, got {exc.reason}", file=path) from None
    except RecursionError:
        raise FormatError(f"{kind} must nest at most {limits.max_depth} levels deep "
                          "(max_depth), got a far deeper nesting", file=path) from None
    except ValueError as exc:  # an integer beyond Python's int-string limit
        raise FormatError(f"{kind} numbers must be at most {sys.get_int_max_str_digits()} "
                          f"digits long, got "
                          f"{_long_number(raw[0] if raw else read_bytes(path, limits=limits))}",
                          file=path) from exc
    check_depth(data, limits, file=path)
    return data


def _long_number(raw: bytes) -> str:
    found = re.search(rb"[0-9]{%d,}" % (sys.get_int_max_str_digits() + 1), raw)
    if found is None:
        return "a longer one"
    line = raw.count(b"\n", 0, found.start()) + 1
    return f"one of {found.end() - found.start():,} digits at line {line}"


def check_depth(data: Any, limits: Limits, *, file: str | os.PathLike[str] | None = None,
                top: int = 1) -> None:
    """Refuse ``data`` (parsed JSON / TOML) nested deeper than :attr:`Limits.max_depth`.

    Iterative, so that no depth makes it fail; only containers are visited.

    Examples
    --------
    >>> check_depth([[1], {"a": [2]}], Limits(max_depth=3))
    >>> check_depth(None, Limits(max_depth=3))
    >>> check_depth([[[[1]]]], Limits(max_depth=3))
    Traceback (most recent call last):
    ...
    agreement.errors.FormatError: data must nest at most 3 levels deep (max_depth; raise it with \
AGREEMENT_MAX_DEPTH=... or limits=Limits(max_depth=...)), got deeper
    """
    limit = limits.max_depth
    stack: list[tuple[Any, int]] = [(data, top)]  # top: the depth of data in its document
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise FormatError(f"data must nest at most {limit} levels deep (max_depth; "
                              f"{limits.hint('max_depth')}), got deeper", file=file)
        kind = type(node)
        children = (node.values() if kind is dict else node if kind is list
                    else node.values() if isinstance(node, dict)
                    else node if isinstance(node, list) else ())
        below = depth + 1
        for c in children:  # (a loop, not a generator: a few hundred thousand per large file)
            kind = type(c)
            if kind is dict or kind is list or (kind not in _SCALARS
                                                and isinstance(c, dict | list)):
                stack.append((c, below))


#: Types of JSON / TOML values that hold nothing (the rest are checked with ``isinstance``).
_SCALARS = frozenset({int, float, str, bool, type(None)})


def read_png_rgb(
    path: str | os.PathLike[str], *, image: str | None = None
) -> npt.NDArray[np.uint8]:
    """Read a PNG as an ``(H, W, 3)`` uint8 RGB array (alpha is ignored, as panopticapi does).

    Raises
    ------
    FormatError
        Missing, unreadable, not a PNG, or not RGB / RGBA.
    """
    with _open_png(path, image=image) as img:
        arr = np.asarray(img)
    return arr[:, :, :3]


def read_png_ids(
    path: str | os.PathLike[str], *, image: str | None = None
) -> npt.NDArray[np.int32]:
    """Read an RGB(A) panoptic PNG straight into segment ids ``R + 256 G + 256^2 B``.

    Same result as ``rgb2id(read_png_rgb(path))`` with one packing pass instead of an RGB copy
    and per-channel arithmetic: PIL packs each pixel into 4 bytes, read as little-endian
    uint32 with the fourth byte masked off.

    Raises
    ------
    FormatError
        Missing, unreadable, not a PNG, or not RGB / RGBA.
    """
    with _open_png(path, image=image) as img:
        raw = img.tobytes("raw", "RGBX" if img.mode == "RGB" else "RGBA")
        shape = (img.height, img.width)
    packed = np.frombuffer(raw, dtype="<u4").reshape(shape)
    return np.bitwise_and(packed, 0xFFFFFF, dtype="<u4").view("<i4").astype(np.int32, copy=False)


@contextmanager
def _open_png(path: str | os.PathLike[str], *, image: str | None) -> Iterator[Image.Image]:
    """Open, check and decode a panoptic PNG (RGB or RGBA), with errors as FormatError."""
    try:
        with Image.open(path) as img:
            if img.format != "PNG":
                raise FormatError(f"file must be a PNG, got {img.format}", file=path, image=image)
            if img.mode not in ("RGB", "RGBA"):
                raise FormatError(
                    f"panoptic PNG must be RGB or RGBA, got mode {img.mode!r}",
                    file=path,
                    image=image,
                )
            img.load()
            yield img
    except FileNotFoundError:
        raise FormatError("PNG must exist, got no such file", file=path, image=image) from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise FormatError(f"PNG must be readable, got {exc}", file=path, image=image) from None


#: Exceptions Pillow raises on a broken or truncated file (zlib and struct ones included).
_PIL_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error,
               zlib.error)


def image_size(
    source: str | os.PathLike[str] | io.BytesIO,
    *,
    limits: Limits | None = None,
    formats: tuple[str, ...] = ("PNG",),
    what: str = "PNG",
    **where: Any,
) -> tuple[int, int]:
    """``(width, height)`` from an image's header (no pixel decoded), checked against ``limits``.

    Raises
    ------
    FormatError
        Missing, not one of ``formats``, or a broken header.
    AnnotationError
        A size beyond ``limits``.
    """
    limits = resolve_limits(limits)
    with _open_image(source, formats=formats, limits=limits, what=what, where=where) as img:
        size = img.size
    check_image_size(size[0], size[1], limits, what=f"{what} size", **where)
    return size


@contextmanager
def _open_image(source: str | os.PathLike[str] | io.BytesIO, *, formats: tuple[str, ...],
                limits: Limits, what: str, where: dict[str, Any]) -> Iterator[Image.Image]:
    """Pillow's ``Image.open`` restricted to ``formats``, its failures made ours; a PNG's
    declared size is checked against ``limits`` from its header before Pillow sees it."""
    declared = _png_size(source)
    if declared is not None:
        check_image_size(*declared, limits, what=f"{what} size", **where)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # ours is checked
            img = Image.open(source, formats=list(formats))
    except FileNotFoundError:
        raise FormatError(f"{what} must exist, got no such file", **where) from None
    except Image.DecompressionBombError as exc:
        raise AnnotationError(f"{what} size must be at most {limits.max_pixels:,} pixels "
                              f"(max_pixels), got {_pil_message(exc)}", **where) from None
    except UnidentifiedImageError:
        raise FormatError(f"{what} must be a readable image ({', '.join(formats)}), got a file "
                          "in none of these formats", **where) from None
    except _PIL_ERRORS as exc:
        raise FormatError(f"{what} must be a readable image ({', '.join(formats)}), got "
                          f"{_pil_message(exc)}", **where) from None
    with img:
        yield img


def load_image(
    source: str | os.PathLike[str] | io.BytesIO,
    *,
    limits: Limits | None = None,
    formats: tuple[str, ...] = ("PNG",),
    convert: str | None = None,
    what: str = "PNG",
    file: str | os.PathLike[str] | None = None,
    image: str | None = None,
    shape: str | None = None,
) -> tuple[npt.NDArray[Any], str]:
    """Decode an image with Pillow after checking the size its header declares.

    Only the given ``formats`` are tried (Pillow's other parsers never see the bytes), the
    header's width and height are checked against ``limits`` before any pixel is decoded, and
    every Pillow failure (truncated data, a broken chunk, a decompression bomb) is a
    :class:`FormatError` / :class:`AnnotationError` naming ``file``, ``image`` and ``shape``.

    Returns
    -------
    (ndarray, str)
        The pixels (converted to ``convert`` when given) and the file's own mode.
    """
    limits = resolve_limits(limits)
    where = {"file": file if file is not None else (None if isinstance(source, io.BytesIO)
                                                    else source),
             "image": image, "shape": shape}
    with _open_image(source, formats=formats, limits=limits, what=what, where=where) as img:
        mode = img.mode
        check_image_size(img.width, img.height, limits, what=f"{what} size", **where)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                pixels = np.asarray(img.convert(convert) if convert else img)
        except _PIL_ERRORS as exc:
            raise FormatError(f"{what} must be complete and readable, got {_pil_message(exc)}",
                              **where) from None
    return pixels, mode


def _png_size(source: str | os.PathLike[str] | io.BytesIO) -> tuple[int, int] | None:
    """``(width, height)`` of a PNG's IHDR chunk, or None when ``source`` is not a PNG."""
    try:
        if isinstance(source, io.BytesIO):
            head = source.getbuffer()[:24].tobytes()
        else:
            with open(source, "rb") as fh:
                head = fh.read(24)
    except OSError:
        return None  # Pillow reports it
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def _pil_message(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def write_png_rgb(path: str | os.PathLike[str], rgb: npt.NDArray[np.uint8]) -> None:
    """Write an ``(H, W, 3)`` uint8 array as PNG, atomically."""
    with atomic_write(path) as tmp:
        Image.fromarray(np.ascontiguousarray(rgb), mode="RGB").save(
            tmp, format="PNG", optimize=False
        )


@contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only when the block succeeds.

    The file gets the permissions of an ordinary new file (``0o666`` minus the umask). An
    existing folder at ``path`` is refused. The temporary is named
    ``.<name>.agreement-tmp-<pid>-<random>``; those of killed runs are deleted by the next write
    of the same path (none can be inside a folder an :func:`~._outdir.output_folder` of this
    process is filling: it is not searched for them).
    """
    from ._outdir import clean_leftovers, in_fresh_folder, temp_name

    target = Path(path)
    if target.is_dir():
        raise FormatError("output path must be a file, got an existing folder", file=target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not in_fresh_folder(target):
        clean_leftovers(target)  # the temporaries of killed runs
    tmp = temp_name(target)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # 0o666 minus umask
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

