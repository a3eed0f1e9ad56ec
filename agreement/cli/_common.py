"""Conventions every sub-command shares: ``--quiet``, ``--json``, ``--n-jobs``, progress on stderr.

- stdout carries the result (a human-readable table, or one JSON document with ``--json``);
- stderr carries progress bars and notes, silenced by ``--quiet``;
- ``--json`` alone writes the JSON document to stdout and implies ``--quiet`` (only errors reach
  stderr); ``--json OUT`` writes it to the file OUT (atomically) instead.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import numpy as np

__all__ = [
    "add_jobs_flag",
    "add_output_flags",
    "emit_json",
    "json_to_stdout",
    "note",
    "show_progress",
    "to_jsonable",
]


def add_output_flags(parser: argparse.ArgumentParser, *, json_help: str | None = None) -> None:
    """Add ``--quiet`` / ``-q`` and ``--json [OUT]`` (``"-"`` = stdout) to a parser."""
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no notes on stderr"
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="OUT",
        help=json_help
        or "write the result as JSON to OUT (stdout when OUT is omitted; then nothing else is "
        "printed)",
    )


def json_to_stdout(args: argparse.Namespace) -> bool:
    """Whether the JSON document goes to stdout (``--json`` without a file)."""
    return getattr(args, "json", None) == "-"


def add_jobs_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--n-jobs`` / ``-j`` (processes over images; default 1)."""
    parser.add_argument(
        "-j",
        "--n-jobs",
        type=int,
        default=1,
        metavar="N",
        help="worker processes over images (default 1; -1 = every core)",
    )


def show_progress(args: argparse.Namespace) -> bool:
    """Whether to draw a progress bar: not with ``--quiet`` nor with JSON on stdout."""
    return not (getattr(args, "quiet", False) or json_to_stdout(args))


def note(args: argparse.Namespace, message: str) -> None:
    """Print a note on stderr unless ``--quiet`` or JSON goes to stdout."""
    if not (getattr(args, "quiet", False) or json_to_stdout(args)):
        print(message, file=sys.stderr)


def to_jsonable(value: Any) -> Any:
    """Convert numpy / pandas scalars and containers to JSON types; NaN becomes null.

    Examples
    --------
    >>> to_jsonable({"a": np.float64("nan"), "b": (np.int64(2),)})
    {'a': None, 'b': [2]}
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def emit_json(value: Any, dest: str | None = "-") -> None:
    """Write ``value`` as one JSON document (NaN as null) to stdout (``"-"``) or a file."""
    text = json.dumps(to_jsonable(value), indent=2, allow_nan=False) + "\n"
    if dest in (None, "-"):
        sys.stdout.write(text)
        return
    from ..io._files import atomic_write

    with atomic_write(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")
