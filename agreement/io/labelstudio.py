"""Label Studio JSON export (export type "JSON": a list of tasks) as panoptic maps.

One annotator per ``completed_by`` (its email when the export has it, else ``user-<id>``,
``unknown`` when absent). Read: ``polygonlabels`` (points in percent of ``original_width`` /
``original_height``) and ``brushlabels`` (Label Studio's bit-packed RLE of the RGBA canvas; the
alpha channel is the mask, foreground where ``alpha >= brush_threshold``). Results sharing a
region ``id`` are merged (a ``polygon`` result plus a ``labels`` result). Skipped / cancelled
annotations are left out and counted; ``parent_annotation`` / ``parent_prediction`` (copies) are
flagged; several annotations of one task by one annotator keep the latest ``updated_at``.

Image names (the documented mapping): the task's ``data`` value (``data["image"]``, else the
first text value) is read as a URL or path; the query string is dropped, %-escapes decoded, the
base name kept, and Label Studio's upload prefix of 8 hex digits and a dash is stripped
(``/data/upload/1/48c220e9-cat.jpg`` -> ``cat.jpg``; ``strip_upload_prefix=False`` keeps it).
``rename`` (a mapping or a function) is applied last.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np
import numpy.typing as npt

from ..errors import AnnotationError, FormatError
from ..model import Categories
from ._files import read_json
from ._shapes import Mask, resolve_categories
from .layers import Order, ShapeSource

__all__ = ["Brush", "decode_brush", "decode_rle_words", "image_name", "read_labelstudio",
           "read_labelstudio_sources"]

_PREFIX = re.compile(r"^[0-9a-fA-F]{8}-")
_AREA_TYPES = ("polygonlabels", "polygon", "brushlabels", "brush")
_HEADER_BITS = 53


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
    try:
        arr = np.asarray(rle, dtype=np.int64).ravel()
    except (TypeError, ValueError, OverflowError):
        arr = None
    if arr is None or (arr.size and (arr.min() < 0 or arr.max() > 255)):
        raise FormatError(f"brush rle must be a list of integers 0..255, got {str(rle)[:60]}",
                          **where)
    return arr.astype(np.uint8)


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


def image_name(value: str, *, strip_upload_prefix: bool = True) -> str:
    """The image name of a task's data value (URL or path), by the documented mapping.

    Examples
    --------
    >>> image_name("/data/upload/1/48c220e9-pexels-fox%201.jpg?x=1")
    'pexels-fox 1.jpg'
    """
    base = unquote(urlsplit(value).path).replace("\\", "/").rsplit("/", 1)[-1]
    return _PREFIX.sub("", base, count=1) if strip_upload_prefix else base


def _annotator(completed_by: Any, emails: Mapping[int, str]) -> str:
    if isinstance(completed_by, dict):
        cid = completed_by.get("id")
        return completed_by.get("email") or emails.get(cid) or f"user-{cid}"
    if isinstance(completed_by, int) and not isinstance(completed_by, bool):
        return emails.get(completed_by, f"user-{completed_by}")
    return "unknown"


def _task_image(task: dict, index: int, strip: bool, rename: Any) -> str:
    data = task.get("data")
    value = None
    if isinstance(data, dict):
        value = data.get("image")
        if not isinstance(value, str):
            value = next((v for v in data.values() if isinstance(v, str)), None)
    name = image_name(value, strip_upload_prefix=strip) if value else f"task-{task.get('id', index)}"
    if rename is None:
        return name
    return rename(name) if callable(rename) else rename.get(name, name)


def read_labelstudio_sources(
    json_path: str | os.PathLike[str],
    *,
    categories: Categories | str | os.PathLike[str] | None = None,
    stuff: tuple[str, ...] | list[str] = (),
    strip_upload_prefix: bool = True,
    rename: Mapping[str, str] | Callable[[str], str] | None = None,
    brush_threshold: int = 128,
    include_predictions: bool = False,
    order: Order = "file",
) -> dict[str, ShapeSource]:
    """Read a Label Studio JSON export: one source per annotator (``completed_by``).

    Parameters
    ----------
    json_path
    categories
        Authoritative categories (matched by label name); default: every label used in the
        file, sorted by name, ids 1, 2, ...
    stuff
        Label names that are stuff.
    strip_upload_prefix, rename
        Image-name mapping (see the module notes).
    brush_threshold : int
        Brush pixels are foreground where ``alpha >= brush_threshold`` (1 = Label Studio's own
        ``alpha > 0``; the default 128 is half coverage of anti-aliased edges).
    include_predictions : bool
        Also read each task's ``predictions`` as annotators ``prediction-<model_version>``.
        Items that are bare predictions (an ML backend's output: ``result`` without a task) are
        always read that way.
    order : {"file", "smaller_on_top"}

    Returns
    -------
    dict of str to ShapeSource

    Raises
    ------
    FormatError
        Not JSON, not a list of tasks.
    AnnotationError
        Missing ``original_width``/``original_height``, sizes that disagree within an image,
        non-finite points, a brush whose header claims another size than the image, two tasks
        mapping to one image name for one annotator.
    """
    from ._labelstudio_parse import parse_export

    path = Path(json_path)
    data = read_json(path)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        raise FormatError("Label Studio JSON export must be a list of tasks, got "
                          f"{type(data).__name__}", file=str(path))
    if not any(("annotations" in t or "result" in t) for t in data):
        raise FormatError("Label Studio JSON export must be a list of tasks with 'annotations', "
                          "got none (is this the export's -info.json?)", file=str(path))
    emails = {}
    for task in data:
        for ann in task.get("annotations") or []:
            cb = ann.get("completed_by") if isinstance(ann, dict) else None
            if isinstance(cb, dict) and cb.get("email"):
                emails[cb.get("id")] = cb["email"]
    items = parse_export(data, file=str(path), name_of=lambda t, i: _task_image(
        t, i, strip_upload_prefix, rename), annotator_of=lambda cb: _annotator(cb, emails),
        include_predictions=include_predictions)
    labels = sorted({r.label for it in items.values() for regs in it.regions.values()
                     for r in regs})
    cats = resolve_categories(labels, categories=categories, stuff=stuff, file=str(path))
    return {who: it.to_source(cats, brush_threshold=brush_threshold, order=order,
                              name=str(path) if len(items) == 1 else f"{path}#{who}")
            for who, it in items.items()}


def read_labelstudio(json_path: str | os.PathLike[str], *, annotator: str | None = None,
                     **options: Any) -> ShapeSource:
    """One annotator of a Label Studio export (options as :func:`read_labelstudio_sources`).

    ``annotator`` may be omitted when the export holds one annotator.
    """
    sources = read_labelstudio_sources(json_path, **options)
    if annotator is None and len(sources) == 1:
        return next(iter(sources.values()))
    if annotator not in sources:
        raise AnnotationError(f"annotator must be one of {sorted(sources)}, got {annotator!r}",
                              file=str(json_path))
    return sources[annotator]
