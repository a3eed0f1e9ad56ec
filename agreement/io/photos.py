"""The photos behind a study's annotations (for plots and reports; never needed by a metric)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ._files import inside, load_image
from ._guard import reader_errors
from ._limits import Limits

__all__ = ["PHOTO_FORMATS", "PHOTO_SUFFIXES", "find_photo", "read_photo"]

#: Suffixes tried, in order, when the photo has the annotation's stem but another extension.
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG")
#: Image formats a photo may be in (Pillow's other parsers never see the file).
PHOTO_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "BMP")  # JPEG includes MPO (phones)


def find_photo(images_dir: str | os.PathLike[str] | None, image: str) -> Path | None:
    """The photo of ``image`` in ``images_dir``: same name, or same stem with a photo suffix.

    Raises :class:`~agreement.errors.PathEscapeError` when ``image`` points outside
    ``images_dir``; returns None when no photo exists (or ``images_dir`` is None).
    """
    if images_dir is None:
        return None
    exact = inside(images_dir, image, file=images_dir, image=image)
    if exact.is_file():
        return exact
    for suffix in PHOTO_SUFFIXES:
        candidate = exact.with_suffix(suffix) if exact.suffix else Path(f"{exact}{suffix}")
        if candidate.is_file():
            return candidate
    return None


def read_photo(path_or_images_dir: str | os.PathLike[str] | None, image: str | None = None,
               *, limits: Limits | None = None) -> npt.NDArray[np.uint8] | None:
    """Read a photo as an ``(H, W, 3)`` RGB uint8 array, or None when there is none.

    Parameters
    ----------
    path_or_images_dir : path or None
        The photos folder (with ``image``) or the photo file itself (without).
    image : str, optional
        The image's file name as in the study (``street_001.png`` finds ``street_001.jpg``);
        it must stay inside the folder.
    limits : Limits, optional
        Largest photo accepted (default: :meth:`Limits.from_env`), checked before decoding.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3), or None
        None when the folder is None or holds no photo of ``image`` (or the file is missing).

    Raises
    ------
    PathEscapeError
        ``image`` leaves the folder (``../x.jpg``, an absolute path).
    FormatError
        The file exists but is not a readable image of :data:`PHOTO_FORMATS`.
    AnnotationError
        A photo larger than ``limits``.

    Examples
    --------
    >>> read_photo(None, "street_001.jpg") is None
    True
    """
    if image is None:
        path = Path(path_or_images_dir) if path_or_images_dir is not None else None
        path = path if path is not None and path.is_file() else None
    else:
        path = find_photo(path_or_images_dir, image)
    if path is None:
        return None
    with reader_errors("photo", file=path, image=image):
        rgb, _ = load_image(path, limits=limits, formats=PHOTO_FORMATS, convert="RGB",
                            what="photo", file=path, image=image)
    return np.asarray(rgb, dtype=np.uint8)
