"""The readers' last layer: whatever goes wrong inside, the caller gets one of our errors.

Each reader checks what it knows about (types, ranges, sizes: see :mod:`._limits`) and raises
:class:`~agreement.errors.FormatError` / :class:`~agreement.errors.AnnotationError` naming the
file, image and segment. :func:`reader_errors` wraps a reader's body (and each lazy load) so
that anything it did not foresee, an exception from json, XML, Pillow, numpy, SciPy or
pycocotools, still reaches the caller as one of ours, with the same names:
``MemoryError`` as an :class:`AnnotationError` saying how much was asked for, anything else as an
:class:`~agreement.errors.UnexpectedInputError` (a :class:`FormatError`) that keeps the original
exception as its ``__cause__``. The fuzz suite treats an ``UnexpectedInputError`` as a defect.

The strict-value and bounded-repr helpers every reader shares, :func:`exact_int` and
:func:`short`, live in :mod:`agreement._checks` (the model uses them too) and are re-exported.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._checks import exact_int, short
from ..errors import AgreementError, AnnotationError, FormatError, UnexpectedInputError

__all__ = ["exact_int", "reader_errors", "short"]

@contextmanager
def reader_errors(what: str, **where: Any) -> Iterator[None]:
    """Turn any exception of the block into one of ours, naming ``where``.

    Parameters
    ----------
    what : str
        What was being read ("COCO instances JSON", "label-map PNG"), for the message.
    **where
        ``file``, ``image``, ``segment``, ``annotator``, ``shape``.

    Raises
    ------
    AgreementError
        Our own errors pass through (an AnnotationError that names no file is raised again
        with ``where``'s).
    AnnotationError
        ``MemoryError``: the input needs more memory than there is.
    UnexpectedInputError
        Any other exception (not warnings, which pass through): the input failed in a way no
        check foresaw; the message names the exception.

    Examples
    --------
    >>> with reader_errors("test file", file="a.json"):
    ...     int("x")
    Traceback (most recent call last):
    ...
    agreement.errors.UnexpectedInputError: file 'a.json': test file must be readable, got \
ValueError: invalid literal for int() with base 10: 'x' (an input no check foresaw: please \
report it)
    """
    try:
        yield
    except AnnotationError as exc:
        if exc.file is not None or where.get("file") is None:
            raise
        # an error of the model (Categories, ...) that could not know the file: name it
        raise type(exc)(exc.reason, file=where["file"], image=exc.image or where.get("image"),
                        segment=exc.segment, annotator=exc.annotator or where.get("annotator"),
                        shape=exc.shape or where.get("shape")) from None
    except (AgreementError, Warning):
        raise
    except MemoryError as exc:
        detail = str(exc) or "out of memory"
        raise AnnotationError(f"{what} must fit in memory, got {detail} (lower the sizes the "
                              "file declares, or see agreement.io.Limits)", **where) from exc
    except RecursionError as exc:
        raise FormatError(f"{what} must not nest this deeply, got {exc}", **where) from exc
    except Exception as exc:
        text = " ".join(str(exc).split())[:200]
        raise UnexpectedInputError(
            f"{what} must be readable, got {type(exc).__name__}: {text} (an input no check "
            "foresaw: please report it)", **where) from exc
