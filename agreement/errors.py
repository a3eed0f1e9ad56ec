"""The exception hierarchy of ``agreement``.

Every error about user input names where it happened: the file, the image and the segment (or
shape) when they are known, e.g.::

    AnnotationError: file 'b/panoptic.json', image 'frame_0007.png', segment 4211: segment is in
    the PNG but not in the JSON

All input errors derive from :class:`AgreementError`, and the input-validation ones from
:class:`ValueError` too, so ``except ValueError`` keeps working for callers who do not know this
package.
"""

from __future__ import annotations

import os

__all__ = [
    "AgreementError",
    "AnnotationError",
    "FormatError",
    "PathEscapeError",
    "StudyError",
    "UnexpectedInputError",
    "where",
]


def where(
    *,
    file: str | os.PathLike[str] | None = None,
    image: str | int | None = None,
    segment: int | str | None = None,
    annotator: str | None = None,
    shape: str | None = None,
) -> str:
    """Format a location prefix such as ``"file 'a.json', image 'x.png', segment 3"``.

    Parameters
    ----------
    file, image, segment, annotator, shape
        The parts known at the point of failure; ``None`` parts are left out.

    Returns
    -------
    str
        The comma-separated location, empty when nothing is known.

    Examples
    --------
    >>> where(file="a.json", image="x.png", segment=3)
    "file 'a.json', image 'x.png', segment 3"
    """
    parts = []
    if annotator is not None:
        parts.append(f"annotator {annotator!r}")
    if file is not None:
        parts.append(f"file {os.fspath(file)!r}")
    if image is not None:
        parts.append(f"image {image!r}")
    if segment is not None:
        parts.append(f"segment {segment}")
    if shape is not None:
        parts.append(f"shape {shape}")
    return ", ".join(parts)


class AgreementError(Exception):
    """Base class of every error this package raises on purpose."""


class AnnotationError(AgreementError, ValueError):
    """An annotation (a file, an image of it, a segment) is not what it must be.

    Parameters
    ----------
    message
        What is wrong, as "<what> must be <expectation>, got <actual>".
    file, image, segment, annotator, shape
        Where it is wrong; prepended to the message.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | os.PathLike[str] | None = None,
        image: str | int | None = None,
        segment: int | str | None = None,
        annotator: str | None = None,
        shape: str | None = None,
    ) -> None:
        self.file = None if file is None else os.fspath(file)
        self.image = image
        self.segment = segment
        self.annotator = annotator
        self.shape = shape
        self.reason = message
        prefix = where(file=file, image=image, segment=segment, annotator=annotator, shape=shape)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class FormatError(AnnotationError):
    """A file cannot be parsed as the format it claims (invalid JSON, XML, PNG, RLE)."""


class UnexpectedInputError(FormatError):
    """A file made a reader fail in a way none of its checks foresaw.

    The message names the file (and image, segment when known) and the underlying exception,
    which is kept as ``__cause__``. The input is refused like any other bad input; the reader
    should have said more precisely what is wrong, so a report of the file is welcome.
    """


class PathEscapeError(AnnotationError):
    """A path written inside a dataset file points outside the dataset folder."""


class StudyError(AgreementError, ValueError):
    """A study cannot be assembled (no annotators, inconsistent categories, unknown image)."""
