"""File helpers shared by every reader and writer: safe paths, JSON, PNG, atomic writes."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from ..errors import FormatError, PathEscapeError

#: The process umask, read once at import (reading it means setting it; not thread-safe later).
_UMASK = os.umask(0o022)
os.umask(_UMASK)

__all__ = ["atomic_write", "inside", "read_json", "read_png_ids", "read_png_rgb", "replace_dir",
           "write_png_rgb"]


def inside(base: str | os.PathLike[str], relative: str, *, file: str | os.PathLike[str],
           image: str | None = None) -> Path:
    """Resolve ``relative`` (a path written in a dataset file) under ``base``, refusing escapes.

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
    base_path = Path(base).resolve()
    if not isinstance(relative, str) or not relative or "\x00" in relative:
        raise PathEscapeError(f"file name must be a non-empty string, got {relative!r}",
                              file=file, image=image)
    candidate = (base_path / relative).resolve()
    if Path(relative).is_absolute() or not candidate.is_relative_to(base_path):
        raise PathEscapeError(
            f"file name must stay inside the dataset folder {str(base_path)!r}, got {relative!r}",
            file=file, image=image,
        )
    return candidate


def read_json(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file, raising :class:`FormatError` naming the file and position."""
    try:
        with open(path, "rb") as fh:
            return json.loads(fh.read().decode("utf-8-sig"))
    except FileNotFoundError:
        raise FormatError("file must exist, got no such file", file=path) from None
    except IsADirectoryError:
        raise FormatError("path must be a JSON file, got a folder", file=path) from None
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"file must be valid JSON, got an error at line {exc.lineno} column {exc.colno}: "
            f"{exc.msg}",
            file=path,
        ) from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"file must be UTF-8 text, got {exc.reason}", file=path) from None


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


def write_png_rgb(path: str | os.PathLike[str], rgb: npt.NDArray[np.uint8]) -> None:
    """Write an ``(H, W, 3)`` uint8 array as PNG, atomically."""
    with atomic_write(path) as tmp:
        Image.fromarray(np.ascontiguousarray(rgb), mode="RGB").save(
            tmp, format="PNG", optimize=False
        )


@contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only when the block succeeds.

    The file gets the permissions of an ordinary new file (``0o666`` minus the umask), not the
    owner-only mode of the temporary file. An existing folder at ``path`` is refused.
    """
    target = Path(path)
    if target.is_dir():
        raise FormatError("output path must be a file, got an existing folder", file=target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_dir(new: str | os.PathLike[str], out: str | os.PathLike[str]) -> None:
    """Move the finished folder ``new`` to ``out`` (a sibling), replacing ``out`` if it exists.

    The old folder is moved aside first and deleted only once ``new`` is in place; if the
    second move fails, it is put back.
    """
    new, out = Path(new), Path(out)
    if not out.exists():
        os.replace(new, out)
        return
    old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".old"))
    old.rmdir()
    os.replace(out, old)
    try:
        os.replace(new, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
