"""Limits on the sizes an input declares, checked before anything is allocated.

An export states sizes (an image's width and height, an RLE's size, a CVAT mask box, a polygon's
vertices) that the readers turn into arrays, or hand to pycocotools and Pillow. Each such size is
checked here first, against a :class:`Limits` whose defaults a real study never reaches, so that a
hostile or broken file ends in one clear error instead of a 37 GiB allocation, a segfault inside
a C library or a minutes-long loop.

The limits in force come, in order, from the ``limits=`` keyword of a reader, else from the
environment variables ``AGREEMENT_MAX_SIDE``, ``AGREEMENT_MAX_PIXELS``,
``AGREEMENT_MAX_VERTICES``, ``AGREEMENT_MAX_OUTLINE``, ``AGREEMENT_MAX_DEPTH`` and
``AGREEMENT_MAX_FILE_BYTES`` (read when the reader is called; the command line uses them), else
from the defaults below. A source keeps the limits it was opened with for its lazy loads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from ..errors import AnnotationError

__all__ = ["ENV_PREFIX", "Limits", "check_image_size", "resolve_limits"]

#: Environment variables are this prefix plus the field name in capitals.
ENV_PREFIX = "AGREEMENT_"


@dataclass(frozen=True)
class Limits:
    """Largest sizes a reader accepts before it allocates anything.

    Attributes
    ----------
    max_side : int
        Largest image (or CVAT mask box) width or height, in pixels. Default 100,000.
    max_pixels : int
        Largest ``width * height`` of an image or a mask box. Default ``2**27`` (134 million
        pixels, e.g. 16,384 x 8,192: above every camera photo; one image's int32 segment map is
        then at most 512 MiB).
    max_vertices : int
        Most polygon vertices per shape (all its parts together). Default 100,000.
    max_outline : int
        Longest polygon outline per shape, in pixels, after clipping to the image (pycocotools
        allocates and sorts about five entries per pixel of outline). Default 1,000,000.
    max_depth : int
        Deepest nesting of JSON / TOML arrays and objects. Default 100 (exports nest fewer than
        ten levels; Python's own parsers fail near 1,000).
    max_file_bytes : int
        Largest file read into memory whole (JSON, XML, TOML, ``.npy``), and largest
        decompressed content of a MATLAB ``.mat`` file. Default 1 GiB.

    Examples
    --------
    >>> Limits().max_pixels
    134217728
    >>> Limits.from_env({"AGREEMENT_MAX_PIXELS": "1000000"}).max_pixels
    1000000
    """

    max_side: int = 100_000
    max_pixels: int = 1 << 27
    max_vertices: int = 100_000
    max_outline: int = 1_000_000
    max_depth: int = 100
    max_file_bytes: int = 1 << 30

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise AnnotationError(f"limit {f.name} must be a positive integer, got {value!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The defaults overridden by ``AGREEMENT_<NAME>`` environment variables.

        Raises
        ------
        AnnotationError
            A variable that is not a positive integer (digits, ``_`` separators allowed).
        """
        env = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        for f in fields(cls):
            key = ENV_PREFIX + f.name.upper()
            raw = env.get(key)
            if raw is None or raw == "":
                continue
            text = raw.strip().replace("_", "")
            if not (text.isascii() and text.isdigit()) or int(text) < 1:
                raise AnnotationError(f"environment variable {key} must be a positive integer, "
                                      f"got {raw!r}")
            changes[f.name] = int(text)
        return replace(cls(), **changes)

    def hint(self, name: str) -> str:
        """How to raise one limit, for error messages."""
        return f"raise it with {ENV_PREFIX}{name.upper()}=... or limits=Limits({name}=...)"


def resolve_limits(limits: Limits | None) -> Limits:
    """``limits`` itself, or the limits of the environment (see the module notes)."""
    if limits is None:
        return Limits.from_env()
    if not isinstance(limits, Limits):
        raise AnnotationError(f"limits must be a Limits, got {type(limits).__name__}")
    return limits


def check_image_size(width: int, height: int, limits: Limits, *, what: str = "image size",
                     **where: Any) -> None:
    """Refuse a declared ``width x height`` beyond :attr:`Limits.max_side` / ``max_pixels``.

    Parameters
    ----------
    width, height : int
        Exact positive integers (checked by the caller).
    limits : Limits
    what : str
        What the size is of, for the message ("image size", "mask box").
    **where
        ``file``, ``image``, ``segment``, ``annotator``, ``shape`` for the message.

    Raises
    ------
    AnnotationError
        One side beyond ``max_side`` or the area beyond ``max_pixels``; nothing was allocated.

    Examples
    --------
    >>> check_image_size(640, 480, Limits())
    >>> check_image_size(100_000, 100_000, Limits())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    agreement.errors.AnnotationError: image size must be at most 134,217,728 pixels (max_pixels; ...
    """
    if width > limits.max_side or height > limits.max_side:
        raise AnnotationError(
            f"{what} must be at most {limits.max_side:,} pixels a side (max_side; "
            f"{limits.hint('max_side')}), got {width}x{height}", **where)
    if width * height > limits.max_pixels:
        raise AnnotationError(
            f"{what} must be at most {limits.max_pixels:,} pixels (max_pixels; "
            f"{limits.hint('max_pixels')}), got {width}x{height} = {width * height:,} pixels",
            **where)
