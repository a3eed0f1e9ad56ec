"""The CLI's last line of defence: any exception becomes one line and a documented exit code.

- an error of this package (bad input, a study that cannot be assembled): exit 2, its message;
- an ``OSError`` or ``MemoryError`` (a file that cannot be read or written, an allocation that
  fails): exit 2, the message with the file, image and annotator the work was on;
- anything else is a bug: exit 3, "internal error", the command, where it happened when known,
  and a hint to rerun with ``--debug`` (which prints the traceback too).

"Where" comes from the exception (``file`` / ``image`` / ``annotator`` attributes, notes added
with ``add_note``) or else from the innermost frames of this package in its traceback whose
locals name them (``image`` / ``file_name``, ``file`` / ``path``, ``annotator``).
"""

from __future__ import annotations

import os
import sys
import traceback
from types import TracebackType

from ..errors import AgreementError
from ..io.discovery import shown

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERNAL", "describe", "locate"]

#: Bad usage or bad input.
EXIT_BAD_INPUT = 2
#: An unexpected exception: a bug in ``agreement``.
EXIT_INTERNAL = 3

_IMAGE_NAMES = ("image", "file_name")
_FILE_NAMES = ("file", "path")


def _as_image(value: object) -> str | None:
    if isinstance(value, str) and value:
        return value
    name = getattr(value, "file_name", None)  # an ImageInfo
    return name if isinstance(name, str) else None


def _as_file(value: object) -> str | None:
    if isinstance(value, (str, os.PathLike)) and os.fspath(value):
        return shown(value)
    return None


def _frames(tb: TracebackType | None) -> list[dict[str, object]]:
    """Locals of this package's frames (not the CLI's), innermost first."""
    out = []
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.startswith("agreement.") and not module.startswith("agreement.cli"):
            out.append(tb.tb_frame.f_locals)
        tb = tb.tb_next
    return out[::-1]


def locate(exc: BaseException) -> str:
    """Where ``exc`` happened: ``"file 'a.json', image 'x.png'"``, or ``""`` when unknown.

    Examples
    --------
    >>> locate(RuntimeError("boom"))
    ''
    >>> from agreement.errors import AnnotationError
    >>> locate(AnnotationError("bad", file="a.json", image="x.png"))
    "file 'a.json', image 'x.png'"
    """
    found: dict[str, str] = {}
    for key in ("annotator", "file", "image"):
        value = getattr(exc, key, None)
        text = _as_file(value) if key == "file" else _as_image(value)
        if text:
            found[key] = text
    for frame in _frames(exc.__traceback__):
        for key, names, conv in (("image", _IMAGE_NAMES, _as_image),
                                 ("file", _FILE_NAMES, _as_file),
                                 ("annotator", ("annotator",), _as_image)):
            if key not in found:
                text = next((t for n in names if (t := conv(frame.get(n)))), None)
                if text:
                    found[key] = text
    return ", ".join(f"{k} {found[k]!r}" for k in ("annotator", "file", "image") if k in found)


def describe(command: str, exc: BaseException, *, debug: bool) -> tuple[str, int]:
    """The one line to print on stderr for ``exc`` and the exit code."""
    if isinstance(exc, AgreementError):
        return f"agreement {command}: error: {exc}", EXIT_BAD_INPUT
    where = locate(exc)
    message = str(exc) or type(exc).__name__
    notes = "; ".join(str(n) for n in getattr(exc, "__notes__", ()))
    if isinstance(exc, (OSError, MemoryError)):
        if isinstance(exc, MemoryError):
            message = f"not enough memory: {message}"
        prefix = f"{where}: " if where and where not in message else ""
        return (f"agreement {command}: error: {prefix}{message}"
                + (f" ({notes})" if notes else ""), EXIT_BAD_INPUT)
    at = f" at {where}" if where else ""
    hint = "the traceback is above" if debug else "rerun with --debug for the traceback"
    return (f"agreement {command}: internal error{at}: {type(exc).__name__}: {message}"
            + (f" ({notes})" if notes else "")
            + f"; this is a bug in agreement, not in your files: {hint} and report it",
            EXIT_INTERNAL)


def print_traceback() -> None:
    """Print the traceback of the exception being handled on stderr (``--debug``)."""
    traceback.print_exc(file=sys.stderr)
