"""Strict value checks and bounded reprs for messages, shared by the model and the readers."""

from __future__ import annotations

import reprlib
from typing import Any

from .errors import AnnotationError, FormatError

__all__ = ["displayable", "exact_int", "short"]

_REPR = reprlib.Repr()
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlist = _REPR.maxtuple = 6
_REPR.maxdict = 4
_REPR.maxlevel = 3
_REPR.maxlong = 40


def short(value: Any) -> str:
    """A bounded ``repr`` for messages: at most ~80 characters, however large or deep ``value``.

    Examples
    --------
    >>> short(list(range(100)))
    '[0, 1, 2, 3, 4, 5, ...]'
    >>> short("x" * 1000)[:12]
    "'xxxxxxxxxxx"
    """
    text = _REPR.repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


def exact_int(value: Any, what: str, *, lo: int | None = None, hi: int | None = None,
              error: type[AnnotationError] = FormatError, **where: Any) -> int:
    """``value`` when it is an exact integer (not a bool, float or string) in ``[lo, hi]``.

    No coercion: ``1.5``, ``1.0``, ``"2"``, ``True`` and ``Infinity`` are refused, naming ``what``.

    Examples
    --------
    >>> exact_int(3, "category id", lo=0)
    3
    >>> exact_int("2", "category id", file="a.json")
    Traceback (most recent call last):
    ...
    agreement.errors.FormatError: file 'a.json': category id must be an integer, got '2'
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise error(f"{what} must be an integer, got {short(value)}", **where)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        span = (f"in [{lo}, {hi}]" if lo is not None and hi is not None else
                f">= {lo}" if lo is not None else f"<= {hi}")
        raise error(f"{what} must be {span}, got {short(value)}", **where)
    return value


def displayable(text: str) -> str:
    """``text`` with the bytes a file name could not decode (lone surrogates) shown as U+FFFD.

    Examples
    --------
    >>> displayable("caf\\udce9")
    'caf\ufffd'
    """
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
