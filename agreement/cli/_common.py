"""Conventions every sub-command shares: ``--quiet``, ``--json``, ``--n-jobs``, progress on stderr.

- stdout carries the result (a human-readable table, or one JSON document with ``--json``);
- stderr carries progress bars and notes, silenced by ``--quiet``;
- ``--json`` implies no progress bar, so stdout and stderr stay machine-friendly.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import numpy as np

__all__ = ["add_jobs_flag", "add_output_flags", "emit_json", "note", "show_progress", "to_jsonable"]


def add_output_flags(parser: argparse.ArgumentParser, *, json_help: str | None = None) -> None:
    """Add ``--quiet`` / ``-q`` and ``--json`` to a sub-command's parser."""
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no notes on stderr"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help=json_help or "print one JSON document on stdout instead of text",
    )


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
    """Whether to draw a progress bar: not with ``--quiet`` or ``--json``, and only on a terminal
    or when stderr is redirected to a file the user asked for (tqdm decides the rest)."""
    return not (getattr(args, "quiet", False) or getattr(args, "json", False))


def note(args: argparse.Namespace, message: str) -> None:
    """Print a note on stderr unless ``--quiet``."""
    if not getattr(args, "quiet", False):
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


def emit_json(value: Any) -> None:
    """Print ``value`` as one JSON document on stdout (NaN as null)."""
    json.dump(to_jsonable(value), sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")
